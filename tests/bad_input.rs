//! Bad input, end to end: every kind of broken file, path and field value is written into a
//! tempdir, imported by the `memtree` binary into a real PostgreSQL (tests/common), and checked for
//! the exit code, the diagnostics (file, line, kind) and the rows that still made it in.
//!
//! Each tool has a data-driven table of cases; each case imports into an emptied database under
//! its own tree root (`case_<name>`), and its rows are counted with `tree <@ 'case_<name>'`.
//!
//! Beside the tables, a part with no per-tool code takes every source in `SOURCES` and damages
//! each file of its clean fixture cases in several ways (cut mid-line, a line of garbage, emptied,
//! replaced by a directory, unreadable), checking that the import still ends cleanly, reports what
//! it lost, and keeps the rows of the case's other files.

mod common;

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::{fixture, memtree_command, Run};
use memtree::source::{Source, SOURCES};
use serde_json::{json, Value};

const CWD: &str = "/home/dev/proj";
const TS: &str = "2025-09-01T10:00:00Z";
const CLAUDE_SID: &str = "0d9a5e4c-1b2f-4c3d-8e9f-a0b1c2d3e4f5";
const CODEX_SID: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
const CODEX_FILE: &str = "rollout-2025-09-01T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl";
/// A rollout's name beside [`CODEX_FILE`], for what is no rollout.
const CODEX_OTHER_FILE: &str = "rollout-2025-09-01T10-00-00-6973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl";
const CODEX_DOCUMENT: &str = "rollout-2025-09-01-5973b6c0-94b8-487b-a530-2aeb6098ae0e.json";
const OPENCODE_MS: i64 = 1_756_720_800_000;

// ---------------------------------------------------------------------------------------------
// Running the binary

/// What one import did.
struct Outcome {
    code: i32,
    report: Value,
    stderr: String,
    /// Rows under the case's tree root (`None` for runs that do not write).
    rows: Option<i64>,
}

