//! The planner's tests through `plan_session` and `plan_prepared`, and the helpers the
//! submodules' tests share.

use super::*;
use crate::model::{Block, BlockKind, Message, Role, SessionFacts, Tool};
use chrono::TimeZone;

#[test]
fn id_only_plans_count_what_whole_plans_count_and_keys_are_every_rows() {
    let redactor = Redactor::new();
    let big = "x".repeat(MAX_CONTENT_BYTES + 1);
    let secret = "ghp_R8x2Lq9ZtV4mWc7NpK3sYd6HbF1jGe5QaU0o";
    let mut with_cwd = message("c", Role::User, vec![text(&format!("token {secret}"))]);
    with_cwd.cwd = Some(format!("/home/{secret}"));
    let mut late = message("late", Role::User, vec![text("after the window")]);
    late.timestamp = at(50);
    let session = session(vec![
        message("a", Role::User, vec![text("hello")]),
        message("b", Role::Assistant, vec![text(&big)]),
        with_cwd,
        message(
            "t",
            Role::Assistant,
            vec![Block::new(BlockKind::ToolUse, "Bash(ls)")],
        ),
        message("a", Role::User, vec![text("hello")]),
        late,
    ]);
    let mut options = options(ContentMode::Default);
    options.redactor = Some(&redactor);
    options.window = TimeWindow {
        since: None,
        until: Some(at(10)),
    };
    // The session planned whole and as ids, each as the first of its run.
    let plans = |session: &Session| {
        let plan = |output| {
            let mut prepared = prepare(session.clone(), &options, output);
            SelectedIds::default().select(std::slice::from_mut(&mut prepared));
            plan_prepared(prepared, &project(), &options)
        };
        (plan(RowOutput::Whole), plan(RowOutput::IdOnly))
    };
    let (whole, id_only) = plans(&session);
    let whole_ids: Vec<Uuid> = whole.memories.iter().map(|row| row.id).collect();
    assert_eq!(
        whole_ids.len(),
        3,
        "a, b and c; t has no text, a repeats, late is out"
    );
    assert_eq!(id_only.ids, whole_ids);
    assert!(id_only.memories.is_empty());
    assert_eq!((id_only.rows(), whole.rows()), (3, 3));
    assert_eq!((id_only.truncated, whole.truncated), (1, 1));
    assert_eq!(id_only.redactions, whole.redactions);
    assert_eq!(
        whole.redactions.get(crate::redact::SecretKind::GithubToken),
        2,
        "content and cwd"
    );
    assert_eq!(id_only.skipped, whole.skipped);
    assert_eq!(whole.skipped.len(), 3);
    let keys = Value::Object(rendering_keys(&options));
    for row in &whole.memories {
        let meta = meta_of(row);
        for key in RENDERING_KEYS {
            assert_eq!(meta[key], keys[key], "{key}");
        }
    }
    assert_eq!(keys.as_object().map(Map::len), Some(RENDERING_KEYS.len()));

    // A secret in a session fact counts once per row, with or without meta.
    let mut titled = session.clone();
    titled.facts.title = Some(format!("use {secret}"));
    let (whole, id_only) = plans(&titled);
    assert_eq!(
        whole.redactions.get(crate::redact::SecretKind::GithubToken),
        5,
        "the title in each of 3 rows, content and cwd"
    );
    assert_eq!(id_only.redactions, whole.redactions);

    // A message's own cwd replaces the session's in its row: a secret in both counts once
    // there, and the session's counts in the rows without a cwd of their own.
    let mut in_cwd = session.clone();
    in_cwd.facts.cwd = Some(format!("/home/{secret}"));
    let (whole, id_only) = plans(&in_cwd);
    let github = |row: &PlannedMemory| meta_of(row)["redactions"]["github_token"].as_u64();
    let per_row: Vec<Option<u64>> = whole.memories.iter().map(github).collect();
    assert_eq!(
        per_row,
        [Some(1), Some(1), Some(2)],
        "a and b: the session's cwd; c: its content and its own cwd"
    );
    assert_eq!(whole.redactions.get(crate::redact::SecretKind::GithubToken), 4);
    assert_eq!(id_only.redactions, whole.redactions);
}

pub(super) fn at(second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 10, 0, second).unwrap()
}

fn message(id: &str, role: Role, blocks: Vec<Block>) -> Message {
    Message {
        id: id.to_owned(),
        origin_session_id: None,
        timestamp: at(1),
        role,
        blocks,
        tool_name: None,
        model: None,
        cwd: None,
        line: 1,
    }
}

