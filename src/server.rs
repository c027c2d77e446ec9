//! The server's start (`lender serve`): the gRPC server (the contract's service, the admin
//! service, the standard health and reflection services), the metrics and the board, until
//! a signal. It sits above [`api`] and [`views`] and below the command line, which only
//! calls [`serve`]: the start is not part of `cli`, so nothing the server runs imports the
//! command line.

use std::{sync::Arc, time::Duration};

use thiserror::Error;
use tokio::task::JoinHandle;

use crate::{
    api::{
        self, LenderServer, LenderService,
        admin::{AdminServer, AdminService},
        standard::{self, HealthSwitch},
    },
    config::Config,
    jobs::Jobs,
    telemetry,
    views::Views,
};

/// Why the server could not start, or stopped serving.
#[derive(Debug, Error)]
pub enum ServeError {
    /// The store, MySQL or HDFS said no while the jobs started.
    #[error(transparent)]
    Service(#[from] crate::Error),

    /// A setting cannot be used as given.
    #[error("bad {name} {value:?}: {why}")]
    Setting {
        name: &'static str,
        value: String,
        why: String,
    },

    /// The server's own listeners (gRPC, metrics, the board) could not start or stopped.
    #[error("{0}")]
    Serving(String),
}

/// How long calls still open at shutdown may keep the server up (then they are cut; the
/// jobs' own drain follows). Within Docker's 10 s between SIGTERM and SIGKILL with room.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// Runs the server with `config` until SIGINT or SIGTERM, then drains the jobs.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let addr = config
        .listen
        .parse()
        .map_err(|e: std::net::AddrParseError| ServeError::Setting {
            name: "LENDER_LISTEN",
            value: config.listen.clone(),
            why: e.to_string(),
        })?;
    tracing::info!(
        %addr,
        mysql = %config.mysql_url.split('@').next_back().unwrap_or(""),
        hdfs = %config.hdfs_url,
        webhdfs = %config.webhdfs_url,
        db = %config.db_path.display(),
        "starting lender"
    );
    let (metrics, board) = (config.metrics_listen, config.board_listen);
    let jobs = Jobs::start(config).await?;
    // The gauges and the board serve until the jobs have shut down, then end with them.
    let mut side_tasks = Vec::new();
    if let Some(addr) = metrics {
        telemetry::serve(addr).map_err(ServeError::Serving)?;
        side_tasks.push(spawn_state_gauges(jobs.clone()));
    }
    // The admin service and the board answer from the same views (and caches).
    let views = Arc::new(Views::new(jobs.clone()));
    if let Some(addr) = board {
        side_tasks.push(
            api::board::serve(addr, views.clone())
                .await
                .map_err(ServeError::Serving)?,
        );
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
    let (reflection, reflection_v1alpha) = standard::reflection().map_err(ServeError::Serving)?;
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
        served = server => served.map_err(|e| ServeError::Serving(format!("gRPC server on {addr}: {e}"))),
        () = async {
            signalled.notified().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        } => {
            tracing::warn!(grace_s = SHUTDOWN_GRACE.as_secs(), "calls still open after the shutdown grace; closing them");
            Ok(())
        }
    };
    jobs.shutdown(Duration::from_secs(10)).await;
    for task in side_tasks {
        task.abort();
        let _ = task.await;
    }
    served
}

/// Keeps the metrics' state gauges current (every 5 s; a scrape every 15 s sees them fresh).
fn spawn_state_gauges(jobs: Arc<Jobs>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            match jobs.telemetry_snapshot() {
                Ok(snapshot) => telemetry::state(&snapshot),
                Err(e) => tracing::warn!(error = %e, "could not read the store for the metrics"),
            }
        }
    })
}
