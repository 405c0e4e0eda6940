//! The environment memtree reads: every variable it looks at is declared here or by the source
//! that reads it ([`crate::source::Source::variables`]), and is read through an injected lookup so
//! tests can fake the environment.

use std::ffi::OsString;
use std::path::PathBuf;

/// Reads one environment variable; injected so tests can fake the environment.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<OsString>;

/// One environment variable memtree reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    /// What it changes, for `--help` and the README.
    pub meaning: &'static str,
    /// A knob the tests turn to reach paths that real input reaches only at scale; never
    /// documented for users.
    pub test_knob: bool,
}

impl Variable {
    pub const fn setting(name: &'static str, meaning: &'static str) -> Variable {
        Variable {
            name,
            meaning,
            test_knob: false,
        }
    }

    pub const fn test_knob(name: &'static str, meaning: &'static str) -> Variable {
        Variable {
            name,
            meaning,
            test_knob: true,
        }
    }

    /// The value when it is set and not empty (an empty variable means unset, as in libpq).
    pub fn get(&self, env: EnvLookup<'_>) -> Option<OsString> {
        env(self.name).filter(|value| !value.is_empty())
    }

    /// [`Variable::get`] as UTF-8 text; a value that is not UTF-8 counts as unset.
    pub fn text(&self, env: EnvLookup<'_>) -> Option<String> {
        self.get(env).and_then(|value| value.into_string().ok())
    }

    /// [`Variable::get`] as a path.
    pub fn path(&self, env: EnvLookup<'_>) -> Option<PathBuf> {
        self.get(env).map(PathBuf::from)
    }

    /// A positive number of bytes, or `default` when unset or not one.
    pub fn bytes(&self, env: EnvLookup<'_>, default: u64) -> u64 {
        self.text(env)
            .and_then(|value| value.parse::<u64>().ok())
            .filter(|bytes| *bytes > 0)
            .unwrap_or(default)
    }
}

pub const HOME: Variable = Variable::setting(
    "HOME",
    "the home directory: default session roots, `~` in --project",
);
pub const XDG_DATA_HOME: Variable = Variable::setting(
    "XDG_DATA_HOME",
    "memtree's local database lives in `$XDG_DATA_HOME/memtree/postgres` (default `~/.local/share`)",
);
/// Read by Cursor's source, which lists it, and by `memtree service`.
pub const XDG_CONFIG_HOME: Variable = Variable::setting(
    "XDG_CONFIG_HOME",
    "Cursor's user directory on Linux is `$XDG_CONFIG_HOME/Cursor/User`, and `memtree service` writes its systemd unit to `$XDG_CONFIG_HOME/systemd/user` (default `~/.config`)",
);
pub const PATH: Variable = Variable::setting(
    "PATH",
    "where the local database's PostgreSQL programs are looked for first",
);
pub const DATABASE_URL: Variable = Variable::setting(
    "DATABASE_URL",
    "the PostgreSQL to write to, when --database-url is not given",
);
pub const PGHOST: Variable = Variable::setting(
    "PGHOST",
    "libpq's server host, when no URL is given or the URL leaves it out",
);
pub const PGPORT: Variable = Variable::setting("PGPORT", "libpq's server port, likewise");
pub const PGUSER: Variable = Variable::setting("PGUSER", "libpq's database user, likewise");
pub const PGPASSWORD: Variable = Variable::setting("PGPASSWORD", "libpq's password, likewise");
pub const PGDATABASE: Variable = Variable::setting("PGDATABASE", "libpq's database, likewise");
pub const PGHOSTADDR: Variable = Variable::setting(
    "PGHOSTADDR",
    "libpq's server address, connected to instead of resolving the host name, likewise",
);
pub const PGPASSFILE: Variable = Variable::setting(
    "PGPASSFILE",
    "libpq's password file (default `~/.pgpass`; ignored when others may read it)",
);
pub const PGSERVICE: Variable = Variable::setting(
    "PGSERVICE",
    "a section of the connection service file whose settings fill what the URL leaves out",
);
pub const PGSERVICEFILE: Variable = Variable::setting(
    "PGSERVICEFILE",
    "libpq's connection service file (default `~/.pg_service.conf`)",
);
pub const PGSYSCONFDIR: Variable = Variable::setting(
    "PGSYSCONFDIR",
    "the directory of the system-wide `pg_service.conf`, read after the user's",
);
pub const PGSSLMODE: Variable = Variable::setting(
    "PGSSLMODE",
    "libpq's sslmode: disable, allow, prefer (default), require, verify-ca or verify-full",
);
pub const PGSSLROOTCERT: Variable = Variable::setting(
    "PGSSLROOTCERT",
    "the certificate authorities that sign the server's certificate: a PEM file, or `system`",
);
pub const PGSSLCERT: Variable = Variable::setting(
    "PGSSLCERT",
    "a client certificate (PEM; default `~/.postgresql/postgresql.crt` when it exists)",
);
pub const PGSSLKEY: Variable = Variable::setting(
    "PGSSLKEY",
    "the client certificate's private key (default `~/.postgresql/postgresql.key`)",
);
pub const PGCONNECT_TIMEOUT: Variable = Variable::setting(
    "PGCONNECT_TIMEOUT",
    "seconds to wait for each server to answer (memtree's default 10; 0 waits forever)",
);
pub const PGAPPNAME: Variable = Variable::setting(
    "PGAPPNAME",
    "the application_name the server shows for memtree's connections (default `memtree`)",
);
pub const PGTARGETSESSIONATTRS: Variable = Variable::setting(
    "PGTARGETSESSIONATTRS",
    "which of several hosts to use: any (default), read-write or primary",
);
pub const USER: Variable = Variable::setting(
    "USER",
    "the login name: the database user when nothing else names one",
);
pub const LOGNAME: Variable = Variable::setting("LOGNAME", "the login name when USER is not set");
pub const RUST_LOG: Variable = Variable::setting("RUST_LOG", "log filter on stderr (overrides -v and -q)");
pub const MEMTREE_FAILPOINT: Variable = Variable::test_knob(
    "MEMTREE_FAILPOINT",
    "`<point>[:<nth>][:stop]`: kill or stop the process there (crash tests; builds with the `failpoints` feature)",
);
pub const MEMTREE_PART_BYTES: Variable = Variable::test_knob(
    "MEMTREE_PART_BYTES",
    "message text of one part of a session read in parts (`limits::PART_BYTES` when unset)",
);
pub const MEMTREE_BIG_FILE_BYTES: Variable = Variable::test_knob(
    "MEMTREE_BIG_FILE_BYTES",
    "size from which a file is parsed as a job of its own (`limits::BIG_FILE_BYTES` when unset)",
);

