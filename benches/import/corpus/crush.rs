//! Crush databases (formats-more-tools.md section 4) where Crush keeps them: one
//! `.crush/crush.db` in each project directory under the home (`~/src/<project>`), in WAL mode,
//! with the 2026 schema's `sessions` and `messages` tables (and `files`, which memtree never
//! reads): sessions of prompts, answers whose `parts` hold reasoning, text and tool calls (their
//! input a JSON string), `tool` rows of results, and a subagent's child session now and then.
//! Times are epoch seconds, as Crush writes them.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, Transaction};
use serde_json::json;

use super::text::{Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, Project, ToolStats};

const MODELS: &[(&str, &str)] = &[
    ("claude-sonnet-4-5", "anthropic"),
    ("gpt-5", "openai"),
    ("openai/gpt-4.1", "openrouter"),
];
const TOOLS: &[&str] = &["view", "edit", "bash", "grep", "ls"];
/// One session in this many has a subagent's child session.
const CHILD_EVERY: u64 = 8;

const SCHEMA: &str = "
    CREATE TABLE sessions (id TEXT PRIMARY KEY, parent_session_id TEXT, title TEXT NOT NULL,
        message_count INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0,
        completion_tokens INTEGER NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0.0,
        updated_at INTEGER NOT NULL, created_at INTEGER NOT NULL, summary_message_id TEXT, todos TEXT);
    CREATE TABLE messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL,
        parts TEXT NOT NULL default '[]', model TEXT, created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, finished_at INTEGER, provider TEXT,
        is_summary_message INTEGER DEFAULT 0 NOT NULL);
    CREATE TABLE files (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, path TEXT NOT NULL,
        content TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL);
    CREATE INDEX idx_messages_session_id ON messages (session_id);
    CREATE INDEX idx_messages_created_at ON messages (created_at);";

/// One session, kept so that it can be continued.
struct Chat {
    db: usize,
    id: String,
    /// Its clock, in epoch seconds.
    clock: i64,
    model: (&'static str, &'static str),
}

/// The generated databases and what is needed to add to them.
pub struct Databases {
    paths: Vec<PathBuf>,
    chats: Vec<Chat>,
    rng: Rng,
}

/// Rows, bytes and messages written.
#[derive(Default)]
struct Written {
    rows: u64,
    bytes: u64,
    messages: u64,
}

impl Databases {
    /// Writes sessions into the projects' databases until about `budget` bytes of rows.
    pub fn generate(
        home: &Path,
        projects: &[Project],
        rng: Rng,
        text: &TextPools,
        budget: u64,
    ) -> io::Result<(Databases, ToolStats)> {
        let mut databases = Databases {
            paths: Vec::new(),
            chats: Vec::new(),
            rng,
        };
        let mut connections: Vec<Connection> = Vec::new();
        let mut written = Written::default();
        let mut sessions: u64 = 0;
        while written.bytes < budget {
            let project = databases.rng.choose(projects);
            let path = project_database(home, project);
            let db = match databases.paths.iter().position(|known| *known == path) {
                Some(db) => db,
                None => {
                    std::fs::create_dir_all(path.parent().unwrap())?;
                    let conn = Connection::open(&path).map_err(sql_error)?;
                    conn.pragma_update(None, "journal_mode", "wal")
                        .map_err(sql_error)?;
                    conn.pragma_update(None, "synchronous", "off")
                        .map_err(sql_error)?;
                    conn.execute_batch(SCHEMA).map_err(sql_error)?;
                    connections.push(conn);
                    databases.paths.push(path);
                    databases.paths.len() - 1
                }
            };
            let tx = connections[db].transaction().map_err(sql_error)?;
            let start = session_start(&mut databases.rng) / 1000;
            let chat = databases.new_chat(&tx, db, None, start, text, &mut written)?;
            let turns = databases.rng.log_uniform(1.0, 40.0) as u64;
            let mut chat = chat;
            for _ in 0..turns {
                databases.turn(&tx, &mut chat, text, &mut written)?;
            }
            sessions += 1;
            if sessions.is_multiple_of(CHILD_EVERY) {
                let mut child =
                    databases.new_chat(&tx, db, Some(&chat.id), chat.clock, text, &mut written)?;
                databases.turn(&tx, &mut child, text, &mut written)?;
                sessions += 1;
            }
            databases.chats.push(chat);
            tx.commit().map_err(sql_error)?;
        }
        for conn in connections {
            conn.close().map_err(|(_, error)| sql_error(error))?;
        }
        let bytes = databases
            .paths
            .iter()
            .map(|path| std::fs::metadata(path).map(|meta| meta.len()))
            .sum::<io::Result<u64>>()?;
        let stats = ToolStats {
            sessions,
            bytes,
            records: written.rows,
            messages: written.messages,
        };
        Ok((databases, stats))
    }

