//! Unit tests of the decoders; the tests against a live server are in `live`.

use std::sync::Arc;

use arrow::{
    array::{Array, AsArray},
    datatypes::{DataType, Decimal128Type, Field, Schema},
};
use mysql_async::Value;

use bytes::BytesMut;
use mysql_common::proto::codec::packet_to_chunks;
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

use super::{
    builders::{BatchBuilder, ColumnBuilder},
    schema::{civil_days, decimal_shape, parse_decimal},
    wire::Wire,
};

#[test]
fn decimals_parse_exactly() {
    assert_eq!(parse_decimal("123.45", 2), Ok(12345));
    assert_eq!(parse_decimal("-0.5", 3), Ok(-500));
    assert_eq!(parse_decimal("65000", 1), Ok(650000));
    assert_eq!(parse_decimal("7", 0), Ok(7));
    assert!(parse_decimal("NA", 2).is_err());
    assert!(parse_decimal("", 2).is_err());
}

#[test]
fn decimal_shape_follows_mysql_display_length() {
    // DECIMAL(10,2) signed: 10 digits + sign + point = 12
    assert_eq!(decimal_shape(12, 2, false), (10, 2));
    // DECIMAL(5,0) unsigned: 5
    assert_eq!(decimal_shape(5, 0, true), (5, 0));
}

#[test]
fn dates_count_days_from_epoch() {
    assert_eq!(civil_days(1970, 1, 1), 0);
    assert_eq!(civil_days(2021, 1, 1), 18628);
    assert_eq!(civil_days(1969, 12, 31), -1);
}

#[test]
fn builders_turn_values_into_typed_arrays() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("i", DataType::Int32, true),
        Field::new("d", DataType::Decimal128(10, 2), true),
        Field::new("s", DataType::Utf8, false),
    ]));
    let mut batch = BatchBuilder::new(schema.clone(), 4);
    let mut column = ColumnBuilder::new(&DataType::Int32, 2);
    column.append(Value::Int(5)).unwrap();
    column.append(Value::NULL).unwrap();
    column.append(Value::Bytes(b"42".to_vec())).unwrap();
    assert!(column.append(Value::Bytes(b"Exempt".to_vec())).is_err());
    let array = column.finish();
    assert_eq!(array.len(), 3);
    assert_eq!(array.null_count(), 1);
    assert_eq!(batch.len(), 0);
    assert_eq!(batch.finish().unwrap().num_columns(), 3);
}

/// Each batch after the first starts from builders sized after the one before: the types
/// must stay the schema's, and values longer than the last batch's must still fit.
#[test]
fn a_builder_reused_after_finish_keeps_its_types_and_takes_longer_values() {
    let schema = Arc::new(Schema::new(vec![
        Field::new("d", DataType::Decimal128(10, 2), true),
        Field::new("s", DataType::Utf8, true),
    ]));
    let mut batch = BatchBuilder::new(schema.clone(), 2);
    let fill = |batch: &mut BatchBuilder, rows: Vec<(Value, Value)>| {
        for (d, s) in rows {
            batch.columns[0].append(d).unwrap();
            batch.columns[1].append(s).unwrap();
        }
        batch.finish().unwrap()
    };
    let text = |s: &str| Value::Bytes(s.as_bytes().to_vec());
    let first = fill(
        &mut batch,
        vec![(text("1.50"), text("ab")), (text("2.25"), text("c"))],
    );
    assert_eq!(first.column(1).as_string::<i32>().value(0), "ab");
    let long = "x".repeat(500);
    let second = fill(
        &mut batch,
        vec![(text("3.00"), text(&long)), (Value::NULL, Value::NULL)],
    );
    assert_eq!(second.schema(), schema);
    assert_eq!(
        second.column(0).as_primitive::<Decimal128Type>().value(0),
        300
    );
    assert_eq!(second.column(1).as_string::<i32>().value(0), long);
    assert!(second.column(0).is_null(1) && second.column(1).is_null(1));
}

/// The server's side of [`row_packets_are_whole_and_an_err_is_the_servers_error`]: a row, a
/// row of 17 MiB (two packets on the wire), the end of the result (EOF), then an ERR.
async fn serve_rows(listener: TcpListener) -> std::io::Result<()> {
    let (mut socket, _) = listener.accept().await?;
    let big = [vec![0x00], vec![b'x'; 17 << 20]].concat();
    let err = b"\xff\x25\x05#70100Query execution was interrupted";
    let eof = [0xFE, 0, 0, 0x02, 0, 0, 0];
    let mut out = BytesMut::new();
    let mut seq = 0;
    for payload in [&[0x00, 0x00][..], &big, &eof, err] {
        seq = packet_to_chunks(seq, &mut &payload[..], &mut out);
    }
    socket.write_all(&out).await
}

#[tokio::test]
async fn row_packets_are_whole_and_an_err_is_the_servers_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(serve_rows(listener));
    let mut wire = Wire::raw(TcpStream::connect(address).await.unwrap(), 64 << 20);
    let mut packet = Vec::new();
    assert!(wire.next_row(&mut packet).await.unwrap());
    assert_eq!(packet, [0, 0]);
    assert!(wire.next_row(&mut packet).await.unwrap());
    assert_eq!(packet.len(), (17 << 20) + 1, "a 17 MiB row, joined");
    assert!(
        !wire.next_row(&mut packet).await.unwrap(),
        "EOF ends the rows"
    );
    let error = wire.next_row(&mut packet).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "ERROR 1317 (70100): Query execution was interrupted"
    );
    server.await.unwrap().unwrap();
}

/// Settings the connection cannot honour stop the server at start-up, naming them.
#[test]
fn settings_the_connection_cannot_honour_are_start_up_errors_naming_them() {
    use super::MySql;
    use crate::config::{Config, SslMode};
    let mut config = Config::from_env().unwrap_or_else(|e| panic!("{e}"));
    let error = |config: &Config| {
        MySql::new(config)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    config.mysql_ssl_mode = SslMode::Preferred;
    config.mysql_ssl_ca = None;
    config.mysql_server_public_key = None;
    config.mysql_url = "mysql://root:abc@mysql:3306/CS544?require_ssl=true".into();
    let text = error(&config);
    assert!(
        text.contains("LENDER_MYSQL_URL") && text.contains("require_ssl=true"),
        "{text}"
    );

    config.mysql_url = "mysql://root:abc@mysql:3306/CS544".into();
    assert!(MySql::new(&config).is_ok());
    config.mysql_ssl_mode = SslMode::VerifyCa;
    let text = error(&config);
    assert!(text.contains("LENDER_MYSQL_SSL_CA"), "{text}");
    config.mysql_ssl_ca = Some("/nonexistent/ca.pem".into());
    let text = error(&config);
    assert!(text.contains("/nonexistent/ca.pem"), "{text}");

    config.mysql_ssl_mode = SslMode::Preferred;
    config.mysql_ssl_ca = None;
    let testdata = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/mysql/testdata");
    config.mysql_server_public_key = Some(testdata.join("ca.pem"));
    let text = error(&config);
    assert!(
        text.contains("LENDER_MYSQL_SERVER_PUBLIC_KEY") && text.contains("not an RSA public key"),
        "{text}"
    );
    config.mysql_server_public_key = Some(testdata.join("rsa-public.pem"));
    assert!(MySql::new(&config).is_ok());
}
