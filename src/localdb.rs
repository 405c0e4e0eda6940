//! memtree's own local PostgreSQL: the database used when no other is configured.
//!
//! The cluster lives in `$XDG_DATA_HOME/memtree/postgres` (default
//! `$HOME/.local/share/memtree/postgres`), created with the installed PostgreSQL programs. It
//! listens on a Unix socket inside that directory only (no TCP), and the directory is mode 0700,
//! so only its owner can connect; socket connections are trusted, TCP ones rejected.
//!
//! PostgreSQL refuses to run as root. When memtree runs as root the server runs as the
//! `postgres` user, which must be able to reach the data directory; when it cannot (root's home
//! is usually mode 0700), the cluster lives in [`ROOT_FALLBACK_DIR`] instead, and the status
//! says so in its `notice`.
//!
//! Once started, the server keeps running after memtree exits (`memtree db stop` stops it).
//! This module runs programs and touches files only; it never talks SQL.

use std::ffi::CString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde::Serialize;

use crate::env::{self, home_dir, EnvLookup};

/// Where root's cluster lives when the `postgres` user cannot reach root's data directory.
pub const ROOT_FALLBACK_DIR: &str = "/var/lib/memtree/postgres";
/// The database memtree creates and uses in its cluster.
pub const DATABASE: &str = "memtree";
/// The cluster's superuser.
pub const SUPERUSER: &str = "postgres";
/// Only names the socket file: the server listens on no TCP port.
const PORT: u16 = 5432;
/// The OS account the server runs as when memtree runs as root.
const SERVER_ACCOUNT: &str = "postgres";
/// `sockaddr_un.sun_path` holds 108 bytes including the final NUL.
const MAX_SOCKET_PATH: usize = 107;
const LOG_FILE: &str = "memtree-server.log";

/// Why the local database cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error("PostgreSQL is not installed (no `initdb` on PATH, from `pg_config --bindir` or in /usr/lib/postgresql/*/bin); install it (Debian/Ubuntu: `apt-get install postgresql`, Fedora: `dnf install postgresql-server`, macOS: `brew install postgresql@15`) or use an existing server with --database-url")]
    NotInstalled,

    #[error("cannot choose a data directory: neither XDG_DATA_HOME nor HOME is set; set one of them, or use an existing server with --database-url")]
    NoHome,

    #[error("the socket path `{path}` is {len} bytes, longer than the {MAX_SOCKET_PATH} bytes Unix sockets allow; set XDG_DATA_HOME to a shorter directory")]
    SocketPathTooLong { path: PathBuf, len: usize },

    #[error("memtree runs as root but there is no `{SERVER_ACCOUNT}` user to run PostgreSQL as (it refuses to run as root); create one (`useradd --system postgres`) or run memtree as a normal user")]
    NoServerAccount,

    #[error("cannot {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("`{program}` failed to {action} ({status}): {output}")]
    Command {
        program: String,
        action: &'static str,
        status: String,
        output: String,
    },
}

/// What `memtree db status` reports.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LocalDbStatus {
    pub data_dir: PathBuf,
    pub initialized: bool,
    pub running: bool,
    pub pid: Option<u32>,
    pub socket_dir: PathBuf,
    pub url: String,
    /// Set when the data directory is not the usual one, saying why.
    pub notice: Option<String>,
}

/// The OS account a server runs as, when it differs from ours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerAccount {
    pub uid: u32,
    pub gid: u32,
}

impl ServerAccount {
    /// `Some` when running as root: then servers must run as the `postgres` user.
    pub fn when_root() -> Result<Option<ServerAccount>, LocalDbError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        lookup_user(SERVER_ACCOUNT)
            .map(Some)
            .ok_or(LocalDbError::NoServerAccount)
    }

    /// Makes `command` run as this account.
    pub fn apply(&self, command: &mut Command) {
        command.uid(self.uid).gid(self.gid);
    }

    /// Gives a directory we created to this account.
    pub fn chown(&self, path: &Path) -> Result<(), LocalDbError> {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid))
            .map_err(io_error("change the owner of", path))
    }

    /// Whether this account can enter every existing directory on the way to `path`.
    fn can_reach(&self, path: &Path) -> bool {
        path.ancestors()
            .filter_map(|dir| fs::metadata(dir).ok())
            .all(|meta| {
                let mode = meta.mode();
                if meta.uid() == self.uid {
                    mode & 0o100 != 0
                } else if meta.gid() == self.gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                }
            })
    }
}

