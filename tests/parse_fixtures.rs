//! Data-driven parser tests: every `fixtures/<tool>/<case>/` directory of every source in
//! `SOURCES` holds a `source/` tree laid out as the tool writes it and an `expected.json` with
//! what discovery and parsing must yield, and the files a salvaging run reads (`Source::salvage`),
//! listed last with `"salvage": true` and their sessions in the order the reader hands them over. Each case is a trial of its own, named `<tool>/<case>`
//! (`cargo test --test parse_fixtures -- claude/noise` runs one), and a mismatch shows a unified
//! diff of the pretty JSON, expected against actual.
//!
//! The `fixture-layout/...` trials fail where a fixture would otherwise go unchecked: a directory
//! under `fixtures/` that is neither a tool in `SOURCES` nor `redact`, and a tool without cases;
//! a case trial also fails on a case name that is not kebab-case and on a case without `source/`
//! or `expected.json`. (A tool's name is letters and digits only, so no tool's cases can share
//! the `fixture-layout` prefix.)
//!
//! Run with `UPDATE_EXPECT=1` to rewrite the expected files after an intended change, then review
//! the diff: the expected files are the specification.

mod common;

use std::path::Path;
use std::process::ExitCode;

use common::{case_dirs, fixture_cases, fixtures_root};
use libtest_mimic::{Arguments, Failed, Trial};
use memtree::model::KnownRevisions;
use memtree::source::{Source, SOURCES};
use serde_json::{json, Value};

/// The directory under `fixtures/` that belongs to no tool: the redaction corpora.
const NOT_A_TOOL: &str = "redact";

/// Lines of context around each change in a case's diff.
const DIFF_CONTEXT: usize = 3;

