//! Salvage end to end, for Claude Code: the real binary and a real PostgreSQL (tests/common).
//! The prompts `~/.claude/history.jsonl` keeps of a session whose transcript is gone are stored
//! as salvaged user rows; never those of a session whose transcript is on disk or already
//! imported; and when the transcript returns, its rows replace the salvaged ones, with no prompt
//! stored twice.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{memtree, TestDb};
use serde_json::{json, Value};

const KEPT: &str = "aaaaaaaa-1111-4000-8000-000000000001";
const GONE: &str = "bbbbbbbb-2222-4000-8000-000000000002";

/// A Claude Code home: transcripts under `.claude/projects`, the prompt history beside them.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Home {
        let home = Home {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir_all(home.project_dir()).unwrap();
        home
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn project_dir(&self) -> PathBuf {
        self.path().join(".claude/projects/-w-app")
    }

    fn history(&self) -> PathBuf {
        self.path().join(".claude/history.jsonl")
    }

    fn transcript(&self, session: &str) -> PathBuf {
        self.project_dir().join(format!("{session}.jsonl"))
    }

    /// Writes `session`'s transcript: each prompt (at its second) and an answer to it.
    fn write_transcript(&self, session: &str, prompts: &[(&str, u32)]) {
        let mut lines = String::new();
        for (n, (prompt, second)) in prompts.iter().enumerate() {
            let line = |kind: &str, uuid: String, at: u32, message: Value| {
                json!({"sessionId": session, "cwd": "/w/app", "version": "2.1.90", "type": kind,
                       "uuid": uuid, "timestamp": format!("2026-03-01T10:00:{at:02}.000Z"),
                       "message": message})
                .to_string()
                    + "\n"
            };
            lines += &line(
                "user",
                format!("{session}-u{n}"),
                *second,
                json!({"role": "user", "content": prompt}),
            );
            lines += &line(
                "assistant",
                format!("{session}-a{n}"),
                second + 1,
                json!({"role": "assistant", "model": "claude-sonnet-4-5",
                       "content": [{"type": "text", "text": format!("done: {prompt}")}]}),
            );
        }
        fs::write(self.transcript(session), lines).unwrap();
    }

    /// Appends prompts of `session` to the history, as Claude Code records them when typed.
    fn type_prompts(&self, session: &str, prompts: &[(&str, u32)]) {
        let mut history = fs::read_to_string(self.history()).unwrap_or_default();
        for (prompt, second) in prompts {
            let at = chrono::DateTime::parse_from_rfc3339(&format!("2026-03-01T10:00:{second:02}Z")).unwrap();
            history += &(json!({"display": prompt, "pastedContents": {}, "timestamp": at.timestamp_millis(),
                                "project": "/w/app", "sessionId": session})
            .to_string()
                + "\n");
        }
        fs::write(self.history(), history).unwrap();
    }

    fn import(&self, db: &TestDb, extra: &[&str]) -> Value {
        let url = db.url();
        let mut args = vec!["claude", "import", "--json", "--database-url", &url];
        args.extend_from_slice(extra);
        memtree(&args, self.path()).succeeded_as("claude import")
    }
}

/// Every stored row of `session`: role, content and the file it was salvaged from, in order.
async fn rows_of(db: &TestDb, session: &str) -> Vec<(String, String, Option<String>)> {
    let client = db.client().await;
    let sql = "select meta->>'source_message_role', content, meta->>'salvaged_from' from memory \
               where meta->>'source_session_id' = $1 order by lower(temporal), content";
    let rows = client.query(sql, &[&session]).await.unwrap();
    rows.iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect()
}

fn owned(rows: &[(&str, &str, Option<&str>)]) -> Vec<(String, String, Option<String>)> {
    rows.iter()
        .map(|(role, content, from)| (role.to_string(), content.to_string(), from.map(str::to_owned)))
        .collect()
}

#[tokio::test]
async fn prompts_of_a_gone_transcript_are_salvaged_once_and_replaced_when_it_returns() {
    let db = common::test_db().await;
    let home = Home::new();
    let kept_prompts = [("add a health endpoint", 0), ("and a readiness probe", 10)];
    let gone_prompts = [("why does the build fail", 20), ("make the test pass", 30)];
    home.write_transcript(KEPT, &kept_prompts);
    home.type_prompts(KEPT, &kept_prompts);
    home.type_prompts(GONE, &gone_prompts);
    home.type_prompts("cccccccc-3333-4000-8000-000000000003", &[("a lone prompt", 40)]);
    let history = home.history().display().to_string();

    let report = home.import(&db, &["--no-salvage"]);
    assert_eq!(report["sessions"]["imported"], 1, "{report}");
    assert!(
        rows_of(&db, GONE).await.is_empty(),
        "--no-salvage salvages nothing"
    );

    let report = home.import(&db, &[]);
    let salvaged = owned(&[
        ("user", "why does the build fail", Some(&history)),
        ("user", "make the test pass", Some(&history)),
    ]);
    assert_eq!(rows_of(&db, GONE).await, salvaged, "{report}");
    let transcript_rows = owned(&[
        ("user", "add a health endpoint", None),
        ("assistant", "done: add a health endpoint", None),
        ("user", "and a readiness probe", None),
        ("assistant", "done: and a readiness probe", None),
    ]);
    assert_eq!(
        rows_of(&db, KEPT).await,
        transcript_rows,
        "a session whose transcript is on disk is read from it alone"
    );
    assert_eq!(
        report["sessions"]["skipped"]["trivial"], 1,
        "a salvaged session meets the same rules as a transcript: {report}"
    );

    // Read again unchanged, the history plans nothing: its sessions' last prompts are recorded.
    let report = home.import(&db, &[]);
    assert_eq!(common::written(&report), (0, 0, 0), "{report}");
    assert_eq!(
        (&report["sessions"]["found"], &report["sessions"]["unchanged"]),
        (&json!(0), &json!(2)),
        "{report}"
    );

    // Claude Code deletes the imported transcript; the next prompt rewrites the history.
    fs::remove_file(home.transcript(KEPT)).unwrap();
    home.type_prompts(GONE, &[("one more thing", 50)]);
    let report = home.import(&db, &[]);
    assert_eq!(
        report["sessions"]["skipped"]["transcript_imported"], 1,
        "{report}"
    );
    assert_eq!(
        rows_of(&db, KEPT).await,
        transcript_rows,
        "an imported transcript's session is not salvaged again"
    );
    assert_eq!(rows_of(&db, GONE).await.len(), 3);

    // The gone transcript is restored from a backup: its rows replace the salvaged ones.
    let restored = [
        ("why does the build fail", 20),
        ("make the test pass", 30),
        ("one more thing", 50),
    ];
    home.write_transcript(GONE, &restored);
    let report = home.import(&db, &[]);
    assert_eq!(report["messages"]["written"]["superseded"], 3, "{report}");
    let replaced = owned(&[
        ("user", "why does the build fail", None),
        ("assistant", "done: why does the build fail", None),
        ("user", "make the test pass", None),
        ("assistant", "done: make the test pass", None),
        ("user", "one more thing", None),
        ("assistant", "done: one more thing", None),
    ]);
    assert_eq!(rows_of(&db, GONE).await, replaced);

    let report = home.import(&db, &["--rescan"]);
    assert_eq!(
        common::written(&report),
        (0, 0, 6),
        "read again, nothing is salvaged twice: {report}"
    );
    assert_eq!(rows_of(&db, GONE).await, replaced);
}
