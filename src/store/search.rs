//! Full-text search over the stored `search` vector (`sql/0005_search.sql`).
//!
//! A query is web-search syntax (`"a phrase"`, `-word`, `or`), read by `websearch_to_tsquery`
//! after the same translation the column applies to content, so a path or file name in a query
//! becomes the phrase of its parts. Ranking is `ts_rank_cd` over the stored vectors of a bounded
//! candidate set, the newest [`CANDIDATES`] matches, found without reading every match:
//!
//! - The search looks back from the newest message in widening spans ([`SPANS`] messages, then
//!   all) and stops at the first span holding `limit` matches: a query whose words are common
//!   but whose matches are rare (a phrase of common words) reads the matches of its words in a
//!   recent span, not in the whole store. A `--project` or `--session` search, narrow already,
//!   looks at everything at once.
//! - Within a span the planner finds the newest matches through the GIN index (few matches: each
//!   is read) or by walking the time index from the newest row and testing each (common words:
//!   it stops after [`CANDIDATES`]). A phrase always goes through the index: the planner takes
//!   a phrase to be as common as its words and would walk the span for it.
//!
//! Ties in rank go to the newer message.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::filters::{Filters, Params};
use super::{Store, StoreError};

/// How many of the newest matches are ranked. Older matches of a query this common are found
/// by narrowing it (more words, `--since/--until`, `--project`).
pub const CANDIDATES: i64 = 200;

/// Characters the column turns into spaces before parsing content; queries get the same.
const SPLIT_CHARACTERS: &str = "/.\\";

/// Characters of a message the snippet is cut from: `ts_headline` parses all it is given.
const SNIPPET_SOURCE_CHARS: i32 = 20_000;

/// One search.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub query: String,
    pub filters: Filters,
    pub limit: u32,
}

/// One message found.
#[derive(Clone, Debug)]
pub struct SearchHit {
    pub id: Uuid,
    /// `ts_rank_cd` over the stored vector, normalised to [0, 1).
    pub score: f32,
    pub at: Option<DateTime<Utc>>,
    pub tree: String,
    pub meta: Value,
    /// Where the message matches, the matching words between `**`.
    pub snippet: String,
}

/// What a search found.
#[derive(Clone, Debug)]
pub enum SearchResults {
    Hits(Vec<SearchHit>),
    /// The query has no word the index holds (only common words such as "the", or punctuation).
    NoSearchableWords,
}

/// The tsquery of parameter `$n`, as the column's text was parsed.
fn tsquery(placeholder: &str) -> String {
    format!(
        "websearch_to_tsquery('english'::regconfig, translate({placeholder}, '{SPLIT_CHARACTERS}', '   '))"
    )
}

/// How many of the newest messages each span before the whole store covers.
pub const SPANS: [i64; 2] = [50_000, 400_000];

/// The planner's equal-depth histogram of message times: `bounds` split the rows into
/// `bounds.len() - 1` parts of equal size.
struct TimeHistogram {
    bounds: Vec<DateTime<Utc>>,
    rows: f64,
}

impl TimeHistogram {
    /// The share of rows at or before `at`, counting the parts wholly before it.
    fn share_until(&self, at: DateTime<Utc>) -> f64 {
        let parts = (self.bounds.len() - 1) as f64;
        let bounds_before = self.bounds.partition_point(|bound| *bound <= at);
        bounds_before.saturating_sub(1) as f64 / parts
    }

    /// Where the newest `messages` rows between `since` and `until` start; `None` when that
    /// reaches `since` or the oldest row.
    fn span_start(
        &self,
        messages: i64,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> Option<DateTime<Utc>> {
        if self.bounds.len() < 2 || self.rows <= 0.0 {
            return None;
        }
        let newest = until.map_or(1.0, |until| self.share_until(until).min(1.0));
        let oldest = since.map_or(0.0, |since| self.share_until(since));
        let start = newest - messages as f64 / self.rows;
        if start <= oldest {
            return None;
        }
        let parts = (self.bounds.len() - 1) as f64;
        // The bound below the share: the span is rather larger than asked.
        self.bounds.get((start * parts).floor() as usize).copied()
    }
}

impl Store {
    /// Runs one search; hits are best first, the newer first among equal ranks.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResults, StoreError> {
        let client = self.client().await?;
        let parsed = client
            .query_typed_one(
                &format!("select numnode(q), querytree(q) from {} q", tsquery("$1")),
                &[(&request.query, Type::TEXT)],
            )
            .await
            .map_err(StoreError::query("reading the search query"))?;
        if parsed.get::<_, i32>(0) == 0 {
            return Ok(SearchResults::NoSearchableWords);
        }
        // `<->`, or `<n>` for a phrase with a stopword inside.
        let phrase = parsed.get::<_, String>(1).contains('<');
        let filters = self.with_project_slugs(request.filters.clone()).await?;
        let narrow = filters.session.is_some() || !filters.project_roots.is_empty();
        let mut found: Vec<Uuid> = Vec::new();
        let mut newer_than_span: Option<DateTime<Utc>> = None;
        let mut starts = match narrow {
            true => Vec::new(),
            false => self.span_starts(&filters).await?,
        };
        // The whole store last; spans past it, or ending where the last did, add nothing.
        starts.dedup();
        starts.push(None);
        for older_bound in starts {
            let want = CANDIDATES - found.len() as i64;
            found.extend(
                self.candidates(request, &filters, phrase, older_bound, newer_than_span, want)
                    .await?,
            );
            // A store smaller than the span has been read whole.
            if older_bound.is_none() || found.len() >= request.limit as usize {
                break;
            }
            newer_than_span = older_bound;
        }
        self.rank(request, &found).await.map(SearchResults::Hits)
    }

