//! Search results: a block per hit (time, tool, project, session title, then the snippet) for
//! people, and one JSON document with ids, scores and meta for programs.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{json, Value};

use super::{meta_str, minute, project_of, short_id};
use crate::store::SearchHit;

/// The text of a search's hits, best first; empty when nothing matched.
pub fn search_text(hits: &[SearchHit], home: Option<&Path>) -> String {
    let mut out = String::new();
    for hit in hits {
        let title = meta_str(&hit.meta, "source_session_title").unwrap_or("(untitled)");
        let session = meta_str(&hit.meta, "source_session_id").unwrap_or("");
        let role = meta_str(&hit.meta, "source_message_role").unwrap_or("?");
        let _ = writeln!(
            out,
            "{}  {}  {}  {title}",
            minute(hit.at),
            meta_str(&hit.meta, "source_tool").unwrap_or("?"),
            project_of(&hit.meta, home),
        );
        let _ = writeln!(
            out,
            "  session {}  {role}  score {:.3}",
            short_id(session),
            hit.score
        );
        let _ = writeln!(out, "  {}", one_line(&hit.snippet));
        out.push('\n');
    }
    out
}

/// The hits as one JSON document.
pub fn search_json(query: &str, hits: &[SearchHit]) -> Value {
    let results: Vec<Value> = hits
        .iter()
        .map(|hit| {
            json!({
                "id": hit.id,
                // The rank is a float4: four places are all it holds of meaning.
                "score": (f64::from(hit.score) * 1e4).round() / 1e4,
                "time": hit.at,
                "tool": meta_str(&hit.meta, "source_tool"),
                "session_id": meta_str(&hit.meta, "source_session_id"),
                "session_title": meta_str(&hit.meta, "source_session_title"),
                "role": meta_str(&hit.meta, "source_message_role"),
                "cwd": meta_str(&hit.meta, "source_cwd"),
                "tree": hit.tree,
                "snippet": hit.snippet,
                "meta": hit.meta,
            })
        })
        .collect();
    json!({ "query": query, "results": results })
}

/// Text on one line: runs of whitespace (newlines included) become one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hit_shows_time_tool_project_title_and_snippet() {
        let hit = SearchHit {
            id: uuid::Uuid::nil(),
            score: 0.5,
            at: chrono::DateTime::from_timestamp(1_772_366_400, 0),
            tree: "projects.app.agent_sessions".to_owned(),
            meta: json!({
                "source_tool": "claude",
                "source_cwd": "/home/dev/app",
                "source_session_title": "Fix login",
                "source_session_id": "0a1b2c3d-4e5f-6789",
                "source_message_role": "user",
            }),
            snippet: "the **borrow**\n checker".to_owned(),
        };
        let text = search_text(&[hit], Some(Path::new("/home/dev")));
        assert_eq!(
            text,
            "2026-03-01 12:00  claude  ~/app  Fix login\n  session 0a1b2c3d-4e5  user  score 0.500\n  the **borrow** checker\n\n"
        );
    }
}
