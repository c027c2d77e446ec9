//! Tests against a live server (LENDER_MYSQL_URL, as `dev/mysql.sh env` prints it), so
//! `#[ignore]`d: `cargo test --release mysql::live -- --ignored --nocapture`. Each reads the
//! same query through both decoders, the production one (our connection, row packets into
//! Arrow) and the oracle (mysql_async `Row`s of `Value`s into the same builders), and
//! compares the batches cell for cell.

use std::time::{Duration, Instant};

use arrow::{array::Array, record_batch::RecordBatch};
use mysql_async::prelude::Queryable;

use super::{BatchBuilder, Delivery, EXPORT_QUERY, MySql, schema_of};
use crate::config::Config;

const BATCH_ROWS: usize = 8192;

/// The hand-made table of [`every_type_decodes_as_the_oracle_does`], in a scratch database
/// of its own (dropped after).
const SCRATCH_DB: &str = "lender_decoder_test";
const SCRATCH_QUERY: &str = "SELECT * FROM lender_decoder_test.every_type";

fn mysql() -> MySql {
    assert!(
        std::env::var_os("LENDER_MYSQL_URL").is_some(),
        "LENDER_MYSQL_URL is not set: eval \"$(bash dev/mysql.sh env)\""
    );
    let config = Config::from_env().unwrap_or_else(|e| panic!("config: {e}"));
    MySql::new(&config).unwrap_or_else(|e| panic!("MySQL client: {e}"))
}

/// The oracle: mysql_async's binary protocol, a `Value` per cell.
async fn read_values(mysql: &MySql, query: &str, mut each: impl FnMut(RecordBatch)) -> u64 {
    let mut conn = mysql.connect().await.unwrap_or_else(|e| panic!("{e}"));
    let mut result = conn
        .exec_iter(query, ())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let columns = result.columns().unwrap_or_default();
    let mut batch = BatchBuilder::new(schema_of(&columns), BATCH_ROWS);
    let mut rows = 0;
    while let Some(row) = result.next().await.unwrap_or_else(|e| panic!("{e}")) {
        batch.push(row).unwrap_or_else(|e| panic!("oracle: {e}"));
        rows += 1;
        if batch.len() == BATCH_ROWS {
            each(batch.finish().unwrap_or_else(|e| panic!("{e}")));
        }
    }
    if batch.len() > 0 {
        each(batch.finish().unwrap_or_else(|e| panic!("{e}")));
    }
    drop(result);
    let _ = conn.disconnect().await;
    rows
}

/// Production: [`MySql::stream`].
async fn read_wire(mysql: &MySql, query: &'static str, mut each: impl FnMut(RecordBatch)) -> u64 {
    let (_, mut batches, _reader) = mysql
        .stream(query, BATCH_ROWS)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    while let Some(delivery) = batches.recv().await {
        match delivery.unwrap_or_else(|e| panic!("{e}")) {
            Delivery::Batch(batch, _) => each(batch),
            Delivery::End { rows } => return rows,
        }
    }
    panic!("the reader ended without End")
}

async fn collect(mysql: &MySql, query: &'static str) -> (Vec<RecordBatch>, Vec<RecordBatch>) {
    let (mut old, mut new) = (Vec::new(), Vec::new());
    let old_rows = read_values(mysql, query, |b| old.push(b)).await;
    let new_rows = read_wire(mysql, query, |b| new.push(b)).await;
    assert_eq!(old_rows, new_rows, "rows read by the two decoders");
    (old, new)
}

/// Equal batches, or a panic naming the first cell that differs.
fn assert_same(old: &[RecordBatch], new: &[RecordBatch]) {
    if let Some(difference) = first_difference(old, new) {
        panic!("{difference}");
    }
}

