//! End-to-end: an import that reads every transcript in parts (`MEMTREE_PART_BYTES=1`, the
//! testing knob, makes every message a part of its own) stores exactly the rows of an ordinary
//! import and reports the same sessions, each once, with the rows of all its parts; and it records
//! its files in the ledger, so the next run reads none of them again. Likewise, an import and a
//! dry run that parse every file as a big one (`MEMTREE_BIG_FILE_BYTES=1`: each its own job, in
//! a dry run ahead of its chunk) store the same rows and report the same, in the same order, also
//! when the files grew since the last run and are read on from their checkpoints. And a dry run
//! counts exactly the rows, truncations and secrets an import then stores.

mod common;

use std::path::{Path, PathBuf};

use common::{clean_sources, memtree_command, Run};
use memtree::source::{PartBudget, ResumeRequest, Unit, SOURCES};
use serde_json::Value;

/// `memtree <tool> import --json` of `sources` into `url` with a private HOME and the testing
/// `knobs` set; returns the report of a run that must have succeeded.
fn import(tool: &str, sources: &[String], url: &str, knobs: &[(&str, &str)], extra: &[&str]) -> Value {
    let home = tempfile::tempdir().unwrap();
    Run::of_command(
        memtree_command(home.path())
            .args([tool, "import", "--json", "--database-url", url, "--source"])
            .args(sources)
            .args(extra)
            .envs(knobs.iter().copied()),
    )
    .succeeded()
}

/// The tools whose candidates are transcript files: only those are read in parts and parsed as
/// big files (a store is streamed session by session).
fn transcript_tools() -> Vec<&'static str> {
    let tools: Vec<&'static str> = SOURCES
        .iter()
        .filter(|source| matches!(source.unit(), Unit::Transcript(_)))
        .map(|source| source.name())
        .collect();
    assert!(
        tools.len() >= 2,
        "the transcript sources were not found: {tools:?}"
    );
    tools
}

/// Every stored row, without the import time.
async fn rows(db: &common::TestDb) -> Vec<(uuid::Uuid, String, String, String, String)> {
    let client = db.client().await;
    common::query_rows(
        &client,
        "select id, content, (meta - 'imported_at')::text, tree::text, temporal::text \
         from memory order by id",
        |row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)),
    )
    .await
}

/// The parts of a report that must not depend on how files were read.
fn comparable(report: &Value) -> Value {
    let mut sessions = report["session_list"].as_array().cloned().unwrap_or_default();
    sessions.sort_by_key(|session| session.to_string());
    serde_json::json!({
        "files": report["files"],
        "sessions": report["sessions"],
        "messages": report["messages"],
        "projects": report["projects"],
        "session_list": sessions,
        "diagnostics": report["diagnostics"],
    })
}

/// Every message a part of its own.
const PARTS: &[(&str, &str)] = &[("MEMTREE_PART_BYTES", "1")];
/// Every file parsed as a big one.
const BIG_FILES: &[(&str, &str)] = &[("MEMTREE_BIG_FILE_BYTES", "1")];

/// Every session taken, with every kind of text. Copies of the fixtures live in a temporary
/// directory, which is the cwd of a tool that keeps its sessions in the project (Aider, Crush).
const EVERYTHING: [&str; 4] = [
    "--include-sidechains",
    "--full-transcript",
    "--include-trivial",
    "--include-temp-cwd",
];

/// Imports every clean fixture source of `tool`, with [`EVERYTHING`] and the testing `knobs`,
/// into a database of its own; returns the database and the report.
async fn import_everything(tool: &str, knobs: &[(&str, &str)]) -> (common::TestDb, Value) {
    let db = common::test_db().await;
    let report = import(tool, &clean_sources(tool), &db.url(), knobs, &EVERYTHING);
    (db, report)
}

#[tokio::test]
async fn an_import_in_parts_stores_the_rows_of_a_whole_import() {
    for tool in transcript_tools() {
        let sources = clean_sources(tool);
        let (whole_db, whole) = import_everything(tool, &[]).await;
        let (parts_db, parted) = import_everything(tool, PARTS).await;

        let stored = rows(&whole_db).await;
        assert!(
            stored.len() > 10,
            "{tool}: the fixtures hold more than 10 messages"
        );
        assert_eq!(rows(&parts_db).await, stored, "{tool}: the same rows");
        assert_eq!(comparable(&parted), comparable(&whole), "{tool}: the same report");

        // Every file read in parts is in the ledger: the next run opens none of them (but the
        // files a salvaging run reads, which are read every run, like a store).
        let again = import(tool, &sources, &parts_db.url(), PARTS, &EVERYTHING);
        let roots: Vec<PathBuf> = sources.iter().map(PathBuf::from).collect();
        let salvaged = memtree::source::named(tool)
            .and_then(|source| source.salvage())
            .map_or(0, |salvage| salvage.files(&roots).len() as u64);
        let scanned = |report: &Value| report["files"]["scanned"].as_u64().unwrap();
        assert_eq!(scanned(&again), salvaged, "{tool}");
        assert_eq!(
            again["files"]["unchanged"].as_u64().unwrap(),
            scanned(&whole) - salvaged,
            "{tool}"
        );

        // The session filters judge a session read in parts as a whole one: by default
        // (sidechains and trivial sessions skipped) the same sessions are skipped, for the same
        // reasons.
        let defaults_whole = import(tool, &sources, &whole_db.url(), &[], &["--dry-run"]);
        let defaults_parted = import(tool, &sources, &parts_db.url(), PARTS, &["--dry-run"]);
        assert_eq!(
            comparable(&defaults_parted)["sessions"],
            comparable(&defaults_whole)["sessions"],
            "{tool}"
        );
        assert_eq!(
            comparable(&defaults_parted)["session_list"],
            comparable(&defaults_whole)["session_list"],
            "{tool}"
        );
    }
}

