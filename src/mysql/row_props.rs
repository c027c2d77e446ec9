//! Property tests of the binary row decoder (`binary`), whose bytes come from another
//! process: arbitrary bytes and mutated real rows never panic and fail naming a column or the
//! row; valid rows decode to exactly the values they were made from. The rows are encoded here
//! by hand from generated values (the MySQL binary protocol's layout), independent of the
//! decoder under test.

use arrow::{
    array::{Array, AsArray},
    datatypes::{Decimal128Type, Float64Type, Int32Type, Int64Type},
};
use mysql_async::{
    Column,
    consts::{ColumnFlags, ColumnType},
};
use proptest::prelude::*;

use super::{binary, builders::BatchBuilder, schema_of};

/// One generated row of the columns of [`columns`].
#[derive(Debug, Clone)]
struct Row {
    county: Option<i32>,
    amount: Option<i64>,
    rate: Option<f64>,
    name: Option<String>,
    /// Hundredths: DECIMAL(10,2).
    ratio: Option<i64>,
}

/// The export's kinds of columns: INT, BIGINT, DOUBLE, VARCHAR, DECIMAL(10,2).
fn columns() -> Vec<Column> {
    vec![
        Column::new(ColumnType::MYSQL_TYPE_LONG).with_name(b"county_code"),
        Column::new(ColumnType::MYSQL_TYPE_LONGLONG).with_name(b"loan_amount"),
        Column::new(ColumnType::MYSQL_TYPE_DOUBLE).with_name(b"interest_rate"),
        Column::new(ColumnType::MYSQL_TYPE_VAR_STRING)
            .with_name(b"loan_type_name")
            .with_character_set(45),
        Column::new(ColumnType::MYSQL_TYPE_NEWDECIMAL)
            .with_name(b"loan_to_value_ratio")
            .with_column_length(12)
            .with_decimals(2)
            .with_flags(ColumnFlags::empty()),
    ]
}

fn lenenc(out: &mut Vec<u8>, bytes: &[u8]) {
    match bytes.len() {
        n if n < 251 => out.push(n as u8),
        n if n < 1 << 16 => {
            out.push(0xFC);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        n => {
            out.push(0xFD);
            out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
        }
    }
    out.extend_from_slice(bytes);
}

fn decimal_text(hundredths: i64) -> String {
    let sign = if hundredths < 0 { "-" } else { "" };
    let abs = hundredths.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// The binary protocol row: 0x00, the NULL bitmap (offset 2), the non-NULL cells.
fn encode(row: &Row) -> Vec<u8> {
    let nulls = [
        row.county.is_none(),
        row.amount.is_none(),
        row.rate.is_none(),
        row.name.is_none(),
        row.ratio.is_none(),
    ];
    let mut bitmap = vec![0u8; (nulls.len() + 7 + 2) / 8];
    for (i, null) in nulls.iter().enumerate() {
        if *null {
            bitmap[(i + 2) / 8] |= 1 << ((i + 2) % 8);
        }
    }
    let mut out = vec![0x00];
    out.extend_from_slice(&bitmap);
    if let Some(v) = row.county {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(v) = row.amount {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(v) = row.rate {
        out.extend_from_slice(&v.to_le_bytes());
    }
    if let Some(v) = &row.name {
        lenenc(&mut out, v.as_bytes());
    }
    if let Some(v) = row.ratio {
        lenenc(&mut out, decimal_text(v).as_bytes());
    }
    out
}

fn row() -> impl Strategy<Value = Row> {
    (
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<i64>()),
        proptest::option::of(any::<f64>().prop_filter("comparable", |f| !f.is_nan())),
        proptest::option::of(".{0,300}"),
        proptest::option::of(-9_999_999_999i64..=9_999_999_999),
    )
        .prop_map(|(county, amount, rate, name, ratio)| Row {
            county,
            amount,
            rate,
            name,
            ratio,
        })
}

/// Decodes `packets` into one batch; the first error's text if any.
fn decode(packets: &[Vec<u8>]) -> Result<arrow::record_batch::RecordBatch, String> {
    let columns = columns();
    let cells = binary::cells(&columns).map_err(|e| e.to_string())?;
    let mut batch = BatchBuilder::new(schema_of(&columns), packets.len().max(1));
    for packet in packets {
        batch
            .push_binary(&cells, packet)
            .map_err(|e| e.to_string())?;
    }
    batch.finish().map_err(|e| e.to_string())
}

/// A decoder's error names a column of the schema, or says the row is too short.
fn names_a_column_or_the_row(error: &str) -> bool {
    let named = columns()
        .iter()
        .any(|c| error.contains(&format!("column {} ", c.name_str())));
    named || error.contains("too short")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_rows_decode_to_the_values_they_were_made_from(rows in proptest::collection::vec(row(), 1..20)) {
        let packets: Vec<Vec<u8>> = rows.iter().map(encode).collect();
        let batch = decode(&packets).map_err(TestCaseError::fail)?;
        let county = batch.column(0).as_primitive::<Int32Type>();
        let amount = batch.column(1).as_primitive::<Int64Type>();
        let rate = batch.column(2).as_primitive::<Float64Type>();
        let name = batch.column(3).as_string::<i32>();
        let ratio = batch.column(4).as_primitive::<Decimal128Type>();
        for (i, row) in rows.iter().enumerate() {
            prop_assert_eq!(county.is_valid(i).then(|| county.value(i)), row.county);
            prop_assert_eq!(amount.is_valid(i).then(|| amount.value(i)), row.amount);
            prop_assert_eq!(rate.is_valid(i).then(|| rate.value(i)), row.rate);
            prop_assert_eq!(name.is_valid(i).then(|| name.value(i).to_owned()), row.name.clone());
            prop_assert_eq!(ratio.is_valid(i).then(|| ratio.value(i)), row.ratio.map(i128::from));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_an_error_names_the_column(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Err(error) = decode(&[bytes]) {
            prop_assert!(names_a_column_or_the_row(&error), "{}", error);
        }
    }

    #[test]
    fn mutated_rows_never_panic_and_an_error_names_the_column(
        row in row(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let mut packet = encode(&row);
        for (at, byte) in flips {
            let at = at.index(packet.len());
            packet[at] = byte;
        }
        if let Some(cut) = cut {
            packet.truncate(cut.index(packet.len() + 1));
        }
        if let Err(error) = decode(&[packet]) {
            prop_assert!(names_a_column_or_the_row(&error), "{}", error);
        }
    }
}

#[test]
fn a_row_cut_inside_a_cell_names_that_cell() {
    let row = Row {
        county: Some(55001),
        amount: Some(250_000),
        rate: Some(3.5),
        name: Some("Conventional".into()),
        ratio: Some(8_000),
    };
    let mut packet = encode(&row);
    packet.truncate(packet.len() - 3); // inside the decimal's digits
    let error = decode(&[packet]).err().unwrap_or_default();
    assert!(
        error.starts_with("column loan_to_value_ratio row 1:"),
        "{error}"
    );
}