fn lookup_user(name: &str) -> Option<ServerAccount> {
    let name = CString::new(name).ok()?;
    let mut buffer = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for getpwnam_r to overwrite.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and the buffer length is right.
    let code = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut result,
        )
    };
    (code == 0 && !result.is_null()).then_some(ServerAccount {
        uid: entry.pw_uid,
        gid: entry.pw_gid,
    })
}

/// An installed PostgreSQL: the directory holding `initdb`, `pg_ctl`, `postgres`, `createdb`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgInstall {
    pub bindir: PathBuf,
}

impl PgInstall {
    /// Looks on `PATH` (following symlinks to the real directory), then `pg_config --bindir`,
    /// then `/usr/lib/postgresql/<version>/bin`, highest version first.
    pub fn find(env: EnvLookup<'_>) -> Result<PgInstall, LocalDbError> {
        let path_dirs: Vec<PathBuf> = env::PATH
            .get(env)
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        let on_path = path_dirs
            .iter()
            .filter_map(|dir| fs::canonicalize(dir.join("initdb")).ok())
            .filter_map(|initdb| initdb.parent().map(Path::to_path_buf));
        let from_pg_config = path_dirs
            .iter()
            .map(|dir| dir.join("pg_config"))
            .filter(|pg_config| pg_config.is_file())
            .filter_map(|pg_config| Command::new(pg_config).arg("--bindir").output().ok())
            .filter(|output| output.status.success())
            .filter_map(|output| String::from_utf8(output.stdout).ok())
            .map(|bindir| PathBuf::from(bindir.trim()));
        on_path
            .chain(from_pg_config)
            .chain(debian_bindirs())
            .map(|bindir| PgInstall { bindir })
            .find(PgInstall::is_complete)
            .ok_or(LocalDbError::NotInstalled)
    }

    fn is_complete(&self) -> bool {
        ["initdb", "pg_ctl", "postgres", "createdb"]
            .iter()
            .all(|program| self.program(program).is_file())
    }

    pub fn program(&self, name: &str) -> PathBuf {
        self.bindir.join(name)
    }
}

/// `/usr/lib/postgresql/<version>/bin`, highest version first.
fn debian_bindirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            Some((
                entry.file_name().to_str()?.parse().ok()?,
                entry.path().join("bin"),
            ))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions.into_iter().map(|(_, bindir)| bindir).collect()
}

/// The data directory, and why it is not the usual one when it is not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    pub path: PathBuf,
    pub notice: Option<String>,
}

impl DataDir {
    /// Resolves the data directory for this user (see the module doc for the root rule).
    pub fn resolve(env: EnvLookup<'_>) -> Result<DataDir, LocalDbError> {
        let usual = usual_data_dir(env)?;
        let data_dir = match ServerAccount::when_root()? {
            Some(account) => choose_for_root(usual, |path| account.can_reach(path)),
            None => DataDir {
                path: usual,
                notice: None,
            },
        };
        data_dir.check_socket_path()?;
        Ok(data_dir)
    }

    fn socket_file(&self) -> PathBuf {
        self.path.join(format!(".s.PGSQL.{PORT}"))
    }

    fn check_socket_path(&self) -> Result<(), LocalDbError> {
        let socket = self.socket_file();
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(LocalDbError::SocketPathTooLong { path: socket, len });
        }
        Ok(())
    }

    fn initialized(&self) -> bool {
        self.path.join("PG_VERSION").is_file()
    }

    /// The server's pid when one is running on this directory.
    fn running_pid(&self) -> Option<u32> {
        let pid_file = fs::read_to_string(self.path.join("postmaster.pid")).ok()?;
        let pid: i32 = pid_file.lines().next()?.trim().parse().ok()?;
        // SAFETY: signal 0 only checks that the process exists.
        let alive = pid > 0
            && (unsafe { libc::kill(pid, 0) } == 0
                || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM));
        (alive && self.socket_file().exists()).then_some(pid as u32)
    }

    /// Connection settings for the `memtree` database.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.path)
            .port(PORT)
            .user(SUPERUSER)
            .dbname(DATABASE);
        config
    }

    /// The same as a URL that psql and libpq accept too.
    pub fn url(&self) -> String {
        let host: String = self
            .path
            .to_string_lossy()
            .bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                    (byte as char).to_string()
                }
                other => format!("%{other:02X}"),
            })
            .collect();
        format!("postgresql://{SUPERUSER}@/{DATABASE}?host={host}&port={PORT}")
    }

    fn status(&self) -> LocalDbStatus {
        let pid = self.running_pid();
        LocalDbStatus {
            data_dir: self.path.clone(),
            initialized: self.initialized(),
            running: pid.is_some(),
            pid,
            socket_dir: self.path.clone(),
            url: self.url(),
            notice: self.notice.clone(),
        }
    }
}

