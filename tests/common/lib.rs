//! Shared fixtures for the safeatomic integration tests.

use std::path::Path;

/// A fresh temporary directory on the machine's disk (or under
/// `SAFEATOMIC_TEST_DIR` when set, so the suite can run on any filesystem).
pub fn tempdir() -> tempfile::TempDir {
    match std::env::var_os("SAFEATOMIC_TEST_DIR") {
        Some(base) => {
            tempfile::tempdir_in(base).expect("create temp dir under SAFEATOMIC_TEST_DIR")
        }
        None => tempfile::tempdir().expect("create temp dir"),
    }
}

/// Names in `dir` that a finished write must not leave behind.
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("list dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.starts_with(".safeatomic-tmp-") || n.starts_with(".safeatomic-doctor-"))
        .collect()
}

/// Asserts that no temp or probe file remains in `dir`.
#[track_caller]
pub fn no_leftovers(dir: &Path) {
    let left = leftovers(dir);
    assert!(left.is_empty(), "left in {}: {left:?}", dir.display());
}

pub mod child;
pub mod killops;
pub mod mounts;
pub mod rng;
pub mod torture;
pub mod types;
