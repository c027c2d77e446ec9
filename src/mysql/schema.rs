//! The Arrow shape of a MySQL result set, and the conversions of cell text both decoders
//! share (DECIMAL digits, calendar dates).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use mysql_async::{
    Column,
    consts::{ColumnFlags, ColumnType},
};

/// Binary character set id: such string columns hold bytes, not text.
const BINARY_CHARSET: u16 = 63;

/// Arrow schema of a result set: one field per column, typed after the MySQL column type.
pub fn schema_of(columns: &[Column]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| {
            let nullable = !c.flags().contains(ColumnFlags::NOT_NULL_FLAG);
            Field::new(c.name_str().into_owned(), arrow_type(c), nullable)
        })
        .collect();
    Arc::new(Schema::new(fields))
}

fn arrow_type(column: &Column) -> DataType {
    use ColumnType::*;
    let unsigned = column.flags().contains(ColumnFlags::UNSIGNED_FLAG);
    match column.column_type() {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => DataType::Int32,
        MYSQL_TYPE_LONG if unsigned => DataType::Int64,
        MYSQL_TYPE_LONG => DataType::Int32,
        MYSQL_TYPE_LONGLONG if unsigned => DataType::UInt64,
        MYSQL_TYPE_LONGLONG => DataType::Int64,
        MYSQL_TYPE_FLOAT => DataType::Float32,
        MYSQL_TYPE_DOUBLE => DataType::Float64,
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL => {
            let (precision, scale) =
                decimal_shape(column.column_length(), column.decimals(), unsigned);
            DataType::Decimal128(precision, scale)
        }
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => DataType::Date32,
        MYSQL_TYPE_DATETIME
        | MYSQL_TYPE_DATETIME2
        | MYSQL_TYPE_TIMESTAMP
        | MYSQL_TYPE_TIMESTAMP2 => DataType::Timestamp(TimeUnit::Microsecond, None),
        MYSQL_TYPE_BIT | MYSQL_TYPE_GEOMETRY => DataType::Binary,
        MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_STRING
        | MYSQL_TYPE_VARCHAR
            if column.character_set() == BINARY_CHARSET =>
        {
            DataType::Binary
        }
        // Text, ENUM, SET, JSON, TIME and anything newer: kept as text, losing nothing.
        _ => DataType::Utf8,
    }
}

/// MySQL reports DECIMAL(p,s) as display length p + sign + point.
pub(super) fn decimal_shape(display_len: u32, scale: u8, unsigned: bool) -> (u8, i8) {
    let point = u32::from(scale > 0);
    let sign = u32::from(!unsigned);
    let precision = display_len.saturating_sub(point + sign).clamp(1, 38) as u8;
    (precision.max(scale), scale as i8)
}

/// "-123.45" at scale 3 -> -123450. Exact: no floating point on the way.
pub fn parse_decimal(text: &str, scale: i8) -> std::result::Result<i128, String> {
    let bad = || format!("{text:?} is not a decimal");
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (int_part, frac_part) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(bad());
    }
    let scale = scale.max(0) as usize;
    let mut value: i128 = 0;
    for c in int_part
        .chars()
        .chain(frac_part.chars().chain(std::iter::repeat('0')).take(scale))
    {
        let digit = c.to_digit(10).ok_or_else(bad)?;
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(digit)))
            .ok_or_else(bad)?;
    }
    Ok(if negative { -value } else { value })
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(super) fn civil_days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
