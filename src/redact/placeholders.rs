//! What is documentation rather than a secret: placeholder tokens and values, config values that
//! read as code or data, key blocks without key material.

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
pub(super) fn is_placeholder_token(token: &str) -> bool {
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
pub(super) fn is_placeholder_value(value: &str) -> bool {
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
pub(super) fn is_code_shaped(value: &str, upper_case_name: bool) -> bool {
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
pub(super) fn has_key_material(block: &str) -> bool {
    let body_start = block.find("KEY-----").map_or(0, |at| at + "KEY-----".len());
    let body = block[body_start..].split("-----END").next().unwrap_or("");
    body.bytes().filter(u8::is_ascii_alphanumeric).count() >= 40
}
