//! Watching a store's file: [`Store::watch`] and the [`Watch`] handle.
//!
//! The `notify` crate watches the file's **directory** (inotify on Linux),
//! not the file: an editor's save by rename, `safeatomic write`, `sed -i`,
//! a delete and a re-create all replace the directory entry, which a watch
//! on the old inode would miss (notify#247). Its mini debouncer coalesces
//! the burst of events one save makes (temp file, sidecar, rename) per
//! name. A worker thread takes the events that name the file or its
//! checksum sidecars and loads the value through the store's one load path
//! ([`Store::load_shared`]: verified, migrated, validated), so a watcher
//! never sees a torn or unverified value. It delivers what changed (as
//! serde sees the value), and each new error once.

use super::Store;
use super::persisted::Persisted;
use crate::checksum::digest::Algorithm;
use crate::checksum::sidecar;
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::identity::{self, Version};
use crate::lossless::node::{self, Node};
use crate::path;
use notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{Config, DebounceEventResult, Debouncer, new_debouncer_opt};
use std::ffi::OsString;
use std::fmt;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// Options for [`Store::watch_with`].
///
/// # Examples
///
/// ```
/// use safeatomic::WatchOptions;
/// use std::time::Duration;
/// let opts = WatchOptions::new().debounce(Duration::from_millis(50));
/// assert_eq!(opts.debounce_time(), Duration::from_millis(50));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchOptions {
    debounce: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            debounce: Self::DEFAULT_DEBOUNCE,
        }
    }
}

impl WatchOptions {
    /// The default debounce: 10 ms (docs/benchmarks.md measures what it
    /// costs in latency).
    pub const DEFAULT_DEBOUNCE: Duration = Duration::from_millis(10);

    /// The defaults: a debounce of [`DEFAULT_DEBOUNCE`](Self::DEFAULT_DEBOUNCE).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::WatchOptions;
    /// assert_eq!(WatchOptions::new().debounce_time(), WatchOptions::DEFAULT_DEBOUNCE);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// How long the file's name must stay quiet before its change is
    /// loaded (and, while it keeps changing, how often it is loaded): the
    /// events of one save are loaded once. Zero loads at every event.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::WatchOptions;
    /// use std::time::Duration;
    /// let eager = WatchOptions::new().debounce(Duration::ZERO);
    /// # let _ = eager;
    /// ```
    #[must_use]
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }

    /// The debounce set.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::WatchOptions;
    /// assert_eq!(WatchOptions::new().debounce_time(), WatchOptions::DEFAULT_DEBOUNCE);
    /// ```
    pub fn debounce_time(&self) -> Duration {
        self.debounce
    }
}

/// Who wrote a value a watcher delivers.
///
/// # Examples
///
/// ```
/// use safeatomic::{Origin, Persisted, Store};
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
/// # #[persisted(format = "json")]
/// # struct Counter { n: u64 }
/// # let dir = tempfile::tempdir()?;
/// let store = Store::<Counter>::open(dir.path().join("counter.json"))?;
/// let watch = store.watch()?;
/// store.update(|c| c.n = 1)?;
/// let change = watch.recv().expect("watching")?;
/// assert_eq!(change.origin, Origin::ThisProcess);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// A commit of this process (any `Store` of it, any thread).
    ThisProcess,
    /// Anyone else: another process, a person's editor, the CLI.
    Elsewhere,
}

/// A new value of a watched store.
///
/// # Examples
///
/// See [`Store::watch`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Change<T> {
    /// The value, as [`Store::load_shared`] read it.
    pub value: Arc<T>,
    /// Who wrote it.
    pub origin: Origin,
}

/// What the notify side tells the worker.
enum Wake {
    /// An event named the file or one of its sidecars.
    Changed,
    /// The watcher failed (its message).
    Failed(String),
    /// The handle was dropped.
    Stop,
}

/// The last good value a watch has seen, shared by its handle and its
/// worker.
pub(super) struct Latest<T>(Arc<Mutex<Option<Arc<T>>>>);

impl<T> Clone for Latest<T> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<T> Latest<T> {
    pub(super) fn new() -> Self {
        Self(Arc::new(Mutex::new(None)))
    }

