//! A local spool file between the Parquet encoder and the HDFS upload.
//!
//! Why: hdfs-native has no pipeline recovery, so a DataNode dying mid-write used to cost the
//! whole export, MySQL query included, and a stalled write held MariaDB's stream until it
//! dropped it. The export now encodes into a local file (bounded disk, not memory) while an
//! upload follows it as it grows; when a DataNode fails, only the upload starts again, from
//! the spool, and MySQL never waits on HDFS.

use std::{
    io::SeekFrom,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures::Stream;

use tokio::{
    io::{AsyncReadExt, AsyncSeekExt},
    sync::watch,
};

use crate::error::{Error, Result};

/// How much one upload chunk reads from the spool.
const CHUNK: usize = 256 * 1024;

/// How far the encoder got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolState {
    /// Bytes written and readable.
    pub len: u64,
    /// The encoder finished: `len` is the whole file.
    pub done: bool,
    /// The encoder gave up: the file will never be complete.
    pub abandoned: bool,
}

/// The spool file; removed when dropped.
pub struct Spool {
    path: PathBuf,
    state: watch::Receiver<SpoolState>,
}

/// The encoder's end: Parquet writes here. Plain blocking writes: they land in the page
/// cache at memory speed, far cheaper than a hop to tokio's blocking pool per write.
pub struct SpoolWriter {
    file: std::fs::File,
    state: watch::Sender<SpoolState>,
    path: PathBuf,
}

impl Spool {
    /// Creates `dir/name` (and `dir`), empty.
    pub async fn create(dir: &Path, name: &str) -> Result<(Spool, SpoolWriter)> {
        let path = dir.join(name);
        let io_err =
            |what: &str, e: std::io::Error| Error::Spool(format!("{what} {}: {e}", path.display()));
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_err("creating the directory of", e))?;
        let file = std::fs::File::create(&path).map_err(|e| io_err("creating", e))?;
        let (sender, receiver) = watch::channel(SpoolState::default());
        let writer = SpoolWriter {
            file,
            state: sender,
            path: path.clone(),
        };
        Ok((
            Spool {
                path,
                state: receiver,
            },
            writer,
        ))
    }

    /// Removes spool files a previous process left behind (it stopped mid-export).
    pub fn clean_dir(dir: &Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| std::fs::remove_file(e.path()).is_ok())
            .count()
    }

    pub fn state(&self) -> SpoolState {
        *self.state.borrow()
    }

    /// The file from its first byte, as it grows, until the encoder is done. `progress`
    /// counts the bytes taken, so a watchdog can tell a stalled reader from a slow writer.
    pub async fn follow(
        &self,
        progress: Arc<Progress>,
    ) -> Result<impl Stream<Item = Result<Bytes>> + Send + 'static> {
        let file = tokio::fs::File::open(&self.path).await.map_err(|e| {
            Error::Spool(format!("opening {} to upload it: {e}", self.path.display()))
        })?;
        let follower = Follower {
            file,
            pos: 0,
            state: self.state.clone(),
            progress,
            path: self.path.clone(),
        };
        Ok(futures::stream::try_unfold(follower, |mut f| async move {
            let chunk = f.next_chunk().await?;
            Ok(chunk.map(|c| (c, f)))
        }))
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), error = %e, "could not remove the spool file");
        }
    }
}

struct Follower {
    file: tokio::fs::File,
    pos: u64,
    state: watch::Receiver<SpoolState>,
    progress: Arc<Progress>,
    path: PathBuf,
}

impl Follower {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            let state = *self.state.borrow_and_update();
            if self.pos < state.len {
                let want = (state.len - self.pos).min(CHUNK as u64) as usize;
                let mut buf = vec![0; want];
                let read = async {
                    self.file.seek(SeekFrom::Start(self.pos)).await?;
                    self.file.read_exact(&mut buf).await
                };
                read.await.map_err(|e| {
                    Error::Spool(format!(
                        "reading {} at {}: {e}",
                        self.path.display(),
                        self.pos
                    ))
                })?;
                self.pos += want as u64;
                self.progress.advance(self.pos);
                return Ok(Some(Bytes::from(buf)));
            }
            if state.abandoned {
                return Err(Error::Spool(format!(
                    "{} was abandoned by its encoder",
                    self.path.display()
                )));
            }
            if state.done {
                return Ok(None);
            }
            if self.state.changed().await.is_err() && !self.state.borrow().done {
                return Err(Error::Spool(format!(
                    "{} ended before its encoder finished",
                    self.path.display()
                )));
            }
        }
    }
}

impl SpoolWriter {
    /// Marks the file as never to be completed (the encoder failed).
    pub fn abandon(&self) {
        self.state.send_modify(|s| s.abandoned = true);
    }
}

impl Drop for SpoolWriter {
    fn drop(&mut self) {
        // Dropped before `complete`: the encoder failed or was cancelled.
        if !self.state.borrow().done {
            self.abandon();
        }
    }
}

impl std::io::Write for SpoolWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // Readers open the file separately: what they are told exists is in the file.
        self.file
            .write_all(buf)
            .map_err(|e| spool_err(&self.path, e))?;
        self.state.send_modify(|s| s.len += buf.len() as u64);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SpoolWriter {
    /// The encoder wrote the whole file.
    pub fn complete(&mut self) {
        self.state.send_modify(|s| s.done = true);
    }
}

/// Keeps our error inside the I/O error the Parquet writer passes back
/// (`hdfs::unwrap_external` takes it out again).
fn spool_err(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::other(Error::Spool(format!("writing {}: {e}", path.display())))
}

/// Bytes an upload has taken from the spool, and when it last took some.
pub struct Progress {
    sent: AtomicU64,
    last: Mutex<Instant>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            sent: AtomicU64::new(0),
            last: Mutex::new(Instant::now()),
        }
    }
}

impl Progress {
    fn advance(&self, sent: u64) {
        self.sent.store(sent, Ordering::Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Time since the upload last took bytes.
    pub fn idle(&self) -> Duration {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    #[tokio::test]
    async fn a_follower_reads_the_whole_file_as_it_grows() {
        let dir = std::env::temp_dir().join(format!("lender-spool-test-{}", std::process::id()));
        let (spool, mut writer) = Spool::create(&dir, "grow.bin").await.unwrap();
        let progress = Arc::new(Progress::default());
        let follow = spool.follow(progress.clone()).await.unwrap();
        let reader = tokio::spawn(follow.map_ok(|b| b.to_vec()).try_concat());
        let mut expected = Vec::new();
        for i in 0..40u8 {
            let chunk = vec![i; 100_000];
            expected.extend_from_slice(&chunk);
            std::io::Write::write_all(&mut writer, &chunk).unwrap();
            tokio::task::yield_now().await;
        }
        writer.complete();
        let got = reader.await.unwrap().unwrap();
        assert_eq!(got.len(), expected.len());
        assert!(
            got == expected,
            "the follower's bytes differ from the written ones"
        );
        assert_eq!(progress.sent(), expected.len() as u64);
        drop(spool);
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "spool not removed"
        );
    }

    #[tokio::test]
    async fn a_follower_fails_when_the_encoder_gives_up() {
        let dir = std::env::temp_dir().join(format!("lender-spool-test2-{}", std::process::id()));
        let (spool, mut writer) = Spool::create(&dir, "fail.bin").await.unwrap();
        let follow = spool.follow(Arc::new(Progress::default())).await.unwrap();
        std::io::Write::write_all(&mut writer, b"abc").unwrap();
        drop(writer);
        let err = follow
            .map_ok(|b| b.to_vec())
            .try_concat()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("abandoned"), "{err}");
    }
}
