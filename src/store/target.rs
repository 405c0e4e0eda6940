//! Which database to use, and how to reach it, resolved as libpq resolves it.
//!
//! The server: `--database-url`, else `DATABASE_URL`, else the libpq variables (`PGHOST`,
//! `PGSERVICE`, ...) when one names a server, else memtree's local database.
//!
//! Each connection parameter then comes from the first of: the connection string; the section of
//! the connection service file it or `PGSERVICE` names (`PGSERVICEFILE` or `~/.pg_service.conf`,
//! then `$PGSYSCONFDIR/pg_service.conf`); its `PG*` variable; libpq's default. A password not
//! found so comes from the password file (`passfile`, `PGPASSFILE` or `~/.pgpass`), for each host.
//! Where each value came from is kept, so an error names the place to correct it.
//!
//! Descriptions and errors never show a password.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use regex::Regex;
use tokio_postgres::config::{ChannelBinding, Host};

use super::connect::{
    ConnectSettings, Endpoint, Password, PasswordSource, SessionAttrs, DEFAULT_CONNECT_TIMEOUT,
};
use super::conninfo::{self, Params};
use super::passfile;
use super::tls::{RootCerts, SslMode, TlsSettings};
use super::StoreError;
use crate::env::{self, EnvLookup, Variable};

/// What named the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetOrigin {
    Flag,
    DatabaseUrlVar,
    /// The libpq variables alone.
    Environment,
}

impl fmt::Display for TargetOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetOrigin::Flag => "--database-url",
            TargetOrigin::DatabaseUrlVar => "DATABASE_URL",
            TargetOrigin::Environment => "PG* variables",
        })
    }
}

/// The database memtree will use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DbTarget {
    /// A server, with everything needed to connect to it.
    Server {
        origin: TargetOrigin,
        settings: Box<ConnectSettings>,
    },
    /// Nothing configured: memtree's own local database (`crate::localdb`).
    Local,
}

/// Each parameter's libpq variable.
const VARIABLES: &[(&str, Variable)] = &[
    ("host", env::PGHOST),
    ("hostaddr", env::PGHOSTADDR),
    ("port", env::PGPORT),
    ("dbname", env::PGDATABASE),
    ("user", env::PGUSER),
    ("password", env::PGPASSWORD),
    ("passfile", env::PGPASSFILE),
    ("service", env::PGSERVICE),
    ("sslmode", env::PGSSLMODE),
    ("sslrootcert", env::PGSSLROOTCERT),
    ("sslcert", env::PGSSLCERT),
    ("sslkey", env::PGSSLKEY),
    ("connect_timeout", env::PGCONNECT_TIMEOUT),
    ("application_name", env::PGAPPNAME),
    ("target_session_attrs", env::PGTARGETSESSIONATTRS),
];

/// The parameters that name a server: when one of their variables is set, the variables are
/// the target rather than the local database.
const SERVER_KEYS: &[&str] = &[
    "host", "hostaddr", "port", "dbname", "user", "password", "service",
];

/// What the environment says about connecting.
struct LibpqEnv {
    /// Set variables, by parameter.
    vars: BTreeMap<&'static str, (String, &'static str)>,
    /// The login name (`USER`, else `LOGNAME`): libpq's default database user.
    login: Option<String>,
    home: Option<PathBuf>,
    service_file: Option<PathBuf>,
    sysconf_dir: Option<PathBuf>,
}

impl LibpqEnv {
    fn from_env(env: EnvLookup<'_>) -> LibpqEnv {
        LibpqEnv {
            vars: VARIABLES
                .iter()
                .filter_map(|(key, variable)| variable.text(env).map(|value| (*key, (value, variable.name))))
                .collect(),
            login: env::USER.text(env).or_else(|| env::LOGNAME.text(env)),
            home: env::home_dir(env),
            service_file: env::PGSERVICEFILE.path(env),
            sysconf_dir: env::PGSYSCONFDIR.path(env),
        }
    }

