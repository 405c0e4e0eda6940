//! The rules table: each rule's pattern, length bounds and check, the anchors every rule starts
//! with, and which names make a container's value a secret (`name_fits`).

use std::ops::RangeInclusive;

use super::SecretKind;

/// How a rule's candidate is checked before it counts as a secret.
#[derive(Clone, Copy, Debug)]
pub(super) enum Check {
    /// A self-describing token (prefix + body): must stand alone (not glued to token characters,
    /// see the `redact` module docs) and must not be a placeholder.
    Token,
    /// A token whose structure is its proof (a JWT: three dot-separated segments): must stand
    /// alone; long random segments would trip placeholder markers by chance, so none are checked.
    Structured,
    /// A base64 key in a `name=value` context (AWS secret key, Azure account key): must not be
    /// followed by more base64 and must not be a placeholder.
    Base64Value,
    /// A PEM-style block: its body must hold real key material, not `...`.
    KeyBlock,
    /// The value of a container (assignment, header, URL password): at least `min_len`
    /// characters, a digit when `needs_digit`, not a placeholder, named as `name` says, and
    /// redacted under the token's own kind when it holds a recognised token.
    Value {
        min_len: usize,
        needs_digit: bool,
        name: Name,
    },
}

/// Which names make a container's value a secret (checked by `name_fits`).
#[derive(Clone, Copy, Debug)]
pub(super) enum Name {
    /// The pattern spells the context (`Authorization:`, `scheme://user:`): nothing to check.
    Spelled,
    /// `name = "value"`: the secret word starts a part of the name (`api_key`, `clientSecret`,
    /// `PGPASSWORD`), so `jsonwebtoken` and `bypass` are not secret names.
    Quoted,
    /// `NAME=value` unquoted: an upper-case (environment) name, or any name in a URL query
    /// (`?`, `&`), `.npmrc` (`:_authToken=`) or a `--flag=`. Elsewhere a lower-case
    /// `password=password` is code, not configuration.
    Unquoted,
    /// `--name value`: a command-line flag.
    Flag,
    /// `name: value`, `name = value`, `name=value` as a whole line of YAML, INI, `.properties` or
    /// `.env` (after indentation or a YAML `- `, the value running to the end of the line or a
    /// ` #` comment): any name whose secret word starts a part (`password`, `db_password`,
    /// `spring.datasource.password`). A bare `NAME=value` that fits [`Name::Unquoted`] is judged
    /// as that rule would judge it; otherwise the value must not read as code (`is_code_shaped`).
    ConfigLine,
}

pub(super) struct Rule {
    pub(super) kind: SecretKind,
    pub(super) check: Check,
    /// Exactly one capture group: the part that is replaced.
    pub(super) pattern: String,
    /// The secret's length in bytes. Checked in code rather than with counted repetitions
    /// (`{36}`), which would multiply the states of the combined search automaton and slow it
    /// down several times.
    pub(super) len: RangeInclusive<usize>,
    /// The match must not continue a word (`Bearer`, not `nonbearer`).
    pub(super) word_start: bool,
}

impl Rule {
    fn len(self, min: usize, max: usize) -> Rule {
        Rule {
            len: min..=max,
            ..self
        }
    }

    fn word_start(self) -> Rule {
        Rule {
            word_start: true,
            ..self
        }
    }
}

/// Characters that may continue a token: a token touching one of these is part of a longer
/// string (a base64/base64url blob, an identifier), not a token.
pub(super) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')
}

pub(super) fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

/// The secret word that ends a secret name (`*_SECRET`, `*_TOKEN`, `*_PASSWORD`, `*_API_KEY`,
/// `clientSecret`, `db.pass`...). Rules start at this word, not at the start of the name, so that
/// every rule begins with a literal and the search stays fast; `name_fits` checks the rest of
/// the name in code.
pub(super) const SECRET_WORD: &str =
    "(?i:secret|token|password|passwd|passphrase|api[_-]?key|apikey|access[_-]?key|\
     private[_-]?key|secret[_-]?key|auth[_-]?key|pass|pwd)";
