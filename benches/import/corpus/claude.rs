//! Claude Code transcripts (formats.md section 1): `~/.claude/projects/<encoded-cwd>/<uuid>.jsonl`
//! with the 2.1.x line envelope, `file-history-snapshot` and `progress` bookkeeping lines, split
//! assistant responses (one line per content block sharing a `message.id`, section 1.4),
//! thinking blocks (often signature-only), and `tool_use` / `tool_result` pairs whose results are
//! repeated in `toolUseResult`.

use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use super::text::{iso_millis, Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, JsonlOut, Project};

const VERSION: &str = "2.1.92";
const MODELS: &[&str] = &["claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-4-5-20251101"];
const TOOLS: &[&str] = &["Bash", "Bash", "Read", "Read", "Edit", "Grep"];

pub struct Session {
    path: PathBuf,
    id: String,
    cwd: String,
    branch: String,
    slug: String,
    model: &'static str,
    /// Every Bash call streams many growing `bash_progress` lines (the 200 MB session).
    progress_heavy: bool,
    last_uuid: Option<String>,
    clock_ms: i64,
    lines: u64,
    rng: Rng,
}

impl Session {
    pub fn new(projects_dir: &Path, project: &Project, mut rng: Rng, progress_heavy: bool) -> Session {
        let id = rng.uuid_v4();
        // Every character that is not [A-Za-z0-9] becomes `-` (formats.md 1.1).
        let encoded: String = project
            .cwd
            .chars()
            .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
            .collect();
        Session {
            path: projects_dir.join(encoded).join(format!("{id}.jsonl")),
            id,
            cwd: project.cwd.clone(),
            branch: project.branch.clone(),
            slug: format!(
                "{}-{}",
                rng.base62(6).to_lowercase(),
                rng.base62(6).to_lowercase()
            ),
            model: rng.pick(MODELS),
            progress_heavy,
            last_uuid: None,
            clock_ms: session_start(&mut rng),
            lines: 0,
            rng,
        }
    }

    fn tick(&mut self, max_ms: usize) -> String {
        self.clock_ms += 1 + self.rng.below(max_ms) as i64;
        iso_millis(self.clock_ms)
    }

    /// A conversation line: the envelope every `user`/`assistant`/`progress`/`system` line
    /// carries (formats.md 1.2), chained to the previous line, plus `fields`.
    fn conversation_line(&mut self, kind: &str, uuid: &str, fields: Value) -> Value {
        let timestamp = self.tick(3_000);
        let mut line = Map::new();
        line.insert("parentUuid".into(), json!(self.last_uuid));
        line.insert("isSidechain".into(), json!(false));
        line.insert("userType".into(), json!("external"));
        line.insert("entrypoint".into(), json!("cli"));
        line.insert("cwd".into(), json!(self.cwd));
        line.insert("sessionId".into(), json!(self.id));
        line.insert("version".into(), json!(VERSION));
        line.insert("gitBranch".into(), json!(self.branch));
        line.insert("slug".into(), json!(self.slug));
        line.insert("type".into(), json!(kind));
        line.insert("uuid".into(), json!(uuid));
        line.insert("timestamp".into(), json!(timestamp));
        if let Value::Object(fields) = fields {
            line.extend(fields);
        }
        self.last_uuid = Some(uuid.to_owned());
        Value::Object(line)
    }

