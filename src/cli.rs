//! `lender serve` runs the gRPC server; `lender jobs` and `lender job ID` show the job
//! history (`lender --help` lists everything).

use std::{process::ExitCode, sync::Arc, time::Duration};

use crate::{
    api::{
        self, LenderServer, LenderService,
        admin::{
            AdminServer, AdminService,
            proto::{HealthRequest, JobsRequest, PartitionsRequest, admin_client::AdminClient},
        },
        standard::{self, HealthSwitch, LENDER_SERVICE},
        views::Views,
    },
    config::Config,
    health_view,
    history_view::{self, JobFilter},
    jobs::Jobs,
    mysql::MySql,
    partitions_view::{self, PartitionsReport},
    store::{JobKind, JobRecord, JobState, Store},
    telemetry,
    webhdfs::WebHdfs,
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
        #[arg(long, value_parser = history_view::parse_duration)]
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

/// How many records the filters look through.
const HISTORY_SCAN: u32 = 10_000;

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
        Command::Serve => serve(config).await,
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
                since_ms: since.map(history_view::since_ms),
            };
            jobs(config, filter, limit, json).await
        }
        Command::Job { id, json } => job(config, &id, json).await,
        Command::Partitions { json } => partitions(config, json).await,
        Command::Health { json } => health(config, json).await,
        Command::Probe => probe(&config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lender: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How long calls still open at shutdown may keep the server up (then they are cut; the
/// jobs' own drain follows). Within Docker's 10 s between SIGTERM and SIGKILL with room.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

async fn serve(config: Config) -> Result<(), String> {
    let addr = config
        .listen
        .parse()
        .map_err(|e| format!("bad LENDER_LISTEN {:?}: {e}", config.listen))?;
    tracing::info!(
        %addr,
        mysql = %config.mysql_url.split('@').next_back().unwrap_or(""),
        hdfs = %config.hdfs_url,
        webhdfs = %config.webhdfs_url,
        db = %config.db_path.display(),
        "starting lender"
    );
    let (metrics, board) = (config.metrics_listen, config.board_listen);
    let jobs = Jobs::start(config).await.map_err(|e| e.to_string())?;
    if let Some(addr) = metrics {
        telemetry::serve(addr)?;
        spawn_state_gauges(jobs.clone());
    }
    // The admin service and the board answer from the same views (and caches).
    let views = Arc::new(Views::new(jobs.clone()));
    if let Some(addr) = board {
        api::board::serve(addr, views.clone()).await?;
    }
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
    };
    let (health, health_service) = HealthSwitch::new().await;
    let (reflection, reflection_v1alpha) = standard::reflection()?;
    let stopping = health.clone();
    let signalled = Arc::new(tokio::sync::Notify::new());
    let shutdown = {
        let signalled = signalled.clone();
        async move {
            shutdown.await;
            stopping.not_serving().await;
            signalled.notify_one();
        }
    };
    health.serving().await;
    let server = tonic::transport::Server::builder()
        .add_service(LenderServer::new(LenderService::new(jobs.clone())))
        .add_service(AdminServer::new(AdminService::new(views)))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .serve_with_shutdown(addr, shutdown);
    // Graceful shutdown waits for open calls, and some never end by themselves (a health
    // Watch, a DbToHdfs waiting on a long export): they get SHUTDOWN_GRACE, then are cut.
    let served = tokio::select! {
        served = server => served.map_err(|e| format!("gRPC server on {addr}: {e}")),
        () = async {
            signalled.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace_s = SHUTDOWN_GRACE.as_secs(), "calls still open after the shutdown grace; closing them");
            Ok(())
        }
    };
    jobs.drain(Duration::from_secs(10)).await;
    served
}

/// Keeps the metrics' state gauges current (every 5 s; a scrape every 15 s sees them fresh).
fn spawn_state_gauges(jobs: Arc<Jobs>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            match jobs.telemetry_snapshot() {
                Ok(snapshot) => telemetry::state(&snapshot),
                Err(e) => tracing::warn!(error = %e, "could not read the store for the metrics"),
            }
        }
    });
}

async fn jobs(config: Config, filter: JobFilter, limit: usize, json: bool) -> Result<(), String> {
    let history = history(&config, HISTORY_SCAN).await?;
    let records: Vec<JobRecord> = filter.select(&history, limit).cloned().collect();
    print_out(records.as_slice(), json, history_view::render)
}

async fn job(config: Config, id: &str, json: bool) -> Result<(), String> {
    let records = history(&config, HISTORY_SCAN).await?;
    let job = history_view::find_job(&records, id)?;
    print_out(job, json, history_view::render_one)
}