    fn names_a_server(&self) -> bool {
        SERVER_KEYS.iter().any(|key| self.vars.contains_key(key))
    }

    /// `~/<relative>`.
    fn in_home(&self, relative: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|home| home.join(relative))
    }
}

/// Where one parameter's value came from.
#[derive(Clone, Debug)]
enum ValueOrigin {
    /// The connection string, given by `--database-url` or `DATABASE_URL`.
    Given(TargetOrigin),
    Service {
        name: String,
        file: PathBuf,
    },
    Variable(&'static str),
}

impl fmt::Display for ValueOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueOrigin::Given(origin) => write!(f, "{origin}"),
            ValueOrigin::Service { name, file } => write!(f, "service `{name}` in {}", file.display()),
            ValueOrigin::Variable(name) => f.write_str(name),
        }
    }
}

/// Parameters with their origins.
struct Values(BTreeMap<String, (String, ValueOrigin)>);

impl Values {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|(value, _)| value.as_str())
    }

    /// Fills the parameters not set yet.
    fn fill(&mut self, params: Params, origin: impl Fn() -> ValueOrigin) {
        for (key, value) in params {
            self.0.entry(key).or_insert_with(|| (value, origin()));
        }
    }

    fn invalid(&self, key: &str, detail: String) -> StoreError {
        let origin = match self.0.get(key) {
            Some((_, origin)) => origin.to_string(),
            None => "the connection settings".to_owned(),
        };
        StoreError::InvalidTarget { origin, detail }
    }
}

/// Decides the target from the flag and the environment, and resolves how to reach it: a
/// mistake in the connection string, a service or a variable fails here, before any work.
pub fn resolve(flag: Option<&str>, env: EnvLookup<'_>) -> Result<DbTarget, StoreError> {
    let libpq = LibpqEnv::from_env(env);
    let (given, origin) = match (flag.filter(|url| !url.is_empty()), env::DATABASE_URL.text(env)) {
        (Some(url), _) => (Some(url.to_owned()), TargetOrigin::Flag),
        (None, Some(url)) => (Some(url), TargetOrigin::DatabaseUrlVar),
        (None, None) if libpq.names_a_server() => (None, TargetOrigin::Environment),
        (None, None) => return Ok(DbTarget::Local),
    };
    let params = match &given {
        Some(url) => conninfo::parse(url).map_err(|error| StoreError::InvalidTarget {
            origin: origin.to_string(),
            detail: format!(
                "`{}` is not a valid connection string ({error}); expected postgres://user:password@host:port/database",
                mask_password(url)
            ),
        })?,
        None => Params::new(),
    };
    let settings = settle(params, &origin, &libpq)?;
    Ok(DbTarget::Server {
        origin,
        settings: Box::new(settings),
    })
}

impl DbTarget {
    /// The connection settings; `None` for [`DbTarget::Local`], whose settings come from
    /// `crate::localdb`.
    pub fn settings(&self) -> Option<ConnectSettings> {
        match self {
            DbTarget::Server { settings, .. } => Some((**settings).clone()),
            DbTarget::Local => None,
        }
    }

    /// A one-line description for messages, password masked.
    pub fn describe(&self) -> String {
        match self {
            DbTarget::Server { origin, settings } => format!("{} (from {origin})", settings.describe()),
            DbTarget::Local => "the local memtree database".to_owned(),
        }
    }
}