    fn user_prompt(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<()> {
        let uuid = self.rng.uuid_v4();
        let timestamp = iso_millis(self.clock_ms);
        out.write(&json!({
            "type": "file-history-snapshot",
            "messageId": uuid,
            "snapshot": {"messageId": uuid, "trackedFileBackups": {}, "timestamp": timestamp},
            "isSnapshotUpdate": false,
        }))?;
        let len = prompt_len(&mut self.rng);
        let prompt = text.prose(&mut self.rng, len);
        let fields = json!({
            "promptId": self.rng.uuid_v4(),
            "permissionMode": "default",
            "message": {"role": "user", "content": prompt},
        });
        let line = self.conversation_line("user", &uuid, fields);
        out.write(&line)
    }

    /// One assistant content block on its own line (a split response shares `message_id`).
    fn assistant_block(
        &mut self,
        out: &mut JsonlOut,
        message_id: &str,
        request_id: &str,
        block: Value,
        stop_reason: Option<&str>,
    ) -> io::Result<()> {
        let uuid = self.rng.uuid_v4();
        let output_tokens = self.rng.between(10, 2_000);
        let fields = json!({
            "requestId": request_id,
            "message": {
                "model": self.model,
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "content": [block],
                "stop_reason": stop_reason,
                "stop_sequence": null,
                "usage": {
                    "input_tokens": self.rng.between(1, 50),
                    "cache_creation_input_tokens": self.rng.below(20_000),
                    "cache_read_input_tokens": self.rng.below(150_000),
                    "output_tokens": output_tokens,
                    "service_tier": "standard",
                    "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
                },
            },
        });
        let line = self.conversation_line("assistant", &uuid, fields);
        out.write(&line)
    }

    /// One model response: maybe thinking, maybe text, then tool calls (or the final answer).
    /// Returns the ids and names of the tools called.
    fn response(
        &mut self,
        out: &mut JsonlOut,
        text: &TextPools,
        calls: usize,
        messages: &mut u64,
    ) -> io::Result<Vec<(String, &'static str)>> {
        let message_id = format!("msg_01{}", self.rng.base62(22));
        let request_id = format!("req_011{}", self.rng.base62(21));
        if self.rng.chance(0.35) {
            // Since ~2.1.9x the thinking text is usually empty, only the signature is kept.
            let thinking = if self.rng.chance(0.5) {
                let len = self.rng.log_uniform(100.0, 3_000.0) as usize;
                text.prose(&mut self.rng, len).into_owned()
            } else {
                String::new()
            };
            let signature = text.base64(&mut self.rng, 400);
            let block = json!({"type": "thinking", "thinking": thinking, "signature": signature});
            self.assistant_block(out, &message_id, &request_id, block, None)?;
            *messages += 1;
        }
        if calls == 0 || self.rng.chance(0.5) {
            let len = answer_len(&mut self.rng);
            let block = json!({"type": "text", "text": text.prose(&mut self.rng, len)});
            let stop = (calls == 0).then_some("end_turn");
            self.assistant_block(out, &message_id, &request_id, block, stop)?;
            *messages += 1;
        }
        let mut called = Vec::with_capacity(calls);
        for call in 0..calls {
            let id = format!("toolu_01{}", self.rng.base62(22));
            let name: &'static str = self.rng.pick(TOOLS);
            let input = self.tool_input(name, text);
            let block = json!({"type": "tool_use", "id": id, "name": name, "input": input});
            let stop = (call + 1 == calls).then_some("tool_use");
            self.assistant_block(out, &message_id, &request_id, block, stop)?;
            *messages += 1;
            called.push((id, name));
        }
        Ok(called)
    }

    fn tool_input(&mut self, name: &str, text: &TextPools) -> Value {
        let file = format!("{}/src/{}.rs", self.cwd, self.rng.hex(6));
        match name {
            "Bash" => json!({
                "command": format!("cargo test {} 2>&1 | tail -n {}", self.rng.hex(4), self.rng.below(200)),
                "description": text.prose(&mut self.rng, 40),
            }),
            "Read" => json!({"file_path": file}),
            "Edit" => {
                let (old_len, new_len) = (self.rng.between(20, 800), self.rng.between(20, 800));
                json!({
                    "file_path": file,
                    "old_string": text.code(&mut self.rng, old_len),
                    "new_string": text.code(&mut self.rng, new_len),
                })
            }
            _ => json!({"pattern": text.prose(&mut self.rng, 16), "path": self.cwd}),
        }
    }

    /// Streams `bash_progress` lines whose `fullOutput` grows with each one (formats.md 1.3:
    /// huge and redundant).
    fn progress(&mut self, out: &mut JsonlOut, text: &TextPools, tool_use_id: &str) -> io::Result<()> {
        let count = if self.progress_heavy {
            self.rng.between(10, 60)
        } else if self.rng.chance(0.3) {
            self.rng.between(1, 5)
        } else {
            0
        };
        let mut full_output = String::new();
        for step in 0..count {
            let chunk_len = self.rng.between(100, 1_500);
            let chunk = text.code(&mut self.rng, chunk_len);
            full_output.push_str(&chunk);
            let uuid = self.rng.uuid_v4();
            let line = self.conversation_line(
                "progress",
                &uuid,
                json!({
                    "data": {
                        "type": "bash_progress",
                        "output": chunk,
                        "fullOutput": full_output,
                        "elapsedTimeSeconds": step + 1,
                        "totalLines": full_output.lines().count(),
                    },
                    "toolUseID": format!("bash-progress-{step}"),
                    "parentToolUseID": tool_use_id,
                }),
            );
            out.write(&line)?;
        }
        Ok(())
    }

    fn tool_result(
        &mut self,
        out: &mut JsonlOut,
        text: &TextPools,
        tool_use_id: &str,
        name: &str,
    ) -> io::Result<()> {
        let len = tool_output_len(&mut self.rng);
        let output = text.code(&mut self.rng, len);
        let is_error = self.rng.chance(0.05);
        let structured = match name {
            "Bash" => json!({"stdout": output, "stderr": "", "interrupted": false, "isImage": false}),
            "Read" => json!({
                "type": "text",
                "file": {
                    "filePath": format!("{}/src/{}.rs", self.cwd, self.rng.hex(6)),
                    "content": output,
                    "numLines": output.lines().count(),
                    "startLine": 1,
                    "totalLines": output.lines().count(),
                },
            }),
            "Edit" => {
                json!({"filePath": format!("{}/src/{}.rs", self.cwd, self.rng.hex(6)), "userModified": false})
            }
            _ => json!({"mode": "files_with_matches", "numFiles": self.rng.below(40)}),
        };
        let uuid = self.rng.uuid_v4();
        let line = self.conversation_line(
            "user",
            &uuid,
            json!({
                "message": {
                    "role": "user",
                    "content": [{
                        "tool_use_id": tool_use_id,
                        "type": "tool_result",
                        "content": output,
                        "is_error": is_error,
                    }],
                },
                "toolUseResult": structured,
                "sourceToolUseID": tool_use_id,
            }),
        );
        out.write(&line)
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

    fn write_header(&mut self, out: &mut JsonlOut, _text: &TextPools) -> io::Result<u64> {
        out.write(&json!({"type": "permission-mode", "permissionMode": "default", "sessionId": self.id}))?;
        Ok(0)
    }

    fn write_turn(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        self.clock_ms += self.rng.below(600_000) as i64;
        let started = self.clock_ms;
        self.user_prompt(out, text)?;
        let mut messages = 1;
        let rounds = if self.rng.chance(0.3) {
            0
        } else {
            self.rng.between(1, 6)
        };
        for _ in 0..rounds {
            let calls = self.rng.between(1, 3);
            for (id, name) in self.response(out, text, calls, &mut messages)? {
                if name == "Bash" {
                    self.progress(out, text, &id)?;
                }
                self.tool_result(out, text, &id, name)?;
                messages += 1;
            }
        }
        self.response(out, text, 0, &mut messages)?;
        let uuid = self.rng.uuid_v4();
        let duration = self.clock_ms - started;
        let line = self.conversation_line(
            "system",
            &uuid,
            json!({"subtype": "turn_duration", "durationMs": duration, "isMeta": false}),
        );
        out.write(&line)?;
        Ok(messages)
    }
}
