//! `memtree service install|uninstall|status`: a per-user service that runs `memtree watch`, a
//! systemd user unit on Linux and a launchd agent on macOS, and the service manager calls that
//! load, start, stop and unload it.
//!
//! The service runs this binary with the tools named and the current database target, passed in
//! the service's environment (the URL, the `PG*` variables, and the variables that move a tool's
//! sessions or memtree's local database). A password is never written into a unit: a URL holding
//! one is refused, `PGPASSWORD` is left out, and the service finds its password where libpq does
//! (the password file). When the service manager cannot be reached (no user session bus, a
//! container), the file is still written and the command to load it is printed instead.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use crate::env::{self, EnvLookup, Variable};
use crate::source::{self, Source};
use crate::store::target;

/// The systemd unit's name, and the launchd agent's label.
const UNIT: &str = "memtree.service";
const LABEL: &str = "dev.memtree.watch";

/// Why a service could not be installed or removed (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{origin} holds a password, which the service file would keep in plain text: put it in ~/.pgpass (a line `host:port:database:user:password`, mode 0600) and give the URL without it")]
    PasswordInUrl { origin: &'static str },
    #[error("cannot tell where the service file goes: HOME is not set")]
    NoHome,
    #[error("cannot find memtree's own program to run as the service: {0}")]
    Program(std::io::Error),
    #[error("cannot {action} `{}`: {error}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Target(#[from] crate::store::StoreError),
}

/// The platform's service manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Manager {
    Systemd,
    Launchd,
}

impl Manager {
    /// This platform's: launchd on macOS, systemd elsewhere.
    pub fn native() -> Manager {
        if cfg!(target_os = "macos") {
            Manager::Launchd
        } else {
            Manager::Systemd
        }
    }
}

/// What the service runs: the program, its arguments after it, and its environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePlan {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub environment: Vec<(String, String)>,
}

/// What one `service` command did, for the report.
#[derive(Debug, Serialize)]
pub struct ServiceReport {
    pub manager: Manager,
    pub file: PathBuf,
    /// Whether the file is there after the command.
    pub installed: bool,
    /// The service manager's answer, or why it was not asked.
    pub manager_said: String,
    /// How to read what the service logs.
    pub logs: String,
}

/// Variables the service must not inherit: the password, what the service manager sets itself,
/// the log filter and test knobs.
const NOT_PASSED: &[Variable] = &[env::PGPASSWORD, env::HOME, env::USER, env::LOGNAME, env::RUST_LOG];

