//! The export's pipeline behind the MySQL stream: a clusterer thread groups rows by county
//! (spilling to local disk), an encoder thread writes the groups as Parquet into the spool.
//! Each stage checks the one before it: no file is finished unless every announced row
//! arrived, was clustered and was encoded.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use arrow::datatypes::SchemaRef;
use parquet::{
    basic::Compression,
    file::{
        metadata::KeyValue,
        properties::{EnabledStatistics, WriterProperties},
    },
};
use tokio::{sync::mpsc, task::JoinHandle};

use super::{
    cluster::{ClusterRules, CountyClusterer, RowGroup},
    progress::ExportProgress,
    spill::SpillPlace,
};
use crate::{
    error::{Error, Result},
    fingerprint::CountyFingerprints,
    loans::COUNTY_COLUMN,
    mysql::Delivery,
    parquet::{Written, write_parquet},
};

/// Row groups of the export. 32k rows per county group keeps the largest group the same at
/// 1x and 10x data; small counties share groups of up to 16k rows; 24 MiB of rows may wait
/// in memory to be clustered, the rest waits in spill files, whatever the data's size (the
/// export's peak memory stays flat).
pub(crate) const CLUSTER_RULES: ClusterRules = ClusterRules {
    group_rows: 32 * 1024,
    mixed_rows: 16 * 1024,
    budget_bytes: 24 << 20,
};

/// The export file says how it is laid out (footer key-value metadata), so a reader or a
/// test can check the layout against the rule the writer followed.
const LAYOUT_KEY: &str = "lender.layout";

/// What the clusterer hands the encoder: row groups, then the end of the data with the
/// rows it clustered and the counties it saw. A channel that closes without `End` means the
/// clusterer died: the encoder then refuses to finish the file.
pub(super) enum Clustered {
    Group(RowGroup),
    End {
        rows: u64,
        fingerprints: CountyFingerprints,
    },
}

/// Set when an export attempt ends, however it ends; its stages poll it and stop.
#[derive(Default)]
struct StopOnDrop(Arc<AtomicBool>);

impl StopOnDrop {
    fn flag(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn attempt_ended() -> Error {
    Error::Aborted("the export attempt ended before its data did".into())
}

/// The clustering stage on a thread of its own (it writes spill files): takes MySQL's
/// batches in table order, hands the encoder county-clustered row groups. The hand-over is
/// a rendezvous: the next group waits here while the encoder reads the one before, batch
/// by batch, so no more than one group's in-memory rows are out of the clusterer's budget.
/// The thread's handle comes back with the groups: the attempt waits for it to end.
pub(super) fn cluster_stage(
    schema: &SchemaRef,
    batches: mpsc::Receiver<Result<Delivery>>,
    spill: SpillPlace,
    progress: Arc<ExportProgress>,
    stop: Arc<AtomicBool>,
) -> Result<(std::sync::mpsc::Receiver<Result<Clustered>>, JoinHandle<()>)> {
    let clusterer = CountyClusterer::new(schema, COUNTY_COLUMN, CLUSTER_RULES, spill)?;
    let county = schema
        .index_of(COUNTY_COLUMN)
        .map_err(|e| Error::arrow(format!("the export has no {COUNTY_COLUMN} column"), e))?;
    let (tx, rx) = std::sync::mpsc::sync_channel(0);
    let thread = tokio::task::spawn_blocking(move || {
        // false: the encoder gave up
        let send = |item: Result<Clustered>| tx.send(item).is_ok();
        if let Err(e) = cluster_all(clusterer, county, batches, &progress, &stop, &send) {
            send(Err(e));
        }
    });
    Ok((rx, thread))
}

/// How long an ended attempt waits for each of its stages to stop: a stage notices at its
/// next batch, and the MySQL reader's `KILL` is bounded at 1.5 s.
const STAGE_END: Duration = Duration::from_secs(10);

/// The tasks of one export attempt (MySQL reader, clusterer, encoder), kept so the attempt
/// ends only once they have: a retry never starts beside the query, spill files and memory
/// of the attempt before it.
/// Its stop flag is raised when it ends, or when it is dropped (the attempt's future was):
/// whatever ends the attempt stops its stages.
#[derive(Default)]
pub(super) struct AttemptTasks {
    stop: StopOnDrop,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
}

impl AttemptTasks {
    /// The flag every stage polls: raised once the attempt ends.
    pub(super) fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.flag()
    }

    pub(super) fn keep(&mut self, stage: &'static str, task: JoinHandle<()>) {
        self.tasks.push((stage, task));
    }

    /// Raises the stop flag, then waits (bounded) for every stage to end; a stage that
    /// does not end in time is named in the log (and in the answer) and left to finish on
    /// its own.
    pub(super) async fn end(self) -> Vec<&'static str> {
        let AttemptTasks { stop, tasks } = self;
        drop(stop);
        let mut running = Vec::new();
        for (stage, task) in tasks {
            match tokio::time::timeout(STAGE_END, task).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(stage, error = %e, "an export stage ended abnormally"),
                Err(_) => {
                    tracing::warn!(
                        stage,
                        bound_s = STAGE_END.as_secs(),
                        "an export stage did not end within its bound after the attempt"
                    );
                    running.push(stage);
                }
            }
        }
        running
    }
}

