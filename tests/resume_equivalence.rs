//! Reading a grown transcript on from a checkpoint yields what reading it whole does: for every
//! transcript in the fixtures of every transcript source that a read takes a checkpoint of (what
//! the parser does tells which: a compressed file, rewritten whole by its tool, has none), cut at
//! line boundaries, the messages read before the cut followed by those read on from the
//! checkpoint are the messages of a whole read, with the same session facts, line numbers and
//! diagnostics. A parser may decline a checkpoint where its state cannot yet be told (a Codex
//! file of the wrapped era takes none before its first `user_message` event: until then its user
//! items might be the prompts), but each source with such a transcript must take one at most of
//! its cuts. A source whose every file is read whole (a document its tool rewrites whole, as
//! Cline's tasks are) has nothing to cut.
//!
//! A checkpoint is at the cut, or before it at the start of what the lines after the cut may
//! still change (an Aider message ends only where the next begins): the read on from it reads
//! those lines again, so what the read before the cut took from them comes out again, in its
//! final version, and nothing else does. A session with messages settled before the checkpoint
//! is marked resumed.
//!
//! A tool that rewrites messages in place (Gemini CLI appends a message again when it updates it,
//! and rewinds drop messages) makes a read on from a checkpoint emit a message again in its final
//! version, and a whole read lose messages a rewind dropped after the cut, which an earlier run
//! imported and memtree keeps. For those sources the joined reads are compared by the last
//! version of each id, and a message the whole read lacks is allowed when it came before the cut;
//! every other source must join exactly.

mod common;

use std::collections::HashSet;

use memtree::model::{Checkpoint, Message, ResumeOutcome, Session};
use memtree::source::{
    self, Candidate, ParseOutcome, PartBudget, ResumeRequest, TranscriptParser, Unit, SOURCES,
};

/// At most this many cut points per file (evenly spread), so long fixtures stay quick.
const MAX_CUTS: usize = 40;

/// The sources whose transcripts update and drop messages in place.
const REWRITTEN_IN_PLACE: &[&str] = &["gemini"];

fn parse(parser: &dyn TranscriptParser, candidate: &Candidate, from: Option<&Checkpoint>) -> ParseOutcome {
    let resume = ResumeRequest {
        from,
        checkpoint_wanted: true,
    };
    parser.parse(candidate, resume, PartBudget::unbounded())
}

/// Where to cut a file: after whole lines, at most [`MAX_CUTS`] places spread evenly.
fn cut_points(bytes: &[u8]) -> Vec<usize> {
    let ends = common::line_ends(bytes);
    let step = ends.len().div_ceil(MAX_CUTS).max(1);
    ends.into_iter().step_by(step).collect()
}

/// A session's facts without the resume marker, for comparing a resumed read with a whole one.
fn facts_of(session: &Session) -> memtree::model::SessionFacts {
    memtree::model::SessionFacts {
        resumed: false,
        ..session.facts.clone()
    }
}

