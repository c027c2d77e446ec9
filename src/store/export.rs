//! The export generation: bumped by every DbToHdfs *before* it renames the new file into
//! place, so a crash between the two can only make partitions look stale (and be rebuilt),
//! never make a partition of the old data look current.
//!
//! Reached through [`Store::exports`]: a handle of its own keeps this record's reads and
//! writes in this file, so `impl Store` (the transactions, the file) stays in `mod.rs`.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{META, Store, from_json, now_ms, to_json};
use crate::error::Result;

const EXPORT_KEY: &str = "export";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    pub generation: u64,
    /// Job that produced it; `None` when an existing file was adopted.
    pub job_id: Option<String>,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
    pub finished_ms: Option<u64>,
    /// County codes the file holds (ascending); `None` for a file adopted, or in a record
    /// stored without them (older stores stay readable).
    #[serde(default)]
    pub counties: Option<Vec<i32>>,
}

impl ExportRecord {
    /// Whether the file holds `county`; `None` when the record does not know its counties.
    pub fn holds(&self, county: i32) -> Option<bool> {
        self.counties
            .as_ref()
            .map(|counties| counties.binary_search(&county).is_ok())
    }
}

/// The export record of a [`Store`]; see [`Store::exports`].
#[derive(Clone, Copy)]
pub struct Exports<'a> {
    pub(super) store: &'a Store,
}

impl Exports<'_> {
    /// The newest generation, `None` before the first export.
    pub fn current(&self) -> Result<Option<ExportRecord>> {
        self.store.read("reading the export record", |txn| {
            let table = txn.open_table(META)?;
            let raw = table.get(EXPORT_KEY)?;
            raw.map(|raw| from_json(raw.value())).transpose()
        })
    }

    /// Starts a new generation (durably) and returns it.
    pub async fn begin_generation(&self, job_id: Option<String>) -> Result<u64> {
        self.store
            .write("starting a new export generation", move |txn| {
                let mut table = txn.open_table(META)?;
                let previous = match table.get(EXPORT_KEY)? {
                    Some(raw) => from_json::<ExportRecord>(raw.value())?.generation,
                    None => 0,
                };
                let record = ExportRecord {
                    generation: previous + 1,
                    job_id,
                    rows: None,
                    bytes: None,
                    finished_ms: None,
                    counties: None,
                };
                table.insert(EXPORT_KEY, to_json(&record)?.as_str())?;
                Ok(record.generation)
            })
            .await
    }

    /// Records what the export of `generation` produced once its file is in place.
    pub async fn finish_generation(
        &self,
        generation: u64,
        rows: u64,
        bytes: u64,
        counties: Vec<i32>,
    ) -> Result<()> {
        let context = format!("recording what export generation {generation} wrote");
        self.store
            .write(context, move |txn| {
                let mut table = txn.open_table(META)?;
                let raw = table.get(EXPORT_KEY)?.map(|raw| raw.value().to_owned());
                let Some(raw) = raw else { return Ok(()) };
                let mut record: ExportRecord = from_json(&raw)?;
                if record.generation == generation {
                    record.rows = Some(rows);
                    record.bytes = Some(bytes);
                    record.finished_ms = Some(now_ms());
                    record.counties = Some(counties);
                    table.insert(EXPORT_KEY, to_json(&record)?.as_str())?;
                }
                Ok(())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use crate::store::temp_store;

    #[tokio::test]
    async fn generations_increase_and_record_stats() {
        let (store, _dir) = temp_store().await;
        assert!(store.exports().current().unwrap().is_none());
        assert_eq!(
            store
                .exports()
                .begin_generation(Some("a".into()))
                .await
                .unwrap(),
            1
        );
        store
            .exports()
            .finish_generation(1, 10, 100, vec![55001, 55003])
            .await
            .unwrap();
        let rec = store.exports().current().unwrap().unwrap();
        assert_eq!(
            (rec.generation, rec.rows, rec.bytes),
            (1, Some(10), Some(100))
        );
        assert_eq!(
            (rec.holds(55003), rec.holds(55002)),
            (Some(true), Some(false))
        );
        assert_eq!(store.exports().begin_generation(None).await.unwrap(), 2);
        // Stats of an older generation do not overwrite the newer record.
        store
            .exports()
            .finish_generation(1, 99, 999, vec![])
            .await
            .unwrap();
        let rec = store.exports().current().unwrap().unwrap();
        assert_eq!((rec.rows, rec.holds(55001)), (None, None));
    }
}