/// Clusters every batch up to the reader's `End` and fingerprints its counties (`county`
/// is the county column's index), checks that every row it announced arrived, sends the
/// groups and then its own `End`. Dropping `batches` on the way out stops the MySQL reader.
fn cluster_all(
    mut clusterer: CountyClusterer,
    county: usize,
    mut batches: mpsc::Receiver<Result<Delivery>>,
    progress: &ExportProgress,
    stop: &AtomicBool,
    send: &dyn Fn(Result<Clustered>) -> bool,
) -> Result<()> {
    let started = Instant::now();
    let mut rows = 0u64;
    let mut fingerprints = CountyFingerprints::default();
    let announced = loop {
        if stop.load(Ordering::Relaxed) {
            return Err(attempt_ended());
        }
        let batch = match batches.blocking_recv() {
            Some(Ok(Delivery::Batch(batch, digests))) => {
                fingerprints.add_batch(batch.column(county), &digests)?;
                batch
            }
            Some(Ok(Delivery::End { rows })) => break rows,
            Some(Err(e)) => return Err(e),
            None => {
                return Err(Error::Aborted(format!(
                    "the MySQL reader stopped after {rows} rows without reaching the end of the data"
                )));
            }
        };
        rows += batch.num_rows() as u64;
        progress.rows.store(rows, Ordering::Relaxed);
        for group in clusterer.push(&batch)? {
            if !send(Ok(Clustered::Group(group))) {
                return Ok(());
            }
        }
    };
    drop(batches);
    if announced != rows {
        return Err(Error::Aborted(format!(
            "MySQL announced {announced} rows but the clusterer received {rows}"
        )));
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        rows,
        counties = fingerprints.counties().len(),
        spill_files = clusterer.spill_files(),
        "export read every row from MySQL"
    );
    for group in clusterer.finish() {
        if stop.load(Ordering::Relaxed) {
            return Err(attempt_ended());
        }
        if !send(Ok(Clustered::Group(group))) {
            return Ok(());
        }
    }
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "export rows clustered"
    );
    send(Ok(Clustered::End { rows, fingerprints }));
    Ok(())
}

/// What the encoder wrote, and the fingerprints of the counties the file holds.
pub(super) struct Encoded {
    pub written: Written,
    pub fingerprints: CountyFingerprints,
}

/// Encodes the clustered groups into `sink`. Refuses to finish the file unless the
/// clusterer said the data ended, and unless every row it clustered was written.
pub(super) fn encode_groups(
    sink: &mut (impl std::io::Write + Send),
    what: &str,
    schema: SchemaRef,
    groups: std::sync::mpsc::Receiver<Result<Clustered>>,
    stop: &AtomicBool,
) -> Result<Encoded> {
    let mut end = None;
    let feed = std::iter::from_fn(|| {
        if end.is_some() {
            return None;
        }
        if stop.load(Ordering::Relaxed) {
            return Some(Err(attempt_ended()));
        }
        match groups.recv() {
            Ok(Ok(Clustered::Group(group))) => Some(Ok(group.into_batches())),
            Ok(Ok(Clustered::End { rows, fingerprints })) => {
                end = Some((rows, fingerprints));
                None
            }
            Ok(Err(e)) => Some(Err(e)),
            Err(_) => Some(Err(Error::Aborted(
                "the export's clusterer stopped without reaching the end of the data".into(),
            ))),
        }
    });
    let written = write_parquet(sink, what, schema, export_props(), feed)?;
    let Some((rows, fingerprints)) = end else {
        return Err(Error::Aborted(format!(
            "{what}: the data ended without its end mark"
        )));
    };
    if rows != written.rows {
        return Err(Error::Aborted(format!(
            "{what}: the clusterer sent {rows} rows but {} were encoded",
            written.rows
        )));
    }
    Ok(Encoded {
        written,
        fingerprints,
    })
}

fn export_props() -> WriterProperties {
    let layout = format!(
        "clustered by {COUNTY_COLUMN}: a row group holds one county, or neighbouring counties \
         in at most {} rows, those mixed groups covering disjoint ranges",
        CLUSTER_RULES.mixed_rows
    );
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(None)
        // Pages of 8k rows: the dictionary encoder holds a page's indices until it closes.
        .set_data_page_row_count_limit(8192)
        .set_key_value_metadata(Some(vec![KeyValue::new(LAYOUT_KEY.to_owned(), layout)]))
        .build()
}

