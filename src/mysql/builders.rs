//! Arrow builders for one batch of exported rows: one builder per column, typed after the
//! schema. Both decoders fill them: the row-packet reader (`binary`) and the `Value` one
//! (`values`), so a batch from either has the same types by construction.

use arrow::{
    array::{
        ArrayBuilder, ArrayRef, AsArray, BinaryBuilder, Date32Builder, Decimal128Builder,
        Float32Builder, Float64Builder, Int32Builder, Int64Builder, StringBuilder,
        TimestampMicrosecondBuilder, UInt64Builder,
    },
    datatypes::{DataType, SchemaRef},
    record_batch::RecordBatch,
};

use crate::error::{Error, Result};

/// One Arrow builder per column, filled row by row.
pub(super) struct BatchBuilder {
    pub(super) schema: SchemaRef,
    pub(super) columns: Vec<ColumnBuilder>,
    /// Rows in the batch so far (counted from 1 in cell errors).
    pub(super) rows: usize,
    /// Rows a batch holds: the builders are sized for it.
    capacity: usize,
}

pub(super) enum ColumnBuilder {
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
    pub(super) fn new(schema: SchemaRef, capacity: usize) -> Self {
        let columns = schema
            .fields()
            .iter()
            .map(|f| ColumnBuilder::new(f.data_type(), capacity))
            .collect();
        BatchBuilder {
            schema,
            columns,
            rows: 0,
            capacity,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.rows
    }

    /// A cell that does not fit its column: the error names the column and the row within
    /// the batch, the same text whichever decoder found it.
    pub(super) fn cell_error(schema: &SchemaRef, index: usize, rows: usize, why: String) -> Error {
        Error::BadData(format!(
            "column {} row {}: {why}",
            schema.field(index).name(),
            rows + 1
        ))
    }

    pub(super) fn finish(&mut self) -> Result<RecordBatch> {
        let capacity = self.capacity;
        let arrays: Vec<ArrayRef> = self
            .columns
            .iter_mut()
            .map(|column| column.finish_presized(capacity))
            .collect();
        self.rows = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| Error::arrow("assembling a batch of exported rows", e))
    }
}

impl ColumnBuilder {
    /// A builder for `capacity` rows; text and binary columns start with 8 bytes a row.
    pub(super) fn new(data_type: &DataType, capacity: usize) -> Self {
        Self::sized(data_type, capacity, capacity * 8)
    }

    /// A builder for `capacity` rows and, for text and binary, `value_bytes` of values.
    fn sized(data_type: &DataType, capacity: usize, value_bytes: usize) -> Self {
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
            DataType::Binary => Self::Binary(BinaryBuilder::with_capacity(capacity, value_bytes)),
            _ => Self::Utf8(StringBuilder::with_capacity(capacity, value_bytes)),
        }
    }

    pub(super) fn append_null(&mut self) {
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

    /// The column's array, and a builder left sized for a next batch like this one (its
    /// value bytes plus an eighth): arrow's builders restart empty after `finish`, so every
    /// batch grew its buffers again by doubling, copying them on each step.
    fn finish_presized(&mut self, capacity: usize) -> ArrayRef {
        let array = self.finish();
        let value_bytes = match self {
            Self::Binary(_) => array.as_binary_opt::<i32>().map_or(0, |a| a.values().len()),
            Self::Utf8(_) => array.as_string_opt::<i32>().map_or(0, |a| a.values().len()),
            _ => 0,
        };
        *self = Self::sized(array.data_type(), capacity, value_bytes + value_bytes / 8);
        array
    }

    pub(super) fn finish(&mut self) -> ArrayRef {
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
