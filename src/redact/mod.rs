//! Secret redaction: finds credentials in text before it is stored and replaces each with
//! `[REDACTED:<kind>]`, counting them per kind.
//!
//! Pure and fast (`cargo run --release --example redact_throughput`, one core of a loaded
//! machine: about 1.3 GB/s over the parser fixtures' message texts without secrets, 0.8-1.1 GB/s
//! on clean session text, about 30 MB/s over the few fixture texts that hold secrets, where the
//! rules' regular expression is most of the time): `anchor_scan` finds the literals every rule
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
use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};

use regex::{Captures, Regex};
use serde::{Serialize, Serializer};
use serde_json::Value;

use anchor_scan::AnchorScan;

mod anchor_scan;

/// What a redacted secret was; its `as_str()` name appears in `[REDACTED:<kind>]`. Provider tokens
/// are named by their issuer (`NpmToken`: `npm_` + 36 base62; `PypiToken`: `pypi-` + a macaroon
/// for pypi.org or test.pypi.org); the container kinds (`BearerToken`, `BasicAuth`,
/// `UrlPassword`, `SecretAssignment`) say where an otherwise unrecognised value was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    AwsAccessKey,
    AwsSecretKey,
    GcpPrivateKey,
    GoogleOauthToken,
    AzureKey,
    OpenAiKey,
    AnthropicKey,
    GoogleApiKey,
    HuggingFaceToken,
    GithubToken,
    GitlabToken,
    SlackToken,
    StripeKey,
    NpmToken,
    PypiToken,
    Jwt,
    BearerToken,
    BasicAuth,
    PrivateKey,
    UrlPassword,
    SecretAssignment,
}

impl SecretKind {
    pub const ALL: [SecretKind; 21] = [
        SecretKind::AwsAccessKey,
        SecretKind::AwsSecretKey,
        SecretKind::GcpPrivateKey,
        SecretKind::GoogleOauthToken,
        SecretKind::AzureKey,
        SecretKind::OpenAiKey,
        SecretKind::AnthropicKey,
        SecretKind::GoogleApiKey,
        SecretKind::HuggingFaceToken,
        SecretKind::GithubToken,
        SecretKind::GitlabToken,
        SecretKind::SlackToken,
        SecretKind::StripeKey,
        SecretKind::NpmToken,
        SecretKind::PypiToken,
        SecretKind::Jwt,
        SecretKind::BearerToken,
        SecretKind::BasicAuth,
        SecretKind::PrivateKey,
        SecretKind::UrlPassword,
        SecretKind::SecretAssignment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::AwsAccessKey => "aws_access_key",
            SecretKind::AwsSecretKey => "aws_secret_key",
            SecretKind::GcpPrivateKey => "gcp_private_key",
            SecretKind::GoogleOauthToken => "google_oauth_token",
            SecretKind::AzureKey => "azure_key",
            SecretKind::OpenAiKey => "openai_key",
            SecretKind::AnthropicKey => "anthropic_key",
            SecretKind::GoogleApiKey => "google_api_key",
            SecretKind::HuggingFaceToken => "hugging_face_token",
            SecretKind::GithubToken => "github_token",
            SecretKind::GitlabToken => "gitlab_token",
            SecretKind::SlackToken => "slack_token",
            SecretKind::StripeKey => "stripe_key",
            SecretKind::NpmToken => "npm_token",
            SecretKind::PypiToken => "pypi_token",
            SecretKind::Jwt => "jwt",
            SecretKind::BearerToken => "bearer_token",
            SecretKind::BasicAuth => "basic_auth",
            SecretKind::PrivateKey => "private_key",
            SecretKind::UrlPassword => "url_password",
            SecretKind::SecretAssignment => "secret_assignment",
        }
    }
}

impl Serialize for SecretKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// How many secrets of each kind were redacted; serialises as `{kind: n}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Redactions(BTreeMap<SecretKind, u64>);