/// The parameters of the connection string, completed from the service file, the variables,
/// the password file and libpq's defaults.
fn settle(given: Params, origin: &TargetOrigin, libpq: &LibpqEnv) -> Result<ConnectSettings, StoreError> {
    let mut values = Values(BTreeMap::new());
    values.fill(given, || ValueOrigin::Given(origin.clone()));
    let service = match values.0.get("service") {
        Some((name, origin)) => Some((name.clone(), origin.to_string())),
        None => libpq
            .vars
            .get("service")
            .map(|(name, variable)| (name.clone(), variable.to_string())),
    };
    if let Some((name, named_by)) = service {
        let (section, file) = find_service(&name, libpq).map_err(|detail| StoreError::InvalidTarget {
            origin: named_by,
            detail,
        })?;
        values.fill(section, || ValueOrigin::Service {
            name: name.clone(),
            file: file.clone(),
        });
    }
    for (key, (value, variable)) in &libpq.vars {
        if *key != "service" {
            values
                .0
                .entry((*key).to_owned())
                .or_insert_with(|| (value.clone(), ValueOrigin::Variable(variable)));
        }
    }

    let user = match values.get("user").or(libpq.login.as_deref()) {
        Some(user) => user.to_owned(),
        None => {
            return Err(StoreError::InvalidTarget {
                origin: "the environment".to_owned(),
                detail: "no database user: set PGUSER or give one in the url (postgres://user@host/database)"
                    .to_owned(),
            })
        }
    };
    let dbname = values.get("dbname").unwrap_or(&user).to_owned();
    let mut endpoints = endpoints(&values)?;
    let password = values.0.get("password").map(|(secret, origin)| {
        let source = match origin {
            ValueOrigin::Given(origin) => PasswordSource::Given(format!("the connection string of {origin}")),
            ValueOrigin::Service { name, file } => PasswordSource::Service {
                name: name.clone(),
                file: file.clone(),
            },
            ValueOrigin::Variable(_) => PasswordSource::Variable,
        };
        Password::new(secret.clone(), source)
    });
    let passfile = values
        .get("passfile")
        .map(PathBuf::from)
        .or_else(|| libpq.in_home(".pgpass"));
    for endpoint in &mut endpoints {
        endpoint.password = password.clone().or_else(|| {
            let host = match (&endpoint.host, endpoint.hostaddr) {
                (Host::Tcp(name), _) if !name.is_empty() => name.clone(),
                (_, Some(address)) => address.to_string(),
                (Host::Unix(dir), _) => dir.display().to_string(),
                (Host::Tcp(name), None) => name.clone(),
            };
            let lookup = passfile::Lookup {
                host: &host,
                port: endpoint.port,
                dbname: &dbname,
                user: &user,
            };
            let found = passfile::find(passfile.as_deref()?, &lookup)?;
            Some(Password::new(
                found.password,
                PasswordSource::File {
                    path: found.file,
                    line: found.line,
                },
            ))
        });
    }

    let connect_timeout = match values.get("connect_timeout") {
        None => Some(DEFAULT_CONNECT_TIMEOUT),
        Some(text) => {
            let seconds = text.trim().parse::<i64>().map_err(|_| {
                values.invalid(
                    "connect_timeout",
                    format!("connect_timeout `{text}` is not a number of seconds"),
                )
            })?;
            // As libpq: zero or less waits forever, and less than 2 s is 2 s.
            (seconds > 0).then(|| Duration::from_secs(seconds.max(2) as u64))
        }
    };
    let session = match values.get("target_session_attrs").unwrap_or("any") {
        "any" => SessionAttrs::Any,
        "read-write" => SessionAttrs::ReadWrite,
        "primary" => SessionAttrs::Primary,
        other => {
            return Err(values.invalid(
                "target_session_attrs",
                format!("target_session_attrs `{other}` is not usable: memtree writes, so it takes any, read-write or primary"),
            ))
        }
    };
    let channel_binding = match values.get("channel_binding").unwrap_or("prefer") {
        "disable" => ChannelBinding::Disable,
        "prefer" => ChannelBinding::Prefer,
        "require" => ChannelBinding::Require,
        other => {
            return Err(values.invalid(
                "channel_binding",
                format!("channel_binding `{other}` is not disable, prefer or require"),
            ))
        }
    };
    Ok(ConnectSettings {
        endpoints,
        user,
        dbname,
        application_name: values
            .get("application_name")
            .or(values.get("fallback_application_name"))
            .unwrap_or("memtree")
            .to_owned(),
        options: values.get("options").map(str::to_owned),
        connect_timeout,
        session,
        channel_binding,
        tls: tls_settings(&values, libpq)?,
    })
}

