//! What of a Codex user message is the user's prompt: the context Codex injects into user
//! messages (and the cwd it names), and the title a session's first prompt gives.

use crate::model::{BlockKind, Message, Role};
use crate::source::title::title_from_prompt;

/// Text Codex injects into user messages: AGENTS.md and user instructions, the environment
/// context, interruption notes, skills listings (formats.md 2.4; reference-importer.md section 3).
pub(super) fn is_injected_context(text: &str) -> bool {
    const WRAPPERS: [(&str, &str); 4] = [
        ("<environment_context>", "</environment_context>"),
        ("<user_instructions>", "</user_instructions>"),
        ("<turn_aborted>", "</turn_aborted>"),
        ("<skills_instructions>", "</skills_instructions>"),
    ];
    let text = text.trim();
    WRAPPERS
        .iter()
        .any(|(open, close)| text.starts_with(open) && text.ends_with(close))
        || (text.starts_with("# ")
            && text.contains(" instructions for ")
            && text.contains("\n\n<INSTRUCTIONS>"))
}

/// The `<cwd>` of an `<environment_context>` block.
pub(super) fn environment_cwd(text: &str) -> Option<String> {
    let text = text.trim();
    if !text.starts_with("<environment_context>") {
        return None;
    }
    let start = text.find("<cwd>")? + "<cwd>".len();
    let end = start + text[start..].find("</cwd>")?;
    let cwd = text[start..end].trim();
    (!cwd.is_empty()).then(|| cwd.to_owned())
}

/// The title a user message gives as the session's first prompt: its first text, on one line.
pub(super) fn prompt_title(message: &Message) -> Option<String> {
    if message.role != Role::User {
        return None;
    }
    message
        .blocks
        .iter()
        .find(|block| block.kind == BlockKind::Text)
        .map(|block| title_from_prompt(&block.text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injected_context_is_recognised_and_prompts_are_not() {
        for text in [
            "<environment_context>\n  <cwd>/p</cwd>\n</environment_context>",
            "  <user_instructions>\nbe brief\n</user_instructions>\n",
            "<turn_aborted>\nThe user interrupted the previous turn on purpose.\n</turn_aborted>",
            "# AGENTS.md instructions for /p\n\n<INSTRUCTIONS>\nrules\n</INSTRUCTIONS>",
        ] {
            assert!(is_injected_context(text), "{text}");
        }
        for text in [
            "fix the bug",
            "<environment_context> is what the tag is called, explain it",
            "# Heading\nplease write the instructions for /tmp",
        ] {
            assert!(!is_injected_context(text), "{text}");
        }
    }

    #[test]
    fn environment_context_names_the_cwd() {
        let text =
            "<environment_context>\n  <cwd>/Users/k/proj</cwd>\n  <shell>zsh</shell>\n</environment_context>";
        assert_eq!(environment_cwd(text).as_deref(), Some("/Users/k/proj"));
        assert_eq!(environment_cwd("<cwd>/x</cwd>"), None);
    }
}
