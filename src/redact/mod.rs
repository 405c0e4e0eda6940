//! Secret redaction: finds credentials in text before it is stored and replaces each with
//! `[REDACTED:<kind>]`, counting them per kind.
//!
//! Pure, and fast on text without secrets, which is most session text (measured by
//! `cargo run --release --example redact_throughput`): `anchor_scan` finds the literals every rule
//! starts with (`ANCHORS`, ASCII case-insensitively; an AVX2 fingerprint screens 32 positions
//! at a time); a cheap screen (`may_start_secret`) drops the anchors no rule could redact; only
//! at the others is one anchored regular expression holding all rules tried; each match is then
//! checked in code (boundaries, lengths, names, placeholders, nesting). Text without secrets is
//! returned borrowed.
//!
//! Rules, in brief (the tests and `fixtures/redact/` are the specification):
//! - Provider tokens are recognised by their prefix, charset and length (`ghp_` + 36 base62,
//!   `AKIA` + 16, `hf_` + 34 letters, ...). A token must not touch another token character or
//!   `+`: inside a base64 or base64url blob (a Codex `encrypted_content`, an image) a prefix is
//!   always glued to its neighbours, so `sk-`/`hf_`-like substrings there are left alone.
//!   Checksums (GitHub's CRC32 suffix) are not verified: a wrong guess about a format would leak
//!   a real secret, while a false hit only hides a random-looking string.
//! - Containers (`NAME=value` with a secret-like name, `"password": "..."`, `Bearer <token>`,
//!   `scheme://user:password@host`, `AccountKey=...`) redact their value, and only the value: the
//!   user of a URL and the name of an assignment stay. When the value itself holds a recognised
//!   token, that token is reported under its own kind instead.
//! - Secret words in names (`token`, `secret`, `password`, `api_key`, ...) must start a part of
//!   the name (`GITHUB_TOKEN`, `clientSecret`, `PGPASSWORD`): `jsonwebtoken` is not one. A value
//!   that names itself (`reset_token`, `wrongpassword`) is documentation. Test passwords in code
//!   (`password: 'TestPass123!'`) are redacted: a password literal is one whatever its purpose.
//! - Obvious placeholders are kept, because they are documentation, not secrets: variable
//!   references (`$VAR`, `${VAR}`, `{{ secrets.X }}`, `<your-key>`), masks (`xxxx`, `****`,
//!   `sk-...`), the words `example`, `your`, `placeholder`, `redacted`, `changeme`, values that
//!   are a bare word such as `password` or `string`, a number under a `token` name (a count:
//!   `MAX_TOKEN=4096`), and tokens whose body is a run of one character or a counting sequence
//!   (`ghp_1234567890abcdef...`).
//! - Lower-case `name=value` without quotes is only a secret in a URL query, a command-line
//!   flag or a config line: elsewhere it is code (`connect(password=password)`), not
//!   configuration. Quoted values hold no whitespace, so a passphrase with spaces is not
//!   recognised.
//! - A config line (YAML `password: hunter2`, INI `db_password = s3cr3t`, `.properties`
//!   `spring.datasource.password=...`, `.env`) is a whole line: only indentation or `- ` before
//!   the name, the value unquoted and running to the end of the line or a ` #` comment, so prose
//!   (`the password: field is required`) never is one. Its value must not read as code or data:
//!   numbers (`max_token: 4096`), paths, member accesses (`token = self.token`), identifiers
//!   naming a secret (`password: hashedPassword`) and, under a lower-case name, identifiers
//!   without a digit or with `_` (`token = data`) are kept. So `password: admin` is kept and
//!   `password: admin1` is not: a plain word there is as often a variable as a password.
//! - Obvious `Bearer <word>` prose is kept: outside an `Authorization` header the token needs 16
//!   characters and a digit; an unsigned JWT (`alg: none`, no signature) is not a credential.

use std::borrow::Cow;
use std::ops::Range;

use regex::{Captures, Regex};
use serde_json::Value;

use anchor_scan::AnchorScan;
use placeholders::{has_key_material, is_code_shaped, is_placeholder_token, is_placeholder_value};
use prescreen::may_start_secret;
use rules::{
    is_base64_char, is_token_char, is_unquoted_value_byte, name_fits, rules, Check, Name, Rule, ANCHORS,
    MAX_VALUE,
};

pub use kinds::{Redactions, SecretKind};

mod anchor_scan;
mod kinds;
mod placeholders;
mod prescreen;
mod rules;

/// A secret found in a text: the byte range replaced and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    span: Range<usize>,
    kind: SecretKind,
}

