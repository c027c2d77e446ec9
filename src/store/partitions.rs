//! The partition table: one row per county file we wrote.
//!
//! Reached through [`Store::partitions`]: a handle of its own keeps this table's reads and
//! writes in this file, so `impl Store` (the transactions, the file) stays in `mod.rs`.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{PARTITIONS, Store, StoreResult, from_json, to_json};
use crate::{
    error::Result,
    fingerprint::{CountyFingerprints, Fingerprint},
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionRecord {
    pub county: i32,
    pub path: String,
    pub rows: u64,
    pub bytes: u64,
    /// Export generation the file answers for; other generations are never reused. An
    /// export that finds the county's rows unchanged moves it to its own generation.
    pub generation: u64,
    /// Export generation the rows were cut from (absent in older records: then
    /// `generation`).
    #[serde(default)]
    pub cut_generation: Option<u64>,
    /// The county's fingerprint in the export it was cut from; a file without one is never
    /// kept by a later export.
    #[serde(default)]
    pub fingerprint: Option<Fingerprint>,
    pub written_ms: u64,
    /// DataNode hosts holding the file's blocks when it was written.
    pub hosts: Vec<String>,
    /// Set when a read found the file unreadable; the next call rebuilds it.
    pub lost: bool,
    /// The partition job that wrote it (absent in records stored without it, so older
    /// stores stay readable).
    #[serde(default)]
    pub job_id: Option<String>,
}

/// The partition table of a [`Store`]; see [`Store::partitions`].
#[derive(Clone, Copy)]
pub struct Partitions<'a> {
    pub(super) store: &'a Store,
}

impl Partitions<'_> {
    pub fn get(&self, county: i32) -> Result<Option<PartitionRecord>> {
        self.store
            .read(format!("reading partition {county}"), |txn| {
                let table = txn.open_table(PARTITIONS)?;
                let raw = table.get(county)?;
                raw.map(|raw| from_json(raw.value())).transpose()
            })
    }

    /// Every county file recorded, by county code.
    pub fn all(&self) -> Result<Vec<PartitionRecord>> {
        self.store.read("listing the partitions", |txn| {
            let table = txn.open_table(PARTITIONS)?;
            let mut out = Vec::new();
            for entry in table.iter()? {
                out.push(from_json(entry?.1.value())?);
            }
            Ok(out)
        })
    }

    /// Lazily durable: the partition job's durable end-of-attempt record follows at once, and
    /// a crash in between leaves the job unacknowledged in the queue, so it runs again.
    pub async fn put(&self, record: PartitionRecord) -> Result<()> {
        let context = format!("recording partition {}", record.county);
        self.store
            .write_lazily(context, move |txn| {
                let raw = to_json(&record)?;
                txn.open_table(PARTITIONS)?
                    .insert(record.county, raw.as_str())?;
                Ok(())
            })
            .await
    }

    pub async fn mark_lost(&self, county: i32) -> Result<()> {
        let context = format!("marking partition {county} lost");
        self.store
            .write(context, move |txn| {
                let mut table = txn.open_table(PARTITIONS)?;
                let raw = table.get(county)?.map(|raw| raw.value().to_owned());
                if let Some(raw) = raw {
                    let mut record: PartitionRecord = from_json(&raw)?;
                    record.lost = true;
                    table.insert(county, to_json(&record)?.as_str())?;
                }
                Ok(())
            })
            .await
    }
}

/// The county files a finished export kept (their county's rows are unchanged: they answer
/// for the new generation) and those it left stale (cut again on their next call).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Renewal {
    pub kept: Vec<i32>,
    pub stale: Vec<i32>,
}

impl Renewal {
    /// `county files: 70 kept, 2 stale (55001, 55003)`
    pub fn summary(&self) -> String {
        const NAMED: usize = 8;
        let mut text = format!(
            "county files: {} kept, {} stale",
            self.kept.len(),
            self.stale.len()
        );
        if !self.stale.is_empty() {
            let named: Vec<String> = self.stale.iter().take(NAMED).map(i32::to_string).collect();
            let more = if self.stale.len() > NAMED {
                ", ..."
            } else {
                ""
            };
            text += &format!(" ({}{more})", named.join(", "));
        }
        text
    }
}

impl PartitionRecord {
    /// Whether a later export kept this file (its county's rows were unchanged).
    pub fn kept(&self) -> bool {
        self.cut_generation
            .is_some_and(|cut| cut != self.generation)
    }
}

/// Within finishing export `generation`: every county file whose fingerprint equals its
/// county's new one now answers for `generation`; every other file (rows changed, county
/// gone, no fingerprint) stays with its old generation, so its next call cuts it again.
/// A file marked lost stays lost either way.
pub(super) fn keep_unchanged(
    txn: &redb::WriteTransaction,
    generation: u64,
    fingerprints: &CountyFingerprints,
) -> StoreResult<Renewal> {
    let mut table = txn.open_table(PARTITIONS)?;
    let mut renewal = Renewal::default();
    let mut kept = Vec::new();
    for entry in table.iter()? {
        let mut record: PartitionRecord = from_json(entry?.1.value())?;
        if record.generation == generation {
            continue;
        }
        let unchanged =
            record.fingerprint.is_some() && record.fingerprint == fingerprints.get(record.county);
        if unchanged {
            record.cut_generation.get_or_insert(record.generation);
            record.generation = generation;
            renewal.kept.push(record.county);
            kept.push(record);
        } else {
            renewal.stale.push(record.county);
        }
    }
    for record in kept {
        table.insert(record.county, to_json(&record)?.as_str())?;
    }
    Ok(renewal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::temp_store;

    #[tokio::test]
    async fn partitions_round_trip_and_can_be_marked_lost() {
        let (store, _dir) = temp_store().await;
        let record = PartitionRecord {
            county: 55001,
            path: "/partitions/55001.parquet".into(),
            rows: 3,
            bytes: 100,
            generation: 2,
            cut_generation: Some(2),
            fingerprint: None,
            written_ms: 1,
            hosts: vec!["dn1".into()],
            lost: false,
            job_id: None,
        };
        store.partitions().put(record.clone()).await.unwrap();
        assert_eq!(store.partitions().get(55001).unwrap(), Some(record));
        assert_eq!(store.partitions().get(55003).unwrap(), None);
        store.partitions().mark_lost(55001).await.unwrap();
        assert!(store.partitions().get(55001).unwrap().unwrap().lost);
        assert_eq!(store.partitions().all().unwrap().len(), 1);
    }
}