/// The service for a watch of `tools` (every tool when empty) with `watch_flags` (checked by the
/// caller), writing to `database_url` or the target the environment names.
pub fn plan(
    tools: &[&'static dyn Source],
    database_url: Option<&str>,
    watch_flags: &[String],
    env: EnvLookup<'_>,
) -> Result<ServicePlan, ServiceError> {
    // Resolving checks the target as an import would, before anything is written.
    target::resolve(database_url, env)?;
    let mut args = vec!["watch".to_owned()];
    args.extend(tools.iter().map(|tool| tool.name().to_owned()));
    if let Some(url) = database_url {
        if target::mask_password(url) != url {
            return Err(ServiceError::PasswordInUrl {
                origin: "--database-url",
            });
        }
        args.extend(["--database-url".to_owned(), url.to_owned()]);
    }
    args.extend(watch_flags.iter().cloned());
    let mut environment = Vec::new();
    for variable in env::VARIABLES.iter().chain(source::variables()) {
        if variable.test_knob
            || NOT_PASSED.contains(variable)
            || environment.iter().any(|(name, _)| name == variable.name)
        {
            continue;
        }
        let Some(value) = variable.text(env) else { continue };
        if *variable == env::DATABASE_URL && target::mask_password(&value) != value {
            return Err(ServiceError::PasswordInUrl {
                origin: "DATABASE_URL",
            });
        }
        environment.push((variable.name.to_owned(), value));
    }
    if env::PGPASSWORD.get(env).is_some() {
        tracing::warn!("PGPASSWORD is not written into the service: it reads the password from ~/.pgpass (or PGPASSFILE)");
    }
    let program = std::env::current_exe().map_err(ServiceError::Program)?;
    Ok(ServicePlan {
        program,
        args,
        environment,
    })
}

/// The systemd user unit running `plan`.
pub fn systemd_unit(plan: &ServicePlan) -> String {
    let mut exec = vec![systemd_quote(&plan.program.to_string_lossy())];
    exec.extend(plan.args.iter().map(|arg| systemd_quote(arg)));
    let mut unit = format!(
        "# Written by `memtree service install`; `memtree service uninstall` removes it.\n\
         [Unit]\n\
         Description=memtree: import AI coding agent sessions as they change\n\
         \n\
         [Service]\n\
         Type=simple\n\
         ExecStart={}\n",
        exec.join(" ")
    );
    for (name, value) in &plan.environment {
        unit.push_str(&format!(
            "Environment={}\n",
            systemd_quote(&format!("{name}={value}"))
        ));
    }
    unit.push_str(
        "Restart=on-failure\n\
         RestartSec=10\n\
         # On SIGTERM memtree finishes the transaction under way, then exits 0.\n\
         TimeoutStopSec=120\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
    );
    unit
}

/// One word of a systemd command line or assignment: double-quoted, with `\`, `"` escaped and
/// `%` doubled (systemd would expand it as a specifier) and `$` doubled (a variable).
fn systemd_quote(word: &str) -> String {
    let mut quoted = String::with_capacity(word.len() + 2);
    quoted.push('"');
    for ch in word.chars() {
        match ch {
            '\\' | '"' => {
                quoted.push('\\');
                quoted.push(ch);
            }
            '%' => quoted.push_str("%%"),
            '$' => quoted.push_str("$$"),
            '\n' => quoted.push_str("\\n"),
            _ => quoted.push(ch),
        }
    }
    quoted.push('"');
    quoted
}

/// The launchd agent running `plan`, logging to `log`.
pub fn launchd_plist(plan: &ServicePlan, log: &Path) -> String {
    let string = |text: &str| format!("<string>{}</string>", xml_escape(text));
    let mut arguments = vec![string(&plan.program.to_string_lossy())];
    arguments.extend(plan.args.iter().map(|arg| string(arg)));
    let environment: String = plan
        .environment
        .iter()
        .map(|(name, value)| format!("    <key>{}</key>{}\n", xml_escape(name), string(value)))
        .collect();
    let log = string(&log.to_string_lossy());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n\
         <!-- Written by `memtree service install`; `memtree service uninstall` removes it. -->\n\
         <plist version=\"1.0\">\n<dict>\n\
         <key>Label</key>{label}\n\
         <key>ProgramArguments</key>\n<array>\n  {arguments}\n</array>\n\
         <key>EnvironmentVariables</key>\n<dict>\n{environment}</dict>\n\
         <key>RunAtLoad</key><true/>\n\
         <key>KeepAlive</key>\n<dict>\n  <key>SuccessfulExit</key><false/>\n</dict>\n\
         <key>StandardOutPath</key>{log}\n\
         <key>StandardErrorPath</key>{log}\n\
         </dict>\n</plist>\n",
        label = string(LABEL),
        arguments = arguments.join("\n  "),
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where the service file of `manager` goes: `$XDG_CONFIG_HOME/systemd/user/memtree.service`
/// (`~/.config` by default), or `~/Library/LaunchAgents/dev.memtree.watch.plist`.
pub fn service_file(manager: Manager, env: EnvLookup<'_>) -> Result<PathBuf, ServiceError> {
    let home = env::home_dir(env).ok_or(ServiceError::NoHome)?;
    Ok(match manager {
        // The XDG spec says a relative `XDG_CONFIG_HOME` is invalid and must be ignored.
        Manager::Systemd => env::XDG_CONFIG_HOME
            .path(env)
            .filter(|dir| dir.is_absolute())
            .unwrap_or_else(|| home.join(".config"))
            .join("systemd/user")
            .join(UNIT),
        Manager::Launchd => home.join("Library/LaunchAgents").join(format!("{LABEL}.plist")),
    })
}

fn launchd_log(env: EnvLookup<'_>) -> Result<PathBuf, ServiceError> {
    Ok(env::home_dir(env)
        .ok_or(ServiceError::NoHome)?
        .join("Library/Logs/memtree.log"))
}

fn logs_hint(manager: Manager, env: EnvLookup<'_>) -> String {
    match manager {
        Manager::Systemd => "journalctl --user -u memtree -f".to_owned(),
        Manager::Launchd => match launchd_log(env) {
            Ok(log) => format!("tail -f {}", log.display()),
            Err(_) => "~/Library/Logs/memtree.log".to_owned(),
        },
    }
}

/// Writes the service file for `plan` and asks the service manager to load and start it.
pub fn install(
    plan: &ServicePlan,
    manager: Manager,
    env: EnvLookup<'_>,
) -> Result<ServiceReport, ServiceError> {
    let file = service_file(manager, env)?;
    let text = match manager {
        Manager::Systemd => systemd_unit(plan),
        Manager::Launchd => launchd_plist(plan, &launchd_log(env)?),
    };
    let dir = file.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir).map_err(|error| ServiceError::File {
        action: "create",
        path: dir.to_path_buf(),
        error,
    })?;
    std::fs::write(&file, text).map_err(|error| ServiceError::File {
        action: "write",
        path: file.clone(),
        error,
    })?;
    let file_arg = file.to_string_lossy().into_owned();
    let manager_said = match manager {
        Manager::Systemd => ask(
            env,
            "systemctl",
            &[&["--user", "daemon-reload"], &["--user", "enable", "--now", UNIT]],
            "systemctl --user daemon-reload && systemctl --user enable --now memtree",
        ),
        Manager::Launchd => ask(
            env,
            "launchctl",
            &[&["load", "-w", &file_arg]],
            &format!("launchctl load -w {file_arg}"),
        ),
    };
    Ok(ServiceReport {
        manager,
        file,
        installed: true,
        manager_said,
        logs: logs_hint(manager, env),
    })
}

/// Stops and unloads the service, and removes its file.
pub fn uninstall(manager: Manager, env: EnvLookup<'_>) -> Result<ServiceReport, ServiceError> {
    let file = service_file(manager, env)?;
    let file_arg = file.to_string_lossy().into_owned();
    let manager_said = match manager {
        Manager::Systemd => ask(
            env,
            "systemctl",
            &[&["--user", "disable", "--now", UNIT]],
            "systemctl --user disable --now memtree",
        ),
        Manager::Launchd => ask(
            env,
            "launchctl",
            &[&["unload", "-w", &file_arg]],
            &format!("launchctl unload -w {file_arg}"),
        ),
    };
    match std::fs::remove_file(&file) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => {
            return Err(ServiceError::File {
                action: "remove",
                path: file,
                error,
            })
        }
    }
    if manager == Manager::Systemd {
        ask(env, "systemctl", &[&["--user", "daemon-reload"]], "");
    }
    Ok(ServiceReport {
        manager,
        file,
        installed: false,
        manager_said,
        logs: logs_hint(manager, env),
    })
}

