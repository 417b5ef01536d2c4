//! Worker names for SQLite: an exclusive lock on a file beside the
//! database, which the operating system drops when the process dies.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::queue::{CheckFuture, HeldName, StoreError, WorkerLock, WorkerName};

/// The lock file for `name` beside the database file `database`:
/// `<database>-worker-<32 hex digits>.lock`, the digits from a SHA-256 of
/// the name, so any name makes a safe file name.
pub(super) fn lock_path(database: &Path, name: &WorkerName) -> PathBuf {
    let digest = Sha256::new()
        .chain_update(b"titan_webhooks.worker:")
        .chain_update(name.as_str().as_bytes())
        .finalize();
    let mut path = database.as_os_str().to_owned();
    path.push("-worker-");
    path.push(const_hex::encode(digest.get(..16).unwrap_or_default()));
    path.push(".lock");
    PathBuf::from(path)
}

/// Takes the lock on `name` for the database file `database`, or `None`
/// when another open file holds it, in this process or another.
pub(super) fn try_lock(
    database: &Path,
    name: &WorkerName,
) -> Result<Option<WorkerLock>, StoreError> {
    let path = lock_path(database, name);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|err| failed("open", &path, &err))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(WorkerLock::checked(
            name.clone(),
            LockedFile { file, path },
        ))),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(err)) => Err(failed("lock", &path, &err)),
    }
}

fn failed(what: &str, path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Backend {
        message: format!(
            "could not {what} the worker lock file {}: {err}",
            path.display()
        ),
    }
}

/// The open, locked file; closing it releases the lock. The file itself
/// stays, empty, for the next worker under the name: removing it could
/// let two workers lock two different files at the same path.
struct LockedFile {
    file: File,
    path: PathBuf,
}

impl LockedFile {
    /// The lock holds as long as the file is open, unless someone removed
    /// or replaced the file at its path, letting another worker lock a new
    /// one there.
    fn still_in_place(&self) -> Result<(), StoreError> {
        let at_path =
            std::fs::metadata(&self.path).map_err(|err| failed("find", &self.path, &err))?;
        let held = self
            .file
            .metadata()
            .map_err(|err| failed("read", &self.path, &err))?;
        if same_file(&at_path, &held) {
            Ok(())
        } else {
            Err(StoreError::Backend {
                message: format!(
                    "the worker lock file {} was replaced, so the name may be held twice",
                    self.path.display()
                ),
            })
        }
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// Elsewhere an open file cannot be removed, so it is always in place.
#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

impl HeldName for LockedFile {
    fn check(&mut self) -> CheckFuture<'_> {
        Box::pin(std::future::ready(self.still_in_place()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_makes_a_safe_file_name_beside_the_database() {
        let database = Path::new("/var/lib/app/webhooks.db");
        for name in ["w1", "../../etc/passwd", "a/b\\c:d*?", "🦀 pod"] {
            let path = lock_path(database, &WorkerName::new(name).unwrap());
            assert_eq!(path.parent(), database.parent(), "{name}");
            let file = path.file_name().unwrap().to_str().unwrap();
            assert!(file.starts_with("webhooks.db-worker-"), "{file}");
            assert!(file.ends_with(".lock"));
            assert_eq!(file.len(), "webhooks.db-worker-".len() + 32 + ".lock".len());
        }
        assert_ne!(
            lock_path(database, &WorkerName::new("w1").unwrap()),
            lock_path(database, &WorkerName::new("w2").unwrap())
        );
    }

    #[test]
    fn a_held_file_refuses_a_second_lock_and_a_replaced_one_is_noticed() {
        let dir = tempfile::tempdir().unwrap();
        let database = dir.path().join("q.db");
        let name = WorkerName::new("w1").unwrap();
        let held = try_lock(&database, &name).unwrap().unwrap();
        assert!(try_lock(&database, &name).unwrap().is_none());
        drop(held);
        let mut held = try_lock(&database, &name).unwrap().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(held.check()).unwrap();
        std::fs::remove_file(lock_path(&database, &name)).unwrap();
        assert!(runtime.block_on(held.check()).is_err());
    }
}
