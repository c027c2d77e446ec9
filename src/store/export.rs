//! The export generation: bumped by every DbToHdfs *before* it renames the new file into
//! place, so a crash between the two can only make partitions look stale (and be rebuilt),
//! never make a partition of the old data look current.
//!
//! The export also records each county's fingerprint ([`crate::fingerprint`]); finishing a
//! generation keeps, in the same transaction, every county file whose county's rows did not
//! change (see [`super::partitions`]).
//!
//! Reached through [`Store::exports`]: a handle of its own keeps this record's reads and
//! writes in this file, so `impl Store` (the transactions, the file) stays in `mod.rs`.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};

use super::{
    META, Store, StoreResult, from_json, now_ms,
    partitions::{self, Renewal},
    to_json,
};
use crate::{
    error::Result,
    fingerprint::{CountyFingerprints, Fingerprint},
};

const EXPORT_KEY: &str = "export";
/// Kept apart from the export record, which every CalcAvgLoan reads: only partition jobs
/// read the fingerprints.
const FINGERPRINTS_KEY: &str = "export_fingerprints";

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
    /// What finishing this generation did to the county files cut before it; `None` until
    /// it finished.
    #[serde(default)]
    pub renewal: Option<Renewal>,
}

/// The fingerprints of one generation, as stored.
#[derive(Serialize, Deserialize)]
struct StoredFingerprints {
    generation: u64,
    counties: CountyFingerprints,
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
                    renewal: None,
                };
                table.insert(EXPORT_KEY, to_json(&record)?.as_str())?;
                Ok(record.generation)
            })
            .await
    }

    /// Records what the export of `generation` produced once its file is in place, with its
    /// counties' fingerprints, and keeps the county files whose fingerprint is unchanged, all
    /// in one transaction: a county file is never current for data it was not cut from.
    /// `None` when `generation` is no longer the newest (nothing is recorded then).
    pub async fn finish_generation(
        &self,
        generation: u64,
        rows: u64,
        bytes: u64,
        fingerprints: CountyFingerprints,
    ) -> Result<Option<Renewal>> {
        let context = format!("recording what export generation {generation} wrote");
        self.store
            .write(context, move |txn| {
                let mut table = txn.open_table(META)?;
                let raw = table.get(EXPORT_KEY)?.map(|raw| raw.value().to_owned());
                let Some(raw) = raw else { return Ok(None) };
                let mut record: ExportRecord = from_json(&raw)?;
                if record.generation != generation {
                    return Ok(None);
                }
                let renewal = partitions::keep_unchanged(txn, generation, &fingerprints)?;
                record.rows = Some(rows);
                record.bytes = Some(bytes);
                record.finished_ms = Some(now_ms());
                record.counties = Some(fingerprints.counties());
                record.renewal = Some(renewal.clone());
                table.insert(EXPORT_KEY, to_json(&record)?.as_str())?;
                let stored = StoredFingerprints {
                    generation,
                    counties: fingerprints,
                };
                table.insert(FINGERPRINTS_KEY, to_json(&stored)?.as_str())?;
                Ok(Some(renewal))
            })
            .await
    }

    /// The fingerprint `generation` recorded for `county`; `None` when it recorded none
    /// (an adopted file, an export that did not finish) or the county has no rows.
    pub fn fingerprint(&self, generation: u64, county: i32) -> Result<Option<Fingerprint>> {
        self.store
            .read(format!("reading county {county}'s fingerprint"), |txn| {
                fingerprint_in(txn, generation, county)
            })
    }
}

fn fingerprint_in(
    txn: &redb::ReadTransaction,
    generation: u64,
    county: i32,
) -> StoreResult<Option<Fingerprint>> {
    let table = txn.open_table(META)?;
    let Some(raw) = table.get(FINGERPRINTS_KEY)? else {
        return Ok(None);
    };
    let stored: StoredFingerprints = from_json(raw.value())?;
    Ok((stored.generation == generation)
        .then(|| stored.counties.get(county))
        .flatten())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PartitionRecord, temp_store};

    /// Fingerprints with one row each, `digest` as given.
    fn fingerprints(counties: &[(i32, u128)]) -> CountyFingerprints {
        counties
            .iter()
            .map(|&(county, digest)| (county, Fingerprint { rows: 1, digest }))
            .collect()
    }

    fn county_file(county: i32, generation: u64, digest: Option<u128>) -> PartitionRecord {
        PartitionRecord {
            county,
            path: format!("/partitions/{county}.parquet"),
            rows: 1,
            bytes: 10,
            generation,
            cut_generation: Some(generation),
            fingerprint: digest.map(|digest| Fingerprint { rows: 1, digest }),
            written_ms: 0,
            hosts: vec![],
            lost: county == 55009,
            job_id: None,
        }
    }

    #[tokio::test]
    async fn a_finished_export_keeps_exactly_the_unchanged_county_files() {
        let (store, _dir) = temp_store().await;
        let first = store.exports().begin_generation(None).await.unwrap();
        // 55001 unchanged, 55003 changed, 55005 gone, 55007 without a fingerprint,
        // 55009 unchanged but lost.
        for (county, digest) in [(55001, Some(1)), (55003, Some(3)), (55005, Some(5))]
            .into_iter()
            .chain([(55007, None), (55009, Some(9))])
        {
            let record = county_file(county, first, digest);
            store.partitions().put(record).await.unwrap();
        }
        let second = store.exports().begin_generation(None).await.unwrap();
        let new = fingerprints(&[(55001, 1), (55003, 4), (55007, 7), (55009, 9)]);
        let renewal = store
            .exports()
            .finish_generation(second, 4, 40, new)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(renewal.kept, [55001, 55009]);
        assert_eq!(renewal.stale, [55003, 55005, 55007]);
        assert_eq!(
            renewal.summary(),
            "county files: 2 kept, 3 stale (55003, 55005, 55007)"
        );

        let kept = store.partitions().get(55001).unwrap().unwrap();
        assert_eq!(
            (kept.generation, kept.cut_generation, kept.kept()),
            (second, Some(first), true)
        );
        assert!(
            store.partitions().get(55009).unwrap().unwrap().lost,
            "still lost"
        );
        let stale = store.partitions().get(55003).unwrap().unwrap();
        assert_eq!((stale.generation, stale.kept()), (first, false));
        let record = store.exports().current().unwrap().unwrap();
        assert_eq!(record.counties, Some(vec![55001, 55003, 55007, 55009]));
        assert_eq!(record.renewal, Some(renewal));

        // The fingerprints are the finished generation's, and only its.
        let digest = |generation, county| {
            store
                .exports()
                .fingerprint(generation, county)
                .unwrap()
                .map(|f| f.digest)
        };
        assert_eq!(
            (digest(second, 55003), digest(second, 55005)),
            (Some(4), None)
        );
        assert_eq!(digest(first, 55003), None);
    }

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
            .finish_generation(1, 10, 100, fingerprints(&[(55001, 1), (55003, 2)]))
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
        let late = store
            .exports()
            .finish_generation(1, 99, 999, CountyFingerprints::default())
            .await
            .unwrap();
        assert_eq!(late, None);
        let rec = store.exports().current().unwrap().unwrap();
        assert_eq!((rec.rows, rec.holds(55001)), (None, None));
    }
}
