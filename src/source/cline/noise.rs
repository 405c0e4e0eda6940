//! What the extensions write into a user message besides the user's words: the
//! `<environment_details>` block appended to every request (open files, terminals, time, the
//! working directory), and the tags wrapping the words (`<task>` for the first prompt,
//! `<feedback>`, `<answer>` and `<user_message>` for later ones).

/// The tags the extensions wrap the user's words in (Cline `responses.ts` and the task loop).
const WRAPPERS: &[&str] = &["task", "feedback", "answer", "user_message"];

const ENVIRONMENT: &str = "environment_details";

/// `text` without its `<environment_details>` blocks and, when it holds the user's words in one
/// of the [`WRAPPERS`], those words alone; `None` when nothing is left.
pub(super) fn user_text(text: &str) -> Option<String> {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, _, after)) = tagged(rest, ENVIRONMENT) {
        kept.push_str(before);
        rest = after;
    }
    kept.push_str(rest);
    let words = WRAPPERS
        .iter()
        .find_map(|tag| tagged(&kept, tag).map(|(_, inside, _)| inside))
        .unwrap_or(&kept)
        .trim();
    (!words.is_empty()).then(|| words.to_owned())
}

/// The working directory an `<environment_details>` block names: `# Current Working Directory
/// (<cwd>) Files` (Cline), or `# Current Workspace Directory (<cwd>) Files` (Roo Code, Kilo
/// Code).
pub(super) fn environment_cwd(text: &str) -> Option<&str> {
    let (_, details, _) = tagged(text, ENVIRONMENT)?;
    details.lines().find_map(|line| {
        let rest = line
            .strip_prefix("# Current Working Directory (")
            .or_else(|| line.strip_prefix("# Current Workspace Directory ("))?;
        let cwd = rest.strip_suffix(") Files")?;
        (!cwd.is_empty()).then_some(cwd)
    })
}

/// The text before `<tag>`, between it and `</tag>`, and after that, when both are in `text`.
fn tagged<'t>(text: &'t str, tag: &str) -> Option<(&'t str, &'t str, &'t str)> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = text.find(&open)?;
    let inside = &text[start + open.len()..];
    let end = inside.find(&close)?;
    Some((&text[..start], &inside[..end], &inside[end + close.len()..]))
}

/// The tool a text-protocol tool result names, when `text` is one: Cline sends a tool's output
/// back as a user text starting `[<tool> for '<target>'] Result:` or `[<tool>] Result:`.
pub(super) fn text_tool_result(text: &str) -> Option<&str> {
    let first_line = text.lines().next()?;
    let label = first_line.strip_prefix('[')?.strip_suffix("] Result:")?;
    let tool = label.split(' ').next()?;
    (!tool.is_empty()).then_some(tool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_details_go_and_wrapped_words_are_unwrapped() {
        let text = "<task>\nFix the bug\n</task>\n\n<environment_details>\n# Current Working Directory \
                    (/home/u/app) Files\nsrc/\n</environment_details>";
        assert_eq!(user_text(text).as_deref(), Some("Fix the bug"));
        assert_eq!(environment_cwd(text), Some("/home/u/app"));
        let feedback = "The user has provided feedback on the results.\n<feedback>\nUse tabs\n</feedback>";
        assert_eq!(user_text(feedback).as_deref(), Some("Use tabs"));
        assert_eq!(
            user_text("<environment_details>\nx\n</environment_details>"),
            None
        );
        assert_eq!(user_text("plain words").as_deref(), Some("plain words"));
        assert_eq!(environment_cwd("no details"), None);
        assert_eq!(
            environment_cwd(
                "<environment_details>\n# Current Workspace Directory (/w) Files\n</environment_details>"
            ),
            Some("/w")
        );
    }

    #[test]
    fn text_tool_results_name_their_tool() {
        assert_eq!(
            text_tool_result("[read_file for 'a.rs'] Result:\nfn main"),
            Some("read_file")
        );
        assert_eq!(
            text_tool_result("[attempt_completion] Result:"),
            Some("attempt_completion")
        );
        assert_eq!(
            text_tool_result("[TASK RESUMPTION] This task was interrupted"),
            None
        );
    }
}