/// Whether the service file is there, and what the service manager says of the service.
pub fn status(manager: Manager, env: EnvLookup<'_>) -> Result<ServiceReport, ServiceError> {
    let file = service_file(manager, env)?;
    let manager_said = match manager {
        Manager::Systemd => ask(env, "systemctl", &[&["--user", "is-active", UNIT]], ""),
        Manager::Launchd => ask(env, "launchctl", &[&["list", LABEL]], ""),
    };
    Ok(ServiceReport {
        manager,
        installed: file.exists(),
        file,
        manager_said,
        logs: logs_hint(manager, env),
    })
}

/// Runs `program` with each argument list in turn, stopping at the first failure, and says what
/// came of it. A program not on `PATH` (no systemd or launchd here) is not an error: the file
/// stands, and `by_hand` is the command to run where the manager is available.
fn ask(env: EnvLookup<'_>, program: &str, calls: &[&[&str]], by_hand: &str) -> String {
    let Some(path) = find_program(env, program) else {
        let mut said = format!("{program} is not available here: not asked");
        if !by_hand.is_empty() {
            said.push_str(&format!("; load it where it is with `{by_hand}`"));
        }
        return said;
    };
    let mut said = Vec::new();
    for args in calls {
        let output = match Command::new(&path).args(*args).output() {
            Ok(output) => output,
            Err(error) => return format!("{program} could not be run: {error}"),
        };
        let text = String::from_utf8_lossy(&output.stdout).trim().to_owned()
            + String::from_utf8_lossy(&output.stderr).trim();
        let call = format!("{program} {}", args.join(" "));
        if !output.status.success() {
            said.push(format!("`{call}` failed: {text}"));
            if !by_hand.is_empty() {
                said.push(format!("run `{by_hand}` once it can"));
            }
            break;
        }
        said.push(if text.is_empty() {
            format!("`{call}`: done")
        } else {
            format!("`{call}`: {text}")
        });
    }
    said.join("; ")
}

