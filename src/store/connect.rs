//! Opening connections: each host of the target in turn, each with the attempts its `sslmode`
//! allows, each attempt bounded by `connect_timeout` from the first byte to a usable session.
//! When every host fails, the error says, for each, what went wrong and what would fix it.
//!
//! The pool (`deadpool`) opens its connections through [`Connector`]: deadpool-postgres's own
//! manager connects from a tokio-postgres config with one TLS connector and reports
//! tokio-postgres errors, and libpq's fallbacks, per-host passwords and errors that name their fix
//! need more than that.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use deadpool::managed::{Metrics, RecycleError, RecycleResult};
use tokio::task::JoinHandle;
use tokio_postgres::config::{ChannelBinding, Host, TargetSessionAttrs};
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, Config, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::tls::{certificate_problem, CertificateProblem, SslMode, TlsSettings};
use super::StoreError;

/// memtree's wait for a server that does not answer, when `connect_timeout` is not given
/// (libpq would wait forever).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to open a connection, resolved from a connection string, a service, the
/// environment and the password file ([`super::target`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectSettings {
    /// Tried in order until one accepts.
    pub endpoints: Vec<Endpoint>,
    pub user: String,
    pub dbname: String,
    pub application_name: String,
    pub options: Option<String>,
    /// For each attempt, from connecting to a usable session; `None` waits as long as it takes.
    pub connect_timeout: Option<Duration>,
    pub session: SessionAttrs,
    pub channel_binding: ChannelBinding,
    pub tls: TlsSettings,
}

/// One server of the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: Host,
    /// The address to connect to, when `host` is only the name the certificate must carry.
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
    pub password: Option<Password>,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Tcp(name) if name.contains(':') => write!(f, "[{name}]:{}", self.port),
            Host::Tcp(name) => write!(f, "{name}:{}", self.port),
            Host::Unix(dir) => write!(f, "{}/.s.PGSQL.{}", dir.display(), self.port),
        }?;
        if let Some(address) = self.hostaddr {
            write!(f, " ({address})")?;
        }
        Ok(())
    }
}

/// A password, and where it came from; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password {
    secret: String,
    pub source: PasswordSource,
}

impl Password {
    pub fn new(secret: String, source: PasswordSource) -> Password {
        Password { secret, source }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Password(***, from {})", self.source)
    }
}

/// Where a password came from, so that an authentication failure says where to correct it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PasswordSource {
    /// The connection string given with `--database-url` or `DATABASE_URL`, or the settings a
    /// program built.
    Given(String),
    /// A section of a connection service file.
    Service { name: String, file: PathBuf },
    /// `PGPASSWORD`.
    Variable,
    /// A line of the password file.
    File { path: PathBuf, line: usize },
}

impl fmt::Display for PasswordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PasswordSource::Given(origin) => write!(f, "{origin}"),
            PasswordSource::Service { name, file } => {
                write!(f, "service `{name}` in {}", file.display())
            }
            PasswordSource::Variable => f.write_str("PGPASSWORD"),
            PasswordSource::File { path, line } => write!(f, "{} line {line}", path.display()),
        }
    }
}

/// libpq's `target_session_attrs`, as far as a writer can use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionAttrs {
    Any,
    /// A server that accepts writes (`SHOW transaction_read_only` is off).
    ReadWrite,
    /// A server that is not a standby.
    Primary,
}

