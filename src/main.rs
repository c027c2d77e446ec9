//! `lender serve` runs the gRPC server; `lender jobs` prints the job history.

use std::{process::ExitCode, sync::Arc, time::Duration};

use lender::{
    api::{
        LenderServer, LenderService,
        admin::{
            AdminServer, AdminService,
            proto::{JobsRequest, admin_client::AdminClient},
        },
    },
    config::Config,
    history_view,
    jobs::Jobs,
    store::{JobRecord, Store},
};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage: lender serve | lender jobs [--limit N] [--json]";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LENDER_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("lender: configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("serve") => serve(config).await,
        Some("jobs") => jobs(config, &args[1..]).await,
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lender: {e}");
            ExitCode::FAILURE
        }
    }
}

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
    let jobs = Jobs::start(config).await.map_err(|e| e.to_string())?;
    let shutdown = async {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        tracing::info!("shutting down");
    };
    let served = tonic::transport::Server::builder()
        .add_service(LenderServer::new(LenderService::new(jobs.clone())))
        .add_service(AdminServer::new(AdminService::new(jobs.clone())))
        .serve_with_shutdown(addr, shutdown)
        .await
        .map_err(|e| format!("gRPC server on {addr}: {e}"));
    jobs.drain(Duration::from_secs(10)).await;
    served
}

async fn jobs(config: Config, args: &[String]) -> Result<(), String> {
    let mut limit = 50u32;
    let mut json = false;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--json" => json = true,
            "--limit" => {
                limit = rest.next().and_then(|n| n.parse().ok()).ok_or(USAGE)?;
            }
            _ => return Err(USAGE.to_owned()),
        }
    }
    let records = match jobs_from_server(&config, limit).await {
        Some(records) => records,
        None => jobs_from_file(&config, limit).await?,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&records).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", history_view::render(&records));
    }
    Ok(())
}

/// Asks a running server (it holds the database file open).
async fn jobs_from_server(config: &Config, limit: u32) -> Option<Vec<JobRecord>> {
    let port = config.listen.rsplit_once(':').map_or("5000", |(_, p)| p);
    let url = format!("http://127.0.0.1:{port}");
    let endpoint = tonic::transport::Endpoint::from_shared(url)
        .ok()?
        .connect_timeout(Duration::from_secs(1));
    let channel = endpoint.connect().await.ok()?;
    let reply = AdminClient::new(channel)
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
    let store = Store::open(&config.db_path).await.map_err(|e| {
        format!(
            "{e} (is a server running with this database but not listening on {}?)",
            config.listen
        )
    })?;
    let store = Arc::new(store);
    store.jobs(limit as usize).map_err(|e| e.to_string())
}