fn main() -> ExitCode {
    // Aider's times are local times without a zone, read in the machine's zone: the expected
    // files hold them read in UTC. Set before any thread starts.
    std::env::set_var("TZ", "UTC");
    let args = Arguments::from_args();
    let update = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut trials = vec![
        Trial::test("fixture-layout/only-tools-and-redact", only_tools_and_redact),
        Trial::test("fixture-layout/kebab-case-rule", kebab_case_rule),
    ];
    for source in SOURCES {
        let source: &'static dyn Source = *source;
        let tool = source.name();
        trials.push(Trial::test(
            format!("fixture-layout/{tool}-has-cases"),
            move || has_cases(tool),
        ));
        if !fixtures_root().join(tool).is_dir() {
            continue; // the trial above fails
        }
        for case_dir in case_dirs(tool) {
            let case = case_dir.file_name().unwrap().to_string_lossy().into_owned();
            trials.push(Trial::test(format!("{tool}/{case}"), move || {
                check_case(source, &case_dir, update)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit_code()
}

/// Every directory under `fixtures/` is a tool's (checked case by case) or the redaction corpora:
/// a directory named for a tool memtree does not read would never be tested.
fn only_tools_and_redact() -> Result<(), Failed> {
    let root = fixtures_root();
    let mut strays: Vec<String> = std::fs::read_dir(&root)
        .map_err(|err| format!("cannot read {}: {err}", root.display()))?
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_dir())
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|name| name != NOT_A_TOOL && !SOURCES.iter().any(|source| source.name() == name))
        .collect();
    strays.sort();
    if strays.is_empty() {
        return Ok(());
    }
    let tools: Vec<&str> = SOURCES.iter().map(|source| source.name()).collect();
    Err(format!(
        "{}: directories under fixtures/ that are neither a tool in SOURCES ({}) nor `{NOT_A_TOOL}`: {}",
        root.display(),
        tools.join(", "),
        strays.join(", ")
    )
    .into())
}

/// A tool in `SOURCES` has at least one case: a new source comes with its fixtures.
fn has_cases(tool: &str) -> Result<(), Failed> {
    let dir = fixtures_root().join(tool);
    if !dir.is_dir() {
        return Err(format!("{tool} is in SOURCES but {} does not exist", dir.display()).into());
    }
    if fixture_cases(tool).is_empty() {
        return Err(format!("{}: no case (a directory holding `source/`)", dir.display()).into());
    }
    Ok(())
}

/// Whether `name` is kebab-case: lower-case letters and digits, words joined by `-`, dots allowed
/// after the first word for versions (`subagents-2.1`).
fn is_kebab_case(name: &str) -> bool {
    let mut words = name.split('-');
    let first = words.next().unwrap_or_default();
    let word = |word: &str, extra: &[char]| {
        !word.is_empty()
            && word
                .chars()
                .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || extra.contains(&ch))
    };
    word(first, &[]) && words.all(|rest| word(rest, &['.']))
}

/// The rule the case names are held to tells the names in use from the styles it rejects.
fn kebab_case_rule() -> Result<(), Failed> {
    let kebab = [
        "noise",
        "subagents-2.1",
        "flat-agent-2.0",
        "wrapped-0-63",
        "json-sample",
    ];
    let not_kebab = [
        "bare_lines",
        "Noise",
        "jsonSample",
        "-noise",
        "noise-",
        "a--b",
        "2.1-x",
        "a b",
        "",
    ];
    let wrong: Vec<&str> = kebab
        .iter()
        .filter(|name| !is_kebab_case(name))
        .chain(not_kebab.iter().filter(|name| is_kebab_case(name)))
        .copied()
        .collect();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(format!("is_kebab_case misjudges {wrong:?}").into())
    }
}

/// One case: its name and files, then its discovery and parse against `expected.json` (or, with
/// `update`, written to it).
fn check_case(source: &dyn Source, case_dir: &Path, update: bool) -> Result<(), Failed> {
    let name = case_dir.file_name().unwrap().to_string_lossy();
    let mut problems = Vec::new();
    if !is_kebab_case(&name) {
        problems.push(format!(
            "the case name `{name}` is not kebab-case (lower-case letters and digits joined by `-`)"
        ));
    }
    let expected_path = case_dir.join("expected.json");
    if !case_dir.join("source").is_dir() {
        problems.push("no `source/` directory: the case has nothing to parse".to_owned());
    } else if update {
        let actual = run_case(source, case_dir);
        let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
        std::fs::write(&expected_path, text).map_err(|err| format!("cannot write expected.json: {err}"))?;
    } else if !expected_path.is_file() {
        problems.push("no `expected.json` (run with UPDATE_EXPECT=1, then review it)".to_owned());
    } else {
        let text = std::fs::read_to_string(&expected_path)
            .map_err(|err| format!("cannot read {}: {err}", expected_path.display()))?;
        let expected: Value = serde_json::from_str(&text)
            .map_err(|err| format!("{} is not JSON: {err}", expected_path.display()))?;
        let actual = run_case(source, case_dir);
        if actual != expected {
            problems.push(format!(
                "output differs from expected.json (run with UPDATE_EXPECT=1 if the change is intended):\n{}",
                diff(&expected, &actual)
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}:\n{}", case_dir.display(), problems.join("\n")).into())
    }
}

/// A unified line diff of the pretty JSON of `expected` and `actual`.
fn diff(expected: &Value, actual: &Value) -> String {
    let expected = serde_json::to_string_pretty(expected).unwrap() + "\n";
    let actual = serde_json::to_string_pretty(actual).unwrap() + "\n";
    similar::TextDiff::from_lines(&expected, &actual)
        .unified_diff()
        .context_radius(DIFF_CONTEXT)
        .header("expected.json", "actual")
        .to_string()
}

/// Discovers and parses one case, with the case directory replaced by `$CASE` in every path.
fn run_case(source: &dyn Source, case_dir: &Path) -> Value {
    let source_dir = case_dir.join("source");
    let discovery = source.discover(std::slice::from_ref(&source_dir), None);
    let mut units = Vec::new();
    for candidate in &discovery.candidates {
        let outcome = source.parse(candidate);
        units.push(json!({
            "path": candidate.path,
            "sidechain": candidate.sidechain,
            "stats": outcome.stats,
            "sessions": outcome.sessions,
            "diagnostics": outcome.diagnostics,
        }));
    }
    if let Some(salvage) = source.salvage() {
        for candidate in salvage.files(std::slice::from_ref(&source_dir)) {
            let mut sessions = Vec::new();
            let outcome = salvage.read(&candidate, &KnownRevisions::new(), &mut |session| {
                sessions.push(session)
            });
            units.push(json!({
                "path": candidate.path,
                "salvage": true,
                "stats": outcome.stats,
                "sessions": sessions,
                "diagnostics": outcome.diagnostics,
            }));
        }
    }
    let result = json!({ "discovery_diagnostics": discovery.diagnostics, "units": units });
    let text = serde_json::to_string(&result).unwrap();
    let case = case_dir.to_str().unwrap();
    serde_json::from_str(&text.replace(case, "$CASE")).unwrap()
}
