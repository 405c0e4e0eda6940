//! Qwen Code sessions (formats-more-tools.md section 5) as on Linux: chat files
//! `~/.qwen/projects/<cwd lower-cased, every character but a letter or digit a ->/chats/<uuid>.jsonl`
//! as 0.14.x records them (prompts; a `ui_telemetry` record before every answer; answers with a
//! thought part, text and `functionCall` parts; tool results), and per project the prompt log
//! `~/.qwen/tmp/<SHA-256 of the cwd>/logs.json`, which holds the prompts of those chats (memtree
//! reads them from the chats) and of older sessions that have no chat (one in four), from before
//! releases recorded chats.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::text::{iso_millis, Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, JsonlOut, Project, ToolStats};

const VERSION: &str = "0.14.3";
const MODELS: &[&str] = &["qwen3-coder-plus", "coder-model", "qwen3-coder-flash"];
const TOOLS: &[&str] = &["read_file", "run_shell_command", "replace", "grep_search"];
/// Sessions of the prompt logs without a chat, for each this many chats.
pub const CHATS_PER_LOGGED_SESSION: u64 = 4;

/// The prompt logs of the projects, written once the chats are.
#[derive(Default)]
pub struct PromptLogs {
    /// Each project's entries, by cwd.
    logs: BTreeMap<String, Vec<Value>>,
}

impl PromptLogs {
    fn push(&mut self, cwd: &str, session: &str, at_ms: i64, message: &str) {
        let entries = self.logs.entry(cwd.to_owned()).or_default();
        let number = entries
            .iter()
            .filter(|entry| entry["sessionId"] == session)
            .count();
        entries.push(json!({"sessionId": session, "messageId": number, "type": "user",
            "message": message, "timestamp": iso_millis(at_ms)}));
    }

    /// A session of an older release: its prompts, in the log only.
    pub fn write_logged_session(&mut self, project: &Project, mut rng: Rng, text: &TextPools) -> ToolStats {
        let session = rng.uuid_v4();
        let mut at_ms = session_start(&mut rng);
        let prompts = rng.between(1, 8) as u64;
        for _ in 0..prompts {
            at_ms += rng.below(600_000) as i64;
            let len = prompt_len(&mut rng);
            self.push(&project.cwd, &session, at_ms, &text.prose(&mut rng, len));
        }
        ToolStats {
            messages: prompts,
            ..ToolStats::default()
        }
    }

    /// Each project's `logs.json`, pretty-printed as Qwen Code writes it: files, bytes, entries.
    pub fn write(&self, runtime: &Path) -> io::Result<ToolStats> {
        let mut stats = ToolStats::default();
        for (cwd, entries) in &self.logs {
            let hash: String = Sha256::digest(cwd.as_bytes())
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect();
            let dir = runtime.join("tmp").join(hash);
            fs::create_dir_all(&dir)?;
            let bytes = serde_json::to_vec_pretty(entries)?;
            fs::write(dir.join("logs.json"), &bytes)?;
            stats.sessions += 1;
            stats.bytes += bytes.len() as u64;
            stats.records += entries.len() as u64;
        }
        Ok(stats)
    }
}

pub struct Session {
    path: PathBuf,
    id: String,
    cwd: String,
    branch: String,
    model: &'static str,
    clock_ms: i64,
    lines: u64,
    /// The last record's uuid: the next one's `parentUuid`.
    parent: Option<String>,
    rng: Rng,
    /// The prompts written, for the project's prompt log (taken by [`Session::log_prompts`]).
    prompts: Vec<(i64, String)>,
}