#[cfg(test)]
mod tests {
    use std::{
        sync::{
            Arc,
            atomic::{AtomicBool, Ordering},
        },
        time::Duration,
    };

    use arrow::{
        array::{Int32Array, Int64Array},
        datatypes::{DataType, Field, Schema, SchemaRef},
        record_batch::RecordBatch,
    };
    use tokio::sync::mpsc;

    use super::{AttemptTasks, Encoded, ExportProgress, cluster_stage, encode_groups};
    use crate::{
        error::Result,
        jobs::export::spill::SpillPlace,
        loans::{AMOUNT_COLUMN, COUNTY_COLUMN},
        mysql::Delivery,
        store::tempdir::TempDir,
    };

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new(COUNTY_COLUMN, DataType::Int32, true),
            Field::new(AMOUNT_COLUMN, DataType::Int64, false),
        ]))
    }

    /// A delivery of rows in `counties`, each row's digest its position in the batch.
    fn delivered(counties: &[i32]) -> Delivery {
        Delivery::Batch(batch(counties), (1..=counties.len() as u128).collect())
    }

    fn batch(counties: &[i32]) -> RecordBatch {
        let amounts: Vec<i64> = (0..counties.len() as i64).map(|i| 50_000 + i).collect();
        RecordBatch::try_new(
            schema(),
            vec![
                Arc::new(Int32Array::from(counties.to_vec())),
                Arc::new(Int64Array::from(amounts)),
            ],
        )
        .unwrap()
    }

    /// Runs the clusterer and the encoder over what a reader delivered (the reader's
    /// channel closes after the last delivery); the Parquet bytes go nowhere.
    async fn export_of(deliveries: Vec<Delivery>) -> Result<Encoded> {
        let dir = TempDir::new();
        let (tx, rx) = mpsc::channel(deliveries.len() + 1);
        for delivery in deliveries {
            tx.send(Ok(delivery)).await.unwrap();
        }
        drop(tx);
        let place = SpillPlace {
            dir: dir.path().to_owned(),
            prefix: "test".into(),
        };
        let progress = Arc::new(ExportProgress::new("test", None));
        let stop = Arc::new(AtomicBool::new(false));
        let (groups, _clusterer) = cluster_stage(&schema(), rx, place, progress, stop.clone())?;
        tokio::task::spawn_blocking(move || {
            encode_groups(&mut Vec::new(), "test file", schema(), groups, &stop)
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn a_complete_delivery_encodes_every_row_and_names_its_counties() {
        let encoded = export_of(vec![
            delivered(&[55003, 55001, 55003]),
            delivered(&[55001]),
            Delivery::End { rows: 4 },
        ])
        .await
        .unwrap();
        assert_eq!(encoded.written.rows, 4);
        let fingerprints = &encoded.fingerprints;
        assert_eq!(fingerprints.counties(), vec![55001, 55003]);
        let of = |county| fingerprints.get(county).map(|f| (f.rows, f.digest));
        assert_eq!(of(55001), Some((2, 2 + 1)));
        assert_eq!(of(55003), Some((2, 1 + 3)));
    }

    #[tokio::test]
    async fn a_reader_that_dies_after_one_batch_fails_the_export() {
        let error = export_of(vec![delivered(&[55001, 55003])])
            .await
            .err()
            .expect("a cut-short delivery must not make a file")
            .to_string();
        assert!(
            error.contains("stopped after 2 rows without reaching the end of the data"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_ended_attempt_waits_until_its_reader_and_clusterer_have_stopped() {
        let dir = TempDir::new();
        let (tx, rx) = mpsc::channel(2);
        // A reader that streams until its receiver is dropped, as MySql::stream's does.
        let reader =
            tokio::spawn(
                async move { while tx.send(Ok(delivered(&[55001, 55003]))).await.is_ok() {} },
            );
        let place = SpillPlace {
            dir: dir.path().to_owned(),
            prefix: "test".into(),
        };
        let progress = Arc::new(ExportProgress::new("test", None));
        let mut tasks = AttemptTasks::default();
        let (groups, clusterer) =
            cluster_stage(&schema(), rx, place, progress.clone(), tasks.stop_flag()).unwrap();
        tasks.keep("reader", reader);
        tasks.keep("clusterer", clusterer);
        while progress.rows.load(Ordering::Relaxed) < 100 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // The encoder has given up (dropped its end): the clusterer's last send fails.
        drop(groups);
        assert_eq!(tasks.end().await, Vec::<&str>::new(), "every stage ended");
    }

    #[tokio::test]
    async fn rows_announced_but_not_delivered_fail_the_export() {
        let error = export_of(vec![delivered(&[55001]), Delivery::End { rows: 2 }])
            .await
            .err()
            .expect("a row count mismatch must not make a file")
            .to_string();
        assert!(error.contains("announced 2 rows"), "{error}");
    }
}
