//! The operator interface: job history for `lender jobs` while the server runs.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::jobs::Jobs;

pub mod proto {
    tonic::include_proto!("lender.admin");
}

pub use proto::admin_server::AdminServer;
use proto::{
    HealthReply, HealthRequest, JobsReply, JobsRequest, PartitionsReply, PartitionsRequest,
    admin_server::Admin,
};

pub struct AdminService {
    jobs: Arc<Jobs>,
}

impl AdminService {
    pub fn new(jobs: Arc<Jobs>) -> Self {
        AdminService { jobs }
    }
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
        let report = crate::partitions_view::report(
            self.jobs.store(),
            self.jobs.webhdfs(),
            &self.jobs.suspect_datanodes(),
        )
        .await
        .map_err(|e| Status::unavailable(e.to_string()))?;
        let report_json =
            serde_json::to_string(&report).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(PartitionsReply { report_json }))
    }

    async fn health(&self, _: Request<HealthRequest>) -> Result<Response<HealthReply>, Status> {
        let report = self.jobs.health_report().await;
        let report_json =
            serde_json::to_string(&report).map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(HealthReply { report_json }))
    }
}