    /// Adds about 10% more messages to every tenth session (the first among them, so that a
    /// small corpus has one), moving its `updated_at`.
    pub fn append_to_a_tenth(&mut self, text: &TextPools) -> io::Result<ToolStats> {
        let mut connections: Vec<Connection> = self
            .paths
            .iter()
            .map(|path| Connection::open(path).map_err(sql_error))
            .collect::<io::Result<_>>()?;
        let mut chats = std::mem::take(&mut self.chats);
        let mut stats = ToolStats::default();
        let mut written = Written::default();
        for chat in chats.iter_mut().step_by(10) {
            let tx = connections[chat.db].transaction().map_err(sql_error)?;
            let rows: i64 = tx
                .query_row(
                    "SELECT count(*) FROM messages WHERE session_id = ?1",
                    [&chat.id],
                    |row| row.get(0),
                )
                .map_err(sql_error)?;
            let target = written.rows + (rows as u64 / 10).max(1);
            while written.rows < target {
                self.turn(&tx, chat, text, &mut written)?;
            }
            tx.commit().map_err(sql_error)?;
            stats.sessions += 1;
        }
        self.chats = chats;
        for conn in connections {
            conn.close().map_err(|(_, error)| sql_error(error))?;
        }
        stats.records = written.rows;
        stats.bytes = written.bytes;
        stats.messages = written.messages;
        Ok(stats)
    }

    fn new_chat(
        &mut self,
        tx: &Transaction<'_>,
        db: usize,
        parent: Option<&str>,
        start: i64,
        text: &TextPools,
        written: &mut Written,
    ) -> io::Result<Chat> {
        let id = match parent {
            Some(_) => format!("{}$${}", self.rng.uuid_v4(), self.rng.base62(24)),
            None => self.rng.uuid_v4(),
        };
        let title = text.prose(&mut self.rng, 40).trim().replace('\n', " ");
        tx.execute(
            "INSERT INTO sessions (id, parent_session_id, title, updated_at, created_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![id, parent, title, start],
        )
        .map_err(sql_error)?;
        written.rows += 1;
        Ok(Chat {
            db,
            id,
            clock: start,
            model: self.rng.pick(MODELS),
        })
    }

    /// A prompt, then answers that call tools and the `tool` rows of their results, then a final
    /// answer.
    fn turn(
        &mut self,
        tx: &Transaction<'_>,
        chat: &mut Chat,
        text: &TextPools,
        written: &mut Written,
    ) -> io::Result<()> {
        let len = prompt_len(&mut self.rng);
        let prompt = json!([{"type": "text", "data": {"text": text.prose(&mut self.rng, len)}},
            {"type": "finish", "data": {"reason": "stop", "time": 0}}]);
        self.message(tx, chat, "user", prompt, written)?;
        for _ in 0..self.rng.between(0, 4) {
            let call = self.rng.base62(24);
            let tool = self.rng.pick(TOOLS);
            let input = json!({"file_path": format!("src/{}.rs", self.rng.base62(6))}).to_string();
            let mut parts = Vec::new();
            if self.rng.chance(0.3) {
                let len = self.rng.log_uniform(100.0, 1_500.0) as usize;
                parts.push(
                    json!({"type": "reasoning", "data": {"thinking": text.prose(&mut self.rng, len),
                    "signature": text.base64(&mut self.rng, 64)}}),
                );
            }
            let len = self.rng.between(20, 200);
            parts.push(json!({"type": "text", "data": {"text": text.prose(&mut self.rng, len)}}));
            parts.push(
                json!({"type": "tool_call", "data": {"id": call, "name": tool, "input": input,
                "provider_executed": false, "finished": true}}),
            );
            parts.push(json!({"type": "finish", "data": {"reason": "tool_use", "time": chat.clock}}));
            self.message(tx, chat, "assistant", json!(parts), written)?;
            let len = tool_output_len(&mut self.rng);
            let result = json!([{"type": "tool_result", "data": {"tool_call_id": call, "name": tool,
                "content": text.code(&mut self.rng, len), "metadata": "{}", "is_error": false}},
                {"type": "finish", "data": {"reason": "stop", "time": 0}}]);
            self.message(tx, chat, "tool", result, written)?;
        }
        let len = answer_len(&mut self.rng);
        let answer = json!([{"type": "text", "data": {"text": text.prose(&mut self.rng, len)}},
            {"type": "finish", "data": {"reason": "end_turn", "time": chat.clock}}]);
        self.message(tx, chat, "assistant", answer, written)
    }

    fn message(
        &mut self,
        tx: &Transaction<'_>,
        chat: &mut Chat,
        role: &str,
        parts: serde_json::Value,
        written: &mut Written,
    ) -> io::Result<()> {
        chat.clock += 1 + self.rng.below(30) as i64;
        let parts = parts.to_string();
        let (model, provider) = match role {
            "assistant" => (chat.model.0, Some(chat.model.1)),
            _ => ("", None),
        };
        let finished = (role == "assistant").then_some(chat.clock);
        tx.execute(
            "INSERT INTO messages (id, session_id, role, parts, model, provider, created_at, updated_at, finished_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
            params![self.rng.uuid_v4(), chat.id, role, parts, model, provider, chat.clock, finished],
        )
        .map_err(sql_error)?;
        tx.execute(
            "UPDATE sessions SET updated_at = ?2, message_count = message_count + 1 WHERE id = ?1",
            params![chat.id, chat.clock],
        )
        .map_err(sql_error)?;
        written.rows += 1;
        written.bytes += parts.len() as u64;
        written.messages += 1;
        Ok(())
    }
}

/// The project's database on disk: `~/src/<its name>/.crush/crush.db`.
fn project_database(home: &Path, project: &Project) -> PathBuf {
    let name = project.cwd.rsplit('/').next().unwrap_or("project");
    home.join("src").join(name).join(".crush").join("crush.db")
}

fn sql_error(error: rusqlite::Error) -> io::Error {
    io::Error::other(error)
}
