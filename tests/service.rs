//! End-to-end tests of `memtree service`: the unit it writes into a private XDG_CONFIG_HOME, what
//! `systemd-analyze verify` says of it where systemd is installed, and install, status and
//! uninstall where no service manager is on PATH (a container), which must say so and not fail.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{memtree_command, Run};

/// `memtree service <args>` with HOME `home`, XDG_CONFIG_HOME `home/config`, and a PATH without
/// systemctl or launchctl.
fn service(home: &Path, args: &[&str]) -> Run {
    let empty_path = home.join("no-programs");
    std::fs::create_dir_all(&empty_path).unwrap();
    let mut command = memtree_command(home);
    command
        .arg("service")
        .args(args)
        .env("PATH", &empty_path)
        .env("XDG_CONFIG_HOME", home.join("config"));
    Run::of_command(&mut command)
}

fn unit_file(home: &Path) -> PathBuf {
    home.join("config/systemd/user/memtree.service")
}

#[cfg(target_os = "linux")]
#[test]
fn install_status_and_uninstall_without_a_service_manager() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let url = "postgresql://memtree@db.example.com:5432/memory?sslmode=verify-full";
    let installed = service(
        home,
        &[
            "install",
            "claude",
            "--database-url",
            url,
            "--",
            "--full-transcript",
        ],
    );
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    assert!(
        installed
            .stdout
            .contains("systemctl is not available here: not asked")
            && installed.stdout.contains("systemctl --user enable --now memtree")
            && installed.stdout.contains("journalctl --user -u memtree"),
        "{}",
        installed.stdout
    );
    let unit = std::fs::read_to_string(unit_file(home)).unwrap();
    let program = env!("CARGO_BIN_EXE_memtree");
    assert!(
        unit.contains(&format!(
            "ExecStart=\"{program}\" \"watch\" \"claude\" \"--database-url\" \"{url}\" \"--full-transcript\"\n"
        )),
        "{unit}"
    );
    assert!(unit.contains("Restart=on-failure\n"), "{unit}");
    // The environment that moves memtree's local database goes with it; HOME is systemd's own.
    assert!(
        unit.contains(&format!(
            "Environment=\"XDG_DATA_HOME={}\"",
            home.join("data").display()
        )),
        "{unit}"
    );
    assert!(!unit.contains("Environment=\"HOME="), "{unit}");

    if let Some(verify) = systemd_analyze() {
        let output = Command::new(verify)
            .arg("verify")
            .arg(unit_file(home))
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "systemd-analyze verify: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        eprintln!("systemd-analyze is not installed: the unit is not verified");
    }

    let status = service(home, &["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(status.stdout.contains("(installed)"), "{}", status.stdout);

    let removed = service(home, &["uninstall"]);
    assert_eq!(removed.code, 0, "{}", removed.stderr);
    assert!(removed.stdout.contains("(removed)"), "{}", removed.stdout);
    assert!(!unit_file(home).exists());
    assert!(service(home, &["status"]).stdout.contains("(not installed)"));
}

#[test]
fn a_password_in_the_url_is_refused_and_never_written() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let refused = service(
        home,
        &[
            "install",
            "--database-url",
            "postgresql://memtree:hunter2-s3cret@db.example.com/memory",
        ],
    );
    assert_eq!(refused.code, 2);
    assert!(refused.stderr.contains("~/.pgpass"), "{}", refused.stderr);
    assert!(!refused.stderr.contains("hunter2"), "{}", refused.stderr);
    assert!(!unit_file(home).exists());
}

#[test]
fn watch_flags_that_watch_would_refuse_are_refused_before_anything_is_written() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    for (flags, says) in [
        (&["--dry-run"][..], "--dry-run"),
        (&["--poll", "0"][..], "--poll"),
        (&["--source", "relative/projects"][..], "absolute"),
        (
            &["--database-url", "postgresql://me@db/x"][..],
            "service install --database-url",
        ),
    ] {
        let mut args = vec!["install", "claude", "--"];
        args.extend_from_slice(flags);
        let refused = service(home, &args);
        assert_eq!(refused.code, 2, "{flags:?}: {}", refused.stderr);
        assert!(refused.stderr.contains(says), "{flags:?}: {}", refused.stderr);
        assert!(!unit_file(home).exists());
    }
}

/// `systemd-analyze`, when installed.
fn systemd_analyze() -> Option<PathBuf> {
    ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}
