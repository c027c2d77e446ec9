//! All MySQL access: connecting with bounded backoff (MySQL loads its dump slowly at first
//! start) and streaming the export query into Arrow batches whose types follow the MySQL
//! column types and nullability. Rows are never all in memory: a bounded channel of batches
//! connects this reader to the Parquet writer, so the two overlap and back-pressure works.

use std::{
    borrow::Cow,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use arrow::{
    array::{
        ArrayBuilder, ArrayRef, BinaryBuilder, Date32Builder, Decimal128Builder, Float32Builder,
        Float64Builder, Int32Builder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
        UInt64Builder,
    },
    datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit},
    record_batch::RecordBatch,
};
use mysql_async::{
    Column, Conn, Opts, OptsBuilder, Row, Value,
    consts::{ColumnFlags, ColumnType},
    prelude::Queryable,
};
use tokio::sync::mpsc;

use crate::{
    config::Config,
    error::{Error, Result},
};

/// The export rule, stated once: every `loans` column plus the type's name, loans strictly
/// between $30k and $800k. No ORDER BY: MariaDB would sort the whole result before sending
/// the first row; the export clusters rows by county itself (jobs::cluster). The tests and
/// the benchmark read the same file.
pub const EXPORT_QUERY: &str = include_str!("export_query.sql");

/// Binary character set id: such string columns hold bytes, not text.
const BINARY_CHARSET: u16 = 63;

/// Idle time before the kernel probes a silent connection: a path that drops packets is
/// found by TCP itself, not only by our stall bound.
const TCP_KEEPALIVE: Duration = Duration::from_secs(10);

/// Bound of a quick exchange with MySQL (a ping, a KILL, a goodbye).
const QUICK: Duration = Duration::from_secs(3);

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
    Batch(RecordBatch),
    End { rows: u64 },
}

#[derive(Clone)]
pub struct MySql {
    opts: Opts,
    wait: Duration,
    stall: Duration,
}

impl MySql {
    pub fn new(config: &Config) -> Result<Self> {
        let url = &config.mysql_url;
        let opts = Opts::from_url(url)
            .map_err(|e| Error::InvalidInput(format!("bad MySQL URL {url:?}: {e}")))?;
        // A table locked by another session fails the query after the stall bound instead
        // of MySQL's default of a day (MariaDB) or a year (MySQL).
        let lock_wait = format!(
            "SET SESSION lock_wait_timeout = {}",
            config.mysql_stall.as_secs().max(1)
        );
        let opts = OptsBuilder::from_opts(opts)
            .tcp_keepalive(Some(TCP_KEEPALIVE))
            .init(vec![lock_wait])
            .into();
        Ok(MySql {
            opts,
            wait: config.mysql_wait,
            stall: config.mysql_stall,
        })
    }

