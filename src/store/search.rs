//! Full-text search over the stored `search` vector (`sql/0005_search.sql`).
//!
//! A query is web-search syntax (`"a phrase"`, `-word`, `or`), read by `websearch_to_tsquery`
//! after the same translation the column applies to content, so a path or file name in a query
//! becomes the phrase of its parts. Ranking is `ts_rank_cd` over the stored vectors of a bounded
//! candidate set: the newest [`CANDIDATES`] matches. The planner finds them either through the
//! GIN index (few matches: every match is read, then the newest kept) or by walking the time
//! index from the newest row and testing each (common words: it stops after [`CANDIDATES`]), so
//! no query reads every match of a common word. Ties in rank go to the newer message.

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::types::Type;
use uuid::Uuid;

use super::filters::{Filters, Params};
use super::{Store, StoreError};

/// How many of the newest matches are ranked. Older matches of a query this common are found
/// by narrowing it (more words, `--since/--until`, `--project`).
pub const CANDIDATES: i64 = 1000;

/// Characters the column turns into spaces before parsing content; queries get the same.
const SPLIT_CHARACTERS: &str = "/.\\";

/// Bytes of a message the snippet is cut from: `ts_headline` parses all it is given.
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

impl Store {
    /// Runs one search; hits are best first, the newer first among equal ranks.
    pub async fn search(&self, request: &SearchRequest) -> Result<SearchResults, StoreError> {
        let client = self.client().await?;
        let lexemes: i32 = client
            .query_typed_one(
                &format!("select numnode({})", tsquery("$1")),
                &[(&request.query, Type::TEXT)],
            )
            .await
            .map_err(StoreError::query("reading the search query"))?
            .get(0);
        if lexemes == 0 {
            return Ok(SearchResults::NoSearchableWords);
        }
        let mut params = Params::default();
        let query = params.bind(request.query.clone(), Type::TEXT);
        let tsquery = tsquery(&query);
        let conditions = request.filters.conditions(&mut params);
        let candidates = params.bind(CANDIDATES, Type::INT8);
        let limit = params.bind(i64::from(request.limit), Type::INT8);
        // The snippet is marked on the content as it is, where a path is one token: the query as
        // typed finds it there, the translated one finds the words around it.
        let sql = format!(
            "with candidates as materialized ( \
                 select m.id, m.search, lower(m.temporal) as at from {memory} m \
                 where m.search @@ {tsquery}{conditions} \
                 order by lower(m.temporal) desc limit {candidates}), \
             ranked as ( \
                 select id, at, ts_rank_cd(search, {tsquery}, 1 | 32) as score from candidates \
                 order by score desc, at desc limit {limit}) \
             select r.id, r.score, r.at, m.tree::text, m.meta, \
                 ts_headline('english'::regconfig, left(m.content, {SNIPPET_SOURCE_CHARS}), \
                     websearch_to_tsquery('english'::regconfig, {query}) || {tsquery}, \
                     'StartSel=**, StopSel=**, MaxWords=24, MinWords=8, MaxFragments=2, FragmentDelimiter=\" … \"') \
             from ranked r join {memory} m on m.id = r.id \
             order by r.score desc, r.at desc",
            memory = self.table("memory"),
        );
        let rows = client
            .query_typed(&sql, &params.typed())
            .await
            .map_err(StoreError::query("searching"))?;
        Ok(SearchResults::Hits(
            rows.into_iter()
                .map(|row| SearchHit {
                    id: row.get(0),
                    score: row.get(1),
                    at: row.get(2),
                    tree: row.get(3),
                    meta: row.get(4),
                    snippet: row.get(5),
                })
                .collect(),
        ))
    }
}