pub(super) fn session(messages: Vec<Message>) -> Session {
    Session {
        tool: Tool::named("claude"),
        id: "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee".to_owned(),
        source_file: "/home/u/.claude/projects/-p/a.jsonl".to_owned(),
        facts: SessionFacts {
            cwd: Some("/p".to_owned()),
            git_branch: Some(String::new()),
            model: Some("claude-opus-4-5".to_owned()),
            ..SessionFacts::default()
        },
        messages,
    }
}

fn project() -> ProjectContext {
    ProjectContext {
        slug: "p".to_owned(),
        git: GitFacts::default(),
    }
}

fn options(mode: ContentMode) -> PlanOptions<'static> {
    PlanOptions {
        tree_root: "projects",
        sessions_node_name: "agent_sessions",
        mode,
        window: TimeWindow::default(),
        imported_at: at(59),
        redactor: None,
    }
}

pub(super) fn meta_of(row: &PlannedMemory) -> Value {
    serde_json::from_str(&row.meta).expect("meta is a JSON object")
}

/// The plan of `session` alone in the default mode.
fn plan_default(session: Session) -> SessionPlan {
    plan_session(
        session,
        &project(),
        &options(ContentMode::Default),
        &mut Default::default(),
    )
}

pub(super) fn text(text: &str) -> Block {
    Block::new(BlockKind::Text, text)
}

#[test]
fn rows_carry_reference_ids_trees_and_meta_without_empty_facts() {
    let session = session(vec![message("user-1", Role::User, vec![text("hello")])]);
    let plan = plan_default(session.clone());
    let row = &plan.memories[0];
    assert_eq!(row.id.to_string(), "019d487c-54e8-7f5b-b31f-90dcb043b69f");
    assert_eq!(row.tree, "projects.p.agent_sessions");
    assert_eq!(row.content, "hello");
    let meta = meta_of(row);
    let meta = meta.as_object().unwrap();
    assert_eq!(meta["type"], "agent_session");
    assert_eq!(meta["source_session_id"], session.id.as_str());
    assert_eq!(meta["source_message_role"], "user");
    assert_eq!(meta["source_message_block_kinds"], serde_json::json!(["text"]));
    assert_eq!(meta["content_mode"], "default");
    assert_eq!(meta["importer_version"], IMPORTER_VERSION);
    assert_eq!(meta["imported_at"], "2026-04-01T10:00:59.000Z");
    assert!(!meta.contains_key("source_git_branch"), "empty facts are omitted");
    assert!(!meta.contains_key("source_git_root"));
}

#[test]
fn copied_messages_keep_their_origin_id_and_are_planned_once() {
    let mut copy = message("user-1", Role::User, vec![text("hello")]);
    copy.origin_session_id = Some("older-session".to_owned());
    let first = session(vec![copy.clone()]);
    let mut seen = SelectedIds::default();
    let plan = plan_session(
        first.clone(),
        &project(),
        &options(ContentMode::Default),
        &mut seen,
    );
    assert_eq!(meta_of(&plan.memories[0])["source_session_id"], "older-session");
    let again = plan_session(
        first.clone(),
        &project(),
        &options(ContentMode::Default),
        &mut seen,
    );
    assert!(again.memories.is_empty());
    assert_eq!(again.skipped[&MessageSkip::Duplicate], 1);
}

#[test]
fn messages_outside_the_window_or_without_text_are_counted() {
    let messages = vec![
        message("a", Role::User, vec![text("in")]),
        message(
            "b",
            Role::ToolResult,
            vec![Block::new(BlockKind::ToolResult, "x")],
        ),
    ];
    let mut late = message("c", Role::User, vec![text("late")]);
    late.timestamp = at(30);
    let session = session(messages.into_iter().chain([late]).collect());
    let mut options = options(ContentMode::Default);
    options.window.until = Some(at(10));
    let plan = plan_session(session, &project(), &options, &mut Default::default());
    assert_eq!(plan.memories.len(), 1);
    assert_eq!(plan.skipped[&MessageSkip::NoText], 1);
    assert_eq!(plan.skipped[&MessageSkip::OutsideWindow], 1);
}