    /// Connects, retrying with exponential backoff (0.5 s doubling to 5 s) until `wait`
    /// has passed; then fails with the last error.
    pub async fn connect(&self) -> Result<Conn> {
        let deadline = tokio::time::Instant::now() + self.wait;
        let mut delay = Duration::from_millis(500);
        let target = format!("{}:{}", self.opts.ip_or_hostname(), self.opts.tcp_port());
        loop {
            let attempt =
                tokio::time::timeout(Duration::from_secs(10), Conn::new(self.opts.clone()));
            let error = match attempt.await {
                Ok(Ok(conn)) => return Ok(conn),
                Ok(Err(e)) => e.to_string(),
                Err(_) => "connect timed out after 10 s".to_owned(),
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
    pub async fn stream(
        &self,
        query: &'static str,
        batch_rows: usize,
    ) -> Result<(SchemaRef, mpsc::Receiver<Result<Delivery>>)> {
        let mut conn = self.connect().await?;
        let (schema_tx, schema_rx) = tokio::sync::oneshot::channel();
        let (tx, rx) = mpsc::channel(2);
        let (stall, reader) = (self.stall, self.clone());
        tokio::spawn(async move {
            let mut schema_tx = Some(schema_tx);
            let sent = Progress::default();
            let outcome = tokio::select! {
                result = pump(&mut conn, query, batch_rows, (&sent, stall), &mut schema_tx, &tx) => result,
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
                let _ = tokio::time::timeout(QUICK, conn.disconnect()).await;
            } else {
                reader.kill(conn.id()).await;
            }
        });
        let schema = schema_rx
            .await
            .map_err(|_| Error::Store("MySQL reader stopped before sending a schema".into()))??;
        Ok((schema, rx))
    }

    /// Ends connection `id` on the server, and its query with it: dropping our end alone
    /// leaves a query waiting on a lock, or a result still being sent, to run on beside the
    /// next attempt. Bounded: a frozen server gets one try of `QUICK`.
    async fn kill(&self, id: u32) {
        let kill = async {
            let mut conn = Conn::new(self.opts.clone()).await?;
            conn.query_drop(format!("KILL {id}")).await?;
            conn.disconnect().await
        };
        match tokio::time::timeout(QUICK, kill).await {
            Ok(Ok(())) => tracing::info!(connection = id, "ended the export's MySQL query"),
            Ok(Err(e)) => {
                tracing::warn!(connection = id, error = %e, "could not end the export's MySQL query")
            }
            Err(_) => tracing::warn!(
                connection = id,
                "could not end the export's MySQL query: MySQL did not answer within 3 s"
            ),
        }
    }

    /// One quick connection (bounded at 3 s, no retries): the server's version, or why not.
    pub async fn ping(&self) -> Result<String> {
        let target = format!("{}:{}", self.opts.ip_or_hostname(), self.opts.tcp_port());
        let unreachable = |why: String| Error::Unavailable(format!("MySQL at {target}: {why}"));
        let check = async {
            let mut conn = Conn::new(self.opts.clone())
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let version: Option<String> = conn
                .query_first("SELECT VERSION()")
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let _ = conn.disconnect().await;
            Ok(version.unwrap_or_default())
        };
        tokio::time::timeout(QUICK, check)
            .await
            .unwrap_or_else(|_| Err(unreachable("no answer within 3 s".into())))
    }
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

async fn pump(
    conn: &mut Conn,
    query: &'static str,
    batch_rows: usize,
    (fetched, stall): (&Progress, Duration),
    schema_tx: &mut SchemaSender,
    tx: &mpsc::Sender<Result<Delivery>>,
) -> Result<Read> {
    let context = "streaming the export query";
    let mysql_err = |e: mysql_async::Error| match &e {
        mysql_async::Error::Server(server) if server.code == LOCK_WAIT_TIMEOUT => stalled(
            stall,
            fetched.rows.load(Ordering::Relaxed),
            "a table it reads stayed locked by another session",
        ),
        _ => Error::mysql(context, e),
    };
    let mut result = conn.exec_iter(query, ()).await.map_err(mysql_err)?;
    let columns = result.columns().unwrap_or_else(|| Arc::from(Vec::new()));
    let schema = schema_of(&columns);
    if let Some(sender) = schema_tx.take() {
        let _ = sender.send(Ok(schema.clone()));
    }
    let mut batch = BatchBuilder::new(schema, batch_rows);
    let mut rows = 0u64;
    while let Some(row) = result.next().await.map_err(mysql_err)? {
        batch.push(row)?;
        rows += 1;
        if batch.len() == batch_rows {
            fetched.rows.store(rows, Ordering::Relaxed);
            fetched.handing_on.store(true, Ordering::Relaxed);
            let handed = tx.send(Ok(Delivery::Batch(batch.finish()?))).await;
            fetched.handing_on.store(false, Ordering::Relaxed);
            if handed.is_err() {
                return Ok(Read::Abandoned);
            }
        }
    }
    if batch.len() > 0 && tx.send(Ok(Delivery::Batch(batch.finish()?))).await.is_err() {
        return Ok(Read::Abandoned);
    }
    let _ = tx.send(Ok(Delivery::End { rows })).await;
    Ok(Read::Complete)
}

/// Arrow schema of a result set: one field per column, typed after the MySQL column type.
pub fn schema_of(columns: &[Column]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| {
            let nullable = !c.flags().contains(ColumnFlags::NOT_NULL_FLAG);
            Field::new(c.name_str().into_owned(), arrow_type(c), nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn arrow_type(column: &Column) -> DataType {
    use ColumnType::*;
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => DataType::Int32,
        MYSQL_TYPE_LONG if unsigned => DataType::Int64,
        MYSQL_TYPE_LONG => DataType::Int32,
        MYSQL_TYPE_LONGLONG if unsigned => DataType::UInt64,
        MYSQL_TYPE_LONGLONG => DataType::Int64,
        MYSQL_TYPE_FLOAT => DataType::Float32,
        MYSQL_TYPE_DOUBLE => DataType::Float64,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let (precision, scale) =
                decimal_shape(column.column_length(), column.decimals(), unsigned);
            DataType::Decimal128(precision, scale)
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => DataType::Date32,
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => DataType::Timestamp(TimeUnit::Microsecond, None),
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => DataType::Binary,
        MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_VARCHAR
            if column.character_set() == BINARY_CHARSET =>
        {
            DataType::Binary
        }
        // Text, ENUM, SET, JSON, TIME and anything newer: kept as text, losing nothing.
        _ => DataType::Utf8,
    }
}

/// MySQL reports DECIMAL(p,s) as display length p + sign + point.
fn decimal_shape(display_len: u32, scale: u8, unsigned: bool) -> (u8, i8) {
    let point = u32::from(scale > 0);
    let sign = u32::from(!unsigned);
    let precision = display_len.saturating_sub(point + sign).clamp(1, 38) as u8;
    (precision.max(scale), scale as i8)
}

/// One Arrow builder per column, filled row by row.
struct BatchBuilder {
    schema: SchemaRef,
    columns: Vec<ColumnBuilder>,
    rows: usize,
}

enum ColumnBuilder {
    Int32(Int32Builder),
    Int64(Int64Builder),
    UInt64(UInt64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal(Decimal128Builder, i8),
    Date(Date32Builder),
    Timestamp(TimestampMicrosecondBuilder),
    Binary(BinaryBuilder),
    Utf8(StringBuilder),
}

impl BatchBuilder {
    fn new(schema: SchemaRef, capacity: usize) -> Self {
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnBuilder::new(f.data_type(), capacity))
            .collect();
        BatchBuilder {
            schema,
            columns,
            rows: 0,
        }
    }

    fn len(&self) -> usize {
        self.rows
    }

    fn push(&mut self, mut row: Row) -> Result<()> {
        for (index, column) in self.columns.iter_mut().enumerate() {
            let value = row.take::<Value, _>(index).unwrap_or(Value::NULL);
            column.append(value).map_err(|why| {
                Error::InvalidInput(format!(
                    "column {} row {}: {why}",
                    self.schema.field(index).name(),
                    self.rows + 1
                ))
            })?;
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(ColumnBuilder::finish).collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| Error::arrow("assembling a batch of exported rows", e))
    }
}

impl ColumnBuilder {
    fn new(data_type: &DataType, capacity: usize) -> Self {
        match data_type {
            DataType::Int32 => Self::Int32(Int32Builder::with_capacity(capacity)),
            DataType::Int64 => Self::Int64(Int64Builder::with_capacity(capacity)),
            DataType::UInt64 => Self::UInt64(UInt64Builder::with_capacity(capacity)),
            DataType::Float32 => Self::Float32(Float32Builder::with_capacity(capacity)),
            DataType::Float64 => Self::Float64(Float64Builder::with_capacity(capacity)),
            DataType::Decimal128(p, s) => Self::Decimal(
                Decimal128Builder::with_capacity(capacity)
                    .with_data_type(DataType::Decimal128(*p, *s)),
                *s,
            ),
            DataType::Date32 => Self::Date(Date32Builder::with_capacity(capacity)),
            DataType::Timestamp(_, _) => {
                Self::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
            }
            DataType::Binary => Self::Binary(BinaryBuilder::with_capacity(capacity, capacity * 8)),
            _ => Self::Utf8(StringBuilder::with_capacity(capacity, capacity * 8)),
        }
    }

    fn append(&mut self, value: Value) -> std::result::Result<(), String> {
        if value == Value::NULL {
            self.append_null();
            return Ok(());
        }
        match self {
            Self::Int32(b) => {
                b.append_value(i32::try_from(as_i64(&value)?).map_err(|e| e.to_string())?)
            }
            Self::Int64(b) => b.append_value(as_i64(&value)?),
            Self::UInt64(b) => b.append_value(as_u64(&value)?),
            Self::Float32(b) => b.append_value(as_f64(&value)? as f32),
            Self::Float64(b) => b.append_value(as_f64(&value)?),
            Self::Decimal(b, scale) => b.append_value(parse_decimal(&as_text(&value), *scale)?),
            Self::Date(b) => b.append_value(days_since_epoch(&value)?),
            Self::Timestamp(b) => b.append_value(micros_since_epoch(&value)?),
            Self::Binary(b) => match value {
                Value::Bytes(bytes) => b.append_value(bytes),
                other => b.append_value(as_text(&other).as_bytes()),
            },
            Self::Utf8(b) => b.append_value(as_text(&value)),
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match self {
            Self::Int32(b) => b.append_null(),
            Self::Int64(b) => b.append_null(),
            Self::UInt64(b) => b.append_null(),
            Self::Float32(b) => b.append_null(),
            Self::Float64(b) => b.append_null(),
            Self::Decimal(b, _) => b.append_null(),
            Self::Date(b) => b.append_null(),
            Self::Timestamp(b) => b.append_null(),
            Self::Binary(b) => b.append_null(),
            Self::Utf8(b) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Self::Int32(b) => ArrayBuilder::finish(b),
            Self::Int64(b) => ArrayBuilder::finish(b),
            Self::UInt64(b) => ArrayBuilder::finish(b),
            Self::Float32(b) => ArrayBuilder::finish(b),
            Self::Float64(b) => ArrayBuilder::finish(b),
            Self::Decimal(b, _) => ArrayBuilder::finish(b),
            Self::Date(b) => ArrayBuilder::finish(b),
            Self::Timestamp(b) => ArrayBuilder::finish(b),
            Self::Binary(b) => ArrayBuilder::finish(b),
            Self::Utf8(b) => ArrayBuilder::finish(b),
        }
    }
}

/// A value's text. Borrowed when MySQL sent valid UTF-8 (every text cell of the export
/// passes here: no copy, and `from_utf8` checks faster than the lossy scan it falls back to).
fn as_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        },
        Value::Int(v) => Cow::Owned(v.to_string()),
        Value::UInt(v) => Cow::Owned(v.to_string()),
        Value::Float(v) => Cow::Owned(v.to_string()),
        Value::Double(v) => Cow::Owned(v.to_string()),
        other => Cow::Owned(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

fn as_i64(value: &Value) -> std::result::Result<i64, String> {
    match value {
        Value::Int(v) => Ok(*v),
        Value::UInt(v) => i64::try_from(*v).map_err(|e| e.to_string()),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("{:?} is not an integer", String::from_utf8_lossy(b))),
        other => Err(format!("{other:?} is not an integer")),
    }
}

fn as_u64(value: &Value) -> std::result::Result<u64, String> {
    match value {
        Value::UInt(v) => Ok(*v),
        other => u64::try_from(as_i64(other)?).map_err(|e| e.to_string()),
    }
}

fn as_f64(value: &Value) -> std::result::Result<f64, String> {
    match value {
        Value::Float(v) => Ok(f64::from(*v)),
        Value::Double(v) => Ok(*v),
        Value::Int(v) => Ok(*v as f64),
        Value::UInt(v) => Ok(*v as f64),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("{:?} is not a number", String::from_utf8_lossy(b))),
        other => Err(format!("{other:?} is not a number")),
    }
}

/// "-123.45" at scale 3 -> -123450. Exact: no floating point on the way.
pub fn parse_decimal(text: &str, scale: i8) -> std::result::Result<i128, String> {
    let bad = || format!("{text:?} is not a decimal");
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for c in int_part
        .chars()
        .chain(frac_part.chars().chain(std::iter::repeat('0')).take(scale))
    {
        let digit = c.to_digit(10).ok_or_else(bad)?;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(digit)))
            .ok_or_else(bad)?;
    }
    Ok(if negative { -value } else { value })
}

fn days_since_epoch(value: &Value) -> std::result::Result<i32, String> {
    match value {
        Value::Date(y, m, d, ..) => {
            Ok(civil_days(i64::from(*y), i64::from(*m), i64::from(*d)) as i32)
        }
        other => Err(format!("{other:?} is not a date")),
    }
}

fn micros_since_epoch(value: &Value) -> std::result::Result<i64, String> {
    match value {
        Value::Date(y, mo, d, h, mi, s, us) => {
            let days = civil_days(i64::from(*y), i64::from(*mo), i64::from(*d));
            let secs = days * 86_400 + i64::from(*h) * 3600 + i64::from(*mi) * 60 + i64::from(*s);
            Ok(secs * 1_000_000 + i64::from(*us))
        }
        other => Err(format!("{other:?} is not a datetime")),
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_parse_exactly() {
        assert_eq!(parse_decimal("123.45", 2), Ok(12345));
        assert_eq!(parse_decimal("-0.5", 3), Ok(-500));
        assert_eq!(parse_decimal("65000", 1), Ok(650000));
        assert_eq!(parse_decimal("7", 0), Ok(7));
        assert!(parse_decimal("NA", 2).is_err());
        assert!(parse_decimal("", 2).is_err());
    }

    #[test]
    fn decimal_shape_follows_mysql_display_length() {
        // DECIMAL(10,2) signed: 10 digits + sign + point = 12
        assert_eq!(decimal_shape(12, 2, false), (10, 2));
        // DECIMAL(5,0) unsigned: 5
        assert_eq!(decimal_shape(5, 0, true), (5, 0));
    }

    #[test]
    fn dates_count_days_from_epoch() {
        assert_eq!(civil_days(1970, 1, 1), 0);
        assert_eq!(civil_days(2021, 1, 1), 18628);
        assert_eq!(civil_days(1969, 12, 31), -1);
    }

    #[test]
    fn builders_turn_values_into_typed_arrays() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("i", DataType::Int32, true),
            Field::new("d", DataType::Decimal128(10, 2), true),
            Field::new("s", DataType::Utf8, false),
        ]));
        let mut batch = BatchBuilder::new(schema.clone(), 4);
        let mut column = ColumnBuilder::new(&DataType::Int32, 2);
        column.append(Value::Int(5)).unwrap();
        column.append(Value::NULL).unwrap();
        column.append(Value::Bytes(b"42".to_vec())).unwrap();
        assert!(column.append(Value::Bytes(b"Exempt".to_vec())).is_err());
        let array = column.finish();
        assert_eq!(array.len(), 3);
        assert_eq!(array.null_count(), 1);
        assert_eq!(batch.len(), 0);
        assert_eq!(batch.finish().unwrap().num_columns(), 3);
    }
}
