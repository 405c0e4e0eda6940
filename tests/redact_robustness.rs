//! Redaction never panics, is idempotent and returns clean text borrowed, on corpus text and on
//! seeded random mixtures of secret fragments, delimiters and multi-byte characters. (A seeded
//! generator instead of proptest: no extra dependency, and failures reproduce exactly.)

mod common;

use std::borrow::Cow;

use memtree::redact::{Redactions, Redactor};

/// Pieces chosen to build near-secrets: prefixes, bodies, delimiters, quotes, escapes and
/// characters that are several bytes long in UTF-8.
const FRAGMENTS: &[&str] = &[
    "sk-",
    "sk-proj-",
    "sk-ant-api03-",
    "ghp_",
    "github_pat_",
    "hf_",
    "AKIA",
    "ASIA",
    "AIza",
    "glpat-",
    "xoxb-",
    "sk_live_",
    "whsec_",
    "ya29.",
    "eyJ",
    "eyJhbGciOiJIUzI1NiJ9",
    ".",
    "-----BEGIN PRIVATE KEY-----",
    "-----END PRIVATE KEY-----",
    "-----BEGIN OPENSSH PRIVATE KEY-----",
    "\"private_key\": \"",
    "\\n",
    "\n",
    "\r\n",
    " ",
    "\t",
    "=",
    ":",
    "@",
    "/",
    "//",
    "://",
    "postgres://u:",
    "?",
    "&",
    "access_token=",
    "Authorization: Bearer ",
    "Bearer ",
    "Basic ",
    "AccountKey=",
    "aws_secret_access_key = ",
    "DB_PASSWORD=",
    "\"password\": \"",
    "'",
    "\"",
    "\\\"",
    "--token=",
    "--password ",
    "$",
    "${",
    "}",
    "<",
    ">",
    "[REDACTED:",
    "]",
    "(",
    "+",
    "_",
    "-",
    "A1b2C3d4E5f6G7h8",
    "Zq9Xw8Vu7Ts6Rp5O",
    "abcdefghijklmnopqrstuvwxyzABCDEFGH",
    "0123456789",
    "AAAAAAAA",
    "é",
    "€",
    "😀",
    "\u{fffd}",
    "\0",
    "ſ",
    "K",
];

/// xorshift64*: a tiny deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_text(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(40) {
        if rng.below(4) == 0 {
            // A run of random token characters, so prefixes meet bodies of many lengths.
            const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-";
            for _ in 0..rng.below(120) {
                text.push(ALPHABET[rng.below(ALPHABET.len())] as char);
            }
        } else {
            text.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
        }
    }
    text
}

fn assert_stable(redactor: &Redactor, text: &str) {
    let mut counts = Redactions::default();
    let once = redactor.redact(text, &mut counts);
    assert_eq!(matches!(once, Cow::Borrowed(_)), counts.is_empty(), "{text:?}");
    if let Cow::Owned(redacted) = &once {
        assert_eq!(
            redacted.matches("[REDACTED:").count() as u64,
            counts.total() + text.matches("[REDACTED:").count() as u64,
            "{text:?}"
        );
    }
    let mut again = Redactions::default();
    let twice = redactor.redact(&once, &mut again);
    assert!(again.is_empty(), "not idempotent: {again:?}\n{text:?}\n{once:?}");
    assert!(matches!(twice, Cow::Borrowed(_)));
}

#[test]
fn random_mixtures_never_panic_and_redact_idempotently() {
    let redactor = Redactor::new();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3_000 {
        assert_stable(&redactor, &random_text(&mut rng));
    }
}

#[test]
fn edge_inputs_never_panic_and_redact_idempotently() {
    let redactor = Redactor::new();
    let corpus_dir = common::fixture("redact");
    let mut inputs: Vec<String> = [
        "",
        " ",
        "\0",
        "é",
        "ghp_",
        "-----BEGIN PRIVATE KEY-----",
        "postgres://:@x",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for file in ["secrets.txt", "clean.txt"] {
        let text = std::fs::read_to_string(corpus_dir.join(file))
            .unwrap()
            .replace(['«', '»'], "");
        // Every prefix and suffix cut of the corpus, at character boundaries, in steps.
        let boundaries: Vec<usize> = text.char_indices().map(|(at, _)| at).step_by(7).collect();
        for &cut in &boundaries {
            inputs.push(text[..cut].to_owned());
            inputs.push(text[cut..].to_owned());
        }
        inputs.push(text);
    }
    // Nested names and values must not make the search quadratic (this would take minutes).
    inputs.push("A_TOKEN=".repeat(20_000) + "xxx");
    inputs.push("\"password\": \"".repeat(20_000));
    for input in &inputs {
        assert_stable(&redactor, input);
    }
}
