//! Property tests of every parser on generated input, written to files in a tempdir and read
//! through `memtree::source::parse` exactly as an import reads them.
//!
//! Two kinds of input: arbitrary bytes, and structure-aware JSON lines (valid envelopes of each
//! format whose fields get values of random type). Properties: parsing never panics; every
//! diagnostic names the file read and, when it has a line, a line the file has; every message
//! sits on a line the file has; and a clean line among mutated ones is still imported.
//!
//! `PROPTEST_CASES` raises the number of cases (the default keeps `cargo test` fast).

use std::path::Path;

use memtree::source::{self, Candidate, ParseOutcome};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const CLAUDE_FILE: &str = "0d9a5e4c-1b2f-4c3d-8e9f-a0b1c2d3e4f5.jsonl";
const CODEX_FILE: &str = "rollout-2025-09-01T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl";
const CODEX_DOCUMENT: &str = "rollout-2025-09-01-5973b6c0-94b8-487b-a530-2aeb6098ae0e.json";
const TS: &str = "2025-09-01T10:00:00Z";

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(64),
        // Failures are kept as regression cases by the assertion messages, not in files.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Parses `bytes` as the file `name` of `tool` and checks the properties every input must meet.
fn parse_file(tool: &str, name: &str, bytes: &[u8]) -> ParseOutcome {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let outcome = source::named(tool).unwrap().parse(&Candidate {
        path: path.clone(),
        also: Vec::new(),
        sidechain: false,
    });
    check_lines(&outcome, dir.path(), bytes);
    outcome
}

/// Diagnostics name files under `root`; lines (diagnostics' and messages') exist in `bytes`.
fn check_lines(outcome: &ParseOutcome, root: &Path, bytes: &[u8]) {
    let lines = bytes.iter().filter(|&&byte| byte == b'\n').count() as u64;
    for diagnostic in &outcome.diagnostics {
        assert!(diagnostic.file.starts_with(root), "{diagnostic:?}");
        if let Some(line) = diagnostic.line {
            assert!(
                (1..=lines).contains(&line),
                "line {line} of {lines}: {diagnostic:?}"
            );
        }
    }
    for session in &outcome.sessions {
        for message in &session.messages {
            assert!(
                message.line <= lines,
                "message on line {} of {lines}",
                message.line
            );
        }
    }
}

/// Any JSON value, a few levels deep, with strings that include NUL and non-ASCII text.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z\\x00é\"\\\\ \n]{0,8}".prop_map(Value::String),
        Just(json!("99999-01-01T00:00:00Z")),
        Just(json!(TS)),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Replaces the member at a JSON pointer (creating nothing: a missing parent is left alone).
fn mutate(mut record: Value, pointer: &str, value: Value) -> Value {
    if let Some((parent, key)) = pointer.rsplit_once('/') {
        match record.pointer_mut(parent) {
            Some(Value::Object(object)) => {
                object.insert(key.to_owned(), value);
            }
            Some(Value::Array(array)) => {
                if let Some(slot) = key.parse::<usize>().ok().and_then(|at| array.get_mut(at)) {
                    *slot = value;
                }
            }
            _ => {}
        }
    }
    record
}

/// A record of a format with some of its fields (named by pointer) set to random values.
fn mutated(template: Value, pointers: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(pointers), any_json()), 1..4).prop_map(move |changes| {
        changes
            .into_iter()
            .fold(template.clone(), |record, (pointer, value)| {
                mutate(record, pointer, value)
            })
    })
}

/// One line of a generated file: a clean record (imported, with a known text) or anything else.
#[derive(Clone, Debug)]
enum Line {
    Clean(String),
    Other(Vec<u8>),
}

/// Lines joined with newlines; the clean ones are records made by `clean` from their text.
fn file_of(lines: &[Line], clean: impl Fn(usize, &str) -> Value) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        match line {
            Line::Clean(text) => bytes.extend(clean(index, text).to_string().into_bytes()),
            Line::Other(other) => bytes.extend(other.iter().filter(|&&byte| byte != b'\n')),
        }
        bytes.push(b'\n');
    }
    bytes
}

