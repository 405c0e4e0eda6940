//! The tests' shared harness: running the `memtree` binary with a clean environment (`run`),
//! finding the fixtures (`fixtures`), reading a store without the binary (`stores`), and, here, the database tests' PostgreSQL: one server per
//! test binary, a fresh database per test.
//!
//! With `TEST_DATABASE_URL` set, tests use that server (its user must be allowed to create
//! databases) and drop their databases when done. Otherwise the first test to ask starts a
//! throwaway cluster in a temporary directory: initialised and run as the `postgres` user when
//! the tests run as root (PostgreSQL refuses root), reached over a Unix socket only, with
//! durability off for speed (benchmarks call [`keep_durability`] first). The cluster dies with the test binary: an `atexit` handler shuts it
//! down and removes its directory, and on Linux the server also gets SIGKILL if the test process
//! dies without running it (parent-death signal), so failing or killed runs leak no server.
//!
//! A test that takes the server away from a running import starts a [`PrivateCluster`] of its own
//! (the same setup, crash-safe commits), which it can stop like a crash and start again.
//!
//! The hosted-server tests start a [`TlsCluster`]: a private cluster that also listens on a free
//! loopback TCP port with `ssl=on`, a certificate authority, server and client certificates made
//! at test time, and a `pg_hba.conf` that takes TCP connections only over TLS; and a
//! [`Pgbouncer`] in front of a cluster, as a hosted provider's pooled URL would be.

#![allow(dead_code)] // each test binary uses its own part of the harness

mod fixtures;
mod run;
mod stores;

#[allow(unused_imports)] // each test binary uses its own part of the harness
pub use fixtures::*;
#[allow(unused_imports)] // each test binary uses its own part of the harness
pub use run::*;
#[allow(unused_imports)] // each test binary uses its own part of the harness
pub use stores::*;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use memtree::localdb::{PgInstall, ServerAccount};
use tokio_postgres::{Config, NoTls};

/// A database of its own for one test.
pub struct TestDb {
    pub config: Config,
    pub name: String,
    /// On the server shared by the binary's tests (else on a [`PrivateCluster`], removed whole).
    on_shared_server: bool,
}