impl From<Config> for ConnectSettings {
    /// Settings a program built with tokio-postgres (the local database, tests): its sslmode
    /// means what tokio-postgres means by it, TLS without checking the certificate.
    fn from(config: Config) -> ConnectSettings {
        let ports = config.get_ports();
        let hosts = config.get_hosts();
        let hostaddrs = config.get_hostaddrs();
        let count = hosts.len().max(hostaddrs.len()).max(1);
        let password = config.get_password().map(|password| {
            Password::new(
                String::from_utf8_lossy(password).into_owned(),
                PasswordSource::Given("the connection settings".to_owned()),
            )
        });
        let endpoints = (0..count)
            .map(|index| Endpoint {
                host: hosts
                    .get(index)
                    .cloned()
                    .unwrap_or_else(|| match hostaddrs.get(index) {
                        Some(address) => Host::Tcp(address.to_string()),
                        None => Host::Tcp("localhost".to_owned()),
                    }),
                hostaddr: hostaddrs.get(index).copied(),
                port: ports
                    .get(index)
                    .or_else(|| ports.first())
                    .copied()
                    .unwrap_or(5432),
                password: password.clone(),
            })
            .collect();
        let user = config.get_user().unwrap_or_default().to_owned();
        let mode = match config.get_ssl_mode() {
            tokio_postgres::config::SslMode::Disable => SslMode::Disable,
            tokio_postgres::config::SslMode::Require => SslMode::Require,
            _ => SslMode::Prefer,
        };
        ConnectSettings {
            endpoints,
            dbname: config.get_dbname().unwrap_or(&user).to_owned(),
            user,
            application_name: config.get_application_name().unwrap_or("memtree").to_owned(),
            options: config.get_options().map(str::to_owned),
            connect_timeout: Some(
                config
                    .get_connect_timeout()
                    .copied()
                    .unwrap_or(DEFAULT_CONNECT_TIMEOUT),
            ),
            session: match config.get_target_session_attrs() {
                TargetSessionAttrs::ReadWrite => SessionAttrs::ReadWrite,
                _ => SessionAttrs::Any,
            },
            channel_binding: config.get_channel_binding(),
            tls: TlsSettings::unverified(mode),
        }
    }
}

impl ConnectSettings {
    /// `postgres://user@host:port/database`; never the password.
    pub fn describe(&self) -> String {
        let hosts: Vec<String> = self
            .endpoints
            .iter()
            .map(|endpoint| match &endpoint.host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(dir) => dir.display().to_string(),
            })
            .collect();
        let mut ports: Vec<String> = self
            .endpoints
            .iter()
            .map(|endpoint| endpoint.port.to_string())
            .collect();
        ports.dedup();
        let masked = if self.endpoints.iter().any(|endpoint| endpoint.password.is_some()) {
            ":***"
        } else {
            ""
        };
        let mut text = format!(
            "postgres://{}{masked}@{}:{}/{}",
            self.user,
            hosts.join(","),
            ports.join(","),
            self.dbname
        );
        let tcp = self
            .endpoints
            .iter()
            .any(|endpoint| matches!(endpoint.host, Host::Tcp(_)));
        if tcp && self.tls.mode != SslMode::Prefer {
            text.push_str(&format!("?sslmode={}", self.tls.mode));
        }
        text
    }

    /// The tokio-postgres config of one attempt at one endpoint.
    fn attempt_config(&self, endpoint: &Endpoint, tls: tokio_postgres::config::SslMode) -> Config {
        let mut config = Config::new();
        match &endpoint.host {
            Host::Tcp(name) => config.host(name),
            Host::Unix(dir) => config.host_path(dir),
        };
        if let Some(address) = endpoint.hostaddr {
            config.hostaddr(address);
        }
        config
            .port(endpoint.port)
            .user(&self.user)
            .dbname(&self.dbname)
            .application_name(&self.application_name)
            .channel_binding(self.channel_binding)
            .ssl_mode(tls);
        if let Some(password) = &endpoint.password {
            config.password(&password.secret);
        }
        if let Some(options) = &self.options {
            config.options(options);
        }
        if let Some(timeout) = self.connect_timeout {
            config.connect_timeout(timeout);
        }
        if self.session == SessionAttrs::ReadWrite {
            config.target_session_attrs(TargetSessionAttrs::ReadWrite);
        }
        config
    }
}

/// A pooled connection: the client, and the task driving its socket (ended with it).
pub struct Conn {
    client: Client,
    driver: JoinHandle<()>,
}

impl std::ops::Deref for Conn {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

/// Opens connections for the pool.
pub(super) struct Connector {
    settings: ConnectSettings,
    tls: Option<MakeRustlsConnect>,
    /// The target, described without its password.
    target: String,
}

/// How one attempt is encrypted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Attempt {
    Plain,
    /// TLS if the server offers it, else plain (libpq's `prefer` first attempt).
    TlsIfOffered,
    Tls,
}

