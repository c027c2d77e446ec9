//! An upload's reader of the spool: it follows the file as the encoder writes it, and
//! counts what it took, so a watchdog can tell a stalled reader from a slow writer.

use std::{
    io::SeekFrom,
    path::PathBuf,
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

use super::SpoolState;
use crate::error::{Error, Result};

/// How much one upload chunk reads from the spool.
const CHUNK: usize = 256 * 1024;

pub(super) struct Follower {
    file: tokio::fs::File,
    pos: u64,
    state: watch::Receiver<SpoolState>,
    progress: Arc<Progress>,
    path: PathBuf,
}

impl Follower {
    pub(super) fn new(
        file: tokio::fs::File,
        state: watch::Receiver<SpoolState>,
        progress: Arc<Progress>,
        path: PathBuf,
    ) -> Self {
        Follower {
            file,
            pos: 0,
            state,
            progress,
            path,
        }
    }

    /// The file's chunks, from its first byte until the encoder is done.
    pub(super) fn into_stream(self) -> impl Stream<Item = Result<Bytes>> + Send + 'static {
        futures::stream::try_unfold(self, |mut f| async move {
            let chunk = f.next_chunk().await?;
            Ok(chunk.map(|c| (c, f)))
        })
    }

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
                    Error::spool(
                        format!("reading {} at {}", self.path.display(), self.pos),
                        e,
                    )
                })?;
                self.pos += want as u64;
                self.progress.advance(self.pos);
                return Ok(Some(Bytes::from(buf)));
            }
            if state.abandoned {
                return Err(Error::spool(
                    self.path.display().to_string(),
                    std::io::Error::other("abandoned by its encoder"),
                ));
            }
            if state.done {
                return Ok(None);
            }
            if self.state.changed().await.is_err() && !self.state.borrow().done {
                return Err(Error::spool(
                    self.path.display().to_string(),
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "ended before its encoder finished",
                    ),
                ));
            }
        }
    }
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
