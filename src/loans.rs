//! What we know about the loans data itself: the two columns the questions use, how to
//! match a county whatever type the column has, which row groups can hold a county, and
//! the exact integer average. Pure functions over Arrow data, tested in memory.

use std::sync::Arc;

use arrow::{
    array::{Array, ArrayRef, BooleanArray, Decimal128Array, Int64Array, Scalar},
    compute::{
        cast,
        kernels::{boolean::and_kleene, cmp},
    },
    datatypes::{DataType, Schema},
};
use parquet::{
    arrow::arrow_reader::statistics::StatisticsConverter, file::metadata::ParquetMetaData,
};

use crate::error::{Error, Result};

pub const COUNTY_COLUMN: &str = "county_code";
pub const AMOUNT_COLUMN: &str = "loan_amount";

/// The county as a one-element array of `data_type` (county codes may be stored as numbers
/// or as text, depending on the dump).
fn county_scalar(county: i32, data_type: &DataType) -> Result<Scalar<ArrayRef>> {
    let value: ArrayRef = Arc::new(Int64Array::from(vec![i64::from(county)]));
    let value = cast(&value, data_type)
        .map_err(|e| Error::arrow(format!("county {county} as {data_type}"), e))?;
    Ok(Scalar::new(value))
}

/// Rows of `column` equal to `county` (nulls never match).
pub fn county_mask(column: &dyn Array, county: i32) -> Result<BooleanArray> {
    let scalar = county_scalar(county, column.data_type())?;
    cmp::eq(&column, &scalar).map_err(|e| Error::arrow(format!("matching county {county}"), e))
}

/// Row groups whose county statistics admit `county`; a row group without statistics is
/// kept (it might hold the county).
pub fn row_groups_for_county(
    metadata: &ParquetMetaData,
    schema: &Schema,
    county: i32,
) -> Result<Vec<usize>> {
    let converter = StatisticsConverter::try_new(
        COUNTY_COLUMN,
        schema,
        metadata.file_metadata().schema_descr(),
    )
    .map_err(|e| Error::parquet(format!("statistics of {COUNTY_COLUMN}"), e))?;
    let groups = metadata.row_groups().iter();
    let mins = converter
        .row_group_mins(groups.clone())
        .map_err(|e| Error::parquet("row group minimums", e))?;
    let maxes = converter
        .row_group_maxes(groups)
        .map_err(|e| Error::parquet("row group maximums", e))?;
    let scalar = county_scalar(county, mins.data_type())?;
    let arrow_err = |e| Error::arrow("pruning row groups", e);
    let above_min = cmp::lt_eq(&mins, &scalar).map_err(arrow_err)?;
    let below_max = cmp::gt_eq(&maxes, &scalar).map_err(arrow_err)?;
    let admits = and_kleene(&above_min, &below_max).map_err(arrow_err)?;
    Ok((0..admits.len())
        .filter(|&i| admits.is_null(i) || admits.value(i))
        .collect())
}

/// Running sum and count of loan amounts, exact: amounts become scaled integers (decimals
/// keep their scale, integers scale 0, floats and text scale 6) and are summed as i128.
#[derive(Debug, Clone, Default)]
pub struct LoanSum {
    sum: i128,
    count: u64,
    scale: i8,
}

impl LoanSum {
    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Adds every non-null amount of `column`.
    pub fn add(&mut self, column: &ArrayRef) -> Result<()> {
        let scale = match column.data_type() {
            DataType::Decimal128(_, s) | DataType::Decimal256(_, s) => *s,
            t if t.is_integer() => 0,
            _ => 6,
        };
        if self.count > 0 && scale != self.scale {
            return Err(Error::BadData(format!(
                "{AMOUNT_COLUMN} changed type mid-file"
            )));
        }
        self.scale = scale;
        let scaled = cast(column, &DataType::Decimal128(38, scale))
            .map_err(|e| Error::arrow(format!("{AMOUNT_COLUMN} as a decimal"), e))?;
        let Some(values) = scaled.as_any().downcast_ref::<Decimal128Array>() else {
            return Err(Error::BadData(format!("{AMOUNT_COLUMN} is not numeric")));
        };
        for value in values.iter().flatten() {
            self.sum += value;
            self.count += 1;
        }
        Ok(())
    }

