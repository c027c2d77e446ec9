//! The `Value` decoder: a cell as mysql_common decoded it (`Value`) into its Arrow builder.
//! It was the whole export path (`Row` -> `Value` per cell -> builder); now it converts the
//! cells that are cheap as a `Value` (numbers, dates, times) for the row-packet reader, and
//! in tests it decodes whole `Row`s as the oracle that reader is checked against.

use std::borrow::Cow;

use mysql_async::Value;

#[cfg(test)]
use super::builders::BatchBuilder;
use super::{builders::ColumnBuilder, parse_decimal, schema::civil_days};
#[cfg(test)]
use crate::error::Result;

#[cfg(test)]
impl BatchBuilder {
    /// One row as mysql_async decoded it: the oracle the row-packet reader is checked
    /// against (tests only; production reads row packets itself).
    #[cfg(test)]
    pub(super) fn push(&mut self, mut row: mysql_async::Row) -> Result<()> {
        for (index, column) in self.columns.iter_mut().enumerate() {
            let value = row.take::<Value, _>(index).unwrap_or(Value::NULL);
            column
                .append(value)
                .map_err(|why| Self::cell_error(&self.schema, index, self.rows, why))?;
        }
        self.rows += 1;
        Ok(())
    }
}

impl ColumnBuilder {
    /// Appends one decoded cell. The row-packet reader uses it too, for the cells that
    /// cost no allocation as a `Value` (numbers, dates, times), so both decoders convert
    /// them with the same code.
    pub(super) fn append(&mut self, value: Value) -> std::result::Result<(), String> {
        if value == Value::NULL {
            self.append_null();
            return Ok(());
        }
        match self {
            Self::Int32(b) => {
                b.append_value(i32::try_from(as_i64(&value)?).map_err(|e| e.to_string())?)
            }
            Self::Int64(b) => b.append_value(as_i64(&value)?),
            Self::UInt64(b) => b.append_value(as_u64(&value)?),
            Self::Float32(b) => b.append_value(as_f64(&value)? as f32),
            Self::Float64(b) => b.append_value(as_f64(&value)?),
            Self::Decimal(b, scale) => b.append_value(parse_decimal(&as_text(&value), *scale)?),
            Self::Date(b) => b.append_value(days_since_epoch(&value)?),
            Self::Timestamp(b) => b.append_value(micros_since_epoch(&value)?),
            Self::Binary(b) => match value {
                Value::Bytes(bytes) => b.append_value(bytes),
                other => b.append_value(as_text(&other).as_bytes()),
            },
            Self::Utf8(b) => b.append_value(as_text(&value)),
        }
        Ok(())
    }
}

/// A value's text. Borrowed when MySQL sent valid UTF-8 (every text cell of the export
/// passes here: no copy, and `from_utf8` checks faster than the lossy scan it falls back to).
pub(super) fn as_text(value: &Value) -> Cow<'_, str> {
    match value {
        Value::Bytes(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        },
        Value::Int(v) => Cow::Owned(v.to_string()),
        Value::UInt(v) => Cow::Owned(v.to_string()),
        Value::Float(v) => Cow::Owned(v.to_string()),
        Value::Double(v) => Cow::Owned(v.to_string()),
        other => Cow::Owned(other.as_sql(true).trim_matches('\'').to_owned()),
    }
}

fn as_i64(value: &Value) -> std::result::Result<i64, String> {
    match value {
        Value::Int(v) => Ok(*v),
        Value::UInt(v) => i64::try_from(*v).map_err(|e| e.to_string()),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("{:?} is not an integer", String::from_utf8_lossy(b))),
        other => Err(format!("{other:?} is not an integer")),
    }
}

fn as_u64(value: &Value) -> std::result::Result<u64, String> {
    match value {
        Value::UInt(v) => Ok(*v),
        other => u64::try_from(as_i64(other)?).map_err(|e| e.to_string()),
    }
}

fn as_f64(value: &Value) -> std::result::Result<f64, String> {
    match value {
        Value::Float(v) => Ok(f64::from(*v)),
        Value::Double(v) => Ok(*v),
        Value::Int(v) => Ok(*v as f64),
        Value::UInt(v) => Ok(*v as f64),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("{:?} is not a number", String::from_utf8_lossy(b))),
        other => Err(format!("{other:?} is not a number")),
    }
}

fn days_since_epoch(value: &Value) -> std::result::Result<i32, String> {
    match value {
        Value::Date(y, m, d, ..) => {
            Ok(civil_days(i64::from(*y), i64::from(*m), i64::from(*d)) as i32)
        }
        other => Err(format!("{other:?} is not a date")),
    }
}

fn micros_since_epoch(value: &Value) -> std::result::Result<i64, String> {
    match value {
        Value::Date(y, mo, d, h, mi, s, us) => {
            let days = civil_days(i64::from(*y), i64::from(*mo), i64::from(*d));
            let secs = days * 86_400 + i64::from(*h) * 3600 + i64::from(*mi) * 60 + i64::from(*s);
            Ok(secs * 1_000_000 + i64::from(*us))
        }
        other => Err(format!("{other:?} is not a datetime")),
    }
}
