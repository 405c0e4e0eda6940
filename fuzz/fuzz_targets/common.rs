//! The fuzz targets' entry points, shared by the targets and by `tests/fuzz_regressions.rs`
//! (which replays every input kept under `fuzz/regressions/<target>/` in `cargo test`): write
//! the input to files, parse them, check the outcome's invariants.
#![allow(dead_code)] // each target uses its own part

use std::path::Path;

use memtree::source::{self, Candidate, ParseOutcome};

/// A target's entry point: one fuzz input.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz_targets/<name>.rs` and `regressions/<name>/`.
pub const TARGETS: [(&str, Target); 10] = [
    ("claude_lines", claude_lines),
    ("codex_rollout", codex_rollout),
    ("codex_document", codex_document),
    ("opencode_storage", opencode_storage),
    ("gemini_log", gemini_log),
    ("cursor_transcript", cursor_transcript),
    ("copilot_events", copilot_events),
    ("qwen_chat", qwen_chat),
    ("aider_history", aider_history),
    ("crush_parts", crush_parts),
];

/// A Claude Code `<uuid>.jsonl` transcript.
pub fn claude_lines(data: &[u8]) {
    parse_file("claude", "0d9a5e4c-1b2f-4c3d-8e9f-a0b1c2d3e4f5.jsonl", data);
}

/// A Codex `rollout-….jsonl`.
pub fn codex_rollout(data: &[u8]) {
    parse_file(
        "codex",
        "rollout-2025-09-01T10-00-00-5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl",
        data,
    );
}

/// A Codex 2025 single-document `rollout-….json`.
pub fn codex_document(data: &[u8]) {
    parse_file(
        "codex",
        "rollout-2025-09-01-5973b6c0-94b8-487b-a530-2aeb6098ae0e.json",
        data,
    );
}

/// A Gemini CLI chat log in its project's `chats/` directory. Besides the invariants of every
/// target, a read in parts of one byte (every message a part of its own) yields the messages of
/// the whole read, in order: the replay's updates, `$set` lists and rewinds decide the same
/// survivors in both passes.
pub fn gemini_log(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir
        .path()
        .join("tmp/proj/chats/session-2026-06-01T10-00-5973b6c0.jsonl");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    let candidate = Candidate {
        path,
        also: Vec::new(),
        sidechain: false,
    };
    let gemini = source::named("gemini").unwrap();
    let whole = gemini.parse(&candidate);
    check_lines(&whole, dir.path(), data);
    let source::Unit::Transcript(parser) = gemini.unit() else {
        panic!("gemini reads transcripts");
    };
    let budget = source::PartBudget {
        bytes: 1,
        window: Default::default(),
    };
    let parted = parser.parse(&candidate, source::ResumeRequest::default(), budget);
    assert_eq!(parted.diagnostics, whole.diagnostics);
    let mut messages: Vec<_> = parted
        .sessions
        .iter()
        .flat_map(|session| session.messages.clone())
        .collect();
    for outlined in &parted.outlined {
        let problem = parser.reread(&candidate, outlined, 1, &mut |part| {
            messages.extend(part.messages)
        });
        assert_eq!(problem, None);
    }
    let expected: Vec<_> = whole
        .sessions
        .iter()
        .flat_map(|session| session.messages.clone())
        .collect();
    assert_eq!(messages, expected);
}

/// The files of one OpenCode session in the global `storage/` layout, cut from the input at
/// `\n--\n` (missing pieces are `{}`); the whole tree is converted.
pub fn opencode_storage(data: &[u8]) {
    const FILES: [&str; 4] = [
        "session/prj/ses_1.json",
        "message/ses_1/msg_1.json",
        "part/msg_1/prt_1.json",
        "part/msg_1/prt_2.json",
    ];
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    let mut pieces = split(data, b"\n--\n");
    for file in FILES {
        let path = storage.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pieces.next().unwrap_or(b"{}")).unwrap();
    }
    let candidate = Candidate {
        path: storage.clone(),
        also: Vec::new(),
        sidechain: false,
    };
    let outcome = source::named("opencode").unwrap().parse(&candidate);
    check(&outcome, &storage);
}