/// One failed attempt, classified.
struct Failure {
    endpoint: String,
    detail: String,
    problem: Problem,
}

/// What a failure means for the user, most specific first.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Problem {
    RequiresTls,
    NoTlsOnServer,
    Certificate(CertificateProblem),
    TlsHandshake,
    PasswordWrong(Option<PasswordSource>),
    PasswordMissing,
    ClientCertificate,
    NotAllowed,
    NoDatabase,
    PoolerParameter,
    Standby,
    Timeout(Duration),
    /// Refused, unreachable, reset, the server starting or full: worth trying again.
    Unreachable,
    Other,
}

impl Connector {
    pub(super) fn new(settings: ConnectSettings) -> Result<Connector, StoreError> {
        let target = settings.describe();
        let tls = settings
            .tls
            .connector()
            .map_err(|detail| StoreError::InvalidTarget {
                origin: "the TLS settings".to_owned(),
                detail,
            })?;
        Ok(Connector {
            settings,
            tls,
            target,
        })
    }

    pub(super) fn target(&self) -> &str {
        &self.target
    }

    /// A connection to the first endpoint that accepts one.
    pub(super) async fn connect(&self) -> Result<Conn, StoreError> {
        let mut failures = Vec::new();
        for endpoint in &self.settings.endpoints {
            match self.connect_endpoint(endpoint).await {
                Ok(conn) => return Ok(conn),
                Err(failure) => failures.push(failure),
            }
        }
        Err(self.failed(failures))
    }

    /// libpq's attempts for this sslmode: `allow` tries TLS once the server refused plaintext,
    /// `prefer` tries plaintext once TLS failed. Unix sockets never carry TLS.
    async fn connect_endpoint(&self, endpoint: &Endpoint) -> Result<Conn, Failure> {
        let mode = self.settings.tls.mode;
        if matches!(endpoint.host, Host::Unix(_)) && endpoint.hostaddr.is_none() || mode == SslMode::Disable {
            return self.attempt(endpoint, Attempt::Plain).await;
        }
        match mode {
            SslMode::Allow => match self.attempt(endpoint, Attempt::Plain).await {
                Err(failure) if failure.problem == Problem::RequiresTls => {
                    self.attempt(endpoint, Attempt::Tls).await
                }
                done => done,
            },
            SslMode::Prefer => match self.attempt(endpoint, Attempt::TlsIfOffered).await {
                Err(failure) if failure.tls_refused() => self.attempt(endpoint, Attempt::Plain).await,
                done => done,
            },
            _ => self.attempt(endpoint, Attempt::Tls).await,
        }
    }