/// Where two decoders' batches first differ, if they do.
fn first_difference(old: &[RecordBatch], new: &[RecordBatch]) -> Option<String> {
    if old.len() != new.len() {
        return Some(format!("{} batches, then {}", old.len(), new.len()));
    }
    for (number, (a, b)) in old.iter().zip(new).enumerate() {
        if a.schema() != b.schema() {
            return Some(format!(
                "schema of batch {number}: {:?} vs {:?}",
                a.schema(),
                b.schema()
            ));
        }
        for (index, field) in a.schema().fields().iter().enumerate() {
            let (x, y) = (a.column(index), b.column(index));
            if x.to_data() == y.to_data() {
                continue;
            }
            let row = (0..x.len().max(y.len()))
                .find(|&r| x.slice(r, 1).to_data() != y.slice(r, 1).to_data());
            return Some(format!(
                "batch {number}, column {} ({}): first difference at row {row:?}:\noracle {:?}\nnew    {:?}",
                field.name(),
                field.data_type(),
                row.map(|r| x.slice(r, 1)),
                row.map(|r| y.slice(r, 1)),
            ));
        }
    }
    None
}

/// The text protocol (COM_QUERY) on our connection, for the figures only.
async fn read_text(mysql: &MySql, query: &str, mut each: impl FnMut(RecordBatch)) -> u64 {
    let mut wire = mysql.open_wire().await.unwrap_or_else(|e| panic!("{e}"));
    let columns = wire.query(query).await.unwrap_or_else(|e| panic!("{e}"));
    let mut batch = BatchBuilder::new(schema_of(&columns), BATCH_ROWS);
    let (mut rows, mut packet) = (0, Vec::new());
    while wire
        .next_text_row(&mut packet)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    {
        batch
            .push_text(&packet)
            .unwrap_or_else(|e| panic!("text: {e}"));
        rows += 1;
        if batch.len() == BATCH_ROWS {
            each(batch.finish().unwrap_or_else(|e| panic!("{e}")));
        }
    }
    if batch.len() > 0 {
        each(batch.finish().unwrap_or_else(|e| panic!("{e}")));
    }
    let _ = wire.quit().await;
    rows
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MySQL: LENDER_MYSQL_URL"]
async fn export_decodes_as_the_oracle_does() {
    let mysql = mysql();
    let (old, new) = collect(&mysql, EXPORT_QUERY).await;
    let rows: usize = new.iter().map(RecordBatch::num_rows).sum();
    assert!(rows > 100_000, "only {rows} rows: is the data loaded?");
    let nulls: usize = new
        .iter()
        .flat_map(|b| b.columns().iter().map(|c| c.null_count()))
        .sum();
    assert!(
        nulls > 0,
        "the export has NULL cells: the comparison should see some"
    );
    assert_same(&old, &new);
    println!("export: {rows} rows, {nulls} NULL cells, equal cell for cell");
}

/// Every column type the decoder maps (see `arrow_type`), with NULLs, extremes and text
/// that is not ASCII.
const SCRATCH_TABLE: &str = "CREATE TABLE lender_decoder_test.every_type (
    id INT NOT NULL PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT,
    su SMALLINT UNSIGNED, mi MEDIUMINT, i INT, iu INT UNSIGNED, bi BIGINT,
    bu BIGINT UNSIGNED, yr YEAR, f FLOAT, d DOUBLE, dec1 DECIMAL(10,2),
    dec2 DECIMAL(38,10) UNSIGNED, dec3 DECIMAL(5,0), dt DATE, dtt DATETIME,
    dtm DATETIME(6), ts TIMESTAMP NULL, tm TIME, tm6 TIME(6), vc VARCHAR(40), ch CHAR(3),
    tx TEXT, mt MEDIUMTEXT, bl BLOB, vb VARBINARY(8), bt BIT(12), en ENUM('a','bé'),
    st SET('x','y'))";

const SCRATCH_ROWS: &str = "INSERT INTO lender_decoder_test.every_type VALUES
    (1, -128, 255, -32768, 65535, -8388608, -2147483648, 4294967295,
     -9223372036854775808, 18446744073709551615, 2021, 1.1, 55025.0, -12345678.91,
     1234567890123456789012345678.0123456789, 99999, '2021-03-04', '1999-12-31 23:59:59',
     '2020-02-29 01:02:03.456789', '2021-06-01 12:00:00', '-838:59:59', '12:34:56.5',
     'Dane', 'WI', 'naïve café ünïcode', REPEAT('long ', 5000), X'00FF10', X'DEADBEEF',
     b'101010101010', 'bé', 'x,y'),
    (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL),
    (3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1901, -0.0, 1e-300, 0.00, 0.0000000001, -1, '1000-01-01',
     '9999-12-31 23:59:59', '1970-01-01 00:00:00.000001', NULL, '00:00:00', '-00:00:01.5',
     '', '', '', '', '', '', b'0', 'a', ''),
    (4, 127, 1, 32767, 1, 8388607, 2147483647, 1, 9223372036854775807, 1, 2155, 3.4e38,
     -1.7976931348623157e308, 99999999.99, 0, 0, '1969-12-31', '1969-12-31 23:59:59',
     '1900-01-01 00:00:00', '1970-01-02 00:00:00', '838:59:59', NULL, NULL, 'a', NULL,
     NULL, NULL, X'', NULL, NULL, NULL)";