/// Cursor agent transcripts of the three generations, cut from the input at `\n--\n` into a
/// `.jsonl`, a `.json` and a `.txt` (missing pieces are empty), each a conversation of its own in
/// one project folder; the folder is read whole.
pub fn cursor_transcript(data: &[u8]) {
    const FILES: [&str; 3] = [
        "0d9a5e4c-0000-4000-8000-000000000001.jsonl",
        "0d9a5e4c-0000-4000-8000-000000000002.json",
        "0d9a5e4c-0000-4000-8000-000000000003.txt",
    ];
    let dir = tempfile::tempdir().unwrap();
    let transcripts = dir.path().join("projects/home-dev-proj/agent-transcripts");
    std::fs::create_dir_all(&transcripts).unwrap();
    let mut pieces = split(data, b"\n--\n");
    let mut lines = Vec::new();
    for file in FILES {
        let piece = pieces.next().unwrap_or(b"");
        std::fs::write(transcripts.join(file), piece).unwrap();
        // A `.txt` file's last line needs no newline.
        lines.push((
            transcripts.join(file),
            piece.split(|&byte| byte == b'\n').count() as u64,
        ));
    }
    let candidate = Candidate {
        path: dir.path().to_path_buf(),
        also: Vec::new(),
        sidechain: false,
    };
    let outcome = source::named("cursor").unwrap().parse(&candidate);
    check(&outcome, dir.path());
    let lines_of = |file: &Path| {
        lines
            .iter()
            .find(|(path, _)| path == file)
            .map(|(_, lines)| *lines)
    };
    for diagnostic in &outcome.diagnostics {
        if let (Some(line), Some(lines)) = (diagnostic.line, lines_of(&diagnostic.file)) {
            assert!(
                line >= 1 && line <= lines,
                "line {line} of {lines}: {diagnostic:?}"
            );
        }
    }
    for session in &outcome.sessions {
        let lines = lines_of(Path::new(&session.source_file)).expect("a session of a file written");
        for message in &session.messages {
            assert!(message.line <= lines, "message line {} of {lines}", message.line);
        }
    }
}

/// A Copilot CLI session directory: the input cut at `\n--\n` into its `events.jsonl` and its
/// `workspace.yaml` (missing pieces are empty). Besides the invariants of every target, a read in
/// parts of one byte yields the messages of the whole read, in order.
pub fn copilot_events(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let session = dir
        .path()
        .join("session-state/5973b6c0-94b8-487b-a530-2aeb6098ae0e");
    std::fs::create_dir_all(&session).unwrap();
    let mut pieces = split(data, b"\n--\n");
    let events = pieces.next().unwrap_or(b"");
    std::fs::write(session.join("events.jsonl"), events).unwrap();
    std::fs::write(session.join("workspace.yaml"), pieces.next().unwrap_or(b"")).unwrap();
    let candidate = Candidate {
        path: session.join("events.jsonl"),
        also: Vec::new(),
        sidechain: false,
    };
    let copilot = source::named("copilot").unwrap();
    let whole = copilot.parse(&candidate);
    check_lines(&whole, dir.path(), events);
    check_parts(copilot, &candidate, &whole);
}

