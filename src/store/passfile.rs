//! libpq's password file (`~/.pgpass`, or `PGPASSFILE`, or `passfile=`): lines of
//! `host:port:database:user:password`, `*` matching anything in the first four fields, `\`
//! escaping `:` and `\`. The first matching line gives the password.
//!
//! Like libpq, a file that others may read is ignored with a warning: a password that others can
//! read is no secret, and using it anyway would hide that.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A password found in a password file, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub password: String,
    pub file: PathBuf,
    pub line: usize,
}

/// What libpq matches a line against; a Unix socket host is matched as `localhost`.
pub(crate) struct Lookup<'a> {
    pub host: &'a str,
    pub port: u16,
    pub dbname: &'a str,
    pub user: &'a str,
}

/// The password for `lookup` from `file`, if the file exists, is private and has a matching
/// line.
pub(crate) fn find(file: &Path, lookup: &Lookup<'_>) -> Option<Found> {
    let metadata = fs::metadata(file).ok()?;
    if !metadata.is_file() {
        tracing::warn!("password file {} is not a plain file: ignored", file.display());
        return None;
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        tracing::warn!(
            "password file {} has group or world access; permissions should be u=rw (0600) or less: ignored",
            file.display()
        );
        return None;
    }
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(error) => {
            tracing::warn!("cannot read password file {}: {error}: ignored", file.display());
            return None;
        }
    };
    let host = if lookup.host.is_empty() || lookup.host.starts_with('/') {
        "localhost"
    } else {
        lookup.host
    };
    let port = lookup.port.to_string();
    let wanted = [host, port.as_str(), lookup.dbname, lookup.user];
    text.lines().enumerate().find_map(|(index, line)| {
        if line.starts_with('#') {
            return None;
        }
        let fields = fields(line);
        let [patterns @ .., password] = fields.as_slice() else {
            return None;
        };
        let patterns: &[String; 4] = patterns.try_into().ok()?;
        let matches = patterns
            .iter()
            .zip(wanted)
            .all(|(pattern, value)| pattern == "*" || pattern == value);
        matches.then(|| Found {
            password: password.clone(),
            file: file.to_path_buf(),
            line: index + 1,
        })
    })
}

/// A line's five fields, unescaped; the password is the rest of the line after the fourth `:`.
fn fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(escaped) = chars.next() {
                    fields.last_mut().expect("one field").push(escaped);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, text: &str, mode: u32) -> PathBuf {
        let file = dir.join("pgpass");
        fs::write(&file, text).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(mode)).unwrap();
        file
    }

    fn lookup<'a>(host: &'a str, port: u16, dbname: &'a str, user: &'a str) -> Lookup<'a> {
        Lookup {
            host,
            port,
            dbname,
            user,
        }
    }

    #[test]
    fn the_first_matching_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(
            dir.path(),
            "# comment\ndb.example:5432:memory:me:first\n*:*:*:me:any\nlocalhost:5432:*:*:sock\\:et\nshort:line\n",
            0o600,
        );
        let found = find(&file, &lookup("db.example", 5432, "memory", "me")).unwrap();
        assert_eq!((found.password.as_str(), found.line), ("first", 2));
        let found = find(&file, &lookup("other", 6432, "x", "me")).unwrap();
        assert_eq!((found.password.as_str(), found.line), ("any", 3));
        let found = find(&file, &lookup("/var/run/postgresql", 5432, "x", "you")).unwrap();
        assert_eq!(found.password, "sock:et", "a socket directory matches localhost");
        assert_eq!(find(&file, &lookup("other", 5432, "x", "you")), None);
    }

    #[test]
    fn a_password_may_hold_colons_and_a_file_others_read_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "h:1:d:u:a:b\\\\c\n", 0o600);
        assert_eq!(find(&file, &lookup("h", 1, "d", "u")).unwrap().password, "a:b\\c");
        let file = write(dir.path(), "h:1:d:u:secret\n", 0o640);
        assert_eq!(find(&file, &lookup("h", 1, "d", "u")), None);
        assert_eq!(find(&dir.path().join("missing"), &lookup("h", 1, "d", "u")), None);
        assert_eq!(find(dir.path(), &lookup("h", 1, "d", "u")), None, "a directory");
    }
}