/// What the check of one candidate decided.
enum Verdict {
    Secret(Found),
    /// Not a secret; search again from this byte offset (always past the candidate's start).
    Resume(usize),
}

/// A bound on redaction passes over one text (see `Redactor::redact`); real text needs two.
const MAX_PASSES: usize = 8;

/// The longest text one rule is tried on from where it can start: longer than any secret (a
/// private key block included), short enough that the search stays linear in the text.
const MAX_MATCH: usize = 8 << 10;

/// Finds and replaces secrets. Build once and share: it is `Sync` and holds no per-call state.
pub struct Redactor {
    anchors: AnchorScan,
    /// All rules as one alternation, anchored: tried only where an anchor starts.
    regex: Regex,
    /// The same without the container rules (which never match), with the same groups: the
    /// search for a token inside a container's value.
    token_regex: Regex,
    rules: Vec<Rule>,
    /// Whether `may_start_secret` screens each anchor before the regex is tried (always, but
    /// for the test that proves the screen changes nothing).
    skip_cheap_rejections: bool,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").finish_non_exhaustive()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    pub fn new() -> Self {
        let rules = rules();
        let regex = anchored_alternation(rules.iter().map(|rule| rule.pattern.as_str()));
        // `\b\B` never matches; `()` keeps the rule's secret group.
        let token_regex = anchored_alternation(rules.iter().map(|rule| match rule.check {
            Check::Value { .. } => r"\b\B()",
            _ => rule.pattern.as_str(),
        }));
        Redactor {
            anchors: AnchorScan::new(ANCHORS),
            regex,
            token_regex,
            rules,
            skip_cheap_rejections: true,
        }
    }

    /// Replaces every secret in `text` with `[REDACTED:<kind>]` and counts it in `counts`.
    /// Returns the text borrowed when nothing was found.
    pub fn redact<'a>(&self, text: &'a str, counts: &mut Redactions) -> Cow<'a, str> {
        let Some(mut redacted) = self.redact_once(text, counts) else {
            return Cow::Borrowed(text);
        };
        // A replacement gives its neighbours a new edge: a token glued to the end of a key block
        // stands alone once the block is `[REDACTED:private_key]`. Passing again until nothing
        // changes keeps redaction idempotent; each pass only replaces secret text, so it ends.
        for _ in 1..MAX_PASSES {
            match self.redact_once(&redacted, counts) {
                Some(again) => redacted = again,
                None => break,
            }
        }
        Cow::Owned(redacted)
    }

    /// One left-to-right pass; `None` when it found nothing.
    fn redact_once(&self, text: &str, counts: &mut Redactions) -> Option<String> {
        let mut redacted: Option<String> = None;
        let mut copied_to = 0;
        while let Some(found) = self.next_secret(text, copied_to, text.len(), false) {
            let out = redacted.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied_to..found.span.start]);
            out.push_str("[REDACTED:");
            out.push_str(found.kind.as_str());
            out.push(']');
            counts.add(found.kind, 1);
            copied_to = found.span.end;
        }
        let mut out = redacted?;
        out.push_str(&text[copied_to..]);
        Some(out)
    }

    /// Redacts every string inside a JSON value (object keys are names, not content: kept).
    pub fn redact_json(&self, value: &mut Value, counts: &mut Redactions) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(redacted) = self.redact(text, counts) {
                    *text = redacted;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| self.redact_json(item, counts)),
            Value::Object(map) => map.values_mut().for_each(|item| self.redact_json(item, counts)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// The first secret that starts at or after `from` and ends by `limit`; with `tokens_only`,
    /// the first self-describing token or key (no container rule).
    fn next_secret(&self, text: &str, from: usize, limit: usize, tokens_only: bool) -> Option<Found> {
        let haystack = &text[..limit];
        let mut at = from;
        while let Some(start) = self.anchors.next(haystack, at) {
            // Anchors are ASCII, so one byte on is still a character boundary.
            at = start + 1;
            if self.skip_cheap_rejections && !may_start_secret(haystack, start) {
                continue;
            }
            // The slice hides what precedes `start` from the regex; `judge` checks that context.
            let regex = if tokens_only {
                &self.token_regex
            } else {
                &self.regex
            };
            let mut window_end = (start + MAX_MATCH).min(haystack.len());
            while !haystack.is_char_boundary(window_end) {
                window_end -= 1;
            }
            let Some(captures) = regex.captures(&haystack[start..window_end]) else {
                continue;
            };
            match self.judge(haystack, start, &captures) {
                Verdict::Secret(found) => return Some(found),
                Verdict::Resume(next) => at = at.max(next),
            }
        }
        None
    }

    /// Checks the rule that matched at `start` (its captures are relative to `start`).
    fn judge(&self, text: &str, start: usize, captures: &Captures<'_>) -> Verdict {
        let Some((rule, secret)) = self.rules.iter().enumerate().find_map(|(index, rule)| {
            captures.get(2 * index + 1)?;
            let secret = captures.get(2 * index + 2)?;
            Some((rule, start + secret.start()..start + secret.end()))
        }) else {
            // Unreachable by construction (every rule has its groups): try the next anchor.
            return Verdict::Resume(start + 1);
        };
        if rule.word_start && text[..start].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            return Verdict::Resume(start + 1);
        }
        if !rule.len.contains(&secret.len()) {
            return Verdict::Resume(start + 1);
        }
        let secret_text = &text[secret.clone()];
        let accepted = match rule.check {
            Check::Token => stands_alone(text, &secret) && !is_placeholder_token(secret_text),
            Check::Structured => stands_alone(text, &secret),
            Check::Base64Value => {
                !text[secret.end..].chars().next().is_some_and(is_base64_char)
                    && !is_placeholder_token(secret_text)
            }
            Check::KeyBlock => has_key_material(secret_text),
            Check::Value {
                min_len,
                needs_digit,
                name,
            } => {
                // What separates the secret word from the value (`=`, ` = `, `: `).
                let separator = text[start..secret.start]
                    .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
                let name = match name {
                    Name::ConfigLine if separator == "=" && name_fits(text, start, Name::Unquoted) => {
                        Name::Unquoted
                    }
                    name => name,
                };
                if !name_fits(text, start, name) {
                    return Verdict::Resume(secret.start);
                }
                let quoted = text[secret.end..].starts_with(['"', '\'', '\\']);
                // A config line's value runs to the end of its line: nothing to trim.
                let value = if quoted || matches!(name, Name::ConfigLine) {
                    secret_text
                } else {
                    trim_trailing_punctuation(secret_text)
                };
                // `API_KEY=os.getenv("API_KEY")`: a call or an index is code, not a value.
                let is_code = text[secret.end..].starts_with(['(', '[']);
                // A recognised token inside the value is reported under its own kind: search
                // again from the value, where it will be found on its own. Only tokens: a
                // container in a container's value (`A_TOKEN=B_TOKEN=...`) would make the search
                // quadratic.
                if self.next_secret(text, secret.start, secret.end, true).is_some() {
                    return Verdict::Resume(secret.start);
                }
                let env_word = !text[start..secret.start].bytes().any(|b| b.is_ascii_lowercase());
                if value.len() < min_len
                    || (needs_digit && !value.bytes().any(|b| b.is_ascii_digit()))
                    || is_code
                    // Untrimmed too: a mask's `...` is what trimming takes off (`TOKEN=pypi-...`).
                    || is_placeholder_value(value)
                    || is_placeholder_value(secret_text)
                    || (matches!(name, Name::ConfigLine) && is_code_shaped(value, env_word))
                    // `MAX_TOKEN=4096`: a number under a `token` name counts tokens. (Under
                    // other names a number may well be a PIN or a weak password.)
                    || (value.bytes().all(|b| b.is_ascii_digit())
                        && text[start..].get(..5).is_some_and(|word| word.eq_ignore_ascii_case("token")))
                {
                    // Nothing in the value is a token (searched above): go on after it.
                    return Verdict::Resume(secret.end);
                }
                // The pattern stops at MAX_VALUE characters; the value itself goes on.
                let end = if !quoted && secret_text.len() >= MAX_VALUE {
                    secret.end
                        + text[secret.end..]
                            .bytes()
                            .take_while(|&b| is_unquoted_value_byte(b))
                            .count()
                } else {
                    secret.start + value.len()
                };
                return Verdict::Secret(Found {
                    span: secret.start..end,
                    kind: rule.kind,
                });
            }
        };
        if accepted {
            Verdict::Secret(Found {
                span: secret,
                kind: rule.kind,
            })
        } else {
            Verdict::Resume(start + 1)
        }
    }
}

