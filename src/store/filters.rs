//! The filters `search`, `show --last` and `status` share, as SQL conditions on `memory m` with
//! their values bound as parameters.

use chrono::{DateTime, Utc};
use tokio_postgres::types::{ToSql, Type};

use super::{Store, StoreError};

/// What rows a read command considers; every field narrows, none given means every row.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub tool: Option<String>,
    /// Working directories: a row matches when its cwd is one of them or below one (the roots
    /// of a `ProjectScope`, resolved as an import resolves `--project`).
    pub project_roots: Vec<String>,
    /// The slugs of the projects those directories can hold rows of, once looked up
    /// ([`Store::with_project_slugs`]): a condition the GIN index on meta answers.
    pub project_slugs: Option<Vec<String>>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// A whole session id.
    pub session: Option<String>,
    pub role: Option<String>,
}

/// A statement's parameters, bound in order as conditions are written.
#[derive(Default)]
pub(super) struct Params {
    values: Vec<(Box<dyn ToSql + Sync + Send>, Type)>,
}

impl Params {
    /// Binds `value` and returns its placeholder (`$n`).
    pub(super) fn bind(&mut self, value: impl ToSql + Sync + Send + 'static, kind: Type) -> String {
        self.values.push((Box::new(value), kind));
        format!("${}", self.values.len())
    }

    /// The values, as `query_typed` takes them.
    pub(super) fn typed(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.values
            .iter()
            .map(|(value, kind)| (value.as_ref() as &(dyn ToSql + Sync), kind.clone()))
            .collect()
    }
}

impl Filters {
    /// ` and ...` for each filter given, over `memory m`.
    pub(super) fn conditions(&self, params: &mut Params) -> String {
        let mut sql = String::new();
        // Equality, not containment: a tool or a role holds a large share of the rows, whose
        // posting lists in the GIN index on meta cost more to read than testing each candidate.
        let mut meta_is = |key: &str, value: &Option<String>, params: &mut Params| {
            if let Some(value) = value {
                sql.push_str(&format!(
                    " and (m.meta ->> '{key}') = {}",
                    params.bind(value.clone(), Type::TEXT)
                ));
            }
        };
        meta_is("source_tool", &self.tool, params);
        meta_is("source_message_role", &self.role, params);
        if let Some(session) = &self.session {
            sql.push_str(&format!(
                " and (m.meta ->> 'source_session_id') = {}",
                params.bind(session.clone(), Type::TEXT)
            ));
        }
        if !self.project_roots.is_empty() {
            if let Some(slugs) = &self.project_slugs {
                let any_slug: Vec<String> = slugs
                    .iter()
                    .map(|slug| {
                        let object = serde_json::json!({ "source_project_slug": slug });
                        format!(
                            "m.meta @> {}",
                            params.bind(tokio_postgres::types::Json(object), Type::JSONB)
                        )
                    })
                    .collect();
                match any_slug.is_empty() {
                    true => sql.push_str(" and false"),
                    false => sql.push_str(&format!(" and ({})", any_slug.join(" or "))),
                }
            }
            let roots = params.bind(self.project_roots.clone(), Type::TEXT_ARRAY);
            sql.push_str(&format!(
                " and exists (select 1 from unnest({roots}::text[]) r \
                   where (m.meta ->> 'source_cwd') = r or starts_with(m.meta ->> 'source_cwd', rtrim(r, '/') || '/'))"
            ));
        }
        if let Some(since) = self.since {
            sql.push_str(&format!(
                " and lower(m.temporal) >= {}",
                params.bind(since, Type::TIMESTAMPTZ)
            ));
        }
        if let Some(until) = self.until {
            sql.push_str(&format!(
                " and lower(m.temporal) <= {}",
                params.bind(until, Type::TIMESTAMPTZ)
            ));
        }
        sql
    }
}

/// More slugs than this, and the project condition is left to the working directories alone.
const MAX_SLUGS: usize = 32;

impl Store {
    /// `filters` with the slugs of the projects its directories can hold rows of: those whose
    /// key (git root or working directory) is one of the directories, below one, or above one
    /// (a directory inside a repository).
    pub async fn with_project_slugs(&self, mut filters: Filters) -> Result<Filters, StoreError> {
        if filters.project_roots.is_empty() {
            return Ok(filters);
        }
        let rows = self
            .client()
            .await?
            .query_typed(
                &format!(
                    "select p.slug from {} p, unnest($1::text[]) r \
                     where p.project_key = r or starts_with(p.project_key, rtrim(r, '/') || '/') \
                        or starts_with(r, rtrim(p.project_key, '/') || '/') \
                     group by 1 order by 1",
                    self.table("memtree_projects")
                ),
                &[(&filters.project_roots, Type::TEXT_ARRAY)],
            )
            .await
            .map_err(StoreError::query("looking up the project"))?;
        let slugs: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        filters.project_slugs = (slugs.len() <= MAX_SLUGS).then_some(slugs);
        Ok(filters)
    }
}

/// `text` as a LIKE pattern that matches only itself (`\` is LIKE's default escape).
pub(super) fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(ch);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_match_only_the_text() {
        assert_eq!(like_escaped("ses_a%b\\c"), "ses\\_a\\%b\\\\c");
        assert_eq!(like_escaped("/home/dev"), "/home/dev");
    }

    #[test]
    fn a_project_with_no_slug_matches_nothing() {
        let filters = Filters {
            project_roots: vec!["/p".to_owned()],
            project_slugs: Some(Vec::new()),
            ..Filters::default()
        };
        assert!(filters.conditions(&mut Params::default()).contains(" and false"));
    }

    #[test]
    fn each_filter_binds_its_values() {
        let filters = Filters {
            tool: Some("claude".to_owned()),
            project_roots: vec!["/p".to_owned()],
            since: Some(DateTime::from_timestamp(0, 0).unwrap()),
            session: Some("s".to_owned()),
            ..Filters::default()
        };
        let mut params = Params::default();
        params.bind("query", Type::TEXT);
        let sql = filters.conditions(&mut params);
        assert_eq!(params.typed().len(), 5);
        for placeholder in ["$2", "$3", "$4", "$5"] {
            assert!(sql.contains(placeholder), "{sql}");
        }
        assert!(
            !sql.contains("'claude'") && !sql.contains("/p"),
            "values are bound: {sql}"
        );
    }
}