/// A Qwen Code runtime directory: the input cut at `\n--\n` into a chat file and its project's
/// prompt log (missing pieces are empty), both listed by discovery and read. Besides the
/// invariants of every target, a read of the chat in parts of one byte yields the messages of
/// the whole read, in order.
pub fn qwen_chat(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let chat = dir
        .path()
        .join("projects/-home-dev-proj/chats/5973b6c0-94b8-487b-a530-2aeb6098ae0e.jsonl");
    let log = dir.path().join("tmp/0f3a/logs.json");
    let mut pieces = split(data, b"\n--\n");
    let chat_bytes = pieces.next().unwrap_or(b"");
    for (path, bytes) in [(&chat, chat_bytes), (&log, pieces.next().unwrap_or(b""))] {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let qwen = source::named("qwen").unwrap();
    let discovery = qwen.discover(&[dir.path().to_path_buf()], None);
    let listed: Vec<_> = discovery
        .candidates
        .iter()
        .map(|candidate| &candidate.path)
        .collect();
    assert_eq!(listed, [&chat, &log]);
    for candidate in &discovery.candidates {
        let outcome = qwen.parse(candidate);
        if candidate.path == chat {
            check_lines(&outcome, dir.path(), chat_bytes);
            check_parts(qwen, candidate, &outcome);
        } else {
            check(&outcome, dir.path());
        }
    }
}

/// A read of `candidate` in parts of one byte (every message a part of its own) yields the
/// messages of `whole`, its whole read, in order, and the same diagnostics.
fn check_parts(source: &dyn source::Source, candidate: &Candidate, whole: &ParseOutcome) {
    let source::Unit::Transcript(parser) = source.unit() else {
        panic!("{} reads transcripts", source.name());
    };
    let budget = source::PartBudget {
        bytes: 1,
        window: Default::default(),
    };
    let parted = parser.parse(candidate, source::ResumeRequest::default(), budget);
    assert_eq!(parted.diagnostics, whole.diagnostics);
    let mut messages: Vec<_> = parted
        .sessions
        .iter()
        .flat_map(|session| session.messages.clone())
        .collect();
    let mut outlined: Vec<_> = parted.outlined.iter().collect();
    outlined.sort_by_key(|outlined| outlined.session.facts.is_sidechain);
    for outlined in outlined {
        let problem = parser.reread(candidate, outlined, 1, &mut |part| messages.extend(part.messages));
        assert_eq!(problem, None);
    }
    let mut sessions: Vec<_> = whole.sessions.iter().collect();
    sessions.sort_by_key(|session| session.facts.is_sidechain);
    let expected: Vec<_> = sessions
        .into_iter()
        .flat_map(|session| session.messages.clone())
        .collect();
    assert_eq!(messages, expected);
}

/// An Aider chat history and its input history, cut from the input at `\n--\n`, in a project
/// directory. Besides the invariants of every target: a read in parts of one byte yields the
/// whole read's messages, and so does a read of the first half of its lines followed by a read
/// on from that read's checkpoint (the messages after the checkpoint read again, in their final
/// version).
pub fn aider_history(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let mut pieces = split(data, b"\n--\n");
    let history = pieces.next().unwrap_or_default();
    let path = dir.path().join(".aider.chat.history.md");
    std::fs::write(&path, history).unwrap();
    if let Some(inputs) = pieces.next() {
        std::fs::write(dir.path().join(".aider.input.history"), inputs).unwrap();
    }
    let candidate = Candidate {
        path: path.clone(),
        also: Vec::new(),
        sidechain: false,
    };
    let aider = source::named("aider").unwrap();
    let whole = aider.parse(&candidate);
    check_lines(&whole, dir.path(), history);
    check_parts(aider, &candidate, &whole);

    let source::Unit::Transcript(parser) = aider.unit() else {
        panic!("aider reads transcripts");
    };
    let messages = |sessions: &[memtree::model::Session]| -> Vec<memtree::model::Message> {
        sessions
            .iter()
            .flat_map(|session| session.messages.clone())
            .collect()
    };
    let expected = messages(&whole.sessions);

    let ends: Vec<usize> = (0..history.len())
        .filter(|&at| history[at] == b'\n')
        .map(|at| at + 1)
        .collect();
    let Some(&cut) = ends.get(ends.len() / 2) else {
        return;
    };
    std::fs::write(&path, &history[..cut]).unwrap();
    let resume = source::ResumeRequest {
        from: None,
        checkpoint_wanted: true,
    };
    let before = parser.parse(&candidate, resume, source::PartBudget::unbounded());
    let Some(checkpoint) = before.checkpoint else {
        return;
    };
    assert!(checkpoint.consumed <= cut as u64);
    std::fs::write(&path, history).unwrap();
    let resume = source::ResumeRequest {
        from: Some(&checkpoint),
        checkpoint_wanted: true,
    };
    let after = parser.parse(&candidate, resume, source::PartBudget::unbounded());
    let mut joined: Vec<_> = messages(&before.sessions)
        .into_iter()
        .filter(|message| message.line <= checkpoint.lines)
        .collect();
    joined.extend(messages(&after.sessions));
    assert_eq!(joined, expected);
}

/// The `parts` of a Crush session's three messages (a prompt, an answer, a tool's result), cut
/// from the input at `\n--\n`, in a database of Crush's schema.
pub fn crush_parts(data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join(".crush");
    std::fs::create_dir_all(&data_dir).unwrap();
    let db = data_dir.join("crush.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE sessions (id TEXT PRIMARY KEY, parent_session_id TEXT, title TEXT NOT NULL, \
           message_count INTEGER NOT NULL DEFAULT 0, updated_at INTEGER NOT NULL, created_at INTEGER NOT NULL, \
           summary_message_id TEXT);
         CREATE TABLE messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL, \
           parts TEXT NOT NULL DEFAULT '[]', model TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, \
           finished_at INTEGER, provider TEXT, is_summary_message INTEGER DEFAULT 0 NOT NULL);
         INSERT INTO sessions VALUES ('s1', NULL, 'New Session', 3, 1756720900, 1756720800, 'm9');",
    )
    .unwrap();
    let mut pieces = split(data, b"\n--\n");
    for (n, role) in ["user", "assistant", "tool"].into_iter().enumerate() {
        let parts = pieces.next().unwrap_or(b"[]").to_vec();
        conn.execute(
            "INSERT INTO messages VALUES (?1, 's1', ?2, ?3, 'm', ?4, ?4, ?4, 'p', 0)",
            rusqlite::params![format!("m{n}"), role, parts, 1_756_720_801 + n as i64],
        )
        .unwrap();
    }
    drop(conn);
    let candidate = Candidate {
        path: data_dir,
        also: Vec::new(),
        sidechain: false,
    };
    let outcome = source::named("crush").unwrap().parse(&candidate);
    check(&outcome, dir.path());
    let messages: usize = outcome
        .sessions
        .iter()
        .map(|session| session.messages.len())
        .sum();
    assert!(messages <= 3);
}

