//! libpq's connection strings, read as libpq reads them: a URL
//! (`postgresql://user:password@host1:port1,host2/db?sslmode=verify-full`) or `key=value` pairs
//! (`host=db user=me sslmode=require`), and the sections of a connection service file
//! (`~/.pg_service.conf`).
//!
//! tokio-postgres parses connection strings too, but refuses every parameter it does not act on
//! itself (`sslrootcert`, `sslcert`, `passfile`, `service`, `sslmode=verify-full`), which are the
//! ones hosted servers hand out. memtree acts on those, so it reads the strings itself.

use std::collections::BTreeMap;
use std::path::Path;

/// The parameters memtree understands, named as libpq names them.
pub(crate) const KEYS: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "connect_timeout",
    "application_name",
    "fallback_application_name",
    "target_session_attrs",
    "options",
    "channel_binding",
];

/// Parameters by name; a parameter given twice keeps its last value, as in libpq.
pub(crate) type Params = BTreeMap<String, String>;

/// Reads a connection string: a `postgres://` or `postgresql://` URL, else `key=value` pairs.
/// Errors say what is wrong without repeating the string (it may hold a password).
pub(crate) fn parse(text: &str) -> Result<Params, String> {
    let text = text.trim();
    for prefix in ["postgresql://", "postgres://"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            return parse_url(rest);
        }
    }
    if text.contains("://") {
        return Err("a URL must start with postgresql:// or postgres://".to_owned());
    }
    parse_keywords(text)
}

fn set(params: &mut Params, key: &str, value: String) -> Result<(), String> {
    // libpq's URL spelling of `sslmode=require`.
    if key == "ssl" {
        return match value.as_str() {
            "true" => {
                params.insert("sslmode".to_owned(), "require".to_owned());
                Ok(())
            }
            _ => Err(format!("`ssl={value}`: only `ssl=true` is understood")),
        };
    }
    if !KEYS.contains(&key) {
        return Err(format!(
            "unknown connection parameter `{key}` (memtree understands {})",
            KEYS.join(", ")
        ));
    }
    params.insert(key.to_owned(), value);
    Ok(())
}

/// `[user[:password]@][host[:port][,...]][/dbname][?key=value[&...]]`, percent-encoded.
fn parse_url(rest: &str) -> Result<Params, String> {
    let mut params = Params::new();
    let (before_query, query) = match rest.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (rest, None),
    };
    let (authority, dbname) = match before_query.split_once('/') {
        Some((authority, dbname)) => (authority, Some(dbname)),
        None => (before_query, None),
    };
    let hostlist = match authority.rsplit_once('@') {
        Some((userinfo, hostlist)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                set(&mut params, "user", decode(user)?)?;
            }
            if let Some(password) = password {
                set(&mut params, "password", decode(password)?)?;
            }
            hostlist
        }
        None => authority,
    };
    if !hostlist.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for spec in hostlist.split(',') {
            let (host, port) = if let Some(bracketed) = spec.strip_prefix('[') {
                let (host, after) = bracketed
                    .split_once(']')
                    .ok_or("an IPv6 host lacks its closing `]`")?;
                let port = match after.strip_prefix(':') {
                    Some(port) => port,
                    None if after.is_empty() => "",
                    None => return Err(format!("unexpected `{after}` after an IPv6 host")),
                };
                (host.to_owned(), port)
            } else {
                match spec.split_once(':') {
                    Some((host, port)) => (decode(host)?, port),
                    None => (decode(spec)?, ""),
                }
            };
            hosts.push(host);
            ports.push(decode(port)?);
        }
        set(&mut params, "host", hosts.join(","))?;
        if ports.iter().any(|port| !port.is_empty()) {
            set(&mut params, "port", ports.join(","))?;
        }
    }
    if let Some(dbname) = dbname.filter(|dbname| !dbname.is_empty()) {
        set(&mut params, "dbname", decode(dbname)?)?;
    }
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty())
    {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            format!(
                "query parameter `{}` has no `=`",
                decode(pair).unwrap_or_default()
            )
        })?;
        set(&mut params, &decode(key)?, decode(value)?)?;
    }
    Ok(params)
}

/// Percent-decoding, as UTF-8.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text
                .get(index + 1..index + 3)
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                .ok_or("a `%` is not followed by two hex digits")?;
            out.push(hex);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "a percent-encoded value is not UTF-8".to_owned())
}

