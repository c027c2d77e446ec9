//! The Parquet writer: one row group per item, its columns encoded on several threads.

use arrow::{datatypes::SchemaRef, record_batch::RecordBatch};
use parquet::{
    arrow::{
        ArrowWriter,
        arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves},
    },
    errors::ParquetError,
    file::properties::WriterProperties,
};

use crate::error::{Error, Result};

/// What a finished write produced.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    pub rows: u64,
    pub bytes: u64,
}

/// Encodes `groups` as Parquet into `sink` (`what` names it in errors) and closes it.
/// Each item becomes exactly one row group, so the caller decides the layout; a group's
/// batches are taken one at a time, so a group is never whole in memory.
///
/// A group's columns are encoded on several threads (column `i` on thread `i % threads`)
/// while this thread fetches the next batch: encoding is the export's largest CPU cost,
/// and once MySQL has sent its last row the groups still waiting to be written are the
/// only work left for every core. Blocking: run it off the async runtime.
pub fn write_parquet<W, G>(
    sink: W,
    what: &str,
    schema: SchemaRef,
    props: WriterProperties,
    groups: impl Iterator<Item = Result<G>>,
) -> Result<Written>
where
    W: std::io::Write + Send,
    G: IntoIterator<Item = Result<RecordBatch>>,
{
    let parquet_err = |e| unwrap_external(e, || format!("writing {what}"));
    let (mut file, factory) = ArrowWriter::try_new(sink, schema.clone(), Some(props))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(|e| Error::parquet(format!("starting {what}"), e))?;
    let threads = encode_threads();
    let leaves = leaf_counts(&schema)?;
    let mut rows = 0u64;
    for (index, group) in groups.enumerate() {
        let writers = factory.create_column_writers(index).map_err(parquet_err)?;
        let (chunks, group_rows) =
            encode_columns(&schema, &leaves, writers, group?.into_iter(), threads, what)?;
        rows += group_rows;
        let mut row_group = file.next_row_group().map_err(parquet_err)?;
        for chunk in chunks {
            chunk
                .append_to_row_group(&mut row_group)
                .map_err(parquet_err)?;
        }
        row_group.close().map_err(parquet_err)?;
    }
    let bytes = file.bytes_written() as u64;
    file.close()
        .map_err(|e| unwrap_external(e, || format!("closing {what}")))?;
    Ok(Written { rows, bytes })
}

/// Threads that encode a row group's columns: the cores there are, at most four.
fn encode_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// One field's leaf column writers (one per Parquet leaf; one for a flat field).
type FieldWriters = (usize, Vec<ArrowColumnWriter>);

/// One field's encoded leaf columns.
type FieldChunks = (usize, Vec<ArrowColumnChunk>);

/// Encodes one row group's `batches` into column chunks, in the schema's leaf order, on
/// `threads` threads; returns them with the group's row count. Each thread gets every batch
/// (a cheap shared copy) through a one-slot channel: one batch is encoded while the next
/// is fetched, and no more than that waits.
fn encode_columns(
    schema: &SchemaRef,
    leaves: &[usize],
    writers: Vec<ArrowColumnWriter>,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    threads: usize,
    what: &str,
) -> Result<(Vec<ArrowColumnChunk>, u64)> {
    let mut shares: Vec<Vec<FieldWriters>> = (0..threads).map(|_| Vec::new()).collect();
    let mut writers = writers.into_iter();
    for (index, leaves) in leaves.iter().enumerate() {
        shares[index % threads].push((index, writers.by_ref().take(*leaves).collect()));
    }
    let (fed, encoded) = std::thread::scope(|scope| {
        let mut feeds = Vec::new();
        let mut encoders = Vec::new();
        for share in shares {
            let (feed, batches) = std::sync::mpsc::sync_channel::<RecordBatch>(1);
            feeds.push(feed);
            encoders.push(scope.spawn(move || encode_fields(schema, share, batches, what)));
        }
        let fed = feed_batches(batches, &feeds);
        drop(feeds); // the encoders see the end of the group
        let encoded: Vec<Result<Vec<FieldChunks>>> = encoders
            .into_iter()
            .map(|encoder| {
                encoder.join().unwrap_or_else(|_| {
                    Err(Error::Aborted(format!(
                        "encoding {what}: an encoding thread panicked"
                    )))
                })
            })
            .collect();
        (fed, encoded)
    });
    let mut by_field = Vec::new();
    for share in encoded {
        by_field.extend(share?);
    }
    let rows = fed?;
    by_field.sort_by_key(|(index, _)| *index);
    let chunks = by_field
        .into_iter()
        .flat_map(|(_, chunks)| chunks)
        .collect();
    Ok((chunks, rows))
}

/// Sends every batch to every encoder; the rows sent, or the batch source's error. Stops
/// early when an encoder gave up (its own error is the one reported).
fn feed_batches(
    batches: impl Iterator<Item = Result<RecordBatch>>,
    feeds: &[std::sync::mpsc::SyncSender<RecordBatch>],
) -> Result<u64> {
    let mut rows = 0u64;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        if !feeds.iter().all(|feed| feed.send(batch.clone()).is_ok()) {
            break;
        }
    }
    Ok(rows)
}