impl Drop for TestDb {
    /// On a shared server, drops the database (a throwaway cluster is removed whole at exit).
    fn drop(&mut self) {
        if !self.on_shared_server {
            return;
        }
        let server = server();
        if !server.shared || std::thread::panicking() {
            return; // keep a failed test's database for inspection
        }
        let admin = server.admin.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of our own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let client = admin_client(&admin).await;
                client
                    .batch_execute(&format!("drop database if exists \"{name}\" with (force)"))
                    .await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

impl TestDb {
    /// A libpq URL for this database, for running the `memtree` binary against it.
    pub fn url(&self) -> String {
        use tokio_postgres::config::Host;
        let user = self.config.get_user().unwrap_or("postgres");
        let password = self
            .config
            .get_password()
            .map(|password| format!(":{}", String::from_utf8_lossy(password)))
            .unwrap_or_default();
        let port = self.config.get_ports().first().copied().unwrap_or(5432);
        match self.config.get_hosts().first() {
            Some(Host::Unix(dir)) => {
                format!(
                    "postgresql://{user}{password}@/{}?host={}&port={port}",
                    self.name,
                    dir.display()
                )
            }
            Some(Host::Tcp(host)) => format!("postgresql://{user}{password}@{host}:{port}/{}", self.name),
            None => format!("postgresql://{user}{password}@localhost:{port}/{}", self.name),
        }
    }

    /// A connected client for assertions on what an import stored.
    pub async fn client(&self) -> tokio_postgres::Client {
        admin_client(&self.config).await
    }
}

/// The single value `sql` returns (a count, a flag), for assertions on what is stored.
pub async fn query_value<T>(
    client: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> T
where
    T: for<'a> tokio_postgres::types::FromSql<'a>,
{
    client.query_one(sql, params).await.unwrap().get(0)
}

/// Every row `sql` returns, each made a value by `value_of`.
pub async fn query_rows<T>(
    client: &tokio_postgres::Client,
    sql: &str,
    value_of: impl Fn(&tokio_postgres::Row) -> T,
) -> Vec<T> {
    client
        .query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(value_of)
        .collect()
}

/// Creates a fresh, empty database for the calling test.
pub async fn test_db() -> TestDb {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = server();
    let name = format!(
        "t_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let client = admin_client(&server.admin).await;
    client
        .batch_execute(&format!("create database \"{name}\""))
        .await
        .expect("create the test database");
    let mut config = server.admin.clone();
    config.dbname(&name);
    TestDb {
        config,
        name,
        on_shared_server: true,
    }
}

/// A connection to the server's maintenance database, driven on the current runtime.
async fn admin_client(admin: &Config) -> tokio_postgres::Client {
    let (client, connection) = admin.connect(NoTls).await.expect("connect to the test server");
    tokio::spawn(connection);
    client
}

struct Server {
    /// Connects to the maintenance database as a user who may create databases.
    admin: Config,
    /// `TEST_DATABASE_URL`'s server, which outlives us: clean up after each test.
    shared: bool,
}

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => {
            let mut admin = Config::from_str(&url).expect("TEST_DATABASE_URL is a valid connection string");
            admin.dbname("postgres");
            Server { admin, shared: true }
        }
        _ => Server {
            admin: start_cluster(),
            shared: false,
        },
    })
}

/// Whether the throwaway cluster keeps PostgreSQL's normal durability (see [`keep_durability`]).
static DURABLE: AtomicBool = AtomicBool::new(false);

/// Makes the throwaway cluster keep PostgreSQL's default durability (fsync, full page writes,
/// synchronous commit), so that measurements reflect a real server; tests leave it off for speed.
/// Call before the first [`test_db`].
pub fn keep_durability() {
    DURABLE.store(true, Ordering::SeqCst);
}

/// The throwaway cluster's server pid and directory, for the exit handler.
static CLUSTER_PID: AtomicI32 = AtomicI32::new(0);
static CLUSTER_DIR: OnceLock<PathBuf> = OnceLock::new();

fn start_cluster() -> Config {
    let files = ClusterFiles::init(false);
    CLUSTER_DIR
        .set(files.dir.clone())
        .expect("one shared cluster per test binary");
    let pid = files.spawn_server();
    CLUSTER_PID.store(pid, Ordering::SeqCst);
    // SAFETY: registering a plain `extern "C" fn` has no preconditions.
    unsafe {
        libc::atexit(stop_cluster);
    }
    files.admin()
}

/// A throwaway cluster's directory: data, Unix socket, server log.
struct ClusterFiles {
    install: PgInstall,
    account: Option<ServerAccount>,
    dir: PathBuf,
    data: PathBuf,
    /// Whether an acknowledged commit survives the server crashing (`synchronous_commit=on`).
    /// A server that is never crashed can skip waiting for its WAL, which is faster.
    crash_safe: bool,
    /// The port: of the Unix socket, and of TCP when `settings` make the server listen there.
    port: u16,
    /// `-c` settings beyond the defaults.
    settings: Vec<String>,
}

impl ClusterFiles {
    /// Creates the directory and runs initdb in it.
    fn init(crash_safe: bool) -> ClusterFiles {
        let install = PgInstall::find(&|name| std::env::var_os(name)).expect(
            "PostgreSQL must be installed for database tests (.ci/run installs it), or set TEST_DATABASE_URL",
        );
        let account = ServerAccount::when_root().expect("a `postgres` user to run the test server as");
        // Short and reachable by the server account: socket paths are limited to 107 bytes.
        let base = if Path::new("/tmp").is_dir() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("memtree-test-pg.")
            .tempdir_in(base)
            .expect("create a temp dir")
            .keep();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("restrict the temp dir");
        if let Some(account) = account {
            account
                .chown(&dir)
                .expect("give the temp dir to the server account");
        }
        let data = dir.join("data");

        let mut initdb = Command::new(install.program("initdb"));
        initdb
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ])
            .current_dir(&dir);
        if let Some(account) = account {
            account.apply(&mut initdb);
        }
        let output = initdb.output().expect("run initdb");
        assert!(
            output.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        ClusterFiles {
            install,
            account,
            dir,
            data,
            crash_safe,
            port: 5432,
            settings: Vec::new(),
        }
    }

