//! lender: moves a MySQL loans table into Parquet on HDFS and answers per-county loan
//! questions from it, and keeps answering when an HDFS DataNode dies.
//!
//! * [`api`] translates gRPC calls into jobs and back;
//! * [`jobs`] holds the work (export, partition) and runs it from a redb-backed apalis queue;
//! * [`store`] owns our redb tables (job history, partitions, export generation);
//! * [`mysql`], [`hdfs`] and [`webhdfs`] are the only places that talk to MySQL, HDFS and
//!   the NameNode's HTTP API; [`loans`] knows the data's two interesting columns.

pub mod api;
pub mod config;
pub mod error;
pub mod hdfs;
pub mod health_view;
pub mod history_view;
pub mod jobs;
pub mod loans;
pub mod mysql;
pub mod partitions_view;
pub mod spool;
pub mod store;
pub mod webhdfs;

pub use error::{Error, Result};
