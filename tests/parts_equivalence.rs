//! A transcript read in parts yields what reading it whole does (`source::parts`): for every
//! transcript in the fixtures of every transcript source that a read with a tiny budget outlines
//! (what the parser does tells which; compressed ones included), read with a budget so small that
//! every message boundary is a part boundary (and with one that switches to counting mid-file),
//! the outlined sessions carry the whole read's facts and a tally the session filters judge as
//! they judge the whole session, and their parts, in order, are the whole read's messages, each
//! part with the whole read's facts. The stats, diagnostics and checkpoint of the outlining read
//! are the whole read's; and the same holds for a read on from a checkpoint, for every transcript
//! a read takes a checkpoint of.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use memtree::filter::{self, FilterOptions};
use memtree::model::{Checkpoint, Message, Session};
use memtree::scope::{MessageTally, TimeWindow};
use memtree::source::{
    Candidate, ParseOutcome, PartBudget, ResumeRequest, Source, TranscriptParser, Unit, SOURCES,
};

/// Budgets in bytes of message text: one byte makes every message a part of its own; a few
/// hundred (held up to twice over, `PartBudget::holds_whole`) hold some messages whole before the
/// read switches to counting.
const BUDGETS: [u64; 2] = [1, 150];

/// Every transcript of a source's fixtures, as discovery lists them, that a read with a budget of
/// one byte outlines: every one that holds a message and is not read whole (a document its tool
/// rewrites whole, as Cline's tasks are). A source may have none.
fn transcripts(source: &dyn Source, parser: &dyn TranscriptParser) -> Vec<Candidate> {
    let (mut listed, mut found) = (0, Vec::new());
    for case in common::fixture_cases(source.name()) {
        let discovery = source.discover(&[case.join("source")], None);
        listed += discovery.candidates.len();
        found.extend(
            discovery
                .candidates
                .into_iter()
                .filter(|candidate| !read(parser, candidate, None, 1).outlined.is_empty()),
        );
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(listed > 0, "{}: the fixtures were not found", source.name());
    assert!(
        found.is_empty() || found.len() >= 5,
        "{}: only {} transcripts read in parts",
        source.name(),
        found.len()
    );
    found
}

fn is_compressed(candidate: &Candidate) -> bool {
    candidate.path.to_string_lossy().ends_with(".jsonl.zst")
}

fn read(
    parser: &dyn TranscriptParser,
    candidate: &Candidate,
    from: Option<&Checkpoint>,
    bytes: u64,
) -> ParseOutcome {
    let resume = ResumeRequest {
        from,
        checkpoint_wanted: true,
    };
    let budget = PartBudget {
        bytes,
        window: TimeWindow::default(),
    };
    parser.parse(candidate, resume, budget)
}

/// The sessions a read in parts yields: its whole sessions, and each outlined one with the
/// messages of its parts. Checks that every part carries the outline's facts, and that no part
/// holds more than one message past the budget.
fn assembled(
    parser: &dyn TranscriptParser,
    candidate: &Candidate,
    outcome: &ParseOutcome,
    bytes: u64,
    label: &str,
) -> Vec<Session> {
    let mut sessions = outcome.sessions.clone();
    for outlined in &outcome.outlined {
        let mut messages: Vec<Message> = Vec::new();
        let problem = parser.reread(candidate, outlined, bytes, &mut |part| {
            assert_eq!(
                (&part.id, &part.facts, &part.source_file),
                (
                    &outlined.session.id,
                    &outlined.session.facts,
                    &outlined.session.source_file
                ),
                "{label}: a part carries the outline's facts"
            );
            assert!(!part.messages.is_empty(), "{label}: an empty part");
            let text: u64 = part.messages[..part.messages.len() - 1]
                .iter()
                .flat_map(|message| &message.blocks)
                .map(|block| block.text.len() as u64)
                .sum();
            assert!(
                text < bytes,
                "{label}: a part holds more than one message past the budget"
            );
            messages.extend(part.messages);
        });
        assert_eq!(problem, None, "{label}");
        assert!(
            outlined.session.messages.is_empty(),
            "{label}: an outline holds no message"
        );
        sessions.push(Session {
            messages,
            ..outlined.session.clone()
        });
    }
    sessions.sort_by_key(|session| session.facts.is_sidechain);
    sessions
}

/// A checkpoint with its state as JSON whose arrays are sorted: the parsers keep sets (ids seen)
/// whose order is not stable from one read to the next.
fn comparable(checkpoint: &Option<Checkpoint>) -> Option<(u64, u64, Vec<u8>, serde_json::Value)> {
    fn sort_arrays(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Array(items) => {
                items.iter_mut().for_each(sort_arrays);
                items.sort_by_key(|item| item.to_string());
            }
            serde_json::Value::Object(fields) => fields.values_mut().for_each(sort_arrays),
            _ => {}
        }
    }
    checkpoint.as_ref().map(|checkpoint| {
        let mut state = serde_json::from_str(&checkpoint.state).unwrap();
        sort_arrays(&mut state);
        (
            checkpoint.consumed,
            checkpoint.lines,
            checkpoint.prefix_sha256.clone(),
            state,
        )
    })
}

/// Windows around a session's messages: before all, after all, at one message, and open.
fn windows(session: &Session) -> Vec<TimeWindow> {
    let times: Vec<DateTime<Utc>> = session.messages.iter().map(|message| message.timestamp).collect();
    let (Some(first), Some(last)) = (times.iter().min(), times.iter().max()) else {
        return vec![TimeWindow::default()];
    };
    let second = TimeDelta::seconds(1);
    let middle = times[times.len() / 2];
    vec![
        TimeWindow::default(),
        TimeWindow {
            since: Some(*last + second),
            until: None,
        },
        TimeWindow {
            since: None,
            until: Some(*first - second),
        },
        TimeWindow {
            since: Some(middle),
            until: Some(middle),
        },
        TimeWindow {
            since: Some(*first + second),
            until: Some(*last - second),
        },
    ]
}

