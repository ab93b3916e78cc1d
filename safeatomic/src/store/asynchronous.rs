//! The store from async code: [`AsyncStore`], on tokio (feature `tokio`).
//!
//! Every call that touches the file runs on tokio's blocking pool
//! (`spawn_blocking`), so no runtime thread ever waits for a disk or a
//! lock. The wait for the lock is not one of them: a blocking task cannot
//! be cancelled, so the wait is an async loop of non-blocking attempts
//! (`flock(LOCK_EX|LOCK_NB)` on the pool) with a back-off capped at 20 ms,
//! which stops when its future is dropped. Once the lock is held, the
//! update (read, closure, commit) is handed to the pool with the guard: the
//! closure is synchronous, so the lock is never held across an `.await` of
//! the caller's code, and a future dropped at any point leaves the lock
//! free (a guard that arrives after its future is gone is dropped with the
//! task's result). docs/decisions/0014-watch-and-async.md says why.

use super::persisted::Persisted;
use super::watch::{Change, Latest, Running, WatchOptions};
use super::{Store, StoreOptions};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::lock::{LockGuard, LockOptions, acquire_lock_with, try_acquire_lock_with};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// The longest pause between two attempts to take the lock (as the
/// blocking lock's timed wait).
const MAX_BACKOFF: Duration = Duration::from_millis(20);

/// A [`Store`] for async code, on tokio (feature `tokio`): the same file,
/// cache and guarantees, with `async` methods that never block the
/// runtime. Cheap to clone; clones share the store.
///
/// * [`load`](AsyncStore::load), [`replace`](AsyncStore::replace) and the
///   commit of an update run on tokio's blocking pool.
/// * [`update`](AsyncStore::update) and
///   [`try_update`](AsyncStore::try_update) wait for the lock without
///   blocking a runtime thread: a current-thread runtime keeps running its
///   other tasks meanwhile. Dropping the future while it waits (a
///   `tokio::time::timeout`, a `select!`) stops the wait; the lock is
///   never left held. The wait is bounded by
///   [`StoreOptions::lock_timeout`]. Once the lock is held the update
///   runs to its end on the pool, even if the future is dropped then.
/// * The closure is synchronous (`FnOnce(&mut T) -> R + Send + 'static`):
///   do async work before or after it, not while holding the lock.
///
/// # Examples
///
/// ```
/// use safeatomic::{AsyncStore, Persisted};
/// # use serde::{Deserialize, Serialize};
/// #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
/// #[persisted(format = "json")]
/// struct Stats { runs: u64 }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir()?;
/// let store = AsyncStore::<Stats>::open(dir.path().join("stats.json")).await?;
/// let runs = store.update(|s| { s.runs += 1; s.runs }).await?;
/// assert_eq!(runs, 1);
/// assert_eq!(store.load().await?.runs, 1);
/// # Ok(())
/// # }
/// ```
pub struct AsyncStore<T: Persisted> {
    store: Store<T>,
}

impl<T: Persisted> Clone for AsyncStore<T> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
        }
    }
}

impl<T: Persisted> fmt::Debug for AsyncStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsyncStore").field(&self.store).finish()
    }
}

impl<T: Persisted> From<Store<T>> for AsyncStore<T> {
    fn from(store: Store<T>) -> Self {
        Self { store }
    }
}

/// Runs `f` on tokio's blocking pool. A panic in `f` is resumed here, as
/// the synchronous call would have panicked.
async fn blocking<R: Send + 'static>(
    path: &Path,
    f: impl FnOnce() -> R + Send + 'static,
) -> Result<R> {
    match tokio::task::spawn_blocking(f).await {
        Ok(out) => Ok(out),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(Error::new(
            ErrorKind::Io,
            Operation::Store,
            "run on the blocking pool",
            path,
        )
        .with_detail(e.to_string())),
    }
}

