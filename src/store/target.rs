//! Which database to use: `--database-url`, else `DATABASE_URL`, else the libpq variables
//! (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`), else memtree's local database.
//!
//! tokio-postgres reads no environment variables, so the libpq ones are applied here, as libpq
//! does: they fill whatever a URL leaves out. Descriptions and errors never show a password.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;

use regex::Regex;
use tokio_postgres::config::Host;
use tokio_postgres::Config;

use super::StoreError;
use crate::env::{self, EnvLookup};

/// Where a connection URL came from, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UrlOrigin {
    Flag,
    DatabaseUrlVar,
}

impl fmt::Display for UrlOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UrlOrigin::Flag => "--database-url",
            UrlOrigin::DatabaseUrlVar => "DATABASE_URL",
        })
    }
}

/// The libpq environment variables that were set (non-empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LibpqVars {
    pub host: Option<String>,
    pub port: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub dbname: Option<String>,
    /// The login name (`USER`, else `LOGNAME`): libpq's default database user.
    login: Option<String>,
}

impl LibpqVars {
    fn from_env(env: EnvLookup<'_>) -> LibpqVars {
        LibpqVars {
            host: env::PGHOST.text(env),
            port: env::PGPORT.text(env),
            user: env::PGUSER.text(env),
            password: env::PGPASSWORD.text(env),
            dbname: env::PGDATABASE.text(env),
            login: env::USER.text(env).or_else(|| env::LOGNAME.text(env)),
        }
    }

    fn any_set(&self) -> bool {
        self.host.is_some()
            || self.port.is_some()
            || self.user.is_some()
            || self.password.is_some()
            || self.dbname.is_some()
    }

    /// Fills what `config` leaves unset, as libpq would.
    fn fill(&self, config: &mut Config) -> Result<(), StoreError> {
        if config.get_ports().is_empty() {
            if let Some(port) = &self.port {
                let port = port.parse::<u16>().map_err(|_| StoreError::InvalidTarget {
                    origin: "PGPORT".to_owned(),
                    detail: format!("`{port}` is not a port number"),
                })?;
                config.port(port);
            }
        }
        if config.get_hosts().is_empty() {
            match &self.host {
                // Like libpq, a host starting with `/` is a Unix socket directory.
                Some(hosts) => {
                    for host in hosts.split(',') {
                        config.host(host);
                    }
                }
                None => default_host(config),
            }
        }
        if config.get_user().is_none() {
            match self.user.as_ref().or(self.login.as_ref()) {
                Some(user) => config.user(user),
                None => return Err(StoreError::InvalidTarget {
                    origin: "the environment".to_owned(),
                    detail:
                        "no database user: set PGUSER or give one in the url (postgres://user@host/database)"
                            .to_owned(),
                }),
            };
        }
        if config.get_password().is_none() {
            if let Some(password) = &self.password {
                config.password(password);
            }
        }
        if config.get_dbname().is_none() {
            if let Some(dbname) = &self.dbname {
                config.dbname(dbname);
            }
        }
        Ok(())
    }
}

/// libpq's default server: the usual Unix socket directory when a server listens there, else
/// localhost over TCP.
fn default_host(config: &mut Config) {
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let socket_dir = ["/var/run/postgresql", "/tmp"]
        .into_iter()
        .find(|dir| Path::new(dir).join(format!(".s.PGSQL.{port}")).exists());
    match socket_dir {
        Some(dir) => config.host_path(dir),
        None => config.host("localhost"),
    };
}

/// The database memtree will use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// A connection string (URL or `key=value` form); libpq variables fill what it omits.
    Url {
        url: String,
        origin: UrlOrigin,
        fallback: LibpqVars,
    },
    /// Only libpq variables.
    Libpq(LibpqVars),
    /// Nothing configured: memtree's own local database (`crate::localdb`).
    Local,
}