/// `key = value` pairs separated by spaces; a value may be single-quoted, and `\` escapes the
/// next character.
fn parse_keywords(text: &str) -> Result<Params, String> {
    let mut params = Params::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Ok(params);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.next() != Some('=') {
            return Err(format!("`{key}` is not followed by `=`"));
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next() {
                    Some('\\') => value.push(chars.next().ok_or("unterminated quoted value")?),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("the value of `{key}` lacks its closing quote")),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                if c == '\\' {
                    if let Some(escaped) = chars.next() {
                        value.push(escaped);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        set(&mut params, &key, value)?;
    }
}

/// The section `[name]` of a service file, or `None` when the file has no such section.
pub(crate) fn service_section(text: &str, name: &str, file: &Path) -> Result<Option<Params>, String> {
    let mut section: Option<Params> = None;
    let mut in_section = false;
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(header) = line.strip_prefix('[') {
            if section.is_some() {
                break; // the section ended
            }
            in_section = header.strip_suffix(']').map(str::trim) == Some(name);
            if in_section {
                section = Some(Params::new());
            }
            continue;
        }
        if !in_section {
            continue;
        }
        let at = || format!("{} line {}", file.display(), number + 1);
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("{}: `{line}` is not `key=value`", at()))?;
        let key = key.trim();
        if key == "service" {
            return Err(format!("{}: a service cannot name another service", at()));
        }
        let params = section.as_mut().expect("in a section");
        set(params, key, value.trim().to_owned()).map_err(|error| format!("{}: {error}", at()))?;
    }
    Ok(section)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn urls_are_read_as_libpq_reads_them() {
        assert_eq!(
            parse("postgresql://me:p%40ss@db.example.com:6432/memory?sslmode=verify-full&sslrootcert=system")
                .unwrap(),
            params(&[
                ("user", "me"),
                ("password", "p@ss"),
                ("host", "db.example.com"),
                ("port", "6432"),
                ("dbname", "memory"),
                ("sslmode", "verify-full"),
                ("sslrootcert", "system"),
            ])
        );
        assert_eq!(
            parse("postgres://a:5433,[::1],b:5435/d?target_session_attrs=read-write").unwrap(),
            params(&[
                ("host", "a,::1,b"),
                ("port", "5433,,5435"),
                ("dbname", "d"),
                ("target_session_attrs", "read-write"),
            ])
        );
        assert_eq!(
            parse("postgresql:///d?host=/var/run/postgresql&ssl=true").unwrap(),
            params(&[
                ("dbname", "d"),
                ("host", "/var/run/postgresql"),
                ("sslmode", "require")
            ])
        );
        assert_eq!(parse("postgresql://%2Ftmp/d").unwrap()["host"], "/tmp");
        assert_eq!(parse("postgresql://").unwrap(), Params::new());
    }

    #[test]
    fn keyword_strings_take_quotes_and_escapes() {
        assert_eq!(
            parse("host=h  port = 5432 password='with space' user=a\\ b dbname='x \\' y'").unwrap(),
            params(&[
                ("host", "h"),
                ("port", "5432"),
                ("password", "with space"),
                ("user", "a b"),
                ("dbname", "x ' y"),
            ])
        );
    }

    #[test]
    fn mistakes_are_named_without_the_string() {
        for (text, expected) in [
            (
                "postgres://u:secret@h/d?sslmod=require",
                "unknown connection parameter `sslmod`",
            ),
            ("postgres://u:secret@h/d?ssl=1", "only `ssl=true`"),
            ("postgres://u:secret@[::1/d", "closing `]`"),
            ("postgres://u:secret@h/%zz", "two hex digits"),
            ("mysql://u:secret@h/d", "postgresql://"),
            ("host=h password='secret", "closing quote"),
            ("host", "not followed by `=`"),
        ] {
            let error = parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(!error.contains("secret"), "{text}: {error}");
        }
    }

    #[test]
    fn service_sections_are_found_by_name() {
        let text = "# comment\n[other]\nhost=x\n\n[prod]\nhost = db.example.com\nsslmode=verify-full\n[later]\nhost=y\n";
        let file = Path::new("/h/.pg_service.conf");
        assert_eq!(
            service_section(text, "prod", file).unwrap(),
            Some(params(&[("host", "db.example.com"), ("sslmode", "verify-full")]))
        );
        assert_eq!(service_section(text, "missing", file).unwrap(), None);
        let error = service_section("[a]\nservice=b\n", "a", file).unwrap_err();
        assert!(error.contains("/h/.pg_service.conf line 2"), "{error}");
        let error = service_section("[a]\nnonsense\n", "a", file).unwrap_err();
        assert!(error.contains("not `key=value`"), "{error}");
    }
}
