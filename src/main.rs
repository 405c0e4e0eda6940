//! The `memtree` binary: parses the command line, runs the command, prints its report, and
//! chooses the exit code (0 all good, 1 finished with per-file problems, 2 usage or database
//! failure). Nothing else in the crate exits or decides a code.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use memtree::cli::{self, Cli, Command, DbAction, ImportArgs, ServiceAction, WatchArgs};
use memtree::env;
use memtree::import;
use memtree::service::{self, Manager};
use memtree::source::Source;
use memtree::{localdb, output, source, watch};

fn main() -> ExitCode {
    let cli = Cli::parse();
    output::init_logging(cli.global.verbose, cli.global.quiet);
    match run(&cli) {
        Ok(code) => code,
        Err(err) => {
            let message = format!("{err:#}");
            if cli.global.json {
                print_stdout(&format!("{}\n", serde_json::json!({ "error": message })));
            }
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Import { source, args } => run_import(cli, *source, args),
        Command::Watch { sources, args, watch } => run_watch(cli, sources, args, watch),
        Command::Db { action } => run_db(cli, action),
        Command::Service { action } => run_service(cli, action),
    }
}

fn run_import(cli: &Cli, source: &'static dyn Source, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let settings = args.resolve(source, &env::process, &cwd)?;
    let show_progress = !cli.global.quiet && cli.global.verbose == 0;
    let report = import::run(&settings, &env::process, show_progress)?;
    if let Some(risk) = report.retention_risk.as_ref().filter(|_| !cli.global.quiet) {
        eprintln!("warning: {}", risk.warning());
    }
    if cli.global.json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        if settings.dry_run {
            print_stdout(&report.plan_text());
        }
        if !cli.global.quiet {
            eprint!("{}", report.summary_text(cli.global.verbose > 0));
        }
    }
    Ok(if report.problems() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Follows the tools until SIGINT or SIGTERM: one line per cycle on stderr, or one JSON line on
/// stdout with `--json`; ends with 0 once the group being written is committed.
fn run_watch(
    cli: &Cli,
    sources: &[&'static dyn Source],
    args: &ImportArgs,
    watch: &WatchArgs,
) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let settings = watch.resolve(sources, args, &env::process, &cwd)?;
    if !cli.global.quiet && !cli.global.json {
        let tools: Vec<&str> = settings
            .imports
            .iter()
            .map(|import| import.source.name())
            .collect();
        eprintln!(
            "watch: following {}; SIGINT or SIGTERM stops it",
            tools.join(", ")
        );
    }
    watch::run(&settings, &env::process, &mut |cycle| {
        if cli.global.json {
            match serde_json::to_string(cycle) {
                Ok(line) => print_stdout(&format!("{line}\n")),
                Err(error) => eprintln!("error: cannot render cycle {}: {error}", cycle.cycle),
            }
        } else if !cli.global.quiet {
            eprintln!("{}", cycle.line());
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_service(cli: &Cli, action: &ServiceAction) -> anyhow::Result<ExitCode> {
    let manager = Manager::native();
    let report = match action {
        ServiceAction::Install {
            tools,
            database_url,
            flags,
        } => {
            cli::check_service_watch(tools, flags, &env::process, &std::env::current_dir()?)?;
            let tools: Vec<&'static dyn Source> =
                tools.iter().filter_map(|tool| source::named(tool)).collect();
            let plan = service::plan(&tools, database_url.as_deref(), flags, &env::process)?;
            service::install(&plan, manager, &env::process)?
        }
        ServiceAction::Uninstall => service::uninstall(manager, &env::process)?,
        ServiceAction::Status => service::status(manager, &env::process)?,
    };
    if cli.global.json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        let state = match (action, report.installed) {
            (ServiceAction::Install { .. }, _) => "wrote",
            (ServiceAction::Uninstall, _) => "removed",
            (ServiceAction::Status, true) => "installed",
            (ServiceAction::Status, false) => "not installed",
        };
        print_stdout(&format!(
            "service file: {} ({state})\nservice manager: {}\nlogs: {}\n",
            report.file.display(),
            report.manager_said,
            report.logs
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_db(cli: &Cli, action: &DbAction) -> anyhow::Result<ExitCode> {
    let status = match action {
        DbAction::Url => {
            let url = localdb::url(&env::process)?;
            if cli.global.json {
                print_stdout(&format!("{}\n", serde_json::json!({ "url": url })));
            } else {
                print_stdout(&format!("{url}\n"));
            }
            return Ok(ExitCode::SUCCESS);
        }
        DbAction::Start => localdb::start(&env::process)?,
        DbAction::Stop => localdb::stop(&env::process)?,
        DbAction::Status => localdb::status(&env::process)?,
    };
    if cli.global.json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&status)?));
    } else {
        let state = match (status.initialized, status.running, status.pid) {
            (false, _, _) => "not initialised".to_owned(),
            (true, true, Some(pid)) => format!("running (pid {pid})"),
            (true, true, None) => "running".to_owned(),
            (true, false, _) => "stopped".to_owned(),
        };
        let mut text = format!(
            "local database: {state}\ndata directory: {}\nurl: {}\n",
            status.data_dir.display(),
            status.url
        );
        if let Some(notice) = &status.notice {
            text.push_str(&format!("note: {notice}\n"));
        }
        print_stdout(&text);
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes data to stdout; a closed pipe (`memtree ... | head`) is not an error.
fn print_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}
