//! What a store tells its caller when it moved a corrupt file aside
//! ([`CorruptPolicy::MoveAside`](super::CorruptPolicy::MoveAside)).

use crate::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A corrupt file a store moved aside before starting from the type's
/// default: given to the hook set with
/// [`StoreOptions::on_recovery`](super::StoreOptions::on_recovery).
///
/// # Examples
///
/// ```
/// use safeatomic::{CorruptPolicy, ErrorKind, Persisted, Store, StoreOptions};
/// use std::sync::{Arc, Mutex};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Clone, Debug, Default, Serialize, Deserialize, Persisted)]
/// # #[persisted(format = "json")]
/// # struct Prefs { volume: u8 }
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("prefs.json");
/// std::fs::write(&path, "{ truncated")?;
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let report = Arc::clone(&seen);
/// let opts = StoreOptions::new()
///     .on_corrupt(CorruptPolicy::MoveAside)
///     .on_recovery(move |r| {
///         report.lock().unwrap().push((r.moved_to().to_owned(), r.cause().kind()));
///     });
/// let store = Store::<Prefs>::open_with(&path, opts)?;
/// assert_eq!(store.load()?.volume, 0);
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen[0].1, ErrorKind::Format);
/// assert_eq!(std::fs::read(&seen[0].0)?, b"{ truncated");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Recovery {
    pub(super) path: PathBuf,
    pub(super) moved_to: PathBuf,
    pub(super) cause: Error,
}

impl Recovery {
    /// The store's file.
    ///
    /// # Examples
    ///
    /// See [`Recovery`].
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the corrupt file is now (`<name>.corrupt-<time>`, beside it;
    /// its checksum sidecars moved with it).
    ///
    /// # Examples
    ///
    /// See [`Recovery`].
    pub fn moved_to(&self) -> &Path {
        &self.moved_to
    }

    /// Why it was moved: the [`Format`](crate::ErrorKind::Format) or
    /// [`ChecksumMismatch`](crate::ErrorKind::ChecksumMismatch) error the
    /// file gave.
    ///
    /// # Examples
    ///
    /// See [`Recovery`].
    pub fn cause(&self) -> &Error {
        &self.cause
    }
}

/// The caller's hook; options compare equal when they hold the same one.
#[derive(Clone)]
pub(super) struct Hook(pub(super) Arc<dyn Fn(&Recovery) + Send + Sync>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook(..)")
    }
}

impl PartialEq for Hook {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Hook {}