fn usual_data_dir(env: EnvLookup<'_>) -> Result<PathBuf, LocalDbError> {
    let data_home = env::XDG_DATA_HOME
        .path(env)
        .filter(|path| path.is_absolute())
        .or_else(|| home_dir(env).map(|home| home.join(".local/share")))
        .ok_or(LocalDbError::NoHome)?;
    Ok(data_home.join("memtree/postgres"))
}

/// Root's rule: the usual directory if the server account can reach it, else the fallback.
fn choose_for_root(usual: PathBuf, reachable: impl Fn(&Path) -> bool) -> DataDir {
    if reachable(&usual) {
        return DataDir {
            path: usual,
            notice: None,
        };
    }
    let notice = format!(
        "the `{SERVER_ACCOUNT}` user, which runs PostgreSQL for root, cannot enter `{}`; using `{ROOT_FALLBACK_DIR}` instead",
        usual.display()
    );
    DataDir {
        path: PathBuf::from(ROOT_FALLBACK_DIR),
        notice: Some(notice),
    }
}

/// What `memtree db status` shows; starts and creates nothing.
pub fn status(env: EnvLookup<'_>) -> Result<LocalDbStatus, LocalDbError> {
    Ok(DataDir::resolve(env)?.status())
}

/// The URL of the local database (whether or not it is running).
pub fn url(env: EnvLookup<'_>) -> Result<String, LocalDbError> {
    Ok(DataDir::resolve(env)?.url())
}

/// Creates the cluster if needed, starts it if it is not running, and creates the `memtree`
/// database if it is missing.
pub fn start(env: EnvLookup<'_>) -> Result<LocalDbStatus, LocalDbError> {
    let data_dir = DataDir::resolve(env)?;
    let install = PgInstall::find(env)?;
    let account = ServerAccount::when_root()?;
    let parent = data_dir.path.parent().unwrap_or(Path::new("/"));
    fs::create_dir_all(parent).map_err(io_error("create", parent))?;
    // Serialises concurrent memtree runs starting the same cluster.
    let _lock = FileLock::acquire(&parent.join("postgres.lock"))?;
    if !data_dir.initialized() {
        init_cluster(&data_dir, &install, account)?;
    }
    if data_dir.running_pid().is_none() {
        let log = data_dir.path.join(LOG_FILE);
        let mut pg_ctl = Command::new(install.program("pg_ctl"));
        pg_ctl
            .arg("start")
            .arg("-w")
            .args(["-t", "60"])
            .arg("-D")
            .arg(&data_dir.path)
            .arg("-l")
            .arg(&log);
        if let Err(error) = run_as_server(&mut pg_ctl, account, &data_dir.path, "start the server") {
            let tail = fs::read_to_string(&log)
                .map(|text| last_lines(&text, 5))
                .unwrap_or_default();
            return Err(match error {
                LocalDbError::Command {
                    program,
                    action,
                    status,
                    output,
                } => LocalDbError::Command {
                    program,
                    action,
                    status,
                    output: format!("{output}\n{tail}"),
                },
                other => other,
            });
        }
    }
    create_database(&data_dir, &install)?;
    Ok(data_dir.status())
}

/// Stops the server if it is running.
pub fn stop(env: EnvLookup<'_>) -> Result<LocalDbStatus, LocalDbError> {
    let data_dir = DataDir::resolve(env)?;
    if data_dir.running_pid().is_some() {
        let install = PgInstall::find(env)?;
        let mut pg_ctl = Command::new(install.program("pg_ctl"));
        pg_ctl
            .arg("stop")
            .arg("-w")
            .args(["-m", "fast"])
            .arg("-D")
            .arg(&data_dir.path);
        run_as_server(
            &mut pg_ctl,
            ServerAccount::when_root()?,
            &data_dir.path,
            "stop the server",
        )?;
    }
    Ok(data_dir.status())
}

/// For an import: the local database's connection settings, starting it first when needed.
pub fn ensure_running(env: EnvLookup<'_>) -> Result<tokio_postgres::Config, LocalDbError> {
    start(env)?;
    Ok(DataDir::resolve(env)?.config())
}

/// For a dry run: the local database's connection settings if it is running; never starts or
/// creates anything.
pub fn running_config(env: EnvLookup<'_>) -> Option<tokio_postgres::Config> {
    let data_dir = DataDir::resolve(env).ok()?;
    data_dir.running_pid().map(|_| data_dir.config())
}

