//! Codex behaviour the fixture cases cannot show on their own: message ids that stay put when a
//! rollout grows or its noise changes, and discovery of file roots, missing roots and `.zst` twins.

use std::fs;
use std::path::{Path, PathBuf};

use memtree::model::Message;
use memtree::source::{self, Candidate, Source};

fn codex() -> &'static dyn Source {
    source::named("codex").unwrap()
}

const SESSION: &str = "019e1111-0000-7000-8000-000000000001";

fn meta() -> String {
    format!(
        r#"{{"timestamp":"2026-05-01T09:00:00.000Z","type":"session_meta","payload":{{"id":"{SESSION}","timestamp":"2026-05-01T09:00:00.000Z","cwd":"/w/app","source":"cli"}}}}"#
    )
}

fn prompt(second: u32, text: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-05-01T09:00:{second:02}.000Z","type":"event_msg","payload":{{"type":"user_message","message":"{text}"}}}}"#
    )
}

fn answer(second: u32, text: &str) -> String {
    format!(
        r#"{{"timestamp":"2026-05-01T09:00:{second:02}.000Z","type":"response_item","payload":{{"type":"message","role":"assistant","content":[{{"type":"output_text","text":"{text}"}}]}}}}"#
    )
}

fn developer_noise(second: u32) -> String {
    format!(
        r#"{{"timestamp":"2026-05-01T09:00:{second:02}.000Z","type":"response_item","payload":{{"type":"message","role":"developer","content":[{{"type":"input_text","text":"<permissions instructions>"}}]}}}}"#
    )
}

fn rollout_path(dir: &Path) -> PathBuf {
    dir.join(format!("rollout-2026-05-01T11-00-00-{SESSION}.jsonl"))
}

fn parse_lines(path: &Path, lines: &[String]) -> Vec<Message> {
    fs::write(path, lines.join("\n") + "\n").unwrap();
    let candidate = Candidate {
        path: path.to_path_buf(),
        also: Vec::new(),
        sidechain: false,
    };
    let outcome = codex().parse(&candidate);
    assert_eq!(outcome.sessions.len(), 1);
    outcome.sessions.into_iter().next().unwrap().messages
}

fn ids_and_texts(messages: &[Message]) -> Vec<(String, String)> {
    messages
        .iter()
        .map(|message| (message.id.clone(), message.blocks[0].text.clone()))
        .collect()
}

#[test]
fn ids_of_earlier_messages_do_not_change_when_the_rollout_grows() {
    let dir = tempfile::tempdir().unwrap();
    let path = rollout_path(dir.path());
    let mut lines = vec![meta(), prompt(1, "first"), answer(2, "one")];
    let before = ids_and_texts(&parse_lines(&path, &lines));
    lines.extend([prompt(3, "second"), answer(4, "two")]);
    let after = ids_and_texts(&parse_lines(&path, &lines));
    assert_eq!(after[..before.len()], before[..]);
    assert_eq!(after.len(), 4);
}

#[test]
fn ids_do_not_shift_with_the_noise_dropped_before_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = rollout_path(dir.path());
    let noisy = parse_lines(
        &path,
        &[meta(), prompt(1, "first"), developer_noise(2), answer(3, "one")],
    );
    let kept = parse_lines(
        &path,
        &[meta(), prompt(1, "first"), answer(2, "kept"), answer(3, "one")],
    );
    // Whether the line before it is dropped as noise or kept, the answer's id is the same.
    assert_eq!(noisy.len(), 2);
    assert_eq!(kept.len(), 3);
    assert_eq!(noisy[1].blocks[0].text, "one");
    assert_eq!(noisy[1].id, kept[2].id);
    assert_eq!(noisy[1].id, "line:4");
}

#[test]
fn a_rollout_that_was_read_in_the_middle_of_a_write_keeps_its_ids_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = rollout_path(dir.path());
    let full = [meta(), prompt(1, "first"), answer(2, "one")].join("\n");
    let torn = &full[..full.len() - 10];
    fs::write(&path, torn).unwrap();
    let candidate = Candidate {
        path: path.clone(),
        also: Vec::new(),
        sidechain: false,
    };
    let partial = codex().parse(&candidate);
    assert!(partial.stats.torn_tail);
    assert!(partial.diagnostics.is_empty());
    let complete = parse_lines(&path, &[meta(), prompt(1, "first"), answer(2, "one")]);
    let partial_ids = ids_and_texts(&partial.sessions[0].messages);
    assert_eq!(partial_ids[..], ids_and_texts(&complete)[..partial_ids.len()]);
}

#[test]
fn discovery_takes_file_roots_skips_missing_roots_and_prefers_plain_twins() {
    let dir = tempfile::tempdir().unwrap();
    let sessions = dir.path().join("sessions/2026/05/01");
    fs::create_dir_all(&sessions).unwrap();
    let plain = sessions.join(format!("rollout-2026-05-01T11-00-00-{SESSION}.jsonl"));
    fs::write(&plain, meta() + "\n").unwrap();
    fs::write(plain.with_extension("jsonl.zst"), b"").unwrap();
    fs::write(sessions.join("history.jsonl"), b"{}\n").unwrap();
    fs::write(sessions.join("rollout-notes.txt"), b"").unwrap();
    let single = dir.path().join("elsewhere.jsonl");
    fs::write(&single, meta() + "\n").unwrap();

    let roots = [
        dir.path().join("sessions"),
        dir.path().join("archived_sessions"),
        single.clone(),
        plain.clone(),
    ];
    let discovery = codex().discover(&roots, None);
    let paths: Vec<&Path> = discovery
        .candidates
        .iter()
        .map(|candidate| candidate.path.as_path())
        .collect();
    assert_eq!(paths, [plain.as_path(), single.as_path()]);
    assert!(discovery.diagnostics.is_empty());
}

#[test]
fn a_damaged_compressed_rollout_keeps_what_was_read_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join(format!("rollout-2026-05-01T11-00-00-{SESSION}.jsonl.zst"));
    let text = [meta(), prompt(1, "first"), answer(2, "one")].join("\n") + "\n";
    let compressed = zstd::encode_all(text.as_bytes(), 3).unwrap();
    fs::write(&path, &compressed[..compressed.len() - 4]).unwrap();
    let outcome = codex().parse(&Candidate {
        path,
        also: Vec::new(),
        sidechain: false,
    });
    assert_eq!(outcome.sessions.len(), 1);
    assert_eq!(outcome.diagnostics.len(), 1, "{:?}", outcome.diagnostics);
    assert_eq!(
        outcome.diagnostics[0].kind,
        memtree::model::DiagnosticKind::Unreadable
    );
}
