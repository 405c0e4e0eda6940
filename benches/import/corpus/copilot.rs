//! GitHub Copilot CLI sessions (formats-more-tools.md section 2) as on Linux:
//! `~/.copilot/session-state/<uuid>/events.jsonl` with its `workspace.yaml`, as 1.0.x writes them
//! (`session.start` with its git context, a model change, the system prompt once, each prompt
//! with its `transformedContent`, turn markers, answers with their reasoning and tool requests,
//! each call's start, `postToolUse` hooks and completion); one session in eight in the 2025
//! flat layout `<uuid>.jsonl` (no model, no context, the whole system prompt re-logged every
//! turn); and beside them, one in ten, directories of sessions that never started (only
//! `workspace.yaml`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::text::{iso_millis, Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, JsonlOut, Project};

const VERSION: &str = "1.0.60";
const MODELS: &[&str] = &["claude-sonnet-4.6", "gpt-5.2", "claude-haiku-4.5"];
const TOOLS: &[&str] = &["view", "bash", "edit", "grep", "create"];
/// One session in this many is in the 2025 flat layout.
pub const FLAT_EVERY: u64 = 8;
/// One session directory in this many never started.
pub const UNSTARTED_EVERY: u64 = 10;

pub struct Session {
    path: PathBuf,
    id: String,
    /// The 2025 flat layout.
    flat: bool,
    model: &'static str,
    project_cwd: String,
    branch: String,
    remote: String,
    clock_ms: i64,
    lines: u64,
    /// The last event's id: the next one's `parentId`.
    parent: Option<String>,
    rng: Rng,
}

impl Session {
    pub fn new(state: &Path, project: &Project, mut rng: Rng, flat: bool) -> Session {
        let id = rng.uuid_v4();
        let path = if flat {
            state.join(format!("{id}.jsonl"))
        } else {
            state.join(&id).join("events.jsonl")
        };
        Session {
            path,
            id,
            flat,
            model: rng.pick(MODELS),
            project_cwd: project.cwd.clone(),
            branch: project.branch.clone(),
            remote: project.remote.clone(),
            clock_ms: session_start(&mut rng),
            lines: 0,
            parent: None,
            rng,
        }
    }

    /// A session directory holding only its `workspace.yaml`: opened, never used.
    pub fn write_unstarted(state: &Path, project: &Project, rng: &mut Rng) -> io::Result<()> {
        let id = rng.uuid_v4();
        let at = iso_millis(session_start(rng));
        let dir = state.join(&id);
        fs::create_dir_all(&dir)?;
        fs::write(
            dir.join("workspace.yaml"),
            format!(
                "id: {id}\ncwd: {}\nclient_name: github/cli\nuser_named: false\nsummary_count: 0\n\
                 created_at: {at}\nupdated_at: {at}\n",
                project.cwd
            ),
        )
    }

    /// The session directory's `workspace.yaml`, written when the session starts.
    fn write_workspace(&mut self, text: &TextPools) -> io::Result<()> {
        let Some(dir) = self.path.parent() else {
            return Ok(());
        };
        fs::create_dir_all(dir)?;
        let at = iso_millis(self.clock_ms);
        let repository = self
            .remote
            .trim_start_matches("https://github.com/")
            .trim_end_matches(".git");
        let name = text.prose(&mut self.rng, 30).replace(['\'', '\n'], " ");
        fs::write(
            dir.join("workspace.yaml"),
            format!(
                "id: {}\ncwd: {}\ngit_root: {}\nrepository: {repository}\nhost_type: github\nbranch: {}\n\
                 name: '{}'\nclient_name: github/cli\nuser_named: false\nsummary_count: 0\n\
                 created_at: {at}\nupdated_at: {at}\n",
                self.id,
                self.project_cwd,
                self.project_cwd,
                self.branch,
                name.trim()
            ),
        )
    }

    fn tick(&mut self, max_ms: usize) {
        self.clock_ms += 1 + self.rng.below(max_ms) as i64;
    }

    /// Writes one event, chained to the one before.
    fn event(&mut self, out: &mut JsonlOut, kind: &str, data: Value) -> io::Result<()> {
        let id = self.rng.uuid_v4();
        out.write(&json!({"type": kind, "data": data, "id": id,
            "timestamp": iso_millis(self.clock_ms), "parentId": self.parent}))?;
        self.parent = Some(id);
        Ok(())
    }