    /// Writes `text` to `name` in the cluster's directory, owned by the server account with
    /// mode `mode` (the server refuses a key file others may read).
    fn write_private(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let path = self.dir.join(name);
        fs::write(&path, text).expect("write a cluster file");
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("restrict a cluster file");
        if let Some(account) = self.account {
            account
                .chown(&path)
                .expect("give a cluster file to the server account");
        }
        path
    }

    /// Starts the server on the data directory and waits until it accepts connections.
    fn spawn_server(&self) -> i32 {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("server.log"))
            .expect("open the server log");
        let mut postgres = Command::new(self.install.program("postgres"));
        postgres
            .arg("-D")
            .arg(&self.data)
            .arg("-k")
            .arg(&self.dir)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-c", "listen_addresses=", "-c", "max_connections=200"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log handle"))
            .stderr(log);
        if !DURABLE.load(Ordering::SeqCst) {
            // Tests never lose the machine, only the server: skip flushing to disk, and skip
            // waiting for the WAL too unless the test crashes the server.
            postgres.args(["-c", "fsync=off", "-c", "full_page_writes=off"]);
            let synchronous_commit = if self.crash_safe {
                "synchronous_commit=on"
            } else {
                "synchronous_commit=off"
            };
            postgres.args(["-c", synchronous_commit]);
        }
        for setting in &self.settings {
            postgres.args(["-c", setting]);
        }
        let credentials = self.account.map(|account| (account.uid, account.gid));
        // SAFETY: the closure only makes async-signal-safe system calls.
        unsafe {
            postgres.pre_exec(move || become_server_child(credentials));
        }
        let pid = spawn_from_lasting_thread(postgres);
        self.wait_until_ready(pid);
        pid
    }

    /// Waits until the server reports "ready" in its pid file.
    fn wait_until_ready(&self, pid: i32) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let pid_file = fs::read_to_string(self.data.join("postmaster.pid")).unwrap_or_default();
            let own = pid_file.lines().next().map(str::trim) == Some(pid.to_string().as_str());
            if own
                && pid_file.lines().any(|line| line.trim() == "ready")
                && self.dir.join(format!(".s.PGSQL.{}", self.port)).exists()
            {
                return;
            }
            let mut status = 0;
            // SAFETY: polling our own child without blocking.
            let exited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid;
            if exited || Instant::now() > deadline {
                let log = fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
                panic!("the test server did not start:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn admin(&self) -> Config {
        let mut admin = Config::new();
        admin
            .host_path(&self.dir)
            .port(self.port)
            .user("postgres")
            .dbname("postgres");
        admin
    }
}

/// Spawns `command` and returns its pid. The parent-death signal fires when the *thread* that
/// spawned the child ends, so every server is spawned by one thread that lives as long as the
/// process.
fn spawn_from_lasting_thread(command: Command) -> i32 {
    type Request = (Command, std::sync::mpsc::Sender<std::io::Result<u32>>);
    static SPAWNER: OnceLock<std::sync::Mutex<std::sync::mpsc::Sender<Request>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (sender, requests) = std::sync::mpsc::channel::<Request>();
        std::thread::spawn(move || {
            for (mut command, reply) in requests {
                let _ = reply.send(command.spawn().map(|child| child.id()));
            }
            loop {
                std::thread::park();
            }
        });
        std::sync::Mutex::new(sender)
    });
    let (reply, answer) = std::sync::mpsc::channel();
    spawner
        .lock()
        .unwrap()
        .send((command, reply))
        .expect("the spawner thread runs");
    answer
        .recv()
        .expect("the spawner thread answers")
        .expect("start postgres") as i32
}

