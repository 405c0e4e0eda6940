//! What Aider's lines say: the text of a prompt and whether it is one (commands are interface,
//! not conversation), an answer's blocks (a reasoning model's thinking is its own block), the
//! facts of interface lines, and local times.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};
use sha2::{Digest, Sha256};

use crate::model::{Block, BlockKind};

/// Commands whose argument is a prompt for the model (`/ask why?`). Aider logs the command as
/// typed and then the prompt again on its own, as the message it sends; every other command (and
/// `!shell`) only drives the interface.
const PROMPT_COMMANDS: &[&str] = &["ask", "code", "architect", "context", "help"];

/// What Aider writes for an empty input.
const BLANK_INPUT: &str = "<blank>";

/// How `/help <question>` logs the prompt it sends: the question, then Aider's documentation.
const HELP_QUESTION: &str = "# Question: ";
const HELP_DOCS: &str = "\n\n# Relevant docs:";

/// The tag Aider wraps a reasoning model's thinking in (`aider/reasoning_tags.py`); models that
/// think in their answer use `think` or `thinking`.
const REASONING_TAGS: &[&str] = &[
    "thinking-content-7bbeb8e1441453ad999a0bbba8a46d4b",
    "think",
    "thinking",
];

/// A prompt line's text: `#### ` and the two trailing spaces of a Markdown line break removed.
pub(super) fn user_line(line: &str) -> &str {
    let text = line.strip_prefix("####").unwrap_or(line);
    text.strip_prefix(' ').unwrap_or(text).trim_end()
}

/// Lines as one text, each without trailing whitespace, the whole without blank lines around it:
/// the form a prompt is compared in with `.aider.input.history`.
pub(super) fn normalized<'a>(lines: impl Iterator<Item = &'a str>) -> String {
    let text = lines.map(str::trim_end).collect::<Vec<_>>().join("\n");
    text.trim().to_owned()
}

/// What a logged input is.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Input<'a> {
    /// An empty input.
    Blank,
    /// An interface command; with the prompt it sends the model, logged again after it.
    Command(Option<&'a str>),
    /// A prompt for the model (a help question without the documentation sent with it).
    Prompt(&'a str),
}

/// What the normalized text of a logged input is.
pub(super) fn input(text: &str) -> Input<'_> {
    if text.is_empty() || text == BLANK_INPUT {
        return Input::Blank;
    }
    if text.starts_with('!') {
        return Input::Command(None);
    }
    if let Some(command) = text.strip_prefix('/') {
        let (name, argument) = command.split_once(char::is_whitespace).unwrap_or((command, ""));
        let argument = argument.trim();
        let prompt = (PROMPT_COMMANDS.contains(&name) && !argument.is_empty()).then_some(argument);
        return Input::Command(prompt);
    }
    match text
        .strip_prefix(HELP_QUESTION)
        .and_then(|rest| rest.split_once(HELP_DOCS))
    {
        Some((question, _)) => Input::Prompt(question.trim()),
        None => Input::Prompt(text),
    }
}

/// A short, stable digest of a prompt's normalized text.
pub(super) fn digest(text: &str) -> u64 {
    let hash = Sha256::digest(text.as_bytes());
    u64::from_be_bytes(hash[..8].try_into().unwrap_or_default())
}

/// An answer's blocks: thinking wrapped in a reasoning tag at its start, then the text.
pub(super) fn answer_blocks(text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut rest = text.trim();
    for tag in REASONING_TAGS {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        if let Some(after) = rest.strip_prefix(&open) {
            // An unclosed section is thinking cut off before the answer began.
            let (thinking, answer) = after.split_once(&close).unwrap_or((after, ""));
            push(&mut blocks, BlockKind::Thinking, thinking);
            rest = answer;
            break;
        }
    }
    push(&mut blocks, BlockKind::Text, rest);
    blocks
}

fn push(blocks: &mut Vec<Block>, kind: BlockKind, text: &str) {
    let text = text.trim();
    if !text.is_empty() {
        blocks.push(Block::new(kind, text));
    }
}

/// What one interface line tells about the launch.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Fact<'a> {
    /// `Aider v0.86.1`
    Version(&'a str),
    /// `Model: gpt-4` (2023), `Model: X with diff edit format, ...`, `Main model: X with ...`:
    /// the model, and the edit format when named.
    Model(&'a str, Option<&'a str>),
}