/// A report without what differs from run to run: its time and its database.
fn without_run_details(mut report: Value) -> Value {
    report["duration_ms"] = Value::Null;
    report["database"] = Value::Null;
    report
}

#[tokio::test]
async fn big_files_parsed_as_jobs_of_their_own_change_nothing() {
    let mut files = 0;
    for tool in transcript_tools() {
        let sources = clean_sources(tool);
        let (usual_db, usual) = import_everything(tool, &[]).await;
        let (big_db, big) = import_everything(tool, BIG_FILES).await;
        let scanned = usual["files"]["scanned"].as_u64().unwrap_or(0);
        assert!(scanned >= 2, "{tool}: several files");
        files += scanned;
        assert_eq!(
            rows(&big_db).await,
            rows(&usual_db).await,
            "{tool}: the same rows"
        );
        assert_eq!(
            without_run_details(big),
            without_run_details(usual),
            "{tool}: the same report"
        );

        // A dry run parses big files ahead of their chunks: its report, sessions in their
        // order included, is the same too, by default and with every session taken.
        for extra in [&[][..], &EVERYTHING[..]] {
            let dry: Vec<&str> = extra.iter().copied().chain(["--dry-run"]).collect();
            let empty_db = common::test_db().await;
            let usual = import(tool, &sources, &empty_db.url(), &[], &dry);
            let big = import(tool, &sources, &empty_db.url(), BIG_FILES, &dry);
            assert_eq!(
                without_run_details(big),
                without_run_details(usual),
                "{tool} {extra:?}"
            );
        }
    }
    assert!(files > 40, "the transcript fixtures hold {files} files");
}

/// Copies every source directory into `into` and cuts each transcript there that a read takes a
/// checkpoint of (what `tool`'s parser does tells which: not a compressed one) to its first half
/// of lines; returns the copies and, per cut file, its whole text.
fn halved_copies(
    tool: &str,
    sources: &[String],
    into: &Path,
) -> (Vec<String>, Vec<(std::path::PathBuf, Vec<u8>)>) {
    let source = memtree::source::named(tool).unwrap();
    let Unit::Transcript(parser) = source.unit() else {
        panic!("{tool} reads transcripts");
    };
    let mut copies = Vec::new();
    let mut cut = Vec::new();
    for (index, given) in sources.iter().enumerate() {
        let copy = into.join(index.to_string());
        common::copy_tree(Path::new(given), &copy);
        for candidate in source.discover(std::slice::from_ref(&copy), None).candidates {
            let resume = ResumeRequest {
                from: None,
                checkpoint_wanted: true,
            };
            let read = parser.parse(&candidate, resume, PartBudget::unbounded());
            if read.checkpoint.is_none() {
                continue;
            }
            let whole = std::fs::read(&candidate.path).unwrap();
            let ends = common::line_ends(&whole);
            let half = ends.get(ends.len() / 2).copied().unwrap_or(0);
            std::fs::write(&candidate.path, &whole[..half]).unwrap();
            cut.push((candidate.path, whole));
        }
        copies.push(copy.display().to_string());
    }
    (copies, cut)
}

#[tokio::test]
async fn big_files_are_read_on_from_their_checkpoints() {
    let mut resuming = 0;
    for tool in transcript_tools() {
        let sources = clean_sources(tool);
        let mut stored = Vec::new();
        let mut reports = Vec::new();
        let mut cut_files = 0;
        // Both runs read copies at the same paths, which the rows and reports name.
        let dir = tempfile::tempdir().unwrap();
        for knobs in [&[][..], BIG_FILES] {
            let copy = dir.path().join("copy");
            let _ = std::fs::remove_dir_all(&copy);
            let (copies, cut) = halved_copies(tool, &sources, &copy);
            cut_files = cut.len();
            let db = common::test_db().await;
            import(tool, &copies, &db.url(), knobs, &EVERYTHING);
            for (path, whole) in &cut {
                std::fs::write(path, whole).unwrap();
            }
            let grown = import(tool, &copies, &db.url(), knobs, &EVERYTHING);
            stored.push(rows(&db).await);
            reports.push(without_run_details(grown));
        }
        // A parser that reads whole documents takes no checkpoint: nothing was cut to grow.
        if cut_files > 0 {
            assert!(
                reports[0]["files"]["resumed"].as_u64() > Some(2),
                "{tool}: files read on from checkpoints: {}",
                reports[0]["files"]
            );
            resuming += 1;
        }
        assert_eq!(reports[1], reports[0], "{tool}: the same report");
        assert_eq!(stored[1], stored[0], "{tool}: the same rows");
    }
    assert!(resuming >= 2, "{resuming} sources were read on from checkpoints");
}

