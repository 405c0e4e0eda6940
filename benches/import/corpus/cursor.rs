//! Cursor data (formats-more-tools.md section 1) as on Linux: the IDE's global database
//! `~/.config/Cursor/User/globalStorage/state.vscdb` (composers and their bubbles in
//! `cursorDiskKV`, beside an `ItemTable` holding a credential row) and agent transcripts under
//! `~/.cursor/projects/<folder>/agent-transcripts/`. A third of the composers also have their IDE
//! transcript (`<id>/<id>.jsonl`: the same conversation in two stores, read once); the
//! cursor-agent transcripts (flat `<id>.jsonl`) are conversations of their own.

use std::io;
use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, Transaction};
use serde_json::{json, Value};

use super::text::{iso_millis, Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, JsonlOut, Project, ToolStats};

const VERSION: &str = "3.1.15";
const MODELS: &[&str] = &["claude-4.5-sonnet", "gpt-5.1-codex", "composer-1", "default"];
const TOOLS: &[&str] = &[
    "read_file_v2",
    "run_terminal_command_v2",
    "edit_file_v2",
    "ripgrep_raw_search",
];
/// The part of the Cursor budget that goes to cursor-agent transcripts; the rest is the database.
const TRANSCRIPT_SHARE: f64 = 0.25;

/// One composer, kept so that it can be continued.
struct Composer {
    id: String,
    cwd: String,
    workspace: String,
    name: String,
    model: &'static str,
    created_ms: i64,
    clock_ms: i64,
    bubbles: Vec<String>,
}

/// The generated Cursor data and what is needed to add to it.
pub struct Store {
    db: PathBuf,
    composers: Vec<Composer>,
    rng: Rng,
}

/// What a batch of writes added.
#[derive(Default)]
struct Added {
    records: u64,
    bytes: u64,
    messages: u64,
}

impl Store {
    /// Writes the database and the transcripts until about `budget` bytes.
    pub fn generate(
        home: &Path,
        projects: &[Project],
        mut rng: Rng,
        text: &TextPools,
        budget: u64,
    ) -> io::Result<(Store, ToolStats)> {
        let db = home.join(".config/Cursor/User/globalStorage/state.vscdb");
        std::fs::create_dir_all(db.parent().unwrap())?;
        let mut conn = Connection::open(&db).map_err(sql_error)?;
        conn.pragma_update(None, "journal_mode", "wal")
            .map_err(sql_error)?;
        conn.pragma_update(None, "synchronous", "off")
            .map_err(sql_error)?;
        conn.execute_batch(
            "CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
             CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);",
        )
        .map_err(sql_error)?;
        conn.execute(
            "INSERT INTO ItemTable VALUES ('releaseNotes/lastVersion', ?1), \
             ('cursorAuth/accessToken', 'eyJ.bench.token')",
            [VERSION],
        )
        .map_err(sql_error)?;
        let mut store = Store {
            db: db.clone(),
            composers: Vec::new(),
            rng: rng.fork(),
        };
        let mut stats = ToolStats::default();
        let database_budget = (budget as f64 * (1.0 - TRANSCRIPT_SHARE)) as u64;
        let tx = conn.transaction().map_err(sql_error)?;
        let mut added = Added::default();
        while added.bytes < database_budget {
            let project = store.rng.choose(projects);
            let mut composer = store.new_composer(project, text);
            let turns = store.rng.log_uniform(1.0, 30.0) as u64;
            let mut turns_written = Vec::new();
            for _ in 0..turns {
                turns_written.push(store.write_turn(&tx, &mut composer, text, &mut added)?);
            }
            store.write_composer(&tx, &composer, &mut added)?;
            if store.rng.chance(1.0 / 3.0) {
                // The IDE's transcript of the same conversation: not a session of its own.
                ide_transcript(home, &composer, &turns_written)?;
            }
            store.composers.push(composer);
        }
        tx.commit().map_err(sql_error)?;
        conn.close().map_err(|(_, error)| sql_error(error))?;
        stats.sessions += store.composers.len() as u64;
        stats.records += added.records;
        stats.messages += added.messages;
        stats.bytes += std::fs::metadata(&db)?.len();