impl Redactions {
    pub fn add(&mut self, kind: SecretKind, count: u64) {
        if count > 0 {
            *self.0.entry(kind).or_default() += count;
        }
    }

    pub fn merge(&mut self, other: &Redactions) {
        for (&kind, &count) in &other.0 {
            self.add(kind, count);
        }
    }

    pub fn get(&self, kind: SecretKind) -> u64 {
        self.0.get(&kind).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Kinds with a non-zero count, in `SecretKind` order.
    pub fn iter(&self) -> impl Iterator<Item = (SecretKind, u64)> + '_ {
        self.0.iter().map(|(&kind, &count)| (kind, count))
    }
}

/// How a rule's candidate is checked before it counts as a secret.
#[derive(Clone, Copy, Debug)]
enum Check {
    /// A self-describing token (prefix + body): must stand alone (not glued to token characters,
    /// see the module docs) and must not be a placeholder.
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
enum Name {
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

struct Rule {
    kind: SecretKind,
    check: Check,
    /// Exactly one capture group: the part that is replaced.
    pattern: String,
    /// The secret's length in bytes. Checked in code rather than with counted repetitions
    /// (`{36}`), which would multiply the states of the combined search automaton and slow it
    /// down several times.
    len: RangeInclusive<usize>,
    /// The match must not continue a word (`Bearer`, not `nonbearer`).
    word_start: bool,
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
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+')
}

fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=')
}

/// The secret word that ends a secret name (`*_SECRET`, `*_TOKEN`, `*_PASSWORD`, `*_API_KEY`,
/// `clientSecret`, `db.pass`...). Rules start at this word, not at the start of the name, so that
/// every rule begins with a literal and the search stays fast; `name_fits` checks the rest of
/// the name in code.
const SECRET_WORD: &str = "(?i:secret|token|password|passwd|passphrase|api[_-]?key|apikey|access[_-]?key|\
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
const MAX_VALUE: usize = 256;
/// The longest text one rule is tried on from where it can start: longer than any secret (a
/// private key block included), short enough that the search stays linear in the text.
const MAX_MATCH: usize = 8 << 10;

/// Every rule's match starts with one of these (ASCII case-insensitively): the cheap literal
/// search that finds where a rule can start, so that text without any is never given to the
/// regular expression, and text with some is only tried there.
const ANCHORS: &[&str] = &[
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

fn rules() -> Vec<Rule> {
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
fn name_fits(text: &str, word_start: usize, name: Name) -> bool {
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

/// Every word [`SECRET_WORD`] matches: the words the assignment and flag rules start with.
const SECRET_WORD_SPELLINGS: &[&str] = &[
    "secret",
    "token",
    "password",
    "passwd",
    "passphrase",
    "api_key",
    "api-key",
    "apikey",
    "access_key",
    "access-key",
    "accesskey",
    "private_key",
    "private-key",
    "privatekey",
    "secret_key",
    "secret-key",
    "secretkey",
    "auth_key",
    "auth-key",
    "authkey",
    "pass",
    "pwd",
];

/// The words the other case-insensitive rules start with: the AWS secret key's name, the header
/// names of the `api-key: value` rule, `authorization` and `bearer`. Like the secret words, each
/// needs [`is_word_separator`] right after it.
const OTHER_RULE_WORDS: &[&str] = &[
    "secretaccesskey",
    "secret_accesskey",
    "secretaccess_key",
    "secret_access_key",
    "auth-token",
    "access-token",
    "private-token",
    "goog-api-key",
    "authorization",
    "bearer",
];

/// The case-sensitive starts of the rules that are neither a self-describing token nor a word
/// (key blocks, Azure keys, Slack webhooks): rare, so always tried.
const RARE_STARTS: &[&str] = &[
    "\"private_key",
    "-----BEGIN",
    "AccountKey=",
    "SharedAccessKey=",
    "hooks.slack.com/",
];

/// The shortest secret a `Check::Token` or `Check::Structured` rule accepts (a Slack `xoxb-`
/// token); their secrets start where the rule does and use only [`is_token_body_byte`]s.
const MIN_TOKEN_LEN: usize = 15;

fn is_token_body_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
}

/// What may follow a rule word: an optional backslash or quote, whitespace (`\s`, ASCII), `:`
/// or `=`.
fn is_word_separator(byte: u8) -> bool {
    matches!(
        byte,
        b'\\' | b'"' | b'\'' | b':' | b'=' | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'
    )
}

/// A cheap screen run at each anchor before the regex: `false` only where trying the rules
/// would change nothing, because no rule matches at `start` or the one that does is rejected
/// without skipping anything (most anchors in clean text: `tokens`, `passed`, `TestPass1`, a
/// URL without a password, `token count` outside a `--flag`). Anchors hit about once per
/// kilobyte of ordinary text, and the regex costs far more than this.
fn may_start_secret(text: &str, start: usize) -> bool {
    let rest = &text.as_bytes()[start..];
    if RARE_STARTS
        .iter()
        .any(|literal| rest.starts_with(literal.as_bytes()))
    {
        return true;
    }
    // `scheme://user:password@`: the user part must end at a `:`.
    if let Some(after_scheme) = rest.strip_prefix(b"://") {
        let user_len = after_scheme
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b"._~%!$&*+=-".contains(&b))
            .count();
        return after_scheme.get(user_len) == Some(&b':');
    }
    // A token rule rejects a start glued to a token character, or a token that is too short
    // (`stands_alone`, `Rule::len`): both leave the search going on from the next byte.
    let token_start = !text[..start].chars().next_back().is_some_and(is_token_char);
    if token_start && rest.iter().take_while(|&&b| is_token_body_byte(b)).count() >= MIN_TOKEN_LEN {
        return true;
    }
    let word_may_start = |word: &str, flag_word: bool| {
        let Some(after) = rest
            .get(..word.len())
            .filter(|head| head.eq_ignore_ascii_case(word.as_bytes()))
            .map(|_| &rest[word.len()..])
        else {
            return false;
        };
        match after.first() {
            Some(&b' ' | &b'\t' | &b'\n' | &0x0b | &0x0c | &b'\r') => {
                let next = after.iter().find(|b| !b.is_ascii_whitespace() && **b != 0x0b);
                // Only `bearer <token>` and `--name value` take a value after whitespace
                // without `:` or `=`; a rejected flag resumes after the whitespace, and no
                // anchor starts inside a rule word or whitespace.
                matches!(next, Some(b':' | b'=') | None)
                    || word == "bearer"
                    || (flag_word && name_fits(text, start, Name::Flag))
            }
            Some(&byte) => is_word_separator(byte),
            None => false,
        }
    };
    SECRET_WORD_SPELLINGS
        .iter()
        .any(|word| word_may_start(word, true))
        || OTHER_RULE_WORDS.iter().any(|word| word_may_start(word, false))
}

/// Whether `byte` is in [`UNQUOTED_VALUE`]'s class.
fn is_unquoted_value_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%*+./:=?@^_~-".contains(&byte)
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

/// Words that mark documentation rather than a secret, wherever they appear in a value.
const PLACEHOLDER_MARKERS: [&str; 11] = [
    "xxx",
    "***",
    "...",
    "example",
    "your",
    "placeholder",
    "redacted",
    "changeme",
    "change_me",
    "dummy",
    "process.env",
];

const SECRET_WORDS: [&str; 5] = ["password", "passwd", "secret", "token", "key"];

/// Whole values that name a thing instead of being one (`password=password`, `token: string`).
const PLACEHOLDER_WORDS: [&str; 22] = [
    "password",
    "passwd",
    "pass",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "key",
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "string",
    "str",
    "required",
    "optional",
    "hidden",
    "empty",
];

/// Markers of a demonstration token. At least four letters each, so that a random token body of
/// a realistic length contains one by chance with negligible probability.
const PLACEHOLDER_TOKEN_MARKERS: [&str; 7] = [
    "xxxx",
    "example",
    "your",
    "placeholder",
    "redacted",
    "dummy",
    "fake",
];

/// A token body that is a mask or a demonstration: a placeholder word, a run of six equal
/// characters (`AKIA0000...`), or six consecutive counting characters (`1234567890abcdef`).
fn is_placeholder_token(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    if PLACEHOLDER_TOKEN_MARKERS
        .iter()
        .any(|marker| lower.contains(marker))
    {
        return true;
    }
    let bytes = token.as_bytes();
    let (mut same, mut counting) = (1, 1);
    for pair in bytes.windows(2) {
        same = if pair[1] == pair[0] { same + 1 } else { 1 };
        counting = if pair[1] == pair[0].wrapping_add(1) {
            counting + 1
        } else {
            1
        };
        if same >= 6 || counting >= 6 {
            return true;
        }
    }
    false
}

/// A container value that is a placeholder, a variable reference or a type name.
fn is_placeholder_value(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_MARKERS.iter().any(|marker| lower.contains(marker))
        || PLACEHOLDER_WORDS
            .iter()
            .any(|word| value.eq_ignore_ascii_case(word))
        || value.contains(['<', '>', '{', '}'])
    {
        return true;
    }
    // A value that names itself (`reset_token`, `webhook_secret`, `wrongpassword`) is an
    // identifier in documentation or a test, not a secret.
    if value
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
        && SECRET_WORDS.iter().any(|word| lower.contains(word))
    {
        return true;
    }
    // `$VAR`, `${VAR}`, `$(cmd)`: a reference. A lone or doubled `$` is a literal character.
    let bytes = value.as_bytes();
    bytes.windows(2).any(|pair| {
        pair[0] == b'$' && (pair[1].is_ascii_alphabetic() || matches!(pair[1], b'_' | b'{' | b'('))
    }) || value.bytes().all(|b| b == b'*' || b == b'x' || b == b'X')
}

/// A config line's value that reads as code or data rather than a password (`Name::ConfigLine`):
/// a number (`max_token: 4096`), a path (`private_key: ~/.ssh/id_ed25519`), a member access
/// (`token = self.token`), an identifier naming a secret (`password: hashedPassword` in a JS
/// object). Under a lower-case name, also an identifier without a digit or with `_`
/// (`token = data`, `password: new_pw` in code); passwords such as `hunter2` have a digit, and an
/// upper-case name (`POSTGRES_PASSWORD: postgres`) is configuration, not code.
fn is_code_shaped(value: &str, upper_case_name: bool) -> bool {
    if value.bytes().all(|b| b.is_ascii_digit()) || value.starts_with(['/', '~', '.']) {
        return true;
    }
    let identifier_path = value.split('.').all(|part| {
        part.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    if !identifier_path {
        return false;
    }
    let lower = value.to_ascii_lowercase();
    value.contains('.')
        || SECRET_WORDS.iter().any(|word| lower.contains(word))
        || (!upper_case_name && (value.contains('_') || !value.bytes().any(|b| b.is_ascii_digit())))
}

/// A key block holds key material: a placeholder block (`...`) does not. Markers are not checked:
/// a real key's base64 body is long enough to contain any short word by chance.
fn has_key_material(block: &str) -> bool {
    let body_start = block.find("KEY-----").map_or(0, |at| at + "KEY-----".len());
    let body = block[body_start..].split("-----END").next().unwrap_or("");
    body.bytes().filter(u8::is_ascii_alphanumeric).count() >= 40
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> (String, Redactions) {
        let mut counts = Redactions::default();
        let out = Redactor::new().redact(text, &mut counts).into_owned();
        (out, counts)
    }

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

    /// `may_start_secret` knows every word of the assignment and flag rules, and skips a
    /// rejected `--name value` flag as if its word and whitespace held no anchor.
    #[test]
    fn secret_word_spellings_are_the_words_the_rules_match() {
        let whole_word = Regex::new(&format!("(?-u)^{SECRET_WORD}$")).unwrap();
        for word in SECRET_WORD_SPELLINGS {
            assert!(whole_word.is_match(word), "{word}");
            for inner in 1..word.len() {
                let tail = &word[inner..];
                assert!(
                    !ANCHORS.iter().any(|anchor| tail.len() >= anchor.len()
                        && tail[..anchor.len()].eq_ignore_ascii_case(anchor)),
                    "{word}"
                );
            }
        }
    }

    /// Neither the anchor screen nor the fingerprinted anchor scan changes a redaction: the
    /// corpora, every parser fixture's sources and seeded mixtures of rule fragments come out the
    /// same from the redactor as built, from one scanning with the automaton alone (the
    /// implementation before the fingerprint) and from one without the screen.
    #[test]
    fn neither_the_screen_nor_the_fingerprint_changes_a_redaction() {
        let redactor = Redactor::new();
        let automaton_scan = Redactor {
            anchors: AnchorScan::automaton_only(ANCHORS),
            ..Redactor::new()
        };
        let unscreened = Redactor {
            anchors: AnchorScan::automaton_only(ANCHORS),
            skip_cheap_rejections: false,
            ..Redactor::new()
        };
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut inputs: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .flatten()
            .filter(|entry| entry.file_type().is_file())
            .filter_map(|entry| std::fs::read_to_string(entry.path()).ok())
            .collect();
        const FRAGMENTS: &[&str] = &[
            "token",
            "TOKEN",
            "Pass",
            "password",
            "pwd",
            "secret",
            "api_key",
            "authorization",
            "bearer",
            "Bearer",
            "--",
            "--db-",
            "GITHUB_",
            "://",
            "u:",
            "@h",
            " ",
            "\t",
            "\n",
            "\\n",
            "=",
            ":",
            "\"",
            "'",
            "\\",
            "sk-",
            "ghp_",
            "AKIA",
            "eyJ",
            "xoxb-",
            "A1b2C3d4E5f6G7h8",
            "Zq9Xw8Vu7Ts6",
            "hunter22",
            "-",
            "_",
            ".",
            "é",
            // Other cases of anchors: the scan is case-insensitive, most rules are not.
            "PassWord",
            "SeCrEt",
            "BEARER",
            "Authorization",
            "SK-",
            "Ghp_",
            "-----BEGIN RSA PRIVATE KEY-----",
            "\r",
            "\\r\\n",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..1 + state % 12 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(FRAGMENTS[(state % FRAGMENTS.len() as u64) as usize]);
            }
            inputs.push(text);
        }
        assert!(inputs.len() > 20_050);
        let mut redacted_inputs = 0;
        for input in &inputs {
            let mut counts = Redactions::default();
            let redacted = redactor.redact(input, &mut counts);
            redacted_inputs += usize::from(!counts.is_empty());
            for other in [&automaton_scan, &unscreened] {
                let mut other_counts = Redactions::default();
                assert_eq!(redacted, other.redact(input, &mut other_counts), "{input:?}");
                assert_eq!(counts, other_counts, "{input:?}");
            }
        }
        // The inputs exercise the rules: many hold secrets.
        assert!(redacted_inputs > 200, "{redacted_inputs}");
    }

    #[test]
    fn every_kind_has_a_distinct_name() {
        let names: std::collections::BTreeSet<_> = SecretKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), SecretKind::ALL.len());
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

    #[test]
    fn counts_merge_and_serialise_by_kind_name() {
        let mut counts = Redactions::default();
        counts.add(SecretKind::OpenAiKey, 2);
        let mut more = Redactions::default();
        more.add(SecretKind::OpenAiKey, 1);
        more.add(SecretKind::Jwt, 1);
        more.add(SecretKind::Jwt, 0);
        counts.merge(&more);
        assert_eq!(counts.total(), 4);
        assert_eq!(
            serde_json::to_value(&counts).unwrap(),
            serde_json::json!({"openai_key": 3, "jwt": 1})
        );
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
