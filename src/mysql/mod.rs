//! All MySQL access: connecting with bounded backoff (MySQL loads its dump slowly at first
//! start) and streaming the export query into Arrow batches whose types follow the MySQL
//! column types and nullability. Rows are never all in memory: a bounded channel of batches
//! connects this reader to the Parquet writer, so the two overlap and back-pressure works.
//!
//! The export's rows come through a connection of our own (`wire`) whose row packets are
//! decoded straight into Arrow builders (`binary`): mysql_async would build a `Value` per
//! cell first, which cost a third of the server's CPU during an export. mysql_async still
//! serves everything else (ping, KILL) and, in tests, decodes the same query as the oracle.

mod binary;
mod builders;
#[cfg(test)]
mod fake_server;
#[cfg(test)]
mod live;
#[cfg(test)]
mod row_props;
mod schema;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod text;
mod tls;
mod values;
mod wire;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use mysql_async::Opts;
use tokio::{sync::mpsc, task::JoinHandle};

pub use self::schema::{parse_decimal, schema_of};
use self::{
    builders::BatchBuilder,
    wire::{Settings, Wire},
};
use crate::{
    config::Config,
    error::{Error, MySqlError, Result},
    fingerprint::row_digest,
};

/// The export rule, stated once: every `loans` column plus the type's name, loans strictly
/// between $30k and $800k. No ORDER BY: MariaDB would sort the whole result before sending
/// the first row; the export clusters rows by county itself (jobs::cluster). The tests and
/// the benchmark read the same file.
pub const EXPORT_QUERY: &str = include_str!("../export_query.sql");

/// Idle time before the kernel probes a silent connection: a path that drops packets is
/// found by TCP itself, not only by our stall bound.
const TCP_KEEPALIVE: Duration = Duration::from_secs(10);

/// Bound of a quick exchange with MySQL (a ping, a goodbye).
const QUICK: Duration = Duration::from_secs(3);

/// Bound of one connect (TCP, TLS, login) while waiting for MySQL to come up.
const CONNECT_BOUND: Duration = Duration::from_secs(10);

/// Bound of ending a failed export's query: one connection and one `KILL`, milliseconds on
/// a server that answers. The failed attempt waits for it before DbToHdfs answers (so no
/// retry runs beside the query), and a frozen server never answers: the caller's error
/// comes this much after the stall bound.
const KILL_BOUND: Duration = Duration::from_millis(1500);

/// How a read ended without an error.
enum Read {
    /// Every row was sent, then `End`.
    Complete,
    /// The consumer gave up (its own error ends the export).
    Abandoned,
}

/// ER_LOCK_WAIT_TIMEOUT: the session's lock wait bound ran out.
const LOCK_WAIT_TIMEOUT: u16 = 1205;

/// What the reader hands on: batches of rows, then the end of the data with the number of
/// rows sent. A channel that closes without `End` means the reader died: the data is cut
/// short, never complete.
pub enum Delivery {
    /// Rows, and each row's digest in the same order (see [`crate::fingerprint`]).
    Batch(RecordBatch, Vec<u128>),
    End {
        rows: u64,
    },
}

#[derive(Clone)]
pub struct MySql {
    settings: Arc<Settings>,
    wait: Duration,
    stall: Duration,
}