/// The hosts, their addresses and ports, as libpq pairs them: `host`, `hostaddr` and `port` are
/// comma-separated lists of the same length, or one port for every host.
fn endpoints(values: &Values) -> Result<Vec<Endpoint>, StoreError> {
    let list = |key: &str| -> Vec<String> {
        values
            .get(key)
            .map(|text| text.split(',').map(|item| item.trim().to_owned()).collect())
            .unwrap_or_default()
    };
    let hosts = list("host");
    let hostaddrs = list("hostaddr");
    let ports = list("port");
    if !hosts.is_empty() && !hostaddrs.is_empty() && hosts.len() != hostaddrs.len() {
        return Err(values.invalid(
            "hostaddr",
            format!(
                "{} hosts but {} hostaddrs: give one address per host",
                hosts.len(),
                hostaddrs.len()
            ),
        ));
    }
    let count = hosts.len().max(hostaddrs.len()).max(1);
    if ports.len() > 1 && ports.len() != count {
        return Err(values.invalid(
            "port",
            format!(
                "{count} hosts but {} ports: give one port, or one per host",
                ports.len()
            ),
        ));
    }
    (0..count)
        .map(|index| {
            let port = match ports.get(index).or(ports.first()).map(String::as_str) {
                None | Some("") => 5432,
                Some(text) => text
                    .parse::<u16>()
                    .map_err(|_| values.invalid("port", format!("`{text}` is not a port number")))?,
            };
            let hostaddr = match hostaddrs.get(index).map(String::as_str) {
                None | Some("") => None,
                Some(text) => Some(
                    text.parse::<IpAddr>()
                        .map_err(|_| values.invalid("hostaddr", format!("`{text}` is not an IP address")))?,
                ),
            };
            let host = match hosts.get(index).map(String::as_str) {
                Some(name) if name.starts_with('/') => Host::Unix(PathBuf::from(name)),
                Some(name) if !name.is_empty() => Host::Tcp(name.to_owned()),
                _ => match hostaddr {
                    Some(address) => Host::Tcp(address.to_string()),
                    None => default_host(port),
                },
            };
            Ok(Endpoint {
                host,
                hostaddr,
                port,
                password: None,
            })
        })
        .collect()
}

/// libpq's default server: the usual Unix socket directory when a server listens there, else
/// localhost over TCP.
fn default_host(port: u16) -> Host {
    let socket_dir = ["/var/run/postgresql", "/tmp"]
        .into_iter()
        .find(|dir| Path::new(dir).join(format!(".s.PGSQL.{port}")).exists());
    match socket_dir {
        Some(dir) => Host::Unix(PathBuf::from(dir)),
        None => Host::Tcp("localhost".to_owned()),
    }
}

