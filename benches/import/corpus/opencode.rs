//! An OpenCode 1.x database (formats.md section 3.2): `~/.local/share/opencode/opencode.db` in WAL
//! mode with the `project`, `session`, `message` and `part` tables and indexes OpenCode creates.
//! Each turn is a user message with a text part, then one assistant message per model step
//! (`step-start`, `reasoning`, `tool` parts with completed state, `text`, `step-finish`), ids
//! ascending for messages and parts and descending for sessions (section 3.3).

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, Transaction};
use serde_json::json;

use super::text::{Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, Project, ToolStats};

const VERSION: &str = "1.17.3";
const MODELS: &[(&str, &str)] = &[
    ("anthropic", "claude-sonnet-4-6"),
    ("opencode", "moonshotai/kimi-k2.6"),
    ("openai", "gpt-5.2"),
];
const TOOLS: &[&str] = &["bash", "read", "edit", "grep", "todowrite"];

/// The tables and indexes of a 1.17/1.18 database that memtree reads, as OpenCode creates them.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS \"migration\" (id TEXT PRIMARY KEY, time_completed INTEGER NOT NULL);
CREATE TABLE `project` (
  `id` text PRIMARY KEY, `worktree` text NOT NULL, `vcs` text, `name` text, `icon_url` text,
  `icon_color` text, `time_created` integer NOT NULL, `time_updated` integer NOT NULL,
  `time_initialized` integer, `sandboxes` text NOT NULL, `commands` text, `icon_url_override` text);
CREATE TABLE `session` (
  `id` text PRIMARY KEY, `project_id` text NOT NULL, `parent_id` text, `slug` text NOT NULL,
  `directory` text NOT NULL, `title` text NOT NULL, `version` text NOT NULL, `share_url` text,
  `summary_additions` integer, `summary_deletions` integer, `summary_files` integer,
  `summary_diffs` text, `revert` text, `permission` text, `time_created` integer NOT NULL,
  `time_updated` integer NOT NULL, `time_compacting` integer, `time_archived` integer,
  `workspace_id` text, `path` text, `agent` text, `model` text, `cost` real DEFAULT 0 NOT NULL,
  `tokens_input` integer DEFAULT 0 NOT NULL, `tokens_output` integer DEFAULT 0 NOT NULL,
  `tokens_reasoning` integer DEFAULT 0 NOT NULL, `tokens_cache_read` integer DEFAULT 0 NOT NULL,
  `tokens_cache_write` integer DEFAULT 0 NOT NULL, `metadata` text,
  CONSTRAINT `fk_session_project_id_project_id_fk` FOREIGN KEY (`project_id`) REFERENCES `project`(`id`) ON DELETE CASCADE);
CREATE TABLE `message` (
  `id` text PRIMARY KEY, `session_id` text NOT NULL, `time_created` integer NOT NULL,
  `time_updated` integer NOT NULL, `data` text NOT NULL,
  CONSTRAINT `fk_message_session_id_session_id_fk` FOREIGN KEY (`session_id`) REFERENCES `session`(`id`) ON DELETE CASCADE);
CREATE TABLE `part` (
  `id` text PRIMARY KEY, `message_id` text NOT NULL, `session_id` text NOT NULL,
  `time_created` integer NOT NULL, `time_updated` integer NOT NULL, `data` text NOT NULL,
  CONSTRAINT `fk_part_message_id_message_id_fk` FOREIGN KEY (`message_id`) REFERENCES `message`(`id`) ON DELETE CASCADE);
CREATE INDEX `part_session_idx` ON `part` (`session_id`);
CREATE INDEX `session_project_idx` ON `session` (`project_id`);
CREATE INDEX `session_parent_idx` ON `session` (`parent_id`);
CREATE INDEX `session_workspace_idx` ON `session` (`workspace_id`);
CREATE INDEX `message_session_time_created_id_idx` ON `message` (`session_id`,`time_created`,`id`);
CREATE INDEX `part_message_id_id_idx` ON `part` (`message_id`,`id`);
INSERT INTO migration VALUES ('20260127222353_familiar_lady_ursula', 1769558400000);
";