async fn scratch(mysql: &MySql, statements: &[&str]) {
    let mut conn = mysql.connect().await.unwrap_or_else(|e| panic!("{e}"));
    for statement in statements {
        conn.query_drop(*statement)
            .await
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
    let _ = conn.disconnect().await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MySQL: LENDER_MYSQL_URL"]
async fn every_type_decodes_as_the_oracle_does() {
    let mysql = mysql();
    let drop_db = format!("DROP DATABASE IF EXISTS {SCRATCH_DB}");
    let create_db = format!("CREATE DATABASE {SCRATCH_DB}");
    scratch(&mysql, &[&drop_db, &create_db, SCRATCH_TABLE, SCRATCH_ROWS]).await;
    let reader = mysql.clone();
    let outcome = tokio::spawn(async move {
        let (old, new) = collect(&reader, SCRATCH_QUERY).await;
        assert_same(&old, &new);
        new
    })
    .await;
    scratch(&mysql, &[&drop_db]).await;
    let new = outcome.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    assert_eq!(new.iter().map(RecordBatch::num_rows).sum::<usize>(), 4);
    let row2_nulls = new[0].columns().iter().filter(|c| c.is_null(1)).count();
    assert_eq!(
        row2_nulls,
        new[0].num_columns() - 1,
        "row 2 is NULL but for its id"
    );
}

/// caching_sha2_password's full authentication (Oracle MySQL): FLUSH PRIVILEGES empties
/// the server's cache of password hashes, as a restart does, so our next connection cannot
/// take the fast path. On MariaDB (mysql_native_password) the same test is a plain connect.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MySQL: LENDER_MYSQL_URL"]
async fn connects_after_the_server_forgot_its_password_cache() {
    let mysql = mysql();
    scratch(&mysql, &["FLUSH PRIVILEGES"]).await;
    let wire = mysql.open_wire().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(wire.id() > 0);
    wire.quit().await.unwrap_or_else(|e| panic!("{e}"));
}

/// CPU seconds (user + system) of this process so far.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

async fn measure<F: Future<Output = u64>>(read: F) -> (f64, f64, u64) {
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    let rows = read.await;
    (cpu_seconds() - cpu, wall.elapsed().as_secs_f64(), rows)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The figures in BENCHMARKS.md: the full export decoded into batches (dropped), old and new
/// alternating, three rounds each; this process's CPU and the wall time.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MySQL: LENDER_MYSQL_URL; prints figures"]
async fn decoder_cpu_and_wall_time() {
    let mysql = mysql();
    let (mut oracle, mut text) = (Vec::new(), Vec::new());
    read_values(&mysql, EXPORT_QUERY, |b| oracle.push(b)).await; // warms the buffer pool too
    read_text(&mysql, EXPORT_QUERY, |b| text.push(b)).await;
    let same = first_difference(&oracle, &text);
    println!(
        "text protocol vs oracle: {}",
        same.as_deref().unwrap_or("equal")
    );
    drop((oracle, text));
    let mut figures = [Vec::new(), Vec::new(), Vec::new()];
    for round in 1..=3 {
        let o = measure(read_values(&mysql, EXPORT_QUERY, drop)).await;
        let n = measure(read_wire(&mysql, EXPORT_QUERY, drop)).await;
        let t = measure(read_text(&mysql, EXPORT_QUERY, drop)).await;
        println!(
            "round {round}: old {:.2} s CPU {:.2} s wall | binary {:.2} s CPU {:.2} s wall | text {:.2} s CPU {:.2} s wall ({} rows)",
            o.0, o.1, n.0, n.1, t.0, t.1, n.2
        );
        assert_eq!((o.2, t.2), (n.2, n.2));
        for (all, one) in figures.iter_mut().zip([o, n, t]) {
            all.push((one.0, one.1));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let cpu = |v: &[(f64, f64)]| median(v.iter().map(|x| x.0).collect());
    let wall = |v: &[(f64, f64)]| median(v.iter().map(|x| x.1).collect());
    let [old, new, text] = &figures;
    println!(
        "median: old {:.2} s CPU {:.2} s wall | binary {:.2} s CPU {:.2} s wall (CPU -{:.0} %) | text {:.2} s CPU {:.2} s wall (CPU -{:.0} %)",
        cpu(old),
        wall(old),
        cpu(new),
        wall(new),
        100.0 * (1.0 - cpu(new) / cpu(old)),
        cpu(text),
        wall(text),
        100.0 * (1.0 - cpu(text) / cpu(old)),
    );
}

/// The TLS modes against this server. With `LENDER_DEV_MYSQL_CA` (the CA of an Oracle MySQL
/// that `dev/mysql.sh` started with `require_secure_transport=ON`): the default mode and
/// `verify_ca` with that CA connect over TLS, `verify_ca` with a CA that did not sign the
/// server's certificate fails naming it, and `disabled` gets the server's refusal at once,
/// not after the start-up wait. Without it (MariaDB, no TLS): `preferred` connects in
/// plaintext and `required` fails saying the server offers no TLS.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs MySQL: LENDER_MYSQL_URL"]
async fn tls_modes_against_this_server() {
    use rustls::pki_types::pem::PemObject;

    use super::tls;
    use crate::config::SslMode;
    let base = mysql();
    let with = |mode: SslMode, ca: Option<&std::path::Path>| {
        let mut settings = (*base.settings).clone();
        settings.ssl_mode = mode;
        settings.tls = tls::client_config(mode, ca).unwrap_or_else(|e| panic!("{e}"));
        MySql {
            settings: std::sync::Arc::new(settings),
            ..base.clone()
        }
    };
    let connect = |mysql: MySql| async move {
        let started = Instant::now();
        let wire = mysql.open_wire().await;
        let elapsed = started.elapsed();
        let outcome = match wire {
            Ok(wire) => {
                let tls = wire.is_tls();
                let _ = wire.quit().await;
                Ok(tls)
            }
            Err(e) => Err(e.to_string()),
        };
        (outcome, elapsed)
    };
    let Some(ca) = std::env::var_os("LENDER_DEV_MYSQL_CA").map(std::path::PathBuf::from) else {
        let (plain, _) = connect(with(SslMode::Preferred, None)).await;
        assert_eq!(plain, Ok(false), "MariaDB without TLS, preferred");
        let (required, _) = connect(with(SslMode::Required, None)).await;
        let error = required.err().unwrap_or_default();
        assert!(error.contains("offers no TLS"), "{error}");
        return;
    };
    let (default, _) = connect(base.clone()).await;
    assert_eq!(default, Ok(true), "the default mode (preferred) over TLS");
    let (verified, _) = connect(with(SslMode::VerifyCa, Some(&ca))).await;
    assert_eq!(verified, Ok(true), "verify_ca with the server's own CA");

    let other =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mysql/testdata/other-ca.pem");
    let (refused, elapsed) = connect(with(SslMode::VerifyCa, Some(&other))).await;
    let cert =
        std::fs::read(ca.with_file_name("server-cert.pem")).unwrap_or_else(|e| panic!("{e}"));
    let cert = rustls::pki_types::CertificateDer::from_pem_slice(&cert);
    let fingerprint = tls::fingerprint(&cert.unwrap_or_else(|e| panic!("{e}")));
    let error = refused.err().unwrap_or_default();
    assert!(
        error.contains(&fingerprint) && error.contains("not signed by a CA"),
        "{error}"
    );
    println!("verify_ca with another CA: refused after {elapsed:?}: {error}");

    let (plaintext, elapsed) = connect(with(SslMode::Disabled, None)).await;
    let error = plaintext.err().unwrap_or_default();
    assert!(error.contains("ERROR 3159"), "{error}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}: {error}");
    println!("disabled: refused after {elapsed:?}: {error}");
}
