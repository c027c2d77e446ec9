//! lender: moves a MySQL loans table into Parquet on HDFS and answers per-county loan
//! questions from it, and keeps answering when an HDFS DataNode dies.
//!
//! * [`api`] translates gRPC calls into jobs and back;
//! * [`jobs`] holds the work (export, partition) and runs it from a redb-backed apalis queue;
//! * [`store`] owns our redb tables (job history, partitions, export generation);
//! * [`mysql`], [`hdfs`] and [`webhdfs`] are the only places that talk to MySQL, HDFS and
//!   the NameNode's HTTP API; [`loans`] knows the data's two interesting columns;
//! * [`cli`] is the command line (`lender serve` and the operator views), the crate's only
//!   public module: everything else is private, so the compiler reports dead code.

mod api;
mod config;
mod error;
mod hdfs;
mod health_view;
mod history_view;
mod jobs;
mod loans;
mod mysql;
mod partitions_view;
mod spool;
mod store;
mod telemetry;
mod webhdfs;

pub mod cli;

pub(crate) use error::Error;
