//! A local spool file between the Parquet encoder and the HDFS upload.
//!
//! Why: hdfs-native has no pipeline recovery, so a DataNode dying while it writes fails the
//! file, and a stalled write would hold MySQL's stream until the server drops it. So the
//! export encodes into a local file (bounded disk, not memory) while an upload follows it as
//! it grows; when a DataNode fails, only the upload starts again, from the spool, the MySQL
//! query runs once, and MySQL never waits on HDFS.
//!
//! Local disk is bounded: before an export starts, [`Spool::create`] checks that the spool's
//! file system has room for [`space::SPOOL_MULTIPLE`] times the expected file plus
//! [`space::SPOOL_RESERVE_BYTES`] for the job store, and refuses the export otherwise (a clear
//! error, not a half-run that fills the disk the job store lives on).

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use bytes::Bytes;
use futures::Stream;
use tokio::sync::watch;

use crate::error::{Error, Result};

mod follow;
mod space;

use follow::Follower;
pub use follow::Progress;

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
    /// Creates `dir/name` (and `dir`), empty, once [`space::check_free_space`] found room for an
    /// export whose file will take about `expected_bytes` (the previous export's size;
    /// `None`: [`space::DEFAULT_EXPECTED_BYTES`]).
    pub async fn create(
        dir: &Path,
        name: &str,
        expected_bytes: Option<u64>,
    ) -> Result<(Spool, SpoolWriter)> {
        let path = dir.join(name);
        let io_err =
            |what: &str, e: std::io::Error| Error::spool(format!("{what} {}", path.display()), e);
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| io_err("creating the directory of", e))?;
        space::check_free_space(dir, expected_bytes)?;
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

    /// Removes the spool and spill files a previous process left behind (it stopped
    /// mid-export), and nothing else: `LENDER_SPOOL_DIR` may name a directory that other
    /// files share.
    pub fn clean_dir(dir: &Path) -> usize {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter(|e| e.file_name().to_str().is_some_and(is_ours))
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
            Error::spool(format!("opening {} to upload it", self.path.display()), e)
        })?;
        let follower = Follower::new(file, self.state.clone(), progress, self.path.clone());
        Ok(follower.into_stream())
    }
}

/// Whether `name` is a file an export attempt writes: `{job uuid}-{attempt}.parquet` (the
/// spool, named in `export_once`) or `{job uuid}-{attempt}.spill-{n}.parquet` (a spill file,
/// named by `SpillPlace`; `.arrows` is the name Arrow IPC spills had, so startup also
/// removes those an older server left behind).
fn is_ours(name: &str) -> bool {
    let Some((id, rest)) = name.split_at_checked(36) else {
        return false;
    };
    let Some(rest) = rest.strip_prefix('-') else {
        return false;
    };
    let (attempt, suffix) = rest.split_at(rest.len() - rest.trim_start_matches(digit).len());
    let spill_number = suffix.strip_prefix(".spill-").and_then(|s| {
        s.strip_suffix(".parquet")
            .or_else(|| s.strip_suffix(".arrows"))
    });
    uuid::Uuid::try_parse(id).is_ok()
        && !attempt.is_empty()
        && (suffix == ".parquet"
            || spill_number.is_some_and(|n| !n.is_empty() && n.chars().all(digit)))
}

fn digit(c: char) -> bool {
    c.is_ascii_digit()
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
/// (`parquet::unwrap_external` takes it out again).
fn spool_err(path: &Path, e: std::io::Error) -> std::io::Error {
    std::io::Error::other(Error::spool(format!("writing {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::{space::check_free_space, *};
    use futures::TryStreamExt;

    #[tokio::test]
    async fn a_follower_reads_the_whole_file_as_it_grows() {
        let dir = std::env::temp_dir().join(format!("lender-spool-test-{}", std::process::id()));
        let (spool, mut writer) = Spool::create(&dir, "grow.bin", Some(1)).await.unwrap();
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
        let (spool, mut writer) = Spool::create(&dir, "fail.bin", None).await.unwrap();
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

    #[tokio::test]
    async fn an_export_that_cannot_fit_is_refused_naming_the_dir_and_bytes() {
        let dir = std::env::temp_dir().join(format!("lender-spool-test3-{}", std::process::id()));
        let absurd = u64::MAX / 8;
        let Err(err) = Spool::create(&dir, "big.parquet", Some(absurd)).await else {
            panic!("an export of {absurd} bytes was let through");
        };
        let text = err.to_string();
        assert!(matches!(err, Error::Unavailable(_)), "{err:?}");
        assert!(text.contains(&dir.display().to_string()), "{text}");
        assert!(text.contains("free") && text.contains("needs"), "{text}");
        assert!(
            !dir.join("big.parquet").exists(),
            "created despite the refusal"
        );
        // The same directory takes an export of the default size.
        assert!(check_free_space(&dir, None).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn startup_removes_our_spool_and_spill_files_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("lender-spool-test4-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let job = uuid::Uuid::now_v7();
        let ours = [
            format!("{job}-1.parquet"),
            format!("{job}-12.spill-3.parquet"),
            format!("{job}-12.spill-4.arrows"),
        ];
        let foreign = [
            "notes.txt".to_owned(),
            "lender.redb".to_owned(),
            format!("{job}.parquet"),
            format!("{job}-1.parquet.bak"),
            format!("{job}-x.spill-1.parquet"),
            format!("{job}-1.spill-.parquet"),
            format!("{job}-1.spill-2.txt"),
            "0000000g-0000-0000-0000-000000000000-1.parquet".to_owned(),
        ];
        for name in ours.iter().chain(&foreign) {
            std::fs::write(dir.join(name), b"x").unwrap();
        }
        std::fs::create_dir_all(dir.join(format!("{job}-2.parquet"))).unwrap();
        assert_eq!(Spool::clean_dir(&dir), ours.len());
        for name in &ours {
            assert!(!dir.join(name).exists(), "{name} left behind");
        }
        for name in &foreign {
            assert!(dir.join(name).exists(), "{name} removed");
        }
        assert!(
            dir.join(format!("{job}-2.parquet")).is_dir(),
            "a directory removed"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
