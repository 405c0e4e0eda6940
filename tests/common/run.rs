//! Running the `memtree` binary in a test: a command cut off from the user's environment, and
//! what a finished run printed and returned.
//!
//! Every run gets a cleared environment with only `PATH` and a private `HOME` and `XDG_DATA_HOME`,
//! so no database variable, no session of the user's and no local database can be reached by
//! accident; a test adds what it needs (`--database-url`, a tool's variable, a testing knob).

use std::ffi::OsStr;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};

use serde_json::Value;

/// `memtree` with a cleared environment but for `PATH`, `HOME=home` and
/// `XDG_DATA_HOME=home/data`; no standard input, its output captured.
pub fn memtree_command(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memtree"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs `memtree args...` with [`memtree_command`]'s environment and waits for it.
pub fn memtree<S: AsRef<OsStr>>(args: &[S], home: &Path) -> Run {
    Run::of_command(memtree_command(home).args(args))
}

/// The outcome of one finished `memtree` run.
pub struct Run {
    pub status: ExitStatus,
    /// The exit code, or -1 when a signal ended the process.
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Runs `command` to its end.
    pub fn of_command(command: &mut Command) -> Run {
        Run::from(command.output().expect("run memtree"))
    }

    /// Waits for a started `child` (its output piped) to end.
    pub fn of(child: Child) -> Run {
        Run::from(child.wait_with_output().expect("wait for memtree"))
    }

    /// The JSON report on stdout; panics, showing both streams, when stdout is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|err| {
            panic!(
                "stdout is not JSON ({err}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The JSON report of a run that must have succeeded (exit code 0).
    pub fn succeeded(&self) -> Value {
        self.succeeded_as("memtree")
    }

    /// [`Run::succeeded`], with `context` naming the run when it failed.
    pub fn succeeded_as(&self, context: &str) -> Value {
        assert_eq!(self.code, 0, "{context}: {:?}\n{}", self.status, self.stderr);
        self.json()
    }

    /// Whether the run was killed with SIGKILL (a failpoint, or the test).
    pub fn killed(&self) -> bool {
        self.status.signal() == Some(libc::SIGKILL)
    }
}

/// The messages a JSON report says were written: `(inserted, updated, unchanged)`.
pub fn written(report: &Value) -> (u64, u64, u64) {
    let written = &report["messages"]["written"];
    let count = |key: &str| written[key].as_u64().unwrap();
    (count("inserted"), count("updated"), count("unchanged"))
}

impl From<Output> for Run {
    fn from(output: Output) -> Run {
        Run {
            status: output.status,
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}
