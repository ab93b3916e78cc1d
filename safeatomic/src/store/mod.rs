//! Typed persistent values: the `Persisted` trait and `Store<T>`.
//!
//! A store is a file holding one value of a [`Persisted`] type. Every write
//! goes through the one write protocol (`write_locked_unsynced`), under
//! the file's cooperative lock, so stores inherit all of its guarantees.

#[cfg(feature = "tokio")]
pub(crate) mod asynchronous;
mod group;
pub(crate) mod persisted;
pub(crate) mod private;
mod recovery;
mod update;
mod versioned;
#[cfg(feature = "watch")]
pub(crate) mod watch;

use crate::checksum::digest::Algorithm;
use crate::checksum::sidecar;
use crate::commit::Unsynced;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::identity::Version;
use crate::lock::{LockGuard, LockOptions, acquire_lock_with};
use crate::options::WriteOptions;
use crate::policy::{Safety, SymlinkPolicy};
use crate::publish::{Publish, PublishError, publish};
use crate::read::{self, ReadOptions};
use crate::resolve::{self, Target};
use crate::sys;
use crate::write::{create_beside, write_locked_unsynced};
use crate::{env, format, litter, lossless, path, timefmt};
use persisted::Persisted;
use recovery::Hook;
pub use recovery::Recovery;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use versioned::Lineage;

/// What a store does when its file cannot be parsed or fails its checksum.
///
/// # Examples
///
/// ```
/// use safeatomic::{CorruptPolicy, Persisted, Store, StoreOptions};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
/// # #[persisted(format = "json")]
/// # struct Prefs { volume: u8 }
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("prefs.json");
/// std::fs::write(&path, "{ truncated")?;
/// let opts = StoreOptions::new().on_corrupt(CorruptPolicy::MoveAside);
/// let store = Store::<Prefs>::open_with(&path, opts)?;
/// assert_eq!(store.load()?.volume, 0); // the default; the bad file is kept aside
/// let aside: Vec<_> = std::fs::read_dir(dir.path())?
///     .flatten()
///     .filter(|e| e.file_name().to_string_lossy().starts_with("prefs.json.corrupt-"))
///     .collect();
/// assert_eq!(aside.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum CorruptPolicy {
    /// Fail with the typed error ([`ErrorKind::Format`] with line and column,
    /// or [`ErrorKind::ChecksumMismatch`]); the file is left as it is.
    #[default]
    Error,
    /// Move the bad file aside to `<name>.corrupt-<timestamp>` (never
    /// deleting it) and start from the type's default, as Android
    /// DataStore's corruption handler does. A type without a default still
    /// gets the error. The move is logged at `warn` level and reported to
    /// the hook of [`StoreOptions::on_recovery`]. Only bytes that do not
    /// parse and checksum mismatches are moved: a file that parses but does
    /// not fit the type ([`ErrorKind::Schema`]) is an error, left in place.
    MoveAside,
}

/// Options for [`Store::open_with`].
///
/// # Examples
///
/// ```
/// use safeatomic::{CorruptPolicy, StoreOptions};
/// use std::time::Duration;
/// let opts = StoreOptions::new()
///     .on_corrupt(CorruptPolicy::MoveAside)
///     .lock_timeout(Some(Duration::from_secs(10)));
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StoreOptions {
    on_corrupt: CorruptPolicy,
    safety: Safety,
    lock_timeout: Option<Duration>,
    on_recovery: Option<Hook>,
    adopt_missing_checksum: bool,
    allow_newer_schema: bool,
    migrate_on_open: bool,
}

impl StoreOptions {
    /// Defaults: [`CorruptPolicy::Error`], [`Safety::Strict`], wait for the
    /// lock indefinitely.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{CorruptPolicy, Safety, StoreOptions};
    /// let defaults = StoreOptions::new()
    ///     .on_corrupt(CorruptPolicy::Error)
    ///     .safety(Safety::Strict)
    ///     .lock_timeout(None);
    /// assert_eq!(StoreOptions::new(), defaults);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// What to do with a corrupt file.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{CorruptPolicy, ErrorKind, Persisted, Store, StoreOptions};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Debug, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Prefs { volume: u8 }
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("prefs.json");
    /// std::fs::write(&path, "{ truncated")?;
    /// let opts = StoreOptions::new().on_corrupt(CorruptPolicy::Error); // the default
    /// let err = Store::<Prefs>::open_with(&path, opts)?.load().unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::Format);
    /// assert_eq!(std::fs::read(&path)?, b"{ truncated"); // left as it is
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn on_corrupt(mut self, policy: CorruptPolicy) -> Self {
        self.on_corrupt = policy;
        self
    }

