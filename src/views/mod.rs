//! The operator views: job history, health and partitions as data, their text and their
//! formatting, and the cached copies the running server serves. One module for every face
//! that shows them: the admin gRPC service and the web board (in [`crate::api`]) answer
//! from [`Views`], and the command line (`lender jobs/job/health/partitions`) renders the
//! same reports with the same functions, so the terminal, the JSON and the board agree.
//!
//! It sits below `api`, `server` and `cli` and imports none of them (only the engine:
//! `jobs`, `store`, `hdfs`); the submodules import each other directly, never through this
//! file.
//!
//! * [`history`]: filters over the job history, finding a job by id prefix, its text;
//! * [`health`]: the dependency report as text;
//! * [`partitions`]: the county files' report (store + NameNode) and its text;
//! * [`latency`]: CalcAvgLoan's answer times by source;
//! * [`format`]: numbers and times as the views show them;
//! * [`shared`] and `cache`: the views the server serves, each refreshed at most once a
//!   second for every caller.

mod cache;
pub mod format;
pub mod health;
pub mod history;
pub mod latency;
pub mod partitions;
pub mod shared;

pub use format::{format_ms, format_time, thousands};
pub use history::{
    ExportRun, JobFilter, JobLookup, describe_progress, find_job, parse_duration, recent_exports,
    since_ms,
};
pub use partitions::{PartitionState, PartitionsReport};
pub use shared::Views;
