//! Deterministic randomness and filler text for the corpus.
//!
//! The generator is a xorshift64* written out here, not a crate's, so the corpus stays the same
//! byte for byte across dependency upgrades. Text comes from three fixed pools (prose, code and
//! tool output, base64) built once from the same generator; lines borrow slices of them, which is
//! what keeps generating a gigabyte fast.

use std::borrow::Cow;

use chrono::DateTime;

/// xorshift64* seeded through splitmix64 (so that nearby seeds give unrelated streams).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        // xorshift must never hold 0.
        Rng((z ^ (z >> 31)) | 1)
    }

    /// An independent stream, so that one session's length does not shift the next one's text.
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, probability: f64) -> bool {
        self.unit() < probability
    }

    /// Log-uniform in `[lo, hi)`: as many values between 10 and 100 as between 100 and 1000,
    /// the shape of session lengths and tool output sizes.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp()
    }

    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    pub fn choose<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn hex(&mut self, digits: usize) -> String {
        (0..digits)
            .map(|_| char::from(b"0123456789abcdef"[self.below(16)]))
            .collect()
    }

    pub fn base62(&mut self, digits: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..digits)
            .map(|_| char::from(ALPHABET[self.below(ALPHABET.len())]))
            .collect()
    }

    /// A random (version 4) UUID, as Claude Code uses for sessions and lines.
    pub fn uuid_v4(&mut self) -> String {
        let (high, low) = (self.next_u64(), self.next_u64());
        let high = (high & !0xF000) | 0x4000;
        let low = (low & !(0b11 << 62)) | (0b10 << 62);
        format_uuid(high, low)
    }

    /// A time-ordered (version 7) UUID, as Codex uses for sessions since late 2025.
    pub fn uuid_v7(&mut self, unix_ms: i64) -> String {
        let high = ((unix_ms as u64) << 16) | 0x7000 | (self.next_u64() & 0x0FFF);
        let low = (self.next_u64() & !(0b11 << 62)) | (0b10 << 62);
        format_uuid(high, low)
    }
}

fn format_uuid(high: u64, low: u64) -> String {
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

/// `2026-02-09T06:01:53.253Z`: the timestamp form of Claude Code and Codex lines.
pub fn iso_millis(unix_ms: i64) -> String {
    DateTime::from_timestamp_millis(unix_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Size of each text pool; longer texts are stitched from several slices.
const POOL_BYTES: usize = 1 << 20;

const WORDS: &[&str] = &[
    "the",
    "a",
    "to",
    "of",
    "and",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "this",
    "be",
    "we",
    "can",
    "not",
    "when",
    "file",
    "function",
    "test",
    "error",
    "value",
    "return",
    "config",
    "session",
    "import",
    "database",
    "query",
    "index",
    "table",
    "row",
    "column",
    "parser",
    "line",
    "message",
    "user",
    "assistant",
    "tool",
    "output",
    "input",
    "build",
    "run",
    "check",
    "fix",
    "add",
    "remove",
    "update",
    "change",
    "because",
    "should",
    "would",
    "could",
    "then",
    "first",
    "next",
    "after",
    "before",
    "every",
    "only",
    "also",
    "still",
    "already",
    "instead",
    "memory",
    "cache",
    "stream",
    "buffer",
    "thread",
    "worker",
    "batch",
    "commit",
    "branch",
    "merge",
    "rebase",
    "deploy",
    "server",
    "client",
    "request",
    "response",
    "timeout",
    "retry",
    "limit",
    "offset",
    "cursor",
    "page",
    "schema",
    "migration",
    "transaction",
    "lock",
    "deadlock",
    "latency",
    "throughput",
    "benchmark",
    "profile",
    "allocation",
    "heap",
    "stack",
    "pointer",
    "lifetime",
    "borrow",
    "trait",
    "struct",
    "enum",
    "module",
    "crate",
    "package",
    "dependency",
    "version",
    "release",
    "feature",
    "flag",
    "option",
    "default",
    "path",
    "directory",
    "symlink",
    "permission",
    "owner",
    "process",
    "signal",
    "socket",
    "port",
    "header",
    "payload",
    "encoding",
    "unicode",
    "escape",
    "newline",
    "whitespace",
    "token",
    "model",
    "prompt",
    "context",
    "window",
    "summary",
    "history",
    "transcript",
    "project",
    "repository",
    "workspace",
    "terminal",
    "shell",
    "command",
    "script",
    "pipeline",
    "stage",
    "plan",
    "write",
    "read",
    "parse",
    "render",
    "format",
    "validate",
    "resolve",
    "discover",
    "filter",
    "sort",
    "group",
    "count",
    "sum",
    "average",
    "maximum",
    "minimum",
    "empty",
    "missing",
    "broken",
    "slow",
    "fast",
    "small",
    "large",
    "huge",
    "simple",
    "careful",
    "clean",
    "correct",
    "wrong",
    "strange",
    "works",
    "fails",
    "passes",
    "breaks",
    "hangs",
    "crashes",
    "looks",
    "seems",
    "means",
    "needs",
    "café",
    "naïve",
    "→",
    "✓",
    "日本語",
    "über",
    "données",
    "ß",
];

const EXTENSIONS: &[&str] = &["rs", "ts", "py", "go", "sql", "toml", "json", "md", "tsx", "sh"];

/// Slices of deterministic filler text.
pub struct TextPools {
    prose: String,
    code: String,
    base64: String,
}

impl TextPools {
    pub fn new(seed: u64) -> TextPools {
        let mut rng = Rng::new(seed);
        TextPools {
            prose: build_pool(&mut rng, prose_paragraph),
            code: build_pool(&mut rng, code_lines),
            base64: build_pool(&mut rng, base64_run),
        }
    }

    /// Conversation text: sentences, paragraphs, some inline code and non-ASCII words.
    pub fn prose(&self, rng: &mut Rng, len: usize) -> Cow<'_, str> {
        slice(&self.prose, rng, len)
    }

    /// Source code, compiler and log output: what tools print.
    pub fn code(&self, rng: &mut Rng, len: usize) -> Cow<'_, str> {
        slice(&self.code, rng, len)
    }

    /// Opaque base64 (thinking signatures, encrypted reasoning).
    pub fn base64(&self, rng: &mut Rng, len: usize) -> Cow<'_, str> {
        slice(&self.base64, rng, len)
    }
}