    async fn attempt(&self, endpoint: &Endpoint, attempt: Attempt) -> Result<Conn, Failure> {
        use tokio_postgres::config::SslMode as Wire;
        let wire = match attempt {
            Attempt::Plain => Wire::Disable,
            Attempt::TlsIfOffered => Wire::Prefer,
            Attempt::Tls => Wire::Require,
        };
        let config = self.settings.attempt_config(endpoint, wire);
        let connecting = async {
            let conn = match (&self.tls, attempt) {
                (Some(tls), Attempt::Tls | Attempt::TlsIfOffered) => {
                    let (client, connection) = config.connect(tls.clone()).await?;
                    Conn {
                        client,
                        driver: tokio::spawn(async move {
                            let _ = connection.await;
                        }),
                    }
                }
                _ => {
                    let (client, connection) = config.connect(NoTls).await?;
                    Conn {
                        client,
                        driver: tokio::spawn(async move {
                            let _ = connection.await;
                        }),
                    }
                }
            };
            if self.settings.session == SessionAttrs::Primary {
                let standby = conn
                    .client
                    .simple_query("select pg_is_in_recovery()")
                    .await?
                    .iter()
                    .any(|message| match message {
                        tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0) == Some("t"),
                        _ => false,
                    });
                if standby {
                    return Ok(None);
                }
            }
            Ok::<_, tokio_postgres::Error>(Some(conn))
        };
        let outcome = match self.settings.connect_timeout {
            Some(limit) => match tokio::time::timeout(limit, connecting).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    return Err(Failure {
                        endpoint: endpoint.to_string(),
                        detail: format!("no answer within {} s", limit.as_secs()),
                        problem: Problem::Timeout(limit),
                    })
                }
            },
            None => connecting.await,
        };
        match outcome {
            Ok(Some(conn)) => Ok(conn),
            Ok(None) => Err(Failure {
                endpoint: endpoint.to_string(),
                detail: "the server is a standby".to_owned(),
                problem: Problem::Standby,
            }),
            Err(error) => Err(Failure {
                endpoint: endpoint.to_string(),
                detail: super::pg_detail(&error),
                problem: classify(&error, endpoint),
            }),
        }
    }

    /// The error for a target none of whose endpoints accepted: each endpoint's failure, and
    /// the fix of the most specific one.
    fn failed(&self, failures: Vec<Failure>) -> StoreError {
        let detail = match failures.as_slice() {
            [only] => only.detail.clone(),
            many => many
                .iter()
                .map(|failure| format!("{}: {}", failure.endpoint, failure.detail))
                .collect::<Vec<_>>()
                .join("; "),
        };
        let main = failures
            .iter()
            .min_by_key(|failure| failure.problem.rank())
            .map(|failure| failure.problem.clone())
            .unwrap_or(Problem::Other);
        StoreError::Connect {
            target: self.target.clone(),
            detail,
            hint: self.hint(&main),
            transient: matches!(main, Problem::Unreachable | Problem::Timeout(_)),
        }
    }

    fn hint(&self, problem: &Problem) -> String {
        let mode = self.settings.tls.mode;
        match problem {
            Problem::RequiresTls => format!(
                "the server accepts only encrypted connections and sslmode is {mode}: connect with sslmode=require (`?sslmode=require` in the URL, or PGSSLMODE=require), or sslmode=verify-full with sslrootcert to check its certificate too"
            ),
            Problem::NoTlsOnServer => format!(
                "the server does not offer TLS, and sslmode={mode} never sends anything unencrypted: enable ssl on the server, or connect with sslmode=prefer where an unencrypted connection is acceptable"
            ),
            Problem::Certificate(CertificateProblem::Untrusted(_)) => {
                let roots = match &self.settings.tls.root {
                    Some(root) => format!(" by {root}"),
                    None => String::new(),
                };
                format!("the server's certificate is not signed by an authority trusted{roots}: give the certificate of the authority that signed it with sslrootcert=/path/to/ca.pem (hosted providers publish theirs), or sslrootcert=system if a public authority signed it")
            }
            Problem::Certificate(CertificateProblem::WrongName(_)) => "the server's certificate does not name the host connected to: connect with a host name the certificate lists (give hostaddr=<address> too when that name does not resolve here), or use sslmode=verify-ca to check only who signed it".to_owned(),
            Problem::Certificate(CertificateProblem::Other(_)) | Problem::TlsHandshake => {
                "the TLS handshake failed: check sslmode, sslrootcert, sslcert and sslkey, and the server's certificate".to_owned()
            }
            Problem::PasswordWrong(Some(source)) => format!(
                "the password came from {source}: correct it there"
            ),
            Problem::PasswordWrong(None) => "check the user name and the password".to_owned(),
            Problem::PasswordMissing => "the server asks for a password and none was found: give it in ~/.pgpass (a line `host:port:database:user:password`, mode 0600), PGPASSWORD or the URL".to_owned(),
            Problem::ClientCertificate => "the server authenticates this user by client certificate: give one signed by an authority the server trusts, with sslcert=/path/to/client.crt and sslkey=/path/to/client.key (default ~/.postgresql/postgresql.crt and .key)".to_owned(),
            Problem::NotAllowed => "the server does not let this user connect to this database from here: check the user and database names, or ask its administrator to allow it (pg_hba.conf)".to_owned(),
            Problem::NoDatabase => "create the database, or name an existing one".to_owned(),
            Problem::PoolerParameter => "the connection pooler refused a connection parameter: remove `options` from the connection settings, or connect to the server directly".to_owned(),
            Problem::Standby => "target_session_attrs asks for a primary and every host is a standby: name the primary".to_owned(),
            Problem::Timeout(limit) => format!(
                "the server did not answer within {} s (connect_timeout): check the host and port, and that no firewall drops the connection; on a slow network raise connect_timeout in the URL or PGCONNECT_TIMEOUT",
                limit.as_secs()
            ),
            Problem::Unreachable | Problem::Other => "check that the server is running and accepts this user, or choose another database with --database-url, DATABASE_URL or the PG* variables".to_owned(),
        }
    }
}