impl MySql {
    /// The client of `config`'s MySQL; every setting it cannot honour (a URL option, a CA
    /// or key file it cannot read) is an error here, at start-up, naming it.
    pub fn new(config: &Config) -> Result<Self> {
        let url = &config.mysql_url;
        let bad = |why: String| Error::InvalidInput(format!("LENDER_MYSQL_URL: {why}"));
        if let Some((_, options)) = url.split_once('?')
            && !options.is_empty()
        {
            return Err(bad(format!(
                "options after '?' ({options}) are not read: TLS is set by LENDER_MYSQL_SSL_MODE and LENDER_MYSQL_SSL_CA, the rest has no equivalent; remove them"
            )));
        }
        let opts = Opts::from_url(url).map_err(|e| bad(format!("{url:?} is not usable: {e}")))?;
        let tls = tls::client_config(config.mysql_ssl_mode, config.mysql_ssl_ca.as_deref())
            .map_err(Error::InvalidInput)?;
        let server_public_key = match &config.mysql_server_public_key {
            Some(path) => Some(read_public_key(path)?),
            None => None,
        };
        // A table locked by another session fails the query after the stall bound instead
        // of MySQL's default of a day (MariaDB) or a year (MySQL).
        let lock_wait = format!(
            "SET SESSION lock_wait_timeout = {}",
            config.mysql_stall.as_secs().max(1)
        );
        let settings = Settings {
            host: opts.ip_or_hostname().to_owned(),
            port: opts.tcp_port(),
            user: opts.user().map(str::to_owned),
            pass: opts.pass().map(str::to_owned),
            db: opts.db_name().map(str::to_owned),
            init: vec![lock_wait],
            ssl_mode: config.mysql_ssl_mode,
            tls,
            server_public_key,
            get_server_public_key: config.mysql_get_server_public_key,
            max_packet: config.mysql_max_packet,
            keepalive: TCP_KEEPALIVE,
            connect_bound: CONNECT_BOUND,
        };
        Ok(MySql {
            settings: Arc::new(settings),
            wait: config.mysql_wait,
            stall: config.mysql_stall,
        })
    }

    /// A mysql_async connection to the same server (the oracle of the tests), over TLS
    /// when the server offers it.
    #[cfg(test)]
    pub async fn connect(&self) -> Result<mysql_async::Conn> {
        use mysql_async::{OptsBuilder, SslOpts};
        let s = &self.settings;
        let opts = OptsBuilder::default()
            .ip_or_hostname(s.host.clone())
            .tcp_port(s.port)
            .user(s.user.clone())
            .pass(s.pass.clone())
            .db_name(s.db.clone());
        let tls = opts
            .clone()
            .ssl_opts(SslOpts::default().with_danger_accept_invalid_certs(true));
        match mysql_async::Conn::new(tls).await {
            Ok(conn) => Ok(conn),
            Err(mysql_async::Error::Driver(
                mysql_async::DriverError::NoClientSslFlagFromServer,
            )) => mysql_async::Conn::new(opts)
                .await
                .map_err(|e| Error::InvalidInput(format!("oracle connection: {e}"))),
            Err(e) => Err(Error::InvalidInput(format!("oracle connection: {e}"))),
        }
    }

    /// The export's connection, retried as [`MySql::retrying`] says.
    async fn open_wire(&self) -> Result<Wire> {
        self.retrying(|| Wire::open(&self.settings)).await
    }