/// Parses `data` as the file `name` of `tool`; parsing must not panic and its diagnostics must
/// point at lines the file has.
pub fn parse_file(tool: &str, name: &str, data: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, data).unwrap();
    let candidate = Candidate {
        path: path.clone(),
        also: Vec::new(),
        sidechain: false,
    };
    let outcome = source::named(tool).unwrap().parse(&candidate);
    check_lines(&outcome, dir.path(), data);
}

/// [`check`], and every line a diagnostic or a message names is a line of `data`.
fn check_lines(outcome: &ParseOutcome, root: &Path, data: &[u8]) {
    check(outcome, root);
    let lines = data.iter().filter(|&&byte| byte == b'\n').count() as u64;
    for diagnostic in &outcome.diagnostics {
        if let Some(line) = diagnostic.line {
            assert!(
                line >= 1 && line <= lines,
                "line {line} of {lines}: {diagnostic:?}"
            );
        }
    }
    for session in &outcome.sessions {
        for message in &session.messages {
            assert!(message.line <= lines, "message line {} of {lines}", message.line);
        }
    }
}

/// Every diagnostic names a file under `root`.
pub fn check(outcome: &ParseOutcome, root: &Path) {
    for diagnostic in &outcome.diagnostics {
        assert!(diagnostic.file.starts_with(root), "{diagnostic:?}");
    }
}

/// `data` cut at every `separator`.
pub fn split<'a>(data: &'a [u8], separator: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let current = rest?;
        match current
            .windows(separator.len())
            .position(|window| window == separator)
        {
            Some(at) => {
                rest = Some(&current[at + separator.len()..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}
