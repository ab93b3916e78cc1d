//! Shared fixtures for the safeatomic integration tests.

use std::path::Path;

/// The prefix of the library's temp files, `.safeatomic-tmp-<16 hex>.tmp`
/// (part of its on-disk contract: a crashed writer's litter must stay
/// recognisable).
pub const TEMP_PREFIX: &str = ".safeatomic-tmp-";

/// The prefix of the doctor's probe files and run markers,
/// `.safeatomic-doctor-<16 hex>[-<probe>]`.
pub const PROBE_PREFIX: &str = ".safeatomic-doctor-";

/// A temp file name of the library's form for `n`.
pub fn temp_name(n: u64) -> String {
    format!("{TEMP_PREFIX}{n:016x}.tmp")
}

/// The name of doctor run `id`'s marker (`suffix` empty) or of one of its
/// probe files (`suffix` like `-replace`).
pub fn probe_name(id: &str, suffix: &str) -> String {
    format!("{PROBE_PREFIX}{id}{suffix}")
}

/// A command running this package's `sa-child` test helper (the binary
/// path is known only where the macro is expanded: in a test of this
/// package).
#[macro_export]
macro_rules! sa_child {
    () => {
        ::std::process::Command::new(env!("CARGO_BIN_EXE_sa-child"))
    };
}

/// `write_atomic(path, data)` as the first write of a process in its
/// directory, which removes dead writers' temp files there: run in a new
/// fault-injection recording, which starts with no directory swept, as a
/// new process does (`sa-child write` is the real thing, in a child).
pub fn sweeping_write(path: &std::path::Path, data: &[u8]) -> safeatomic::Result<()> {
    safeatomic::fault::record(|| safeatomic::write_atomic(path, data)).0
}

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
        .filter(|n| n.starts_with(TEMP_PREFIX) || n.starts_with(PROBE_PREFIX))
        .collect()
}

/// Every entry of `dir` (sorted) with its content (a link's target, nothing
/// for what is neither file nor link), for "nothing changed" checks.
pub fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    use std::os::unix::ffi::OsStrExt;
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("list {}: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("dir entry").path();
            let meta = std::fs::symlink_metadata(&p).expect("metadata");
            let content = if meta.file_type().is_symlink() {
                std::fs::read_link(&p)
                    .expect("read link")
                    .as_os_str()
                    .as_bytes()
                    .to_vec()
            } else if meta.is_file() {
                std::fs::read(&p).expect("read file")
            } else {
                Vec::new()
            };
            (p, content)
        })
        .collect();
    out.sort();
    out
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
pub mod neighbours;
pub mod rng;
pub mod torture;
pub mod types;
