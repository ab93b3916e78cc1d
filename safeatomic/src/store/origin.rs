//! Which versions of store files this process committed: how a watcher
//! tells its own process's writes from everyone else's.
//!
//! A commit publishes a new inode, so a [`Version`] (device, inode, size,
//! times) names one commit; the watcher looks up the version it loaded.

use crate::identity::Version;
use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// How many recent commits are remembered, across all stores of the
/// process. A watcher looks a version up moments after it was written; a
/// process that commits more than this many times in that moment sees its
/// oldest ones reported as [`Elsewhere`](super::watch::Origin::Elsewhere).
const REMEMBERED: usize = 1024;

static WRITTEN: Mutex<VecDeque<Version>> = Mutex::new(VecDeque::new());

/// Records that this process committed `version`.
pub(super) fn wrote(version: Version) {
    let mut written = WRITTEN.lock().unwrap_or_else(PoisonError::into_inner);
    if written.len() == REMEMBERED {
        written.pop_front();
    }
    written.push_back(version);
}

/// Whether this process committed `version` (recently).
pub(super) fn by_this_process(version: Version) -> bool {
    WRITTEN
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&version)
}
