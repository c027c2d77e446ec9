//! lender: moves a MySQL loans table into Parquet on HDFS and answers per-county loan
//! questions from it, and keeps answering when an HDFS DataNode dies.
//!
//! The folders draw the data's path: a gRPC call enters [`api`], becomes a job in [`jobs`],
//! which reads MySQL ([`mysql`]), encodes Parquet ([`parquet`]) through a local [`spool`]
//! and writes and reads HDFS ([`hdfs`]), recording what it did in [`store`].
//!
//! * [`api`] translates gRPC calls into jobs and back (the contract's service, the admin
//!   service the operator views ask, the standard health service, the web board);
//! * [`jobs`] holds the work: `export` (DbToHdfs: MySQL -> clusterer -> encoder -> spool ->
//!   upload), `partition` (CalcAvgLoan: decide, then reuse a county file or cut one from the
//!   big file), `runner` (the redb-backed apalis queue, its workers, the dispatcher that
//!   lets calls join one job, the per-attempt bookkeeping, retention) and `health` (the
//!   DataNode watchdog and the dependency report);
//! * [`store`] owns our redb tables (job history, partitions, export generation);
//! * [`mysql`] and [`hdfs`] are the only places that talk to MySQL and HDFS ([`hdfs`]: the
//!   hdfs-native client, atomic publication, WebHDFS REST, the NameNode's JMX view, TCP
//!   probes of DataNodes); [`parquet`] writes Parquet on several threads and reads it from
//!   HDFS, and holds the jobs' Parquet formats (county files, spill segments); [`spool`] is the local file between the encoder and an upload;
//! * [`loans`] knows the data's two interesting columns; [`config`] reads the settings;
//!   [`error`] is the crate's error type; [`telemetry`] the metrics; [`sync`] the one way
//!   we take a std mutex;
//! * [`views`] are the operator views (job history, health, partitions): their data, text,
//!   formatting and the cached copies the admin service and the board answer from;
//! * [`server`] starts the server (`lender serve`): the gRPC services, the metrics, the
//!   board, until a signal;
//! * [`cli`] is the command line (`lender serve` and the operator views: jobs, health,
//!   partitions), the crate's only public module: everything else is private, so the
//!   compiler reports dead code.
//!
//! Imports only point down, and no module imports one that imports it: `cli` -> `server`
//! -> `api` -> `views` -> the engine (`jobs`, then `store`, `mysql`, `hdfs`, `parquet`,
//! `spool`, ...). The engine imports no view, and `views` imports neither `api` nor `cli`.

mod api;
mod config;
mod error;
mod fingerprint;
mod hdfs;
mod jobs;
mod loans;
mod mysql;
mod parquet;
mod server;
mod spool;
mod store;
mod sync;
mod telemetry;
mod views;

pub mod cli;

pub(crate) use error::Error;