/// Decides the target from the flag and the environment, checking a URL's syntax now.
pub fn resolve(flag: Option<&str>, env: EnvLookup<'_>) -> Result<DbTarget, StoreError> {
    let vars = LibpqVars::from_env(env);
    let from_env = env::DATABASE_URL.text(env);
    let target = match (flag.filter(|url| !url.is_empty()), from_env) {
        (Some(url), _) => DbTarget::Url {
            url: url.to_owned(),
            origin: UrlOrigin::Flag,
            fallback: vars,
        },
        (None, Some(url)) => DbTarget::Url {
            url,
            origin: UrlOrigin::DatabaseUrlVar,
            fallback: vars,
        },
        (None, None) if vars.any_set() => DbTarget::Libpq(vars),
        (None, None) => DbTarget::Local,
    };
    target.config()?;
    Ok(target)
}

impl DbTarget {
    /// The connection settings; `None` for [`DbTarget::Local`], whose settings come from
    /// `crate::localdb`.
    pub fn config(&self) -> Result<Option<Config>, StoreError> {
        match self {
            DbTarget::Url {
                url,
                origin,
                fallback,
            } => {
                let mut config = Config::from_str(url).map_err(|error| StoreError::InvalidTarget {
                    origin: origin.to_string(),
                    detail: format!(
                        "`{}` is not a valid connection string ({}); expected postgres://user:password@host:port/database",
                        mask_password(url),
                        super::pg_detail(&error)
                    ),
                })?;
                fallback.fill(&mut config)?;
                Ok(Some(config))
            }
            DbTarget::Libpq(vars) => {
                let mut config = Config::new();
                vars.fill(&mut config)?;
                Ok(Some(config))
            }
            DbTarget::Local => Ok(None),
        }
    }

    /// A one-line description for messages, password masked.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Url { url, origin, .. } => format!("{} (from {origin})", mask_password(url)),
            DbTarget::Libpq(vars) => {
                let mut config = Config::new();
                match vars.fill(&mut config) {
                    Ok(()) => format!("{} (from PG* variables)", describe_config(&config)),
                    Err(_) => "the server named by the PG* variables".to_owned(),
                }
            }
            DbTarget::Local => "the local memtree database".to_owned(),
        }
    }
}