    pub(super) fn get(&self) -> Option<Arc<T>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, value: Arc<T>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }
}

/// Where a worker delivers its items; `false`: nobody listens any more.
pub(super) type Sink<T> = Box<dyn FnMut(Result<Change<T>>) -> bool + Send>;

/// The running parts of a watch: the notify watcher and its debouncer,
/// and the worker thread. Dropping it stops all three.
pub(super) struct Running {
    debouncer: Option<Debouncer<RecommendedWatcher>>,
    wake: Sender<Wake>,
    worker: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        // The debouncer's own thread and notify's inotify thread end once
        // they see the shutdown it sends when dropped (they are not joined
        // by notify: they end within moments).
        drop(self.debouncer.take());
        let _ = self.wake.send(Wake::Stop);
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            log::warn!("a store watcher's thread panicked");
        }
    }
}

/// A running watch of a store: its new values as they change. From
/// [`Store::watch`]; dropping it stops the watch and its thread.
///
/// Each item is a `Result`: [`Change`] with the new value and its
/// [`Origin`], or the error loading the file gave (an invalid edit, a
/// checksum mismatch); after an error the watch goes on, and the next
/// valid value is delivered. [`latest`](Watch::latest) keeps the last
/// good value.
///
/// # Examples
///
/// See [`Store::watch`].
pub struct Watch<T> {
    items: Receiver<Result<Change<T>>>,
    latest: Latest<T>,
    _running: Running,
}

impl<T> fmt::Debug for Watch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}

impl<T> Watch<T> {
    /// Waits for the next item. `None` only when the watch has stopped
    /// (its thread ended: it cannot while the handle lives, unless it
    /// panicked).
    ///
    /// # Examples
    ///
    /// See [`Store::watch`].
    pub fn recv(&self) -> Option<Result<Change<T>>> {
        self.items.recv().ok()
    }

    /// Waits at most `timeout` for the next item; `None` when none came.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store};
    /// use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Counter { n: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Counter>::open(dir.path().join("counter.json"))?;
    /// let watch = store.watch()?;
    /// assert!(watch.recv_timeout(Duration::from_millis(50)).is_none()); // nothing changed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Option<Result<Change<T>>> {
        self.items.recv_timeout(timeout).ok()
    }

    /// The next item if one is waiting, without blocking.
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
    /// let watch = store.watch()?;
    /// assert!(watch.try_recv().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_recv(&self) -> Option<Result<Change<T>>> {
        self.items.try_recv().ok()
    }

    /// The last good value the watch has seen: the value when it started
    /// (if the file could be loaded then), or the last one it delivered.
    /// An invalid edit does not replace it.
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
    /// store.update(|c| c.n = 3)?;
    /// let watch = store.watch()?;
    /// assert_eq!(watch.latest().map(|c| c.n), Some(3));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn latest(&self) -> Option<Arc<T>> {
        self.latest.get()
    }
}

/// Blocking iteration: each item as it comes; ends only if the watch
/// stops.
impl<T> Iterator for Watch<T> {
    type Item = Result<Change<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

/// Blocking iteration over a borrowed watch.
impl<T> Iterator for &Watch<T> {
    type Item = Result<Change<T>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.recv()
    }
}