        let transcript_budget = (budget as f64 * TRANSCRIPT_SHARE) as u64;
        let mut written = 0;
        while written < transcript_budget {
            let project = rng.choose(projects);
            let transcript = agent_transcript(home, project, &mut rng, text)?;
            written += transcript.bytes;
            stats += transcript;
        }
        Ok((store, stats))
    }

    /// Adds about 10% more bubbles to every tenth composer (the first among them, so that a small
    /// corpus has one), moving its `lastUpdatedAt`.
    pub fn append_to_a_tenth(&mut self, text: &TextPools) -> io::Result<ToolStats> {
        let mut conn = Connection::open(&self.db).map_err(sql_error)?;
        let tx = conn.transaction().map_err(sql_error)?;
        let mut composers = std::mem::take(&mut self.composers);
        let mut stats = ToolStats::default();
        let mut added = Added::default();
        for composer in composers.iter_mut().step_by(10) {
            let target = (composer.bubbles.len() / 10).max(1);
            let before = composer.bubbles.len();
            while composer.bubbles.len() - before < target {
                self.write_turn(&tx, composer, text, &mut added)?;
            }
            self.write_composer(&tx, composer, &mut added)?;
            stats.sessions += 1;
        }
        self.composers = composers;
        tx.commit().map_err(sql_error)?;
        conn.close().map_err(|(_, error)| sql_error(error))?;
        stats.records = added.records;
        stats.bytes = added.bytes;
        stats.messages = added.messages;
        Ok(stats)
    }

    fn new_composer(&mut self, project: &Project, text: &TextPools) -> Composer {
        let created = session_start(&mut self.rng);
        let name_len = self.rng.between(12, 50);
        Composer {
            id: self.rng.uuid_v4(),
            cwd: project.cwd.clone(),
            workspace: self.rng.hex(32),
            name: text.prose(&mut self.rng, name_len).trim().to_owned(),
            model: self.rng.pick(MODELS),
            created_ms: created,
            clock_ms: created,
            bubbles: Vec::new(),
        }
    }

    /// The composer's `composerData`, written (again) with its current header list.
    fn write_composer(
        &mut self,
        tx: &Transaction<'_>,
        composer: &Composer,
        added: &mut Added,
    ) -> io::Result<()> {
        let headers: Vec<Value> = composer
            .bubbles
            .iter()
            .enumerate()
            .map(|(n, id)| json!({"bubbleId": id, "type": if n == 0 { 1 } else { 2 }}))
            .collect();
        let data = json!({
            "_v": 16, "composerId": composer.id, "name": composer.name, "createdAt": composer.created_ms,
            "lastUpdatedAt": composer.clock_ms, "unifiedMode": "agent", "forceMode": "edit",
            "modelConfig": {"modelName": composer.model, "maxMode": false},
            "fullConversationHeadersOnly": headers, "conversationMap": {}, "status": "completed",
            "workspaceIdentifier": {"id": composer.workspace,
                "uri": {"fsPath": composer.cwd, "scheme": "file"}},
            "blobEncryptionKey": self.rng.base62(43),
        })
        .to_string();
        added.bytes += data.len() as u64;
        tx.execute(
            "INSERT INTO cursorDiskKV VALUES (?1, ?2)",
            params![format!("composerData:{}", composer.id), data],
        )
        .map_err(sql_error)?;
        Ok(())
    }

    /// A prompt bubble and the bubbles answering it; returns the turn as transcript lines.
    fn write_turn(
        &mut self,
        tx: &Transaction<'_>,
        composer: &mut Composer,
        text: &TextPools,
        added: &mut Added,
    ) -> io::Result<Vec<Value>> {
        composer.clock_ms += self.rng.below(600_000) as i64;
        let len = prompt_len(&mut self.rng);
        let prompt = text.prose(&mut self.rng, len).into_owned();
        let mut lines = vec![json!({"role": "user", "message": {"content": [{"type": "text",
            "text": format!("<user_query>\n{prompt}\n</user_query>")}]}})];
        self.bubble(
            tx,
            composer,
            json!({"type": 1, "text": prompt, "modelInfo": {"modelName": composer.model}}),
            added,
        )?;
        let steps = self.rng.between(1, 6);
        for step in 0..steps {
            composer.clock_ms += 1 + self.rng.below(20_000) as i64;
            if self.rng.chance(0.3) {
                let len = self.rng.log_uniform(100.0, 2_000.0) as usize;
                let thinking = text.prose(&mut self.rng, len).into_owned();
                self.bubble(
                    tx,
                    composer,
                    json!({"type": 2, "thinking": {"text": thinking, "signature": ""}}),
                    added,
                )?;
            }
            if step + 1 == steps {
                let len = answer_len(&mut self.rng);
                let answer = text.prose(&mut self.rng, len).into_owned();
                lines.push(
                    json!({"role": "assistant", "message": {"content": [{"type": "text", "text": answer}]}}),
                );
                self.bubble(tx, composer, json!({"type": 2, "text": answer}), added)?;
            } else {
                let tool = self.rng.pick(TOOLS);
                let args =
                    json!({"path": format!("{}/src/{}.rs", composer.cwd, self.rng.base62(6))}).to_string();
                let len = tool_output_len(&mut self.rng);
                let result = json!({"contents": text.code(&mut self.rng, len)}).to_string();
                lines.push(
                    json!({"role": "assistant", "message": {"content": [{"type": "tool_use", "name": tool,
                    "input": serde_json::from_str::<Value>(&args).unwrap_or_default()}]}}),
                );
                let data = json!({"type": 2, "capabilityType": 15, "toolFormerData": {"name": tool,
                    "status": "completed", "rawArgs": args, "result": result}});
                self.bubble(tx, composer, data, added)?;
            }
        }
        Ok(lines)
    }

    fn bubble(
        &mut self,
        tx: &Transaction<'_>,
        composer: &mut Composer,
        mut data: Value,
        added: &mut Added,
    ) -> io::Result<()> {
        let id = self.rng.uuid_v4();
        data["_v"] = json!(3);
        data["bubbleId"] = json!(id);
        data["createdAt"] = json!(iso_millis(composer.clock_ms));
        data["tokenCount"] = json!({"inputTokens": 0, "outputTokens": 0});
        let data = data.to_string();
        added.bytes += data.len() as u64;
        added.records += 1;
        added.messages += 1;
        tx.execute(
            "INSERT INTO cursorDiskKV VALUES (?1, ?2)",
            params![format!("bubbleId:{}:{id}", composer.id), data],
        )
        .map_err(sql_error)?;
        composer.bubbles.push(id);
        Ok(())
    }
}

