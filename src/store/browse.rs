//! Reading the store back: which session an id or prefix names, a session's messages in order
//! (streamed, so a long session is never held whole), and the counts `status` shows (among them
//! the sessions read from files that are gone).

use std::pin::pin;

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use serde::Serialize;
use serde_json::Value;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::filters::{like_escaped, Filters, Params};
use super::{Store, StoreError};

/// How many sessions an ambiguous prefix lists.
const AMBIGUOUS_LISTED: i64 = 10;

/// One stored session, as its messages' meta describe it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SessionSummary {
    pub id: String,
    pub tool: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    pub messages: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<DateTime<Utc>>,
}

/// One stored message of a session.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMessage {
    pub id: Uuid,
    pub at: Option<DateTime<Utc>>,
    pub content: String,
    pub meta: Value,
}

/// Counts of one project of one tool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProjectCounts {
    pub tool: String,
    /// The project's slug (its ltree label).
    pub slug: String,
    /// The git root or working directory that identifies the project, from the slug book.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub sessions: u64,
    pub messages: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<DateTime<Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last: Option<DateTime<Utc>>,
}

/// The columns of [`SessionSummary`], over `memory m` grouped by session and tool.
const SUMMARY_COLUMNS: &str = "m.meta ->> 'source_session_id', m.meta ->> 'source_tool', \
     max(m.meta ->> 'source_session_title'), min(m.meta ->> 'source_cwd'), count(*), \
     min(lower(m.temporal)), max(upper(m.temporal))";

fn summary(row: &tokio_postgres::Row) -> SessionSummary {
    SessionSummary {
        id: row.get(0),
        tool: row.get(1),
        title: row.get(2),
        cwd: row.get(3),
        messages: row.get::<_, i64>(4).max(0) as u64,
        first: row.get(5),
        last: row.get(6),
    }
}