fn build_pool(rng: &mut Rng, mut piece: impl FnMut(&mut Rng, &mut String)) -> String {
    let mut pool = String::with_capacity(POOL_BYTES + 4096);
    while pool.len() < POOL_BYTES {
        piece(rng, &mut pool);
    }
    pool
}

/// A word, or (one time in eight) an identifier such as `parse_config42`: real transcripts are
/// full of identifiers, which gives the full-text index a realistic number of distinct lexemes.
fn token(rng: &mut Rng, out: &mut String) {
    if rng.below(8) == 0 {
        out.push_str(rng.pick(WORDS));
        out.push('_');
        out.push_str(rng.pick(WORDS));
        out.push_str(&rng.below(5000).to_string());
    } else {
        out.push_str(rng.pick(WORDS));
    }
}

fn prose_paragraph(rng: &mut Rng, out: &mut String) {
    for _ in 0..rng.between(1, 6) {
        for word in 0..rng.between(4, 24) {
            if word > 0 {
                out.push(' ');
            }
            match rng.below(40) {
                0 => {
                    out.push('`');
                    token(rng, out);
                    out.push('`');
                }
                1 => {
                    out.push('"');
                    token(rng, out);
                    out.push('"');
                }
                2 => {
                    out.push_str("src/");
                    token(rng, out);
                    out.push('.');
                    out.push_str(rng.pick(EXTENSIONS));
                }
                _ => token(rng, out),
            }
        }
        out.push_str(rng.pick(&[". ", "? ", ": ", "! ", ".\n- "]));
    }
    out.push_str("\n\n");
}

fn code_lines(rng: &mut Rng, out: &mut String) {
    for _ in 0..rng.between(1, 12) {
        let indent = rng.below(4) * 4;
        out.extend(std::iter::repeat_n(' ', indent));
        match rng.below(6) {
            0 => {
                out.push_str("let ");
                token(rng, out);
                out.push_str(" = ");
                token(rng, out);
                out.push_str("(&");
                token(rng, out);
                out.push_str(&format!(", {})?;", rng.below(1000)));
            }
            1 => {
                out.push_str(&format!(
                    "2026-03-{:02} {:02}:{:02}:{:02} INFO ",
                    rng.between(1, 28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60)
                ));
                token(rng, out);
                out.push_str(": ");
                token(rng, out);
                out.push(' ');
                token(rng, out);
            }
            2 => {
                out.push_str("src/");
                token(rng, out);
                out.push('/');
                token(rng, out);
                out.push_str(&format!(".{}:{}:", rng.pick(EXTENSIONS), rng.below(900)));
                out.push_str(" \"");
                token(rng, out);
                out.push_str("\" \\ ");
                token(rng, out);
            }
            3 => {
                out.push_str("fn ");
                token(rng, out);
                out.push_str("(self, ");
                token(rng, out);
                out.push_str(": &str) -> Result<(), Error> {");
            }
            4 => {
                out.push_str("// ");
                for _ in 0..rng.between(3, 10) {
                    token(rng, out);
                    out.push(' ');
                }
            }
            _ => {
                out.push_str(&format!("test {}::", rng.pick(WORDS)));
                token(rng, out);
                out.push_str(" ... ok");
            }
        }
        out.push('\n');
    }
}

fn base64_run(rng: &mut Rng, out: &mut String) {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    out.extend((0..256).map(|_| char::from(ALPHABET[rng.below(64)])));
}

/// `len` bytes (give or take a character) from a random place in `pool`; longer requests are
/// stitched from several slices.
fn slice<'a>(pool: &'a str, rng: &mut Rng, len: usize) -> Cow<'a, str> {
    if len < pool.len() / 2 {
        return Cow::Borrowed(piece(pool, rng, len));
    }
    let mut text = String::with_capacity(len + 8);
    while text.len() < len {
        // At least a few bytes, so that a slice cut down to a character boundary still grows.
        let want = (len - text.len()).clamp(4, pool.len() / 2);
        text.push_str(piece(pool, rng, want));
    }
    Cow::Owned(text)
}

fn piece<'a>(pool: &'a str, rng: &mut Rng, len: usize) -> &'a str {
    let mut start = rng.below(pool.len() - len);
    while !pool.is_char_boundary(start) {
        start += 1;
    }
    let mut end = (start + len).min(pool.len());
    while !pool.is_char_boundary(end) {
        end -= 1;
    }
    &pool[start..end.max(start)]
}
