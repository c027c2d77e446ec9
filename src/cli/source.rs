//! Where the operator views get their data: the running server (it holds the database
//! file open), else the database file of a stopped one; and `lender probe`.

use std::{sync::Arc, time::Duration};

use super::error::{CliError, NotServingWhy};
use crate::{
    api::{
        admin::proto::{JobsRequest, PartitionsRequest, admin_client::AdminClient},
        standard::LENDER_SERVICE,
    },
    config::Config,
    store::{JobRecord, Store},
    views::PartitionsReport,
};

pub(super) async fn partitions_from_server(config: &Config) -> Option<PartitionsReport> {
    let reply = admin_client(config)
        .await?
        .partitions(PartitionsRequest {})
        .await
        .ok()?;
    serde_json::from_str(&reply.into_inner().report_json).ok()
}

/// The newest `limit` job records, from the running server or else the database file.
pub(super) async fn history(config: &Config, limit: usize) -> Result<Vec<JobRecord>, CliError> {
    match jobs_from_server(config, limit).await {
        Some(records) => Ok(records),
        None => jobs_from_file(config, limit).await,
    }
}

/// `lender probe`: the standard health check of the contract's service, bounded at 3 s.
pub(super) async fn probe(config: &Config) -> Result<(), CliError> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let check = async {
        let channel = local_endpoint(config)?
            .connect()
            .await
            .map_err(|e| CliError::NoServer {
                listen: config.listen.clone(),
                why: e.to_string(),
            })?;
        let request = HealthCheckRequest {
            service: LENDER_SERVICE.to_owned(),
        };
        let reply = HealthClient::new(channel)
            .check(request)
            .await
            .map_err(|e| not_serving(NotServingWhy::Failed(e.message().to_owned())))?;
        Ok::<_, CliError>(reply.into_inner().status())
    };
    let status = tokio::time::timeout(HEALTH_WAIT, check)
        .await
        .map_err(|_| not_serving(NotServingWhy::NoAnswer(HEALTH_WAIT.as_secs())))??;
    println!("{LENDER_SERVICE}: {}", status.as_str_name());
    match status {
        tonic_health::pb::health_check_response::ServingStatus::Serving => Ok(()),
        _ => Err(not_serving(NotServingWhy::Status(status.as_str_name()))),
    }
}

/// How long `lender health` waits for the server's answer.
const HEALTH_WAIT: Duration = Duration::from_secs(3);

fn not_serving(why: NotServingWhy) -> CliError {
    CliError::NotServing {
        service: LENDER_SERVICE.to_owned(),
        why,
    }
}

/// The running server's address as seen from this host.
fn local_endpoint(config: &Config) -> Result<tonic::transport::Endpoint, CliError> {
    let port = config.listen.rsplit_once(':').map_or("5000", |(_, p)| p);
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .map_err(|e| CliError::Setting {
            name: "LENDER_LISTEN",
            value: config.listen.clone(),
            why: e.to_string(),
        })?;
    Ok(endpoint.connect_timeout(Duration::from_secs(1)))
}

/// A client of the running server's admin service, if one answers.
pub(super) async fn admin_client(
    config: &Config,
) -> Option<AdminClient<tonic::transport::Channel>> {
    let endpoint = local_endpoint(config).ok()?;
    Some(AdminClient::new(endpoint.connect().await.ok()?))
}

/// Asks a running server (it holds the database file open).
async fn jobs_from_server(config: &Config, limit: usize) -> Option<Vec<JobRecord>> {
    let reply = admin_client(config)
        .await?
        .jobs(JobsRequest {
            limit: u32::try_from(limit).unwrap_or(u32::MAX),
        })
        .await
        .ok()?;
    serde_json::from_str(&reply.into_inner().jobs_json).ok()
}

/// Reads the database file of a stopped server.
async fn jobs_from_file(config: &Config, limit: usize) -> Result<Vec<JobRecord>, CliError> {
    if !config.db_path.exists() {
        return Ok(vec![]);
    }
    let store = open_store_file(config).await?;
    Ok(store.history().jobs(limit)?)
}

pub(super) async fn open_store_file(config: &Config) -> Result<Arc<Store>, CliError> {
    let store = Store::open(&config.db_path)
        .await
        .map_err(|source| CliError::StoreHeld {
            source,
            listen: config.listen.clone(),
        })?;
    Ok(Arc::new(store))
}