impl Outcome {
    /// `(file relative to base, line, kind)` of every diagnostic, sorted.
    fn diagnostics(&self, base: &Path) -> Vec<(String, Option<u64>, String)> {
        let mut found: Vec<_> = self.report["diagnostics"]
            .as_array()
            .unwrap_or_else(|| panic!("no diagnostics in report; stderr:\n{}", self.stderr))
            .iter()
            .map(|diagnostic| {
                let file = diagnostic["file"].as_str().unwrap_or_default();
                let relative = Path::new(file)
                    .strip_prefix(base)
                    .map(|path| path.display().to_string())
                    .unwrap_or_else(|_| file.to_owned());
                (
                    relative,
                    diagnostic["line"].as_u64(),
                    diagnostic["kind"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        found.sort();
        found
    }
}

fn import_args(tool: &str, source: &Path, tree_root: &str) -> Vec<std::ffi::OsString> {
    [
        tool,
        "import",
        "--json",
        "--full-transcript",
        "--include-trivial",
        "--include-sidechains",
        "--include-temp-cwd",
        "--tree-root",
        tree_root,
        "--source",
    ]
    .iter()
    .map(Into::into)
    .chain([source.as_os_str().to_owned()])
    .collect()
}

/// The outcome of `run`; its report is `null` when stdout is not JSON, which no case expects.
fn finish(run: Run, rows: Option<i64>) -> Outcome {
    Outcome {
        code: run.code,
        report: serde_json::from_str(&run.stdout).unwrap_or(Value::Null),
        stderr: run.stderr,
        rows,
    }
}

/// Imports `source` into `db` under the tree root `tree_root`.
async fn import(db: &common::TestDb, tool: &str, source: &Path, tree_root: &str) -> Outcome {
    let home = tempfile::tempdir().unwrap();
    let run = Run::of_command(
        memtree_command(home.path())
            .args(import_args(tool, source, tree_root))
            .args(["--database-url", &db.url()]),
    );
    let rows = count_rows(db, tree_root).await;
    finish(run, Some(rows))
}

/// Removes every row (and project slug) an earlier case stored.
async fn empty_tables(db: &common::TestDb) {
    let client = db.client().await;
    client
        .batch_execute(
            "do $$ begin if to_regclass('memory') is not null then \
             truncate memory, memtree_projects; end if; end $$",
        )
        .await
        .unwrap();
}

async fn count_rows(db: &common::TestDb, tree_root: &str) -> i64 {
    let client = db.client().await;
    let exists: bool = common::query_value(&client, "select to_regclass('memory') is not null", &[]).await;
    if !exists {
        return 0;
    }
    common::query_value(
        &client,
        "select count(*) from memory where tree <@ $1::text::ltree",
        &[&tree_root],
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// The case table

/// One bad input: how to write it, and what the import must report.
struct Case {
    name: &'static str,
    /// Writes the case's files under the directory given (the `--source`).
    write: Box<dyn Fn(&Path)>,
    code: i32,
    /// `(path relative to the source, line, kind)`, in any order.
    diagnostics: Vec<(String, Option<u64>, &'static str)>,
    rows: i64,
}

fn case(
    name: &'static str,
    write: impl Fn(&Path) + 'static,
    code: i32,
    diagnostics: &[(&str, Option<u64>, &'static str)],
    rows: i64,
) -> Case {
    Case {
        name,
        write: Box::new(write),
        code,
        diagnostics: diagnostics
            .iter()
            .map(|(file, line, kind)| ((*file).to_owned(), *line, *kind))
            .collect(),
        rows,
    }
}

/// Runs every case of `tool`, each against an empty database (message ids do not depend on the
/// tree, so cases sharing ids must not share rows); reports every mismatch at once.
async fn run_table(tool: &str, cases: Vec<Case>) {
    let db = common::test_db().await;
    let mut failures = Vec::new();
    for case in cases {
        empty_tables(&db).await;
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("src");
        fs::create_dir_all(&source).unwrap();
        (case.write)(&source);
        let tree_root = format!("case_{}", case.name);
        let outcome = import(&db, tool, &source, &tree_root).await;
        let mut expected: Vec<_> = case
            .diagnostics
            .iter()
            .map(|(file, line, kind)| (file.clone(), *line, (*kind).to_owned()))
            .collect();
        expected.sort();
        let actual = outcome.diagnostics(&source);
        if outcome.code != case.code || actual != expected || outcome.rows != Some(case.rows) {
            failures.push(format!(
                "{tool}/{}: exit {} (want {}), rows {:?} (want {}),\n  diagnostics {actual:?}\n  want        {expected:?}\n  stderr: {}",
                case.name,
                outcome.code,
                case.code,
                outcome.rows,
                case.rows,
                outcome.stderr.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

fn write_file(path: &Path, bytes: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, bytes).unwrap();
}

/// JSON lines, each ending in a newline.
fn lines(records: &[Value]) -> Vec<u8> {
    records
        .iter()
        .flat_map(|record| format!("{record}\n").into_bytes())
        .collect()
}

/// The lines of `before`, then `middle` (raw bytes) as a line of its own, then those of `after`.
fn framed(before: &[Value], middle: Vec<u8>, after: &[Value]) -> Vec<u8> {
    let mut bytes = lines(before);
    bytes.extend(middle);
    bytes.push(b'\n');
    bytes.extend(lines(after));
    bytes
}

/// Sets the member at `pointer` (which must exist, or its parent must) to `value`.
fn set(mut record: Value, pointer: &str, value: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let target = record
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match target {
        Value::Object(object) => {
            object.insert(key.to_owned(), value);
        }
        Value::Array(array) => array[key.parse::<usize>().unwrap()] = value,
        _ => panic!("{parent} is not a container"),
    }
    record
}

/// A case of a three-record input whose middle record meets `fate` (`file` names its file).
fn fate_case(name: &'static str, fate: Fate, file: &str, write: impl Fn(&Path) + 'static) -> Case {
    match fate {
        Fate::Kept => case(name, write, 0, &[], 3),
        Fate::Ignored => case(name, write, 0, &[], 2),
        Fate::Malformed => case(name, write, 1, &[(file, Some(2), "malformed")], 2),
    }
}

/// A JSONL tool's one-session test transcript: where its file goes under the source directory,
/// and the lines its middle line (line 2) is framed by.
#[derive(Clone, Copy)]
struct Transcript {
    file: fn(&Path) -> PathBuf,
    around: fn(Vec<u8>) -> Vec<u8>,
}

const CLAUDE: Transcript = Transcript {
    file: claude_file,
    around: claude_around,
};

const CODEX: Transcript = Transcript {
    file: codex_file,
    around: codex_around,
};

impl Transcript {
    /// The file's path relative to the source directory, as diagnostics name it.
    fn rel(self) -> String {
        (self.file)(Path::new("")).display().to_string()
    }

    fn write(self, dir: &Path, bytes: impl AsRef<[u8]>) {
        write_file(&(self.file)(dir), bytes);
    }

    /// Writes the transcript with `middle` (raw bytes) as its line 2.
    fn write_around(self, dir: &Path, middle: Vec<u8>) {
        self.write(dir, (self.around)(middle));
    }

    /// A case whose whole file is `text`, which holds no session (an empty file, blank lines).
    fn blank_case(self, name: &'static str, text: &'static str) -> Case {
        case(name, move |dir| self.write(dir, text), 0, &[], 0)
    }

    /// A case of the lines of `whole` and the first `kept` bytes of `torn`'s, a line still being
    /// written: it is left for later, and the `rows` messages before it are imported.
    fn torn_case(self, whole: &[Value], torn: Value, kept: usize, rows: i64) -> Case {
        let mut bytes = lines(whole);
        bytes.extend(&lines(&[torn])[..kept]);
        case("torn_last_line", move |dir| self.write(dir, &bytes), 0, &[], rows)
    }

    /// A directory at `rel`, named as the tool's files are, beside a transcript of `records`: it
    /// is passed over quietly, and the transcript's message imported.
    fn directory_case(self, name: &'static str, rel: &'static str, records: &[Value]) -> Case {
        let bytes = lines(records);
        case(
            name,
            move |dir| {
                fs::create_dir_all(dir.join(rel)).unwrap();
                self.write(dir, &bytes);
            },
            0,
            &[],
            1,
        )
    }

    /// A link to itself at `rel`, named as the tool's files are, beside a transcript of `records`:
    /// it is reported unreadable, and the transcript's message imported.
    fn symlink_loop_case(self, rel: &'static str, records: &[Value]) -> Case {
        let bytes = lines(records);
        case(
            "symlink_loop",
            move |dir| {
                symlink_loop(&dir.join(rel));
                self.write(dir, &bytes);
            },
            1,
            &[(rel, None, "unreadable")],
            1,
        )
    }

    /// A wrong-type case of a transcript that opens with its metadata line: a mutated `meta`
    /// record is line 1, followed by `after_meta`; any other record is line 2 ([`Self::middle_case`]).
    fn meta_or_middle_case(
        self,
        name: &'static str,
        template: &str,
        mutated: Value,
        fate: Fate,
        after_meta: &[Value],
    ) -> Case {
        if template != "meta" {
            return self.middle_case(name, fate, mutated.to_string());
        }
        let mut bytes = lines(&[mutated]);
        bytes.extend(lines(after_meta));
        fate_case(name, fate, &self.rel(), move |dir| self.write(dir, &bytes))
    }

    /// A case whose line 2 is `middle`, which meets `fate`.
    fn middle_case(self, name: &'static str, fate: Fate, middle: impl Into<Vec<u8>>) -> Case {
        let middle = middle.into();
        fate_case(name, fate, &self.rel(), move |dir| {
            self.write_around(dir, middle.clone())
        })
    }

    /// A case whose line 2 is `record` with its `#` made an invalid UTF-8 byte (inside a string):
    /// reported, and the line still imported.
    fn invalid_utf8_case(self, record: Value) -> Case {
        let line = record.to_string().replace('#', "\u{1}");
        let middle: Vec<u8> = line
            .bytes()
            .map(|byte| if byte == 1 { 0xff } else { byte })
            .collect();
        let rel = self.rel();
        case(
            "invalid_utf8_in_text",
            move |dir| self.write_around(dir, middle.clone()),
            0,
            &[(&rel, Some(2), "invalid_utf8")],
            3,
        )
    }
}

/// A case per row of a wrong-types table (`template`, `pointer`, wrong value, fate), named
/// `wrong_type_<row>`: `case_of` makes it from the name, the row's template and fate, and the
/// template's record (`record`) with the value set at the pointer.
fn wrong_type_cases(
    tool: &str,
    table: Vec<(&'static str, &'static str, Value, Fate)>,
    record: impl Fn(&str) -> Value,
    case_of: impl Fn(&'static str, &str, Value, Fate) -> Case,
) -> Vec<Case> {
    let mut cases = Vec::new();
    for (index, (template, pointer, value, fate)) in table.into_iter().enumerate() {
        let name: &'static str = format!("wrong_type_{index}").leak();
        let mutated = set(record(template), pointer, value.clone());
        cases.push(case_of(name, template, mutated, fate));
        eprintln!("{tool} {name}: {template} {pointer} = {value} -> {fate:?}");
    }
    cases
}

/// A case whose one file is the `.json` document at `rel` holding `bytes`: malformed as a whole
/// (no line), with `rows` of its messages still imported.
fn malformed_document(name: &'static str, rel: &'static str, bytes: impl Into<Vec<u8>>, rows: i64) -> Case {
    let bytes = bytes.into();
    case(
        name,
        move |dir| write_file(&dir.join(rel), &bytes),
        1,
        &[(rel, None, "malformed")],
        rows,
    )
}

/// A symlink pointing at itself.
fn symlink_loop(path: &Path) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(path, path).unwrap();
}

fn deep_json(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

// ---------------------------------------------------------------------------------------------
// Claude Code

fn claude_user(uuid: &str, text: &str) -> Value {
    json!({"type":"user","uuid":uuid,"sessionId":CLAUDE_SID,"timestamp":TS,"cwd":CWD,"gitBranch":"main",
        "version":"2.0.1","isSidechain":false,"isMeta":false,"isCompactSummary":false,"promptId":"p1",
        "message":{"role":"user","content":text}})
}

fn claude_assistant(uuid: &str, text: &str) -> Value {
    json!({"type":"assistant","uuid":uuid,"sessionId":CLAUDE_SID,"timestamp":TS,"cwd":CWD,
        "isApiErrorMessage":false,"message":{"role":"assistant","model":"claude-sonnet-4-5","content":[
            {"type":"thinking","thinking":"hmm"},
            {"type":"text","text":text},
            {"type":"tool_use","id":"tu1","name":"Bash","input":{"command":"ls"}}]}})
}

fn claude_tool_result(uuid: &str) -> Value {
    json!({"type":"user","uuid":uuid,"sessionId":CLAUDE_SID,"timestamp":TS,"cwd":CWD,
        "message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":[{"type":"text","text":"a.txt"}]}]}})
}

fn claude_file(dir: &Path) -> PathBuf {
    dir.join("proj").join(format!("{CLAUDE_SID}.jsonl"))
}

/// A three-line session whose middle line is `middle` (raw bytes).
fn claude_around(middle: Vec<u8>) -> Vec<u8> {
    framed(
        &[claude_user("u1", "first prompt")],
        middle,
        &[claude_assistant("a3", "last answer")],
    )
}

/// What becomes of a line with a mutated field.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fate {
    /// Imported as one row.
    Kept,
    /// Reported as malformed on its line, and not imported.
    Malformed,
    /// Nothing to import, by the format's rules; not a problem.
    Ignored,
}

/// Field mutations of every field the Claude parser reads: `(template, pointer, wrong value,
/// fate of the line)`.
fn claude_wrong_types() -> Vec<(&'static str, &'static str, Value, Fate)> {
    let mut table = Vec::new();
    let envelope = [
        "/type",
        "/uuid",
        "/sessionId",
        "/timestamp",
        "/cwd",
        "/gitBranch",
        "/version",
        "/isSidechain",
        "/isMeta",
        "/isCompactSummary",
        "/promptId",
        "/message/model",
    ];
    for pointer in envelope {
        for (template, value) in [
            ("user", json!(7)),
            ("user", json!(["x"])),
            ("user", json!({"a":1})),
        ] {
            table.push((template, pointer, value, Fate::Malformed));
        }
    }
    for (template, pointer, value, fate) in [
        ("user", "/isApiErrorMessage", json!("no"), Fate::Malformed),
        ("user", "/summary", json!(7), Fate::Malformed),
        ("user", "/aiTitle", json!([]), Fate::Malformed),
        ("user", "/customTitle", json!({}), Fate::Malformed),
        ("user", "/message/content", json!(7), Fate::Malformed),
        ("user", "/message/content", json!({"text":"x"}), Fate::Malformed),
        ("user", "/message", json!("a string"), Fate::Malformed),
        ("user", "/message", json!(["x"]), Fate::Malformed),
        ("user", "/message", json!(7), Fate::Malformed),
        (
            "assistant",
            "/message/content/0/thinking",
            json!(7),
            Fate::Malformed,
        ),
        ("assistant", "/message/content/1/type", json!(7), Fate::Malformed),
        (
            "assistant",
            "/message/content/1/text",
            json!(["x"]),
            Fate::Malformed,
        ),
        ("assistant", "/message/content/2/id", json!(7), Fate::Malformed),
        ("assistant", "/message/content/2/name", json!({}), Fate::Malformed),
        (
            "assistant",
            "/message/content/1",
            json!("a string"),
            Fate::Malformed,
        ),
        (
            "tool_result",
            "/message/content/0/tool_use_id",
            json!(7),
            Fate::Malformed,
        ),
        // Any JSON is a valid tool input or result: it is kept as compact JSON.
        (
            "assistant",
            "/message/content/2/input",
            json!("a string"),
            Fate::Kept,
        ),
        (
            "tool_result",
            "/message/content/0/content",
            json!({"a": [1]}),
            Fate::Kept,
        ),
        (
            "tool_result",
            "/message/content/0/content/0",
            json!(7),
            Fate::Kept,
        ),
        // Only string `text` parts are text (images and tool references are skipped).
        (
            "tool_result",
            "/message/content/0/content/0/text",
            json!(7),
            Fate::Ignored,
        ),
        // An absent value where one is optional.
        ("user", "/gitBranch", Value::Null, Fate::Kept),
        ("user", "/cwd", Value::Null, Fate::Kept),
        // Without an id or a time the message cannot be stored: reported, not silently lost.
        ("user", "/uuid", Value::Null, Fate::Malformed),
        ("user", "/timestamp", Value::Null, Fate::Malformed),
        (
            "user",
            "/timestamp",
            json!("99999-01-01T00:00:00Z"),
            Fate::Malformed,
        ),
        ("user", "/timestamp", json!("not a time"), Fate::Malformed),
    ] {
        table.push((template, pointer, value, fate));
    }
    table
}

fn claude_cases() -> Vec<Case> {
    let mut cases = vec![
        CLAUDE.blank_case("empty", ""),
        CLAUDE.blank_case("whitespace", " \n\t\r\n  "),
        CLAUDE.torn_case(
            &[claude_user("u1", "one"), claude_assistant("a2", "two")],
            claude_user("u3", "three"),
            40,
            2,
        ),
        CLAUDE.invalid_utf8_case(claude_user("u2", "caf#")),
        CLAUDE.middle_case(
            "invalid_utf8_outside_strings",
            Fate::Malformed,
            b"{\"type\":\xff}",
        ),
        CLAUDE.middle_case("raw_nul_byte", Fate::Malformed, b"{\"type\":\"user\",\0}"),
        CLAUDE.middle_case(
            "escaped_nul_in_content_id_and_cwd",
            Fate::Kept,
            set(
                set(
                    claude_user("u\u{0}2", "a\u{0}b"),
                    "/cwd",
                    json!("/home/dev/p\u{0}q"),
                ),
                "/sessionId",
                json!("s\u{0}x"),
            )
            .to_string(),
        ),
        CLAUDE.middle_case(
            "glued_records",
            Fate::Malformed,
            format!("{}{}", claude_user("u2", "two"), claude_user("u3", "three")),
        ),
        CLAUDE.middle_case(
            "nested_10000_deep",
            Fate::Malformed,
            claude_user("u2", "x")
                .to_string()
                .replace("\"x\"", &deep_json(10_000)),
        ),
        // Fields memtree does not read are skipped without recursion: any depth is fine there.
        CLAUDE.middle_case(
            "deep_in_ignored_field",
            Fate::Kept,
            set(claude_user("u2", "x"), "/toolUseResult", json!("DEEP"))
                .to_string()
                .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        CLAUDE.middle_case(
            "unknown_record_types",
            Fate::Ignored,
            set(claude_user("u2", "x"), "/type", json!("queue-operation-v9")).to_string(),
        ),
        CLAUDE.directory_case(
            "directory_named_like_a_transcript",
            "proj/x.jsonl",
            &[claude_user("u1", "one")],
        ),
        CLAUDE.symlink_loop_case("proj/loop.jsonl", &[claude_user("u1", "one")]),
        case(
            "directory_symlink_loop",
            |dir| {
                fs::create_dir_all(dir.join("proj")).unwrap();
                std::os::unix::fs::symlink("..", dir.join("proj").join("up")).unwrap();
                CLAUDE.write(dir, lines(&[claude_user("u1", "one")]));
            },
            0,
            &[],
            1,
        ),
    ];
    let record = |template: &str| match template {
        "user" => claude_user("u2", "two"),
        "assistant" => claude_assistant("a2", "two"),
        _ => claude_tool_result("r2"),
    };
    cases.extend(wrong_type_cases(
        "claude",
        claude_wrong_types(),
        record,
        |name, _, record, fate| CLAUDE.middle_case(name, fate, record.to_string()),
    ));
    cases
}

#[tokio::test]
async fn claude_bad_inputs() {
    run_table("claude", claude_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Codex CLI

fn codex_wrap(kind: &str, payload: Value) -> Value {
    json!({"timestamp":TS,"type":kind,"payload":payload})
}

fn codex_meta() -> Value {
    codex_wrap(
        "session_meta",
        json!({"id":CODEX_SID,"timestamp":TS,"cwd":CWD,"originator":"codex_cli_rs","cli_version":"0.50.0",
            "source":"cli","model_provider":"openai","agent_role":null,"parent_thread_id":null,
            "git":{"commit_hash":"abc123","branch":"main","repository_url":"https://example.com/r.git"}}),
    )
}

fn codex_message(role: &str, text: &str) -> Value {
    let part = if role == "user" {
        "input_text"
    } else {
        "output_text"
    };
    codex_wrap(
        "response_item",
        json!({"type":"message","role":role,"id":format!("msg_{text}"),"content":[{"type":part,"text":text}]}),
    )
}

/// The templates a mutation starts from: one record of every kind the parser reads.
fn codex_template(name: &str) -> Value {
    match name {
        "meta" => codex_meta(),
        "turn_context" => codex_wrap("turn_context", json!({"cwd":CWD,"model":"gpt-5"})),
        "user" => codex_message("user", "two"),
        "user_event" => codex_wrap("event_msg", json!({"type":"user_message","message":"two"})),
        "call" => codex_wrap(
            "response_item",
            json!({"type":"function_call","name":"shell","arguments":"{\"cmd\":\"ls\"}","call_id":"c1"}),
        ),
        "output" => codex_wrap(
            "response_item",
            json!({"type":"function_call_output","call_id":"c1","output":"a.txt"}),
        ),
        "reasoning" => codex_wrap(
            "response_item",
            json!({"type":"reasoning","summary":[{"type":"summary_text","text":"think"}]}),
        ),
        "shell" => codex_wrap(
            "response_item",
            json!({"type":"local_shell_call","call_id":"c2","action":{"type":"exec","command":["ls","-l"]}}),
        ),
        "search" => codex_wrap(
            "response_item",
            json!({"type":"web_search_call","id":"ws1","action":{"type":"search","query":"rust"}}),
        ),
        other => panic!("no template {other}"),
    }
}

/// Field mutations of every field the Codex parser reads. Codex fields change type between
/// versions, so a field of an unexpected type is read as absent (formats.md section 0): the line
/// is never malformed for it, and only what it carried is missing.
fn codex_wrong_types() -> Vec<(&'static str, &'static str, Value, Fate)> {
    let kept_without = |template, pointer| {
        [json!(7), json!(["x"]), json!({"a":1}), Value::Null]
            .into_iter()
            .map(move |value| (template, pointer, value, Fate::Kept))
    };
    let mut table: Vec<_> = [
        ("user", "/timestamp"),
        ("user", "/ordinal"),
        ("user", "/payload/id"),
        ("call", "/payload/name"),
        ("call", "/payload/call_id"),
        ("call", "/payload/arguments"),
        ("output", "/payload/call_id"),
        ("shell", "/payload/action"),
        ("shell", "/payload/action/command"),
        ("search", "/payload/action"),
        ("search", "/payload/action/query"),
    ]
    .into_iter()
    .flat_map(|(template, pointer)| kept_without(template, pointer))
    .collect();
    for pointer in [
        "/payload/id",
        "/payload/timestamp",
        "/payload/cwd",
        "/payload/originator",
        "/payload/cli_version",
        "/payload/source",
        "/payload/model_provider",
        "/payload/git",
        "/payload/git/branch",
        "/payload/git/commit_hash",
        "/payload/git/repository_url",
        "/payload/agent_role",
        "/payload/parent_thread_id",
        "/payload/forked_from_id",
        "/payload/thread_source",
    ] {
        // The session still imports (the meta line is swapped for the mutated one).
        table.push(("meta", pointer, json!(7), Fate::Kept));
        table.push(("meta", pointer, json!([["x"]]), Fate::Kept));
    }
    for (template, pointer, value, fate) in [
        ("turn_context", "/payload/model", json!(7), Fate::Ignored),
        ("turn_context", "/payload/cwd", json!(["x"]), Fate::Ignored),
        ("user", "/timestamp", json!("99999-01-01T00:00:00Z"), Fate::Kept),
        ("user", "/type", json!(7), Fate::Ignored),
        ("user", "/payload/type", json!(7), Fate::Ignored),
        ("user", "/payload/role", json!(["user"]), Fate::Ignored),
        ("user", "/payload/content", json!(7), Fate::Ignored),
        ("user", "/payload/content/0/text", json!({"t":1}), Fate::Ignored),
        ("user", "/payload/content", json!("plain text"), Fate::Kept),
        // The wrapper's payload must be an object: anything else is not a record.
        ("user", "/payload", json!(7), Fate::Malformed),
        ("user", "/payload", json!("text"), Fate::Malformed),
        // serde reads a struct from an array too: an array payload is a record without fields.
        ("user", "/payload", json!([1]), Fate::Ignored),
        ("user_event", "/payload/message", json!(7), Fate::Kept),
        (
            "user_event",
            "/payload/message",
            json!([{"text":"two"}]),
            Fate::Kept,
        ),
        (
            "output",
            "/payload/output",
            json!({"content":"a.txt"}),
            Fate::Kept,
        ),
        ("output", "/payload/output", json!(7), Fate::Kept),
        ("output", "/payload/output", Value::Null, Fate::Ignored),
        ("reasoning", "/payload/summary", json!(7), Fate::Ignored),
        ("reasoning", "/payload/summary/0/text", json!(7), Fate::Ignored),
    ] {
        table.push((template, pointer, value, fate));
    }
    table
}

fn codex_file(dir: &Path) -> PathBuf {
    dir.join("2025").join("09").join("01").join(CODEX_FILE)
}

/// A rollout of its meta line, `middle` (line 2), and two assistant messages.
fn codex_around(middle: Vec<u8>) -> Vec<u8> {
    framed(&[codex_meta()], middle, &codex_answers())
}

/// The two assistant messages that end a test rollout.
fn codex_answers() -> [Value; 2] {
    [
        codex_message("assistant", "three"),
        codex_message("assistant", "four"),
    ]
}

fn codex_cases() -> Vec<Case> {
    let mut cases = vec![
        CODEX.blank_case("empty", ""),
        CODEX.blank_case("whitespace", "\n \n\t"),
        CODEX.torn_case(
            &[codex_meta(), codex_message("user", "one")],
            codex_message("assistant", "two"),
            30,
            1,
        ),
        CODEX.invalid_utf8_case(codex_message("user", "caf#")),
        CODEX.middle_case(
            "invalid_utf8_outside_strings",
            Fate::Malformed,
            b"{\"type\":\xff}",
        ),
        CODEX.middle_case("raw_nul_byte", Fate::Malformed, b"{\"type\":\0\"x\"}"),
        case(
            "escaped_nul_in_content_ids_and_cwd",
            |dir| {
                let mut meta = codex_meta();
                meta["payload"]["cwd"] = json!("/home/dev/p\u{0}q");
                meta["payload"]["id"] = json!("s\u{0}1");
                let mut message = codex_message("user", "a\u{0}b");
                message["payload"]["id"] = json!("m\u{0}1");
                CODEX.write(dir, lines(&[meta, message]));
            },
            0,
            &[],
            1,
        ),
        case(
            "lone_surrogate_in_a_tool_output_is_kept_as_written",
            |dir| {
                let output = codex_template("output")
                    .to_string()
                    .replace("a.txt", "before \\ud800 after");
                let mut bytes = lines(&[codex_meta(), codex_message("user", "one")]);
                bytes.extend(format!("{output}\n").as_bytes());
                CODEX.write(dir, bytes);
            },
            0,
            &[],
            2,
        ),
        CODEX.middle_case(
            "glued_records",
            Fate::Malformed,
            format!("{}{}", codex_message("user", "a"), codex_message("user", "b")),
        ),
        // A part's text that is no string holds no text: skipped without recursion, any depth.
        CODEX.middle_case(
            "part_text_nested_10000_deep",
            Fate::Ignored,
            codex_message("user", "x")
                .to_string()
                .replace("\"x\"", &deep_json(10_000)),
        ),
        // A field read as a JSON value stops at serde_json's depth limit: the line is malformed.
        CODEX.middle_case(
            "action_nested_10000_deep",
            Fate::Malformed,
            codex_wrap(
                "response_item",
                json!({"type":"local_shell_call","call_id":"call_deep","action":"DEEP"}),
            )
            .to_string()
            .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        CODEX.middle_case(
            "unknown_record_types",
            Fate::Ignored,
            codex_wrap("brand_new_kind", json!({"type":"message","role":"user"})).to_string(),
        ),
        CODEX.middle_case("record_not_an_object", Fate::Malformed, b"\"just a string\""),
        CODEX.directory_case(
            "directory_named_like_a_rollout",
            CODEX_OTHER_FILE,
            &[codex_meta(), codex_message("user", "one")],
        ),
        CODEX.symlink_loop_case(CODEX_OTHER_FILE, &[codex_meta(), codex_message("user", "one")]),
        case(
            "symlinked_rollout_is_read",
            |dir| {
                write_file(
                    &dir.join("elsewhere.txt"),
                    lines(&[codex_meta(), codex_message("user", "one")]),
                );
                std::os::unix::fs::symlink(dir.join("elsewhere.txt"), dir.join(CODEX_FILE)).unwrap();
            },
            0,
            &[],
            1,
        ),
        malformed_document("document_empty", CODEX_DOCUMENT, b"", 0),
        malformed_document(
            "document_items_not_an_array",
            CODEX_DOCUMENT,
            br#"{"session":{"id":"s"},"items":7}"#,
            0,
        ),
        malformed_document(
            "document_bad_item_keeps_the_rest",
            CODEX_DOCUMENT,
            json!({"session":{"id":"s","timestamp":TS},"items":[
                {"type":"message","role":"user","content":[{"type":"input_text","text":"one"}]},
                7,
                {"role":"assistant","content":"two"}]})
            .to_string(),
            2,
        ),
        // The deep item alone is malformed: the items beside it are kept.
        malformed_document(
            "document_nested_10000_deep",
            CODEX_DOCUMENT,
            format!(
                "{{\"session\":{{\"id\":\"s\",\"timestamp\":\"{TS}\"}},\"items\":[{},{}]}}",
                deep_json(10_000),
                json!({"type":"message","role":"user","content":[{"type":"input_text","text":"one"}]})
            ),
            1,
        ),
    ];
    cases.extend(wrong_type_cases(
        "codex",
        codex_wrong_types(),
        codex_template,
        |name, template, mutated, fate| {
            let [three, four] = codex_answers();
            let after_meta = [codex_message("user", "two"), three, four];
            CODEX.meta_or_middle_case(name, template, mutated, fate, &after_meta)
        },
    ));
    cases
}

#[tokio::test]
async fn codex_bad_inputs() {
    run_table("codex", codex_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// OpenCode

/// The files of one JSON-storage session (global layout): relative path and body.
fn opencode_files() -> Vec<(&'static str, Value)> {
    vec![
        ("storage/project/prj1.json", json!({"id":"prj1","worktree":CWD})),
        (
            "storage/session/prj1/ses_1.json",
            json!({"id":"ses_1","projectID":"prj1","directory":CWD,"title":"t","version":"1.0.0",
                "parentID":null,"time":{"created":OPENCODE_MS,"updated":OPENCODE_MS}}),
        ),
        (
            "storage/message/ses_1/msg_1.json",
            json!({"id":"msg_1","sessionID":"ses_1","role":"user","time":{"created":OPENCODE_MS},
                "agent":"build","model":{"providerID":"anthropic","modelID":"claude-x"}}),
        ),
        (
            "storage/part/msg_1/prt_1.json",
            json!({"id":"prt_1","type":"text","text":"one"}),
        ),
        (
            "storage/message/ses_1/msg_2.json",
            json!({"id":"msg_2","sessionID":"ses_1","role":"assistant","time":{"created":OPENCODE_MS + 1},
                "modelID":"claude-x","providerID":"anthropic","mode":"build","path":{"cwd":CWD}}),
        ),
        (
            "storage/part/msg_2/prt_2.json",
            json!({"id":"prt_2","type":"tool","tool":"bash","state":{"status":"completed",
                "input":{"command":"ls"},"output":"a.txt"}}),
        ),
        (
            "storage/message/ses_1/msg_3.json",
            json!({"id":"msg_3","sessionID":"ses_1","role":"assistant","time":{"created":OPENCODE_MS + 2}}),
        ),
        (
            "storage/part/msg_3/prt_3.json",
            json!({"id":"prt_3","type":"text","text":"three"}),
        ),
        (
            "storage/part/msg_3/prt_4.json",
            json!({"id":"prt_4","type":"file","filename":"a.png","mime":"image/png","url":"data:x"}),
        ),
        (
            "storage/part/msg_3/prt_5.json",
            json!({"id":"prt_5","type":"patch","files":["a.rs"]}),
        ),
        (
            "storage/part/msg_3/prt_6.json",
            json!({"id":"prt_6","type":"reasoning","text":"hmm"}),
        ),
    ]
}

/// Writes the session with `file`'s body replaced by `body` (bytes) when given.
fn write_opencode(dir: &Path, replaced: Option<(&str, &[u8])>) {
    for (file, body) in opencode_files() {
        match replaced {
            Some((target, bytes)) if target == file => write_file(&dir.join(file), bytes),
            _ => write_file(&dir.join(file), body.to_string()),
        }
    }
}

/// Field mutations of every field the OpenCode conversion reads: `(file, pointer, value, rows)`.
/// Fields of an unexpected type are read as absent; only what cannot be placed in time loses
/// data, and that is reported (naming the file).
fn opencode_wrong_types() -> Vec<(&'static str, &'static str, Value, i64, bool)> {
    const SESSION: &str = "storage/session/prj1/ses_1.json";
    const MSG1: &str = "storage/message/ses_1/msg_1.json";
    const MSG2: &str = "storage/message/ses_1/msg_2.json";
    const PART1: &str = "storage/part/msg_1/prt_1.json";
    const PART2: &str = "storage/part/msg_2/prt_2.json";
    const PART4: &str = "storage/part/msg_3/prt_4.json";
    const PART5: &str = "storage/part/msg_3/prt_5.json";
    let mut table = Vec::new();
    for (file, pointer) in [
        (SESSION, "/title"),
        (SESSION, "/directory"),
        (SESSION, "/version"),
        (SESSION, "/parentID"),
        (SESSION, "/projectID"),
        (SESSION, "/time/created"),
        (SESSION, "/time"),
        (MSG1, "/role"),
        (MSG1, "/agent"),
        (MSG1, "/model"),
        (MSG1, "/model/modelID"),
        (MSG2, "/modelID"),
        (MSG2, "/path"),
        (MSG2, "/path/cwd"),
        (PART2, "/tool"),
        (PART2, "/state"),
        (PART2, "/state/input"),
        (PART2, "/state/output"),
        (PART4, "/filename"),
        (PART4, "/mime"),
        (PART5, "/files"),
        (PART5, "/files/0"),
    ] {
        for value in [json!("x7"), json!(7), json!([["x"]]), json!({"a":{}})] {
            // A string where a string is read is not a wrong type; a parentID makes a sidechain.
            if value.is_string() && !pointer.contains("time") && !pointer.ends_with("/state") {
                continue;
            }
            table.push((file, pointer, value, 3, false));
        }
    }
    for (file, pointer, value, rows, reported) in [
        // A part without text contributes nothing; its message then has no content.
        (PART1, "/text", json!(7), 2, false),
        (PART1, "/type", json!(7), 2, false),
        (PART1, "/text", Value::Null, 2, false),
        // Without a creation time a message cannot be placed: reported, the rest imported.
        (MSG1, "/time/created", Value::Null, 2, true),
        (MSG1, "/time/created", json!("yesterday"), 2, true),
        (MSG1, "/time", json!(7), 2, true),
        // Found by the property tests: a time outside every timestamp range lost the session.
        (MSG1, "/time/created", json!(-8_334_601_228_800_001_i64), 2, true),
        (MSG1, "/time/created", json!(1e20), 2, true),
        (
            SESSION,
            "/time/created",
            json!(-8_334_601_228_800_001_i64),
            3,
            false,
        ),
        // Year 99999 is a valid epoch-millisecond time (and within PostgreSQL's range).
        (MSG1, "/time/created", json!(3_093_527_980_800_000_i64), 3, false),
        (MSG1, "/time/created", json!(1.5e12), 3, false),
        // The file is not a JSON object: the record is reported.
        (PART1, "", json!([1]), 2, true),
        (MSG2, "", json!("msg"), 2, true),
    ] {
        table.push((file, pointer, value, rows, reported));
    }
    table
}

/// A case whose first part file holds `body`, which is reported as malformed (its message then
/// has no content: two rows).
fn opencode_malformed_part(name: &'static str, body: &'static [u8]) -> Case {
    const PART1: &str = "storage/part/msg_1/prt_1.json";
    case(
        name,
        move |dir| write_opencode(dir, Some((PART1, body))),
        1,
        &[(PART1, None, "malformed")],
        2,
    )
}

/// A case with `bytes` as the `opencode.db` beside the JSON storage, which is still read.
fn opencode_unreadable_database(name: &'static str, bytes: Vec<u8>) -> Case {
    case(
        name,
        move |dir| {
            write_opencode(dir, None);
            write_file(&dir.join("opencode.db"), &bytes);
        },
        1,
        &[("opencode.db", None, "unreadable")],
        3,
    )
}

fn opencode_cases() -> Vec<Case> {
    const SESSION: &str = "storage/session/prj1/ses_1.json";
    const PART1: &str = "storage/part/msg_1/prt_1.json";
    let real_db = fs::read(fixture("opencode/database-and-storage/source/opencode.db")).unwrap();
    let mut cases = vec![
        case(
            "empty_session_file",
            |dir| write_opencode(dir, Some((SESSION, b""))),
            1,
            &[(SESSION, None, "malformed")],
            0,
        ),
        opencode_malformed_part("whitespace_part_file", b" \n\t"),
        opencode_malformed_part("torn_part_file", b"{\"id\":\"prt_1\",\"type\":\"te"),
        case(
            "invalid_utf8_in_text",
            |dir| write_opencode(dir, Some((PART1, b"{\"type\":\"text\",\"text\":\"caf\xff\"}"))),
            0,
            &[(PART1, None, "invalid_utf8")],
            3,
        ),
        opencode_malformed_part("raw_nul_byte", b"{\"type\":\"text\",\"text\":\"a\0b\"}"),
        case(
            "escaped_nul_in_content_and_directory",
            |dir| {
                write_opencode(dir, Some((PART1, br#"{"type":"text","text":"a\u0000b"}"#)));
                let session = set(
                    opencode_files()[1].1.clone(),
                    "/directory",
                    json!("/home/p\u{0}q"),
                );
                write_file(&dir.join(SESSION), session.to_string());
            },
            0,
            &[],
            3,
        ),
        opencode_malformed_part("glued_objects", br#"{"type":"text","text":"a"}{"type":"text"}"#),
        case(
            "nested_10000_deep",
            |dir| {
                let body = format!("{{\"type\":\"text\",\"text\":\"a\",\"x\":{}}}", deep_json(10_000));
                write_opencode(dir, Some((PART1, body.as_bytes())));
            },
            1,
            &[(PART1, None, "malformed")],
            2,
        ),
        case(
            "unknown_part_type",
            |dir| write_opencode(dir, Some((PART1, br#"{"type":"hologram","text":"a"}"#))),
            0,
            &[],
            2,
        ),
        case(
            "directory_named_like_a_part",
            |dir| {
                write_opencode(dir, None);
                fs::create_dir_all(dir.join("storage/part/msg_1/prt_0.json")).unwrap();
            },
            0,
            &[],
            3,
        ),
        case(
            "symlink_loop",
            |dir| {
                write_opencode(dir, None);
                symlink_loop(&dir.join("storage/part/msg_1/prt_0.json"));
            },
            1,
            &[("storage/part/msg_1/prt_0.json", None, "unreadable")],
            3,
        ),
        opencode_unreadable_database(
            "not_sqlite_database",
            b"this is not a database, just text".to_vec(),
        ),
        opencode_unreadable_database("empty_database", Vec::new()),
        opencode_unreadable_database("truncated_database", real_db[..real_db.len() / 3].to_vec()),
    ];
    for (index, (file, pointer, value, rows, reported)) in opencode_wrong_types().into_iter().enumerate() {
        let name: &'static str = format!("wrong_type_{index}").leak();
        let body = opencode_files()
            .into_iter()
            .find(|(name, _)| *name == file)
            .map(|(_, body)| body)
            .unwrap();
        let body = if pointer.is_empty() {
            value.clone()
        } else {
            set(body, pointer, value.clone())
        };
        let bytes = body.to_string().into_bytes();
        let diagnostics: &[(&str, Option<u64>, &'static str)] = if reported {
            &[(file, None, "malformed")]
        } else {
            &[]
        };
        cases.push(case(
            name,
            move |dir| write_opencode(dir, Some((file, &bytes))),
            i32::from(reported),
            diagnostics,
            rows,
        ));
        eprintln!("opencode {name}: {file} {pointer} = {value} -> {rows} rows, reported {reported}");
    }
    cases
}

#[tokio::test]
async fn opencode_bad_inputs() {
    run_table("opencode", opencode_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Gemini CLI

const GEMINI_SID: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
const GEMINI_FILE: &str = "tmp/proj/chats/session-2025-09-01T10-00-5973b6c0.jsonl";
const GEMINI_DOCUMENT: &str = "tmp/proj/chats/session-2025-09-01T10-00-5973b6c0.json";

const GEMINI: Transcript = Transcript {
    file: gemini_file,
    around: gemini_around,
};

fn gemini_meta() -> Value {
    json!({"sessionId":GEMINI_SID,"projectHash":"0","startTime":TS,"lastUpdated":TS,"kind":"main",
        "summary":"s","directories":[CWD]})
}

fn gemini_user(id: &str, text: &str) -> Value {
    json!({"id":id,"timestamp":TS,"type":"user","content":[{"text":text}]})
}

fn gemini_answer(id: &str, text: &str) -> Value {
    json!({"id":id,"timestamp":TS,"type":"gemini","content":text,"model":"gemini-3-flash-preview",
        "thoughts":[{"subject":"s","description":"d","timestamp":TS}],"tokens":{"input":1,"output":1,"total":2}})
}

/// The templates a mutation starts from: one record of every kind the parser reads.
fn gemini_template(name: &str) -> Value {
    match name {
        "meta" => gemini_meta(),
        "user" => gemini_user("u2", "two"),
        "answer" => gemini_answer("g2", "two"),
        "call" => json!({"id":"g2","timestamp":TS,"type":"gemini","content":"","toolCalls":[
            {"id":"c1","name":"run_shell_command","args":{"command":"ls"},"status":"success","timestamp":TS}]}),
        "set" => json!({"$set":{"messages":[gemini_user("u2", "two")],"summary":"s"}}),
        other => panic!("no template {other}"),
    }
}

/// Field mutations of every field the Gemini parser reads: a field of an unexpected type is read
/// as absent, as Gemini CLI's own reader reads it (a record is a message only with a string
/// `id`, metadata only with a string `sessionId` and `projectHash`); only a message left
/// without a time to date it by is malformed.
fn gemini_wrong_types() -> Vec<(&'static str, &'static str, Value, Fate)> {
    let mut table = Vec::new();
    for pointer in [
        "/sessionId",
        "/projectHash",
        "/startTime",
        "/kind",
        "/summary",
        "/directories",
        "/directories/0",
    ] {
        table.push(("meta", pointer, json!(7), Fate::Kept));
        table.push(("meta", pointer, json!([["x"]]), Fate::Kept));
    }
    for (template, pointer) in [
        ("user", "/displayContent"),
        ("answer", "/model"),
        ("answer", "/thoughts"),
        ("answer", "/thoughts/0"),
        ("answer", "/thoughts/0/description"),
        ("answer", "/toolCalls"),
        ("answer", "/tokens"),
        ("answer", "/content"),
        ("call", "/toolCalls/0/id"),
        ("call", "/toolCalls/0/name"),
        ("call", "/toolCalls/0/result"),
        ("call", "/toolCalls/0/timestamp"),
        ("set", "/$set/summary"),
    ] {
        for value in [json!(7), json!({"a":1}), Value::Null] {
            table.push((template, pointer, value, Fate::Kept));
        }
    }
    for (template, pointer, value, fate) in [
        ("user", "/content", json!("two"), Fate::Kept),
        ("user", "/content", json!({"text":"two"}), Fate::Kept),
        ("user", "/content", json!(7), Fate::Ignored),
        ("user", "/content/0/text", json!({"t":1}), Fate::Ignored),
        ("user", "/content/0", json!(["two"]), Fate::Ignored),
        ("user", "/type", json!(7), Fate::Ignored),
        ("user", "/type", json!("brand_new_kind"), Fate::Ignored),
        ("user", "/id", json!(7), Fate::Ignored),
        ("user", "/id", json!(""), Fate::Ignored),
        ("user", "/timestamp", json!(7), Fate::Malformed),
        ("user", "/timestamp", json!("yesterday"), Fate::Malformed),
        (
            "user",
            "/timestamp",
            json!("99999-01-01T00:00:00Z"),
            Fate::Malformed,
        ),
        ("call", "/toolCalls/0/args", json!("ls"), Fate::Kept),
        ("call", "/toolCalls/0", json!(7), Fate::Ignored),
        ("set", "/$set", json!(7), Fate::Ignored),
        ("set", "/$set", json!([gemini_user("u2", "two")]), Fate::Ignored),
        ("set", "/$set/messages", json!(7), Fate::Ignored),
        ("set", "/$set/messages/0", json!(7), Fate::Ignored),
    ] {
        table.push((template, pointer, value, fate));
    }
    table
}

/// An answer whose one call returned `response`.
fn gemini_response_with(response: &str) -> Value {
    json!({"id":"g2","timestamp":TS,"type":"gemini","content":"","toolCalls":[{"id":"c1","name":"read_file",
        "args":{},"status":"success","timestamp":TS,
        "result":[{"functionResponse":{"id":"c1","name":"read_file","response":response}}]}]})
}

fn gemini_file(dir: &Path) -> PathBuf {
    dir.join(GEMINI_FILE)
}

/// A log of its metadata line, `middle` (line 2), and two answers.
fn gemini_around(middle: Vec<u8>) -> Vec<u8> {
    framed(&[gemini_meta()], middle, &gemini_answers())
}

/// The two answers that end a test log.
fn gemini_answers() -> [Value; 2] {
    [gemini_answer("g3", "three"), gemini_answer("g4", "four")]
}

fn gemini_cases() -> Vec<Case> {
    let document = |dir: &Path, bytes: &[u8]| write_file(&dir.join(GEMINI_DOCUMENT), bytes);
    let a_document = |messages: Value| json!({"sessionId":GEMINI_SID,"projectHash":"0","startTime":TS,"lastUpdated":TS,"messages":messages});
    let mut cases = vec![
        GEMINI.blank_case("empty", ""),
        GEMINI.blank_case("whitespace", "\n \n\t"),
        GEMINI.torn_case(
            &[gemini_meta(), gemini_user("u1", "one")],
            gemini_answer("g1", "two"),
            30,
            1,
        ),
        GEMINI.invalid_utf8_case(gemini_user("u2", "caf#")),
        GEMINI.middle_case("invalid_utf8_outside_strings", Fate::Malformed, b"{\"id\":\xff}"),
        GEMINI.middle_case("raw_nul_byte", Fate::Malformed, b"{\"id\":\0\"x\"}"),
        case(
            "escaped_nul_in_content_ids_and_session",
            |dir| {
                let mut meta = gemini_meta();
                meta["sessionId"] = json!("s\u{0}1");
                let mut message = gemini_user("m\u{0}1", "a\u{0}b");
                message["displayContent"] = json!("typed\u{0}");
                GEMINI.write(dir, lines(&[meta, message]));
            },
            0,
            &[],
            1,
        ),
        GEMINI.middle_case(
            "glued_records",
            Fate::Malformed,
            format!("{}{}", gemini_user("a", "a"), gemini_user("b", "b")),
        ),
        GEMINI.middle_case("record_not_an_object", Fate::Malformed, b"\"just a string\""),
        // An array would otherwise decode as a record by position: `["x"]` a rewind to `x`.
        GEMINI.middle_case("record_is_an_array", Fate::Malformed, b"[\"g3\"]"),
        // A part that is no string or object holds no text: skipped without recursion, any depth.
        GEMINI.middle_case(
            "content_nested_10000_deep",
            Fate::Ignored,
            gemini_user("u2", "x")
                .to_string()
                .replace("\"x\"", &deep_json(10_000)),
        ),
        // A tool's response is read as a JSON value, which stops at serde_json's depth limit.
        GEMINI.middle_case(
            "tool_response_nested_10000_deep",
            Fate::Malformed,
            gemini_response_with("DEEP")
                .to_string()
                .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        GEMINI.middle_case(
            "unknown_record_kinds",
            Fate::Ignored,
            json!({"$newOperation":{"id":"g3"},"type":"user"}).to_string(),
        ),
        // Not a rewind: Gemini CLI takes `$rewindTo` only as a string.
        GEMINI.middle_case(
            "rewind_to_a_number",
            Fate::Ignored,
            json!({"$rewindTo":7}).to_string(),
        ),
        case(
            "a_rewind_to_an_unknown_id_drops_every_message_before_it",
            |dir| {
                GEMINI.write(
                    dir,
                    lines(&[
                        gemini_meta(),
                        gemini_user("u1", "one"),
                        gemini_answer("g1", "two"),
                        json!({"$rewindTo":"nobody"}),
                        gemini_user("u2", "three"),
                    ]),
                )
            },
            0,
            &[],
            1,
        ),
        case(
            "a_broken_registry_and_marker_leave_the_cwd_unresolved",
            |dir| {
                write_file(&dir.join("projects.json"), "{\"projects\":");
                fs::create_dir_all(dir.join("tmp/proj/.project_root")).unwrap();
                GEMINI.write(dir, lines(&[gemini_meta(), gemini_user("u1", "one")]));
            },
            0,
            &[],
            1,
        ),
        GEMINI.directory_case(
            "directory_named_like_a_chat",
            "tmp/proj/chats/session-x.jsonl",
            &[gemini_meta(), gemini_user("u1", "one")],
        ),
        GEMINI.symlink_loop_case(
            "tmp/proj/chats/session-loop.jsonl",
            &[gemini_meta(), gemini_user("u1", "one")],
        ),
        case(
            "partial_writes_are_never_read",
            |dir| {
                write_file(
                    &dir.join(format!("{GEMINI_FILE}.tmp-42")),
                    lines(&[gemini_meta(), gemini_user("u9", "nine")]),
                );
                GEMINI.write(dir, lines(&[gemini_meta(), gemini_user("u1", "one")]));
            },
            0,
            &[],
            1,
        ),
        malformed_document("document_empty", GEMINI_DOCUMENT, b"", 0),
        malformed_document("document_not_an_object", GEMINI_DOCUMENT, b"[{\"id\":\"u1\"}]", 0),
        malformed_document(
            "document_torn_mid_rewrite",
            GEMINI_DOCUMENT,
            &a_document(json!([gemini_user("u1", "one"), gemini_answer("g1", "two")]))
                .to_string()
                .as_bytes()[..120],
            0,
        ),
        // Gemini CLI skips a list entry that is no message: so does memtree, quietly.
        case(
            "document_entry_not_a_message_keeps_the_rest",
            move |dir| {
                let whole = a_document(
                    json!([gemini_user("u1", "one"), 7, {"text":"x"}, gemini_answer("g1", "two")]),
                );
                document(dir, whole.to_string().as_bytes())
            },
            0,
            &[],
            2,
        ),
        case(
            "document_messages_not_a_list",
            move |dir| document(dir, a_document(json!({"u1":1})).to_string().as_bytes()),
            0,
            &[],
            0,
        ),
        malformed_document(
            "document_nested_10000_deep",
            GEMINI_DOCUMENT,
            a_document(json!([gemini_user("u1", "one"), gemini_response_with("DEEP")]))
                .to_string()
                .replace("\"DEEP\"", &deep_json(10_000)),
            0,
        ),
    ];
    cases.extend(wrong_type_cases(
        "gemini",
        gemini_wrong_types(),
        gemini_template,
        |name, template, mutated, fate| {
            let [three, four] = gemini_answers();
            let after_meta = [gemini_user("u2", "two"), three, four];
            GEMINI.meta_or_middle_case(name, template, mutated, fate, &after_meta)
        },
    ));
    cases
}

#[tokio::test]
async fn gemini_bad_inputs() {
    run_table("gemini", gemini_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Hostile paths and cwds

/// Names that break naive quoting, ltree labels, LIKE patterns, lines and UTF-8.
const HOSTILE: [&[u8]; 9] = [
    b"with space",
    b"quote'\"back`",
    b"new\nline",
    b"'; drop table memory; --",
    b"a.b",
    b"*",
    b"%",
    b"caf\xc3\xa9 \xff\xfe",
    b"tab\tand\\slash",
];

/// A name made of `bytes` (not always UTF-8).
fn os_name(bytes: &[u8]) -> &OsStr {
    OsStr::from_bytes(bytes)
}

/// The cwd recorded for hostile case `index`: the name as text (JSON needs UTF-8).
fn hostile_cwd(index: usize) -> String {
    format!("/home/dev/{}", String::from_utf8_lossy(HOSTILE[index]))
}

/// The prompt of hostile case `index`, with a NUL (stored as U+FFFD) and the name itself.
fn hostile_prompt(index: usize) -> String {
    format!(
        "prompt {index}: {} nul\u{0}here",
        String::from_utf8_lossy(HOSTILE[index])
    )
}

/// Checks an import of one session per hostile name: nothing reported, every row stored with the
/// exact text (NUL as U+FFFD) and cwd, trees made of clean labels, one project per cwd.
async fn check_hostile_import(db: &common::TestDb, outcome: &Outcome, session_ids: &[String]) {
    assert_eq!(outcome.code, 0, "{}\n{}", outcome.stderr, outcome.report);
    assert_eq!(outcome.report["diagnostics"], json!([]));
    assert_eq!(outcome.rows, Some(2 * HOSTILE.len() as i64), "{}", outcome.report);
    let client = db.client().await;
    let mut trees = std::collections::BTreeSet::new();
    for (index, session_id) in session_ids.iter().enumerate() {
        let rows = client
            .query(
                "select content, meta->>'source_cwd', tree::text from memory \
                 where meta->>'source_session_id' = $1 and meta->>'source_message_role' = 'user'",
                &[session_id],
            )
            .await
            .unwrap();
        assert_eq!(rows.len(), 1, "session {session_id}");
        let content: String = rows[0].get(0);
        let cwd: String = rows[0].get(1);
        let tree: String = rows[0].get(2);
        assert_eq!(content, hostile_prompt(index).replace('\0', "\u{fffd}"));
        assert_eq!(cwd, hostile_cwd(index));
        let labels: Vec<&str> = tree.split('.').collect();
        assert!(
            labels.len() == 3
                && labels[0] == "case_hostile"
                && labels[2] == "agent_sessions"
                && !labels[1].is_empty()
                && labels[1]
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "tree {tree:?} for cwd {cwd:?}"
        );
        trees.insert(tree);
    }
    assert_eq!(trees.len(), HOSTILE.len(), "one project per cwd: {trees:?}");
}

/// Writes one session per hostile name (`write_session(root, index, name)` writes session `index`
/// and returns its id) under a root directory named `root_name`, imports the root, and checks the
/// import with [`check_hostile_import`].
async fn import_hostile_sessions(
    tool: &str,
    root_name: &[u8],
    write_session: impl Fn(&Path, usize, &[u8]) -> String,
) {
    let db = common::test_db().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(os_name(root_name));
    let session_ids: Vec<String> = HOSTILE
        .iter()
        .enumerate()
        .map(|(index, name)| write_session(&root, index, name))
        .collect();
    let outcome = import(&db, tool, &root, "case_hostile").await;
    check_hostile_import(&db, &outcome, &session_ids).await;
}

#[tokio::test]
async fn claude_hostile_paths_and_cwds() {
    import_hostile_sessions("claude", b"root 'x\xff", |root, index, name| {
        let session_id = format!("{index:08}-1111-4222-8333-444444444444");
        let mut prompt = claude_user("u1", &hostile_prompt(index));
        prompt["sessionId"] = json!(session_id);
        prompt["cwd"] = json!(hostile_cwd(index));
        let mut answer = claude_assistant("a1", "answer");
        answer["sessionId"] = json!(session_id);
        // The project directory and the file are both named by the hostile name.
        let file = root
            .join(os_name(name))
            .join(os_name(&[name, b".jsonl"].concat()));
        write_file(&file, lines(&[prompt, answer]));
        session_id
    })
    .await;
}

#[tokio::test]
async fn codex_hostile_paths_and_cwds() {
    import_hostile_sessions("codex", b"root 'x\xff", |root, index, name| {
        let session_id = format!("{index:08}-1111-4222-8333-444444444444");
        let mut meta = codex_meta();
        meta["payload"]["id"] = json!(session_id);
        meta["payload"]["cwd"] = json!(hostile_cwd(index));
        meta["payload"]["git"] = Value::Null;
        let file = root
            .join(os_name(name))
            .join(format!("rollout-2025-09-01T10-00-00-{session_id}.jsonl"));
        write_file(
            &file,
            lines(&[
                meta,
                codex_message("user", &hostile_prompt(index)),
                codex_message("assistant", "a"),
            ]),
        );
        session_id
    })
    .await;
}

#[tokio::test]
async fn opencode_hostile_paths_and_cwds() {
    import_hostile_sessions("opencode", b"root 'x\xff; %*.b", |root, index, _| {
        let session_id = format!("ses_{index}");
        let storage = root.join("storage");
        let session = json!({"id":session_id,"directory":hostile_cwd(index),"time":{"created":OPENCODE_MS}});
        write_file(
            &storage.join(format!("session/prj/{session_id}.json")),
            session.to_string(),
        );
        for (n, (role, text)) in [("user", hostile_prompt(index)), ("assistant", "a".to_owned())]
            .into_iter()
            .enumerate()
        {
            let message_id = format!("msg_{index}_{n}");
            let message = json!({"role":role,"time":{"created":OPENCODE_MS + n as i64}});
            write_file(
                &storage.join(format!("message/{session_id}/{message_id}.json")),
                message.to_string(),
            );
            write_file(
                &storage.join(format!("part/{message_id}/prt_1.json")),
                json!({"type":"text","text":text}).to_string(),
            );
        }
        session_id
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// A file without read permission

/// Root reads every file regardless of its mode, so as root the imports run as `nobody`. They
/// are dry runs: `nobody` cannot reach the test server's socket, and the planned rows are what a
/// real import would write.
#[test]
fn an_unreadable_file_is_reported_and_the_rest_imported() {
    type Writer = fn(&Path);
    let cases: [(&str, Writer, &str, u64); 3] = [
        (
            "claude",
            |dir| {
                write_file(
                    &claude_file(dir),
                    lines(&[claude_user("u1", "one"), claude_assistant("a1", "two")]),
                );
                write_file(
                    &dir.join("proj/locked.jsonl"),
                    lines(&[claude_user("u9", "secret")]),
                );
            },
            "proj/locked.jsonl",
            2,
        ),
        (
            "codex",
            |dir| {
                write_file(
                    &codex_file(dir),
                    lines(&[codex_meta(), codex_message("user", "one")]),
                );
                write_file(
                    &dir.join(CODEX_FILE.replace("5973", "6973")),
                    lines(&[codex_meta()]),
                );
            },
            "rollout-2025-09-01T10-00-00-6973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl",
            1,
        ),
        (
            "opencode",
            |dir| write_opencode(dir, None),
            "storage/part/msg_1/prt_1.json",
            2,
        ),
    ];
    // SAFETY: reading our own effective uid has no preconditions.
    let as_nobody = unsafe { libc::geteuid() } == 0;
    // SAFETY: getpwnam with a NUL-terminated literal; the result is only tested for null.
    if as_nobody && unsafe { libc::getpwnam(c"nobody".as_ptr()) }.is_null() {
        println!("NOTE: skipped: running as root and there is no `nobody` user to lose the permission");
        return;
    }
    for (tool, write, locked, planned) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let source = dir.path().join("src");
        write(&source);
        fs::set_permissions(source.join(locked), fs::Permissions::from_mode(0o000)).unwrap();
        let home = dir.path().join("home");
        fs::create_dir_all(&home).unwrap();
        let mut command = memtree_command(&home);
        command
            .args(import_args(tool, &source, "case_locked"))
            .arg("--dry-run");
        if as_nobody {
            command.uid(65534).gid(65534);
        }
        let outcome = finish(Run::of_command(&mut command), None);
        assert_eq!(outcome.code, 1, "{tool}: {}\n{}", outcome.stderr, outcome.report);
        assert_eq!(
            outcome.diagnostics(&source),
            [(locked.to_owned(), None, "unreadable".to_owned())],
            "{tool}"
        );
        assert_eq!(
            outcome.report["messages"]["planned"], planned,
            "{tool}: {}",
            outcome.report
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One 64 MB line: bounded memory

const HUGE: usize = 64 << 20;
/// The whole process may use this much: the 8 MB stored prefix a few times over (the line is
/// reduced to about that before it is decoded) and the runtime. One whole copy of the line
/// barely fits, two do not.
const PEAK_RSS_LIMIT_KB: i64 = 100 << 10;

/// `record` with its `"HUGE"` string replaced by 64 MB of base64-looking text, as bytes (spliced
/// in, so the test itself stays quick and small).
fn with_huge_string(record: Value, prefix: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"QUJDRGVmZ2hpams0NTY3ODkrLw";
    let text = record.to_string();
    let at = text.find("\"HUGE\"").expect("a HUGE placeholder") + 1;
    let mut bytes = Vec::with_capacity(text.len() + HUGE);
    bytes.extend_from_slice(&text.as_bytes()[..at]);
    bytes.extend_from_slice(prefix.as_bytes());
    bytes.extend(ALPHABET.iter().copied().cycle().take(HUGE));
    bytes.extend_from_slice(&text.as_bytes()[at + "HUGE".len()..]);
    bytes
}

/// Runs the import and returns its exit code, its peak resident set in KiB (`VmHWM`, polled
/// until it exits: `wait4`'s `ru_maxrss` would also count the test process, whose memory the
/// child shares until it executes), and its report.
fn import_measuring_peak(db_url: &str, tool: &str, source: &Path, home: &Path) -> (i32, i64, String) {
    let mut child = memtree_command(home)
        .args(import_args(tool, source, "case_huge"))
        .args(["--database-url", db_url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run memtree");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0;
    let status = loop {
        let high_water = fs::read_to_string(&status_file)
            .unwrap_or_default()
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<i64>().ok());
        peak_kb = peak_kb.max(high_water.unwrap_or(0));
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let report = reader.join().unwrap().unwrap();
    (status.code().unwrap_or(-1), peak_kb, report)
}

#[tokio::test]
async fn a_64_mb_line_is_read_in_bounded_memory() {
    type Writer = fn(&Path);
    let cases: [(&str, &str, Writer); 10] = [
        ("claude", "base64 image", |dir| {
            let mut line = claude_assistant("a2", "look");
            line["message"]["content"][1] =
                json!({"type":"image","source":{"type":"base64","media_type":"image/png","data":"HUGE"}});
            CLAUDE.write_around(dir, with_huge_string(line, ""));
        }),
        ("claude", "tool_result text", |dir| {
            let line = set(
                claude_tool_result("r2"),
                "/message/content/0/content",
                json!("HUGE"),
            );
            CLAUDE.write_around(dir, with_huge_string(line, ""));
        }),
        ("codex", "base64 image", |dir| {
            let line = codex_wrap(
                "response_item",
                json!({"type":"message","role":"user","content":[{"type":"input_text","text":"look"},
                    {"type":"input_image","image_url":"HUGE"}]}),
            );
            let bytes = with_huge_string(line, "data:image/png;base64,");
            CODEX.write_around(dir, bytes);
        }),
        ("codex", "tool output text", |dir| {
            let line = set(codex_template("output"), "/payload/output", json!("HUGE"));
            CODEX.write_around(dir, with_huge_string(line, ""));
        }),
        ("gemini", "tool output text", |dir| {
            // The call and its result are two rows: the answer after it is left out.
            let mut bytes = lines(&[gemini_meta()]);
            bytes.extend(with_huge_string(gemini_response_with("HUGE"), ""));
            bytes.push(b'\n');
            bytes.extend(lines(&[
                json!({"$set":{"lastUpdated":TS}}),
                gemini_answer("g3", "three"),
            ]));
            GEMINI.write(dir, bytes);
        }),
        ("gemini", "prompt in a $set of messages", |dir| {
            let set = json!({"$set":{"messages":[gemini_user("u2", "HUGE")]}});
            GEMINI.write_around(dir, with_huge_string(set, ""));
        }),
        ("opencode", "tool output text", |dir| {
            let part = json!({"type":"tool","tool":"bash","state":{"input":{},"output":"HUGE"}});
            write_opencode(
                dir,
                Some(("storage/part/msg_2/prt_2.json", &with_huge_string(part, ""))),
            );
        }),
        ("cursor", "tool input text", |dir| {
            let line = set(
                cursor_assistant("two"),
                "/message/content/1/input/command",
                json!("HUGE"),
            );
            CURSOR.write_around(dir, with_huge_string(line, ""));
        }),
        ("copilot", "tool result text", |dir| {
            let line = set(copilot_template("result"), "/data/result/content", json!("HUGE"));
            COPILOT.write_around(dir, with_huge_string(line, ""));
        }),
        ("qwen", "tool response output", |dir| {
            let line = set(
                qwen_template("result"),
                "/message/parts/0/functionResponse/response/output",
                json!("HUGE"),
            );
            QWEN.write_around(dir, with_huge_string(line, ""));
        }),
    ];
    // The imports run side by side (each measured on its own), each into its own database.
    let mut runs = Vec::new();
    for (tool, what, write) in cases {
        let db = common::test_db().await;
        let url = db.url();
        let run = std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path());
            let started = std::time::Instant::now();
            let measured = import_measuring_peak(&url, tool, dir.path(), dir.path());
            (measured, started.elapsed())
        });
        runs.push((tool, what, db, run));
    }
    let mut failures = Vec::new();
    for (tool, what, db, run) in runs {
        let ((code, peak_kb, report), took) = run.join().unwrap();
        let rows = count_rows(&db, "case_huge").await;
        println!(
            "{tool} {what}: exit {code}, {rows} rows, peak RSS {} MB, {took:?}",
            peak_kb >> 10
        );
        if code != 0 || rows != 3 || peak_kb > PEAK_RSS_LIMIT_KB {
            failures.push(format!(
                "{tool} {what}: exit {code}, {rows} rows (want 3), peak {} MB\n{report}",
                peak_kb >> 10
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Every source's fixture files, damaged
//
// No per-tool code: for every source in SOURCES, every file its discovery lists in its clean
// fixture cases (and every file in a store it lists as a directory) is damaged in a copy of its
// case, in each way of `Damage`, and the copy imported. Whatever the format, the import neither
// crashes nor goes quiet: it exits 0 or 1, prints its JSON report, names only files it was
// given, exits 1 exactly when it reports lost input, and still stores the rows of the case's
// other files.

/// One way of damaging a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Damage {
    /// Cut in the middle of a line near the middle of the file.
    CutMidLine,
    /// A line of binary garbage (a NUL, control bytes, invalid UTF-8) appended.
    GarbageLine,
    Emptied,
    /// Replaced by an empty directory of the same name.
    Directory,
    /// Mode 000. Not as root, who reads any file whatever its mode.
    Unreadable,
}

const DAMAGES: [Damage; 5] = [
    Damage::CutMidLine,
    Damage::GarbageLine,
    Damage::Emptied,
    Damage::Directory,
    Damage::Unreadable,
];

const GARBAGE_LINE: &[u8] = b"\x00\x01\xff\xfe garbage \xc3\x28 {\"\x80\xbf\n";

fn running_as_root() -> bool {
    // SAFETY: reading our own effective uid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Where to cut `bytes` inside a line: the middle of the line around the middle of the file,
/// `None` when that line is too short to be cut inside.
fn mid_line_cut(bytes: &[u8]) -> Option<usize> {
    let middle = bytes.len() / 2;
    let start = bytes[..middle]
        .iter()
        .rposition(|byte| *byte == b'\n')
        .map_or(0, |at| at + 1);
    let end = bytes[middle..]
        .iter()
        .position(|byte| *byte == b'\n')
        .map_or(bytes.len(), |at| middle + at);
    let cut = start + (end - start) / 2;
    (cut > start).then_some(cut)
}

/// Whether `bytes` are text (UTF-8 without NUL): a format read as text cannot take a line of
/// garbage without losing it.
fn is_text(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok_and(|text| !text.contains('\0'))
}

impl Damage {
    /// Damages `file`, which held `original`; `false` when this damage cannot be done to it.
    fn apply(self, file: &Path, original: &[u8]) -> bool {
        match self {
            Damage::CutMidLine => {
                let Some(cut) = mid_line_cut(original) else {
                    return false;
                };
                fs::write(file, &original[..cut]).unwrap();
            }
            Damage::GarbageLine => {
                let mut bytes = original.to_vec();
                if !bytes.is_empty() && !bytes.ends_with(b"\n") {
                    bytes.push(b'\n');
                }
                bytes.extend_from_slice(GARBAGE_LINE);
                fs::write(file, bytes).unwrap();
            }
            Damage::Emptied => {
                if original.is_empty() {
                    return false;
                }
                fs::write(file, b"").unwrap();
            }
            Damage::Directory => {
                fs::remove_file(file).unwrap();
                fs::create_dir(file).unwrap();
            }
            Damage::Unreadable => {
                if running_as_root() {
                    return false;
                }
                fs::set_permissions(file, fs::Permissions::from_mode(0o000)).unwrap();
            }
        }
        true
    }

    /// Whether this damage to a file discovery lists, which held `original`, loses input the
    /// import must report (and so exit 1): a file it cannot open, or a line of garbage in text.
    /// (A file inside a store may be one the store does not read, such as a session also held by
    /// its database, or a temporary file: damaging it may lose nothing.)
    fn must_be_reported(self, original: &[u8]) -> bool {
        match self {
            Damage::Unreadable => true,
            Damage::GarbageLine => is_text(original),
            Damage::CutMidLine | Damage::Emptied | Damage::Directory => false,
        }
    }
}

/// A file of a fixture case to damage.
struct Listed {
    /// Relative to the case's `source/`.
    path: PathBuf,
    /// Discovery lists the file itself, rather than a store directory holding it.
    by_discovery: bool,
}

/// Every file discovery lists under `dir`, and every file in a directory it lists, sorted.
fn listed_files(source: &dyn Source, dir: &Path) -> Vec<Listed> {
    let discovery = source.discover(&[dir.to_path_buf()], None);
    let mut files: Vec<Listed> = discovery
        .candidates
        .iter()
        .flat_map(|candidate| walkdir::WalkDir::new(&candidate.path).sort_by_file_name())
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| Listed {
            path: entry.path().strip_prefix(dir).unwrap().to_path_buf(),
            by_discovery: entry.depth() == 0,
        })
        .collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    files.dedup_by(|a, b| a.path == b.path);
    files
}

/// What one import of a copy of a case did, and the rows it left: `(id, source file)`.
struct Imported {
    run: Run,
    rows: Vec<(String, String)>,
}

/// Empties `db`, imports `copy` with every session and text taken, and reads back the rows.
async fn import_copy(db: &common::TestDb, tool: &str, copy: &Path, home: &Path) -> Imported {
    let client = db.client().await;
    client
        .batch_execute(
            "do $$ begin if to_regclass('memory') is not null then \
             truncate memory, memtree_projects, memtree_ledger, memtree_ledger_sessions; end if; end $$",
        )
        .await
        .unwrap();
    let run = Run::of_command(
        memtree_command(home)
            .args([
                tool,
                "import",
                "--json",
                "--full-transcript",
                "--include-trivial",
                "--include-temp-cwd",
                "--include-sidechains",
                "--database-url",
                &db.url(),
                "--source",
            ])
            .arg(copy),
    );
    let exists: bool = common::query_value(&client, "select to_regclass('memory') is not null", &[]).await;
    let rows = if exists {
        let sql = "select id::text, meta->>'source_file' from memory order by 1";
        common::query_rows(&client, sql, |row| (row.get(0), row.get(1))).await
    } else {
        Vec::new()
    };
    Imported { run, rows }
}

/// The problems of one import of a copy of a case (`copy`, its `source/`) in which `damage` was
/// done to a file that held `original`; `kept` holds the ids the case's other files yield.
fn damaged_import_problems(
    damage: Damage,
    file: &Listed,
    original: &[u8],
    copy: &Path,
    imported: &Imported,
    kept: &BTreeSet<&str>,
) -> Vec<String> {
    let run = &imported.run;
    let mut problems = Vec::new();
    if !matches!(run.code, 0 | 1) {
        problems.push(format!("exit {} ({:?}), not 0 or 1", run.code, run.status));
    }
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or(Value::Null);
    let Some(diagnostics) = report["diagnostics"].as_array() else {
        problems.push(format!("no JSON report on stdout: {:?}", run.stdout));
        return problems;
    };
    for diagnostic in diagnostics {
        let named = diagnostic["file"].as_str().unwrap_or_default();
        if !Path::new(named).starts_with(copy) {
            problems.push(format!(
                "a diagnostic names a file outside the source: {diagnostic}"
            ));
        }
    }
    let lost = diagnostics
        .iter()
        .any(|diagnostic| matches!(diagnostic["kind"].as_str(), Some("malformed" | "unreadable")));
    if lost != (run.code == 1) {
        problems.push(format!(
            "exit {} but {}: {diagnostics:?}",
            run.code,
            if lost {
                "lost input reported"
            } else {
                "no lost input reported"
            },
        ));
    }
    if file.by_discovery && damage.must_be_reported(original) && !lost {
        problems.push("the lost input is not reported".to_owned());
    }
    let torn = report["files"]["pending_torn_lines"].as_u64().unwrap_or(0);
    if file.by_discovery && damage == Damage::CutMidLine && !lost && torn == 0 {
        problems.push("the cut line is neither reported nor left for the next run".to_owned());
    }
    let stored: BTreeSet<&str> = imported.rows.iter().map(|(id, _)| id.as_str()).collect();
    let missing: Vec<&&str> = kept.difference(&stored).collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{} of the {} rows of the other files are not stored: {missing:?}",
            missing.len(),
            kept.len()
        ));
    }
    problems
}

/// What damaging one source's files came to.
struct Damaged {
    tool: &'static str,
    /// Imports of damaged copies.
    runs: usize,
    /// Imports of damaged copies that exited 1.
    exits_1: usize,
    /// Rows of undamaged files looked for in the imports of damaged copies.
    rows_checked: usize,
    /// One line per problem.
    problems: Vec<String>,
}

/// Damages every listed file of every clean case of `source` in every way.
fn damage_every_listed_file(source: &'static dyn Source) -> Damaged {
    let tool = source.name();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(common::test_db());
    let mut damaged = Damaged {
        tool,
        runs: 0,
        exits_1: 0,
        rows_checked: 0,
        problems: Vec::new(),
    };
    for case in common::clean_cases(tool) {
        let case_name = case.file_name().unwrap().to_string_lossy().into_owned();
        let fixture_source = case.join("source");
        let files = listed_files(source, &fixture_source);
        let fresh_copy = || {
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("src");
            common::copy_tree(&fixture_source, &copy);
            (dir, copy)
        };
        // The ids the whole case stores. A source that keeps one session in several files
        // (Cursor) reads it from one of them: without its preferred file another copy stands in,
        // with other ids, but a damaged file that still reads is still preferred, and facts of
        // one file (a creation time) may date the rows of another. Only rows stored both with
        // and without the file are the other files' own.
        let whole: BTreeSet<String> = {
            let (dir, copy) = fresh_copy();
            let imported = runtime.block_on(import_copy(&db, tool, &copy, dir.path()));
            imported.rows.into_iter().map(|(id, _)| id).collect()
        };
        for file in &files {
            let original = fs::read(fixture_source.join(&file.path)).unwrap();
            // The ids of the case's other files: those an import of the case without this file
            // stores from them, as the whole case does. (Not every row of that import: without a
            // file, discovery may list another in its place, as a compressed copy of a plain
            // transcript.)
            let (dir, copy) = fresh_copy();
            fs::remove_file(copy.join(&file.path)).unwrap();
            let without = runtime.block_on(import_copy(&db, tool, &copy, dir.path()));
            if without.run.code != 0 {
                damaged.problems.push(format!(
                    "{tool}/{case_name} without {}: exit {}\n  {}",
                    file.path.display(),
                    without.run.code,
                    without.run.stderr.trim()
                ));
                continue;
            }
            let others: BTreeSet<PathBuf> = files
                .iter()
                .filter(|other| other.path != file.path)
                .map(|other| copy.join(&other.path))
                .collect();
            let kept: BTreeSet<&str> = without
                .rows
                .iter()
                .filter(|(_, source_file)| {
                    // A store's session is named `<store file>#session/<id>`.
                    let named = source_file
                        .split_once('#')
                        .map_or(source_file.as_str(), |(file, _)| file);
                    others.contains(Path::new(named))
                })
                .filter(|(id, _)| whole.contains(id))
                .map(|(id, _)| id.as_str())
                .collect();
            for damage in DAMAGES {
                let (dir, copy) = fresh_copy();
                if !damage.apply(&copy.join(&file.path), &original) {
                    continue;
                }
                let imported = runtime.block_on(import_copy(&db, tool, &copy, dir.path()));
                damaged.runs += 1;
                damaged.exits_1 += usize::from(imported.run.code == 1);
                damaged.rows_checked += kept.len();
                for problem in damaged_import_problems(damage, file, &original, &copy, &imported, &kept) {
                    damaged.problems.push(format!(
                        "{tool}/{case_name} {} {damage:?}: {problem}\n  stderr: {}",
                        file.path.display(),
                        imported.run.stderr.trim()
                    ));
                }
            }
        }
    }
    damaged
}

#[test]
fn every_file_of_every_source_damaged_in_every_way_still_imports_the_rest() {
    // The sources side by side, each with a database of its own.
    let results: Vec<Damaged> = std::thread::scope(|scope| {
        let running: Vec<_> = SOURCES
            .iter()
            .map(|source| {
                let source: &'static dyn Source = *source;
                scope.spawn(move || damage_every_listed_file(source))
            })
            .collect();
        running.into_iter().map(|handle| handle.join().unwrap()).collect()
    });
    let mut problems = Vec::new();
    let mut rows_checked = 0;
    for damaged in results {
        println!(
            "{}: {} damaged imports, {} exited 1, {} rows of undamaged files looked for, {} problems",
            damaged.tool,
            damaged.runs,
            damaged.exits_1,
            damaged.rows_checked,
            damaged.problems.len()
        );
        // In every format some damage loses input (a line of garbage in text, an unreadable
        // file): a source none of whose damaged imports exited 1 was not really damaged.
        if damaged.exits_1 == 0 {
            problems.push(format!(
                "{}: none of {} damaged imports exited 1",
                damaged.tool, damaged.runs
            ));
        }
        rows_checked += damaged.rows_checked;
        problems.extend(damaged.problems);
    }
    // Only cases of several files show the rest of a case still imported.
    assert!(rows_checked > 0, "no case had rows besides the damaged file's");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Cursor

const CURSOR_SID: &str = "7e1d2c3b-4a59-4687-9a1b-2c3d4e5f6a7b";
const CURSOR_STAMP: &str = "Monday, Sep 1, 2025, 12:00 PM (UTC+2)";

fn cursor_user(text: &str) -> Value {
    json!({"role":"user","message":{"content":[{"type":"text",
        "text":format!("<timestamp>{CURSOR_STAMP}</timestamp>\n<user_query>\n{text}\n</user_query>")}]}})
}

fn cursor_assistant(text: &str) -> Value {
    json!({"role":"assistant","message":{"content":[{"type":"text","text":text},
        {"type":"tool_use","name":"Shell","input":{"command":"ls /home/dev/proj"}}]}})
}

fn cursor_file(dir: &Path) -> PathBuf {
    dir.join(format!(
        ".cursor/projects/home-dev-proj/agent-transcripts/{CURSOR_SID}/{CURSOR_SID}.jsonl"
    ))
}

/// A three-line transcript whose middle line is `middle` (raw bytes).
fn cursor_around(middle: Vec<u8>) -> Vec<u8> {
    framed(
        &[cursor_user("first prompt")],
        middle,
        &[cursor_assistant("last answer")],
    )
}

const CURSOR: Transcript = Transcript {
    file: cursor_file,
    around: cursor_around,
};

/// Field mutations of every field the transcript reader takes. A record of another shape than
/// Cursor's is read as far as it goes: only a line that is not a JSON object is malformed.
fn cursor_wrong_types() -> Vec<(&'static str, &'static str, Value, Fate)> {
    let mut table = Vec::new();
    for pointer in ["/role", "/message", "/message/content"] {
        for value in [json!(7), json!([7]), json!({"a": 1}), Value::Null] {
            table.push(("user", pointer, value.clone(), Fate::Ignored));
            table.push(("assistant", pointer, value, Fate::Ignored));
        }
    }
    for (template, pointer, value, fate) in [
        // Plain strings are read as the text they are.
        ("user", "/message/content", json!("typed"), Fate::Kept),
        ("assistant", "/message/content", json!("said"), Fate::Kept),
        ("user", "/message/content", json!(["typed"]), Fate::Kept),
        ("assistant", "/message/content", json!(["said"]), Fate::Kept),
        ("user", "/role", json!("assistant"), Fate::Kept),
        ("user", "/message/content/0/type", json!(7), Fate::Ignored),
        ("user", "/message/content/0/text", json!(7), Fate::Ignored),
        ("user", "/message/content/0", json!("a string"), Fate::Kept),
        ("user", "/message/content/0", json!(7), Fate::Ignored),
        // The tool call still stands when the text is gone, and the text without the call.
        ("assistant", "/message/content/0/type", json!(7), Fate::Kept),
        ("assistant", "/message/content/0/text", json!(["x"]), Fate::Kept),
        ("assistant", "/message/content/1/name", json!(7), Fate::Kept),
        (
            "assistant",
            "/message/content/1/input",
            json!("a string"),
            Fate::Kept,
        ),
        ("assistant", "/message/content/1/input", json!([[1]]), Fate::Kept),
        ("assistant", "/message/content/1", json!(7), Fate::Kept),
        // A timestamp tag Cursor never writes: the message takes the turn's time before it.
        (
            "user",
            "/message/content/0/text",
            json!("<timestamp>Smarch 99</timestamp>\n<user_query>\nx\n</user_query>"),
            Fate::Kept,
        ),
    ] {
        table.push((template, pointer, value, fate));
    }
    table
}

/// A global `state.vscdb` holding one composer of three bubbles (a prompt, a tool call with its
/// result, an answer) and a credential row, with `composer` and `bubble` applied to the values.
fn write_cursor_database(
    dir: &Path,
    composer: impl Fn(Value) -> Option<Vec<u8>>,
    bubble: impl Fn(usize, Value) -> Option<Vec<u8>>,
) {
    let path = dir.join("globalStorage/state.vscdb");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
         CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
         INSERT INTO ItemTable VALUES ('cursorAuth/accessToken', 'eyJ.secret.token');",
    )
    .unwrap();
    let id = "c0c0c0c0-1111-4222-8333-444444444444";
    let bubbles = [
        json!({"_v":3,"type":1,"bubbleId":"b0","text":"first prompt","createdAt":TS}),
        json!({"_v":3,"type":2,"bubbleId":"b1","text":"running it","createdAt":TS,
            "thinking":{"text":"hmm"},"modelInfo":{"modelName":"gpt-5"},
            "toolFormerData":{"name":"run_terminal_cmd","rawArgs":"{\"command\":\"ls\"}","result":"a.txt"}}),
        json!({"_v":3,"type":2,"bubbleId":"b2","text":"last answer","createdAt":TS}),
    ];
    let headers: Vec<Value> = bubbles
        .iter()
        .map(|b| json!({"bubbleId": b["bubbleId"], "type": b["type"]}))
        .collect();
    let data = json!({"_v":16,"composerId":id,"name":"Broken","createdAt":OPENCODE_MS,
        "lastUpdatedAt":OPENCODE_MS,"unifiedMode":"agent","modelConfig":{"modelName":"gpt-5"},
        "workspaceIdentifier":{"id":"w","uri":{"fsPath":CWD}},"subagentComposerIds":[],
        "fullConversationHeadersOnly":headers});
    let insert = |key: String, value: Option<Vec<u8>>| {
        conn.execute(
            "INSERT INTO cursorDiskKV VALUES (?1, ?2)",
            rusqlite::params![key, value],
        )
        .unwrap();
    };
    insert(format!("composerData:{id}"), composer(data));
    for (n, value) in bubbles.into_iter().enumerate() {
        insert(format!("bubbleId:{id}:b{n}"), bubble(n, value));
    }
}

fn as_bytes(value: Value) -> Option<Vec<u8>> {
    Some(value.to_string().into_bytes())
}

/// A case whose database has `composer` and `bubble` applied, and the one transcript beside it.
fn cursor_database_case(
    name: &'static str,
    composer: fn(Value) -> Option<Vec<u8>>,
    bubble: fn(usize, Value) -> Option<Vec<u8>>,
    code: i32,
    diagnostics: &[(&str, Option<u64>, &'static str)],
    rows: i64,
) -> Case {
    case(
        name,
        move |dir| {
            write_cursor_database(dir, composer, bubble);
            CURSOR.write(dir, lines(&[cursor_user("beside the database")]));
        },
        code,
        diagnostics,
        rows + 1,
    )
}

/// A case with `bytes` as the `state.vscdb`: one unreadable database, the transcript still read.
fn cursor_unreadable_database(name: &'static str, bytes: Vec<u8>) -> Case {
    case(
        name,
        move |dir| {
            write_file(&dir.join("globalStorage/state.vscdb"), &bytes);
            CURSOR.write(dir, lines(&[cursor_user("beside the database")]));
        },
        1,
        &[("globalStorage/state.vscdb", None, "unreadable")],
        1,
    )
}

/// Mutations of the composer and bubble fields the IDE reader takes: `(bubble or None for the
/// composer, pointer, value, rows)`. A field of another type is read as absent.
fn cursor_database_wrong_types() -> Vec<(Option<usize>, &'static str, Value, i64)> {
    let mut table = Vec::new();
    for pointer in [
        "/name",
        "/createdAt",
        "/lastUpdatedAt",
        "/unifiedMode",
        "/modelConfig",
        "/modelConfig/modelName",
        "/workspaceIdentifier",
        "/workspaceIdentifier/uri",
        "/subagentComposerIds",
    ] {
        for value in [json!("x7"), json!(7), json!([["x"]]), json!({"a": {}})] {
            table.push((None, pointer, value, 3));
        }
    }
    for (bubble, pointer, value, rows) in [
        // Without headers there is nothing to read: an empty composer is no session.
        (None, "/fullConversationHeadersOnly", json!(7), 0),
        (None, "/fullConversationHeadersOnly", json!({"b0": {}}), 0),
        (None, "/fullConversationHeadersOnly/0", json!(7), 2),
        (None, "/fullConversationHeadersOnly/1/bubbleId", json!(["b1"]), 2),
        // The header's type stands in for the bubble's.
        (Some(0), "/type", json!("1"), 3),
        (Some(0), "/text", json!(7), 2),
        (Some(1), "/text", json!(7), 3),
        (Some(1), "/thinking", json!("x"), 3),
        (Some(1), "/toolFormerData", json!("x"), 3),
        (Some(1), "/toolFormerData/name", json!(7), 3),
        (Some(1), "/toolFormerData/rawArgs", json!({"a": 1}), 3),
        (Some(1), "/toolFormerData/result", json!({"a": 1}), 3),
        (Some(1), "/modelInfo", json!(7), 3),
        (Some(2), "/createdAt", json!("yesterday"), 3),
        (Some(2), "/createdAt", json!(7), 3),
        (Some(2), "/createdAt", json!(1e300), 3),
    ] {
        table.push((bubble, pointer, value, rows));
    }
    table
}

fn cursor_cases() -> Vec<Case> {
    let real_db = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/cursor/vscdb-v9/source/globalStorage/state.vscdb"),
    )
    .unwrap();
    let keep = |value: Value| as_bytes(value);
    let keep_bubble = |_: usize, value: Value| as_bytes(value);
    let mut cases = vec![
        CURSOR.blank_case("empty", ""),
        CURSOR.blank_case("whitespace", " \n\t\r\n  "),
        CURSOR.torn_case(
            &[cursor_user("one"), cursor_assistant("two")],
            cursor_user("three"),
            40,
            2,
        ),
        CURSOR.invalid_utf8_case(cursor_assistant("caf#")),
        CURSOR.middle_case(
            "invalid_utf8_outside_strings",
            Fate::Malformed,
            b"{\"role\":\xff}",
        ),
        CURSOR.middle_case("raw_nul_byte", Fate::Malformed, b"{\"role\":\"user\",\0}"),
        CURSOR.middle_case(
            "escaped_nul_in_text",
            Fate::Kept,
            cursor_assistant("a\u{0}b").to_string(),
        ),
        CURSOR.middle_case(
            "glued_records",
            Fate::Malformed,
            format!("{}{}", cursor_user("two"), cursor_user("three")),
        ),
        CURSOR.middle_case(
            "nested_10000_deep",
            Fate::Malformed,
            cursor_assistant("x")
                .to_string()
                .replace("\"x\"", &deep_json(10_000)),
        ),
        CURSOR.middle_case("not_an_object", Fate::Malformed, "[\"role\", \"user\"]"),
        CURSOR.middle_case(
            "deep_in_ignored_field",
            Fate::Kept,
            set(cursor_assistant("x"), "/extra", json!("DEEP"))
                .to_string()
                .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        CURSOR.middle_case(
            "turn_ended",
            Fate::Ignored,
            r#"{"type":"turn_ended","status":"success"}"#,
        ),
        CURSOR.middle_case(
            "unknown_record_kind",
            Fate::Ignored,
            r#"{"type":"checkpoint","id":7}"#,
        ),
        case(
            "txt_without_blocks",
            |dir| {
                let path = cursor_file(dir).with_file_name("0000aaaa-txt.txt");
                write_file(&path, "no role line at all\n\njust text");
            },
            0,
            &[],
            0,
        ),
        case(
            "json_that_is_not_an_array",
            |dir| {
                write_file(
                    &cursor_file(dir)
                        .parent()
                        .unwrap()
                        .with_file_name("0000bbbb-json.json"),
                    "{\"role\":\"user\",\"text\":\"x\"}",
                );
            },
            1,
            &[(
                ".cursor/projects/home-dev-proj/agent-transcripts/0000bbbb-json.json",
                None,
                "malformed",
            )],
            0,
        ),
        CURSOR.directory_case(
            "directory_named_like_a_transcript",
            ".cursor/projects/home-dev-proj/agent-transcripts/x.jsonl",
            &[cursor_user("one")],
        ),
        CURSOR.symlink_loop_case(
            ".cursor/projects/home-dev-proj/agent-transcripts/loop.jsonl",
            &[cursor_user("one")],
        ),
        cursor_database_case("database", keep, keep_bubble, 0, &[], 3),
        cursor_database_case("null_composer", |_| None, keep_bubble, 0, &[], 0),
        cursor_database_case(
            "null_and_dangling_bubbles",
            keep,
            |n, value| match n {
                0 => None,
                1 => as_bytes(value),
                // Not there at all: written under another composer's key.
                _ => as_bytes(json!(null)),
            },
            0,
            &[],
            1,
        ),
        cursor_database_case(
            "composer_not_json",
            |_| Some(b"{\"_v\":16,\"name\":\"cut".to_vec()),
            keep_bubble,
            1,
            &[("globalStorage/state.vscdb", None, "malformed")],
            0,
        ),
        cursor_database_case(
            "bubble_not_json",
            keep,
            |n, value| {
                if n == 1 {
                    Some(b"not json".to_vec())
                } else {
                    as_bytes(value)
                }
            },
            1,
            &[("globalStorage/state.vscdb", None, "malformed")],
            2,
        ),
        cursor_database_case(
            "bubble_invalid_utf8",
            keep,
            |n, value| {
                let text = value.to_string();
                if n == 2 {
                    Some(
                        text.replace("last", "l\u{1}st")
                            .replace('\u{1}', "\u{ff}")
                            .into_bytes(),
                    )
                } else {
                    Some(text.into_bytes())
                }
            },
            0,
            &[],
            3,
        ),
        cursor_database_case(
            "bubble_deep_json",
            keep,
            |n, value| {
                let text = value.to_string();
                Some(
                    if n == 2 {
                        text.replace("\"last answer\"", &deep_json(10_000))
                    } else {
                        text
                    }
                    .into_bytes(),
                )
            },
            1,
            &[("globalStorage/state.vscdb", None, "malformed")],
            2,
        ),
        cursor_unreadable_database(
            "not_sqlite_database",
            b"this is not a database, just text".to_vec(),
        ),
        cursor_unreadable_database("empty_database", Vec::new()),
        cursor_unreadable_database("truncated_database", real_db[..real_db.len() / 3].to_vec()),
        case(
            "store_db_meta_not_json",
            |dir| {
                let path = dir.join(".cursor/chats/00ff/agent-x/store.db");
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                let conn = rusqlite::Connection::open(&path).unwrap();
                conn.execute_batch(
                    "CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB);
                     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
                     INSERT INTO meta VALUES ('0', '7b226e616d65');",
                )
                .unwrap();
                CURSOR.write(dir, lines(&[cursor_user("beside the store")]));
            },
            1,
            &[(".cursor/chats/00ff/agent-x/store.db", None, "malformed")],
            1,
        ),
        case(
            "store_db_root_not_a_node",
            |dir| {
                let path = dir.join(".cursor/chats/00ff/agent-y/store.db");
                fs::create_dir_all(path.parent().unwrap()).unwrap();
                let conn = rusqlite::Connection::open(&path).unwrap();
                let meta = hex(
                    &json!({"agentId":"agent-y","latestRootBlobId":"ab","createdAt":OPENCODE_MS}).to_string(),
                );
                conn.execute_batch(&format!(
                    "CREATE TABLE blobs (id TEXT PRIMARY KEY, data BLOB);
                     CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
                     INSERT INTO meta VALUES ('0', '{meta}');
                     INSERT INTO blobs VALUES ('ab', x'0aff0affffff');"
                ))
                .unwrap();
            },
            0,
            &[],
            0,
        ),
    ];
    let record = |template: &str| match template {
        "user" => cursor_user("two"),
        _ => cursor_assistant("two"),
    };
    cases.extend(wrong_type_cases(
        "cursor",
        cursor_wrong_types(),
        record,
        |name, _, record, fate| CURSOR.middle_case(name, fate, record.to_string()),
    ));
    for (index, (bubble, pointer, value, rows)) in cursor_database_wrong_types().into_iter().enumerate() {
        let name: &'static str = format!("database_wrong_type_{index}").leak();
        let mutated = value.clone();
        cases.push(case(
            name,
            move |dir| {
                let mutated = mutated.clone();
                let composer = |data: Value| match bubble {
                    None => as_bytes(set(data, pointer, mutated.clone())),
                    Some(_) => as_bytes(data),
                };
                let bubble_value = |n: usize, data: Value| match bubble {
                    Some(target) if target == n => as_bytes(set(data, pointer, mutated.clone())),
                    _ => as_bytes(data),
                };
                write_cursor_database(dir, composer, bubble_value);
            },
            0,
            &[],
            rows,
        ));
        eprintln!("cursor {name}: {bubble:?} {pointer} = {value} -> {rows} rows");
    }
    cases
}

fn hex(text: &str) -> String {
    text.bytes().map(|byte| format!("{byte:02x}")).collect()
}

#[tokio::test]
async fn cursor_bad_inputs() {
    run_table("cursor", cursor_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// GitHub Copilot CLI

const COPILOT_SID: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
const COPILOT_FILE: &str = "session-state/5973b6c0-94b8-487b-a530-2aeb6098ae0e/events.jsonl";

const COPILOT: Transcript = Transcript {
    file: copilot_file,
    around: copilot_around,
};

fn copilot_event(kind: &str, id: &str, data: Value) -> Value {
    json!({"type":kind,"data":data,"id":id,"timestamp":TS,"parentId":null})
}

fn copilot_start() -> Value {
    copilot_event(
        "session.start",
        "e0",
        json!({"sessionId":COPILOT_SID,"version":1,"producer":"copilot-agent","copilotVersion":"1.0.60",
            "startTime":TS,"context":{"cwd":CWD,"branch":"main","headCommit":"abc","repository":"dev/proj",
            "repositoryHost":"github.com"}}),
    )
}

fn copilot_answer(id: &str, text: &str) -> Value {
    copilot_event(
        "assistant.message",
        id,
        json!({"messageId":id,"model":"claude-sonnet-4.6","content":text,"toolRequests":[],"reasoningText":"think"}),
    )
}

/// The templates a mutation starts from: one event of every kind the parser reads, each one row.
fn copilot_template(name: &str) -> Value {
    match name {
        "start" => copilot_start(),
        "user" => copilot_event(
            "user.message",
            "u2",
            json!({"content":"two","transformedContent":"<current_datetime>x</current_datetime>\n\ntwo","attachments":[]}),
        ),
        "answer" => copilot_answer("a2", "two"),
        "call" => copilot_event(
            "assistant.message",
            "a2",
            json!({"content":"","toolRequests":[{"toolCallId":"c1","name":"bash","arguments":{"command":"ls"}}]}),
        ),
        "started" => copilot_event(
            "tool.execution_start",
            "s2",
            json!({"toolCallId":"c9","toolName":"bash","arguments":{"command":"ls"}}),
        ),
        "result" => copilot_event(
            "tool.execution_complete",
            "r2",
            json!({"toolCallId":"c1","success":true,"result":{"content":"a.txt","detailedContent":"diff"},"model":"m"}),
        ),
        "failed" => copilot_event(
            "tool.execution_complete",
            "r2",
            json!({"toolCallId":"c1","success":false,"error":{"message":"denied","code":"failure"}}),
        ),
        other => panic!("no template {other}"),
    }
}

/// Field mutations of every field the Copilot parser reads. Copilot CLI is closed source and
/// its events change between releases: a field of an unexpected type is read as absent, only a
/// message left without a time to date it by is malformed.
fn copilot_wrong_types() -> Vec<(&'static str, &'static str, Value, Fate)> {
    let mut table = Vec::new();
    for pointer in [
        "/data",
        "/data/sessionId",
        "/data/copilotVersion",
        "/data/startTime",
        "/data/context",
        "/data/context/cwd",
        "/data/context/branch",
        "/data/context/repository",
        "/type",
        "/timestamp",
    ] {
        for value in [json!(7), json!([["x"]]), Value::Null] {
            table.push(("start", pointer, value, Fate::Kept));
        }
    }
    for (template, pointer) in [
        ("user", "/data/transformedContent"),
        ("user", "/data/attachments"),
        ("user", "/id"),
        ("answer", "/data/model"),
        ("answer", "/data/reasoningText"),
        ("answer", "/data/toolRequests"),
        ("answer", "/id"),
        ("call", "/data/toolRequests/0/toolCallId"),
        ("call", "/data/toolRequests/0/name"),
        ("call", "/data/toolRequests/0/arguments"),
        ("call", "/data/content"),
        ("started", "/data/toolName"),
        ("started", "/data/arguments"),
        ("result", "/data/toolCallId"),
        ("result", "/data/success"),
        ("result", "/data/model"),
    ] {
        for value in [json!(7), json!({"a":1}), Value::Null] {
            table.push((template, pointer, value, Fate::Kept));
        }
    }
    for (template, pointer, value, fate) in [
        ("user", "/data/content", json!(7), Fate::Kept),
        (
            "user",
            "/data/content",
            json!("<current_datetime>x</current_datetime>"),
            Fate::Kept,
        ),
        ("user", "/data/transformedContent", json!(7), Fate::Kept),
        ("user", "/data", json!("two"), Fate::Ignored),
        ("user", "/type", json!(7), Fate::Ignored),
        ("user", "/type", json!("user.brand_new"), Fate::Ignored),
        ("user", "/timestamp", json!(7), Fate::Malformed),
        ("user", "/timestamp", json!("yesterday"), Fate::Malformed),
        ("answer", "/data/content", json!(7), Fate::Kept),
        ("call", "/data/toolRequests", json!(7), Fate::Ignored),
        ("call", "/data/toolRequests/0", json!(7), Fate::Ignored),
        ("call", "/data/toolRequests/0", json!("bash"), Fate::Ignored),
        ("started", "/data/toolCallId", json!(7), Fate::Ignored),
        ("result", "/data/result", json!(7), Fate::Ignored),
        ("result", "/data/result/content", json!(7), Fate::Kept),
        ("result", "/data/result/content", Value::Null, Fate::Ignored),
        ("result", "/data/result/content", json!({"a":[1]}), Fate::Kept),
        (
            "result",
            "/data/result/content",
            json!([{"type":"text","text":"x"}]),
            Fate::Kept,
        ),
        ("result", "/data/result/content", json!(""), Fate::Ignored),
        ("failed", "/data/error", json!("boom"), Fate::Kept),
        ("failed", "/data/error", json!(7), Fate::Kept),
        ("failed", "/data/error", json!({"code":"x"}), Fate::Kept),
        // A failed call that says nothing of why has nothing to store.
        ("failed", "/data/error", Value::Null, Fate::Ignored),
        ("failed", "/data/success", json!("no"), Fate::Ignored),
    ] {
        table.push((template, pointer, value, fate));
    }
    table
}

fn copilot_file(dir: &Path) -> PathBuf {
    dir.join(COPILOT_FILE)
}

/// A log of its `session.start`, `middle` (line 2), and two answers.
fn copilot_around(middle: Vec<u8>) -> Vec<u8> {
    let mut bytes = lines(&[copilot_start()]);
    bytes.extend(middle);
    bytes.push(b'\n');
    bytes.extend(lines(&[
        copilot_answer("a3", "three"),
        copilot_answer("a4", "four"),
    ]));
    bytes
}

fn copilot_cases() -> Vec<Case> {
    let session_dir = |dir: &Path| dir.join(COPILOT_FILE).parent().unwrap().to_path_buf();
    let mut cases = vec![
        case("empty", |dir| COPILOT.write(dir, ""), 0, &[], 0),
        case("whitespace", |dir| COPILOT.write(dir, "\n \n\t"), 0, &[], 0),
        case(
            "torn_last_line",
            |dir| {
                let mut bytes = lines(&[copilot_start(), copilot_answer("a1", "one")]);
                bytes.extend(&lines(&[copilot_answer("a2", "two")])[..40]);
                COPILOT.write(dir, bytes);
            },
            0,
            &[],
            1,
        ),
        COPILOT.invalid_utf8_case(copilot_answer("a2", "caf#")),
        COPILOT.middle_case(
            "invalid_utf8_outside_strings",
            Fate::Malformed,
            b"{\"type\":\xff}",
        ),
        COPILOT.middle_case("raw_nul_byte", Fate::Malformed, b"{\"type\":\0\"x\"}"),
        case(
            "escaped_nul_in_content_ids_and_session",
            |dir| {
                let mut start = copilot_start();
                start["data"]["sessionId"] = json!("s\u{0}1");
                let answer = copilot_answer("a\u{0}1", "a\u{0}b");
                COPILOT.write(dir, lines(&[start, answer]));
            },
            0,
            &[],
            1,
        ),
        COPILOT.middle_case(
            "glued_records",
            Fate::Malformed,
            format!("{}{}", copilot_answer("a", "a"), copilot_answer("b", "b")),
        ),
        COPILOT.middle_case("record_not_an_object", Fate::Malformed, b"\"just a string\""),
        COPILOT.middle_case(
            "record_is_an_array",
            Fate::Malformed,
            b"[\"user.message\",{\"content\":\"x\"}]",
        ),
        // Text that is no string holds no text, whatever its depth: the text sent stands in.
        COPILOT.middle_case(
            "content_nested_10000_deep",
            Fate::Kept,
            copilot_template("user")
                .to_string()
                .replace("\"two\"", &deep_json(10_000)),
        ),
        // Arguments are kept as written, whatever their depth.
        COPILOT.middle_case(
            "arguments_nested_10000_deep",
            Fate::Kept,
            set(
                copilot_template("call"),
                "/data/toolRequests/0/arguments",
                json!("DEEP"),
            )
            .to_string()
            .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        COPILOT.middle_case(
            "noise_events",
            Fate::Ignored,
            copilot_event(
                "hook.start",
                "h1",
                json!({"hookType":"postToolUse","input":{"toolName":"bash"}}),
            )
            .to_string(),
        ),
        COPILOT.middle_case(
            "system_prompt",
            Fate::Ignored,
            copilot_event(
                "system.message",
                "p1",
                json!({"role":"system","content":"You are the GitHub Copilot CLI"}),
            )
            .to_string(),
        ),
        case(
            "a_session_that_never_started_is_passed_over",
            |dir| {
                write_file(
                    &dir.join("session-state/25873420-81eb-4d79-b11a-3db4b8bbdeba/workspace.yaml"),
                    "id: 25873420-81eb-4d79-b11a-3db4b8bbdeba\ncwd: /home/dev/proj\n",
                );
                COPILOT.write(dir, lines(&[copilot_start(), copilot_answer("a1", "one")]));
            },
            0,
            &[],
            1,
        ),
        case(
            "a_broken_workspace_and_session_db_are_no_facts",
            move |dir| {
                write_file(
                    &session_dir(dir).join("workspace.yaml"),
                    b"\xff\xfe\0name: [unclosed\n  - : :\n",
                );
                write_file(&session_dir(dir).join("session.db"), b"not sqlite");
                COPILOT.write(dir, lines(&[copilot_start(), copilot_answer("a1", "one")]));
            },
            0,
            &[],
            1,
        ),
        case(
            "an_unreadable_workspace_is_reported",
            move |dir| {
                fs::create_dir_all(session_dir(dir).join("workspace.yaml")).unwrap();
                COPILOT.write(dir, lines(&[copilot_start(), copilot_answer("a1", "one")]));
            },
            1,
            &[(
                "session-state/5973b6c0-94b8-487b-a530-2aeb6098ae0e/workspace.yaml",
                None,
                "unreadable",
            )],
            1,
        ),
        case(
            "directory_named_like_a_transcript",
            |dir| {
                fs::create_dir_all(dir.join("session-state/x.jsonl")).unwrap();
                fs::create_dir_all(dir.join("session-state/odd/events.jsonl")).unwrap();
                COPILOT.write(dir, lines(&[copilot_start(), copilot_answer("a1", "one")]));
            },
            0,
            &[],
            1,
        ),
        case(
            "symlink_loop",
            |dir| {
                symlink_loop(&dir.join("session-state/loop.jsonl"));
                COPILOT.write(dir, lines(&[copilot_start(), copilot_answer("a1", "one")]));
            },
            1,
            &[("session-state/loop.jsonl", None, "unreadable")],
            1,
        ),
    ];
    for (index, (template, pointer, value, fate)) in copilot_wrong_types().into_iter().enumerate() {
        let name: &'static str = format!("wrong_type_{index}").leak();
        let mutated = set(copilot_template(template), pointer, value.clone());
        let case = if template == "start" {
            let bytes = lines(&[
                mutated,
                copilot_answer("a2", "two"),
                copilot_answer("a3", "three"),
                copilot_answer("a4", "four"),
            ]);
            fate_case(name, fate, &COPILOT.rel(), move |dir| COPILOT.write(dir, &bytes))
        } else {
            COPILOT.middle_case(name, fate, mutated.to_string())
        };
        cases.push(case);
        eprintln!("copilot {name}: {template} {pointer} = {value} -> {fate:?}");
    }
    cases
}

#[tokio::test]
async fn copilot_bad_inputs() {
    run_table("copilot", copilot_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Qwen Code

const QWEN_SID: &str = "5973b6c0-94b8-487b-a530-2aeb6098ae0e";
const QWEN_FILE: &str = "projects/-home-dev-proj/chats/5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl";

const QWEN: Transcript = Transcript {
    file: qwen_file,
    around: qwen_around,
};

fn qwen_record(uuid: &str, kind: &str, fields: Value) -> Value {
    let mut record = json!({"uuid":uuid,"parentUuid":null,"sessionId":QWEN_SID,"timestamp":TS,"type":kind,
        "cwd":CWD,"version":"0.14.3","gitBranch":"main"});
    record
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().unwrap().clone());
    record
}

fn qwen_telemetry() -> Value {
    qwen_record(
        "t1",
        "system",
        json!({"subtype":"ui_telemetry","systemPayload":{"uiEvent":{"event.name":"qwen-code.api_response","model":"m"}}}),
    )
}

fn qwen_answer(uuid: &str, text: &str) -> Value {
    qwen_record(
        uuid,
        "assistant",
        json!({"model":"coder-model","message":{"role":"model","parts":[{"text":"think","thought":true},{"text":text}]}}),
    )
}

/// The templates a mutation starts from: one record of every kind the parser reads, each one row.
fn qwen_template(name: &str) -> Value {
    match name {
        "user" => qwen_record(
            "u2",
            "user",
            json!({"message":{"role":"user","parts":[{"text":"two"}]},"systemPayload":{"displayText":"two"}}),
        ),
        "answer" => qwen_answer("a2", "two"),
        "call" => qwen_record(
            "a2",
            "assistant",
            json!({"model":"coder-model","message":{"role":"model","parts":[
                {"functionCall":{"id":"c1","name":"run_shell_command","args":{"command":"ls"}}}]}}),
        ),
        "result" => qwen_record(
            "r2",
            "tool_result",
            json!({"message":{"role":"user","parts":[
                {"functionResponse":{"id":"c1","name":"run_shell_command","response":{"output":"a.txt"}}}]},
                "toolCallResult":{"callId":"c1","status":"success"}}),
        ),
        other => panic!("no template {other}"),
    }
}

/// Field mutations of every field the Qwen parser reads: a field of an unexpected type is read
/// as absent; only a message left without a time to date it by is malformed.
fn qwen_wrong_types() -> Vec<(&'static str, &'static str, Value, Fate)> {
    let mut table = Vec::new();
    for (template, pointer) in [
        ("user", "/uuid"),
        ("user", "/sessionId"),
        ("user", "/cwd"),
        ("user", "/version"),
        ("user", "/gitBranch"),
        ("user", "/subtype"),
        ("user", "/isSidechain"),
        ("user", "/forkedFrom"),
        ("user", "/systemPayload"),
        ("user", "/systemPayload/displayText"),
        ("answer", "/model"),
        ("answer", "/message/parts/0/thought"),
        ("answer", "/message/parts/0"),
        ("call", "/message/parts/0/functionCall/id"),
        ("call", "/message/parts/0/functionCall/name"),
        ("call", "/message/parts/0/functionCall/args"),
        ("result", "/message/parts/0/functionResponse/id"),
        ("result", "/message/parts/0/functionResponse/name"),
        ("result", "/toolCallResult"),
    ] {
        for value in [json!(7), json!({"a":1}), Value::Null] {
            table.push((template, pointer, value, Fate::Kept));
        }
    }
    for (template, pointer, value, fate) in [
        ("user", "/type", json!(7), Fate::Ignored),
        ("user", "/type", json!("brand_new_kind"), Fate::Ignored),
        ("user", "/subtype", json!("notification"), Fate::Ignored),
        ("user", "/subtype", json!("mid_turn_user_message"), Fate::Kept),
        ("user", "/isSidechain", json!(true), Fate::Kept),
        ("user", "/message", json!("two"), Fate::Kept),
        ("user", "/message/parts", json!("two"), Fate::Kept),
        ("user", "/timestamp", json!(7), Fate::Malformed),
        ("user", "/timestamp", json!("yesterday"), Fate::Malformed),
        ("answer", "/message", json!(7), Fate::Ignored),
        ("answer", "/message/parts", json!({"text":"two"}), Fate::Ignored),
        ("answer", "/message/parts/1/text", json!(7), Fate::Kept),
        ("call", "/message/parts/0/functionCall", json!(7), Fate::Ignored),
        (
            "call",
            "/message/parts/0/functionCall/args",
            json!("ls"),
            Fate::Kept,
        ),
        (
            "result",
            "/message/parts/0/functionResponse",
            json!(7),
            Fate::Ignored,
        ),
        (
            "result",
            "/message/parts/0/functionResponse/response",
            json!(7),
            Fate::Kept,
        ),
        (
            "result",
            "/message/parts/0/functionResponse/response",
            json!("text"),
            Fate::Kept,
        ),
        (
            "result",
            "/message/parts/0/functionResponse/response",
            Value::Null,
            Fate::Ignored,
        ),
        (
            "result",
            "/message/parts/0/functionResponse/response/output",
            json!(7),
            Fate::Kept,
        ),
        (
            "result",
            "/message/parts/0/functionResponse/response/output",
            json!(""),
            Fate::Ignored,
        ),
    ] {
        table.push((template, pointer, value, fate));
    }
    table
}

fn qwen_file(dir: &Path) -> PathBuf {
    dir.join(QWEN_FILE)
}

/// A chat of a telemetry record, `middle` (line 2), and two answers.
fn qwen_around(middle: Vec<u8>) -> Vec<u8> {
    let mut bytes = lines(&[qwen_telemetry()]);
    bytes.extend(middle);
    bytes.push(b'\n');
    bytes.extend(lines(&[qwen_answer("a3", "three"), qwen_answer("a4", "four")]));
    bytes
}

/// The prompt log of the project run in `CWD`, in the directory Qwen Code names by its hash.
fn qwen_log_path() -> String {
    use sha2::Digest;
    let hash: String = sha2::Sha256::digest(CWD.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("tmp/{hash}/logs.json")
}

fn qwen_entry(session: &str, id: u64, message: &str) -> Value {
    json!({"sessionId":session,"messageId":id,"type":"user","message":message,"timestamp":TS})
}

fn qwen_cases() -> Vec<Case> {
    let log = qwen_log_path();
    let write_log = {
        let log = log.clone();
        move |dir: &Path, bytes: &[u8]| write_file(&dir.join(&log), bytes)
    };
    let other = "0f1e2d3c-4b5a-4698-8776-655443322110";
    let log_rel: &'static str = log.clone().leak();
    let mut cases = vec![
        case("empty", |dir| QWEN.write(dir, ""), 0, &[], 0),
        case("whitespace", |dir| QWEN.write(dir, "\n \n\t"), 0, &[], 0),
        case(
            "torn_last_line",
            |dir| {
                let mut bytes = lines(&[qwen_telemetry(), qwen_answer("a1", "one")]);
                bytes.extend(&lines(&[qwen_answer("a2", "two")])[..40]);
                QWEN.write(dir, bytes);
            },
            0,
            &[],
            1,
        ),
        QWEN.invalid_utf8_case(qwen_answer("a2", "caf#")),
        QWEN.middle_case(
            "invalid_utf8_outside_strings",
            Fate::Malformed,
            b"{\"uuid\":\xff}",
        ),
        QWEN.middle_case("raw_nul_byte", Fate::Malformed, b"{\"uuid\":\0\"x\"}"),
        case(
            "escaped_nul_in_content_ids_and_session",
            |dir| {
                let mut answer = qwen_answer("a\u{0}1", "a\u{0}b");
                answer["sessionId"] = json!("s\u{0}1");
                QWEN.write(dir, lines(&[answer]));
            },
            0,
            &[],
            1,
        ),
        QWEN.middle_case(
            "glued_records",
            Fate::Malformed,
            format!("{}{}", qwen_answer("a", "a"), qwen_answer("b", "b")),
        ),
        QWEN.middle_case("record_not_an_object", Fate::Malformed, b"\"just a string\""),
        QWEN.middle_case("record_is_an_array", Fate::Malformed, b"[\"u2\",null,\"s\"]"),
        // A part that is no object holds nothing: skipped without recursion, any depth.
        QWEN.middle_case(
            "parts_nested_10000_deep",
            Fate::Ignored,
            set(qwen_template("answer"), "/message/parts", json!("DEEP"))
                .to_string()
                .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        // A tool's response is read as a JSON value, which stops at serde_json's depth limit.
        QWEN.middle_case(
            "tool_response_nested_10000_deep",
            Fate::Malformed,
            set(
                qwen_template("result"),
                "/message/parts/0/functionResponse/response",
                json!("DEEP"),
            )
            .to_string()
            .replace("\"DEEP\"", &deep_json(10_000)),
        ),
        QWEN.middle_case(
            "system_records",
            Fate::Ignored,
            qwen_record(
                "c1",
                "system",
                json!({"subtype":"custom_title","systemPayload":{"customTitle":7}}),
            )
            .to_string(),
        ),
        case(
            "directory_named_like_a_chat",
            |dir| {
                fs::create_dir_all(dir.join("projects/-home-dev-proj/chats/x.jsonl")).unwrap();
                QWEN.write(dir, lines(&[qwen_answer("a1", "one")]));
            },
            0,
            &[],
            1,
        ),
        case(
            "symlink_loop",
            |dir| {
                symlink_loop(&dir.join("projects/-home-dev-proj/chats/loop.jsonl"));
                QWEN.write(dir, lines(&[qwen_answer("a1", "one")]));
            },
            1,
            &[("projects/-home-dev-proj/chats/loop.jsonl", None, "unreadable")],
            1,
        ),
    ];
    let log_cases: Vec<(&'static str, Vec<u8>, i32, bool, i64)> = vec![
        ("log_empty", Vec::new(), 1, true, 0),
        ("log_not_an_array", br#"{"sessionId":"s"}"#.to_vec(), 1, true, 0),
        (
            "log_torn_mid_rewrite",
            json!([qwen_entry(other, 0, "one"), qwen_entry(other, 1, "two")]).to_string().as_bytes()[..60].to_vec(),
            1,
            true,
            0,
        ),
        ("log_without_entries", b"[]".to_vec(), 0, false, 0),
        (
            "log_entries_of_other_types_are_skipped",
            json!([qwen_entry(other, 0, "one"), 7, "x", {"sessionId":7,"messageId":1,"type":"user","message":"m","timestamp":TS},
                {"sessionId":other,"messageId":"2","type":"user","message":["m"],"timestamp":TS},
                qwen_entry(other, 3, "four"), {"sessionId":other,"messageId":4,"type":"model_switch","message":"{}","timestamp":TS}])
            .to_string()
            .into_bytes(),
            0,
            false,
            2,
        ),
        (
            "log_entry_without_a_time_is_reported",
            json!([qwen_entry(other, 0, "one"), {"sessionId":other,"messageId":1,"type":"user","message":"two","timestamp":"soon"},
                qwen_entry(other, 2, "three")])
            .to_string()
            .into_bytes(),
            1,
            true,
            2,
        ),
        // An element that is no entry is skipped, whatever its depth, as Qwen Code skips it.
        (
            "log_nested_10000_deep",
            format!("[{}]", deep_json(10_000)).into_bytes(),
            0,
            false,
            0,
        ),
    ];
    for (name, bytes, code, reported, rows) in log_cases {
        let write_log = write_log.clone();
        let diagnostics: &[(&str, Option<u64>, &'static str)] = if reported {
            &[(log_rel, None, "malformed")]
        } else {
            &[]
        };
        cases.push(case(
            name,
            move |dir| write_log(dir, &bytes),
            code,
            diagnostics,
            rows,
        ));
    }
    cases.push(case(
        "a_logged_session_with_a_chat_comes_from_the_chat",
        {
            let write_log = write_log.clone();
            move |dir: &Path| {
                let user = qwen_template("user");
                QWEN.write(dir, lines(&[user, qwen_answer("a3", "three")]));
                let entries = json!([qwen_entry(QWEN_SID, 0, "two"), qwen_entry(other, 0, "elsewhere")]);
                write_log(dir, entries.to_string().as_bytes());
            }
        },
        0,
        &[],
        3,
    ));
    for (index, (template, pointer, value, fate)) in qwen_wrong_types().into_iter().enumerate() {
        let name: &'static str = format!("wrong_type_{index}").leak();
        let mutated = set(qwen_template(template), pointer, value.clone());
        cases.push(QWEN.middle_case(name, fate, mutated.to_string()));
        eprintln!("qwen {name}: {template} {pointer} = {value} -> {fate:?}");
    }
    cases
}

#[tokio::test]
async fn qwen_bad_inputs() {
    run_table("qwen", qwen_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Aider

const AIDER_FILE: &str = "app/.aider.chat.history.md";

/// A launch header, the interface lines Aider writes after it, and one prompt with its answer.
const AIDER_LAUNCH: &str = "\n# aider chat started at 2025-09-01 10:00:00\n\n> Aider v0.86.1  \n\
                            > Main model: gpt-4.1 with diff edit format  \n\n#### first prompt  \n\n\
                            first answer\n\n> Tokens: 1k sent, 10 received.  \n";

/// A history holding [`AIDER_LAUNCH`], then `middle`, then one more prompt and answer.
fn aider_around(middle: &[u8]) -> Vec<u8> {
    let mut bytes = AIDER_LAUNCH.as_bytes().to_vec();
    bytes.extend_from_slice(middle);
    bytes.extend_from_slice(b"\n#### last prompt  \n\nlast answer\n\n> Tokens: 1k sent, 5 received.  \n");
    bytes
}

/// A case whose history is `bytes`, with its exit code, diagnostics (on the history) and rows.
fn aider_case(
    name: &'static str,
    bytes: Vec<u8>,
    code: i32,
    diagnostics: &[(Option<u64>, &'static str)],
    rows: i64,
) -> Case {
    let diagnostics: Vec<(&str, Option<u64>, &'static str)> = diagnostics
        .iter()
        .map(|(line, kind)| (AIDER_FILE, *line, *kind))
        .collect();
    case(
        name,
        move |dir| write_file(&dir.join(AIDER_FILE), &bytes),
        code,
        &diagnostics,
        rows,
    )
}

fn aider_cases() -> Vec<Case> {
    // Line 13 is the first line after the first answer's interface output.
    let launch_lines = AIDER_LAUNCH.lines().count() as u64;
    let middle = launch_lines + 1;
    let mut cases = vec![
        aider_case("empty", Vec::new(), 0, &[], 0),
        aider_case("whitespace", b" \n\t\r\n  ".to_vec(), 0, &[], 0),
        aider_case("plain", aider_around(b""), 0, &[], 4),
        aider_case(
            "crlf_line_ends",
            aider_around(b"")
                .iter()
                .flat_map(|&byte| {
                    if byte == b'\n' {
                        vec![b'\r', b'\n']
                    } else {
                        vec![byte]
                    }
                })
                .collect(),
            0,
            &[],
            4,
        ),
        aider_case(
            "torn_last_line",
            format!("{AIDER_LAUNCH}\n#### a prompt still being wri").into_bytes(),
            0,
            &[],
            2,
        ),
        aider_case(
            "nul_byte",
            aider_around(b"\nan answer with a \0 in it\n"),
            1,
            &[(Some(middle + 1), "malformed")],
            4,
        ),
        aider_case(
            "binary_garbage",
            aider_around(b"\x00\x01\xff\xfe garbage \xc3\x28\n"),
            1,
            &[(Some(middle), "malformed")],
            4,
        ),
        aider_case(
            "invalid_utf8_in_a_prompt",
            aider_around(b"\n#### caf\xe9 au lait  \n"),
            0,
            &[(Some(middle + 1), "invalid_utf8")],
            5,
        ),
        aider_case(
            "text_before_any_header",
            b"an answer whose launch was cut off\n".to_vec(),
            0,
            &[],
            1,
        ),
        aider_case(
            "header_without_a_time",
            format!("{AIDER_LAUNCH}\n# aider chat started at\n\n#### later  \n\nyes\n\n> Tokens: 1  \n")
                .into_bytes(),
            0,
            &[],
            4,
        ),
        aider_case(
            "header_with_a_bad_time",
            aider_around(b"\n# aider chat started at yesterday, about noon\n"),
            0,
            &[],
            4,
        ),
        aider_case(
            "two_launches_in_one_second",
            format!("{AIDER_LAUNCH}{AIDER_LAUNCH}").into_bytes(),
            0,
            &[],
            4,
        ),
        aider_case(
            "unended_interface_output",
            aider_around(b"\n#### /settings  \n> Command Line Args: --x\n\nDefaults:\n  --a: 1\n"),
            0,
            &[],
            3,
        ),
        aider_case(
            "only_commands_and_blank_inputs",
            format!("{AIDER_LAUNCH}\n#### /add a.py  \n> Added a.py to the chat  \n\n#### <blank>  \n")
                .into_bytes(),
            0,
            &[],
            2,
        ),
        aider_case(
            "deep_markdown",
            aider_around(format!("\n{}\n", "> ".repeat(50_000)).as_bytes()),
            0,
            &[],
            5,
        ),
        aider_case(
            "answer_over_the_row_limit",
            aider_around(format!("\n{}\n", "x".repeat(9 << 20)).as_bytes()),
            0,
            &[],
            5,
        ),
        case(
            "directory_named_like_a_history",
            |dir| fs::create_dir_all(dir.join(AIDER_FILE)).unwrap(),
            0,
            &[],
            0,
        ),
        case(
            "symlink_loop_named_like_a_history",
            |dir| symlink_loop(&dir.join(AIDER_FILE)),
            1,
            &[(AIDER_FILE, None, "unreadable")],
            0,
        ),
        case(
            "dangling_symlink_named_like_a_history",
            |dir| {
                fs::create_dir_all(dir.join("app")).unwrap();
                std::os::unix::fs::symlink(dir.join("gone.md"), dir.join(AIDER_FILE)).unwrap();
            },
            0,
            &[(AIDER_FILE, None, "vanished")],
            0,
        ),
        case(
            "input_history_of_another_shape",
            |dir| {
                write_file(&dir.join(AIDER_FILE), aider_around(b""));
                write_file(
                    &dir.join("app/.aider.input.history"),
                    b"+no time\n# not a time\n+x\n\xff\xfe\n\0\n",
                );
            },
            0,
            &[],
            4,
        ),
        case(
            "directory_named_like_the_input_history",
            |dir| {
                write_file(&dir.join(AIDER_FILE), aider_around(b""));
                fs::create_dir_all(dir.join("app/.aider.input.history")).unwrap();
            },
            1,
            &[("app/.aider.input.history", None, "unreadable")],
            4,
        ),
        case(
            "history_in_a_pruned_directory",
            |dir| {
                write_file(
                    &dir.join("node_modules/dep/.aider.chat.history.md"),
                    aider_around(b""),
                )
            },
            0,
            &[],
            0,
        ),
    ];
    if !running_as_root() {
        cases.push(case(
            "unreadable_history",
            |dir| {
                write_file(&dir.join(AIDER_FILE), aider_around(b""));
                fs::set_permissions(dir.join(AIDER_FILE), fs::Permissions::from_mode(0o000)).unwrap();
            },
            1,
            &[(AIDER_FILE, None, "unreadable")],
            0,
        ));
        cases.push(case(
            "unreadable_input_history",
            |dir| {
                write_file(&dir.join(AIDER_FILE), aider_around(b""));
                let inputs = dir.join("app/.aider.input.history");
                write_file(&inputs, "\n# 2025-09-01 10:00:05.5\n+first prompt\n");
                fs::set_permissions(&inputs, fs::Permissions::from_mode(0o000)).unwrap();
            },
            1,
            &[("app/.aider.input.history", None, "unreadable")],
            4,
        ));
    }
    cases
}

#[tokio::test]
async fn aider_bad_inputs() {
    run_table("aider", aider_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Crush

const CRUSH_DB: &str = "app/.crush/crush.db";
const CRUSH_SID: &str = "4c3b2a19-0f1e-4d2c-8b3a-291807f6e5d4";

/// A Crush database of the 2026 schema (the empty fixture's, without its triggers) holding one
/// session of four messages (a prompt, a tool call, its result, an answer), then `mutate`.
fn write_crush(dir: &Path, mutate: impl Fn(&rusqlite::Connection)) {
    let path = dir.join(CRUSH_DB);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::copy(fixture("crush/empty-db/source/.crush/crush.db"), &path).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER update_sessions_updated_at; DROP TRIGGER update_messages_updated_at;
         DROP TRIGGER update_session_message_count_on_insert;",
    )
    .unwrap();
    conn.execute(
        "INSERT INTO sessions (id, title, message_count, updated_at, created_at) VALUES (?1, 'Broken', 4, 1756720900, 1756720800)",
        [CRUSH_SID],
    )
    .unwrap();
    let messages = [
        (
            "m1",
            "user",
            json!([{"type":"text","data":{"text":"first prompt"}}]),
        ),
        (
            "m2",
            "assistant",
            json!([{"type":"text","data":{"text":"running it"}},
            {"type":"tool_call","data":{"id":"c1","name":"bash","input":"{\"command\":\"ls\"}","finished":true}},
            {"type":"finish","data":{"reason":"tool_use","time":1756720802}}]),
        ),
        (
            "m3",
            "tool",
            json!([{"type":"tool_result","data":{"tool_call_id":"c1","name":"bash","content":"a.txt"}}]),
        ),
        (
            "m4",
            "assistant",
            json!([{"type":"text","data":{"text":"last answer"}}]),
        ),
    ];
    for (n, (id, role, parts)) in messages.iter().enumerate() {
        let at = 1_756_720_801 + n as i64;
        conn.execute(
            "INSERT INTO messages (id, session_id, role, parts, model, provider, created_at, updated_at, finished_at) \
             VALUES (?1, ?2, ?3, ?4, 'gpt-5', 'openai', ?5, ?5, ?5)",
            rusqlite::params![id, CRUSH_SID, role, parts.to_string(), at],
        )
        .unwrap();
    }
    mutate(&conn);
}

/// A case whose database has `sql` run on it, with its exit code, diagnostics and rows.
fn crush_case(
    name: &'static str,
    sql: &'static str,
    code: i32,
    diagnostics: &[&'static str],
    rows: i64,
) -> Case {
    let diagnostics: Vec<(&str, Option<u64>, &'static str)> =
        diagnostics.iter().map(|kind| (CRUSH_DB, None, *kind)).collect();
    // Crush declares foreign keys; a damaged database need not honour them.
    let mutate = move |conn: &rusqlite::Connection| {
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        conn.execute_batch(sql).unwrap();
    };
    case(
        name,
        move |dir| write_crush(dir, mutate),
        code,
        &diagnostics,
        rows,
    )
}

/// A case whose `crush.db` is `bytes`: one unreadable database.
fn crush_unreadable(name: &'static str, bytes: Vec<u8>) -> Case {
    case(
        name,
        move |dir| write_file(&dir.join(CRUSH_DB), &bytes),
        1,
        &[(CRUSH_DB, None, "unreadable")],
        0,
    )
}

fn crush_cases() -> Vec<Case> {
    let real_db = fs::read(fixture("crush/schema-2026/source/.crush/crush.db")).unwrap();
    vec![
        crush_case("plain", "", 0, &[], 4),
        crush_case("no_sessions", "DELETE FROM messages; DELETE FROM sessions;", 0, &[], 0),
        crush_case("parts_not_json", "UPDATE messages SET parts = '[{\"type\":' WHERE id = 'm4'", 1, &["malformed"], 3),
        crush_case("parts_not_an_array", "UPDATE messages SET parts = '{\"type\":\"text\"}' WHERE id = 'm4'", 1, &["malformed"], 3),
        crush_case("parts_a_number", "UPDATE messages SET parts = 7 WHERE id = 'm4'", 1, &["malformed"], 3),
        crush_case(
            "text_of_the_wrong_type",
            "UPDATE messages SET parts = '[{\"type\":\"text\",\"data\":{\"text\":[7]}}]' WHERE id = 'm4'",
            1,
            &["malformed"],
            3,
        ),
        crush_case(
            "tool_call_input_an_object",
            "UPDATE messages SET parts = '[{\"type\":\"tool_call\",\"data\":{\"id\":\"c1\",\"name\":\"bash\",\"input\":{\"command\":\"ls\"}}}]' WHERE id = 'm2'",
            0,
            &[],
            4,
        ),
        crush_case(
            "tool_call_input_not_json",
            "UPDATE messages SET parts = '[{\"type\":\"tool_call\",\"data\":{\"id\":\"c1\",\"name\":\"bash\",\"input\":\"{cut\"}}]' WHERE id = 'm2'",
            0,
            &[],
            4,
        ),
        crush_case(
            "unknown_part_types",
            "UPDATE messages SET parts = '[{\"type\":\"hologram\",\"data\":{}},{\"data\":{}},{\"type\":\"text\"}]' WHERE id = 'm4'",
            0,
            &[],
            3,
        ),
        crush_case(
            "parts_nested_10000_deep",
            "UPDATE messages SET parts = '[{\"type\":\"text\",\"data\":{\"text\":\"x\",\"extra\":' || replace(hex(zeroblob(10000)), '00', '[') || '}}]' WHERE id = 'm4'",
            1,
            &["malformed"],
            3,
        ),
        crush_case("role_unknown", "UPDATE messages SET role = 'robot' WHERE id = 'm4'", 0, &[], 4),
        crush_case("role_empty", "UPDATE messages SET role = '' WHERE id = 'm4'", 0, &[], 4),
        crush_case("created_at_zero", "UPDATE messages SET created_at = 0", 0, &[], 4),
        crush_case("title_empty", "UPDATE sessions SET title = ''", 0, &[], 4),
        case(
            "parts_invalid_utf8",
            |dir| {
                write_crush(dir, |conn| {
                    let parts = b"[{\"type\":\"text\",\"data\":{\"text\":\"ca\xaf\xfe\"}}]".to_vec();
                    conn.execute("UPDATE messages SET parts = ?1 WHERE id = 'm4'", [parts]).unwrap();
                })
            },
            0,
            &[],
            4,
        ),
        crush_case("created_at_text", "UPDATE messages SET created_at = 'yesterday' WHERE id = 'm4'", 0, &[], 4),
        crush_case("created_at_in_milliseconds", "UPDATE messages SET created_at = created_at * 1000", 0, &[], 4),
        crush_case("created_at_far_out_of_range", "UPDATE messages SET created_at = 9e18 WHERE id = 'm4'", 0, &[], 4),
        crush_case(
            "no_time_at_all",
            "UPDATE messages SET created_at = 0; UPDATE sessions SET created_at = -1",
            1,
            &["malformed", "malformed", "malformed", "malformed"],
            0,
        ),
        crush_case("updated_at_text", "UPDATE sessions SET updated_at = 'soon'", 0, &[], 4),
        crush_case("message_of_a_missing_session", "UPDATE messages SET session_id = 'gone' WHERE id = 'm4'", 0, &[], 3),
        crush_case("parent_that_does_not_exist", "UPDATE sessions SET parent_session_id = 'gone'", 0, &[], 4),
        crush_case("a_title_session", "UPDATE sessions SET id = 'title-p', parent_session_id = 'p'; UPDATE messages SET session_id = 'title-p'", 0, &[], 0),
        crush_case("no_messages_table", "DROP TABLE messages", 1, &["unreadable"], 0),
        crush_case("messages_without_parts", "ALTER TABLE messages DROP COLUMN parts", 1, &["unreadable"], 0),
        crush_case("no_sessions_table", "DROP TABLE sessions", 1, &["unreadable"], 0),
        crush_case(
            "first_schema",
            "ALTER TABLE messages DROP COLUMN provider; ALTER TABLE messages DROP COLUMN is_summary_message; \
             ALTER TABLE sessions DROP COLUMN summary_message_id; ALTER TABLE sessions DROP COLUMN todos",
            0,
            &[],
            4,
        ),
        crush_unreadable("not_a_database", b"this is not a database, just text".to_vec()),
        crush_unreadable("empty_database_file", Vec::new()),
        crush_unreadable("truncated_database", real_db[..real_db.len() / 3].to_vec()),
        case(
            "wal_without_shm",
            |dir| {
                write_crush(dir, |conn| {
                    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
                        .unwrap();
                    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
                    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
                    conn.execute("UPDATE messages SET parts = '[{\"type\":\"text\",\"data\":{\"text\":\"in the WAL\"}}]' WHERE id = 'm4'", []).unwrap();
                });
                // What a crash between the WAL's write and the index's leaves.
                let _ = fs::remove_file(dir.join(format!("{CRUSH_DB}-shm")));
            },
            0,
            &[],
            4,
        ),
        case("data_directory_without_a_database", |dir| fs::create_dir_all(dir.join("app/.crush")).unwrap(), 0, &[], 0),
        case("database_that_is_a_directory", |dir| fs::create_dir_all(dir.join(CRUSH_DB)).unwrap(), 0, &[], 0),
    ]
}

#[tokio::test]
async fn crush_bad_inputs() {
    run_table("crush", crush_cases()).await;
}

// ---------------------------------------------------------------------------------------------
// Cline (and Roo Code, Kilo Code): one `api_conversation_history.json` document per task, read
// whole; a message that does not decode is a malformed part of it, with no line.

const CLINE_EXTENSION: &str = "Code/User/globalStorage/saoudrizwan.claude-dev";
const CLINE_TASK: &str = "Code/User/globalStorage/saoudrizwan.claude-dev/tasks/1756720800000";
const CLINE_FILE: &str =
    "Code/User/globalStorage/saoudrizwan.claude-dev/tasks/1756720800000/api_conversation_history.json";

fn cline_template(name: &str) -> Value {
    match name {
        "user" => {
            json!({"role":"user","content":[{"type":"text","text":"<task>\nfix it\n</task>"}],"ts":1_756_720_801_000_i64})
        }
        "answer" => {
            json!({"role":"assistant","content":[{"type":"text","text":"two"}],"ts":1_756_720_802_000_i64,
            "modelInfo":{"modelId":"claude-sonnet-4-5","providerId":"anthropic","mode":"act"}})
        }
        "call" => {
            json!({"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"read_file","input":{"path":"a.rs"}}],
            "ts":1_756_720_802_000_i64})
        }
        "result" => {
            json!({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"fn main() {}"}],
            "ts":1_756_720_802_000_i64})
        }
        other => panic!("no cline template {other}"),
    }
}

/// The task document: a prompt, `middle`, two answers.
fn cline_document(middle: Value) -> Value {
    let answer = |text: &str| set(cline_template("answer"), "/content/0/text", json!(text));
    json!([cline_template("user"), middle, answer("three"), answer("four")])
}

/// `(template, pointer, wrong value)`: the middle message with a field of the wrong type is a
/// malformed part of the document, and the other three messages are imported.
fn cline_wrong_types() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("answer", "/role", json!(7)),
        ("answer", "/ts", json!("yesterday")),
        ("answer", "/content", json!(7)),
        ("answer", "/content/0", json!("text")),
        ("answer", "/content/0/type", json!(["text"])),
        ("answer", "/content/0/text", json!({"a":1})),
        ("answer", "/modelInfo", json!("claude")),
        ("answer", "/modelInfo/modelId", json!(4)),
        ("call", "/content/0/name", json!(1)),
        ("call", "/content/0/id", json!(false)),
        ("result", "/content/0/tool_use_id", json!([1])),
    ]
}

fn cline_cases() -> Vec<Case> {
    let write = |dir: &Path, bytes: &[u8]| write_file(&dir.join(CLINE_FILE), bytes);
    let whole = cline_document(cline_template("answer")).to_string();
    let mut cases = vec![
        case(
            "clean",
            {
                let whole = whole.clone();
                move |dir| write(dir, whole.as_bytes())
            },
            0,
            &[],
            4,
        ),
        malformed_document("empty_file", CLINE_FILE, b"", 0),
        malformed_document("whitespace_only", CLINE_FILE, b"\n \n\t", 0),
        malformed_document(
            "truncated_mid_rewrite",
            CLINE_FILE,
            whole.as_bytes()[..whole.len() / 2].to_vec(),
            0,
        ),
        malformed_document(
            "not_an_array",
            CLINE_FILE,
            br#"{"role":"user","content":"hi"}"#.to_vec(),
            0,
        ),
        case(
            "a_message_nested_10000_deep_is_malformed_and_the_rest_read",
            |dir| {
                let deep = cline_document(json!("DEEP"))
                    .to_string()
                    .replace("\"DEEP\"", &deep_json(10_000));
                write_file(&dir.join(CLINE_FILE), deep)
            },
            1,
            &[(CLINE_FILE, None, "malformed")],
            3,
        ),
        case(
            "invalid_utf8_in_text",
            {
                let bytes: Vec<u8> =
                    cline_document(set(cline_template("answer"), "/content/0/text", json!("caf#")))
                        .to_string()
                        .replace('#', "\u{1}")
                        .bytes()
                        .map(|byte| if byte == 1 { 0xff } else { byte })
                        .collect();
                move |dir| write(dir, &bytes)
            },
            0,
            &[(CLINE_FILE, None, "invalid_utf8")],
            4,
        ),
        malformed_document(
            "invalid_utf8_outside_strings",
            CLINE_FILE,
            b"[{\"role\":\xff}]".to_vec(),
            0,
        ),
        case(
            "a_message_that_is_no_object_is_malformed_and_the_rest_read",
            move |dir| write(dir, cline_document(json!(7)).to_string().as_bytes()),
            1,
            &[(CLINE_FILE, None, "malformed")],
            3,
        ),
        case(
            "task_directory_without_the_history_file",
            |dir| {
                write_file(&dir.join(CLINE_TASK).join("ui_messages.json"), b"[]");
                write_file(&dir.join(CLINE_TASK).join("task_metadata.json"), b"{}");
            },
            0,
            &[],
            0,
        ),
        case(
            "history_file_that_is_a_directory",
            |dir| fs::create_dir_all(dir.join(CLINE_FILE)).unwrap(),
            0,
            &[],
            0,
        ),
        case(
            "malformed_task_metadata_is_passed_over",
            {
                let whole = whole.clone();
                move |dir| {
                    write(dir, whole.as_bytes());
                    write_file(
                        &dir.join(CLINE_TASK).join("task_metadata.json"),
                        br#"{"model_usage":7,"environment_history":"#,
                    );
                }
            },
            0,
            &[],
            4,
        ),
        // The extensions' secrets are never read: a link loop there would be reported if it were.
        case(
            "secrets_json_beside_is_never_read",
            {
                let whole = whole.clone();
                move |dir| {
                    write(dir, whole.as_bytes());
                    symlink_loop(&dir.join(CLINE_EXTENSION).join("secrets.json"));
                    symlink_loop(&dir.join(CLINE_TASK).join("secrets.json"));
                    write_file(
                        &dir.join("Code/User/globalStorage/secrets.json"),
                        br#"{"apiKey":"sk-not-for-memtree"}"#,
                    );
                }
            },
            0,
            &[],
            4,
        ),
    ];
    if !running_as_root() {
        cases.push(case(
            "unreadable_history_file",
            {
                let whole = whole.clone();
                move |dir| {
                    write(dir, whole.as_bytes());
                    fs::set_permissions(dir.join(CLINE_FILE), fs::Permissions::from_mode(0o000)).unwrap();
                }
            },
            1,
            &[(CLINE_FILE, None, "unreadable")],
            0,
        ));
    }
    for (index, (template, pointer, value)) in cline_wrong_types().into_iter().enumerate() {
        let name: &'static str = format!("wrong_type_{index}").leak();
        let bytes = cline_document(set(cline_template(template), pointer, value.clone())).to_string();
        eprintln!("cline {name}: {template} {pointer} = {value} -> malformed");
        cases.push(case(
            name,
            move |dir| write(dir, bytes.as_bytes()),
            1,
            &[(CLINE_FILE, None, "malformed")],
            3,
        ));
    }
    cases
}

#[tokio::test]
async fn cline_bad_inputs() {
    run_table("cline", cline_cases()).await;
}