/// A Claude session of every kind of row a dry run counts apart from rows: secrets in a prompt,
/// in a cwd and in a message of several blocks, and a tool output past the content bound.
fn session_with_secrets_and_a_giant_output(dir: &Path) -> String {
    let (github, anthropic) = (
        "ghp_R8x2Lq9ZtV4mWc7NpK3sYd6HbF1jGe5QaU0o",
        "sk-ant-api03-Zq8mR2vX7nT4pL9wK3cY6hB1jF5dG0sA8eU2iO7rN4tM9xQ3zV6bC1kH5gJ0fD2lP8aS7wE4yR",
    );
    let session = "77777777-0000-4000-8000-000000000007";
    let line = |kind: &str, n: u32, cwd: &str, message: Value| {
        serde_json::json!({
            "type": kind, "uuid": format!("00000000-0000-4000-8000-{n:012}"), "sessionId": session,
            "timestamp": format!("2026-04-01T10:00:{n:02}.000Z"), "cwd": cwd, "message": message,
        })
        .to_string()
    };
    let giant = "tool output line\n".repeat(600_000);
    let lines = [
        line(
            "user",
            1,
            "/work/app",
            serde_json::json!({"role": "user", "content": format!("use {github}")}),
        ),
        line(
            "assistant",
            2,
            &format!("/home/{github}"),
            serde_json::json!({
                "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [
                    {"type": "thinking", "thinking": format!("the key {anthropic} is live")},
                    {"type": "text", "text": "Running it."},
                    {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": format!("curl -H 'x-api-key: {anthropic}'")}},
                ],
            }),
        ),
        line(
            "user",
            3,
            "/work/app",
            serde_json::json!({"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": giant},
            ]}),
        ),
        line(
            "user",
            4,
            "/work/app",
            serde_json::json!({"role": "user", "content": "thanks"}),
        ),
    ];
    let file = dir.join(format!("{session}.jsonl"));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    file.display().to_string()
}

/// What a report says of the rows a run plans, whether or not it writes them.
fn planned(report: &Value) -> Value {
    let mut messages = report["messages"].clone();
    messages["written"] = Value::Null;
    messages["compared_with_database"] = Value::Null;
    serde_json::json!({
        "sessions": report["sessions"],
        "messages": messages,
        "projects": report["projects"],
        "session_list": report["session_list"],
    })
}

/// A dry run counts its rows where it parses them (their texts are dropped there): it must count
/// exactly what an import then stores, truncated rows and secrets included.
#[tokio::test]
async fn a_dry_run_reports_what_an_import_stores() {
    let generated = tempfile::tempdir().unwrap();
    for tool in SOURCES.iter().map(|source| source.name()) {
        let mut sources = clean_sources(tool);
        if tool == "claude" {
            sources.push(session_with_secrets_and_a_giant_output(generated.path()));
        }
        for extra in [&[][..], &EVERYTHING[..]] {
            let db = common::test_db().await;
            let dry: Vec<&str> = extra.iter().copied().chain(["--dry-run"]).collect();
            let dry_run = import(tool, &sources, &db.url(), &[], &dry);
            let imported = import(tool, &sources, &db.url(), &[], extra);
            assert_eq!(planned(&dry_run), planned(&imported), "{tool} {extra:?}");
            let messages = &imported["messages"];
            assert_eq!(
                messages["written"]["inserted"], messages["planned"],
                "{tool} {extra:?}"
            );
            let client = db.client().await;
            let (truncated, secrets): (i64, i64) = (
                common::query_value(&client, "select count(*) from memory where meta ? 'content_truncated'", &[])
                    .await,
                common::query_value(
                    &client,
                    "select coalesce(sum(value::bigint), 0)::bigint from memory, jsonb_each_text(meta->'redactions')",
                    &[],
                )
                .await,
            );
            assert_eq!(
                Some(truncated as u64),
                messages["truncated"].as_u64(),
                "{tool} {extra:?}"
            );
            let counted: u64 = messages["redactions"]
                .as_object()
                .map_or(0, |kinds| kinds.values().filter_map(Value::as_u64).sum());
            assert_eq!(secrets as u64, counted, "{tool} {extra:?}");
            if tool == "claude" && !extra.is_empty() {
                assert_eq!(truncated, 1, "the giant tool output");
                assert!(
                    secrets >= 4,
                    "the prompt, the cwd and the message of several blocks: {messages}"
                );
            }
        }
    }
}
