//! The `memtree` binary: parses the command line, runs the command, prints its report, and
//! chooses the exit code (0 all good, 1 finished with per-file problems, 2 usage or database
//! failure). Nothing else in the crate exits or decides a code.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use memtree::browse::{BrowseError, Reader};
use memtree::cli::{
    self, Cli, Command, DbAction, ImportArgs, ManArgs, SearchArgs, ServiceAction, ShowArgs, StatusArgs,
    WatchArgs,
};
use memtree::env;
use memtree::import;
use memtree::report::CombinedReport;
use memtree::service::{self, Manager};
use memtree::source::{Source, SOURCES};
use memtree::store::SearchResults;
use memtree::{localdb, output, source, views, watch};

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
        Command::ImportAll { args } => run_import_all(cli, args),
        Command::Search(args) => read_command(run_search(cli, args)),
        Command::Show(args) => read_command(run_show(cli, args)),
        Command::Status(args) => read_command(run_status(cli, args)),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "memtree", &mut out);
            print_stdout(&String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man(args) => run_man(args),
        Command::Watch { sources, args, watch } => run_watch(cli, sources, args, watch),
        Command::Db { action } => run_db(cli, action),
        Command::Service { action } => run_service(cli, action),
    }
}

fn run_import_all(cli: &Cli, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let cwd = std::env::current_dir()?;
    let settings = SOURCES
        .iter()
        .map(|source| args.resolve(*source, &env::process, &cwd))
        .collect::<Result<Vec<_>, _>>()?;
    let show_progress = !cli.global.quiet && cli.global.verbose == 0;
    let report: CombinedReport = import::run_all(&settings, &env::process, show_progress);
    if cli.global.json {
        print_stdout(&format!("{}\n", serde_json::to_string_pretty(&report)?));
    } else {
        if args.dry_run {
            print_stdout(&report.plan_text());
        }
        if !cli.global.quiet {
            eprint!("{}", report.summary_text(cli.global.verbose > 0));
        }
    }
    Ok(if report.failed() {
        ExitCode::from(2)
    } else if report.problems() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The exit code of a command that reads the store: a closed pipe (`memtree show ... | head`)
/// ends it quietly; other failures are errors (exit code 2).
fn read_command(result: Result<(), BrowseError>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(BrowseError::Output(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => Err(error.into()),
    }
}

fn run_search(cli: &Cli, args: &SearchArgs) -> Result<(), BrowseError> {
    let cwd = std::env::current_dir().map_err(BrowseError::Output)?;
    // Flags are checked before the database is reached.
    args.request(&env::process, &cwd, None)
        .map_err(BrowseError::Usage)?;
    let reader = Reader::open(
        &args.store.target(&env::process)?,
        &args.store.schema,
        &env::process,
    )?;
    let session = match &args.session {
        Some(prefix) => Some(reader.session(prefix)?.id),
        None => None,
    };
    let request = args
        .request(&env::process, &cwd, session)
        .map_err(BrowseError::Usage)?;
    let hits = match reader.search(&request)? {
        SearchResults::Hits(hits) => hits,
        SearchResults::NoSearchableWords => {
            return Err(BrowseError::Usage(format!(
                "`{}` has no word to search for: only very common words (the, and, ...) or punctuation",
                request.query
            )))
        }
    };
    if cli.global.json {
        print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&views::search_json(&request.query, &hits)).unwrap_or_default()
        ));
    } else {
        print_stdout(&views::search_text(
            &hits,
            env::home_dir(&env::process).as_deref(),
        ));
        if hits.is_empty() && !cli.global.quiet {
            eprintln!("no message matches `{}`", request.query);
        }
    }
    Ok(())
}

fn run_show(cli: &Cli, args: &ShowArgs) -> Result<(), BrowseError> {
    let cwd = std::env::current_dir().map_err(BrowseError::Output)?;
    let filters = match args.last {
        true => Some(
            args.last_filters(&env::process, &cwd)
                .map_err(BrowseError::Usage)?,
        ),
        false => None,
    };
    let reader = Reader::open(
        &args.store.target(&env::process)?,
        &args.store.schema,
        &env::process,
    )?;
    let session = match (&filters, &args.session) {
        (Some(filters), _) => reader.last_session(filters)?,
        (None, Some(prefix)) => reader.session(prefix)?,
        (None, None) => return Err(BrowseError::Usage("give a session id, or --last".to_owned())),
    };
    let home = env::home_dir(&env::process);
    reader.show(
        &session,
        std::io::BufWriter::new(std::io::stdout()),
        cli.global.json,
        home.as_deref(),
    )
}

fn run_status(cli: &Cli, args: &StatusArgs) -> Result<(), BrowseError> {
    let reader = Reader::open(
        &args.store.target(&env::process)?,
        &args.store.schema,
        &env::process,
    )?;
    let report = reader.status(&env::process)?;
    if cli.global.json {
        print_stdout(&format!(
            "{}\n",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ));
    } else {
        print_stdout(&views::status_text(
            &report,
            env::home_dir(&env::process).as_deref(),
        ));
    }
    Ok(())
}

fn run_man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let command = Cli::command();
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            clap_mangen::generate_to(command, dir)?;
            eprintln!("manual pages written to {}", dir.display());
        }
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(command).render(&mut out)?;
            print_stdout(&String::from_utf8_lossy(&out));
        }
    }
    Ok(ExitCode::SUCCESS)
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