/// In the forked child before exec: drop to the server account, then ask for SIGKILL when the
/// test process dies (set after the uid change, which would clear it).
fn become_server_child(credentials: Option<(u32, u32)>) -> std::io::Result<()> {
    // SAFETY: plain system calls on the child's own credentials.
    unsafe {
        if let Some((uid, gid)) = credentials {
            if libc::setgroups(0, std::ptr::null()) != 0 || libc::setgid(gid) != 0 || libc::setuid(uid) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        #[cfg(target_os = "linux")]
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Immediate shutdown (SIGQUIT, what `pg_ctl stop -m immediate` sends), then reaps the server.
fn stop_server(pid: i32) {
    // SAFETY: signalling and reaping our own child process.
    unsafe {
        libc::kill(pid, libc::SIGQUIT);
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut status = 0;
        while libc::waitpid(pid, &mut status, libc::WNOHANG) == 0 {
            if Instant::now() > deadline {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// At exit: stop the shared cluster and remove its directory, and the same for every process
/// registered with [`stop_at_exit`].
extern "C" fn stop_cluster() {
    let pid = CLUSTER_PID.swap(0, Ordering::SeqCst);
    if pid > 0 {
        stop_server(pid);
        if let Some(dir) = CLUSTER_DIR.get() {
            let _ = fs::remove_dir_all(dir);
        }
    }
    let registered = std::mem::take(&mut *AT_EXIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    for (pid, dir) in registered {
        stop_server(pid);
        let _ = fs::remove_dir_all(dir);
    }
}

/// Servers that live as long as the test binary (shared by its tests), with their directories.
static AT_EXIT: std::sync::Mutex<Vec<(i32, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// Stops `pid` (SIGQUIT, then SIGKILL) and removes `dir` when the test binary exits.
fn stop_at_exit(pid: i32, dir: PathBuf) {
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    AT_EXIT.lock().unwrap().push((pid, dir));
    REGISTERED.call_once(|| {
        // SAFETY: registering a plain `extern "C" fn` has no preconditions.
        unsafe {
            libc::atexit(stop_cluster);
        }
    });
}

/// A cluster of one test's own, which the test may stop and start again (to take the database
/// away from a running import) without disturbing the shared one. Always a local throwaway
/// cluster, even with `TEST_DATABASE_URL` set: a shared server must never be stopped. Dropping it
/// stops the server and removes its directory.
pub struct PrivateCluster {
    files: ClusterFiles,
    /// The running server, `None` while stopped.
    pid: Option<i32>,
}

impl PrivateCluster {
    pub fn start() -> PrivateCluster {
        // Crash-safe: the tests stop it like a crash and count on what it acknowledged.
        let files = ClusterFiles::init(true);
        let pid = files.spawn_server();
        PrivateCluster {
            files,
            pid: Some(pid),
        }
    }

    /// Stops the server the way a crash or `pg_ctl stop -m immediate` does: every connection is
    /// cut at once, nothing is checkpointed.
    pub fn stop(&mut self) {
        if let Some(pid) = self.pid.take() {
            stop_server(pid);
        }
    }

    /// Starts the stopped server again (it recovers from its WAL first).
    pub fn start_again(&mut self) {
        assert!(self.pid.is_none(), "the server is already running");
        self.pid = Some(self.files.spawn_server());
    }

    /// Creates a fresh, empty database on this cluster.
    pub async fn test_db(&self, name: &str) -> TestDb {
        let admin = self.files.admin();
        admin_client(&admin)
            .await
            .batch_execute(&format!("create database \"{name}\""))
            .await
            .expect("create the test database");
        let mut config = admin;
        config.dbname(name);
        TestDb {
            config,
            name: name.to_owned(),
            on_shared_server: false,
        }
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.files.dir);
    }
}

/// A free TCP port on the loopback address (free when asked; the server binds it soon after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// The names the TLS cluster's certificate is issued for.
pub const TLS_HOST_NAMES: [&str; 2] = ["localhost", "db.memtree.test"];

/// A role of the TLS cluster that logs in with a scram-sha-256 password over TLS.
pub const PASSWORD_ROLE: &str = "app";
pub const PASSWORD: &str = "app-secret-8d1f";
/// A role of the TLS cluster that logs in with a client certificate.
pub const CERTIFICATE_ROLE: &str = "certuser";

/// A certificate authority, made at test time.
pub struct TestCa {
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

impl TestCa {
    pub fn new(name: &str) -> TestCa {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let key = rcgen::KeyPair::generate().expect("a CA key");
        TestCa {
            issuer: rcgen::CertifiedIssuer::self_signed(params, key).expect("a self-signed CA"),
        }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A certificate for `names` (subject alternative names) with common name `common_name`,
    /// and its key, both PEM.
    pub fn issue(&self, common_name: &str, names: &[&str]) -> (String, String) {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let mut params = rcgen::CertificateParams::new(names).expect("certificate parameters");
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, common_name);
        let key = rcgen::KeyPair::generate().expect("a key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("a signed certificate");
        (cert.pem(), key.serialize_pem())
    }
}

/// A private cluster reached over TLS on loopback TCP (`hostssl` only), and over its Unix socket
/// by the superuser. Its roles: [`PASSWORD_ROLE`] (scram-sha-256 password) and
/// [`CERTIFICATE_ROLE`] (client certificate). Shared by the tests of one binary ([`TlsCluster::get`]).
pub struct TlsCluster {
    files: ClusterFiles,
    pub port: u16,
    /// Files the client side uses: the CA certificate, a client certificate for
    /// [`CERTIFICATE_ROLE`] and its key.
    pub client_dir: PathBuf,
    pub ca_file: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl TlsCluster {
    /// The binary's TLS cluster, started by the first test that asks; stopped at exit.
    pub fn get() -> &'static TlsCluster {
        static CLUSTER: OnceLock<TlsCluster> = OnceLock::new();
        CLUSTER.get_or_init(TlsCluster::start)
    }

    fn start() -> TlsCluster {
        let mut files = ClusterFiles::init(false);
        files.port = free_port();
        let ca = TestCa::new("memtree test CA");
        let (server_cert, server_key) = ca.issue("memtree test server", &TLS_HOST_NAMES);
        let cert = files.write_private("server.crt", &server_cert, 0o644);
        let key = files.write_private("server.key", &server_key, 0o600);
        let ca_file = files.write_private("ca.crt", &ca.pem(), 0o644);
        // TCP only over TLS: a password role and a certificate role; the Unix socket trusts the
        // superuser for the harness's own work.
        files.write_private(
            "data/pg_hba.conf",
            &format!(
                "local all all trust\n\
                 hostssl all {CERTIFICATE_ROLE} 127.0.0.1/32 cert\n\
                 hostssl all all 127.0.0.1/32 scram-sha-256\n"
            ),
            0o600,
        );
        files.settings = vec![
            "listen_addresses=127.0.0.1".to_owned(),
            "ssl=on".to_owned(),
            format!("ssl_cert_file={}", cert.display()),
            format!("ssl_key_file={}", key.display()),
            format!("ssl_ca_file={}", ca_file.display()),
            "password_encryption=scram-sha-256".to_owned(),
        ];
        let pid = files.spawn_server();
        stop_at_exit(pid, files.dir.clone());

        let client_dir = files.dir.join("client");
        fs::create_dir(&client_dir).expect("the client files' directory");
        let ca_copy = client_dir.join("ca.crt");
        fs::write(&ca_copy, ca.pem()).unwrap();
        let (client_cert_pem, client_key_pem) = ca.issue(CERTIFICATE_ROLE, &[]);
        let client_cert = client_dir.join("client.crt");
        let client_key = client_dir.join("client.key");
        fs::write(&client_cert, client_cert_pem).unwrap();
        fs::write(&client_key, client_key_pem).unwrap();
        fs::set_permissions(&client_key, fs::Permissions::from_mode(0o600)).unwrap();

        let cluster = TlsCluster {
            port: files.port,
            files,
            client_dir,
            ca_file: ca_copy,
            client_cert,
            client_key,
        };
        cluster.admin_sql(&format!(
            "create role {PASSWORD_ROLE} login password '{PASSWORD}'; create role {CERTIFICATE_ROLE} login;"
        ));
        cluster
    }

    /// The cluster's Unix socket directory.
    pub fn socket_dir(&self) -> &Path {
        &self.files.dir
    }

    /// Runs `sql` as the superuser in the maintenance database.
    pub fn admin_sql(&self, sql: &str) {
        self.sql_in("postgres", sql);
    }

    /// Runs `sql` as the superuser in `database`.
    pub fn sql_in(&self, database: &str, sql: &str) {
        let mut config = self.files.admin();
        config.dbname(database);
        let sql = sql.to_owned();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                admin_client(&config)
                    .await
                    .batch_execute(&sql)
                    .await
                    .unwrap_or_else(|error| panic!("{sql}: {error:?}"))
            })
        })
        .join()
        .expect("the statement ran");
    }

    /// A fresh database owned by `owner`, as a hosted provider gives its user one.
    pub fn database(&self, name: &str, owner: &str) -> TestDb {
        self.admin_sql(&format!("create database \"{name}\" owner \"{owner}\""));
        let mut config = self.files.admin();
        config.dbname(name);
        TestDb {
            config,
            name: name.to_owned(),
            on_shared_server: false,
        }
    }

    /// `postgresql://<role>@/<database>?host=<socket dir>&port=<port>`: as `role` over the Unix
    /// socket, where the cluster trusts every role.
    pub fn socket_url(&self, role: &str, database: &str) -> String {
        format!(
            "postgresql://{role}@/{database}?host={}&port={}",
            self.files.dir.display(),
            self.port
        )
    }
}

/// A PgBouncer in front of a cluster's Unix socket, on a free loopback port, in a pool mode of
/// the test's choice. Every database name reaches the database of that name; clients log in to
/// PgBouncer with scram-sha-256 passwords, and PgBouncer to the cluster over its trusted socket.
/// Stopped when dropped.
pub struct Pgbouncer {
    pid: i32,
    dir: PathBuf,
    pub port: u16,
}

impl Pgbouncer {
    /// PgBouncer with `pool_mode` (`transaction`, `statement`) in front of the TLS cluster,
    /// knowing the roles and passwords in `users`.
    pub fn start(cluster: &TlsCluster, pool_mode: &str, users: &[(&str, &str)]) -> Pgbouncer {
        let program = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .map(PathBuf::from)
            .chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                    .map(|dir| dir.join("pgbouncer")),
            )
            .find(|path| path.is_file())
            .expect("PgBouncer must be installed for the pooler tests (.ci/run installs it)");
        let account = ServerAccount::when_root().expect("a `postgres` user to run PgBouncer as");
        let dir = tempfile::Builder::new()
            .prefix("memtree-test-pgbouncer.")
            .tempdir_in("/tmp")
            .expect("a temp dir")
            .keep();
        let port = free_port();
        let users: String = users
            .iter()
            .map(|(user, password)| format!("\"{user}\" \"{password}\"\n"))
            .collect();
        fs::write(dir.join("users.txt"), users).unwrap();
        fs::write(
            dir.join("pgbouncer.ini"),
            format!(
                "[databases]\n\
                 * = host={socket} port={upstream}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = scram-sha-256\n\
                 auth_file = {dir}/users.txt\n\
                 pool_mode = {pool_mode}\n\
                 default_pool_size = 4\n\
                 max_client_conn = 50\n\
                 logfile = {dir}/pgbouncer.log\n",
                socket = cluster.socket_dir().display(),
                upstream = cluster.port,
                dir = dir.display(),
            ),
        )
        .unwrap();
        if let Some(account) = account {
            for path in [dir.clone(), dir.join("users.txt"), dir.join("pgbouncer.ini")] {
                account.chown(&path).unwrap();
            }
        }
        let mut command = Command::new(program);
        command
            .arg(dir.join("pgbouncer.ini"))
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let credentials = account.map(|account| (account.uid, account.gid));
        // SAFETY: the closure only makes async-signal-safe system calls.
        unsafe {
            command.pre_exec(move || become_server_child(credentials));
        }
        let pid = spawn_from_lasting_thread(command);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let mut status = 0;
            // SAFETY: polling our own child without blocking.
            let exited = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid;
            if exited || Instant::now() > deadline {
                let log = fs::read_to_string(dir.join("pgbouncer.log")).unwrap_or_default();
                panic!("PgBouncer did not start:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Pgbouncer { pid, dir, port }
    }

    /// What PgBouncer logged so far.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }
}

impl Drop for Pgbouncer {
    fn drop(&mut self) {
        stop_server(self.pid);
        let _ = fs::remove_dir_all(&self.dir);
    }
}