impl<T: Persisted> Store<T> {
    /// Watches the store's file: returns a [`Watch`] that yields the new
    /// value each time the file changes, whoever changes it: this process,
    /// another process's [`update`](Store::update), `safeatomic write`, an
    /// editor's save (by rename or in place), `sed -i`, a delete (the
    /// type's default, or a [`NotFound`](ErrorKind::NotFound) item) and a
    /// re-create. Requires the `watch` feature.
    ///
    /// Every value is loaded through [`load_shared`](Store::load_shared):
    /// verified, migrated and validated as any load; a file that fails
    /// (an invalid edit, a checksum mismatch) is an error item, and the
    /// next valid value is delivered. Changes in quick succession may be
    /// coalesced, but the last value is always delivered; a write that
    /// leaves the value as it was (a no-op update writes nothing at all)
    /// delivers nothing. Uses [`WatchOptions::new`]; see
    /// [`watch_with`](Store::watch_with).
    ///
    /// The directory of the path as given is watched: when the path is a
    /// symlink, a change of the file it points to in another directory is
    /// not seen (the link's own replacement is).
    ///
    /// # Errors
    ///
    /// [`Io`](ErrorKind::Io) when the watch cannot be set up (the parent
    /// directory is gone; an inotify limit is reached: each watch takes one
    /// inotify instance, `fs.inotify.max_user_instances`, 128 per user by
    /// default, and one watch, `fs.inotify.max_user_watches`);
    /// [`InvalidInput`](ErrorKind::InvalidInput) for a path that names no
    /// file.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Origin, Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// #[persisted(format = "json")]
    /// struct Config { level: u8 }
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("config.json");
    /// let store = Store::<Config>::open(&path)?;
    /// let watch = store.watch()?;
    /// safeatomic::write_atomic(&path, r#"{"level": 4}"#)?; // another program writes it
    /// let change = watch.recv().expect("watching")?;
    /// assert_eq!((change.value.level, change.origin), (4, Origin::Elsewhere));
    /// safeatomic::write_atomic(&path, "{ oops")?; // an invalid edit: an error item
    /// assert!(watch.recv().expect("watching").is_err());
    /// assert_eq!(watch.latest().map(|c| c.level), Some(4)); // kept
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch(&self) -> Result<Watch<T>> {
        self.watch_with(WatchOptions::new())
    }

    /// [`watch`](Store::watch) with [`WatchOptions`].
    ///
    /// # Errors
    ///
    /// As [`Store::watch`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Persisted, Store, WatchOptions};
    /// use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Config { level: u8 }
    /// # let dir = tempfile::tempdir()?;
    /// let store = Store::<Config>::open(dir.path().join("config.json"))?;
    /// let watch = store.watch_with(WatchOptions::new().debounce(Duration::from_millis(100)))?;
    /// store.update(|c| c.level = 2)?;
    /// assert_eq!(watch.recv().expect("watching")?.value.level, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn watch_with(&self, options: WatchOptions) -> Result<Watch<T>> {
        let (tx, items) = mpsc::channel();
        let latest = Latest::new();
        let running = self.start_watch(
            &options,
            latest.clone(),
            Box::new(move |item| tx.send(item).is_ok()),
        )?;
        Ok(Watch {
            items,
            latest,
            _running: running,
        })
    }

    /// Starts the notify watcher and the worker that delivers to `sink`.
    pub(super) fn start_watch(
        &self,
        options: &WatchOptions,
        latest: Latest<T>,
        sink: Sink<T>,
    ) -> Result<Running> {
        let path = &self.inner.path;
        let op = Operation::Store;
        let parent = path::parent_of(path).map_err(|e| e.into_error(op, path))?;
        let parent = if parent.as_os_str().is_empty() {
            std::path::Path::new(".")
        } else {
            parent
        };
        let name = path.file_name().map(OsString::from).unwrap_or_default();
        let mut names: Vec<OsString> = Algorithm::ALL
            .iter()
            .map(|&algorithm| sidecar::sidecar_name(&name, algorithm))
            .collect();
        names.push(name);
        let fail = |e: notify::Error| {
            Error::new(ErrorKind::Io, op, "watch", path).with_detail(e.to_string())
        };

        let (wake, woken) = mpsc::channel();
        // The worker's state starts from the file as it is now: only what
        // changes after this is delivered.
        let mut worker = Worker {
            store: self.clone(),
            seen: None,
            good: None,
            failed: None,
            latest,
            sink,
        };
        worker.baseline();
        let notified = wake.clone();
        let config = Config::default()
            .with_timeout(options.debounce)
            .with_batch_mode(false);
        let mut debouncer = new_debouncer_opt::<_, RecommendedWatcher>(
            config,
            move |events: DebounceEventResult| {
                let message = match events {
                    Ok(events) => {
                        let ours = events.iter().any(|e| {
                            e.path
                                .file_name()
                                .is_some_and(|n| names.iter().any(|name| name == n))
                        });
                        if !ours {
                            return;
                        }
                        Wake::Changed
                    }
                    Err(e) => Wake::Failed(e.to_string()),
                };
                let _ = notified.send(message);
            },
        )
        .map_err(fail)?;
        debouncer
            .watcher()
            .watch(parent, RecursiveMode::NonRecursive)
            .map_err(fail)?;
        let thread = std::thread::Builder::new()
            .name("safeatomic-watch".to_owned())
            .spawn(move || worker.run(&woken))
            .map_err(|e| Error::io(op, "start watch thread", path, e))?;
        Ok(Running {
            debouncer: Some(debouncer),
            wake,
            worker: Some(thread),
        })
    }
}