/// One anchored regex of all `patterns`: pattern i is capture group 2i+1, its secret 2i+2.
fn anchored_alternation<'a>(patterns: impl Iterator<Item = &'a str>) -> Regex {
    let combined = patterns
        .map(|pattern| format!("({pattern})"))
        .collect::<Vec<_>>()
        .join("|");
    // ASCII-only (`-u`): classes stay small and the automaton handles any input.
    regex::RegexBuilder::new(&format!("(?-u)^(?:{combined})"))
        .size_limit(64 << 20)
        .build()
        .expect("the redaction rules are constant and covered by tests")
}

/// Not glued to token characters on either side (nor followed by `/`, as inside base64).
fn stands_alone(text: &str, span: &Range<usize>) -> bool {
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].chars().next();
    !before.is_some_and(is_token_char) && !after.is_some_and(|c| is_token_char(c) || c == '/')
}

/// An unquoted value ends before sentence punctuation: `TOKEN=abc123.` redacts `abc123`.
fn trim_trailing_punctuation(value: &str) -> &str {
    value.trim_end_matches(['.', ',', ':', ';', '!', '?'])
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn redact(text: &str) -> (String, Redactions) {
        let mut counts = Redactions::default();
        let out = Redactor::new().redact(text, &mut counts).into_owned();
        (out, counts)
    }

    #[test]
    fn a_value_longer_than_the_pattern_bound_is_redacted_whole() {
        let long = "a1".repeat(MAX_VALUE);
        let (text, counts) = redact(&format!("API_KEY={long} next"));
        assert_eq!(text, "API_KEY=[REDACTED:secret_assignment] next");
        assert_eq!(counts.total(), 1);
        // Dense candidates cost a bounded try each: all of them are tried, none is a secret.
        let dense = "password=".repeat(4 * MAX_VALUE) + " end";
        assert_eq!(redact(&dense).0, dense);
    }

    #[test]
    fn clean_text_is_borrowed() {
        let mut counts = Redactions::default();
        let text = "nothing to see: token, secret, password.";
        assert!(matches!(
            Redactor::new().redact(text, &mut counts),
            Cow::Borrowed(_)
        ));
        assert!(counts.is_empty());
    }

    #[test]
    fn url_password_keeps_the_user_and_host() {
        let (out, counts) = redact("DATABASE_URL=postgres://app:s3cr3t-Pw@db.internal:5432/app");
        assert_eq!(
            out,
            "DATABASE_URL=postgres://app:[REDACTED:url_password]@db.internal:5432/app"
        );
        assert_eq!(counts.get(SecretKind::UrlPassword), 1);
    }

    #[test]
    fn a_token_inside_a_container_is_counted_under_its_own_kind() {
        let token = "ghp_Z8fK2mQ9vL4xR7tB1nC6yH3jW5pD0sA9eGuV";
        let (out, counts) = redact(&format!("export GITHUB_TOKEN={token}"));
        assert_eq!(out, "export GITHUB_TOKEN=[REDACTED:github_token]");
        assert_eq!(counts.total(), 1);
        let (out, _) = redact(&format!("https://x-access-token:{token}@github.com/o/r.git"));
        assert_eq!(
            out,
            "https://x-access-token:[REDACTED:github_token]@github.com/o/r.git"
        );
        let (out, _) = redact(&format!("-H 'Authorization: Bearer {token}'"));
        assert_eq!(out, "-H 'Authorization: Bearer [REDACTED:github_token]'");
    }

    #[test]
    fn placeholders_and_references_are_kept() {
        for text in [
            "OPENAI_API_KEY=$OPENAI_API_KEY",
            "GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}",
            "password = \"<your-password>\"",
            "DB_PASSWORD=changeme",
            "connect(password=password)",
            "API_KEY=os.getenv(\"API_KEY\")",
            "\"token\": \"string\"",
            "postgres://user:password@localhost/db",
            "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "AKIAIOSFODNN7EXAMPLE",
            "sk-proj-...",
            "Authorization: Bearer $TOKEN",
        ] {
            let (out, counts) = redact(text);
            assert_eq!(out, text, "{counts:?}");
        }
    }

    #[test]
    fn json_strings_are_redacted_in_place() {
        let mut meta = serde_json::json!({
            "title": "use sk-ant-api03-Qw8rT2yU4iO6pA1sD3fG5hJ7kL9zX0cV2bN4mQ6wE8rT0yU2iO4pAA",
            "n": 3,
            "tags": ["ok", "AKIAZ7Q2M4K8T6W3N5R9"]
        });
        let mut counts = Redactions::default();
        Redactor::new().redact_json(&mut meta, &mut counts);
        assert_eq!(meta["title"], "use [REDACTED:anthropic_key]");
        assert_eq!(meta["tags"][1], "[REDACTED:aws_access_key]");
        assert_eq!(meta["n"], 3);
        assert_eq!(counts.total(), 2);
    }
}