    /// The safety policy of every read and write of the store.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Safety, Store, StoreOptions};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Cache { hits: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// // A cache: fine on any filesystem, warn about what is not guaranteed.
    /// let opts = StoreOptions::new().safety(Safety::Warn);
    /// let store = Store::<Cache>::open_with(dir.path().join("cache.json"), opts)?;
    /// store.update(|c| c.hits += 1)?;
    /// # assert_eq!(store.load()?.hits, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn safety(mut self, safety: Safety) -> Self {
        self.safety = safety;
        self
    }

    /// How long an update waits for the lock before failing with
    /// [`ErrorKind::LockTimeout`]; `None` waits indefinitely.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, Persisted, Store, StoreOptions, acquire_lock};
    /// use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Counter { n: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("counter.json");
    /// let opts = StoreOptions::new().lock_timeout(Some(Duration::from_millis(20)));
    /// let store = Store::<Counter>::open_with(&path, opts)?;
    /// let busy = acquire_lock(&path, None)?; // another writer holds the file
    /// assert_eq!(store.update(|c| c.n += 1).unwrap_err().kind(), ErrorKind::LockTimeout);
    /// # drop(busy);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn lock_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// Accept a file that has no checksum sidecar, when `T` has a checksum
    /// (off by default: a missing sidecar is then
    /// [`ChecksumMissing`](ErrorKind::ChecksumMissing)). For a store that
    /// gains `checksum` while its files exist, or a file a person wrote:
    /// the file is read unverified (logged at `warn` level) and its sidecar
    /// is written with the next update, after which every read verifies
    /// it. Anyone who can delete the sidecar can then change the data
    /// unnoticed until that update: opt in only for that transition.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store, StoreOptions};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// #[persisted(format = "json", checksum)] // newly added
    /// struct State { runs: u32 }
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("state.json");
    /// std::fs::write(&path, "{\"runs\": 7}")?; // written before `checksum`
    /// let opts = StoreOptions::new().adopt_missing_checksum(true);
    /// let store = Store::<State>::open_with(&path, opts)?;
    /// assert_eq!(store.load()?.runs, 7);
    /// store.update(|s| s.runs += 1)?; // writes state.json.sha256
    /// assert!(dir.path().join("state.json.sha256").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn adopt_missing_checksum(mut self, adopt: bool) -> Self {
        self.adopt_missing_checksum = adopt;
        self
    }

    /// Write files whose schema version is above the type's (a newer
    /// program's). Off by default: such a file loads, but `update` and
    /// `replace` refuse it with [`ErrorKind::SchemaTooNew`]. When on, the
    /// store edits it as any other (the data the type does not know is
    /// kept) and the file keeps its version.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, Persisted, Store, StoreOptions};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// #[persisted(format = "json", version = 1)]
    /// struct Prefs { volume: u8 }
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("prefs.json");
    /// std::fs::write(&path, r#"{"schema_version": 2, "volume": 3, "eq": "rock"}"#)?;
    /// let store = Store::<Prefs>::open(&path)?;
    /// assert_eq!(store.load()?.volume, 3);
    /// let e = store.update(|p| p.volume = 4).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::SchemaTooNew);
    /// let store = Store::<Prefs>::open_with(&path, StoreOptions::new().allow_newer_schema(true))?;
    /// store.update(|p| p.volume = 4)?;
    /// assert!(std::fs::read_to_string(&path)?.contains(r#""eq": "rock""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn allow_newer_schema(mut self, allow: bool) -> Self {
        self.allow_newer_schema = allow;
        self
    }

    /// Write an older file's migration when the store is opened, instead
    /// of with the next update (off by default: a load never writes).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Migration, MigrationError, Persisted, Store, StoreOptions};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// #[persisted(format = "json", version = 2, migrate = [v1_to_v2])]
    /// struct Prefs { level: u8 }
    /// fn v1_to_v2(m: &mut Migration) -> Result<(), MigrationError> {
    ///     m.rename("volume", "level")
    /// }
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("prefs.json");
    /// std::fs::write(&path, "{\"volume\": 3}\n")?;
    /// Store::<Prefs>::open_with(&path, StoreOptions::new().migrate_on_open(true))?;
    /// let text = std::fs::read_to_string(&path)?;
    /// assert!(text.contains("\"schema_version\": 2") && text.contains("\"level\": 3"));
    /// assert_eq!(std::fs::read_to_string(dir.path().join("prefs.json.v1.bak"))?, "{\"volume\": 3}\n");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn migrate_on_open(mut self, migrate: bool) -> Self {
        self.migrate_on_open = migrate;
        self
    }

    /// A hook told of every corrupt file the store moves aside
    /// ([`CorruptPolicy::MoveAside`]), so that the program learns it (and
    /// can tell its user) and not only the log. It runs on the thread of
    /// the call that found the file, after the move, while the store's
    /// lock is held: it must not update the same store.
    ///
    /// # Examples
    ///
    /// See [`Recovery`].
    #[must_use]
    pub fn on_recovery(mut self, hook: impl Fn(&Recovery) + Send + Sync + 'static) -> Self {
        self.on_recovery = Some(Hook(Arc::new(hook)));
        self
    }
}