/// The worker thread's state: what it last saw and delivered.
struct Worker<T: Persisted> {
    store: Store<T>,
    /// The file's version when it was last examined (`Some(None)`: absent).
    seen: Option<Option<Version>>,
    /// The last good value, as serde sees it (to tell a change from a
    /// rewrite of the same value).
    good: Option<Node>,
    /// The last error delivered, for its version: an error is delivered
    /// once per version; the next good value after it always.
    failed: Option<(Option<Version>, ErrorKind)>,
    latest: Latest<T>,
    sink: Sink<T>,
}

/// How often a load that raced a writer (the file changed while it was
/// read) is tried again before it is delivered as it is.
const RETRIES: usize = 3;

impl<T: Persisted> Worker<T> {
    /// Takes the file as it is now as the starting point (nothing is
    /// delivered).
    fn baseline(&mut self) {
        let before = self.store.identity().ok();
        if let Ok(value) = self.store.load_shared() {
            self.good = captured(&*value);
            self.latest.set(value);
        }
        self.seen = before;
    }

    fn run(mut self, woken: &Receiver<Wake>) {
        while let Ok(wake) = woken.recv() {
            // Everything that arrived meanwhile is one change.
            let mut failed = None;
            for wake in std::iter::once(wake).chain(woken.try_iter()) {
                match wake {
                    Wake::Stop => return,
                    Wake::Failed(message) => failed = Some(message),
                    Wake::Changed => {}
                }
            }
            if let Some(message) = failed {
                let path = &self.store.inner.path;
                let e =
                    Error::new(ErrorKind::Io, Operation::Store, "watch", path).with_detail(message);
                if !(self.sink)(Err(e)) {
                    return;
                }
            }
            if !self.examine() {
                return;
            }
        }
    }

    /// Loads the file if it changed and delivers what is new; `false` once
    /// nobody listens.
    fn examine(&mut self) -> bool {
        let mut tries = 0;
        let (version, loaded) = loop {
            let Ok(before) = self.store.identity() else {
                break (None, self.store.load_shared());
            };
            if self.seen == Some(before) && self.failed.is_none() {
                return true; // not this file's change (or already seen)
            }
            let loaded = self.store.load_shared();
            match self.store.identity() {
                Ok(after) if after == before => break (before, loaded),
                _ if tries < RETRIES => tries += 1,
                _ => break (before, loaded),
            }
        };
        self.seen = Some(version);
        match loaded {
            Ok(value) => {
                let now = captured(&*value);
                let same = matches!((&self.good, &now), (Some(a), Some(b)) if a.same(b));
                if same && self.failed.is_none() {
                    return true;
                }
                self.good = now;
                self.failed = None;
                self.latest.set(Arc::clone(&value));
                let origin = match version {
                    Some(v) if identity::written_here(v) => Origin::ThisProcess,
                    _ => Origin::Elsewhere,
                };
                (self.sink)(Ok(Change { value, origin }))
            }
            Err(e) => {
                let failed = Some((version, e.kind()));
                if self.failed == failed {
                    return true;
                }
                self.failed = failed;
                (self.sink)(Err(e))
            }
        }
    }
}

/// A value as serde sees it, for comparison; `None` if it cannot be
/// captured (then every load of it counts as a change).
fn captured<T: Persisted>(value: &T) -> Option<Node> {
    node::capture(value).ok().map(|mut n| {
        n.normalize();
        n
    })
}
