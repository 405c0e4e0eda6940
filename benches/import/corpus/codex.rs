//! Codex CLI rollouts (formats.md section 2), wrapped-line era:
//! `~/.codex/sessions/YYYY/MM/DD/rollout-YYYY-MM-DDThh-mm-ss-<uuid>.jsonl` opening with
//! `session_meta` (with the 10-20 KB system prompt), then per turn `task_started`, the user
//! message twice (`response_item` with injected context first, and the clean
//! `event_msg/user_message`), `turn_context`, `reasoning` with its encrypted blob, shell
//! `function_call` / `function_call_output` pairs, `token_count` events, and the answer as both a
//! `response_item` message and an `agent_message` event.

use std::io;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::{json, Value};

use super::text::{iso_millis, Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, JsonlOut, Project};

const CLI_VERSION: &str = "0.118.0";
const MODELS: &[&str] = &["gpt-5.2-codex", "gpt-5.1-codex-max", "gpt-5.3-codex"];

pub struct Session {
    path: PathBuf,
    id: String,
    cwd: String,
    branch: String,
    remote: String,
    model: &'static str,
    /// The size of one enormous tool output, written in the first turn (the 64 MB line).
    giant_output: Option<usize>,
    first_turn: bool,
    clock_ms: i64,
    lines: u64,
    rng: Rng,
}

impl Session {
    pub fn new(sessions_dir: &Path, project: &Project, mut rng: Rng, giant_output: Option<usize>) -> Session {
        let clock_ms = session_start(&mut rng);
        let id = rng.uuid_v7(clock_ms);
        // The directory and file name use the machine's local time (formats.md 2.1); here UTC.
        let started = DateTime::from_timestamp_millis(clock_ms).unwrap_or_default();
        let path = sessions_dir
            .join(started.format("%Y/%m/%d").to_string())
            .join(format!(
                "rollout-{}-{id}.jsonl",
                started.format("%Y-%m-%dT%H-%M-%S")
            ));
        Session {
            path,
            id,
            cwd: project.cwd.clone(),
            branch: project.branch.clone(),
            remote: project.remote.clone(),
            model: rng.pick(MODELS),
            giant_output,
            first_turn: true,
            clock_ms,
            lines: 0,
            rng,
        }
    }

    fn record(&mut self, kind: &str, payload: Value) -> Value {
        self.clock_ms += 1 + self.rng.below(2_500) as i64;
        json!({"timestamp": iso_millis(self.clock_ms), "type": kind, "payload": payload})
    }

    fn write(&mut self, out: &mut JsonlOut, kind: &str, payload: Value) -> io::Result<()> {
        let record = self.record(kind, payload);
        out.write(&record)
    }

    fn token_count(&mut self, out: &mut JsonlOut) -> io::Result<()> {
        let input = self.rng.below(200_000);
        let output = self.rng.below(20_000);
        let usage = json!({
            "input_tokens": input,
            "cached_input_tokens": input / 2,
            "output_tokens": output,
            "reasoning_output_tokens": output / 3,
            "total_tokens": input + output,
        });
        let payload = json!({
            "type": "token_count",
            "info": {"total_token_usage": usage, "last_token_usage": usage, "model_context_window": 258_400},
            "rate_limits": {
                "primary": {"used_percent": self.rng.below(100), "window_minutes": 300, "resets_at": 1_773_875_803},
                "secondary": {"used_percent": self.rng.below(100), "window_minutes": 10_080, "resets_at": 1_774_462_603},
                "credits": {"has_credits": false, "unlimited": false, "balance": null},
                "plan_type": null,
            },
        });
        self.write(out, "event_msg", payload)
    }