/// sslmode, root certificates and client certificate, with libpq's defaults under
/// `~/.postgresql/`.
fn tls_settings(values: &Values, libpq: &LibpqEnv) -> Result<TlsSettings, StoreError> {
    let explicit_mode = values
        .get("sslmode")
        .map(|text| SslMode::parse(text).map_err(|detail| values.invalid("sslmode", detail)))
        .transpose()?;
    let default_root = libpq.in_home(".postgresql/root.crt");
    let root = match values.get("sslrootcert") {
        Some("system") => Some(RootCerts::System),
        Some(path) => Some(RootCerts::File(PathBuf::from(path))),
        None => default_root
            .as_ref()
            .filter(|path| path.exists())
            .map(|path| RootCerts::File(path.clone())),
    };
    let mode = match (explicit_mode, &root) {
        // A public authority signs certificates for anyone's names: only the name check makes
        // trusting the platform's roots safe, so libpq allows nothing weaker.
        (Some(mode), Some(RootCerts::System)) if mode != SslMode::VerifyFull => {
            return Err(values.invalid(
                "sslmode",
                format!(
                    "weak sslmode \"{mode}\" may not be used with sslrootcert=system (use \"verify-full\")"
                ),
            ))
        }
        (None, Some(RootCerts::System)) => SslMode::VerifyFull,
        (Some(mode), _) => mode,
        (None, _) => SslMode::Prefer,
    };
    let client = match values.get("sslcert") {
        Some(cert) => {
            let cert = PathBuf::from(cert);
            if !cert.exists() {
                return Err(values.invalid("sslcert", format!("sslcert {} does not exist", cert.display())));
            }
            Some(cert)
        }
        None => libpq
            .in_home(".postgresql/postgresql.crt")
            .filter(|path| path.exists()),
    }
    .map(|cert| {
        let key = values
            .get("sslkey")
            .map(PathBuf::from)
            .or_else(|| libpq.in_home(".postgresql/postgresql.key"))
            .unwrap_or_else(|| cert.with_extension("key"));
        (cert, key)
    });
    Ok(TlsSettings {
        mode,
        root,
        default_root,
        client,
    })
}

