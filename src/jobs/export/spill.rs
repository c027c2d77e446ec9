//! Rows that wait for their county's row group on local disk, not in memory.
//!
//! Why: rows arrive in table order, so a county's rows trickle in over the whole export.
//! Holding 32k rows of every county in memory would hold more than the whole file; cutting
//! small row groups instead would make the file about a third larger and let the Parquet
//! writer's metadata, kept until the file closes, grow with the data. A county's waiting rows
//! go to a spill file next to the export's spool and come back when its group is due.
//!
//! The spill file's format (small Parquet segments) is [`crate::parquet::SpillFile`]'s; this
//! module decides where spill files go and what they are named.

use std::path::PathBuf;

use arrow::datatypes::SchemaRef;

use crate::{error::Result, parquet::SpillFile};

/// Where spill files go: a directory and a name prefix unique to one export attempt, so
/// that [`crate::spool::Spool::clean_dir`] removes what a crashed process left.
#[derive(Debug, Clone)]
pub struct SpillPlace {
    pub dir: PathBuf,
    pub prefix: String,
}

impl SpillPlace {
    fn path(&self, n: u64) -> PathBuf {
        self.dir.join(format!("{}.spill-{n}.parquet", self.prefix))
    }

    /// Creates the `n`th spill file of this place for rows of `schema`.
    pub fn create(&self, n: u64, schema: &SchemaRef) -> Result<SpillFile> {
        SpillFile::create(self.path(n), schema)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::{
        array::Int32Array,
        datatypes::{DataType, Field, Schema},
        record_batch::RecordBatch,
    };

    use super::*;

    #[test]
    fn startup_cleaning_knows_spill_file_names() {
        let dir =
            std::env::temp_dir().join(format!("lender-spill-test-clean-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let place = SpillPlace {
            dir: dir.clone(),
            prefix: format!("{}-1", uuid::Uuid::now_v7()),
        };
        let schema = Arc::new(Schema::new(vec![Field::new(
            "code",
            DataType::Int32,
            false,
        )]));
        let batch =
            RecordBatch::try_new(schema.clone(), vec![Arc::new(Int32Array::from(vec![1, 2]))])
                .unwrap();
        let mut file = place.create(7, &schema).unwrap();
        file.append(&batch).unwrap();
        assert_eq!(crate::spool::Spool::clean_dir(&place.dir), 1);
        assert!(!place.path(7).exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