/// The folder Cursor names a workspace's project directory after.
fn folder(cwd: &str) -> String {
    cwd.trim_start_matches('/')
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect()
}

/// The IDE's transcript of a composer's turns: `<id>/<id>.jsonl`, one line per message.
fn ide_transcript(home: &Path, composer: &Composer, turns: &[Vec<Value>]) -> io::Result<()> {
    let path = home
        .join(".cursor/projects")
        .join(folder(&composer.cwd))
        .join("agent-transcripts")
        .join(&composer.id)
        .join(format!("{}.jsonl", composer.id));
    let mut out = JsonlOut::create(&path)?;
    for turn in turns {
        for line in turn {
            out.write(line)?;
        }
        out.write(&json!({"type": "turn_ended", "status": "success"}))?;
    }
    out.finish()
}

/// A cursor-agent transcript of its own (flat `<id>.jsonl`), its turns tagged with their time.
fn agent_transcript(
    home: &Path,
    project: &Project,
    rng: &mut Rng,
    text: &TextPools,
) -> io::Result<ToolStats> {
    let id = rng.uuid_v4();
    let path = home
        .join(".cursor/projects")
        .join(folder(&project.cwd))
        .join("agent-transcripts")
        .join(format!("{id}.jsonl"));
    let mut out = JsonlOut::create(&path)?;
    let mut clock = session_start(rng);
    let mut messages = 0;
    for _ in 0..rng.log_uniform(1.0, 40.0) as u64 {
        clock += rng.below(3_600_000) as i64;
        let stamp = chrono::DateTime::from_timestamp_millis(clock)
            .unwrap_or_default()
            .format("%A, %b %-d, %Y, %-I:%M %p (UTC)");
        let len = prompt_len(rng);
        let prompt = text.prose(rng, len);
        out.write(&json!({"role": "user", "message": {"content": [{"type": "text",
            "text": format!("<timestamp>{stamp}</timestamp>\n<user_query>\n{prompt}\n</user_query>")}]}}))?;
        messages += 1;
        for _ in 0..rng.between(1, 8) {
            let tool = rng.pick(&["Shell", "Read", "Grep", "StrReplace"]);
            let command = format!("cd {} && {}", project.cwd, text.code(rng, 60));
            out.write(&json!({"role": "assistant", "message": {"content": [
                {"type": "text", "text": "[REDACTED]"},
                {"type": "tool_use", "name": tool, "input": {"command": command}}]}}))?;
            messages += 1;
        }
        let len = answer_len(rng);
        let answer = json!({"type": "text", "text": text.prose(rng, len)});
        out.write(&json!({"role": "assistant", "message": {"content": [answer]}}))?;
        out.write(&json!({"type": "turn_ended", "status": "success"}))?;
        messages += 1;
    }
    out.finish()?;
    Ok(ToolStats {
        sessions: 1,
        bytes: out.bytes,
        records: out.lines,
        messages,
    })
}

fn sql_error(error: rusqlite::Error) -> io::Error {
    io::Error::other(error)
}
