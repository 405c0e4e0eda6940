//! Gemini CLI chats (formats.md section 4): `~/.gemini/tmp/<slug>/chats/session-<start>-<id8>.jsonl`
//! event logs as v0.39+ writes them (a metadata line; each prompt; each answer with its thoughts
//! and tokens, appended again with its tool calls and their results once they ran, the same id:
//! an update in place; a turn's last answer appended again with its tokens when the next turn
//! starts, so a log that grows updates a message an earlier import read; a
//! `{"$set":{"lastUpdated"}}` after every record), with the
//! `projects.json` registry and a `.project_root` marker per project; and a few legacy `.json`
//! documents, rewritten whole by older versions, in directories named by the SHA-256 of the
//! project's path.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use chrono::DateTime;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::text::{iso_millis, Rng, TextPools};
use super::{answer_len, prompt_len, session_start, tool_output_len, JsonlOut, Project, ToolStats};

const MODELS: &[&str] = &[
    "gemini-3-flash-preview",
    "gemini-3.1-pro-preview",
    "gemini-2.5-pro",
];
const TOOLS: &[&str] = &[
    "run_shell_command",
    "read_file",
    "read_file",
    "replace",
    "grep_search",
];

/// The projects' directories under `tmp/` and their paths, written once the sessions are.
#[derive(Default)]
pub struct Registry {
    slugs: BTreeMap<String, String>,
}

impl Registry {
    /// The slug Gemini CLI gives a project: its directory's base name, lower-cased.
    fn slug(&mut self, cwd: &str) -> String {
        let base = cwd.rsplit('/').next().unwrap_or(cwd).to_lowercase();
        self.slugs.insert(cwd.to_owned(), base.clone());
        base
    }

    /// `projects.json` and each project's `.project_root`.
    pub fn write(&self, gemini_home: &Path) -> io::Result<()> {
        fs::create_dir_all(gemini_home)?;
        let projects: serde_json::Map<String, Value> = self
            .slugs
            .iter()
            .map(|(cwd, slug)| (cwd.clone(), Value::from(slug.as_str())))
            .collect();
        let registry = serde_json::to_string_pretty(&json!({ "projects": projects }))?;
        fs::write(gemini_home.join("projects.json"), registry)?;
        for (cwd, slug) in &self.slugs {
            let dir = gemini_home.join("tmp").join(slug);
            fs::create_dir_all(&dir)?;
            fs::write(dir.join(".project_root"), cwd)?;
        }
        Ok(())
    }
}

pub struct Session {
    path: PathBuf,
    id: String,
    model: &'static str,
    clock_ms: i64,
    lines: u64,
    rng: Rng,
    /// The last answer, written before its tokens were known.
    untallied: Option<Value>,
}

impl Session {
    pub fn new(gemini_home: &Path, registry: &mut Registry, project: &Project, mut rng: Rng) -> Session {
        let clock_ms = session_start(&mut rng);
        let id = rng.uuid_v4();
        let started = DateTime::from_timestamp_millis(clock_ms).unwrap_or_default();
        let slug = registry.slug(&project.cwd);
        let path = gemini_home.join("tmp").join(slug).join("chats").join(format!(
            "session-{}-{}.jsonl",
            started.format("%Y-%m-%dT%H-%M"),
            &id[..8]
        ));
        Session {
            path,
            id,
            model: rng.pick(MODELS),
            clock_ms,
            lines: 0,
            rng,
            untallied: None,
        }
    }

    fn tick(&mut self, max_ms: usize) -> String {
        self.clock_ms += 1 + self.rng.below(max_ms) as i64;
        iso_millis(self.clock_ms)
    }

    /// Appends `record` and the `lastUpdated` update Gemini CLI writes after it.
    fn append(&mut self, out: &mut JsonlOut, record: &Value) -> io::Result<()> {
        out.write(record)?;
        let updated = iso_millis(self.clock_ms + 1);
        out.write(&json!({"$set": {"lastUpdated": updated}}))
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
        let now = iso_millis(self.clock_ms);
        out.write(&json!({"sessionId": self.id, "projectHash": self.rng.hex(64),
            "startTime": now, "lastUpdated": now, "kind": "main"}))?;
        Ok(0)
    }