    /// Where spans of [`SPANS`] messages start, counting back from `--until` (or the newest
    /// message) and not past `--since`, read from the planner's statistics of the time index:
    /// a span need not be exact, and counting the rows would read each. `None` past the store,
    /// and for every span when there are no statistics yet.
    async fn span_starts(&self, filters: &Filters) -> Result<Vec<Option<DateTime<Utc>>>, StoreError> {
        let row = self
            .client()
            .await?
            .query_typed_opt(
                "select s.histogram_bounds::text::timestamptz[], c.reltuples::float8 from pg_stats s \
                 join pg_class c on c.relname = 'memory' and c.relnamespace = $1::regnamespace \
                 where s.schemaname = $2 and s.tablename = 'memory_time_idx'",
                &[
                    (&self.schema.quoted(), Type::TEXT),
                    (&self.schema.as_str(), Type::TEXT),
                ],
            )
            .await
            .map_err(StoreError::query("reading the time statistics"))?;
        let Some(row) = row else {
            return Ok(vec![None; SPANS.len()]);
        };
        let histogram = TimeHistogram {
            bounds: row.get(0),
            rows: row.get(1),
        };
        Ok(SPANS
            .iter()
            .map(|messages| histogram.span_start(*messages, filters.since, filters.until))
            .collect())
    }

    /// The ids of the newest `want` matches at or after `from` and before `before` (either
    /// unbounded when `None`), newest first.
    async fn candidates(
        &self,
        request: &SearchRequest,
        filters: &Filters,
        phrase: bool,
        from: Option<DateTime<Utc>>,
        before: Option<DateTime<Utc>>,
        want: i64,
    ) -> Result<Vec<Uuid>, StoreError> {
        if want <= 0 {
            return Ok(Vec::new());
        }
        let mut params = Params::default();
        let tsquery = tsquery(&params.bind(request.query.clone(), Type::TEXT));
        let mut conditions = filters.conditions(&mut params);
        if let Some(from) = from {
            let from = params.bind(from, Type::TIMESTAMPTZ);
            conditions.push_str(&format!(" and lower(m.temporal) >= {from}"));
        }
        if let Some(before) = before {
            let before = params.bind(before, Type::TIMESTAMPTZ);
            conditions.push_str(&format!(" and lower(m.temporal) < {before}"));
        }
        let want = params.bind(want, Type::INT8);
        let matches = format!(
            "select m.id, lower(m.temporal) as at from {} m where m.search @@ {tsquery}{conditions}",
            self.table("memory")
        );
        // A materialised match list cannot be walked in time order: the index finds it.
        let sql = match phrase {
            true => format!(
                "with matches as materialized ({matches}) select id from matches order by at desc limit {want}"
            ),
            false => format!("{matches} order by lower(m.temporal) desc limit {want}"),
        };
        let rows = self
            .client()
            .await?
            .query_typed(&sql, &params.typed())
            .await
            .map_err(StoreError::query("searching"))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Ranks `ids` and returns the best `limit`, each with its snippet.
    async fn rank(&self, request: &SearchRequest, ids: &[Uuid]) -> Result<Vec<SearchHit>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = Params::default();
        let query = params.bind(request.query.clone(), Type::TEXT);
        let tsquery = tsquery(&query);
        let ids = params.bind(ids.to_vec(), Type::UUID_ARRAY);
        let limit = params.bind(i64::from(request.limit), Type::INT8);
        // The snippet is marked on the content as it is, where a path is one token: the query as
        // typed finds it there, the translated one finds the words around it.
        let sql = format!(
            "with ranked as ( \
                 select m.id, lower(m.temporal) as at, ts_rank_cd(m.search, {tsquery}, 1 | 32) as score \
                 from {memory} m where m.id = any({ids}) order by score desc, at desc limit {limit}) \
             select r.id, r.score, r.at, m.tree::text, m.meta, \
                 ts_headline('english'::regconfig, left(m.content, {SNIPPET_SOURCE_CHARS}), \
                     websearch_to_tsquery('english'::regconfig, {query}) || {tsquery}, \
                     'StartSel=**, StopSel=**, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"') \
             from ranked r join {memory} m on m.id = r.id \
             order by r.score desc, r.at desc",
            memory = self.table("memory"),
        );
        let rows = self
            .client()
            .await?
            .query_typed(&sql, &params.typed())
            .await
            .map_err(StoreError::query("searching"))?;
        Ok(rows
            .into_iter()
            .map(|row| SearchHit {
                id: row.get(0),
                score: row.get(1),
                at: row.get(2),
                tree: row.get(3),
                meta: row.get(4),
                snippet: row.get(5),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(n * 86_400, 0).unwrap()
    }

    /// 1000 rows, one part of 100 rows per day over ten days.
    fn histogram() -> TimeHistogram {
        TimeHistogram {
            bounds: (0..=10).map(day).collect(),
            rows: 1000.0,
        }
    }

    #[test]
    fn spans_count_back_from_the_newest_row_or_until() {
        let histogram = histogram();
        assert_eq!(histogram.span_start(250, None, None), Some(day(7)));
        assert_eq!(histogram.span_start(100, None, Some(day(5))), Some(day(4)));
        assert_eq!(histogram.span_start(1000, None, None), None, "the whole store");
        assert_eq!(
            histogram.span_start(300, Some(day(8)), None),
            None,
            "past --since"
        );
        let empty = TimeHistogram {
            bounds: Vec::new(),
            rows: 0.0,
        };
        assert_eq!(empty.span_start(10, None, None), None);
    }
}