/// An unquoted value: printable ASCII without whitespace, quotes, brackets and shell separators.
/// At most [`MAX_VALUE`] characters (no password is longer), so that trying a rule costs the same
/// wherever it starts: unbounded, text such as `password=password=…` made each try run to the
/// end of the text, and the whole search quadratic.
const UNQUOTED_VALUE: &str = r"[A-Za-z0-9!#$%*+./:=?@^_~-]{1,256}";
/// A quoted value: printable ASCII without whitespace, quotes, backslash and backtick; at most
/// [`MAX_VALUE`] characters.
const QUOTED_VALUE: &str = r"[!#-&(-\[\]-_a-~]{1,256}";
/// The longest value the assignment rules take (the bound written in the two patterns above). An
/// unquoted secret value that reaches it is redacted to its end all the same.
pub(super) const MAX_VALUE: usize = 256;

/// Every rule's match starts with one of these (ASCII case-insensitively): the cheap literal
/// search that finds where a rule can start, so that text without any is never given to the
/// regular expression, and text with some is only tried there.
pub(super) const ANCHORS: &[&str] = &[
    "\"private_key",
    "-----BEGIN",
    "AKIA",
    "ASIA",
    "ABIA",
    "ACCA",
    "AccountKey=",
    "SharedAccessKey=",
    "sk-",
    "sk_",
    "rk_",
    "whsec_",
    "AIza",
    "ya29.",
    "GOCSPX-",
    "hf_",
    "api_org_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gldt-",
    "glrt-",
    "glptt-",
    "glcbt-",
    "gloas-",
    "glsoat-",
    "glft-",
    "glimt-",
    "glagent-",
    "glwt-",
    "xox",
    "xapp-",
    "npm_",
    "pypi-",
    "hooks.slack.com/",
    "eyJ",
    "authorization",
    "bearer",
    "://",
    "secret",
    "token",
    "pass",
    "pwd",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "accesskey",
    "access-token",
    "private_key",
    "private-key",
    "privatekey",
    "private-token",
    "auth_key",
    "auth-key",
    "authkey",
    "auth-token",
    "goog-api-key",
];