struct Cached<T> {
    id: Version,
    value: Arc<T>,
    doc: Doc,
    /// The validation hook's message when the value read from the file
    /// fails it (a value a commit wrote passed it).
    invalid: Option<String>,
    lineage: Lineage,
}

/// A file's bytes at one version: the document a commit edits.
#[derive(Clone)]
struct Doc {
    bytes: Arc<[u8]>,
    /// When this process wrote them: what its commit learned about them
    /// and the value (views the next commit need not make again).
    memo: Option<Arc<lossless::Memo>>,
}

/// The current value and, when it was read from the file, the file's
/// bytes (`None`: the file is absent, or was moved aside as corrupt, and
/// the value is the default).
struct Loaded<T> {
    value: Arc<T>,
    doc: Option<Doc>,
    /// As [`Cached::invalid`].
    invalid: Option<String>,
    lineage: Lineage,
}

impl<T> Loaded<T> {
    /// What a commit edits: the document and the value read from it.
    fn base(&self) -> Option<lossless::Base<'_, T>> {
        let (read_as, migrated) = match &self.lineage {
            Lineage::Migrated { read_as, .. } => (read_as.as_deref(), true),
            _ => (None, false),
        };
        self.doc.as_ref().map(|doc| lossless::Base {
            doc: &doc.bytes,
            value: &*self.value,
            memo: doc.memo.as_deref(),
            read_as,
            migrated,
        })
    }
}

struct Inner<T> {
    path: PathBuf,
    options: StoreOptions,
    cache: Mutex<Option<Cached<T>>>,
    /// The updates under way from this store's clones (group commit).
    group: group::Group<T>,
}

/// A file holding one value of type `T`, loaded, verified, locked, updated
/// through a closure and committed atomically.
///
/// `Store<T>` is `Send + Sync` and cheap to clone; clones share one cache.
///
/// * [`load`](Store::load) returns the current value: from the cache when
///   the file has not changed (one `stat`), else read, verified (when `T`
///   has a checksum) and parsed; the type's default when the file is absent.
/// * [`update`](Store::update) takes the file's lock, re-reads only if the
///   file changed since the cached copy, runs the closure on a copy,
///   validates, commits atomically and durably, and releases the lock:
///   N processes × M updates always end at exactly N×M.
///
/// # Examples
///
/// ```
/// use safeatomic::{Persisted, Store};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
/// #[persisted(format = "json", checksum)]
/// struct Stats { runs: u64 }
///
/// # let dir = tempfile::tempdir()?;
/// let store = Store::<Stats>::open(dir.path().join("stats.json"))?;
/// assert_eq!(store.load()?.runs, 0);           // absent: the default
/// let runs = store.update(|s| { s.runs += 1; s.runs })?;
/// assert_eq!(runs, 1);
/// assert_eq!(store.load()?.runs, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Store<T: Persisted> {
    inner: Arc<Inner<T>>,
}

impl<T: Persisted> Clone for Store<T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Persisted> fmt::Debug for Store<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .field("format", &T::FORMAT)
            .field("checksum", &T::CHECKSUM)
            .field("options", &self.inner.options)
            .finish()
    }
}

