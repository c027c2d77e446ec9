//! The gRPC face. It only translates: request -> job (or store read) -> response. Errors
//! go into the `error` field (or the `status` text for DbToHdfs) and the log, never a
//! crash and never a gRPC status the contract's client would not print.

pub mod admin;
pub mod board;
pub mod standard;

use std::{sync::Arc, time::Instant};

use tonic::{Request, Response, Status};

use crate::{jobs::Jobs, telemetry};

pub mod proto {
    tonic::include_proto!("_");
}

use proto::{
    BlockLocationsReq, BlockLocationsResp, CalcAvgLoanReq, CalcAvgLoanResp, Empty, StatusString,
    lender_server::Lender,
};

pub use proto::lender_server::LenderServer;

pub struct LenderService {
    jobs: Arc<Jobs>,
}

impl LenderService {
    pub fn new(jobs: Arc<Jobs>) -> Self {
        LenderService { jobs }
    }
}

#[tonic::async_trait]
impl Lender for LenderService {
    async fn db_to_hdfs(&self, _: Request<Empty>) -> Result<Response<StatusString>, Status> {
        let started = Instant::now();
        let status = match self.jobs.export().await {
            Ok(outcome) => outcome.status(),
            Err(e) => {
                tracing::error!(error = %e, "DbToHdfs failed");
                format!("error: DbToHdfs failed: {e}")
            }
        };
        let ok = !status.starts_with("error");
        telemetry::rpc_answered("DbToHdfs", ok, started.elapsed());
        Ok(Response::new(StatusString { status }))
    }

    async fn block_locations(
        &self,
        request: Request<BlockLocationsReq>,
    ) -> Result<Response<BlockLocationsResp>, Status> {
        let started = Instant::now();
        let path = request.into_inner().path;
        let reply = match self.jobs.webhdfs().blocks_per_host(&path).await {
            Ok(counts) => BlockLocationsResp {
                block_entries: counts.into_iter().collect(),
                error: String::new(),
            },
            Err(e) => {
                // Debug formatting escapes the client's path (also inside the error text), so
                // a newline in it cannot forge a log line.
                tracing::warn!(
                    path = ?shorten(&path),
                    error = ?e.to_string(),
                    "BlockLocations failed"
                );
                BlockLocationsResp {
                    block_entries: Default::default(),
                    error: e.to_string(),
                }
            }
        };
        telemetry::rpc_answered("BlockLocations", reply.error.is_empty(), started.elapsed());
        Ok(Response::new(reply))
    }

    async fn calc_avg_loan(
        &self,
        request: Request<CalcAvgLoanReq>,
    ) -> Result<Response<CalcAvgLoanResp>, Status> {
        let started = Instant::now();
        let county = request.into_inner().county_code;
        let reply = match self.jobs.average_loan(county).await {
            Ok(answer) => match i32::try_from(answer.average) {
                Ok(avg_loan) => CalcAvgLoanResp {
                    avg_loan,
                    source: answer.source.as_str().into(),
                    error: String::new(),
                },
                Err(_) => error_reply(format!(
                    "county {county}: average {} does not fit int32",
                    answer.average
                )),
            },
            Err(e) => {
                tracing::warn!(county, error = %e, "CalcAvgLoan failed");
                error_reply(format!("county {county}: {e}"))
            }
        };
        telemetry::rpc_answered("CalcAvgLoan", reply.error.is_empty(), started.elapsed());
        Ok(Response::new(reply))
    }
}

fn error_reply(error: String) -> CalcAvgLoanResp {
    CalcAvgLoanResp {
        avg_loan: 0,
        source: String::new(),
        error,
    }
}

fn shorten(path: &str) -> &str {
    let cut = (0..=path.len().min(120))
        .rev()
        .find(|&i| path.is_char_boundary(i))
        .unwrap_or(0);
    &path[..cut]
}