pub(super) fn rules() -> Vec<Rule> {
    use Check::*;
    use SecretKind::*;
    let rule = |kind, check, pattern: &str| Rule {
        kind,
        check,
        pattern: pattern.to_owned(),
        len: 1..=usize::MAX,
        word_start: false,
    };
    let token = |kind, pattern: &str, min, max| rule(kind, Token, pattern).len(min, max);
    let value = |min_len, needs_digit| Value {
        min_len,
        needs_digit,
        name: Name::Spelled,
    };
    let named = |name| Value {
        min_len: 4,
        needs_digit: false,
        name,
    };
    // Every pattern starts with an entry of ANCHORS. Order matters only between rules that can
    // start at the same position: the earlier wins.
    vec![
        // GCP service-account JSON (raw or escaped inside another JSON string); before the
        // generic PEM rule, which it contains.
        rule(
            GcpPrivateKey,
            KeyBlock,
            r#""private_key\\?"\s*:\s*\\?"(-----BEGIN[A-Z ]*PRIVATE KEY-----[A-Za-z0-9+/=\\\s]+-----END[A-Z ]*PRIVATE KEY-----(?:\\+n)?)"#,
        ),
        // Whole PEM/OpenSSH/PGP private key blocks, or a block cut off after its base64 lines.
        rule(
            PrivateKey,
            KeyBlock,
            r"(-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[A-Za-z0-9+/=\\\s:,.-]*?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|(?:(?:\r?\n|\\r?\\n)[A-Za-z0-9+/=]{40,})+))",
        ),
        token(AwsAccessKey, r"((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]+)", 20, 20),
        rule(
            AwsSecretKey,
            Base64Value,
            r#"(?i:secret_?access_?key)\\?["']?\s*[:=]\s*\\?["']?([A-Za-z0-9/+]+)"#,
        )
        .len(40, 40),
        rule(
            AzureKey,
            Base64Value,
            r"(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/]+={0,2})",
        )
        .len(40, usize::MAX)
        .word_start(),
        token(
            AnthropicKey,
            r"(sk-ant-(?:api|admin|oat|ort|sid)[0-9]{2}-[A-Za-z0-9_-]+)",
            45,
            usize::MAX,
        ),
        token(
            OpenAiKey,
            r"(sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]+)",
            40,
            usize::MAX,
        ),
        token(OpenAiKey, r"(sk-[A-Za-z0-9]+)", 35, usize::MAX),
        token(GoogleApiKey, r"(AIza[A-Za-z0-9_-]+)", 39, 39),
        token(GoogleOauthToken, r"(ya29\.[A-Za-z0-9_-]+)", 35, usize::MAX),
        token(GoogleOauthToken, r"(GOCSPX-[A-Za-z0-9_-]+)", 35, 35),
        token(HuggingFaceToken, r"(hf_[A-Za-z]+)", 37, 37),
        token(HuggingFaceToken, r"(api_org_[A-Za-z]+)", 42, 42),
        token(GithubToken, r"(gh[pousr]_[A-Za-z0-9]+)", 40, 255),
        token(GithubToken, r"(github_pat_[A-Za-z0-9]+_[A-Za-z0-9]+)", 93, 93),
        token(
            GitlabToken,
            r"((?:glpat|gldt|glrt|glptt|glcbt|gloas|glsoat|glft|glimt|glagent|glwt)-[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)",
            25,
            usize::MAX,
        ),
        token(
            SlackToken,
            r"(xox[abeoprs]-[A-Za-z0-9-]+|xapp-[0-9]-[A-Za-z0-9-]+)",
            15,
            usize::MAX,
        ),
        rule(
            SlackToken,
            value(20, true),
            r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9/_-]+)",
        ),
        token(
            StripeKey,
            r"((?:sk|rk)_(?:live|test)_[A-Za-z0-9]+)",
            28,
            usize::MAX,
        ),
        token(StripeKey, r"(whsec_[A-Za-z0-9]+)", 38, usize::MAX),
        // npm access tokens: `npm_` + 36 base62 (the last 6 a checksum, not verified).
        token(NpmToken, r"(npm_[A-Za-z0-9]+)", 40, 40),
        // PyPI API tokens are macaroons: `pypi-` + base64url of a binary header that names the
        // index (`pypi.org` or `test.pypi.org`), then ~150 more characters.
        token(
            PypiToken,
            r"(pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]+)",
            80,
            usize::MAX,
        ),
        rule(
            Jwt,
            Structured,
            r"(eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)",
        )
        .len(48, usize::MAX),
        rule(
            BearerToken,
            value(8, false),
            r#"(?i:authorization)\\?["']?\s*[:=]\s*\\?["']?(?i:bearer|token)\s+([A-Za-z0-9._~+/-]+=*)"#,
        )
        .word_start(),
        rule(
            BasicAuth,
            value(8, false),
            r#"(?i:authorization)\\?["']?\s*[:=]\s*\\?["']?(?i:basic)\s+([A-Za-z0-9+/]+=*)"#,
        )
        .word_start(),
        // `Bearer <token>` outside a header: prose says "bearer tokens", so demand a digit.
        rule(
            BearerToken,
            value(16, true),
            r"(?i:bearer)\s+([A-Za-z0-9._~+/-]+=*)",
        )
        .word_start(),
        rule(
            SecretAssignment,
            value(8, false),
            r"(?i:api-key|auth-token|access-token|private-token|goog-api-key)\s*:\s*([A-Za-z0-9._~+/=-]+)",
        ),
        // `postgres://user:password@host` keeps the user.
        rule(
            UrlPassword,
            value(1, false),
            r"://[A-Za-z0-9._~%!$&*+=-]*:([A-Za-z0-9._~%!$&*+=:@-]+)@[A-Za-z0-9\[]",
        ),
        // `NAME = "value"`, `"api_key": "value"`, `token: 'value'`, in any case and language.
        rule(
            SecretAssignment,
            named(Name::Quoted),
            &format!(r#"{SECRET_WORD}\\?["']?\s*(?::=|=>|[:=])\s*\\?"({QUOTED_VALUE})\\?""#),
        ),
        rule(
            SecretAssignment,
            named(Name::Quoted),
            &format!(r#"{SECRET_WORD}\\?["']?\s*(?::=|=>|[:=])\s*'({QUOTED_VALUE})'"#),
        ),
        // A config line with an unquoted value (see `Name::ConfigLine`). Before the `NAME=value`
        // rule, which matches the same text when the separator is a bare `=` and would otherwise
        // win at this position.
        rule(
            SecretAssignment,
            named(Name::ConfigLine),
            &format!(r"{SECRET_WORD}[ \t]*[:=][ \t]*({UNQUOTED_VALUE})(?:[ \t]*(?:$|\r|\n|\\[rn])|[ \t]+#)"),
        ),
        // `NAME=value`: environment style (`.env`, `export`, `docker -e`), a URL query parameter,
        // `.npmrc`'s `:_authToken=`, or a `--flag=value`.
        rule(
            SecretAssignment,
            named(Name::Unquoted),
            &format!(r"{SECRET_WORD}=({UNQUOTED_VALUE})"),
        ),
        // `--password value`: only when the value looks like a secret.
        rule(
            SecretAssignment,
            Value {
                min_len: 8,
                needs_digit: true,
                name: Name::Flag,
            },
            &format!(r"{SECRET_WORD}[ \t]+({UNQUOTED_VALUE})"),
        ),
    ]
}

