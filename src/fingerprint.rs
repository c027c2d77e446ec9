//! County fingerprints: what lets a re-export keep the county files whose rows did not
//! change, and never keep one whose rows did.
//!
//! A county's fingerprint is its row count and the wrapping sum of a 128-bit digest
//! (XXH3-128) of each of its rows *as MySQL sent it*: the binary row packet, a NULL bitmap
//! then every non-NULL cell in column order. That packet is an exact encoding of the row for
//! a given result shape, so a change in any column changes the row's digest, and a NULL never
//! equals a value (it is a bit of the bitmap, not a cell). The sum makes the fingerprint
//! independent of row order (the export query has no ORDER BY), and unlike XOR a duplicated
//! row does not cancel out. A change of the result's shape (a column added, a type changed,
//! another server flavour) changes every digest: every county file is then cut again, which
//! is the safe side.
//!
//! XXH3 is not a cryptographic hash: the fingerprint detects changed data, it does not defend
//! against rows crafted to collide (whoever can write the table can change the answers
//! anyway). Hashing the packet the reader already holds costs a few nanoseconds per row.

use std::{collections::BTreeMap, fmt};

use arrow::{
    array::{Array, AsArray},
    compute::cast,
    datatypes::{DataType, Int64Type},
};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// The digest of one row, from the bytes that encode it.
pub fn row_digest(row: &[u8]) -> u128 {
    twox_hash::XxHash3_128::oneshot(row)
}

/// One county's rows, summed: equal fingerprints mean the same multiset of rows (up to a
/// 128-bit collision).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub rows: u64,
    /// Stored as 32 hex digits: JSON numbers lose 128-bit values in most readers.
    #[serde(serialize_with = "hex_out", deserialize_with = "hex_in")]
    pub digest: u128,
}

impl Fingerprint {
    pub fn add(&mut self, row_digest: u128) {
        self.rows += 1;
        self.digest = self.digest.wrapping_add(row_digest);
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} rows, digest {:032x}", self.rows, self.digest)
    }
}

fn hex_out<S: Serializer>(digest: &u128, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("{digest:032x}"))
}

fn hex_in<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<u128, D::Error> {
    let text = String::deserialize(d)?;
    u128::from_str_radix(&text, 16).map_err(serde::de::Error::custom)
}

/// The fingerprints of an export's counties, by county code.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CountyFingerprints(BTreeMap<i32, Fingerprint>);

impl FromIterator<(i32, Fingerprint)> for CountyFingerprints {
    fn from_iter<I: IntoIterator<Item = (i32, Fingerprint)>>(iter: I) -> Self {
        CountyFingerprints(iter.into_iter().collect())
    }
}

impl CountyFingerprints {
    pub fn get(&self, county: i32) -> Option<Fingerprint> {
        self.0.get(&county).copied()
    }

    /// The counties, ascending.
    pub fn counties(&self) -> Vec<i32> {
        self.0.keys().copied().collect()
    }

    /// Folds one batch: `counties` is its county column, `digests` its rows' digests in the
    /// same order. Rows whose county is NULL or not a 32-bit number are left out: no call can
    /// ask about them.
    pub fn add_batch(&mut self, counties: &dyn Array, digests: &[u128]) -> Result<()> {
        if counties.len() != digests.len() {
            return Err(Error::Aborted(format!(
                "a batch of {} rows came with {} row digests",
                counties.len(),
                digests.len()
            )));
        }
        let numbers = cast(counties, &DataType::Int64)
            .map_err(|e| Error::arrow("county codes as numbers", e))?;
        let mut last: Option<(i32, &mut Fingerprint)> = None;
        for (code, &digest) in numbers.as_primitive::<Int64Type>().iter().zip(digests) {
            let Some(county) = code.and_then(|code| i32::try_from(code).ok()) else {
                continue;
            };
            // Rows of a county tend to come together: skip the map lookup then.
            let fingerprint = match last.take() {
                Some((seen, fingerprint)) if seen == county => fingerprint,
                _ => self.0.entry(county).or_default(),
            };
            fingerprint.add(digest);
            last = Some((county, fingerprint));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{ArrayRef, Int32Array, StringArray};

    use super::*;

    fn fold(rows: &[(Option<i32>, &[u8])]) -> CountyFingerprints {
        let counties: ArrayRef = Arc::new(rows.iter().map(|r| r.0).collect::<Int32Array>());
        let digests: Vec<u128> = rows.iter().map(|r| row_digest(r.1)).collect();
        let mut all = CountyFingerprints::default();
        all.add_batch(&counties, &digests).unwrap();
        all
    }

    #[test]
    fn row_order_does_not_matter_but_every_row_does() {
        let rows: [(Option<i32>, &[u8]); 4] = [
            (Some(55001), b"a"),
            (Some(55003), b"b"),
            (Some(55001), b"c"),
            (Some(55001), b"a"),
        ];
        let mut reversed = rows;
        reversed.reverse();
        let forward = fold(&rows);
        assert_eq!(forward, fold(&reversed));
        assert_eq!(forward.counties(), [55001, 55003]);
        assert_eq!(forward.get(55001).unwrap().rows, 3);

        // A duplicated row is not cancelled out; a changed byte, a row less: each differs.
        let mut changed = rows;
        changed[2].1 = b"d";
        assert_ne!(fold(&changed).get(55001), forward.get(55001));
        assert_eq!(fold(&changed).get(55003), forward.get(55003));
        assert_ne!(fold(&rows[..3]).get(55001), forward.get(55001));
        let without_duplicate = fold(&rows[..3]).get(55001).unwrap();
        assert_ne!(without_duplicate.digest, forward.get(55001).unwrap().digest);
    }

    #[test]
    fn null_and_out_of_range_counties_are_left_out() {
        let all = fold(&[(None, b"a"), (Some(55001), b"b")]);
        assert_eq!(all.counties(), [55001]);
        let text: ArrayRef = Arc::new(StringArray::from(vec![
            Some("55001"),
            Some("99999999999"),
            None,
        ]));
        let mut from_text = CountyFingerprints::default();
        from_text.add_batch(&text, &[1, 2, 3]).unwrap();
        assert_eq!(from_text.counties(), [55001]);
    }

    #[test]
    fn digests_must_match_the_rows() {
        let counties: ArrayRef = Arc::new(Int32Array::from(vec![55001, 55003]));
        let err = CountyFingerprints::default()
            .add_batch(&counties, &[1])
            .unwrap_err();
        assert!(
            err.to_string().contains("2 rows came with 1 row digests"),
            "{err}"
        );
    }

    #[test]
    fn fingerprints_survive_json_with_every_bit() {
        let mut all = CountyFingerprints::default();
        all.0.insert(
            55001,
            Fingerprint {
                rows: 7,
                digest: u128::MAX - 5,
            },
        );
        let json = serde_json::to_string(&all).unwrap();
        assert!(json.contains("fffffffffffffffffffffffffffffffa"), "{json}");
        assert_eq!(
            serde_json::from_str::<CountyFingerprints>(&json).unwrap(),
            all
        );
        assert!(serde_json::from_str::<Fingerprint>(r#"{"rows":1,"digest":"xyz"}"#).is_err());
    }
}