    fn write_turn(&mut self, out: &mut JsonlOut, text: &TextPools) -> io::Result<u64> {
        if let Some(mut answer) = self.untallied.take() {
            answer["tokens"] =
                json!({"input": self.rng.below(200_000), "output": self.rng.below(4_000), "total": 1});
            self.append(out, &answer)?;
        }
        self.clock_ms += self.rng.below(600_000) as i64;
        let len = prompt_len(&mut self.rng);
        let prompt = json!({"id": self.rng.uuid_v4(), "timestamp": iso_millis(self.clock_ms),
            "type": "user", "content": [{"text": text.prose(&mut self.rng, len)}]});
        self.append(out, &prompt)?;
        let mut messages = 1;
        let rounds = if self.rng.chance(0.3) {
            0
        } else {
            self.rng.between(1, 5)
        };
        for _ in 0..rounds {
            let at = self.tick(8_000);
            let mut answer = answer(&mut self.rng, text, self.model, at);
            self.append(out, &answer)?;
            let calls: Vec<Value> = (0..self.rng.between(1, 2))
                .map(|_| tool_call(&mut self.rng, text))
                .collect();
            messages += 1 + 2 * calls.len() as u64;
            answer["toolCalls"] = Value::Array(calls);
            self.tick(5_000);
            self.append(out, &answer)?;
        }
        let at = self.tick(8_000);
        let mut answer = answer(&mut self.rng, text, self.model, at);
        answer["tokens"] = Value::Null;
        self.append(out, &answer)?;
        self.untallied = Some(answer);
        Ok(messages + 1)
    }
}

/// A `gemini` record: its text, one or two thoughts, and its tokens.
fn answer(rng: &mut Rng, text: &TextPools, model: &str, at: String) -> Value {
    let len = answer_len(rng);
    let thoughts: Vec<Value> = (0..rng.between(1, 2))
        .map(|_| {
            let len = rng.log_uniform(60.0, 600.0) as usize;
            json!({"subject": text.prose(rng, 30), "description": text.prose(rng, len), "timestamp": at})
        })
        .collect();
    let input = rng.below(200_000);
    json!({"id": rng.uuid_v4(), "timestamp": at, "type": "gemini", "content": text.prose(rng, len),
        "thoughts": thoughts, "model": model,
        "tokens": {"input": input, "output": rng.below(4_000), "cached": input / 2, "thoughts": rng.below(800), "tool": 0, "total": input + 1}})
}

/// A completed tool call with its output, as `recordToolCalls` writes it.
fn tool_call(rng: &mut Rng, text: &TextPools) -> Value {
    let name = rng.pick(TOOLS);
    let id = format!(
        "{name}-{}-{}",
        1_770_000_000_000u64 + rng.below(1 << 30) as u64,
        rng.hex(13)
    );
    let args = match name {
        "run_shell_command" => {
            json!({"command": format!("cargo test {}", rng.hex(4)), "description": text.prose(rng, 40)})
        }
        "replace" => {
            json!({"file_path": format!("src/{}.rs", rng.hex(6)), "old_string": text.code(rng, 200), "new_string": text.code(rng, 220)})
        }
        _ => json!({"file_path": format!("src/{}.rs", rng.hex(6))}),
    };
    let len = tool_output_len(rng);
    let output = text.code(rng, len);
    json!({"id": id, "name": name, "args": args,
        "result": [{"functionResponse": {"id": id, "name": name, "response": {"output": output}}}],
        "status": "success", "timestamp": iso_millis(1_770_000_000_000 + rng.below(1 << 30) as i64),
        "resultDisplay": "", "displayName": name, "description": "", "renderOutputAsMarkdown": false})
}

/// Writes one legacy `.json` document of `turns` turns in the project's hash-named directory.
pub fn write_document(
    gemini_home: &Path,
    project: &Project,
    mut rng: Rng,
    text: &TextPools,
    turns: u64,
) -> io::Result<ToolStats> {
    let start_ms = session_start(&mut rng);
    let mut clock_ms = start_ms;
    let id = rng.uuid_v4();
    let hash: String = Sha256::digest(project.cwd.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let started = DateTime::from_timestamp_millis(start_ms).unwrap_or_default();
    let path = gemini_home.join("tmp").join(&hash).join("chats").join(format!(
        "session-{}-{}.json",
        started.format("%Y-%m-%dT%H-%M"),
        &id[..8]
    ));
    let model = rng.pick(MODELS);
    let mut messages = Vec::new();
    let mut count = 0;
    for _ in 0..turns {
        clock_ms += 1 + rng.below(600_000) as i64;
        let len = prompt_len(&mut rng);
        messages.push(
            json!({"id": rng.uuid_v4(), "timestamp": iso_millis(clock_ms), "type": "user",
            "content": text.prose(&mut rng, len)}),
        );
        clock_ms += 1 + rng.below(8_000) as i64;
        let mut reply = answer(&mut rng, text, model, iso_millis(clock_ms));
        if rng.chance(0.5) {
            reply["toolCalls"] = json!([tool_call(&mut rng, text)]);
            count += 2;
        }
        messages.push(reply);
        count += 2;
    }
    let document = json!({"sessionId": id, "projectHash": hash, "startTime": iso_millis(start_ms),
        "lastUpdated": iso_millis(clock_ms), "messages": messages});
    let bytes = serde_json::to_vec_pretty(&document)?;
    fs::create_dir_all(path.parent().unwrap_or(gemini_home))?;
    fs::write(&path, &bytes)?;
    Ok(ToolStats {
        sessions: 1,
        bytes: bytes.len() as u64,
        records: 1,
        messages: count,
    })
}
