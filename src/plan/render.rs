//! Rendering: a message's blocks to the content stored, bounded, with secrets replaced.

use std::borrow::Cow;

use serde::Serialize;

use crate::limits::MAX_CONTENT_BYTES;
use crate::model::{Block, BlockKind};
use crate::redact::Redactions;

use super::row::without_nul;
use super::{ContentMode, PlanOptions};

/// A message's content and cwd as stored: rendered in this mode, secrets replaced (counted in
/// `redactions`), content bounded. `None` when this mode leaves no text.
pub(super) fn stored_texts<'m>(
    blocks: Vec<Block>,
    cwd: Option<&'m str>,
    options: &PlanOptions<'_>,
    redactions: &mut Redactions,
) -> Option<StoredTexts<'m>> {
    let (content, kinds) = render(blocks, options.mode)?;
    // Before the size bound, so that a secret cut at the boundary is still recognised.
    // Replaced only when a secret was found: a giant clean text is never copied.
    let redacted = options
        .redactor
        .and_then(|redactor| match redactor.redact(&content, redactions) {
            Cow::Owned(redacted) => Some(redacted),
            Cow::Borrowed(_) => None,
        });
    let (content, truncated) = bound_content(redacted.unwrap_or(content));
    let cwd = cwd.map(|cwd| match options.redactor {
        Some(redactor) => redactor.redact(cwd, redactions),
        None => cwd.into(),
    });
    Some(StoredTexts {
        content,
        kinds,
        truncated,
        cwd,
    })
}

/// See [`stored_texts`].
pub(super) struct StoredTexts<'m> {
    pub(super) content: String,
    /// The kinds of the blocks the content was rendered from.
    pub(super) kinds: BlockKinds,
    pub(super) truncated: bool,
    pub(super) cwd: Option<Cow<'m, str>>,
}

/// Whether [`render`] leaves anything of these blocks in this mode (without rendering them).
pub(super) fn has_content(blocks: &[Block], mode: ContentMode) -> bool {
    blocks.iter().any(|block| {
        (mode == ContentMode::FullTranscript || block.kind == BlockKind::Text)
            && !block.text.trim().is_empty()
    })
}

/// Renders the blocks this mode keeps: each trimmed at the end, empty ones dropped, joined by a
/// blank line. Returns the content and the kinds of the blocks it was made from, or `None` when
/// nothing is left. A message of one kept block (most are) keeps that block's text as it is,
/// without a copy.
pub fn render(blocks: Vec<Block>, mode: ContentMode) -> Option<(String, BlockKinds)> {
    let mut kept: Vec<Block> = blocks
        .into_iter()
        .filter(|block| mode == ContentMode::FullTranscript || block.kind == BlockKind::Text)
        .filter(|block| !block.text.trim().is_empty())
        .collect();
    let mut kinds = BlockKinds::default();
    for block in &kept {
        kinds.add(block.kind);
    }
    let content = match kept.len() {
        0 => return None,
        1 => {
            let mut text = std::mem::take(&mut kept[0].text);
            text.truncate(text.trim_end().len());
            text
        }
        _ => {
            let length = kept.iter().map(|block| block.text.len() + 2).sum();
            let mut content = String::with_capacity(length);
            for block in &kept {
                if !content.is_empty() {
                    content.push_str("\n\n");
                }
                content.push_str(block.text.trim_end());
            }
            content
        }
    };
    Some((content, kinds))
}

/// The kinds of the blocks a message's content was rendered from, each once, in the order they
/// first appear: a row's `source_message_block_kinds`. Held inline, as every message has some.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BlockKinds([Option<BlockKind>; BlockKind::ALL.len()]);

impl BlockKinds {
    fn add(&mut self, kind: BlockKind) {
        if let Some(slot) = self
            .0
            .iter_mut()
            .find(|slot| slot.is_none_or(|held| held == kind))
        {
            *slot = Some(kind);
        }
    }

    /// The kinds' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map_while(|kind| kind.map(BlockKind::as_str))
    }
}

impl Serialize for BlockKinds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.names())
    }
}

/// Cuts content to [`MAX_CONTENT_BYTES`] with a visible marker, and removes NUL characters.
fn bound_content(content: String) -> (String, bool) {
    let mut content = without_nul(content).into_owned();
    if content.len() <= MAX_CONTENT_BYTES {
        return (content, false);
    }
    let mut cut = MAX_CONTENT_BYTES;
    while !content.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = content.len() - cut;
    content.truncate(cut);
    // "At least": a string far over the bound was already cut while its line was read
    // (source::jsonl), so the bytes dropped here are not all that was dropped.
    content.push_str(&format!(
        "\n\n[memtree: at least {dropped} more bytes not stored]"
    ));
    (content, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::text;

    /// [`render`]'s content and block kinds' names.
    fn rendered(blocks: Vec<Block>, mode: ContentMode) -> Option<(String, Vec<&'static str>)> {
        render(blocks, mode).map(|(content, kinds)| (content, kinds.names().collect()))
    }

    #[test]
    fn block_kinds_are_named_once_each_in_the_order_they_first_appear() {
        let mut kinds = BlockKinds::default();
        for kind in [
            BlockKind::ToolResult,
            BlockKind::Text,
            BlockKind::ToolResult,
            BlockKind::System,
            BlockKind::Thinking,
            BlockKind::Text,
            BlockKind::ToolUse,
        ] {
            kinds.add(kind);
        }
        let names = ["tool_result", "text", "system", "thinking", "tool_use"];
        assert_eq!(kinds.names().collect::<Vec<_>>(), names);
        assert_eq!(serde_json::to_value(kinds).unwrap(), serde_json::json!(names));
        assert_eq!(
            serde_json::to_value(BlockKinds::default()).unwrap(),
            serde_json::json!([])
        );
    }

    #[test]
    fn default_mode_renders_text_only_and_full_mode_everything() {
        let blocks = vec![
            Block::new(BlockKind::Thinking, "hmm"),
            text("answer  \n"),
            Block::with_tool(BlockKind::ToolUse, "Read({})", "Read"),
            text("   "),
        ];
        assert_eq!(
            rendered(blocks.clone(), ContentMode::Default),
            Some(("answer".to_owned(), vec!["text"]))
        );
        assert_eq!(
            rendered(blocks, ContentMode::FullTranscript),
            Some((
                "hmm\n\nanswer\n\nRead({})".to_owned(),
                vec!["thinking", "text", "tool_use"]
            ))
        );
        let tool_only = vec![Block::new(BlockKind::ToolResult, "output")];
        assert_eq!(render(tool_only, ContentMode::Default), None);
    }
}