fn lines_strategy(other: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<Line>> {
    prop::collection::vec(
        prop_oneof![
            1 => "[a-z]{1,12}".prop_map(Line::Clean),
            3 => other.prop_map(Line::Other),
        ],
        1..8,
    )
}

// Claude Code

fn claude_user(index: usize, text: &str) -> Value {
    json!({"type":"user","uuid":format!("clean-{index}"),"sessionId":"s","timestamp":TS,"cwd":"/p",
        "message":{"role":"user","content":text}})
}

const CLAUDE_POINTERS: &[&str] = &[
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
    "/isApiErrorMessage",
    "/promptId",
    "/summary",
    "/aiTitle",
    "/customTitle",
    "/message",
    "/message/model",
    "/message/content",
    "/message/content/0",
    "/message/content/0/type",
    "/message/content/0/text",
    "/message/content/1/thinking",
    "/message/content/2/id",
    "/message/content/2/name",
    "/message/content/2/input",
    "/message/content/3/tool_use_id",
    "/message/content/3/content",
];

fn claude_template() -> Value {
    json!({"type":"assistant","uuid":"m","sessionId":"s","timestamp":TS,"cwd":"/p","gitBranch":"main",
        "version":"2.0.0","isSidechain":false,"isMeta":false,"promptId":"p","summary":"t","aiTitle":"t",
        "customTitle":"t","message":{"model":"claude-x","content":[
            {"type":"text","text":"x"},{"type":"thinking","thinking":"y"},
            {"type":"tool_use","id":"t1","name":"Bash","input":{}},
            {"type":"tool_result","tool_use_id":"t1","content":"out"}]}})
}

fn claude_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        mutated(claude_template(), CLAUDE_POINTERS).prop_map(|record| record.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

// Codex CLI

const CODEX_POINTERS: &[&str] = &[
    "/timestamp",
    "/type",
    "/payload",
    "/ordinal",
    "/record_type",
    "/payload/type",
    "/payload/id",
    "/payload/role",
    "/payload/content",
    "/payload/content/0",
    "/payload/content/0/text",
    "/payload/summary",
    "/payload/name",
    "/payload/arguments",
    "/payload/input",
    "/payload/call_id",
    "/payload/output",
    "/payload/message",
    "/payload/action",
    "/payload/cwd",
    "/payload/model",
    "/payload/git",
    "/payload/source",
    "/payload/thread_source",
    "/payload/agent_role",
    "/payload/parent_thread_id",
];

fn codex_templates() -> Vec<Value> {
    let wrap = |kind: &str, payload: Value| json!({"timestamp":TS,"type":kind,"payload":payload});
    vec![
        wrap("turn_context", json!({"cwd":"/p","model":"gpt-5"})),
        wrap(
            "response_item",
            json!({"type":"message","role":"assistant","content":[{"type":"output_text","text":"x"}]}),
        ),
        wrap(
            "response_item",
            json!({"type":"function_call","name":"shell","arguments":"{}","call_id":"c"}),
        ),
        wrap(
            "response_item",
            json!({"type":"function_call_output","call_id":"c","output":"o"}),
        ),
        wrap(
            "response_item",
            json!({"type":"reasoning","summary":[{"type":"summary_text","text":"r"}]}),
        ),
        wrap(
            "response_item",
            json!({"type":"local_shell_call","action":{"command":["ls"]}}),
        ),
        wrap("event_msg", json!({"type":"agent_message","message":"m"})),
    ]
}

fn codex_message(index: usize, text: &str) -> Value {
    json!({"timestamp":TS,"type":"response_item","payload":{"type":"message","role":"assistant",
        "id":format!("clean-{index}"),"content":[{"type":"output_text","text":text}]}})
}

fn codex_line() -> impl Strategy<Value = Vec<u8>> {
    let templates = codex_templates();
    prop_oneof![
        prop::sample::select(templates)
            .prop_flat_map(|template| mutated(template, CODEX_POINTERS))
            .prop_map(|record| record.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

fn codex_meta() -> Vec<u8> {
    let meta = json!({"timestamp":TS,"type":"session_meta","payload":{"id":"5973b6c0-94b8-487b-a530-2aeb6098ae0e",
        "timestamp":TS,"cwd":"/p"}});
    format!("{meta}\n").into_bytes()
}

// OpenCode

/// Converts one session of the JSON storage whose part file holds `part` (and message file
/// `message`), checking the universal properties; returns the texts imported.
fn opencode_storage(message: &[u8], part: &[u8]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let files: [(&str, &[u8]); 5] = [
        (
            "session/prj/ses_1.json",
            br#"{"id":"ses_1","directory":"/p","time":{"created":1756720800000}}"#,
        ),
        ("message/ses_1/msg_1.json", message),
        ("part/msg_1/prt_1.json", part),
        (
            "message/ses_1/msg_2.json",
            br#"{"role":"assistant","time":{"created":1756720800001}}"#,
        ),
        ("part/msg_2/prt_1.json", br#"{"type":"text","text":"clean"}"#),
    ];
    for (file, body) in files {
        let path = storage.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    let outcome = source::named("opencode").unwrap().parse(&Candidate {
        path: storage,
        also: Vec::new(),
        sidechain: false,
    });
    check_lines(&outcome, dir.path(), b"");
    outcome
        .sessions
        .iter()
        .flat_map(|session| &session.messages)
        .flat_map(|message| &message.blocks)
        .map(|block| block.text.clone())
        .collect()
}

const OPENCODE_MESSAGE_POINTERS: &[&str] = &[
    "/role",
    "/time",
    "/time/created",
    "/model",
    "/modelID",
    "/providerID",
    "/agent",
    "/mode",
    "/path",
    "/path/cwd",
];
const OPENCODE_PART_POINTERS: &[&str] = &[
    "/type",
    "/text",
    "/synthetic",
    "/ignored",
    "/tool",
    "/state",
    "/state/input",
    "/state/output",
    "/state/error",
    "/filename",
    "/mime",
    "/url",
    "/source",
    "/files",
];

fn opencode_part() -> impl Strategy<Value = Vec<u8>> {
    let templates = vec![
        json!({"type":"text","text":"t"}),
        json!({"type":"reasoning","text":"r"}),
        json!({"type":"tool","tool":"bash","state":{"input":{"c":1},"output":"o"}}),
        json!({"type":"file","filename":"f","mime":"image/png","url":"data:x"}),
        json!({"type":"patch","files":["a"]}),
    ];
    prop_oneof![
        prop::sample::select(templates)
            .prop_flat_map(|template| mutated(template, OPENCODE_PART_POINTERS))
            .prop_map(|record| record.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_bytes_never_break_a_parser(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        parse_file("claude", CLAUDE_FILE, &bytes);
        parse_file("codex", CODEX_FILE, &bytes);
        parse_file("codex", CODEX_DOCUMENT, &bytes);
        opencode_storage(&bytes, &bytes);
    }

    #[test]
    fn claude_clean_lines_survive_any_neighbours(lines in lines_strategy(claude_line())) {
        let bytes = file_of(&lines, claude_user);
        let outcome = parse_file("claude", CLAUDE_FILE, &bytes);
        for (index, line) in lines.iter().enumerate() {
            if let Line::Clean(text) = line {
                let imported = outcome.sessions.iter().flat_map(|session| &session.messages).any(|message| {
                    message.line == index as u64 + 1 && message.blocks.iter().any(|block| &block.text == text)
                });
                prop_assert!(imported, "clean line {} ({text}) not imported: {:?}", index + 1, outcome.diagnostics);
            }
        }
    }

    #[test]
    fn codex_lines_of_any_field_types_never_break_the_parser(lines in lines_strategy(codex_line())) {
        let mut bytes = codex_meta();
        bytes.extend(file_of(&lines, codex_message));
        let outcome = parse_file("codex", CODEX_FILE, &bytes);
        prop_assert_eq!(outcome.sessions.len(), 1);
    }

    #[test]
    fn codex_documents_of_any_item_types_never_break_the_parser(
        items in prop::collection::vec(any_json(), 0..6),
        session in any_json(),
    ) {
        let document = json!({"session": session, "items": items});
        parse_file("codex", CODEX_DOCUMENT, document.to_string().as_bytes());
    }

    #[test]
    fn opencode_records_of_any_field_types_never_break_the_conversion(
        part in opencode_part(),
        message in mutated(
            json!({"role":"user","time":{"created":1756720800000_i64},"model":{"modelID":"m"},"path":{"cwd":"/p"}}),
            OPENCODE_MESSAGE_POINTERS,
        ),
    ) {
        let texts = opencode_storage(message.to_string().as_bytes(), &part);
        // The other message's part is untouched: it is always imported.
        prop_assert!(texts.iter().any(|text| text == "clean"), "{texts:?}");
    }
}