/// Whether the outlined sessions of a read in parts are judged by the session filters as their
/// whole sessions are, under every window.
fn check_filters(
    parser: &dyn TranscriptParser,
    candidate: &Candidate,
    whole: &ParseOutcome,
    bytes: u64,
    label: &str,
) {
    for session in &whole.sessions {
        for window in windows(session) {
            let budget = PartBudget { bytes, window };
            let resume = ResumeRequest::default();
            let outcome = parser.parse(candidate, resume, budget);
            let Some(outlined) = outcome.outlined.iter().find(|outlined| {
                outlined.session.facts.is_sidechain == session.facts.is_sidechain
                    && outlined.session.id == session.id
            }) else {
                // Held whole: within the budget.
                assert!(outcome.sessions.contains(session), "{label}: a session is lost");
                continue;
            };
            assert_eq!(
                outlined.tally,
                MessageTally::of(&session.messages, window),
                "{label}: {window:?}"
            );
            let options = FilterOptions {
                window,
                ..FilterOptions::default()
            };
            assert_eq!(
                filter::tally_skip_reason(&outlined.session.facts, &outlined.tally, &options),
                filter::session_skip_reason(session, &options),
                "{label}: {window:?}"
            );
        }
    }
}

/// Checks one source's transcripts; false when it reads every file whole.
fn check_source(source: &dyn Source, parser: &dyn TranscriptParser) -> bool {
    // Files outlined under each budget: every budget must exercise the outline, or this test
    // would compare whole reads with whole reads.
    let mut outlined_files = [0; BUDGETS.len()];
    let (mut compressed, mut compressed_outlined) = (0, 0);
    let transcripts = transcripts(source, parser);
    if transcripts.is_empty() {
        return false;
    }
    for candidate in transcripts {
        let whole = read(parser, &candidate, None, u64::MAX);
        assert!(whole.outlined.is_empty());
        let mut expected = whole.sessions.clone();
        expected.sort_by_key(|session| session.facts.is_sidechain);
        for (outlined, bytes) in outlined_files.iter_mut().zip(BUDGETS) {
            let label = format!("{} in parts of {bytes} bytes", candidate.path.display());
            let parted = read(parser, &candidate, None, bytes);
            *outlined += usize::from(!parted.outlined.is_empty());
            assert_eq!(parted.stats, whole.stats, "{label}");
            assert_eq!(parted.diagnostics, whole.diagnostics, "{label}");
            assert_eq!(
                comparable(&parted.checkpoint),
                comparable(&whole.checkpoint),
                "{label}"
            );
            assert_eq!(
                assembled(parser, &candidate, &parted, bytes, &label),
                expected,
                "{label}"
            );
            check_filters(parser, &candidate, &whole, bytes, &label);
        }
        if is_compressed(&candidate) {
            compressed += 1;
            compressed_outlined += usize::from(!read(parser, &candidate, None, 1).outlined.is_empty());
        }
        // A compressed transcript is rewritten whole by its tool: it has no checkpoint to read on
        // from.
        if whole.checkpoint.is_some() {
            check_resumed(parser, &candidate);
        }
    }
    assert!(
        compressed == 0 || compressed_outlined >= 1,
        "{}: no compressed transcript was read in parts",
        source.name()
    );
    for (outlined, bytes) in outlined_files.iter().zip(BUDGETS) {
        assert!(
            *outlined >= 3,
            "{}: only {outlined} files outlined in parts of {bytes} bytes",
            source.name()
        );
    }
    true
}

/// A read on from a checkpoint halfway through the file, in parts, yields the messages a whole
/// read on from it does.
fn check_resumed(parser: &dyn TranscriptParser, candidate: &Candidate) {
    let original = std::fs::read(&candidate.path).unwrap();
    let line_ends = common::line_ends(&original);
    let Some(&cut) = line_ends.get(line_ends.len() / 2) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(candidate.path.file_name().unwrap());
    let candidate = Candidate {
        path: copy.clone(),
        ..candidate.clone()
    };
    std::fs::write(&copy, &original[..cut]).unwrap();
    let Some(checkpoint) = read(parser, &candidate, None, u64::MAX).checkpoint else {
        return;
    };
    std::fs::write(&copy, &original).unwrap();
    let whole = read(parser, &candidate, Some(&checkpoint), u64::MAX);
    let mut expected = whole.sessions.clone();
    expected.sort_by_key(|session| session.facts.is_sidechain);
    let label = format!("{} read on from byte {cut} in parts", candidate.path.display());
    let parted = read(parser, &candidate, Some(&checkpoint), 1);
    assert_eq!(parted.resume, whole.resume, "{label}");
    assert_eq!(
        comparable(&parted.checkpoint),
        comparable(&whole.checkpoint),
        "{label}"
    );
    assert_eq!(
        assembled(parser, &candidate, &parted, 1, &label),
        expected,
        "{label}"
    );
}

#[test]
fn transcripts_read_in_parts_yield_the_whole_read() {
    let mut checked = 0;
    for source in SOURCES {
        if let Unit::Transcript(parser) = source.unit() {
            checked += usize::from(check_source(*source, parser));
        }
    }
    assert!(checked >= 2, "no transcript sources read in parts");
}