fn init_cluster(
    data_dir: &DataDir,
    install: &PgInstall,
    account: Option<ServerAccount>,
) -> Result<(), LocalDbError> {
    let path = &data_dir.path;
    fs::create_dir_all(path).map_err(io_error("create", path))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
        .map_err(io_error("restrict access to", path))?;
    if let Some(account) = account {
        account.chown(path)?;
    }
    let mut initdb = Command::new(install.program("initdb"));
    initdb.arg("-D").arg(path).args([
        "-U",
        SUPERUSER,
        "-E",
        "UTF8",
        "--no-locale",
        "--auth-local=trust",
        "--auth-host=reject",
    ]);
    run_as_server(&mut initdb, account, path, "create the database cluster")?;
    let conf = path.join("postgresql.conf");
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&conf)
        .map_err(io_error("open", &conf))?;
    writeln!(file, "{}", socket_settings(path)).map_err(io_error("write", &conf))
}

/// postgresql.conf lines: listen on a Unix socket in the data directory only.
fn socket_settings(dir: &Path) -> String {
    let quoted = dir.to_string_lossy().replace('\\', "\\\\").replace('\'', "''");
    format!(
        "\n# memtree: a Unix socket in the data directory only, no TCP.\n\
         listen_addresses = ''\nport = {PORT}\nunix_socket_directories = '{quoted}'\nunix_socket_permissions = 0700\n"
    )
}

fn create_database(data_dir: &DataDir, install: &PgInstall) -> Result<(), LocalDbError> {
    let mut createdb = Command::new(install.program("createdb"));
    createdb
        .arg("-h")
        .arg(&data_dir.path)
        .args(["-p", &PORT.to_string(), "-U", SUPERUSER, DATABASE])
        .env("LC_ALL", "C")
        .env_remove("PGPASSWORD");
    let output = createdb
        .output()
        .map_err(io_error("run", &install.program("createdb")))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || stderr.contains("already exists") {
        return Ok(());
    }
    Err(command_error(&createdb, "create the memtree database", &output))
}

/// Runs a server-side program (as the server account when root), in `cwd`, which that account
/// can enter.
fn run_as_server(
    command: &mut Command,
    account: Option<ServerAccount>,
    cwd: &Path,
    action: &'static str,
) -> Result<(), LocalDbError> {
    if let Some(account) = account {
        account.apply(command);
    }
    command.current_dir(cwd).env("LC_ALL", "C");
    let program = PathBuf::from(command.get_program());
    let output = command.output().map_err(io_error("run", &program))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(command_error(command, action, &output))
    }
}

fn command_error(command: &Command, action: &'static str, output: &Output) -> LocalDbError {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    LocalDbError::Command {
        program: command.get_program().to_string_lossy().into_owned(),
        action,
        status: output.status.to_string(),
        output: last_lines(&text, 8),
    }
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|line| !line.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> LocalDbError {
    let path = path.to_path_buf();
    move |source| LocalDbError::Io { action, path, source }
}