/// The section `name` of the user's service file, else of the system's, and the file it is in.
fn find_service(name: &str, libpq: &LibpqEnv) -> Result<(Params, PathBuf), String> {
    let files: Vec<PathBuf> = [
        libpq
            .service_file
            .clone()
            .or_else(|| libpq.in_home(".pg_service.conf")),
        libpq.sysconf_dir.as_ref().map(|dir| dir.join("pg_service.conf")),
    ]
    .into_iter()
    .flatten()
    .collect();
    for file in &files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => return Err(format!("cannot read service file {}: {error}", file.display())),
        };
        if let Some(section) = conninfo::service_section(&text, name, file)? {
            return Ok((section, file.clone()));
        }
    }
    let looked: Vec<String> = files.iter().map(|file| file.display().to_string()).collect();
    Err(format!(
        "definition of service `{name}` not found (looked in {})",
        if looked.is_empty() {
            "no file: set HOME or PGSERVICEFILE".to_owned()
        } else {
            looked.join(" and ")
        }
    ))
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
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::env::fake as env_of;

    fn settings(flag: Option<&str>, env: &[(&str, &str)]) -> ConnectSettings {
        resolve(flag, &env_of(env)).unwrap().settings().unwrap()
    }

    fn password_of(endpoint: &Endpoint) -> Option<(String, PasswordSource)> {
        endpoint
            .password
            .as_ref()
            .map(|password| (format!("{password:?}"), password.source.clone()))
    }

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
        let flag = resolve(Some("postgres://flag@h/db"), &all).unwrap();
        assert!(
            matches!(&flag, DbTarget::Server { origin: TargetOrigin::Flag, settings } if settings.user == "flag")
        );
        let var = resolve(None, &all).unwrap();
        assert!(
            matches!(&var, DbTarget::Server { origin: TargetOrigin::DatabaseUrlVar, settings } if settings.user == "env")
        );
        let libpq = env_of(&[("PGHOST", "/run/pg"), ("PGUSER", "u"), ("DATABASE_URL", "")]);
        assert!(matches!(
            resolve(None, &libpq).unwrap(),
            DbTarget::Server {
                origin: TargetOrigin::Environment,
                ..
            }
        ));
        assert_eq!(
            resolve(None, &env_of(&[("HOME", "/h")])).unwrap(),
            DbTarget::Local
        );
        assert_eq!(
            resolve(None, &env_of(&[("PGSSLMODE", "require"), ("PGAPPNAME", "x")])).unwrap(),
            DbTarget::Local,
            "settings that name no server leave the local database in place"
        );
        assert_eq!(resolve(Some(""), &env_of(&[])).unwrap(), DbTarget::Local);
    }

    #[test]
    fn libpq_variables_build_the_settings_and_fill_url_gaps() {
        let env = [
            ("PGHOST", "/run/pg"),
            ("PGPORT", "5433"),
            ("PGUSER", "u"),
            ("PGPASSWORD", "pw"),
            ("PGDATABASE", "d"),
        ];
        let from_env = settings(None, &env);
        assert_eq!(from_env.endpoints.len(), 1);
        assert_eq!(from_env.endpoints[0].host, Host::Unix("/run/pg".into()));
        assert_eq!(from_env.endpoints[0].port, 5433);
        assert_eq!((from_env.user.as_str(), from_env.dbname.as_str()), ("u", "d"));
        assert_eq!(
            password_of(&from_env.endpoints[0]).unwrap().1,
            PasswordSource::Variable
        );
        assert_eq!(
            resolve(None, &env_of(&env)).unwrap().describe(),
            "postgres://u:***@/run/pg:5433/d (from PG* variables)"
        );

        let url = settings(Some("postgres://other@db.example/x"), &env);
        assert_eq!(url.endpoints[0].host, Host::Tcp("db.example".into()));
        assert_eq!(url.endpoints[0].port, 5433, "PGPORT fills the url's gap");
        assert_eq!(url.user, "other");
        assert_eq!(url.dbname, "x");
        assert_eq!(
            password_of(&url.endpoints[0]).unwrap().1,
            PasswordSource::Variable,
            "PGPASSWORD fills the url's gap"
        );
        let given = settings(Some("postgres://u:secret@h/x"), &env);
        assert_eq!(
            password_of(&given.endpoints[0]).unwrap().1,
            PasswordSource::Given("the connection string of --database-url".to_owned())
        );
    }

    #[test]
    fn the_login_name_is_the_default_user_and_database() {
        let settings = settings(None, &[("PGHOST", "h"), ("USER", "me")]);
        assert_eq!((settings.user.as_str(), settings.dbname.as_str()), ("me", "me"));
        assert_eq!(settings.application_name, "memtree");
        assert_eq!(settings.connect_timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(settings.tls.mode, SslMode::Prefer);
        let error = resolve(None, &env_of(&[("PGHOST", "h")])).unwrap_err();
        assert!(error.to_string().contains("PGUSER"), "{error}");
    }

    #[test]
    fn invalid_targets_name_their_origin_and_hide_the_password() {
        let message = resolve(Some("postgres://u:hunter2@h/db?sslmod=require"), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("--database-url"), "{message}");
        assert!(
            message.contains("postgres://u:***@h/db?sslmod=require"),
            "{message}"
        );
        assert!(
            message.contains("unknown connection parameter `sslmod`"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");

        let message = resolve(Some("postgres://u:hunter2@h:notaport/db"), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("from --database-url") && message.contains("`notaport` is not a port number"),
            "{message}"
        );
        assert!(!message.contains("hunter2"), "{message}");

        let env = env_of(&[("DATABASE_URL", "password=hunter2 nonsense")]);
        let message = resolve(None, &env).unwrap_err().to_string();
        assert!(
            message.contains("DATABASE_URL") && !message.contains("hunter2"),
            "{message}"
        );

        for (env, named) in [
            (vec![("PGPORT", "x"), ("PGUSER", "u")], "PGPORT"),
            (
                vec![("PGHOST", "h"), ("PGUSER", "u"), ("PGSSLMODE", "on")],
                "PGSSLMODE",
            ),
            (
                vec![("PGHOST", "h"), ("PGUSER", "u"), ("PGCONNECT_TIMEOUT", "soon")],
                "PGCONNECT_TIMEOUT",
            ),
            (
                vec![
                    ("PGHOST", "h"),
                    ("PGUSER", "u"),
                    ("PGTARGETSESSIONATTRS", "standby"),
                ],
                "PGTARGETSESSIONATTRS",
            ),
        ] {
            let message = resolve(None, &env_of(&env)).unwrap_err().to_string();
            assert!(message.contains(named), "{message}");
        }
    }

    #[test]
    fn several_hosts_pair_with_their_ports_and_addresses() {
        let settings = settings(
            Some("postgres://u@a:5433,b:5434/d?target_session_attrs=read-write&hostaddr=10.0.0.1,10.0.0.2"),
            &[],
        );
        let endpoints: Vec<String> = settings.endpoints.iter().map(ToString::to_string).collect();
        assert_eq!(endpoints, ["a:5433 (10.0.0.1)", "b:5434 (10.0.0.2)"]);
        assert_eq!(settings.session, SessionAttrs::ReadWrite);
        let error = resolve(Some("postgres://u@a,b,c/d?port=1,2"), &env_of(&[])).unwrap_err();
        assert!(error.to_string().contains("3 hosts but 2 ports"), "{error}");
    }

    #[test]
    fn timeouts_and_names_follow_libpq() {
        let base = [("PGHOST", "h"), ("PGUSER", "u")];
        let with = |extra: (&'static str, &'static str)| {
            let mut env = base.to_vec();
            env.push(extra);
            settings(None, &env)
        };
        assert_eq!(with(("PGCONNECT_TIMEOUT", "0")).connect_timeout, None);
        assert_eq!(
            with(("PGCONNECT_TIMEOUT", "1")).connect_timeout,
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            with(("PGCONNECT_TIMEOUT", "30")).connect_timeout,
            Some(Duration::from_secs(30))
        );
        assert_eq!(with(("PGAPPNAME", "nightly")).application_name, "nightly");
        assert_eq!(
            settings(
                Some("postgres://u@h/d?connect_timeout=5&application_name=mine"),
                &base
            )
            .connect_timeout,
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn the_service_file_comes_between_the_url_and_the_variables() {
        let home = tempfile::tempdir().unwrap();
        let file = home.path().join(".pg_service.conf");
        fs::write(
            &file,
            "[prod]\nhost=db.example.com\nport=6432\ndbname=memory\nuser=svc\npassword=fromservice\nsslmode=verify-full\nsslrootcert=/etc/ca.pem\n",
        )
        .unwrap();
        let home_dir = home.path().to_str().unwrap();
        let env = [
            ("HOME", home_dir),
            ("PGSERVICE", "prod"),
            ("PGPORT", "7000"),
            ("PGUSER", "envuser"),
        ];
        let from_service = settings(None, &env);
        assert_eq!(from_service.endpoints[0].host, Host::Tcp("db.example.com".into()));
        assert_eq!(from_service.endpoints[0].port, 6432, "the service beats PGPORT");
        assert_eq!(from_service.user, "svc", "the service beats PGUSER");
        assert_eq!(from_service.tls.mode, SslMode::VerifyFull);
        assert_eq!(from_service.tls.root, Some(RootCerts::File("/etc/ca.pem".into())));
        assert_eq!(
            password_of(&from_service.endpoints[0]).unwrap().1,
            PasswordSource::Service {
                name: "prod".to_owned(),
                file: file.clone()
            }
        );
        let url = settings(
            Some("postgresql:///other?service=prod&user=me"),
            &[("HOME", home_dir)],
        );
        assert_eq!(
            (url.user.as_str(), url.dbname.as_str()),
            ("me", "other"),
            "the url beats the service"
        );
        assert_eq!(url.endpoints[0].port, 6432);

        let error = resolve(
            Some("postgresql://h/d?service=staging"),
            &env_of(&[("HOME", home_dir), ("USER", "u")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("service `staging` not found") && error.contains(".pg_service.conf"),
            "{error}"
        );
        let other = home.path().join("services");
        fs::write(&other, "[staging]\nhost=stage\n").unwrap();
        let staged = settings(
            None,
            &[
                ("PGSERVICE", "staging"),
                ("PGSERVICEFILE", other.to_str().unwrap()),
                ("USER", "u"),
            ],
        );
        assert_eq!(staged.endpoints[0].host, Host::Tcp("stage".into()));
    }

    #[test]
    fn the_password_file_gives_each_host_its_password_unless_others_may_read_it() {
        let home = tempfile::tempdir().unwrap();
        let pgpass = home.path().join(".pgpass");
        fs::write(&pgpass, "a:5432:d:u:for-a\nb:*:*:u:for-b\n").unwrap();
        fs::set_permissions(&pgpass, fs::Permissions::from_mode(0o600)).unwrap();
        let home_dir = home.path().to_str().unwrap();
        let settings_of = || settings(Some("postgres://u@a,b,c/d"), &[("HOME", home_dir)]);
        let endpoints = settings_of().endpoints;
        assert_eq!(
            password_of(&endpoints[0]).unwrap().1,
            PasswordSource::File {
                path: pgpass.clone(),
                line: 1
            }
        );
        assert_eq!(
            password_of(&endpoints[1]).unwrap().1,
            PasswordSource::File {
                path: pgpass.clone(),
                line: 2
            }
        );
        assert_eq!(password_of(&endpoints[2]), None);
        assert!(!format!("{endpoints:?}").contains("for-a"));

        fs::set_permissions(&pgpass, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(settings_of()
            .endpoints
            .iter()
            .all(|endpoint| endpoint.password.is_none()));

        let elsewhere = home.path().join("elsewhere");
        fs::write(&elsewhere, "*:*:*:*:anywhere\n").unwrap();
        fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
        let named = settings(
            Some("postgres://u@c/d"),
            &[("HOME", home_dir), ("PGPASSFILE", elsewhere.to_str().unwrap())],
        );
        assert!(password_of(&named.endpoints[0]).is_some());
        let given = settings(Some("postgres://u:given@a/d"), &[("HOME", home_dir)]);
        assert!(matches!(
            password_of(&given.endpoints[0]).unwrap().1,
            PasswordSource::Given(_)
        ));
    }

    #[test]
    fn tls_settings_follow_libpq() {
        let home = tempfile::tempdir().unwrap();
        let home_dir = home.path().to_str().unwrap();
        let tls = |url: &str| settings(Some(url), &[("HOME", home_dir)]).tls;
        assert_eq!(tls("postgres://u@h/d").mode, SslMode::Prefer);
        assert_eq!(tls("postgres://u@h/d").root, None);
        let system = tls("postgres://u@h/d?sslrootcert=system");
        assert_eq!(
            (system.mode, system.root),
            (SslMode::VerifyFull, Some(RootCerts::System))
        );
        let error = resolve(
            Some("postgres://u@h/d?sslrootcert=system&sslmode=require"),
            &env_of(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("weak sslmode \"require\" may not be used with sslrootcert=system"),
            "{error}"
        );

        fs::create_dir(home.path().join(".postgresql")).unwrap();
        for file in ["root.crt", "postgresql.crt", "postgresql.key"] {
            fs::write(home.path().join(".postgresql").join(file), "").unwrap();
        }
        let defaults = tls("postgres://u@h/d?sslmode=verify-ca");
        assert_eq!(
            defaults.root,
            Some(RootCerts::File(home.path().join(".postgresql/root.crt")))
        );
        assert_eq!(
            defaults.client,
            Some((
                home.path().join(".postgresql/postgresql.crt"),
                home.path().join(".postgresql/postgresql.key")
            ))
        );
        let error = resolve(Some("postgres://u@h/d?sslcert=/nonexistent.crt"), &env_of(&[]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("sslcert /nonexistent.crt does not exist"),
            "{error}"
        );
        let from_env = settings(
            None,
            &[("PGHOST", "h"), ("PGUSER", "u"), ("PGSSLMODE", "require")],
        );
        assert_eq!(from_env.tls.mode, SslMode::Require);
        assert_eq!(from_env.describe(), "postgres://u@h:5432/u?sslmode=require");
    }
}
