//! Every environment variable memtree reads is declared once (`memtree::env::VARIABLES`, or a
//! source's `Source::variables`) and read through the injected lookup: no code outside
//! `src/env.rs` reads the process environment or looks a variable up by a literal name, so the
//! list stays complete and tests can fake the environment.

use std::path::Path;

use memtree::env::VARIABLES;
use memtree::source::{self, SOURCES};
use regex::Regex;

/// Lookups that bypass the list: the process environment read directly, or the injected lookup
/// called with a literal name (`env("HOME")`; a child's `Command::env("K", v)` is not a read).
fn raw_lookups(text: &str) -> Vec<(usize, String)> {
    let pattern = Regex::new(r#"std::env::var(_os)?\s*\(|(^|[^.\w])env\s*\(\s*""#).unwrap();
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .filter(|(_, line)| pattern.is_match(line))
        .map(|(index, line)| (index + 1, line.trim().to_owned()))
        .collect()
}

#[test]
fn no_code_reads_a_variable_outside_the_list() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for entry in walkdir::WalkDir::new(&src) {
        let path = entry.unwrap().into_path();
        if path.extension().is_none_or(|ext| ext != "rs") || path.ends_with("src/env.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // Unit tests may fake or read the environment as they need.
        let production = text.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
        for (line, code) in raw_lookups(production) {
            found.push(format!("{}:{line}: {code}", path.display()));
        }
    }
    assert!(
        found.is_empty(),
        "read these through memtree::env:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_raw_lookups_and_not_child_environments() {
    let text = "let a = std::env::var_os(\"X\");\nlet b = env(\"HOME\");\ncommand.env(\"LC_ALL\", \"C\");\nlet c = HOME.path(env);\n";
    let lines: Vec<usize> = raw_lookups(text).into_iter().map(|(line, _)| line).collect();
    assert_eq!(lines, [1, 2]);
}

#[test]
fn every_variable_has_a_name_and_a_meaning() {
    for variable in VARIABLES.iter().chain(source::variables()) {
        assert!(
            !variable.name.is_empty() && variable.name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{variable:?}"
        );
        assert!(!variable.meaning.is_empty(), "{variable:?}");
    }
    assert!(SOURCES.iter().any(|source| !source.variables().is_empty()));
}