impl Failure {
    /// For `prefer`: the attempt failed over TLS itself, or the server accepts this user only
    /// without it; plaintext may work.
    fn tls_refused(&self) -> bool {
        matches!(self.problem, Problem::Certificate(_) | Problem::TlsHandshake)
            || self.detail.contains("SSL encryption")
    }
}

impl Problem {
    /// Which failure's fix to give when several hosts failed: the one that says most.
    fn rank(&self) -> u8 {
        match self {
            Problem::Unreachable => 3,
            Problem::Timeout(_) => 2,
            Problem::Other => 4,
            _ => 1,
        }
    }
}

fn classify(error: &tokio_postgres::Error, endpoint: &Endpoint) -> Problem {
    if let Some(db) = error.as_db_error() {
        let message = db.message();
        let code = db.code();
        return if code == &SqlState::INVALID_PASSWORD {
            Problem::PasswordWrong(endpoint.password.as_ref().map(|password| password.source.clone()))
        } else if code == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION && message.contains("no encryption")
        {
            Problem::RequiresTls
        } else if code == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION && message.contains("certificate") {
            Problem::ClientCertificate
        } else if code == &SqlState::INVALID_AUTHORIZATION_SPECIFICATION
            || code == &SqlState::INSUFFICIENT_PRIVILEGE
        {
            Problem::NotAllowed
        } else if code == &SqlState::INVALID_CATALOG_NAME {
            Problem::NoDatabase
        } else if code == &SqlState::PROTOCOL_VIOLATION && message.contains("unsupported startup parameter") {
            Problem::PoolerParameter
        } else if super::retry::is_transient(error) || code == &SqlState::TOO_MANY_CONNECTIONS {
            Problem::Unreachable
        } else {
            Problem::Other
        };
    }
    if let Some(problem) = certificate_problem(error) {
        return Problem::Certificate(problem);
    }
    let text = super::pg_detail(error);
    if text.contains("password missing") {
        Problem::PasswordMissing
    } else if text.contains("server does not support TLS") {
        Problem::NoTlsOnServer
    } else if text.starts_with("error performing TLS handshake") {
        Problem::TlsHandshake
    } else if super::retry::is_transient(error) {
        Problem::Unreachable
    } else {
        Problem::Other
    }
}

impl deadpool::managed::Manager for Connector {
    type Type = Conn;
    type Error = StoreError;

    async fn create(&self) -> Result<Conn, StoreError> {
        self.connect().await
    }

    async fn recycle(&self, conn: &mut Conn, _: &Metrics) -> RecycleResult<StoreError> {
        if conn.is_closed() {
            return Err(RecycleError::message("the connection is closed"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn settings_from_a_config_keep_its_hosts_and_hide_its_password() {
        let config = Config::from_str("postgres://u:hunter2@a:5433,b:5434/db?sslmode=require").unwrap();
        let settings = ConnectSettings::from(config);
        assert_eq!(settings.endpoints.len(), 2);
        assert_eq!(settings.endpoints[1].port, 5434);
        assert_eq!(settings.tls.mode, SslMode::Require);
        assert_eq!(
            settings.describe(),
            "postgres://u:***@a,b:5433,5434/db?sslmode=require"
        );
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("***"), "{debug}");
    }
}
