//! Reading a `.jsonl` chat log: replayed line by line from its start or from a checkpoint, its
//! session held whole or outlined once its messages pass the budget, and the messages of an
//! outlined session read again in parts (`source::parts`).

use std::fs::File;
use std::io::{self, BufReader};

use crate::limits::READ_BUFFER;
use crate::model::{Diagnostic, Message, Session};
use crate::source::jsonl::read_records;
use crate::source::parts::{Held, OutlinedSession, PartBudget, Reread};
use crate::source::resume::{self, ResumeRequest};
use crate::source::{Candidate, ParseOutcome};

use super::message::messages_of;
use super::replay::{Replay, State, Survivors};
use super::session_of;
use super::wire::LogLine;

/// Reads one log into its session: whole, read on from `resume`'s checkpoint (then only with
/// the messages whose final version is new), or outlined once its messages pass `budget`.
pub(super) fn parse(
    candidate: &Candidate,
    mut file: File,
    resume: ResumeRequest<'_>,
    budget: PartBudget,
    mut outcome: ParseOutcome,
) -> ParseOutcome {
    let path = candidate.path.as_path();
    let (start, carried) = match resume::begin::<State>(&mut file, resume) {
        Ok(begun) => begun,
        Err(err) => {
            outcome.diagnostics.push(Diagnostic::unreadable(path, &err));
            return outcome;
        }
    };
    outcome.resume = start.outcome;
    let resumed = carried.is_some();
    let lines_before = start.lines_before();
    let mut replay = Replay::new(path, carried, Some(budget));
    let mut reader = BufReader::with_capacity(READ_BUFFER, &mut file);
    match read_records::<_, LogLine>(&mut reader, path, &mut outcome.diagnostics, |line, record| {
        replay.apply(lines_before + line, &record.0)
    }) {
        Ok(stats) => outcome.stats = stats,
        Err(err) => outcome.diagnostics.push(Diagnostic::unreadable(path, &err)),
    }
    drop(reader);
    start.renumber(&mut outcome.diagnostics);
    outcome.stats.malformed_lines += replay.malformed;
    outcome.diagnostics.append(&mut replay.diagnostics);
    outcome.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    let state = resume
        .checkpoint_wanted
        .then(|| replay.checkpoint_state())
        .flatten();
    outcome.checkpoint = start.finish(&mut file, &outcome.stats, state);
    if !replay.is_session() || (resumed && !replay.found_any()) {
        return outcome;
    }
    let mut session = session_of(candidate, &replay.state, resumed);
    match replay.take_messages() {
        Some(messages) => {
            session.messages = messages;
            outcome.sessions.push(session);
        }
        None => {
            let Some((tally, survivors)) = replay.outline(&budget) else {
                return outcome;
            };
            // Pass 2 reads the bytes this read did, from where it began.
            let (from, consumed) = (outcome.resumed_at(), outcome.consumed());
            let reread = Reread::new(&file, from, lines_before, consumed, None, survivors);
            outcome.push_outlined(path, session, tally, reread);
        }
    }
    outcome
}

/// Pass 2 of an outlined log: reads its lines again and hands the final versions pass 1 found
/// alive to `emit`, in log order, in parts of about `budget` bytes of text. Diagnostics were
/// reported by pass 1 and are not repeated.
pub(super) fn read_parts(
    candidate: &Candidate,
    outlined: &OutlinedSession,
    budget: u64,
    emit: &mut dyn FnMut(Session),
) -> io::Result<()> {
    let reread = &outlined.reread;
    let Some(survivors) = reread.of::<Survivors>() else {
        return Ok(());
    };
    let model = outlined.session.facts.model.as_deref();
    let mut part = Held::default();
    let mut hand_over = |messages: Vec<Message>| emit(outlined.part(messages));
    let mut repeated_diagnostics = Vec::new();
    read_records::<_, LogLine>(
        reread.reader()?,
        &candidate.path,
        &mut repeated_diagnostics,
        |line, record| {
            let line = reread.lines_before + line;
            for (index, message) in record.0.records() {
                if !survivors.contains(&(line, index)) {
                    continue;
                }
                for message in messages_of(message, model, line).unwrap_or_default() {
                    part.push(message);
                    if part.reached(budget) {
                        hand_over(part.take());
                    }
                }
            }
        },
    )?;
    if !part.is_empty() {
        hand_over(part.take());
    }
    Ok(())
}
