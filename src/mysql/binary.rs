//! Binary-protocol row packets (the answer to COM_STMT_EXECUTE) straight into the Arrow
//! builders of a batch. Text, DECIMAL and blob cells are appended from the packet itself,
//! with no copy of their own; numbers, dates and times are read by mysql_common into a
//! `Value`, which costs no allocation for them, and converted by the same code as before
//! (`values`), so those cells cannot differ between the two decoders.

use mysql_async::{
    Column, Value,
    consts::{ColumnFlags, ColumnType},
};
use mysql_common::{
    io::ParseBuf,
    packets::NullBitmap,
    value::{BinValue, ServerSide, ValueDeserializer},
};

use super::{
    builders::{BatchBuilder, ColumnBuilder},
    parse_decimal,
};
use crate::error::{Error, Result};

/// How one column's cells are sent in a binary row.
#[derive(Clone, Copy)]
pub(super) enum Cell {
    /// A length-encoded string: text, DECIMAL digits, BLOB, BIT, ENUM, SET, JSON.
    Bytes,
    /// A fixed-size number, a date or a time: decoded by mysql_common.
    Value(ColumnType, ColumnFlags),
}

/// The cell layout of each column; a column type mysql_common cannot decode (it would
/// panic) is refused before the first row.
pub(super) fn cells(columns: &[Column]) -> Result<Vec<Cell>> {
    columns.iter().map(cell).collect()
}

fn cell(column: &Column) -> Result<Cell> {
    use ColumnType::*;
    match column.column_type() {
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_SET
        | MYSQL_TYPE_ENUM
        | MYSQL_TYPE_DECIMAL
        | MYSQL_TYPE_NEWDECIMAL
        | MYSQL_TYPE_BIT
        | MYSQL_TYPE_GEOMETRY
        | MYSQL_TYPE_VECTOR
        | MYSQL_TYPE_JSON => Ok(Cell::Bytes),
        kind @ (MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_YEAR | MYSQL_TYPE_LONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_LONGLONG | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE
        | MYSQL_TYPE_TIMESTAMP | MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE
        | MYSQL_TYPE_DATETIME | MYSQL_TYPE_TIME | MYSQL_TYPE_NULL) => {
            Ok(Cell::Value(kind, column.flags()))
        }
        other => Err(Error::BadData(format!(
            "column {}: MySQL sent type {other:?}, which the export cannot read",
            column.name_str()
        ))),
    }
}

impl BatchBuilder {
    /// Appends one binary row packet: a 0x00 header, a NULL bitmap (offset 2), then the
    /// non-NULL cells in column order.
    pub(super) fn push_binary(&mut self, cells: &[Cell], row: &[u8]) -> Result<()> {
        let bitmap_len = NullBitmap::<ServerSide>::bitmap_len(self.columns.len());
        let Some((nulls, values)) = row.get(1..).and_then(|r| r.split_at_checked(bitmap_len))
        else {
            return Err(self.short_row(row));
        };
        let nulls = NullBitmap::<ServerSide, &[u8]>::from_bytes(nulls);
        let mut buf = ParseBuf(values);
        for (index, (column, cell)) in self.columns.iter_mut().zip(cells).enumerate() {
            if nulls.is_null(index) {
                column.append_null();
                continue;
            }
            column
                .append_binary(*cell, &mut buf)
                .map_err(|why| Self::cell_error(&self.schema, index, self.rows, why))?;
        }
        self.rows += 1;
        Ok(())
    }

    fn short_row(&self, row: &[u8]) -> Error {
        Error::BadData(format!(
            "row {}: a row packet of {} bytes is too short for {} columns",
            self.rows + 1,
            row.len(),
            self.columns.len()
        ))
    }
}

impl ColumnBuilder {
    fn append_binary(&mut self, cell: Cell, buf: &mut ParseBuf<'_>) -> Result<(), String> {
        match cell {
            Cell::Bytes => {
                let bytes = buf.checked_eat_lenenc_str().ok_or_else(truncated)?;
                self.append_bytes(bytes)
            }
            Cell::Value(kind, flags) => {
                let value: ValueDeserializer<BinValue> =
                    buf.parse((kind, flags)).map_err(|_| truncated())?;
                self.append(value.0)
            }
        }
    }

    /// A length-encoded cell, borrowed from the packet: what `append(Value::Bytes)` does,
    /// without the `Vec` per cell.
    pub(super) fn append_bytes(&mut self, bytes: &[u8]) -> Result<(), String> {
        match self {
            Self::Utf8(b) => match std::str::from_utf8(bytes) {
                Ok(text) => b.append_value(text),
                Err(_) => b.append_value(String::from_utf8_lossy(bytes)),
            },
            Self::Binary(b) => b.append_value(bytes),
            Self::Decimal(b, scale) => {
                let text = String::from_utf8_lossy(bytes);
                b.append_value(parse_decimal(&text, *scale)?)
            }
            // numbers sent as text: not a type the export's columns have
            _ => return self.append(Value::Bytes(bytes.to_vec())),
        }
        Ok(())
    }
}

fn truncated() -> String {
    "the row packet ends inside this cell".to_owned()
}
