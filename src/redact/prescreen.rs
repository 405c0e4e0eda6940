//! The cheap screen at each anchor (`may_start_secret`): drops the anchors where trying the rules
//! would change nothing, before the regular expression is run there.

use super::rules::{is_token_char, name_fits, Name};

/// Every word [`SECRET_WORD`](super::rules::SECRET_WORD) matches: the words the assignment and
/// flag rules start with.
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
pub(super) fn may_start_secret(text: &str, start: usize) -> bool {
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

#[cfg(test)]
mod tests {
    use regex::Regex;

    use super::*;
    use crate::redact::anchor_scan::AnchorScan;
    use crate::redact::rules::{ANCHORS, SECRET_WORD};
    use crate::redact::{Redactions, Redactor};

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
}
