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