impl Store {
    /// Whether the memory table holds any row.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let row = self
            .client()
            .await?
            .query_typed_one(
                &format!("select not exists (select 1 from {})", self.table("memory")),
                &[],
            )
            .await
            .map_err(StoreError::query("looking for memories"))?;
        Ok(row.get(0))
    }

    /// The sessions whose id is `prefix` or starts with it: the exact one alone when there is
    /// one, else up to [`AMBIGUOUS_LISTED`] (more than one means the prefix is ambiguous).
    pub async fn sessions_named(&self, prefix: &str) -> Result<Vec<SessionSummary>, StoreError> {
        let client = self.client().await?;
        let exact = client
            .query_typed(
                &format!(
                    "select {SUMMARY_COLUMNS} from {} m where (m.meta ->> 'source_session_id') = $1 \
                     group by 1, 2 order by 6",
                    self.table("memory")
                ),
                &[(&prefix, Type::TEXT)],
            )
            .await
            .map_err(StoreError::query("looking up the session"))?;
        if !exact.is_empty() {
            return Ok(exact.iter().map(summary).collect());
        }
        // The ids first, from the index alone; then the summaries of those few.
        let pattern = format!("{}%", like_escaped(prefix));
        let rows = client
            .query_typed(
                &format!(
                    "with ids as (select distinct m.meta ->> 'source_session_id' as id from {memory} m \
                         where (m.meta ->> 'source_session_id') like $1 order by 1 limit $2) \
                     select {SUMMARY_COLUMNS} from {memory} m join ids on (m.meta ->> 'source_session_id') = ids.id \
                     group by 1, 2 order by 6",
                    memory = self.table("memory")
                ),
                &[(&pattern, Type::TEXT), (&AMBIGUOUS_LISTED, Type::INT8)],
            )
            .await
            .map_err(StoreError::query("looking up the session"))?;
        Ok(rows.iter().map(summary).collect())
    }

    /// The session of the newest message that `filters` admit.
    pub async fn last_session(&self, filters: &Filters) -> Result<Option<SessionSummary>, StoreError> {
        let filters = self.with_project_slugs(filters.clone()).await?;
        let mut params = Params::default();
        let conditions = filters.conditions(&mut params);
        let client = self.client().await?;
        let newest = client
            .query_typed_opt(
                &format!(
                    "select m.meta ->> 'source_session_id', m.meta ->> 'source_tool' from {} m \
                     where m.meta ? 'source_session_id'{conditions} order by lower(m.temporal) desc limit 1",
                    self.table("memory")
                ),
                &params.typed(),
            )
            .await
            .map_err(StoreError::query("finding the last session"))?;
        let Some(newest) = newest else {
            return Ok(None);
        };
        let (id, tool): (String, String) = (newest.get(0), newest.get(1));
        let sessions = self.sessions_named(&id).await?;
        Ok(sessions.into_iter().find(|session| session.tool == tool))
    }

    /// Hands each message of a session to `each` as rows arrive: its main thread in time order
    /// (messages that share a time in the order of their lines in the file), then the subagent
    /// threads recorded under its id.
    pub async fn for_each_message(
        &self,
        session: &SessionSummary,
        each: &mut (dyn FnMut(StoredMessage) + Send),
    ) -> Result<(), StoreError> {
        let client = self.client().await?;
        let sql = format!(
            "select m.id, lower(m.temporal), m.content, m.meta from {} m \
             where (m.meta ->> 'source_session_id') = $1 and m.meta @> jsonb_build_object('source_tool', $2::text) \
             order by m.meta @> '{{\"source_is_sidechain\": true}}', lower(m.temporal), \
             (m.meta ->> 'source_line')::bigint, m.id",
            self.table("memory")
        );
        let failed = StoreError::query("reading the session's messages");
        let params: [(&(dyn tokio_postgres::types::ToSql + Sync), Type); 2] =
            [(&session.id, Type::TEXT), (&session.tool, Type::TEXT)];
        let rows = client.query_typed_raw(&sql, params).await;
        let mut rows = pin!(rows.map_err(failed)?);
        while let Some(row) = rows
            .try_next()
            .await
            .map_err(StoreError::query("reading the session's messages"))?
        {
            each(StoredMessage {
                id: row.get(0),
                at: row.get(1),
                content: row.get(2),
                meta: row.get(3),
            });
        }
        Ok(())
    }

    /// Sessions, messages and their time span per tool and project.
    pub async fn project_counts(&self) -> Result<Vec<ProjectCounts>, StoreError> {
        let rows = self
            .client()
            .await?
            .query_typed(
                &format!(
                    "select c.tool, c.slug, p.project_key, c.sessions, c.messages, c.first, c.last from ( \
                         select m.meta ->> 'source_tool' as tool, \
                             coalesce(m.meta ->> 'source_project_slug', '') as slug, \
                             count(distinct m.meta ->> 'source_session_id') as sessions, count(*) as messages, \
                             min(lower(m.temporal)) as first, max(upper(m.temporal)) as last \
                         from {} m group by 1, 2) c \
                     left join {} p on p.slug = c.slug order by c.tool, c.last desc nulls last, c.slug",
                    self.table("memory"),
                    self.table("memtree_projects")
                ),
                &[],
            )
            .await
            .map_err(StoreError::query("counting the memories"))?;
        let count = |value: i64| value.max(0) as u64;
        Ok(rows
            .into_iter()
            .map(|row| ProjectCounts {
                tool: row.get::<_, Option<String>>(0).unwrap_or_default(),
                slug: row.get(1),
                project: row.get(2),
                sessions: count(row.get(3)),
                messages: count(row.get(4)),
                first: row.get(5),
                last: row.get(6),
            })
            .collect())
    }

    /// How many sessions of `tool` have rows read from one of `files` (their `source_file`).
    /// Each file is one probe of the GIN index on `meta` (`meta @> {"source_file": ..,
    /// "source_tool": ..}`, a value few rows share), so the cost follows the rows of those files,
    /// not the table's size. The tool is in the containment, not a filter of its own: an
    /// expression filter would be misestimated as selective, and the planner would scan the
    /// whole table, testing each row against every file.
    pub async fn sessions_from_files(&self, tool: &str, files: &[&str]) -> Result<u64, StoreError> {
        if files.is_empty() {
            return Ok(0);
        }
        let row = self
            .client()
            .await?
            .query_typed_one(
                &format!(
                    "select count(distinct m.meta ->> 'source_session_id') from unnest($2::text[]) f(path) \
                     cross join lateral (select meta from {} \
                         where meta @> jsonb_build_object('source_file', f.path, 'source_tool', $1::text)) m",
                    self.table("memory")
                ),
                &[(&tool, Type::TEXT), (&files, Type::TEXT_ARRAY)],
            )
            .await
            .map_err(StoreError::query("counting the sessions of files that are gone"))?;
        Ok(row.get::<_, i64>(0).max(0) as u64)
    }
}
