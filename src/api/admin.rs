//! The operator interface: job history for `lender jobs` while the server runs, and the
//! `lender health` / `lender partitions` views.

use std::{sync::Arc, time::Duration};

use serde::Serialize;
use tonic::{Request, Response, Status};

use super::cache::Cached;
use crate::jobs::Jobs;

pub mod proto {
    tonic::include_proto!("lender.admin");
}

pub use proto::admin_server::AdminServer;
use proto::{
    HealthReply, HealthRequest, JobsReply, JobsRequest, PartitionsReply, PartitionsRequest,
    admin_server::Admin,
};

/// How old a Health or Partitions answer may be. Each one asks MySQL (a new connection) and
/// the NameNode (once per county file); calls within this interval share one answer.
const VIEW_REFRESH: Duration = Duration::from_secs(1);

/// A view's JSON, or the status its refresh ended with (also shared for the interval).
type ViewJson = Result<String, Status>;

pub struct AdminService {
    jobs: Arc<Jobs>,
    health: Cached<ViewJson>,
    partitions: Cached<ViewJson>,
}

impl AdminService {
    pub fn new(jobs: Arc<Jobs>) -> Self {
        AdminService {
            jobs,
            health: Cached::new(VIEW_REFRESH),
            partitions: Cached::new(VIEW_REFRESH),
        }
    }

    async fn partitions_json(&self) -> ViewJson {
        let report = crate::partitions_view::report(
            self.jobs.store(),
            self.jobs.webhdfs(),
            &self.jobs.suspect_datanodes(),
        )
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
        to_json(&report)
    }

    async fn health_json(&self) -> ViewJson {
        to_json(&self.jobs.health_report().await)
    }
}

fn to_json(report: &impl Serialize) -> ViewJson {
    serde_json::to_string(report).map_err(|e| Status::internal(format!("encoding the view: {e}")))
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn jobs(&self, request: Request<JobsRequest>) -> Result<Response<JobsReply>, Status> {
        let limit = request.into_inner().limit.clamp(1, 10_000) as usize;
        let mut jobs = self
            .jobs
            .store()
            .jobs(limit)
            .map_err(|e| Status::internal(e.to_string()))?;
        self.jobs.attach_progress(&mut jobs);
        let jobs_json =
            serde_json::to_string(&jobs).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(JobsReply { jobs_json }))
    }

    async fn partitions(
        &self,
        _: Request<PartitionsRequest>,
    ) -> Result<Response<PartitionsReply>, Status> {
        let report_json = self
            .partitions
            .get_or_refresh(|| self.partitions_json())
            .await?;
        Ok(Response::new(PartitionsReply { report_json }))
    }

    async fn health(&self, _: Request<HealthRequest>) -> Result<Response<HealthReply>, Status> {
        let report_json = self.health.get_or_refresh(|| self.health_json()).await?;
        Ok(Response::new(HealthReply { report_json }))
    }
}