/// Compares one cut of one file; returns a description of every difference, or `None` when the
/// read before the cut took no checkpoint.
fn check_cut(
    parser: &dyn TranscriptParser,
    rewrites_in_place: bool,
    candidate: &Candidate,
    whole: &[u8],
    cut: usize,
    full: &ParseOutcome,
) -> Option<Vec<String>> {
    let path = &candidate.path;
    let label = format!("{} cut at byte {cut}", path.display());
    let mut problems = Vec::new();
    std::fs::write(path, &whole[..cut]).unwrap();
    let before = parse(parser, candidate, None);
    let checkpoint = before.checkpoint.clone()?;
    let at = checkpoint.consumed;
    let at_line_end = at == 0 || whole.get(at as usize - 1) == Some(&b'\n');
    if at > cut as u64 || !at_line_end {
        problems.push(format!("{label}: checkpoint at {at} bytes"));
    }
    std::fs::write(path, whole).unwrap();
    let after = parse(parser, candidate, Some(&checkpoint));
    if after.resume != (ResumeOutcome::Resumed { at }) {
        problems.push(format!("{label}: read {:?}", after.resume));
    }
    if after.stats.bytes + at != full.stats.bytes || after.stats.lines + checkpoint.lines != full.stats.lines
    {
        problems.push(format!("{label}: stats {:?} after {:?}", after.stats, checkpoint));
    }
    let next = after
        .checkpoint
        .as_ref()
        .map(|next| (next.consumed, next.lines, &next.prefix_sha256));
    let whole_checkpoint = full
        .checkpoint
        .as_ref()
        .map(|next| (next.consumed, next.lines, &next.prefix_sha256));
    if next != whole_checkpoint {
        problems.push(format!(
            "{label}: the next checkpoint differs from a whole read's"
        ));
    }
    for session in &full.sessions {
        let earlier = before
            .sessions
            .iter()
            .find(|s| s.id == session.id && s.facts.is_sidechain == session.facts.is_sidechain);
        let later = after
            .sessions
            .iter()
            .find(|s| s.id == session.id && s.facts.is_sidechain == session.facts.is_sidechain);
        let earlier_messages = earlier.map_or(&[][..], |session| &session.messages[..]);
        let later_messages = later.map_or(&[][..], |session| &session.messages[..]);
        let (joined, rewritten) = join(earlier_messages, later_messages, &session.messages);
        // Read again: what the read before the cut took from the lines after its checkpoint.
        let unsettled: Vec<&str> = earlier_messages
            .iter()
            .filter(|message| message.line > checkpoint.lines)
            .map(|message| message.id.as_str())
            .collect();
        let all_read_again = unsettled
            .iter()
            .all(|id| later_messages.iter().any(|message| message.id == *id));
        if !rewrites_in_place && (rewritten != unsettled.len() || !all_read_again) {
            problems.push(format!(
                "{label}: session {}: {rewritten} messages read twice or dropped, {} after the checkpoint",
                session.id,
                unsettled.len()
            ));
        }
        if joined != session.messages {
            let ids = |messages: &[memtree::model::Message]| {
                messages.iter().map(|m| m.id.clone()).collect::<Vec<_>>()
            };
            problems.push(format!(
                "{label}: session {} messages differ: joined {:?}, whole {:?}",
                session.id,
                ids(&joined),
                ids(&session.messages)
            ));
        }
        if let Some(later) = later {
            let settled = earlier_messages.len() > unsettled.len();
            if settled && !later.facts.resumed {
                problems.push(format!("{label}: session {} not marked resumed", session.id));
            }

            if facts_of(later) != session.facts {
                problems.push(format!(
                    "{label}: session {} facts differ: resumed {:?}, whole {:?}",
                    session.id, later.facts, session.facts
                ));
            }
        }
    }
    if after.sessions.iter().any(|session| session.messages.is_empty()) {
        problems.push(format!("{label}: a resumed session without new messages"));
    }
    // The lines after the checkpoint are read again, and their problems reported again.
    let mut diagnostics: Vec<_> = before
        .diagnostics
        .iter()
        .filter(|diagnostic| diagnostic.line.is_none_or(|line| line <= checkpoint.lines))
        .chain(&after.diagnostics)
        .cloned()
        .collect();
    diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    if diagnostics != full.diagnostics {
        problems.push(format!(
            "{label}: diagnostics differ: {diagnostics:?} vs {:?}",
            full.diagnostics
        ));
    }
    Some(problems)
}

/// The messages read before the cut followed by those read on from it, each id in its last
/// version, without those read before the cut that the whole read no longer has; and how many
/// messages that left out.
fn join(earlier: &[Message], later: &[Message], whole: &[Message]) -> (Vec<Message>, usize) {
    let read_again: HashSet<&str> = later.iter().map(|message| message.id.as_str()).collect();
    let kept: HashSet<&str> = whole.iter().map(|message| message.id.as_str()).collect();
    let before = earlier
        .iter()
        .filter(|message| !read_again.contains(message.id.as_str()) && kept.contains(message.id.as_str()));
    let joined: Vec<Message> = before.chain(later).cloned().collect();
    let rewritten = earlier.len() + later.len() - joined.len();
    (joined, rewritten)
}