async fn partitions(config: Config, json: bool) -> Result<(), String> {
    let report = match partitions_from_server(&config).await {
        Some(report) => report,
        None => {
            eprintln!(
                "lender: no server on {}: reading {} and asking the NameNode directly",
                config.listen,
                config.db_path.display()
            );
            let store = open_store_file(&config).await?;
            let webhdfs =
                WebHdfs::new(&config.webhdfs_url, &config.hdfs_user).map_err(|e| e.to_string())?;
            partitions_view::report(&store, &webhdfs, &[])
                .await
                .map_err(|e| e.to_string())?
        }
    };
    print_out(&report, json, partitions_view::render)
}

async fn health(config: Config, json: bool) -> Result<(), String> {
    let from_server = match admin_client(&config).await {
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
            let store = open_store_file(&config).await?;
            let webhdfs =
                WebHdfs::new(&config.webhdfs_url, &config.hdfs_user).map_err(|e| e.to_string())?;
            let mysql = MySql::new(&config).map_err(|e| e.to_string())?;
            health_view::report(&store, &webhdfs, &mysql, &config.db_path, &[]).await
        }
    };
    print_out(&report, json, health_view::render)
}

async fn partitions_from_server(config: &Config) -> Option<PartitionsReport> {
    let reply = admin_client(config)
        .await?
        .partitions(PartitionsRequest {})
        .await
        .ok()?;
    serde_json::from_str(&reply.into_inner().report_json).ok()
}

/// The newest `limit` job records, from the running server or else the database file.
async fn history(config: &Config, limit: u32) -> Result<Vec<JobRecord>, String> {
    match jobs_from_server(config, limit).await {
        Some(records) => Ok(records),
        None => jobs_from_file(config, limit).await,
    }
}

/// `lender probe`: the standard health check of the contract's service, bounded at 3 s.
async fn probe(config: &Config) -> Result<(), String> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let check = async {
        let channel = local_endpoint(config)?
            .connect()
            .await
            .map_err(|e| format!("no server on {}: {e}", config.listen))?;
        let request = HealthCheckRequest {
            service: LENDER_SERVICE.to_owned(),
        };
        let reply = HealthClient::new(channel)
            .check(request)
            .await
            .map_err(|e| format!("health check of {LENDER_SERVICE}: {}", e.message()))?;
        Ok::<_, String>(reply.into_inner().status())
    };
    let status = tokio::time::timeout(Duration::from_secs(3), check)
        .await
        .map_err(|_| "health check: no answer within 3 s".to_owned())??;
    println!("{LENDER_SERVICE}: {}", status.as_str_name());
    match status {
        tonic_health::pb::health_check_response::ServingStatus::Serving => Ok(()),
        _ => Err(format!("{LENDER_SERVICE} is {}", status.as_str_name())),
    }
}

/// The running server's address as seen from this host.
fn local_endpoint(config: &Config) -> Result<tonic::transport::Endpoint, String> {
    let port = config.listen.rsplit_once(':').map_or("5000", |(_, p)| p);
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map_err(|e| format!("bad LENDER_LISTEN {:?}: {e}", config.listen))?;
    Ok(endpoint.connect_timeout(Duration::from_secs(1)))
}

/// A client of the running server's admin service, if one answers.
async fn admin_client(config: &Config) -> Option<AdminClient<tonic::transport::Channel>> {
    let endpoint = local_endpoint(config).ok()?;
    Some(AdminClient::new(endpoint.connect().await.ok()?))
}

/// Asks a running server (it holds the database file open).
async fn jobs_from_server(config: &Config, limit: u32) -> Option<Vec<JobRecord>> {
    let reply = admin_client(config)
        .await?
        .jobs(JobsRequest { limit })
        .await
        .ok()?;
    serde_json::from_str(&reply.into_inner().jobs_json).ok()
}

/// Reads the database file of a stopped server.
async fn jobs_from_file(config: &Config, limit: u32) -> Result<Vec<JobRecord>, String> {
    if !config.db_path.exists() {
        return Ok(vec![]);
    }
    let store = open_store_file(config).await?;
    store.jobs(limit as usize).map_err(|e| e.to_string())
}

async fn open_store_file(config: &Config) -> Result<Arc<Store>, String> {
    let store = Store::open(&config.db_path).await.map_err(|e| {
        format!(
            "{e} (is a server running with this database but not listening on {}?)",
            config.listen
        )
    })?;
    Ok(Arc::new(store))
}

/// Prints `value` as pretty JSON, or as the text `render` makes of it.
fn print_out<T: serde::Serialize + ?Sized>(
    value: &T,
    json: bool,
    render: impl FnOnce(&T) -> String,
) -> Result<(), String> {
    if json {
        let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{}", render(value));
    }
    Ok(())
}