/// Whether the secret word at `word_start` ends a name that makes its value a secret (see
/// [`Name`]).
pub(super) fn name_fits(text: &str, word_start: usize, name: Name) -> bool {
    let is_name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-');
    let before = &text[..word_start];
    let rest = &text[word_start..];
    let word = &rest[..rest.find(|c| !is_name_char(c)).unwrap_or(rest.len())];
    let mut prefix = before.trim_end_matches(is_name_char);
    // In JSON-escaped text (a tool call's input, rendered as JSON) a line starts after a literal
    // `\n` or `\r`, whose letter is not part of the name.
    if prefix.ends_with('\\') && before[prefix.len()..].starts_with(['n', 'r']) {
        prefix = &before[..=prefix.len()];
    }
    let flag = before[prefix.len()..].starts_with("--");
    let name_before_word = before[prefix.len()..].trim_start_matches('-');
    let full_name = name_before_word.to_owned() + word;
    let lower_word = word.to_ascii_lowercase();
    // `pass` and `pwd` are secret words only as a part: `PWD=/home/u`, `OLDPWD` are not.
    let part_only = (lower_word.starts_with("pass")
        && !lower_word.starts_with("passw")
        && !lower_word.starts_with("passp"))
        || lower_word.starts_with("pwd");
    let previous = before.chars().next_back();
    let at_name_start = name_before_word.is_empty();
    let after_separator = matches!(previous, Some('_' | '.' | '-')) && !at_name_start;
    let camel_hump = previous.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && word.starts_with(|c: char| c.is_ascii_uppercase());
    let part_start = after_separator || camel_hump || (at_name_start && !part_only);
    let env_style = full_name
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    let query_or_flag = flag || prefix.ends_with(['?', '&', ':']);
    // Only indentation or a YAML list item (`- `) between the name and the start of the line,
    // which in JSON-escaped text (a tool call's input) is a literal `\n`.
    let indent = prefix.trim_end_matches([' ', '\t']);
    let indent = indent
        .strip_suffix('-')
        .filter(|_| prefix.len() > indent.len())
        .map_or(indent, |item| item.trim_end_matches([' ', '\t']));
    let line_start = indent.is_empty()
        || indent.ends_with(['\n', '\r'])
        || indent.ends_with("\\n")
        || indent.ends_with("\\r");
    match name {
        Name::Spelled => true,
        Name::Quoted => part_start || (env_style && !part_only),
        Name::Unquoted => {
            (env_style && (part_start || !part_only)) || (query_or_flag && (part_start || at_name_start))
        }
        Name::Flag => flag && (part_start || at_name_start),
        Name::ConfigLine => line_start && part_start,
    }
}