    /// The system prompt: its first line, its environment (the 2025 layout's only cwd), and the
    /// rest of its instructions.
    fn system_prompt(&mut self, text: &TextPools) -> String {
        let len = self.rng.log_uniform(4_000.0, 12_000.0) as usize;
        format!(
            "You are the GitHub Copilot CLI, a terminal assistant built by GitHub.\n\n# Environment\n\
             * Current working directory: {}\n* Git repository root: {}\n\n{}",
            self.project_cwd,
            self.project_cwd,
            text.prose(&mut self.rng, len)
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

    fn write_header(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        let start = iso_millis(self.clock_ms);
        if self.flat {
            let data = json!({"sessionId": self.id, "version": 1, "producer": "copilot-agent",
                "copilotVersion": "unknown", "startTime": start});
            return self.event(out, "session.start", data).map(|()| 0);
        }
        self.write_workspace(text)?;
        let head = self.rng.hex(40);
        let repository = self
            .remote
            .trim_start_matches("https://github.com/")
            .trim_end_matches(".git");
        let data = json!({"sessionId": self.id, "version": 1, "producer": "copilot-agent",
            "copilotVersion": VERSION, "startTime": start, "contextTier": null,
            "context": {"cwd": self.project_cwd, "gitRoot": self.project_cwd, "branch": self.branch,
                "headCommit": head, "repository": repository, "hostType": "github",
                "repositoryHost": "github.com"},
            "alreadyInUse": false, "remoteSteerable": false});
        self.event(out, "session.start", data)?;
        self.tick(2_000);
        let data =
            json!({"newModel": self.model, "previousReasoningEffort": "medium", "reasoningEffort": "medium"});
        self.event(out, "session.model_change", data)?;
        let prompt = self.system_prompt(text);
        self.event(
            out,
            "system.message",
            json!({"role": "system", "content": prompt}),
        )?;
        Ok(0)
    }

    fn write_turn(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        self.clock_ms += self.rng.below(600_000) as i64;
        let len = prompt_len(&mut self.rng);
        let typed = text.prose(&mut self.rng, len).into_owned();
        let stamp = format!(
            "<current_datetime>{}</current_datetime>",
            iso_millis(self.clock_ms)
        );
        let interaction = self.rng.uuid_v4();
        if self.flat {
            let data = json!({"content": format!("{typed}\n\n{stamp}"), "attachments": []});
            self.event(out, "user.message", data)?;
            let prompt = self.system_prompt(text);
            self.event(
                out,
                "system.message",
                json!({"role": "system", "content": prompt}),
            )?;
        } else {
            let data = json!({"content": typed, "transformedContent": format!("{stamp}\n\n{typed}"),
                "attachments": [], "interactionId": interaction});
            self.event(out, "user.message", data)?;
        }
        let mut messages = 1;
        let rounds = if self.rng.chance(0.3) {
            0
        } else {
            self.rng.between(1, 4)
        };
        for turn in 0..=rounds {
            self.tick(1_000);
            // The 2025 layout names turns by a UUID, and has no interactions.
            let (turn_id, start) = if self.flat {
                let id = self.rng.uuid_v4();
                (id.clone(), json!({ "turnId": id }))
            } else {
                let id = turn.to_string();
                (id.clone(), json!({"turnId": id, "interactionId": interaction}))
            };
            self.event(out, "assistant.turn_start", start)?;
            self.tick(8_000);
            let last = turn == rounds;
            let calls: Vec<(String, &'static str, Value)> = if last {
                Vec::new()
            } else {
                (0..self.rng.between(1, 3))
                    .map(|_| {
                        let name = self.rng.pick(TOOLS);
                        let path = format!("{}/src/{}.rs", self.project_cwd, self.rng.hex(6));
                        let arguments = match name {
                            "bash" => json!({"command": format!("cargo test {}", self.rng.hex(4)),
                                "description": text.prose(&mut self.rng, 40)}),
                            "edit" => json!({"path": path, "old_str": text.code(&mut self.rng, 200),
                                "new_str": text.code(&mut self.rng, 220)}),
                            _ => json!({"path": path}),
                        };
                        (format!("toolu_bdrk_{}", self.rng.base62(24)), name, arguments)
                    })
                    .collect()
            };
            let len = answer_len(&mut self.rng);
            let content = if last || self.rng.chance(0.3) {
                text.prose(&mut self.rng, len).into_owned()
            } else {
                String::new()
            };
            let requests: Vec<Value> = calls
                .iter()
                .map(|(id, name, arguments)| json!({"toolCallId": id, "name": name, "arguments": arguments, "type": "function"}))
                .collect();
            let mut data =
                json!({"messageId": self.rng.uuid_v4(), "content": content, "toolRequests": requests});
            if !self.flat {
                data["model"] = json!(self.model);
                data["outputTokens"] = json!(self.rng.below(2_000));
                if self.rng.chance(0.5) {
                    let len = self.rng.log_uniform(60.0, 600.0) as usize;
                    data["reasoningText"] = json!(text.prose(&mut self.rng, len));
                    messages += u64::from(content.is_empty());
                }
            }
            messages += u64::from(!content.is_empty()) + 2 * calls.len() as u64;
            self.event(out, "assistant.message", data)?;
            for (id, name, arguments) in &calls {
                let mut data = json!({"toolCallId": id, "toolName": name, "arguments": arguments});
                if !self.flat {
                    data["model"] = json!(self.model);
                }
                self.event(out, "tool.execution_start", data)?;
            }
            for (id, name, arguments) in &calls {
                self.tick(5_000);
                let len = tool_output_len(&mut self.rng);
                let output = text.code(&mut self.rng, len).into_owned();
                if !self.flat {
                    let input = json!({"sessionId": self.id, "cwd": self.project_cwd, "toolName": name,
                        "toolArgs": arguments.to_string(), "toolResult": {"resultType": "success"}});
                    let invocation = self.rng.uuid_v4();
                    self.event(
                        out,
                        "hook.start",
                        json!({"hookInvocationId": invocation, "hookType": "postToolUse", "input": input}),
                    )?;
                    self.event(
                        out,
                        "hook.end",
                        json!({"hookType": "postToolUse", "success": true}),
                    )?;
                }
                let mut data = json!({"toolCallId": id, "success": true, "result": {"content": output}});
                if !self.flat {
                    data["model"] = json!(self.model);
                    data["interactionId"] = json!(interaction);
                }
                self.event(out, "tool.execution_complete", data)?;
            }
            self.event(out, "assistant.turn_end", json!({ "turnId": turn_id }))?;
        }
        Ok(messages)
    }
}