#[test]
fn reading_on_from_any_line_gives_what_a_whole_read_gives() {
    let mut problems = Vec::new();
    let (mut sources, mut resumable_sources) = (0, 0);
    for source in SOURCES {
        let Unit::Transcript(parser) = source.unit() else {
            continue;
        };
        sources += 1;
        let (mut files, mut resumable, mut cuts, mut without_checkpoint) = (0, 0, 0, 0);
        for case in common::fixture_cases(source.name()) {
            let scratch = tempfile::tempdir().unwrap();
            common::copy_tree(&case.join("source"), scratch.path());
            let discovery = source.discover(&[scratch.path().to_path_buf()], None);
            for candidate in &discovery.candidates {
                files += 1;
                let whole = std::fs::read(&candidate.path).unwrap();
                let full = parse(parser, candidate, None);
                resumable += usize::from(full.checkpoint.is_some());
                if full.checkpoint.is_none() || full.stats.torn_tail {
                    // Not read on from a checkpoint (a compressed file); a torn last line is not
                    // part of any checkpoint.
                    continue;
                }
                for cut in cut_points(&whole) {
                    cuts += 1;
                    let rewrites_in_place = REWRITTEN_IN_PLACE.contains(&source.name());
                    match check_cut(parser, rewrites_in_place, candidate, &whole, cut, &full) {
                        Some(found) => problems.extend(found),
                        None => without_checkpoint += 1,
                    }
                }
                std::fs::write(&candidate.path, &whole).unwrap();
            }
        }
        assert!(files > 0, "{}: the fixtures were not found", source.name());
        if resumable == 0 {
            // Every file is read whole (documents the tool rewrites whole): nothing to cut.
            continue;
        }
        resumable_sources += 1;
        assert!(
            cuts > 20,
            "{}: only {cuts} cuts: the fixtures were not found",
            source.name()
        );
        assert!(
            without_checkpoint < cuts / 2,
            "{}: {without_checkpoint} of {cuts} cuts without a checkpoint",
            source.name()
        );
    }
    assert!(sources >= 2, "the transcript sources were not found");
    assert!(
        resumable_sources >= 2,
        "no transcript sources read on from a checkpoint"
    );
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn a_rewritten_prefix_is_read_whole() {
    let scratch = tempfile::tempdir().unwrap();
    common::copy_tree(&common::fixture("claude/titles/source"), scratch.path());
    let claude = source::named("claude").unwrap();
    let Unit::Transcript(parser) = claude.unit() else {
        panic!("claude reads transcripts");
    };
    let discovery = claude.discover(&[scratch.path().to_path_buf()], None);
    let candidate = discovery
        .candidates
        .first()
        .expect("the titles fixture has a transcript");
    let whole = std::fs::read(&candidate.path).unwrap();
    let checkpoint = parse(parser, candidate, None)
        .checkpoint
        .expect("a checkpoint is taken");
    // Same length and more, one byte changed near the start: the state no longer describes it.
    let mut rewritten = whole.clone();
    let at = rewritten.iter().position(|byte| byte.is_ascii_digit()).unwrap();
    rewritten[at] = if rewritten[at] == b'1' { b'2' } else { b'1' };
    rewritten.extend_from_slice(b"\n");
    std::fs::write(&candidate.path, &rewritten).unwrap();
    let reread = parse(parser, candidate, Some(&checkpoint));
    assert_eq!(reread.resume, ResumeOutcome::Restarted);
    assert_eq!(reread.stats.bytes, rewritten.len() as u64, "read from the start");
    let restarted_whole = parse(parser, candidate, None);
    assert_eq!(reread.sessions, restarted_whole.sessions);
}
