//! The operator interface: job history for `lender jobs` while the server runs, and the
//! `lender health` / `lender partitions` views.

use std::sync::Arc;

use serde::Serialize;
use tonic::{Request, Response, Status};

use crate::views::Views;

pub mod proto {
    tonic::include_proto!("lender.admin");
}

pub use proto::admin_server::AdminServer;
use proto::{
    HealthReply, HealthRequest, JobsReply, JobsRequest, PartitionsReply, PartitionsRequest,
    admin_server::Admin,
};

/// Health and Partitions answer from the shared views, up to 1 s old (see [`Views`]).
pub struct AdminService {
    views: Arc<Views>,
}

impl AdminService {
    pub fn new(views: Arc<Views>) -> Self {
        AdminService { views }
    }
}

fn to_json(report: &impl Serialize) -> Result<String, Status> {
    serde_json::to_string(report).map_err(|e| Status::internal(format!("encoding the view: {e}")))
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn jobs(&self, request: Request<JobsRequest>) -> Result<Response<JobsReply>, Status> {
        let limit = request.into_inner().limit.clamp(1, 10_000) as usize;
        let jobs = self
            .views
            .jobs(limit)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(JobsReply {
            jobs_json: to_json(&jobs)?,
        }))
    }

    async fn partitions(
        &self,
        _: Request<PartitionsRequest>,
    ) -> Result<Response<PartitionsReply>, Status> {
        let report = self.views.partitions().await.map_err(Status::unavailable)?;
        let report_json = to_json(&*report)?;
        Ok(Response::new(PartitionsReply { report_json }))
    }

    async fn health(&self, _: Request<HealthRequest>) -> Result<Response<HealthReply>, Status> {
        let report_json = to_json(&*self.views.health().await)?;
        Ok(Response::new(HealthReply { report_json }))
    }
}