/// The fact an interface line (without its `> `) states, if any.
pub(super) fn fact(text: &str) -> Option<Fact<'_>> {
    let text = text.trim();
    if let Some(version) = text.strip_prefix("Aider v") {
        let version = version.split_whitespace().next().unwrap_or_default();
        return (!version.is_empty()).then_some(Fact::Version(version));
    }
    let rest = text
        .strip_prefix("Main model: ")
        .or_else(|| text.strip_prefix("Model: "))?;
    let (model, format) = match rest.split_once(" with ").or_else(|| rest.split_once(" using ")) {
        Some((model, tail)) => (
            model,
            tail.split_once(" edit format").map(|(format, _)| format.trim()),
        ),
        None => (rest, None),
    };
    let model = model.trim();
    (!model.is_empty()).then_some(Fact::Model(model, format.filter(|format| !format.is_empty())))
}

/// A date and time as Aider writes them, without a zone.
pub(super) fn naive_time(text: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S%.f").ok()
}

/// A local date and time as Aider writes them (`2025-12-03 14:43:45`, with microseconds in the
/// input history), read in this machine's zone: the zone Aider wrote them in when memtree runs
/// where Aider ran. In a repeated hour the earlier instant is taken; a time skipped by a change
/// to summer time is read an hour later.
pub(super) fn local_time(text: &str) -> Option<DateTime<Utc>> {
    let naive = naive_time(text)?;
    Local
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            Local
                .from_local_datetime(&(naive + chrono::TimeDelta::hours(1)))
                .earliest()
        })
        .map(|at| at.to_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_blank_inputs_are_not_prompts() {
        assert_eq!(input("fix the bug"), Input::Prompt("fix the bug"));
        assert_eq!(input("a/b"), Input::Prompt("a/b"));
        assert_eq!(
            input("/ask why does it fail?"),
            Input::Command(Some("why does it fail?"))
        );
        assert_eq!(input("/architect  split it"), Input::Command(Some("split it")));
        for command in ["/add src/a.py", "/ask", "/model gpt-4o", "!ls", "/settigns"] {
            assert_eq!(input(command), Input::Command(None), "{command}");
        }
        assert_eq!(input(""), Input::Blank);
        assert_eq!(input("<blank>"), Input::Blank);
        let help = "# Question: how do I add files?\n\n# Relevant docs:\n\n<doc>...</doc>";
        assert_eq!(input(help), Input::Prompt("how do I add files?"));
    }

    #[test]
    fn prompt_lines_lose_their_marker_and_line_breaks() {
        let lines = ["#### first line  ", "####   ", "#### \tindented   ", "####  "];
        let text = normalized(lines.iter().map(|line| user_line(line)));
        assert_eq!(text, "first line\n\n\tindented");
        assert_eq!(normalized(["", "  a  ", ""].into_iter()), "a");
    }

    #[test]
    fn thinking_at_the_start_of_an_answer_is_its_own_block() {
        let tag = REASONING_TAGS[0];
        let text = format!("<{tag}>\n\nweighing it\n\n</{tag}>\n\nThe answer.");
        let blocks = answer_blocks(&text);
        assert_eq!(
            blocks,
            [
                Block::new(BlockKind::Thinking, "weighing it"),
                Block::new(BlockKind::Text, "The answer.")
            ]
        );
        assert_eq!(
            answer_blocks("<think>cut off"),
            [Block::new(BlockKind::Thinking, "cut off")]
        );
        assert_eq!(
            answer_blocks("Plain <think>inline</think>"),
            [Block::new(BlockKind::Text, "Plain <think>inline</think>")]
        );
        assert!(answer_blocks(" \n ").is_empty());
    }

    #[test]
    fn interface_lines_name_the_version_model_and_edit_format() {
        assert_eq!(fact("Aider v0.86.1"), Some(Fact::Version("0.86.1")));
        assert_eq!(fact("Model: gpt-4"), Some(Fact::Model("gpt-4", None)));
        assert_eq!(
            fact("Main model: claude-3-5-sonnet-20241022 with diff edit format, infinite output"),
            Some(Fact::Model("claude-3-5-sonnet-20241022", Some("diff")))
        );
        assert_eq!(
            fact("Model: openrouter/openai/gpt-4o-mini with whole edit format"),
            Some(Fact::Model("openrouter/openai/gpt-4o-mini", Some("whole")))
        );
        for other in [
            "Weak model: gpt-4o-mini",
            "Model openrouter/deepseek/deepseek-chat has hit a token limit!",
            "Model:  with whole edit format",
            "Aider v",
        ] {
            assert_eq!(fact(other), None, "{other}");
        }
    }

    #[test]
    fn local_times_read_with_or_without_a_fraction() {
        assert!(local_time("2023-07-06 21:33:12.630711").is_some());
        assert!(local_time("2025-12-03 14:43:45").is_some());
        assert!(local_time("").is_none());
        assert!(local_time("yesterday").is_none());
    }
}