/// One session in the database, kept so that it can be continued.
struct Session {
    id: String,
    directory: String,
    model: (&'static str, &'static str),
    clock_ms: i64,
    messages: u64,
}

/// The generated database and what is needed to add turns to it.
pub struct Database {
    path: PathBuf,
    sessions: Vec<Session>,
    rng: Rng,
    /// Makes ids created in the same millisecond distinct and ascending.
    sequence: u64,
}

/// Rows and bytes added by one batch of inserts.
#[derive(Default)]
struct Added {
    records: u64,
    bytes: u64,
    messages: u64,
}

impl Database {
    /// Creates the database with sessions until about `budget` bytes of rows are written.
    pub fn generate(
        path: &Path,
        projects: &[Project],
        rng: Rng,
        text: &TextPools,
        budget: u64,
    ) -> io::Result<(Database, ToolStats)> {
        let mut conn = Connection::open(path).map_err(sql_error)?;
        conn.pragma_update(None, "journal_mode", "wal")
            .map_err(sql_error)?;
        conn.pragma_update(None, "synchronous", "off")
            .map_err(sql_error)?;
        conn.execute_batch(SCHEMA).map_err(sql_error)?;
        let mut db = Database {
            path: path.to_path_buf(),
            sessions: Vec::new(),
            rng,
            sequence: 0,
        };
        let tx = conn.transaction().map_err(sql_error)?;
        let mut added = Added::default();
        for project in projects {
            tx.execute(
                "INSERT INTO project (id, worktree, vcs, time_created, time_updated, sandboxes) \
                 VALUES (?1, ?2, 'git', ?3, ?3, '[]')",
                params![project_id(project), project.cwd, 1_767_571_200_000_i64],
            )
            .map_err(sql_error)?;
        }
        while added.bytes < budget {
            let project = db.rng.choose(projects);
            let mut session = db.new_session(&tx, project, text)?;
            let turns = db.rng.log_uniform(1.0, 80.0) as u64;
            for _ in 0..turns {
                let turn = db.write_turn(&tx, &mut session, text)?;
                added.records += turn.records;
                added.bytes += turn.bytes;
                added.messages += turn.messages;
            }
            db.sessions.push(session);
        }
        tx.commit().map_err(sql_error)?;
        conn.close().map_err(|(_, error)| sql_error(error))?;
        let stats = ToolStats {
            sessions: db.sessions.len() as u64,
            bytes: std::fs::metadata(path)?.len(),
            records: added.records,
            messages: added.messages,
        };
        Ok((db, stats))
    }

    /// Adds turns worth about 10% more messages to every tenth session.
    pub fn append_to_a_tenth(&mut self, text: &TextPools) -> io::Result<ToolStats> {
        let mut conn = Connection::open(&self.path).map_err(sql_error)?;
        let tx = conn.transaction().map_err(sql_error)?;
        let mut sessions = std::mem::take(&mut self.sessions);
        let mut stats = ToolStats::default();
        for session in sessions.iter_mut().skip(9).step_by(10) {
            let target = (session.messages / 10).max(1);
            let mut messages = 0;
            while messages < target {
                let turn = self.write_turn(&tx, session, text)?;
                messages += turn.messages;
                stats.records += turn.records;
                stats.bytes += turn.bytes;
            }
            stats.sessions += 1;
            stats.messages += messages;
        }
        self.sessions = sessions;
        tx.commit().map_err(sql_error)?;
        conn.close().map_err(|(_, error)| sql_error(error))?;
        Ok(stats)
    }