impl<T: Persisted> AsyncStore<T> {
    /// [`Store::open`], on the blocking pool.
    ///
    /// # Errors
    ///
    /// As [`Store::open`].
    ///
    /// # Examples
    ///
    /// See [`AsyncStore`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, StoreOptions::new()).await
    }

    /// [`Store::open_with`], on the blocking pool.
    ///
    /// # Errors
    ///
    /// As [`Store::open`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted, StoreOptions};
    /// use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Stats { runs: u64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let opts = StoreOptions::new().lock_timeout(Some(Duration::from_secs(5)));
    /// let store = AsyncStore::<Stats>::open_with(dir.path().join("stats.json"), opts).await?;
    /// # let _ = store;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let path = path.as_ref().to_owned();
        blocking(&path.clone(), move || Store::open_with(path, options))
            .await?
            .map(Self::from)
    }

    /// The synchronous store underneath (for a call from a thread that may
    /// block).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted, Store};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Stats { runs: u64 }
    /// # let dir = tempfile::tempdir()?;
    /// let store = AsyncStore::from(Store::<Stats>::open(dir.path().join("stats.json"))?);
    /// assert_eq!(store.store().load()?.runs, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn store(&self) -> &Store<T> {
        &self.store
    }

    /// [`Store::load_shared`], on the blocking pool.
    ///
    /// # Errors
    ///
    /// As [`Store::load`].
    ///
    /// # Examples
    ///
    /// See [`AsyncStore`].
    pub async fn load(&self) -> Result<Arc<T>> {
        let store = self.store.clone();
        blocking(self.store.path(), move || store.load_shared()).await?
    }

    /// [`Store::update`]: waits for the lock without blocking the runtime,
    /// then runs `f` on a copy of the value and commits it, on the
    /// blocking pool.
    ///
    /// # Errors
    ///
    /// As [`Store::update`]; [`LockTimeout`](ErrorKind::LockTimeout) after
    /// the store's [`lock_timeout`](StoreOptions::lock_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted, acquire_lock};
    /// use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Counter { n: u64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("counter.json");
    /// let store = AsyncStore::<Counter>::open(&path).await?;
    /// let busy = acquire_lock(&path, None)?; // someone holds the lock
    /// // Gives up after 50 ms; the wait stops, nothing is written.
    /// let gave_up = tokio::time::timeout(Duration::from_millis(50), store.update(|c| c.n += 1)).await;
    /// assert!(gave_up.is_err());
    /// drop(busy);
    /// assert_eq!(store.update(|c| { c.n += 1; c.n }).await?, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn update<R, F>(&self, f: F) -> Result<R>
    where
        F: FnOnce(&mut T) -> R + Send + 'static,
        R: Send + 'static,
    {
        self.try_update(move |value| Ok::<R, Error>(f(value))).await
    }

    /// [`Store::try_update`]: as [`update`](AsyncStore::update), for a
    /// closure that can fail (nothing is written then).
    ///
    /// # Errors
    ///
    /// `f`'s error, or a store error converted with `E: From<Error>`.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Account { balance: u64 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let store = AsyncStore::<Account>::open(dir.path().join("account.json")).await?;
    /// let r: Result<u64, Box<dyn std::error::Error + Send + Sync>> = store
    ///     .try_update(|a| {
    ///         a.balance = a.balance.checked_sub(5).ok_or("insufficient funds")?;
    ///         Ok(a.balance)
    ///     })
    ///     .await;
    /// assert_eq!(r.unwrap_err().to_string(), "insufficient funds");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn try_update<R, E, F>(&self, f: F) -> std::result::Result<R, E>
    where
        F: FnOnce(&mut T) -> std::result::Result<R, E> + Send + 'static,
        R: Send + 'static,
        E: From<Error> + Send + 'static,
    {
        let guard = self.lock().await?;
        let store = self.store.clone();
        blocking(self.store.path(), move || store.try_update_under(guard, f)).await?
    }

    /// [`Store::replace`]: waits for the lock as
    /// [`update`](AsyncStore::update) does, then commits `value` on the
    /// blocking pool.
    ///
    /// # Errors
    ///
    /// As [`Store::replace`]; [`LockTimeout`](ErrorKind::LockTimeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Flag { on: bool }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let store = AsyncStore::<Flag>::open(dir.path().join("flag.json")).await?;
    /// store.replace(Flag { on: true }).await?;
    /// assert!(store.load().await?.on);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn replace(&self, value: T) -> Result<()> {
        let guard = self.lock().await?;
        let store = self.store.clone();
        blocking(self.store.path(), move || store.replace_under(guard, value)).await?
    }

    /// Takes the store's lock without blocking the runtime: non-blocking
    /// attempts on the pool, async sleeps between them. Dropping the
    /// future stops it; a guard taken by an attempt whose future is gone
    /// is dropped (released) with the task's result.
    async fn lock(&self) -> Result<LockGuard> {
        let inner = &self.store.inner;
        let timeout = inner.options.lock_timeout;
        let deadline = timeout.map(|t| Instant::now() + t);
        let opts = LockOptions::new().safety(inner.options.safety);
        let mut backoff = Duration::from_millis(1);
        loop {
            let (path, attempt) = (inner.path.clone(), opts.clone());
            let held = blocking(&inner.path, move || try_acquire_lock_with(path, &attempt))
                .await?
                .map_err(|e| e.with_operation(Operation::Store))?;
            if let Some(guard) = held {
                return Ok(guard);
            }
            let pause = match deadline {
                None => backoff,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => backoff.min(left),
                    // The last attempt, as the blocking lock makes it: its
                    // error names the holder.
                    _ => {
                        let (path, last) = (inner.path.clone(), opts.timeout(Some(Duration::ZERO)));
                        return blocking(&inner.path, move || acquire_lock_with(path, &last))
                            .await?
                            .map_err(|e| e.with_operation(Operation::Store));
                    }
                },
            };
            tokio::time::sleep(pause).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// [`Store::watch`] for async code: the new values as they change,
    /// received with [`AsyncWatch::recv`]. Setting it up (a first load)
    /// runs on the blocking pool; the watch's own thread is a plain thread,
    /// as the blocking `Watch`'s.
    ///
    /// # Errors
    ///
    /// As [`Store::watch`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Origin, Persisted};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Config { level: u8 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("config.json");
    /// let store = AsyncStore::<Config>::open(&path).await?;
    /// let mut watch = store.watch().await?;
    /// safeatomic::write_atomic(&path, r#"{"level": 9}"#)?; // another program writes it
    /// let change = watch.recv().await.expect("watching")?;
    /// assert_eq!((change.value.level, change.origin), (9, Origin::Elsewhere));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn watch(&self) -> Result<AsyncWatch<T>> {
        self.watch_with(WatchOptions::new()).await
    }

    /// [`watch`](AsyncStore::watch) with [`WatchOptions`].
    ///
    /// # Errors
    ///
    /// As [`Store::watch`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted, WatchOptions};
    /// use std::time::Duration;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Config { level: u8 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let store = AsyncStore::<Config>::open(dir.path().join("config.json")).await?;
    /// let opts = WatchOptions::new().debounce(Duration::from_millis(50));
    /// let mut watch = store.watch_with(opts).await?;
    /// store.update(|c| c.level = 1).await?;
    /// assert_eq!(watch.recv().await.expect("watching")?.value.level, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn watch_with(&self, options: WatchOptions) -> Result<AsyncWatch<T>> {
        let store = self.store.clone();
        blocking(self.store.path(), move || {
            let (tx, items) = mpsc::unbounded_channel();
            let latest = Latest::new();
            let running = store.start_watch(
                &options,
                latest.clone(),
                Box::new(move |item| tx.send(item).is_ok()),
            )?;
            Ok(AsyncWatch {
                items,
                latest,
                _running: running,
            })
        })
        .await?
    }
}