/// An exclusive `flock` held until dropped (the file closes).
struct FileLock {
    _file: fs::File,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<FileLock, LocalDbError> {
        use std::os::fd::AsRawFd;
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(io_error("open", path))?;
        // SAFETY: the descriptor is open for the duration of the call.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(io_error("lock", path)(std::io::Error::last_os_error()));
        }
        Ok(FileLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::fake as env_of;

    #[test]
    fn the_data_dir_follows_xdg_then_home() {
        assert_eq!(
            usual_data_dir(&env_of(&[("XDG_DATA_HOME", "/x"), ("HOME", "/h")])).unwrap(),
            Path::new("/x/memtree/postgres")
        );
        assert_eq!(
            usual_data_dir(&env_of(&[("XDG_DATA_HOME", "relative"), ("HOME", "/h")])).unwrap(),
            Path::new("/h/.local/share/memtree/postgres")
        );
        assert!(matches!(usual_data_dir(&env_of(&[])), Err(LocalDbError::NoHome)));
    }

    #[test]
    fn root_falls_back_when_the_server_account_cannot_reach_the_dir() {
        let usual = PathBuf::from("/root/.local/share/memtree/postgres");
        let kept = choose_for_root(usual.clone(), |_| true);
        assert_eq!(
            kept,
            DataDir {
                path: usual.clone(),
                notice: None
            }
        );
        let moved = choose_for_root(usual, |_| false);
        assert_eq!(moved.path, Path::new(ROOT_FALLBACK_DIR));
        assert!(moved
            .notice
            .unwrap()
            .contains("/root/.local/share/memtree/postgres"));
    }

    #[test]
    fn reachability_follows_mode_bits() {
        let temp = tempfile::tempdir().unwrap();
        let closed = temp.path().join("closed");
        fs::create_dir(&closed).unwrap();
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        // An account that owns nothing here: only the "other" bits count.
        let stranger = ServerAccount {
            uid: 65_000,
            gid: 65_000,
        };
        let inside = closed.join("memtree/postgres");
        let reachable_root = stranger.can_reach(temp.path());
        assert!(!stranger.can_reach(&inside));
        assert_eq!(
            stranger.can_reach(&temp.path().join("not-yet/created")),
            reachable_root
        );
    }

    #[test]
    fn long_socket_paths_are_refused() {
        let data_dir = DataDir {
            path: PathBuf::from(format!("/{}", "d".repeat(100))),
            notice: None,
        };
        let error = data_dir.check_socket_path().unwrap_err();
        assert!(
            matches!(error, LocalDbError::SocketPathTooLong { len: 115, .. }),
            "{error}"
        );
        assert!(error.to_string().contains("XDG_DATA_HOME"));
        assert!(DataDir {
            path: PathBuf::from("/var/lib/memtree/postgres"),
            notice: None
        }
        .check_socket_path()
        .is_ok());
    }

    #[test]
    fn the_url_encodes_the_socket_directory() {
        let data_dir = DataDir {
            path: PathBuf::from("/home/a b/.local/share/memtree/postgres"),
            notice: None,
        };
        assert_eq!(
            data_dir.url(),
            "postgresql://postgres@/memtree?host=/home/a%20b/.local/share/memtree/postgres&port=5432"
        );
        let parsed: tokio_postgres::Config = data_dir.url().parse().unwrap();
        assert_eq!(parsed.get_hosts(), data_dir.config().get_hosts());
        assert_eq!(parsed.get_dbname(), Some(DATABASE));
    }

    #[test]
    fn the_socket_settings_quote_the_directory() {
        let settings = socket_settings(Path::new("/tmp/it's"));
        assert!(
            settings.contains("unix_socket_directories = '/tmp/it''s'"),
            "{settings}"
        );
        assert!(settings.contains("listen_addresses = ''"));
    }

    #[test]
    fn a_missing_installation_says_how_to_install() {
        let message = LocalDbError::NotInstalled.to_string();
        assert!(
            message.contains("apt-get install postgresql") && message.contains("brew install postgresql@15")
        );
    }

    /// Starts, inspects and stops a real cluster in a temporary XDG_DATA_HOME.
    #[test]
    fn start_status_and_stop_a_real_cluster() {
        let Ok(install) = PgInstall::find(&|name| std::env::var_os(name)) else {
            eprintln!("skipped: PostgreSQL is not installed");
            return;
        };
        let temp = tempfile::Builder::new()
            .prefix("memtree-localdb")
            .tempdir_in("/tmp")
            .unwrap();
        fs::set_permissions(temp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let data_home = temp.path().to_str().unwrap().to_owned();
        let path = std::env::var("PATH").unwrap_or_default();
        let path = format!("{}:{path}", install.bindir.display());
        let env = env_of(&[("XDG_DATA_HOME", &data_home), ("PATH", &path)]);

        /// Stops the cluster even when an assertion fails: pg_ctl servers outlive their parent.
        struct StopOnDrop<'a>(EnvLookup<'a>);
        impl Drop for StopOnDrop<'_> {
            fn drop(&mut self) {
                let _ = stop(self.0);
            }
        }
        let _stop = StopOnDrop(&env);

        let before = status(&env).unwrap();
        assert!(!before.initialized && !before.running);
        assert!(running_config(&env).is_none(), "a dry run never starts anything");
        assert!(!before.data_dir.exists(), "status creates nothing");

        let started = start(&env).unwrap();
        assert!(started.initialized && started.running && started.pid.is_some());
        let mode = fs::metadata(&started.data_dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let config = ensure_running(&env).unwrap();
        assert_eq!(running_config(&env), Some(config));
        let conf = fs::read_to_string(started.data_dir.join("postgresql.conf")).unwrap();
        assert!(conf.contains("listen_addresses = ''"));
        assert_eq!(
            start(&env).unwrap().pid,
            started.pid,
            "starting again reuses the server"
        );

        let stopped = stop(&env).unwrap();
        assert!(stopped.initialized && !stopped.running && stopped.pid.is_none());
        assert!(running_config(&env).is_none());
    }
}
