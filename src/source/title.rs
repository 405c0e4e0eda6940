//! The title a session's first prompt gives, cut the same way for every tool.

/// The longest title, in characters.
const TITLE_MAX_CHARS: usize = 80;

/// The prompt on one line (every whitespace run one space), at most [`TITLE_MAX_CHARS`]
/// characters: a longer one keeps one character fewer and ends in `…`, so a cut title says so.
pub(crate) fn title_from_prompt(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() <= TITLE_MAX_CHARS {
        return line;
    }
    let mut cut: String = line.chars().take(TITLE_MAX_CHARS - 1).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_is_one_line_of_at_most_80_characters() {
        assert_eq!(title_from_prompt("  fix\n\n\tthe   bug \r\n"), "fix the bug");
        assert_eq!(title_from_prompt(" \n "), "");
        let a = |n: usize| "a".repeat(n);
        assert_eq!(title_from_prompt(&a(80)), a(80));
        assert_eq!(title_from_prompt(&a(81)), format!("{}…", a(79)));
        // Whitespace is collapsed before the characters are counted.
        let spaced = format!("{}\n\n   {}", a(40), a(39));
        assert_eq!(title_from_prompt(&spaced), format!("{} {}", a(40), a(39)));
        // Characters, not bytes: two-byte `é` is cut at the same count.
        assert_eq!(title_from_prompt(&"é".repeat(80)), "é".repeat(80));
        let cut = title_from_prompt(&"é".repeat(81));
        assert_eq!(cut, format!("{}…", "é".repeat(79)));
        assert_eq!(cut.chars().count(), 80);
    }
}