impl Session {
    pub fn new(runtime: &Path, project: &Project, mut rng: Rng) -> Session {
        let id = rng.uuid_v4();
        let folder: String = project
            .cwd
            .chars()
            .map(|ch| {
                if ch.is_ascii_alphanumeric() {
                    ch.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        Session {
            path: runtime
                .join("projects")
                .join(folder)
                .join("chats")
                .join(format!("{id}.jsonl")),
            id,
            cwd: project.cwd.clone(),
            branch: project.branch.clone(),
            model: rng.pick(MODELS),
            clock_ms: session_start(&mut rng),
            lines: 0,
            parent: None,
            rng,
            prompts: Vec::new(),
        }
    }

    /// Logs the prompts written so far in the project's prompt log.
    pub fn log_prompts(&mut self, logs: &mut PromptLogs) {
        for (at_ms, prompt) in self.prompts.drain(..) {
            logs.push(&self.cwd, &self.id, at_ms, &prompt);
        }
    }

    fn tick(&mut self, max_ms: usize) {
        self.clock_ms += 1 + self.rng.below(max_ms) as i64;
    }

    /// Writes one record, chained to the one before.
    fn record(&mut self, out: &mut JsonlOut, kind: &str, fields: Value) -> io::Result<()> {
        let uuid = self.rng.uuid_v4();
        let mut record = json!({"uuid": uuid, "parentUuid": self.parent, "sessionId": self.id,
            "timestamp": iso_millis(self.clock_ms), "type": kind, "cwd": self.cwd,
            "version": VERSION, "gitBranch": self.branch});
        if let (Value::Object(record), Value::Object(fields)) = (&mut record, fields) {
            record.extend(fields);
        }
        out.write(&record)?;
        self.parent = Some(uuid);
        Ok(())
    }

    fn telemetry(&mut self, out: &mut JsonlOut) -> io::Result<()> {
        let input = self.rng.below(200_000);
        let event = json!({"event.name": "qwen-code.api_response", "model": self.model, "status_code": 200,
            "duration_ms": self.rng.below(20_000), "input_token_count": input,
            "output_token_count": self.rng.below(4_000), "auth_type": "qwen-oauth"});
        self.record(
            out,
            "system",
            json!({"subtype": "ui_telemetry", "systemPayload": {"uiEvent": event}}),
        )
    }
}

impl super::Session for Session {
    fn path(&self) -> &Path {
        &self.path
    }

    fn lines(&self) -> u64 {
        self.lines
    }

    fn add_lines(&mut self, lines: u64) {
        self.lines += lines;
    }

    fn write_header(&mut self, _out: &mut JsonlOut, _text: &TextPools) -> io::Result<u64> {
        Ok(0)
    }

    fn write_turn(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        self.clock_ms += self.rng.below(600_000) as i64;
        let len = prompt_len(&mut self.rng);
        let prompt = text.prose(&mut self.rng, len).into_owned();
        self.prompts.push((self.clock_ms, prompt.clone()));
        self.record(
            out,
            "user",
            json!({"message": {"role": "user", "parts": [{"text": prompt}]}}),
        )?;
        let mut messages = 1;
        let rounds = if self.rng.chance(0.3) {
            0
        } else {
            self.rng.between(1, 4)
        };
        for round in 0..=rounds {
            self.tick(8_000);
            let len = self.rng.log_uniform(60.0, 600.0) as usize;
            let mut parts = vec![json!({"text": text.prose(&mut self.rng, len), "thought": true})];
            let last = round == rounds;
            if last || self.rng.chance(0.3) {
                let len = answer_len(&mut self.rng);
                parts.push(json!({"text": text.prose(&mut self.rng, len)}));
            }
            let calls: Vec<(String, &'static str)> = if last {
                Vec::new()
            } else {
                (0..self.rng.between(1, 3))
                    .map(|_| (format!("call_{}", self.rng.base62(24)), self.rng.pick(TOOLS)))
                    .collect()
            };
            for (id, name) in &calls {
                let path = format!("{}/src/{}.rs", self.cwd, self.rng.hex(6));
                let args = match *name {
                    "run_shell_command" => json!({"command": format!("cargo test {}", self.rng.hex(4)),
                        "description": text.prose(&mut self.rng, 40)}),
                    "replace" => json!({"file_path": path, "old_string": text.code(&mut self.rng, 200),
                        "new_string": text.code(&mut self.rng, 220)}),
                    _ => json!({"absolute_path": path}),
                };
                parts.push(json!({"functionCall": {"id": id, "name": name, "args": args}}));
            }
            messages += 1 + 2 * calls.len() as u64;
            self.telemetry(out)?;
            let (input, output) = (self.rng.below(200_000), self.rng.below(4_000));
            self.record(
                out,
                "assistant",
                json!({"model": self.model, "message": {"role": "model", "parts": parts},
                    "usageMetadata": {"promptTokenCount": input, "candidatesTokenCount": output,
                        "totalTokenCount": input + output},
                    "contextWindowSize": 1_000_000}),
            )?;
            for (id, name) in calls {
                self.tick(5_000);
                let len = tool_output_len(&mut self.rng);
                let output = text.code(&mut self.rng, len).into_owned();
                self.record(
                    out,
                    "tool_result",
                    json!({"message": {"role": "user", "parts": [{"functionResponse": {"id": id, "name": name,
                        "response": {"output": output}}}]},
                        "toolCallResult": {"callId": id, "status": "success", "resultDisplay": ""}}),
                )?;
            }
        }
        Ok(messages)
    }
}