/// A running watch of a store, for async code: from [`AsyncStore::watch`].
/// Items as [`Watch`](crate::Watch)'s. Dropping it stops the watch and
/// its thread (the drop waits for that thread to end, which takes at most
/// the load in progress).
///
/// # Examples
///
/// See [`AsyncStore::watch`].
pub struct AsyncWatch<T> {
    items: mpsc::UnboundedReceiver<Result<Change<T>>>,
    latest: Latest<T>,
    _running: Running,
}

impl<T> fmt::Debug for AsyncWatch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncWatch").finish_non_exhaustive()
    }
}

impl<T> AsyncWatch<T> {
    /// The next item, when it comes (cancel-safe: dropping the future
    /// loses no item). `None` only when the watch has stopped.
    ///
    /// # Examples
    ///
    /// See [`AsyncStore::watch`].
    pub async fn recv(&mut self) -> Option<Result<Change<T>>> {
        self.items.recv().await
    }

    /// The last good value the watch has seen, as
    /// [`Watch::latest`](crate::Watch::latest).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{AsyncStore, Persisted};
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Clone, Default, Serialize, Deserialize, Persisted)]
    /// # #[persisted(format = "json")]
    /// # struct Config { level: u8 }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir()?;
    /// let store = AsyncStore::<Config>::open(dir.path().join("config.json")).await?;
    /// let watch = store.watch().await?;
    /// assert_eq!(watch.latest().map(|c| c.level), Some(0)); // the default
    /// # Ok(())
    /// # }
    /// ```
    pub fn latest(&self) -> Option<Arc<T>> {
        self.latest.get()
    }
}