/// Whether `byte` is in [`UNQUOTED_VALUE`]'s class.
pub(super) fn is_unquoted_value_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%*+./:=?@^_~-".contains(&byte)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use regex::Regex;

    use super::*;
    use crate::redact::tests::redact;
    use crate::redact::{Redactions, Redactor};

    #[test]
    fn every_rule_has_exactly_one_secret_group() {
        for rule in rules() {
            let regex = Regex::new(&format!("(?-u){}", rule.pattern)).unwrap();
            assert_eq!(regex.captures_len(), 2, "{}", rule.pattern);
        }
    }

    /// One example per rule, in rule order: each rule must fire on its own (a rule whose start
    /// is missing from ANCHORS never would).
    #[test]
    fn every_rule_fires_on_its_example() {
        let body = "Qw8rT2yU4iO6pA1sD3fG5hJ7kL9zX0cV2bN4mQ6wE8rT0yU2iO4pLk3Jh5Gf7Ds9Aa1Zx3Cv5Bn7Mm9Qw2Er4Ty6";
        let letters: String = body.chars().filter(char::is_ascii_alphabetic).collect();
        let pem_body = format!("{body}\n{body}");
        let examples = [
            format!(
                r#"{{"private_key": "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n"}}"#,
                &body[..64]
            ),
            format!("-----BEGIN EC PRIVATE KEY-----\n{pem_body}\n-----END EC PRIVATE KEY-----"),
            "ABIAZ7Q2M4K8T6W3N5R9".to_owned(),
            format!("SecretAccessKey: {}", &body[..40]),
            format!(
                "Endpoint=sb://x.servicebus.windows.net/;SharedAccessKey={}=",
                &body[..43]
            ),
            format!("sk-ant-oat01-{}", &body[..60]),
            format!("sk-svcacct-{}", &body[..60]),
            format!("sk-{}", &body[..48]),
            format!("AIza{}", &body[..35]),
            format!("ya29.{}", &body[..60]),
            format!("GOCSPX-{}", &body[..28]),
            format!("hf_{}", &letters[..34]),
            format!("api_org_{}", &letters[..34]),
            format!("ghs_{}", &body[..36]),
            format!("github_pat_{}_{}", &body[..22], &body[22..81]),
            format!("gldt-{}", &body[..20]),
            format!("xapp-1-{}", &body[..30]),
            format!("https://hooks.slack.com/workflows/{}", &body[..40]),
            format!("rk_test_{}", &body[..30]),
            format!("whsec_{}", &body[..32]),
            format!("npm_{}", &body[..36]),
            format!("pypi-AgEIcHlwaS5vcmc{}", &body[..70]),
            format!("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJjaSJ9.{}", &body[..43]),
            format!("authorization: token {}", &body[..30]),
            "Authorization: Basic ZGVwbG95OldxNy10UnoycExt".to_owned(),
            format!("sent bearer {}", &body[..30]),
            format!("-H 'X-Goog-Api-Key: {}'", &body[..30]),
            "amqp://guest:Gu3st-Pw@rabbit:5672/".to_owned(),
            "\"smtp_password\": \"Wq7-tRz2pLm\"".to_owned(),
            "secretKey: 'Wq7-tRz2pLm'".to_owned(),
            "[db]\npassword = hunter2\n".to_owned(),
            "export DB_PASS=Wq7-tRz2pLm".to_owned(),
            "mysql --db-password Wq7tRz2pLm -h db".to_owned(),
        ];
        let rules = rules();
        assert_eq!(examples.len(), rules.len());
        let redactor = Redactor::new();
        for (example, rule) in examples.iter().zip(&rules) {
            let (out, counts) = redact(example);
            assert_eq!(
                counts.get(rule.kind),
                1,
                "{} did not fire on {example}: {out}",
                rule.pattern
            );
            assert_eq!(counts.total(), 1, "{example}: {counts:?}");
            let mut again = Redactions::default();
            assert!(matches!(redactor.redact(&out, &mut again), Cow::Borrowed(_)));
        }
    }

    #[test]
    fn secret_words_must_start_a_part_of_the_name() {
        let cases = [
            ("export PGPASSWORD=", Name::Unquoted, true),
            ("DB_PASS=", Name::Unquoted, true),
            ("OLDPWD=", Name::Unquoted, false),
            ("PWD=", Name::Unquoted, false),
            ("connect(password=", Name::Unquoted, false),
            ("https://h/cb?access_token=", Name::Unquoted, true),
            ("//registry.npmjs.org/:_authToken=", Name::Unquoted, true),
            ("gh --github-token=", Name::Unquoted, true),
            ("--token=", Name::Unquoted, true),
            ("\"jsonwebtoken\": ", Name::Quoted, false),
            ("bypass = ", Name::Quoted, false),
            ("\"pwd\": ", Name::Quoted, false),
            ("clientSecret: ", Name::Quoted, true),
            ("db.pass = ", Name::Quoted, true),
            ("\"api_key\": ", Name::Quoted, true),
            ("psql --password ", Name::Flag, true),
            ("mysql --db-password ", Name::Flag, true),
            ("the password ", Name::Flag, false),
            // JSON-escaped text: the line starts after a literal `\n`, whose `n` is no part.
            ("{\"content\":\"A=1\\nDB_PASSWORD=", Name::Unquoted, true),
            ("{\"content\":\"a: 1\\n  password: ", Name::ConfigLine, true),
            ("[db]\ndb_password = ", Name::ConfigLine, true),
            ("  - password: ", Name::ConfigLine, true),
            ("see the password: ", Name::ConfigLine, false),
            ("pwd: ", Name::ConfigLine, false),
        ];
        let word = Regex::new(&format!("(?-u){SECRET_WORD}")).unwrap();
        for (text, name, fits) in cases {
            let start = word.find_iter(text).last().unwrap().start();
            assert_eq!(name_fits(text, start, name), fits, "{text}");
        }
    }
}
