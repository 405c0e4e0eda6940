//! A session as a readable transcript, or as one JSON document, written message by message as
//! the store streams them, so a long session is never held whole.

use std::io::{self, Write};
use std::path::Path;

use serde_json::json;

use super::{meta_str, minute, tilde};
use crate::store::{SessionSummary, StoredMessage};

/// Writes one session to `out`: [`TranscriptWriter::start`], a [`TranscriptWriter::message`]
/// per message in order, then [`TranscriptWriter::finish`].
pub struct TranscriptWriter<W: Write> {
    out: W,
    json: bool,
    written: u64,
}

impl<W: Write> TranscriptWriter<W> {
    /// Writes the session's header.
    pub fn start(mut out: W, session: &SessionSummary, json: bool, home: Option<&Path>) -> io::Result<Self> {
        if json {
            write!(
                out,
                "{{\"session\":{},\"messages\":[",
                serde_json::to_string(session)?
            )?;
        } else {
            writeln!(
                out,
                "session {} ({})  {}",
                session.id,
                session.tool,
                session.title.as_deref().unwrap_or("(untitled)")
            )?;
            let cwd = session.cwd.as_deref().map(|cwd| tilde(cwd, home));
            writeln!(
                out,
                "{}{} messages, {} to {} UTC",
                cwd.map(|cwd| format!("{cwd}  ")).unwrap_or_default(),
                session.messages,
                minute(session.first),
                minute(session.last)
            )?;
        }
        Ok(TranscriptWriter {
            out,
            json,
            written: 0,
        })
    }

    /// Writes one message.
    pub fn message(&mut self, message: &StoredMessage) -> io::Result<()> {
        let role = meta_str(&message.meta, "source_message_role").unwrap_or("?");
        let sidechain = message.meta.get("source_is_sidechain") == Some(&serde_json::Value::Bool(true));
        if self.json {
            let value = json!({
                "id": message.id,
                "time": message.at,
                "role": role,
                "sidechain": sidechain,
                "content": message.content,
                "meta": message.meta,
            });
            let separator = if self.written == 0 { "" } else { "," };
            write!(self.out, "{separator}{value}")?;
        } else {
            let time = message
                .at
                .map(|at| at.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default();
            let thread = if sidechain { " (subagent)" } else { "" };
            writeln!(self.out, "\n--- {role}{thread}  {time}")?;
            writeln!(self.out, "{}", message.content.trim_end())?;
        }
        self.written += 1;
        Ok(())
    }

    /// Ends the document and flushes.
    pub fn finish(mut self) -> io::Result<()> {
        if self.json {
            writeln!(self.out, "]}}")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> SessionSummary {
        SessionSummary {
            id: "s1".to_owned(),
            tool: "codex".to_owned(),
            title: Some("Title".to_owned()),
            cwd: Some("/home/dev/app".to_owned()),
            messages: 2,
            first: chrono::DateTime::from_timestamp(0, 0),
            last: chrono::DateTime::from_timestamp(60, 0),
        }
    }

    fn message(role: &str, content: &str, seconds: i64) -> StoredMessage {
        StoredMessage {
            id: uuid::Uuid::nil(),
            at: chrono::DateTime::from_timestamp(seconds, 0),
            content: content.to_owned(),
            meta: json!({ "source_message_role": role }),
        }
    }

    #[test]
    fn a_transcript_lists_messages_in_the_order_given() {
        let mut out = Vec::new();
        let mut writer =
            TranscriptWriter::start(&mut out, &session(), false, Some(Path::new("/home/dev"))).unwrap();
        writer.message(&message("user", "Question?\n", 0)).unwrap();
        writer.message(&message("assistant", "Answer.", 60)).unwrap();
        writer.finish().unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "session s1 (codex)  Title\n~/app  2 messages, 1970-01-01 00:00 to 1970-01-01 00:01 UTC\n\
             \n--- user  1970-01-01 00:00:00\nQuestion?\n\n--- assistant  1970-01-01 00:01:00\nAnswer.\n"
        );
    }

    #[test]
    fn the_json_document_parses_whole() {
        let mut out = Vec::new();
        let mut writer = TranscriptWriter::start(&mut out, &session(), true, None).unwrap();
        writer.message(&message("user", "a \"quoted\" word", 0)).unwrap();
        writer.message(&message("assistant", "b", 1)).unwrap();
        writer.finish().unwrap();
        let document: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(document["session"]["id"], "s1");
        assert_eq!(document["messages"][0]["content"], "a \"quoted\" word");
        assert_eq!(document["messages"][1]["role"], "assistant");
    }
}