/// `postgres://user@host:port/database` for a config; never includes the password.
pub fn describe_config(config: &Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|host| match host {
            Host::Tcp(name) => name.clone(),
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let ports: Vec<String> = config.get_ports().iter().map(u16::to_string).collect();
    let user = config.get_user().unwrap_or("");
    let masked = if config.get_password().is_some() {
        ":***"
    } else {
        ""
    };
    let port = if ports.is_empty() {
        String::new()
    } else {
        format!(":{}", ports.join(","))
    };
    let dbname = config.get_dbname().or(config.get_user()).unwrap_or("");
    format!("postgres://{user}{masked}@{}{port}/{dbname}", hosts.join(","))
}

/// A connection string with its password replaced by `***`, in URL userinfo, a `password=`
/// query parameter, or a `password=` keyword.
pub fn mask_password(conninfo: &str) -> String {
    static USERINFO: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^(postgres(?:ql)?://[^:@/?#]*:)[^@/?#]*@").expect("valid regex"));
    static QUERY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"([?&]password=)[^&#]*").expect("valid regex"));
    static KEYWORD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(\bpassword\s*=\s*)(?:'(?:[^'\\]|\\.)*'?|\S+)").expect("valid regex"));
    if conninfo.starts_with("postgres://") || conninfo.starts_with("postgresql://") {
        let masked = USERINFO.replace(conninfo, "${1}***@");
        QUERY.replace_all(&masked, "${1}***").into_owned()
    } else {
        KEYWORD.replace_all(conninfo, "${1}***").into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::fake as env_of;

    #[test]
    fn passwords_are_masked() {
        let cases = [
            ("postgres://u:secret@h/db", "postgres://u:***@h/db"),
            (
                "postgresql://u:s%40cret@h:5433/db?sslmode=disable",
                "postgresql://u:***@h:5433/db?sslmode=disable",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?user=u&password=secret&x=1",
                "postgres://h/db?user=u&password=***&x=1",
            ),
            (
                "host=/tmp user=u password=secret dbname=d",
                "host=/tmp user=u password=*** dbname=d",
            ),
            (
                "host=h password='with spaces' user=u",
                "host=h password=*** user=u",
            ),
        ];
        for (input, masked) in cases {
            assert_eq!(mask_password(input), masked, "{input}");
        }
    }

    #[test]
    fn precedence_is_flag_then_database_url_then_libpq_then_local() {
        let all = env_of(&[
            ("DATABASE_URL", "postgres://env@h/db"),
            ("PGHOST", "/run/pg"),
            ("USER", "me"),
        ]);
        assert!(matches!(
            resolve(Some("postgres://flag@h/db"), &all).unwrap(),
            DbTarget::Url {
                origin: UrlOrigin::Flag,
                ..
            }
        ));
        assert!(matches!(
            resolve(None, &all).unwrap(),
            DbTarget::Url {
                origin: UrlOrigin::DatabaseUrlVar,
                ..
            }
        ));
        let libpq = env_of(&[("PGHOST", "/run/pg"), ("PGUSER", "u"), ("DATABASE_URL", "")]);
        assert!(matches!(resolve(None, &libpq).unwrap(), DbTarget::Libpq(_)));
        assert_eq!(
            resolve(None, &env_of(&[("HOME", "/h")])).unwrap(),
            DbTarget::Local
        );
        assert_eq!(resolve(Some(""), &env_of(&[])).unwrap(), DbTarget::Local);
    }

    #[test]
    fn libpq_variables_build_the_config_and_fill_url_gaps() {
        let env = env_of(&[
            ("PGHOST", "/run/pg"),
            ("PGPORT", "5433"),
            ("PGUSER", "u"),
            ("PGPASSWORD", "pw"),
            ("PGDATABASE", "d"),
        ]);
        let config = resolve(None, &env).unwrap().config().unwrap().unwrap();
        assert_eq!(config.get_hosts(), [Host::Unix("/run/pg".into())]);
        assert_eq!(config.get_ports(), [5433]);
        assert_eq!(config.get_user(), Some("u"));
        assert_eq!(config.get_password(), Some(&b"pw"[..]));
        assert_eq!(config.get_dbname(), Some("d"));
        let target = resolve(None, &env).unwrap();
        assert_eq!(
            target.describe(),
            "postgres://u:***@/run/pg:5433/d (from PG* variables)"
        );

        let url = resolve(Some("postgres://other@db.example/x"), &env)
            .unwrap()
            .config()
            .unwrap()
            .unwrap();
        assert_eq!(url.get_hosts(), [Host::Tcp("db.example".into())]);
        assert_eq!(url.get_user(), Some("other"));
        assert_eq!(
            url.get_password(),
            Some(&b"pw"[..]),
            "PGPASSWORD fills the url's gap"
        );
        assert_eq!(url.get_dbname(), Some("x"));
    }

    #[test]
    fn the_login_name_is_the_default_user() {
        let config = resolve(None, &env_of(&[("PGHOST", "h"), ("USER", "me")]))
            .unwrap()
            .config()
            .unwrap()
            .unwrap();
        assert_eq!(config.get_user(), Some("me"));
        let error = resolve(None, &env_of(&[("PGHOST", "h")])).unwrap_err();
        assert!(error.to_string().contains("PGUSER"), "{error}");
    }

    #[test]
    fn invalid_targets_name_their_origin_and_hide_the_password() {
        let error = resolve(Some("postgres://u:hunter2@h:notaport/db"), &env_of(&[])).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("--database-url"), "{message}");
        assert!(message.contains("postgres://u:***@h:notaport/db"), "{message}");
        assert!(
            message.contains("expected postgres://user:password@host:port/database"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");

        let env = env_of(&[("DATABASE_URL", "password=hunter2 nonsense")]);
        let message = resolve(None, &env).unwrap_err().to_string();
        assert!(
            message.contains("DATABASE_URL") && !message.contains("hunter2"),
            "{message}"
        );

        let message = resolve(None, &env_of(&[("PGPORT", "x"), ("PGUSER", "u")]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("PGPORT") && message.contains("`x`"), "{message}");
    }

    #[test]
    fn described_configs_never_show_the_password() {
        let config = Config::from_str("postgres://u:hunter2@h:5433/db").unwrap();
        assert_eq!(describe_config(&config), "postgres://u:***@h:5433/db");
    }
}