impl<T: Persisted> Store<T> {
    /// Opens the store at `path` with the default [`StoreOptions`]. Reads
    /// nothing yet; removes temp files left in the directory by crashed
    /// writers.
    ///
    /// # Errors
    ///
    /// [`InvalidInput`](ErrorKind::InvalidInput) for a path that cannot name
    /// a file, [`NotFound`](ErrorKind::NotFound) when the parent directory
    /// does not exist, [`PermissionDenied`](ErrorKind::PermissionDenied).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Settings { theme: String }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Settings>::open(dir.path().join("settings.json"))?;
    /// assert!(!store.path().exists()); // opening reads and writes nothing
    /// let err = Store::<Settings>::open(dir.path().join("no/such/dir/settings.json")).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::NotFound);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, StoreOptions::new())
    }

    /// Opens the store at `path` with explicit [`StoreOptions`].
    ///
    /// # Errors
    ///
    /// As [`Store::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{CorruptPolicy, Persisted, Store, StoreOptions};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Settings { theme: String }
    /// # let dir = tempfile::tempdir()?;
    /// let opts = StoreOptions::new().on_corrupt(CorruptPolicy::MoveAside);
    /// let store = Store::<Settings>::open_with(dir.path().join("settings.json"), opts)?;
    /// # let _ = store;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let path = path.as_ref();
        let op = Operation::Store;
        let parent = path::parent_of(path).map_err(|e| e.into_error(op, path))?;
        let dir = sys::dir::open_dir(rustix::fs::CWD, parent)
            .map_err(|e| Error::io(op, "open parent directory", path, e))?;
        // Litter removal is housekeeping; the store works without it. The
        // store's writes then need not sweep again.
        match sys::file::fstat(&dir) {
            Ok(st) => {
                litter::sweep_remembered(&dir, &st, path);
            }
            Err(e) => log::debug!("cannot stat the directory of {}: {e}", path.display()),
        }
        let migrate = options.migrate_on_open && T::SCHEMA.is_some();
        let store = Self {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                options,
                cache: Mutex::new(None),
                group: group::Group::default(),
            }),
        };
        if migrate {
            store.migrate_now()?;
        }
        Ok(store)
    }

    /// Writes an older file's migration now (under the lock), if the file
    /// is older than the type.
    fn migrate_now(&self) -> Result<()> {
        if self.identity()?.is_none() {
            return Ok(());
        }
        let guard = self.lock()?;
        let unsynced = match self.read_current(Some(&guard))? {
            Some(loaded) if matches!(loaded.lineage, Lineage::Migrated { .. }) => {
                let value = T::clone(&loaded.value);
                self.commit(&guard, value, Some(&loaded))
            }
            _ => Ok(None),
        };
        drop(guard);
        synced(unsynced)
    }

    /// Opens `<platform config dir>/<file_name>` for the application
    /// `app_name` (on Linux `$XDG_CONFIG_HOME/<app>` or
    /// `~/.config/<app>`, as the `directories` crate defines it), creating
    /// the directory if needed. Requires the `config-dir` feature.
    ///
    /// # Errors
    ///
    /// [`NotFound`](ErrorKind::NotFound) when no home directory is known;
    /// otherwise as [`Store::open`] and directory creation.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use safeatomic::{Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Config { volume: u8 }
    /// let store = Store::<Config>::open_in_config_dir("myapp", "config.json")?;
    /// println!("config lives in {}", store.path().display());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "config-dir")]
    pub fn open_in_config_dir(app_name: &str, file_name: &str) -> Result<Self> {
        let op = Operation::Store;
        let dirs = directories::ProjectDirs::from("", "", app_name).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, op, "find config directory", app_name)
                .with_detail("no home directory is known for this user")
        })?;
        let dir = dirs.config_dir();
        sys::dir::create_dir_all(dir)
            .map_err(|e| Error::io(op, "create config directory", dir, e))?;
        Self::open(dir.join(file_name))
    }

    /// The path of the store's file, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Settings { theme: String }
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("settings.json");
    /// let store = Store::<Settings>::open(&path)?;
    /// assert_eq!(store.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Option<Cached<T>>> {
        // A panic while holding the cache lock cannot leave it half-written:
        // the cache is replaced whole. So a poisoned lock is still valid.
        self.inner
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The identity of the file at the store's path now; `None` when it
    /// does not exist. One `stat`: the cache check of an unlocked load.
    fn identity(&self) -> Result<Option<Version>> {
        match sys::file::statat(rustix::fs::CWD, &self.inner.path) {
            Ok(st) => Ok(Some(Version::of(&st))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(Operation::Store, "stat", &self.inner.path, e)),
        }
    }

    /// The value for a missing file: the default, or `NotFound`.
    fn absent(&self) -> Result<Loaded<T>> {
        *self.cache() = None;
        let value = T::default_value().map(Arc::new).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                Operation::Store,
                "load",
                &self.inner.path,
            )
            .with_detail("the file does not exist and the type has no Default")
        })?;
        Ok(Loaded {
            value,
            doc: None,
            invalid: None,
            lineage: Lineage::Current,
        })
    }

    /// The cached value if it is the version `id`.
    fn cached(&self, id: Version) -> Option<Loaded<T>> {
        self.cache()
            .as_ref()
            .filter(|cached| cached.id == id)
            .map(|cached| Loaded {
                value: Arc::clone(&cached.value),
                doc: Some(cached.doc.clone()),
                invalid: cached.invalid.clone(),
                lineage: cached.lineage.clone(),
            })
    }

    /// The current value, from the cache when the file has not changed,
    /// else read; a corrupt file is handled as the [`CorruptPolicy`] says.
    fn current(&self, guard: Option<&LockGuard>) -> Result<Loaded<T>> {
        match self.read_current(guard) {
            Ok(Some(loaded)) => Ok(loaded),
            Ok(None) => self.absent(),
            Err(e)
                if is_corruption(&e)
                    && self.inner.options.on_corrupt == CorruptPolicy::MoveAside =>
            {
                let value = self.recover(e, guard)?;
                let invalid = value.validate().err();
                Ok(Loaded {
                    value: Arc::new(value),
                    doc: None,
                    invalid,
                    lineage: Lineage::Current,
                })
            }
            Err(e) => Err(e),
        }
    }

    /// The current value, from the cache when the file has not changed,
    /// else read; `None` when the file is absent.
    ///
    /// Under a lock (`guard`), everything happens in the locked file's
    /// directory, by its handle: the identity check and the read. Without
    /// one, the path is resolved once for the read.
    fn read_current(&self, guard: Option<&LockGuard>) -> Result<Option<Loaded<T>>> {
        let op = Operation::Store;
        let target = match guard {
            Some(guard) => guard.target().relook(SymlinkPolicy::Follow, op)?,
            None => {
                // The cache check: one stat of the path.
                match self.identity()? {
                    None => return Ok(None),
                    Some(id) => {
                        if let Some(loaded) = self.cached(id) {
                            return Ok(Some(loaded));
                        }
                    }
                }
                resolve::resolve(&self.inner.path, SymlinkPolicy::Follow, op)?
            }
        };
        let Some(st) = target.found.file() else {
            return Ok(None);
        };
        if guard.is_some()
            && let Some(loaded) = self.cached(Version::of(st))
        {
            return Ok(Some(loaded));
        }
        let mut options = ReadOptions::new()
            .safety(self.inner.options.safety)
            .verify(T::CHECKSUM.is_some());
        options.lock_held = guard.is_some();
        options.algorithm = T::CHECKSUM;
        let path = &self.inner.path;
        let (bytes, st) = match read::read_in(&target, path, &options, op) {
            Err(e)
                if e.kind() == ErrorKind::ChecksumMissing
                    && self.inner.options.adopt_missing_checksum =>
            {
                log::warn!(
                    "{}: no checksum sidecar; read unverified (adopt_missing_checksum), \
                     its sidecar is written with the next update",
                    path.display()
                );
                options.verify = false;
                read::read_in(&target, path, &options, op)?
            }
            read => read?,
        };
        let (value, doc, lineage) = versioned::decode::<T>(bytes, path)?;
        let value = Arc::new(value);
        let invalid = value.validate().err();
        let doc = Doc {
            bytes: doc.into(),
            memo: None,
        };
        // The identity of the very file read, taken before reading it: the
        // value is that version's (or newer, if a program that ignores the
        // lock rewrote it in place meanwhile; then the next load re-reads).
        *self.cache() = Some(Cached {
            id: Version::of(&st),
            value: Arc::clone(&value),
            doc: doc.clone(),
            invalid: invalid.clone(),
            lineage: lineage.clone(),
        });
        Ok(Some(Loaded {
            value,
            doc: Some(doc),
            invalid,
            lineage,
        }))
    }

    /// The corruption policy: move the bad file aside (under the lock) and
    /// start from the default.
    fn recover(&self, error: Error, guard: Option<&LockGuard>) -> Result<T> {
        let Some(default) = T::default_value() else {
            return Err(error);
        };
        let path = &self.inner.path;
        let op = Operation::Store;
        let held;
        let guard = match guard {
            Some(g) => g,
            None => {
                held = self.lock()?;
                &held
            }
        };
        // Re-check under the lock: another process may have repaired it.
        let target = guard.target().relook(SymlinkPolicy::Follow, op)?;
        if target.found.file().is_none() {
            *self.cache() = None;
            return Ok(default);
        }
        let mut options = ReadOptions::new()
            .safety(self.inner.options.safety)
            .verify(T::CHECKSUM.is_some());
        options.lock_held = true;
        options.algorithm = T::CHECKSUM;
        let still_bad = match read::read_in(&target, path, &options, op)
            .and_then(|(bytes, _)| format::decode::<T>(T::FORMAT, &bytes, path, op))
        {
            Ok(v) => return Ok(v),
            Err(e) => is_corruption(&e),
        };
        if still_bad {
            let aside = move_aside(&target, op)?;
            log::warn!(
                "{}: moved a corrupt file aside to {} ({error}); starting from the default",
                path.display(),
                aside.display()
            );
            if let Some(Hook(hook)) = &self.inner.options.on_recovery {
                hook(&Recovery {
                    path: path.clone(),
                    moved_to: aside,
                    cause: error,
                });
            }
        }
        *self.cache() = None;
        Ok(default)
    }

    fn lock(&self) -> Result<LockGuard> {
        let opts = LockOptions::new()
            .timeout(self.inner.options.lock_timeout)
            .safety(self.inner.options.safety);
        // The store's error: "failed to access store `…`".
        acquire_lock_with(&self.inner.path, &opts).map_err(|e| e.with_operation(Operation::Store))
    }

    /// The current value: the cached copy when the file has not changed
    /// (one `stat`), else the file read (and verified, when `T` has a
    /// checksum). When the file does not exist: `T`'s default.
    ///
    /// # Errors
    ///
    /// [`NotFound`](ErrorKind::NotFound) when the file is absent and `T` has
    /// no default; [`Format`](ErrorKind::Format) (with line and column) or
    /// [`ChecksumMismatch`](ErrorKind::ChecksumMismatch) for a corrupt file
    /// under [`CorruptPolicy::Error`]; [`Schema`](ErrorKind::Schema) for a
    /// file that parses but does not fit `T` (whatever the policy: it is
    /// left in place); [`Validation`](ErrorKind::Validation) when the
    /// file's value fails `T`'s validation hook (an
    /// [`update`](Store::update) still runs on it, and commits a value that
    /// passes: that is how a program repairs it);
    /// [`ChecksumMissing`](ErrorKind::ChecksumMissing) when `T` has a
    /// checksum and the sidecar is absent; I/O kinds.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{ErrorKind, Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Debug, Serialize, Deserialize, Persisted)] // no Default
    /// #[persisted(format = "json")]
    /// struct Identity { id: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Identity>::open(dir.path().join("identity.json"))?;
    /// assert_eq!(store.load().unwrap_err().kind(), ErrorKind::NotFound);
    /// store.replace(Identity { id: 7 })?;
    /// assert_eq!(store.load()?.id, 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load(&self) -> Result<T> {
        self.load_shared().map(|value| T::clone(&value))
    }

    /// Like [`load`](Store::load), without copying: the shared, immutable
    /// cached value. A cache hit costs one `stat` and a reference-count
    /// increment, whatever the size of `T`.
    ///
    /// # Errors
    ///
    /// As [`Store::load`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Catalog { items: Vec<String> }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Catalog>::open(dir.path().join("catalog.json"))?;
    /// let catalog = store.load_shared()?; // Arc<Catalog>
    /// assert!(catalog.items.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_shared(&self) -> Result<Arc<T>> {
        let loaded = self.current(None)?;
        match loaded.invalid {
            None => Ok(loaded.value),
            Some(reason) => Err(Error::new(
                ErrorKind::Validation,
                Operation::Store,
                "validate",
                &self.inner.path,
            )
            .with_detail(format!("the file's value: {reason}"))),
        }
    }

    /// Read-modify-write under the cross-process lock: runs `f` on a copy of
    /// the current value, validates the result, commits it atomically and
    /// durably, and returns what `f` returned.
    ///
    /// If `f` panics, its change is not written, the lock is released and
    /// the store stays usable; the panic goes on in the caller.
    ///
    /// Concurrent updates from clones of one store share a write (*group
    /// commit*): the first caller takes the lock and reads the file, then
    /// every closure waiting is applied in arrival order, each on the
    /// previous one's result and on its own caller's thread, and one write
    /// commits them all. A closure that returns `Err`, panics or fails
    /// validation is skipped (its caller alone gets that); every other
    /// caller returns only once the shared write is durable, with its own
    /// closure's result, or the write's error.
    ///
    /// # Errors
    ///
    /// As [`Store::load`]; [`Validation`](ErrorKind::Validation) when the
    /// type's validation hook refuses the new value (nothing written);
    /// [`LockTimeout`](ErrorKind::LockTimeout); the errors of a write.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Counter { n: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Counter>::open(dir.path().join("counter.json"))?;
    /// store.update(|c| c.n += 10)?;
    /// assert_eq!(store.load()?.n, 10);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn update<R>(&self, f: impl FnOnce(&mut T) -> R) -> Result<R> {
        self.try_update(|value| Ok::<R, Error>(f(value)))
    }

    /// Like [`update`](Store::update), for closures that can fail: when `f`
    /// returns `Err`, nothing is written and the error is returned as it is.
    /// Store errors convert into the caller's error type through `From`.
    ///
    /// # Errors
    ///
    /// `f`'s error, or a store error (as [`Store::update`]) converted with
    /// `E: From<Error>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Account { balance: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Account>::open(dir.path().join("account.json"))?;
    /// let r: Result<u64, Box<dyn std::error::Error>> = store.try_update(|a| {
    ///     a.balance = a.balance.checked_sub(5).ok_or("insufficient funds")?;
    ///     Ok(a.balance)
    /// });
    /// assert_eq!(r.unwrap_err().to_string(), "insufficient funds");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_update<R, E: From<Error>>(
        &self,
        f: impl FnOnce(&mut T) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        self.update_grouped(f)
    }

    /// [`try_update`](Store::try_update) under the store's lock, which
    /// the caller took (the async facade waits for it without blocking),
    /// so outside the group commit. The guard is released before the
    /// directory fsync, as a group's leader does.
    #[cfg(feature = "tokio")]
    fn try_update_under<R, E: From<Error>>(
        &self,
        guard: LockGuard,
        f: impl FnOnce(&mut T) -> std::result::Result<R, E>,
    ) -> std::result::Result<R, E> {
        let base = self.current(Some(&guard))?;
        let mut value = T::clone(&base.value);
        let out = f(&mut value)?;
        let unsynced = self.commit(&guard, value, Some(&base));
        drop(guard);
        synced(unsynced)?;
        Ok(out)
    }

    /// Replaces the value with `value` (validated), under the lock.
    ///
    /// # Errors
    ///
    /// [`Validation`](ErrorKind::Validation), lock and write errors.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Flag { on: bool }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Flag>::open(dir.path().join("flag.json"))?;
    /// store.replace(Flag { on: true })?;
    /// assert!(store.load()?.on);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn replace(&self, value: T) -> Result<()> {
        let guard = self.lock()?;
        self.replace_under(guard, value)
    }

    /// [`replace`](Store::replace) under the store's lock, which the
    /// caller took; released before the directory fsync.
    fn replace_under(&self, guard: LockGuard, value: T) -> Result<()> {
        // The document to edit. A file that cannot be read as a `T` (or
        // whose checksum is wrong or missing) is what `replace` repairs:
        // it is replaced whole, as it is, whatever the corruption policy.
        let unsynced = match self.read_current(Some(&guard)) {
            Ok(Some(base)) => self.commit(&guard, value, Some(&base)),
            Ok(None) => self.commit(&guard, value, None),
            Err(e)
                if is_corruption(&e)
                    || matches!(e.kind(), ErrorKind::ChecksumMissing | ErrorKind::Schema) =>
            {
                self.commit(&guard, value, None)
            }
            Err(e) => Err(e),
        };
        drop(guard);
        synced(unsynced)
    }

    /// Validates `value` and commits it under `guard`: the file's document
    /// (`base`, the version under the lock) edited where the value
    /// changed, or nothing at all when it did not (`None`); then caches
    /// it. The directory fsync that makes it durable is left to the
    /// caller, to make once it has released the lock ([`synced`]).
    fn commit(
        &self,
        guard: &LockGuard,
        value: T,
        base: Option<&Loaded<T>>,
    ) -> Result<Option<Unsynced>> {
        let path = &self.inner.path;
        let lineage = base.map_or(&Lineage::Current, |b| &b.lineage);
        if let (Lineage::Newer(found), Some(schema)) = (lineage, T::SCHEMA)
            && !self.inner.options.allow_newer_schema
        {
            return Err(
                Error::new(ErrorKind::SchemaTooNew, Operation::Store, "check schema", path)
                    .with_detail(format!(
                        "the file is at schema version {found}, this program's type at {}; \
                         a newer program wrote it (StoreOptions::allow_newer_schema writes it anyway)",
                        schema.version()
                    )),
            );
        }
        value.validate().map_err(|reason| {
            Error::new(ErrorKind::Validation, Operation::Store, "validate", path)
                .with_detail(reason)
        })?;
        let stamp = versioned::stamp::<T>(lineage);
        let doc = match lossless::plan(T::FORMAT, base.and_then(Loaded::base), &value, stamp, path)?
        {
            // The file already says this: no temp file, no fsync, no
            // rename; it keeps its inode and modification time.
            lossless::Outcome::Unchanged => return Ok(None),
            lossless::Outcome::Write(bytes, how, memo) => {
                log::trace!("{}: committing ({how:?})", path.display());
                Doc {
                    bytes: bytes.into(),
                    memo: memo.map(Arc::new),
                }
            }
        };
        if let Lineage::Migrated { from, original, .. } = lineage {
            self.keep_original(guard, *from, original)?;
        }
        #[cfg_attr(not(feature = "watch"), allow(unused_mut))]
        let mut opts = WriteOptions::new()
            .safety(self.inner.options.safety)
            .checksum(T::CHECKSUM);
        #[cfg(feature = "watch")]
        {
            opts.note_created = true;
        }
        let unsynced = write_locked_unsynced(guard, &doc.bytes, &opts)?;
        // Under the lock nobody else writes: this identity is our version's.
        // It is taken in the locked directory, not through the path (which
        // may lead elsewhere by now). The write is published by now, so a
        // failure to learn the identity must not turn into an error (a
        // caller retrying a "failed" update would apply it twice): it only
        // costs the cache.
        let target = guard.target();
        let published = sys::file::lstatat(&*target.dir, Path::new(&target.name));
        // A watcher of this process tells this version as its own.
        #[cfg(feature = "watch")]
        if let Some(id) = unsynced.noted {
            crate::identity::finished(id, published.as_ref().ok().map(Version::of));
        }
        *self.cache() = match published {
            Ok(st) => Some(Cached {
                id: Version::of(&st),
                value: Arc::new(value),
                doc,
                invalid: None,
                lineage: match lineage {
                    Lineage::Newer(v) => Lineage::Newer(*v),
                    _ => Lineage::Current,
                },
            }),
            Err(e) => {
                log::debug!("{}: {e}; the next load reads the file", path.display());
                None
            }
        };
        Ok(Some(unsynced))
    }

    /// Keeps the bytes of a file migrated from version `from` beside it as
    /// `<name>.v<from>.bak`, durably, before the migrated file replaces it;
    /// once: an existing backup (an earlier attempt's, which a crash or a
    /// failure may have left before it was durable) is only made durable.
    fn keep_original(&self, guard: &LockGuard, from: u32, original: &[u8]) -> Result<()> {
        let op = Operation::Store;
        let target = guard.target();
        let mut name = target.name.clone();
        name.push(format!(".v{from}.bak"));
        let bak = target.path.with_file_name(&name);
        // In the locked directory, by its handle, as the file itself.
        let opts = WriteOptions::new().safety(self.inner.options.safety);
        match create_beside(guard, &name, original, &opts) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                let durable = || -> std::io::Result<()> {
                    let flags = sys::OFlags::RDONLY | sys::OFlags::NOFOLLOW;
                    let fd = sys::file::openat(
                        &*target.dir,
                        Path::new(&name),
                        flags,
                        sys::Mode::empty(),
                    )?;
                    sys::file::fsync(&fd)?;
                    sys::file::fsync(&*target.dir)
                };
                durable().map_err(|e| Error::io(op, "keep the original before migrating", &bak, e))
            }
            // The backup is there but not known to be durable: the file is
            // not replaced (the next update makes the backup durable).
            Err(e) if e.is_committed() => {
                let kind = e.io_error().map_or(ErrorKind::Io, ErrorKind::of_io);
                Err(e.with_kind(kind).with_operation(op).with_detail(
                    "the backup of the original is not known to be durable; the file was not migrated",
                ))
            }
            Err(e) => Err(e.with_operation(op)),
        }
    }
}