    /// One reasoning item, one shell call and its output; returns the messages written.
    fn tool_round(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        let summary_len = self.rng.log_uniform(60.0, 1_200.0) as usize;
        let summary = text.prose(&mut self.rng, summary_len).into_owned();
        let encrypted_len = self.rng.between(600, 2_400);
        let encrypted = format!("gAAAAAB{}", text.base64(&mut self.rng, encrypted_len));
        self.write(
            out,
            "response_item",
            json!({
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": summary}],
                "content": null,
                "encrypted_content": encrypted,
            }),
        )?;
        self.write(
            out,
            "event_msg",
            json!({"type": "agent_reasoning", "text": summary}),
        )?;

        let call_id = format!("call_{}", self.rng.base62(24));
        let command = format!("rg -n {} src | head -n {}", self.rng.hex(6), self.rng.below(300));
        let arguments = json!({"cmd": command, "workdir": self.cwd}).to_string();
        self.write(
            out,
            "response_item",
            json!({"type": "function_call", "name": "exec_command", "arguments": arguments, "call_id": call_id}),
        )?;
        let len = self
            .giant_output
            .take()
            .unwrap_or_else(|| tool_output_len(&mut self.rng));
        let body = text.code(&mut self.rng, len);
        let output = format!(
            "Chunk ID: {}\nWall time: 0.{:04} seconds\nProcess exited with code {}\nOriginal token count: {}\nOutput:\n{body}",
            self.rng.hex(6),
            self.rng.below(10_000),
            u8::from(self.rng.chance(0.1)),
            body.len() / 4,
        );
        self.write(
            out,
            "response_item",
            json!({"type": "function_call_output", "call_id": call_id, "output": output}),
        )?;
        self.token_count(out)?;
        Ok(3)
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

    fn write_header(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        let instructions_len = self.rng.between(10_000, 20_000);
        let payload = json!({
            "id": self.id,
            "timestamp": iso_millis(self.clock_ms),
            "cwd": self.cwd,
            "originator": "codex_cli_rs",
            "cli_version": CLI_VERSION,
            "source": "cli",
            "model_provider": "openai",
            "base_instructions": {"text": text.prose(&mut self.rng, instructions_len)},
            "git": {"commit_hash": self.rng.hex(40), "branch": self.branch, "repository_url": self.remote},
        });
        self.write(out, "session_meta", payload)?;
        Ok(0)
    }

    fn write_turn(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        self.clock_ms += self.rng.below(600_000) as i64;
        let turn_id = self.rng.uuid_v7(self.clock_ms);
        self.write(
            out,
            "event_msg",
            json!({"type": "task_started", "turn_id": turn_id, "model_context_window": 258_400}),
        )?;
        if std::mem::take(&mut self.first_turn) {
            // Injected context, not typed by the user (formats.md 2.4).
            let context = format!(
                "<environment_context>\n  <cwd>{}</cwd>\n  <approval_policy>on-request</approval_policy>\n  <sandbox_mode>workspace-write</sandbox_mode>\n  <shell>bash</shell>\n</environment_context>",
                self.cwd
            );
            self.write(
                out,
                "response_item",
                json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": context}]}),
            )?;
        }
        let len = prompt_len(&mut self.rng);
        let prompt = text.prose(&mut self.rng, len).into_owned();
        self.write(
            out,
            "response_item",
            json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": prompt}]}),
        )?;
        self.write(
            out,
            "event_msg",
            json!({"type": "user_message", "message": prompt, "images": [], "local_images": [], "text_elements": []}),
        )?;
        self.write(
            out,
            "turn_context",
            json!({
                "turn_id": turn_id,
                "cwd": self.cwd,
                "approval_policy": "on-request",
                "sandbox_policy": {"type": "workspace-write", "network_access": false},
                "model": self.model,
                "effort": "medium",
                "summary": "auto",
            }),
        )?;
        let mut messages = 1;
        let rounds = if self.giant_output.is_some() {
            1
        } else if self.rng.chance(0.25) {
            0
        } else {
            self.rng.between(1, 8)
        };
        for _ in 0..rounds {
            messages += self.tool_round(out, text)?;
        }
        let len = answer_len(&mut self.rng);
        let answer = text.prose(&mut self.rng, len).into_owned();
        self.write(
            out,
            "response_item",
            json!({
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": answer}],
                "phase": "final",
            }),
        )?;
        self.write(
            out,
            "event_msg",
            json!({"type": "agent_message", "message": answer}),
        )?;
        self.token_count(out)?;
        self.write(
            out,
            "event_msg",
            json!({"type": "task_complete", "turn_id": turn_id, "last_agent_message": answer}),
        )?;
        Ok(messages + 1)
    }
}