#[test]
fn nul_characters_never_reach_the_database() {
    let mut session = session(vec![message("m\0", Role::User, vec![text("a\0b")])]);
    session.facts.title = Some("t\0".to_owned());
    let plan = plan_default(session);
    let row = &plan.memories[0];
    assert_eq!(row.content, "a\u{fffd}b");
    assert!(!row.meta.contains("\\u0000"));
}

#[test]
fn giant_content_is_cut_at_a_char_boundary_and_marked() {
    let big = "é".repeat(MAX_CONTENT_BYTES);
    let session = session(vec![message("m", Role::User, vec![text(&big)])]);
    let plan = plan_default(session);
    let row = &plan.memories[0];
    assert!(row.content.len() < MAX_CONTENT_BYTES + 100);
    assert!(row.content.ends_with("more bytes not stored]"));
    assert_eq!(meta_of(row)["content_truncated"], true);
    assert_eq!(plan.truncated, 1);
}

#[test]
fn secrets_are_replaced_in_content_and_meta_and_counted_per_row() {
    let redactor = Redactor::new();
    let at = DateTime::from_timestamp(1_770_000_000, 0).unwrap();
    let secret = "ghp_R8x2Lq9ZtV4mWc7NpK3sYd6HbF1jGe5QaU0o";
    let session = Session {
        tool: Tool::named("claude"),
        id: "s".to_owned(),
        source_file: "/f.jsonl".to_owned(),
        facts: SessionFacts {
            git_repo: Some("https://github.com/o/r.git".to_owned()),
            title: Some(format!("use {secret} please")),
            ..SessionFacts::default()
        },
        messages: vec![Message {
            id: "m".to_owned(),
            origin_session_id: None,
            timestamp: at,
            role: Role::User,
            blocks: vec![Block::new(
                BlockKind::Text,
                format!("export GITHUB_TOKEN={secret}"),
            )],
            tool_name: None,
            model: None,
            cwd: None,
            line: 1,
        }],
    };
    let project = ProjectContext {
        slug: "p".to_owned(),
        git: GitFacts::default(),
    };
    let mut options = PlanOptions {
        tree_root: "projects",
        sessions_node_name: "agent_sessions",
        mode: ContentMode::Default,
        window: TimeWindow::default(),
        imported_at: at,
        redactor: Some(&redactor),
    };
    let plan = plan_session(session.clone(), &project, &options, &mut Default::default());
    let row = &plan.memories[0];
    assert!(!row.content.contains(secret) && !row.meta.contains(secret));
    assert!(row.content.contains("[REDACTED:github_token]"), "{}", row.content);
    assert_eq!(
        meta_of(row)["redactions"]["github_token"],
        2,
        "one in the content, one in the title"
    );
    assert_eq!(plan.redactions.get(crate::redact::SecretKind::GithubToken), 2);
    assert_eq!(meta_of(row)["source_message_id"], "m");

    options.redactor = None;
    let plan = plan_session(session, &project, &options, &mut Default::default());
    assert!(
        plan.memories[0].content.contains(secret),
        "--no-redact keeps the text as it is"
    );
    assert!(meta_of(&plan.memories[0]).get("redactions").is_none());
}

#[test]
fn meta_says_how_a_cwd_or_times_were_found_only_when_the_source_says() {
    let plain = plan_default(session(vec![message("user-1", Role::User, vec![text("hi")])]));
    let meta = meta_of(&plain.memories[0]);
    assert!(meta.get("source_cwd_origin").is_none() && meta.get("source_time_origin").is_none());
    let mut found = session(vec![message("user-1", Role::User, vec![text("hi")])]);
    found.facts.cwd = None;
    found.facts.cwd_origin = Some("unresolved".to_owned());
    found.facts.time_origin = Some("file_time".to_owned());
    let meta = meta_of(&plan_default(found).memories[0]);
    assert_eq!(meta["source_cwd_origin"], "unresolved");
    assert_eq!(meta["source_time_origin"], "file_time");
    assert!(meta.get("source_cwd").is_none());
}

#[test]
fn meta_names_the_line_a_message_starts_on_only_where_its_file_has_lines() {
    let mut on_line = message("user-1", Role::User, vec![text("hi")]);
    on_line.line = 42;
    let mut without = message("user-2", Role::User, vec![text("there")]);
    without.line = 0;
    let plan = plan_default(session(vec![on_line, without]));
    assert_eq!(meta_of(&plan.memories[0])["source_line"], 42);
    assert!(meta_of(&plan.memories[1]).get("source_line").is_none());
}