/// Moves the corrupt file of `target` aside to `<name>.corrupt-<time>`,
/// with its sidecars, in its own directory (by handle), never replacing
/// anything; returns the new path. The caller holds the lock.
fn move_aside(target: &Target, op: Operation) -> Result<PathBuf> {
    let mut aside = target.name.clone();
    aside.push(".corrupt-");
    aside.push(timefmt::format_compact(sys::process::now()));
    let shown = target.path.with_file_name(&aside);
    let env = env::of_target(target, op)?;
    let dir: &sys::OwnedFd = &target.dir;
    let fail =
        |e| Error::io(op, "move corrupt file aside", &target.path, e).with_other_path(&shown);
    let move_aside = |from: &Path, to: &Path| {
        publish(dir, from, dir, to, Publish::NoReplace, &env).map_err(|e| match e {
            PublishError::Rename(e) | PublishError::Link(e) | PublishError::SourceLeft(e) => e,
        })
    };
    move_aside(Path::new(&target.name), Path::new(&aside)).map_err(fail)?;
    // Its sidecars go with it: they are part of the evidence, and left
    // behind they would describe a file that is not there.
    for algorithm in Algorithm::ALL {
        let from = sidecar::sidecar_name(&target.name, algorithm);
        let to = sidecar::sidecar_name(&aside, algorithm);
        match move_aside(Path::new(&from), Path::new(&to)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(fail(e)),
        }
    }
    sys::file::fsync(dir).map_err(fail)?;
    Ok(shown)
}

/// A commit made durable: the directory fsync of a write published under
/// a lock the caller has released since (write step *sync-dir*).
fn synced(committed: Result<Option<Unsynced>>) -> Result<()> {
    committed.and_then(|unsynced| unsynced.map_or(Ok(()), Unsynced::sync))
}

/// Whether an error means "the file's content is bad" (as opposed to "the
/// file could not be read").
fn is_corruption(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::Format | ErrorKind::ChecksumMismatch)
}

// Compile-time check, for every `T: Persisted`: a store can be shared
// between threads and cloned.
const _: () = {
    // The body is type-checked for all `T` although nothing calls it.
    #[expect(dead_code)]
    fn send_sync_clone<T: Persisted>(s: Store<T>) -> impl Send + Sync + Clone {
        s
    }
};
