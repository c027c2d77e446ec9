//! The command line, the top layer: `lender serve` starts the server ([`crate::server`]);
//! `lender jobs`, `lender job ID`, `lender health` and `lender partitions` print the operator
//! views ([`crate::views`]), asking the running server's admin service or else reading the
//! store file themselves (`lender --help` lists everything). Nothing else in the crate
//! imports this module.

mod error;
mod source;

use std::{process::ExitCode, time::Duration};

pub use crate::views::JobLookup;
pub use error::CliError;

use crate::{
    api::admin::proto::HealthRequest,
    config::Config,
    hdfs::WebHdfs,
    jobs,
    mysql::MySql,
    server,
    store::{HISTORY_SCAN, JobKind, JobRecord, JobState},
    views::{JobFilter, health, history, partitions},
};
use clap::{Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;

/// Moves the loans table from MySQL into Parquet on HDFS and answers per-county questions.
#[derive(Parser)]
#[command(name = "lender", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gRPC server (port from LENDER_LISTEN).
    Serve,
    /// The job history, newest first: asks the running server, or reads the database file
    /// of a stopped one.
    Jobs {
        /// Only jobs of this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// Only jobs in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Only partition jobs of this county (e.g. 55001).
        #[arg(long)]
        county: Option<i32>,
        /// Only jobs submitted within this long (90s, 15m, 2h, 1d).
        #[arg(long, value_parser = history::parse_duration)]
        since: Option<Duration>,
        /// At most this many jobs (after filtering).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON records instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Every county file: where its blocks are now, healthy / stale / lost, and per DataNode
    /// how many county files its death would cost. Asks the running server, or else reads
    /// the store file and asks the NameNode itself.
    Partitions {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// The server's view: NameNode, DataNodes (live / silent / dead / suspect), MySQL, queue
    /// depth, current export, store file. Asks the running server, or else checks itself.
    Health {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Asks the running server's standard gRPC health service whether `Lender` is serving:
    /// exit status 0 when it is (the container healthcheck).
    Probe,
    /// One job with every attempt (start, end, outcome, error, rows, bytes, duration).
    Job {
        /// The job id (or a unique prefix of it), as `lender jobs` shows it.
        id: String,
        /// Print the JSON record instead of text.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Export,
    Partition,
}

#[derive(Clone, Copy, ValueEnum)]
enum StateArg {
    Queued,
    Running,
    Succeeded,
    Failed,
}

/// Runs the command line: `lender serve`, or one of the operator views.
pub async fn run() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LENDER_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("lender: configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Serve => server::serve(config).await.map_err(CliError::from),
        Command::Jobs {
            kind,
            state,
            county,
            since,
            limit,
            json,
        } => {
            let filter = JobFilter {
                kind: kind.map(|k| match k {
                    KindArg::Export => JobKind::Export,
                    KindArg::Partition => JobKind::Partition,
                }),
                state: state.map(|s| match s {
                    StateArg::Queued => JobState::Queued,
                    StateArg::Running => JobState::Running,
                    StateArg::Succeeded => JobState::Succeeded,
                    StateArg::Failed => JobState::Failed,
                }),
                county,
                since_ms: since.map(history::since_ms),
            };
            jobs(config, filter, limit, json).await
        }
        Command::Job { id, json } => job(config, &id, json).await,
        Command::Partitions { json } => partitions(config, json).await,
        Command::Health { json } => health(config, json).await,
        Command::Probe => source::probe(&config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lender: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn jobs(config: Config, filter: JobFilter, limit: usize, json: bool) -> Result<(), CliError> {
    let newest = source::history(&config, HISTORY_SCAN).await?;
    let records: Vec<JobRecord> = filter.select(&newest, limit).cloned().collect();
    print_out(records.as_slice(), json, history::render)
}

async fn job(config: Config, id: &str, json: bool) -> Result<(), CliError> {
    let records = source::history(&config, HISTORY_SCAN).await?;
    let job = history::find_job(&records, id)?;
    print_out(job, json, history::render_one)
}

async fn partitions(config: Config, json: bool) -> Result<(), CliError> {
    let report = match source::partitions_from_server(&config).await {
        Some(report) => report,
        None => {
            eprintln!(
                "lender: no server on {}: reading {} and asking the NameNode directly",
                config.listen,
                config.db_path.display()
            );
            let store = source::open_store_file(&config).await?;
            let webhdfs = WebHdfs::new(&config.webhdfs_url, &config.hdfs_user)?;
            partitions::report(&store, &webhdfs, &[]).await?
        }
    };
    print_out(&report, json, partitions::render)
}

async fn health(config: Config, json: bool) -> Result<(), CliError> {
    let from_server = match source::admin_client(&config).await {
        Some(mut client) => client
            .health(HealthRequest {})
            .await
            .ok()
            .and_then(|r| serde_json::from_str(&r.into_inner().report_json).ok()),
        None => None,
    };
    let report = match from_server {
        Some(report) => report,
        None => {
            eprintln!(
                "lender: no server on {}: checking from here with its settings",
                config.listen
            );
            let store = source::open_store_file(&config).await?;
            let webhdfs = WebHdfs::new(&config.webhdfs_url, &config.hdfs_user)?;
            let mysql = MySql::new(&config)?;
            jobs::check_dependencies(&store, &webhdfs, &mysql, &config.db_path, &[]).await
        }
    };
    print_out(&report, json, health::render)
}

/// Prints `value` as pretty JSON, or as the text `render` makes of it.
fn print_out<T: serde::Serialize + ?Sized>(
    value: &T,
    json: bool,
    render: impl FnOnce(&T) -> String,
) -> Result<(), CliError> {
    if json {
        let text = serde_json::to_string_pretty(value)?;
        println!("{text}");
    } else {
        print!("{}", render(value));
    }
    Ok(())
}