/// Encodes every batch received into `share`'s column writers, then closes them.
fn encode_fields(
    schema: &SchemaRef,
    mut share: Vec<FieldWriters>,
    batches: std::sync::mpsc::Receiver<RecordBatch>,
    what: &str,
) -> Result<Vec<FieldChunks>> {
    let err = |e| unwrap_external(e, || format!("encoding {what}"));
    for batch in batches {
        for (index, writers) in share.iter_mut() {
            let leaves = compute_leaves(schema.field(*index), batch.column(*index)).map_err(err)?;
            for (leaf, writer) in leaves.iter().zip(writers.iter_mut()) {
                writer.write(leaf).map_err(err)?;
            }
        }
    }
    share
        .into_iter()
        .map(|(index, writers)| {
            let chunks = writers
                .into_iter()
                .map(|w| w.close())
                .collect::<parquet::errors::Result<Vec<_>>>()
                .map_err(err)?;
            Ok((index, chunks))
        })
        .collect()
}

/// How many Parquet leaf columns each field of `schema` becomes.
fn leaf_counts(schema: &SchemaRef) -> Result<Vec<usize>> {
    schema.fields().iter().map(|f| leaf_count(f)).collect()
}

/// How many Parquet leaf columns an Arrow field becomes.
fn leaf_count(field: &arrow::datatypes::Field) -> Result<usize> {
    let empty = arrow::array::new_empty_array(field.data_type());
    compute_leaves(field, &empty)
        .map(|leaves| leaves.len())
        .map_err(|e| Error::parquet(format!("the Parquet columns of {}", field.name()), e))
}

/// Our own errors raised inside a Parquet sink (async, or a `Write` passing them inside an
/// I/O error) come back as they were; others get `context`.
pub(super) fn unwrap_external(e: ParquetError, context: impl FnOnce() -> String) -> Error {
    let inner = match e {
        ParquetError::External(inner) => inner,
        other => return Error::parquet(context(), other),
    };
    let inner = match inner.downcast::<std::io::Error>() {
        // Only an I/O error that carries one of ours is unwrapped; any other keeps its text.
        Ok(io) if io.get_ref().is_some_and(|e| e.is::<Error>()) => match io.into_inner() {
            Some(wrapped) => wrapped,
            None => return Error::Unavailable(context()),
        },
        Ok(io) => return Error::Unavailable(format!("{}: {io}", context())),
        Err(other) => other,
    };
    match inner.downcast::<Error>() {
        Ok(err) => *err,
        Err(other) => Error::Unavailable(format!("{}: {other}", context())),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use arrow::{
        array::{Int64Array, StringArray},
        datatypes::{DataType, Field, Schema},
    };
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;

    #[test]
    fn columns_encoded_on_several_threads_read_back_as_written() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
            Field::new("c", DataType::Int64, false),
        ]));
        let batch = |start: i64| {
            let a: Vec<Option<i64>> = (start..start + 100)
                .map(|i| (i % 7 != 0).then_some(i))
                .collect();
            let b: Vec<Option<String>> = (start..start + 100)
                .map(|i| (i % 5 != 0).then(|| format!("row {}", i % 13)))
                .collect();
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from(a)),
                    Arc::new(StringArray::from(b)),
                    Arc::new(Int64Array::from_iter_values(start * 2..start * 2 + 100)),
                ],
            )
            .unwrap()
        };
        let groups = [
            vec![batch(0), batch(100)],
            vec![batch(200)],
            vec![batch(300)],
        ];
        for threads in [1, 2, 3] {
            let mut file = Vec::new();
            let props = WriterProperties::builder().build();
            let (mut writer, factory) =
                ArrowWriter::try_new(&mut file, schema.clone(), Some(props))
                    .and_then(ArrowWriter::into_serialized_writer)
                    .unwrap();
            for (index, group) in groups.iter().enumerate() {
                let writers = factory.create_column_writers(index).unwrap();
                let batches = group.iter().cloned().map(Ok);
                let leaves = leaf_counts(&schema).unwrap();
                let (chunks, rows) =
                    encode_columns(&schema, &leaves, writers, batches, threads, "a test").unwrap();
                assert_eq!(rows, group.iter().map(|b| b.num_rows() as u64).sum::<u64>());
                let mut row_group = writer.next_row_group().unwrap();
                for chunk in chunks {
                    chunk.append_to_row_group(&mut row_group).unwrap();
                }
                row_group.close().unwrap();
            }
            writer.close().unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file)).unwrap();
            assert_eq!(reader.metadata().num_row_groups(), 3);
            let read: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
            let written: Vec<RecordBatch> = groups.iter().flatten().cloned().collect();
            assert_eq!(
                arrow::compute::concat_batches(&schema, &read).unwrap(),
                arrow::compute::concat_batches(&schema, &written).unwrap(),
                "{threads} threads"
            );
        }
    }

    #[test]
    fn write_parquet_cuts_one_row_group_per_item_and_counts_rows() {
        let schema = Arc::new(Schema::new(vec![Field::new("n", DataType::Int64, false)]));
        let group = |n: i64| {
            Ok(vec![Ok(RecordBatch::try_new(
                schema.clone(),
                vec![Arc::new(Int64Array::from_iter_values(0..n))],
            )
            .unwrap())])
        };
        let mut file = Vec::new();
        let written = write_parquet(
            &mut file,
            "a test file",
            schema.clone(),
            WriterProperties::builder().build(),
            vec![group(10), group(20), group(5)].into_iter(),
        )
        .unwrap();
        assert_eq!(written.rows, 35);
        let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(file)).unwrap();
        let sizes: Vec<i64> = reader
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(sizes, vec![10, 20, 5]);
    }
}