/// `program` in a directory of `PATH`.
fn find_program(env: EnvLookup<'_>, program: &str) -> Option<PathBuf> {
    let path = env::PATH.get(env)?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ServicePlan {
        ServicePlan {
            program: PathBuf::from("/opt/memtree bin/memtree"),
            args: vec!["watch".to_owned(), "claude".to_owned()],
            environment: vec![(
                "DATABASE_URL".to_owned(),
                "postgresql://me@db/x?application_name=a%b".to_owned(),
            )],
        }
    }

    #[test]
    fn the_systemd_unit_quotes_paths_and_escapes_specifiers() {
        let unit = systemd_unit(&sample());
        assert!(
            unit.contains("ExecStart=\"/opt/memtree bin/memtree\" \"watch\" \"claude\"\n"),
            "{unit}"
        );
        assert!(
            unit.contains("Environment=\"DATABASE_URL=postgresql://me@db/x?application_name=a%%b\"\n"),
            "{unit}"
        );
        assert!(unit.contains("Restart=on-failure\n"), "{unit}");
        assert!(unit.contains("WantedBy=default.target\n"), "{unit}");
    }

    #[test]
    fn the_launchd_agent_escapes_xml_and_restarts_on_failure() {
        let mut plan = sample();
        plan.environment
            .push(("CLAUDE_CONFIG_DIR".to_owned(), "/a&b".to_owned()));
        let plist = launchd_plist(&plan, Path::new("/Users/me/Library/Logs/memtree.log"));
        assert!(
            plist.contains("<string>/opt/memtree bin/memtree</string>"),
            "{plist}"
        );
        assert!(
            plist.contains("<key>CLAUDE_CONFIG_DIR</key><string>/a&amp;b</string>"),
            "{plist}"
        );
        assert!(plist.contains("<key>SuccessfulExit</key><false/>"), "{plist}");
    }

    #[test]
    fn a_password_is_never_written_into_the_service() {
        let env = env::fake(&[
            ("HOME", "/h"),
            ("PGUSER", "me"),
            ("PGPASSWORD", "s3cret"),
            ("PGHOST", "db.example.com"),
        ]);
        let plan = plan(&[], None, &[], &env).unwrap();
        let names: Vec<&str> = plan.environment.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["PGHOST", "PGUSER"]);
        let url = "postgresql://me:s3cret@db.example.com/x";
        let refused = super::plan(&[], Some(url), &[], &env).unwrap_err();
        assert!(refused.to_string().contains("~/.pgpass"), "{refused}");
        let env = env::fake(&[("HOME", "/h"), ("PGUSER", "me"), ("DATABASE_URL", url)]);
        assert!(matches!(
            super::plan(&[], None, &[], &env),
            Err(ServiceError::PasswordInUrl {
                origin: "DATABASE_URL"
            })
        ));
    }
}