    /// floor(sum / count) in whole dollars, or `None` for no rows.
    pub fn average(&self) -> Option<i64> {
        if self.count == 0 {
            return None;
        }
        let divisor = i128::from(self.count) * 10i128.pow(self.scale.max(0) as u32);
        i64::try_from(self.sum.div_euclid(divisor)).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::{
        array::{Float64Array, Int32Array, RecordBatch, StringArray},
        datatypes::Field,
    };
    use parquet::{arrow::ArrowWriter, file::properties::WriterProperties};

    #[test]
    fn matches_county_in_numeric_and_text_columns() {
        let ints = Int32Array::from(vec![Some(55001), None, Some(55003), Some(55001)]);
        assert_eq!(county_mask(&ints, 55001).unwrap().true_count(), 2);
        let text = StringArray::from(vec![Some("55001"), Some("55003"), None]);
        assert_eq!(county_mask(&text, 55003).unwrap().true_count(), 1);
        let floats = Float64Array::from(vec![55001.0, 55001.0]);
        assert_eq!(county_mask(&floats, 55001).unwrap().true_count(), 2);
    }

    #[test]
    fn average_is_the_exact_floor() {
        let mut sum = LoanSum::default();
        sum.add(&(Arc::new(Int32Array::from(vec![Some(10), None, Some(11)])) as ArrayRef))
            .unwrap();
        assert_eq!((sum.count(), sum.average()), (2, Some(10)));

        let mut sum = LoanSum::default();
        let amounts = Float64Array::from(vec![65000.0, 155000.0, 155000.0]);
        sum.add(&(Arc::new(amounts) as ArrayRef)).unwrap();
        // 375000 / 3 = 125000 exactly; floats must not round it to 124999.
        assert_eq!(sum.average(), Some(125000));

        let mut sum = LoanSum::default();
        let decimals = Decimal128Array::from(vec![105, 200]) // 10.5 and 20.0 at scale 1
            .with_precision_and_scale(10, 1)
            .unwrap();
        sum.add(&(Arc::new(decimals) as ArrayRef)).unwrap();
        assert_eq!(sum.average(), Some(15)); // (10.5 + 20.0) / 2 = 15.25
        assert_eq!(LoanSum::default().average(), None);
    }

    #[test]
    fn prunes_row_groups_by_county_statistics() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            COUNTY_COLUMN,
            DataType::Int32,
            true,
        )]));
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut buf = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buf, schema.clone(), Some(props)).unwrap();
        let counties = Int32Array::from(vec![55001, 55001, 55003, 55005, 55009, 55011]);
        writer
            .write(&RecordBatch::try_new(schema.clone(), vec![Arc::new(counties)]).unwrap())
            .unwrap();
        writer.close().unwrap();
        let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
            .parse_and_finish(&bytes::Bytes::from(buf))
            .unwrap();
        assert_eq!(metadata.num_row_groups(), 3, "{metadata:?}");
        assert_eq!(
            row_groups_for_county(&metadata, &schema, 55001).unwrap(),
            [0]
        );
        assert_eq!(
            row_groups_for_county(&metadata, &schema, 55005).unwrap(),
            [1]
        );
        assert_eq!(
            row_groups_for_county(&metadata, &schema, 55009).unwrap(),
            [2]
        );
        assert!(
            row_groups_for_county(&metadata, &schema, 55007)
                .unwrap()
                .is_empty()
        );
        assert!(
            row_groups_for_county(&metadata, &schema, 56001)
                .unwrap()
                .is_empty()
        );
    }
}