    fn new_session(
        &mut self,
        tx: &Transaction<'_>,
        project: &Project,
        text: &TextPools,
    ) -> io::Result<Session> {
        let created = session_start(&mut self.rng);
        // Session ids sort newest first (formats.md 3.3).
        let id = format!(
            "ses_{:012x}{}",
            0xFFFF_FFFF_FFFF - self.next_sequence(created),
            self.rng.base62(14)
        );
        let model = self.rng.pick(MODELS);
        let title_len = self.rng.between(12, 60);
        let title = text.prose(&mut self.rng, title_len).trim().to_owned();
        tx.execute(
            "INSERT INTO session (id, project_id, slug, directory, title, version, time_created, \
             time_updated, agent, model) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 'build', ?8)",
            params![
                id,
                project_id(project),
                self.rng.base62(10).to_lowercase(),
                project.cwd,
                title,
                VERSION,
                created,
                json!({"id": model.1, "providerID": model.0}).to_string(),
            ],
        )
        .map_err(sql_error)?;
        Ok(Session {
            id,
            directory: project.cwd.clone(),
            model,
            clock_ms: created,
            messages: 0,
        })
    }

    /// A prompt and the model steps that answer it.
    fn write_turn(
        &mut self,
        tx: &Transaction<'_>,
        session: &mut Session,
        text: &TextPools,
    ) -> io::Result<Added> {
        let mut added = Added::default();
        session.clock_ms += self.rng.below(600_000) as i64;
        let user_id = self.message_id(session.clock_ms);
        let (provider, model) = session.model;
        let info = json!({
            "role": "user",
            "time": {"created": session.clock_ms},
            "agent": "build",
            "model": {"providerID": provider, "modelID": model},
            "summary": {"diffs": []},
        });
        self.insert_message(tx, session, &user_id, &info.to_string(), &mut added)?;
        let len = prompt_len(&mut self.rng);
        let prompt = json!({"type": "text", "text": text.prose(&mut self.rng, len)});
        self.insert_part(tx, session, &user_id, &prompt.to_string(), &mut added)?;
        added.messages += 1;

        let steps = if self.rng.chance(0.3) {
            1
        } else {
            self.rng.between(2, 6)
        };
        for step in 0..steps {
            let last = step + 1 == steps;
            session.clock_ms += 1 + self.rng.below(20_000) as i64;
            let started = session.clock_ms;
            let step_id = self.message_id(started);
            let tokens = json!({
                "total": self.rng.below(50_000),
                "input": self.rng.below(40_000),
                "output": self.rng.below(4_000),
                "reasoning": 0,
                "cache": {"write": 0, "read": self.rng.below(30_000)},
            });
            let info = json!({
                "parentID": user_id,
                "role": "assistant",
                "mode": "build",
                "agent": "build",
                "path": {"cwd": session.directory, "root": session.directory},
                "cost": self.rng.unit() * 0.05,
                "tokens": tokens,
                "modelID": model,
                "providerID": provider,
                "time": {"created": started, "completed": started + 5_000},
                "finish": if last { "stop" } else { "tool-calls" },
            });
            self.insert_message(tx, session, &step_id, &info.to_string(), &mut added)?;
            self.insert_part(tx, session, &step_id, r#"{"type":"step-start"}"#, &mut added)?;
            if self.rng.chance(0.5) {
                let len = self.rng.log_uniform(100.0, 3_000.0) as usize;
                let reasoning = json!({
                    "type": "reasoning",
                    "text": text.prose(&mut self.rng, len),
                    "time": {"start": started, "end": started + 1_500},
                });
                self.insert_part(tx, session, &step_id, &reasoning.to_string(), &mut added)?;
                added.messages += 1;
            }
            if !last {
                for _ in 0..self.rng.between(1, 3) {
                    let tool = self.tool_part(session, text, started);
                    self.insert_part(tx, session, &step_id, &tool, &mut added)?;
                    added.messages += 1;
                }
            }
            if last || self.rng.chance(0.4) {
                let len = answer_len(&mut self.rng);
                let answer = json!({
                    "type": "text",
                    "text": text.prose(&mut self.rng, len),
                    "time": {"start": started + 1_500, "end": started + 5_000},
                });
                self.insert_part(tx, session, &step_id, &answer.to_string(), &mut added)?;
                added.messages += 1;
            }
            let finish = json!({
                "type": "step-finish",
                "reason": if last { "stop" } else { "tool-calls" },
                "tokens": tokens,
                "cost": 0.001,
            });
            self.insert_part(tx, session, &step_id, &finish.to_string(), &mut added)?;
        }
        tx.execute(
            "UPDATE session SET time_updated = ?1 WHERE id = ?2",
            params![session.clock_ms, session.id],
        )
        .map_err(sql_error)?;
        session.messages += added.messages;
        Ok(added)
    }

    fn tool_part(&mut self, session: &Session, text: &TextPools, started: i64) -> String {
        let tool = self.rng.pick(TOOLS);
        let file = format!("{}/src/{}.ts", session.directory, self.rng.hex(6));
        let input = match tool {
            "bash" => {
                json!({"command": format!("npm test -- {}", self.rng.hex(4)), "description": "Run tests"})
            }
            "edit" => json!({
                "filePath": file,
                "oldString": text.code(&mut self.rng, 200),
                "newString": text.code(&mut self.rng, 240),
            }),
            _ => json!({"filePath": file}),
        };
        let len = tool_output_len(&mut self.rng);
        json!({
            "type": "tool",
            "tool": tool,
            "callID": format!("call_{}", self.rng.base62(24)),
            "state": {
                "status": "completed",
                "input": input,
                "output": text.code(&mut self.rng, len),
                "title": file,
                "metadata": {"truncated": false},
                "time": {"start": started + 2_000, "end": started + 3_000},
            },
        })
        .to_string()
    }

    fn insert_message(
        &mut self,
        tx: &Transaction<'_>,
        session: &Session,
        id: &str,
        data: &str,
        added: &mut Added,
    ) -> io::Result<()> {
        let mut statement = tx
            .prepare_cached(
                "INSERT INTO message (id, session_id, time_created, time_updated, data) \
                 VALUES (?1, ?2, ?3, ?3, ?4)",
            )
            .map_err(sql_error)?;
        statement
            .execute(params![id, session.id, session.clock_ms, data])
            .map_err(sql_error)?;
        added.records += 1;
        added.bytes += (id.len() + session.id.len() + data.len() + 16) as u64;
        Ok(())
    }

    fn insert_part(
        &mut self,
        tx: &Transaction<'_>,
        session: &Session,
        message_id: &str,
        data: &str,
        added: &mut Added,
    ) -> io::Result<()> {
        let id = format!(
            "prt_{:012x}{}",
            self.next_sequence(session.clock_ms),
            self.rng.base62(14)
        );
        let mut statement = tx
            .prepare_cached(
                "INSERT INTO part (id, message_id, session_id, time_created, time_updated, data) \
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
            )
            .map_err(sql_error)?;
        statement
            .execute(params![id, message_id, session.id, session.clock_ms, data])
            .map_err(sql_error)?;
        added.records += 1;
        added.bytes += (id.len() + message_id.len() + session.id.len() + data.len() + 16) as u64;
        Ok(())
    }

    fn message_id(&mut self, at_ms: i64) -> String {
        format!("msg_{:012x}{}", self.next_sequence(at_ms), self.rng.base62(14))
    }

    /// The 12 hex digits of an id: the time in ms shifted left by 12 bits plus a counter, as
    /// OpenCode makes them, truncated to 48 bits.
    fn next_sequence(&mut self, at_ms: i64) -> u64 {
        self.sequence += 1;
        ((at_ms as u64) << 12 | (self.sequence & 0xFFF)) & 0xFFFF_FFFF_FFFF
    }
}

/// OpenCode names a git project by the SHA of its root commit; a stable stand-in per directory.
fn project_id(project: &Project) -> String {
    let seed = project.cwd.bytes().fold(0u64, |hash, byte| {
        hash.wrapping_mul(31).wrapping_add(u64::from(byte))
    });
    Rng::new(seed).hex(40)
}

fn sql_error(error: rusqlite::Error) -> io::Error {
    io::Error::other(error)
}