    /// Runs `attempt` (a connect, bounded by its settings), retrying with exponential
    /// backoff (0.5 s doubling to 5 s) while MySQL is not reachable or not up yet, until
    /// `wait` has passed. A permanent refusal (access denied, unknown database, TLS
    /// required or refused, an authentication method we do not use) fails at once with
    /// the server's own message: waiting would not change it.
    async fn retrying<T, F>(&self, mut attempt: impl FnMut() -> F) -> Result<T>
    where
        F: Future<Output = Result<T, MySqlError>>,
    {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut delay = Duration::from_millis(500);
        let target = self.settings.target();
        loop {
            let error = match attempt().await {
                Ok(connected) => return Ok(connected),
                Err(e) if e.is_permanent() => {
                    let context = format!("at {target} refused the connection");
                    tracing::warn!(%target, error = %e, "MySQL refused the connection; not retrying");
                    return Err(Error::mysql(context, e));
                }
                Err(e) => e,
            };
            if tokio::time::Instant::now() + delay > deadline {
                return Err(Error::Unavailable(format!(
                    "MySQL at {target} not reachable after {} s: {error}",
                    self.wait.as_secs()
                )));
            }
            tracing::info!(%target, %error, retry_in_ms = delay.as_millis() as u64, "waiting for MySQL");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }

    /// Runs `query` and streams its rows as Arrow batches of `batch_rows` rows. The schema
    /// is known once the query has started; errors after that arrive through the channel.
    /// The reader task ends once the rows are sent or the receiver is dropped (then it ends
    /// the query on the server); its handle comes back so the caller can wait for that.
    pub async fn stream(
        &self,
        query: &'static str,
        batch_rows: usize,
    ) -> Result<(SchemaRef, mpsc::Receiver<Result<Delivery>>, JoinHandle<()>)> {
        let mut wire = self.open_wire().await?;
        tracing::info!(
            target = %self.settings.target(),
            tls = wire.is_tls(),
            server = wire.server_version(),
            "connected to MySQL"
        );
        let (schema_tx, schema_rx) = tokio::sync::oneshot::channel();
        let (tx, rx) = mpsc::channel(2);
        let (stall, reader) = (self.stall, self.clone());
        let task = tokio::spawn(async move {
            let mut schema_tx = Some(schema_tx);
            let sent = Progress::default();
            let outcome = tokio::select! {
                result = pump(&mut wire, query, batch_rows, (&sent, stall), &mut schema_tx, &tx) => result,
                stalled = no_progress(&sent, stall) => Err(stalled),
                () = tx.closed() => Ok(Read::Abandoned),
            };
            let complete = matches!(outcome, Ok(Read::Complete));
            match (outcome, schema_tx) {
                (Err(e), Some(schema_tx)) => {
                    let _ = schema_tx.send(Err(e));
                }
                (Err(e), None) => {
                    let _ = tx.send(Err(e)).await;
                }
                (Ok(_), _) => {}
            }
            if complete {
                let _ = tokio::time::timeout(QUICK, wire.quit()).await;
            } else {
                reader.kill(wire.id()).await;
            }
        });
        let schema = schema_rx
            .await
            .map_err(|_| Error::Aborted("MySQL reader stopped before sending a schema".into()))??;
        Ok((schema, rx, task))
    }

    /// Ends connection `id` on the server, and its query with it: dropping our end alone
    /// leaves a query waiting on a lock, or a result still being sent, to run on beside the
    /// next attempt. Bounded: a frozen server gets one try of [`KILL_BOUND`].
    async fn kill(&self, id: u32) {
        let kill = async {
            let mut wire = Wire::open(&self.settings).await?;
            wire.query_drop(&format!("KILL {id}")).await?;
            wire.quit().await
        };
        match tokio::time::timeout(KILL_BOUND, kill).await {
            Ok(Ok(())) => tracing::info!(connection = id, "ended the export's MySQL query"),
            Ok(Err(e)) => {
                tracing::warn!(connection = id, error = %e, "could not end the export's MySQL query")
            }
            Err(_) => tracing::warn!(
                connection = id,
                bound_ms = KILL_BOUND.as_millis() as u64,
                "could not end the export's MySQL query: MySQL did not answer in time"
            ),
        }
    }

    /// One quick connection (bounded at 3 s, no retries): the server's version and whether
    /// the connection is encrypted, or why not (the server's own message when it refuses).
    pub async fn ping(&self) -> Result<String> {
        let target = self.settings.target();
        let check = async {
            let wire = Wire::open(&self.settings).await?;
            let version = format!(
                "{}, {}",
                wire.server_version(),
                if wire.is_tls() { "TLS" } else { "no TLS" }
            );
            let _ = wire.quit().await;
            Ok::<_, MySqlError>(version)
        };
        match tokio::time::timeout(QUICK, check).await {
            Ok(Ok(version)) => Ok(version),
            Ok(Err(e)) => Err(Error::Unavailable(format!("MySQL at {target}: {e}"))),
            Err(_) => Err(Error::Unavailable(format!(
                "MySQL at {target}: no answer within 3 s"
            ))),
        }
    }
}

/// The server's RSA public key from `path`, checked now: a key mysql_common cannot use
/// would otherwise fail the first full authentication.
fn read_public_key(path: &std::path::Path) -> Result<Arc<[u8]>> {
    let named = |why: String| {
        Error::InvalidInput(format!(
            "LENDER_MYSQL_SERVER_PUBLIC_KEY={}: {why}",
            path.display()
        ))
    };
    let pem = std::fs::read(path).map_err(|e| named(e.to_string()))?;
    if wire::rsa_encrypt(b"probe\0", &pem).is_none() {
        return Err(named("not an RSA public key in PEM form".into()));
    }
    Ok(pem.into())
}

type SchemaSender = Option<tokio::sync::oneshot::Sender<Result<SchemaRef>>>;

/// How far the reader got, watched by [`no_progress`]: rows fetched, and whether it is
/// waiting on us (a full channel while HDFS is slow is not MySQL's stall).
#[derive(Default)]
struct Progress {
    rows: AtomicU64,
    handing_on: AtomicBool,
}

/// Resolves (with the error to report) once the reader has waited on MySQL for `stall`
/// with no row. Checked ten times per bound, so the error comes between one and 1.1 bounds
/// after the last row; cheaper than a timer per row.
async fn no_progress(progress: &Progress, stall: Duration) -> Error {
    let mut tick = tokio::time::interval((stall / 10).max(Duration::from_millis(50)));
    let mut last = progress.rows.load(Ordering::Relaxed);
    let mut since = tokio::time::Instant::now();
    loop {
        tick.tick().await;
        let now = progress.rows.load(Ordering::Relaxed);
        if now != last || progress.handing_on.load(Ordering::Relaxed) {
            (last, since) = (now, tokio::time::Instant::now());
        } else if since.elapsed() >= stall {
            return stalled(
                stall,
                now,
                "the server stopped answering, or a table is locked",
            );
        }
    }
}

fn stalled(stall: Duration, rows: u64, why: &str) -> Error {
    Error::Stalled(format!(
        "MySQL sent no rows for {} s (the export query, after {rows} rows: {why}); the old export stays. Check the MySQL server, then call DbToHdfs again",
        stall.as_secs()
    ))
}

/// Prepares and executes `query` on `wire`, sends its schema, then its rows in batches of
/// `batch_rows`, then `End`.
async fn pump(
    wire: &mut Wire,
    query: &'static str,
    batch_rows: usize,
    (fetched, stall): (&Progress, Duration),
    schema_tx: &mut SchemaSender,
    tx: &mpsc::Sender<Result<Delivery>>,
) -> Result<Read> {
    let mysql_err = |e| mysql_error(e, stall, fetched);
    let statement = wire.prepare(query).await.map_err(mysql_err)?;
    let columns = wire.execute(statement).await.map_err(mysql_err)?;
    let schema = schema_of(&columns);
    let cells = binary::cells(&columns)?;
    if let Some(sender) = schema_tx.take() {
        let _ = sender.send(Ok(schema.clone()));
    }
    let mut batch = BatchBuilder::new(schema, batch_rows);
    let mut digests = Vec::with_capacity(batch_rows);
    let mut rows = 0u64;
    let mut packet = Vec::new();
    while wire.next_row(&mut packet).await.map_err(mysql_err)? {
        batch.push_binary(&cells, &packet)?;
        // The packet is the row's exact encoding, and it is in hand: hash it here.
        digests.push(row_digest(&packet));
        rows += 1;
        if batch.len() == batch_rows
            && !hand_on(&mut batch, &mut digests, rows, fetched, tx).await?
        {
            return Ok(Read::Abandoned);
        }
    }
    if batch.len() > 0 && !hand_on(&mut batch, &mut digests, rows, fetched, tx).await? {
        return Ok(Read::Abandoned);
    }
    let _ = tx.send(Ok(Delivery::End { rows })).await;
    Ok(Read::Complete)
}

/// Sends a full batch on; false if the consumer gave up. While the channel is full we wait
/// on the consumer, not on MySQL: [`no_progress`] does not count that time.
async fn hand_on(
    batch: &mut BatchBuilder,
    digests: &mut Vec<u128>,
    rows: u64,
    fetched: &Progress,
    tx: &mpsc::Sender<Result<Delivery>>,
) -> Result<bool> {
    fetched.rows.store(rows, Ordering::Relaxed);
    fetched.handing_on.store(true, Ordering::Relaxed);
    let digests = std::mem::replace(digests, Vec::with_capacity(digests.capacity()));
    let handed = tx.send(Ok(Delivery::Batch(batch.finish()?, digests))).await;
    fetched.handing_on.store(false, Ordering::Relaxed);
    Ok(handed.is_ok())
}

/// A MySQL error of the export query, with context; the session's lock-wait bound running
/// out is the stall it is there to catch.
fn mysql_error(e: MySqlError, stall: Duration, fetched: &Progress) -> Error {
    match e.server_code() {
        Some(LOCK_WAIT_TIMEOUT) => stalled(
            stall,
            fetched.rows.load(Ordering::Relaxed),
            "a table it reads stayed locked by another session",
        ),
        _ => Error::mysql("streaming the export query", e),
    }
}
