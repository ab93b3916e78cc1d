//! Which file, and which version of it: the two ways the library compares
//! `stat`s (one type each, instead of ad-hoc tuples).

use crate::sys::Stat;

/// A file, whatever its content: device and inode, as the kernel names it.
/// A rename moves a name to another `FileId`; a write keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[allow(clippy::unnecessary_cast)] // field widths differ between targets
    pub(crate) fn of(st: &Stat) -> Self {
        Self {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }
}

/// A version of a file: its [`FileId`] and what any write changes (size,
/// modification and status-change time). Two equal versions are the same
/// bytes, as far as `stat` can tell (the one limit: an in-place rewrite of
/// the same size within one timestamp tick, see `docs/store.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Version {
    id: FileId,
    size: i64,
    mtime: (i64, u64),
    ctime: (i64, u64),
}

impl Version {
    #[allow(clippy::unnecessary_cast)] // field widths differ between targets
    pub(crate) fn of(st: &Stat) -> Self {
        Self {
            id: FileId::of(st),
            size: st.st_size as i64,
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as u64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as u64),
        }
    }
}

// What this process's stores published, for a watcher of a store to
// tell this process's commits from everyone else's writes
// (`store::watch`, decision 0014): the versions they published, most
// recent last, and the files of commits under way.

/// How many published versions are remembered. A watcher looks a
/// version up moments after it was published.
#[cfg(feature = "watch")]
const REMEMBERED: usize = 1024;

/// How long a watcher waits for a commit under way to say what it
/// published.
#[cfg(feature = "watch")]
const PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// The record (see above).
#[cfg(feature = "watch")]
#[derive(Default)]
struct Written {
    published: std::collections::VecDeque<Version>,
    /// Temp files of commits under way: while one exists no other file
    /// can have its inode, so a file found with it is that commit's.
    under_way: Vec<FileId>,
}

#[cfg(feature = "watch")]
static WRITTEN: std::sync::Mutex<Option<Written>> = std::sync::Mutex::new(None);
#[cfg(feature = "watch")]
static CHANGED: std::sync::Condvar = std::sync::Condvar::new();

#[cfg(feature = "watch")]
fn written() -> std::sync::MutexGuard<'static, Option<Written>> {
    WRITTEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A store's commit created its temp file `id`, to publish it.
#[cfg(feature = "watch")]
pub(crate) fn created(id: FileId) {
    written()
        .get_or_insert_with(Written::default)
        .under_way
        .push(id);
}

/// The commit whose temp file was `id` is over: it published
/// `version`, or nothing (`None`).
#[cfg(feature = "watch")]
pub(crate) fn finished(id: FileId, version: Option<Version>) {
    let mut w = written();
    let w = w.get_or_insert_with(Written::default);
    if let Some(at) = w.under_way.iter().position(|u| *u == id) {
        w.under_way.swap_remove(at);
    }
    if let Some(version) = version {
        if w.published.len() == REMEMBERED {
            w.published.pop_front();
        }
        w.published.push_back(version);
    }
    CHANGED.notify_all();
}

/// Whether a store of this process published `version` (recently). A
/// file of a commit still under way is waited for.
#[cfg(feature = "watch")]
pub(crate) fn written_here(version: Version) -> bool {
    let deadline = std::time::Instant::now() + PATIENCE;
    let mut w = written();
    loop {
        let Some(state) = w.as_ref() else {
            return false;
        };
        if state.published.contains(&version) {
            return true;
        }
        let now = std::time::Instant::now();
        if !state.under_way.contains(&version.id) || now >= deadline {
            return false;
        }
        w = CHANGED
            .wait_timeout(w, deadline - now)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
    }
}