/// Every variable memtree itself reads; each source adds its own ([`crate::source::variables`]).
pub const VARIABLES: &[Variable] = &[
    HOME,
    XDG_DATA_HOME,
    PATH,
    DATABASE_URL,
    PGHOST,
    PGPORT,
    PGUSER,
    PGPASSWORD,
    PGDATABASE,
    PGHOSTADDR,
    PGPASSFILE,
    PGSERVICE,
    PGSERVICEFILE,
    PGSYSCONFDIR,
    PGSSLMODE,
    PGSSLROOTCERT,
    PGSSLCERT,
    PGSSLKEY,
    PGCONNECT_TIMEOUT,
    PGAPPNAME,
    PGTARGETSESSIONATTRS,
    USER,
    LOGNAME,
    RUST_LOG,
    MEMTREE_FAILPOINT,
    MEMTREE_PART_BYTES,
    MEMTREE_BIG_FILE_BYTES,
];

/// The home directory, from `HOME`.
pub fn home_dir(env: EnvLookup<'_>) -> Option<PathBuf> {
    HOME.path(env)
}

/// The process's own environment.
pub fn process(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// An environment holding exactly `vars`, for tests of environment-dependent defaults.
#[cfg(test)]
pub(crate) fn fake(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let vars: std::collections::HashMap<String, OsString> = vars
        .iter()
        .map(|(name, value)| (name.to_string(), OsString::from(value)))
        .collect();
    move |name| vars.get(name).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_variable_is_unset_and_knobs_take_positive_numbers_only() {
        let env = fake(&[
            ("HOME", ""),
            ("MEMTREE_PART_BYTES", "0"),
            ("MEMTREE_BIG_FILE_BYTES", "64"),
        ]);
        assert_eq!(home_dir(&env), None);
        assert_eq!(MEMTREE_PART_BYTES.bytes(&env, 7), 7);
        assert_eq!(MEMTREE_BIG_FILE_BYTES.bytes(&env, 7), 64);
        assert_eq!(DATABASE_URL.text(&env), None);
    }

    #[test]
    fn variables_are_listed_once() {
        let mut names: Vec<&str> = VARIABLES.iter().map(|variable| variable.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), VARIABLES.len());
    }
}
