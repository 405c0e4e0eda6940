//! The filters `search`, `show --last` and `status` share, as SQL conditions on `memory m` with
//! their values bound as parameters.

use chrono::{DateTime, Utc};
use tokio_postgres::types::{ToSql, Type};

/// What rows a read command considers; every field narrows, none given means every row.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    pub tool: Option<String>,
    /// Working directories: a row matches when its cwd is one of them or below one (the roots
    /// of a `ProjectScope`, resolved as an import resolves `--project`).
    pub project_roots: Vec<String>,
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
        let mut meta_is = |key: &str, value: &Option<String>, params: &mut Params| {
            if let Some(value) = value {
                // Containment, which the GIN index on meta answers.
                let object = serde_json::json!({ key: value });
                sql.push_str(&format!(
                    " and m.meta @> {}",
                    params.bind(tokio_postgres::types::Json(object), Type::JSONB)
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
            let below: Vec<String> = self
                .project_roots
                .iter()
                .map(|root| format!("{}/%", like_escaped(root.trim_end_matches('/'))))
                .collect();
            sql.push_str(&format!(
                " and ((m.meta ->> 'source_cwd') = any({}) or (m.meta ->> 'source_cwd') like any({}))",
                params.bind(self.project_roots.clone(), Type::TEXT_ARRAY),
                params.bind(below, Type::TEXT_ARRAY)
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
        assert_eq!(params.typed().len(), 6);
        for placeholder in ["$2", "$3", "$4", "$5", "$6"] {
            assert!(sql.contains(placeholder), "{sql}");
        }
        assert!(
            !sql.contains("'claude'") && !sql.contains("/p"),
            "values are bound: {sql}"
        );
    }
}
