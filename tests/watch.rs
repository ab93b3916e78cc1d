//! `Store::watch`: a watcher sees every writer's changes (another process,
//! an editor's rename save, `sed -i`, a delete and re-create), only through
//! the store's load path (an invalid edit and a checksum mismatch are error
//! items, then the watch recovers), nothing for a write that changes
//! nothing, and leaves no thread behind.

use common::types::{CheckedCounter, JsonCounter};
use common::{sa_child, tempdir};
use safeatomic::{Change, ErrorKind, Origin, Store, Watch, write_atomic};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::RwLock;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long a change may take to arrive before a test fails: generous, the
/// machine may be loaded (the latency itself is a benchmark).
const ARRIVAL: Duration = Duration::from_secs(10);

/// How long a test waits to be sure that nothing arrives.
const QUIET: Duration = Duration::from_millis(400);

/// Every test that runs a watcher holds this for reading; the thread count
/// test holds it for writing, so no other watcher's threads come and go
/// while it counts.
static WATCHERS: RwLock<()> = RwLock::new(());

fn watchers() -> std::sync::RwLockReadGuard<'static, ()> {
    WATCHERS
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The next item, which must come within [`ARRIVAL`].
#[track_caller]
fn next<T>(watch: &Watch<T>) -> safeatomic::Result<Change<T>> {
    watch
        .recv_timeout(ARRIVAL)
        .unwrap_or_else(|| panic!("no item within {ARRIVAL:?}"))
}

/// The next item, which must be a value.
#[track_caller]
fn next_value<T: std::fmt::Debug>(watch: &Watch<T>) -> Change<T> {
    next(watch).unwrap_or_else(|e| panic!("an error item: {e}"))
}

/// A counter store under watch, with its directory; holds [`WATCHERS`]
/// for reading. Dropped in field order: the watch first.
struct Watched {
    watch: Watch<JsonCounter>,
    store: Store<JsonCounter>,
    path: PathBuf,
    dir: TempDir,
    _watchers: std::sync::RwLockReadGuard<'static, ()>,
}

/// A fresh directory with a counter store `name` (holding `n`, if given)
/// and a watch of it.
fn watched(name: &str, n: Option<u64>) -> Watched {
    let watchers = watchers();
    let dir = tempdir();
    let path = dir.path().join(name);
    let store = Store::<JsonCounter>::open(&path).unwrap();
    if let Some(n) = n {
        store.update(|c| c.n = n).unwrap();
    }
    Watched {
        watch: store.watch().unwrap(),
        store,
        path,
        dir,
        _watchers: watchers,
    }
}

#[track_caller]
fn assert_quiet<T: std::fmt::Debug>(watch: &Watch<T>) {
    if let Some(item) = watch.recv_timeout(QUIET) {
        panic!("nothing should have been delivered, got {item:?}");
    }
}

fn sh(script: &str, dir: &Path) {
    let status = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .status()
        .unwrap();
    assert!(status.success(), "{script}: {status}");
}

#[test]
fn another_process_s_500_updates_arrive_in_order_and_the_last_is_exact() {
    let t = watched("counter.json", None);
    let mut child = sa_child!()
        .args(["store-increment", "json"])
        .arg(&t.path)
        .arg("500")
        .spawn()
        .unwrap();
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.last() != Some(&500) {
        assert!(Instant::now() < deadline, "only saw {seen:?}");
        let change = next_value(&t.watch);
        assert_eq!(change.origin, Origin::Elsewhere);
        seen.push(change.value.n);
    }
    assert!(child.wait().unwrap().success());
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "values must only grow: {seen:?}"
    );
    assert_quiet(&t.watch);
    eprintln!("{} items for 500 updates", seen.len());
}

#[test]
fn this_process_s_updates_are_delivered_as_its_own() {
    let _w = watchers();
    let d = tempdir();
    let store = Store::<JsonCounter>::open(d.path().join("counter.json")).unwrap();
    let watch = store.watch().unwrap();
    // Another store of the same file in this process counts as this process.
    let other = Store::<JsonCounter>::open(store.path()).unwrap();
    other.update(|c| c.n = 7).unwrap();
    let change = next_value(&watch);
    assert_eq!((change.value.n, change.origin), (7, Origin::ThisProcess));
    assert_eq!(watch.latest().map(|c| c.n), Some(7));
}

#[test]
fn an_editor_s_rename_save_is_seen() {
    let t = watched("config.json", Some(1));
    // As vim does with `backupcopy=no`: write a new file, rename it over.
    sh(
        "printf '{\"n\": 2}\\n' > .config.json.swp && mv .config.json.swp config.json",
        t.dir.path(),
    );
    let change = next_value(&t.watch);
    assert_eq!((change.value.n, change.origin), (2, Origin::Elsewhere));
    // And once more: the watch survives the file's replacement.
    sh(
        "printf '{\"n\": 3}\\n' > .config.json.swp && mv .config.json.swp config.json",
        t.dir.path(),
    );
    assert_eq!(next_value(&t.watch).value.n, 3);
}

#[test]
fn sed_in_place_is_seen() {
    let t = watched("config.json", Some(41));
    sh("sed -i 's/41/42/' config.json", t.dir.path());
    assert_eq!(next_value(&t.watch).value.n, 42);
}

#[test]
fn a_write_in_place_is_seen() {
    let t = watched("config.json", Some(1));
    fs::write(&t.path, "{\"n\": 5}").unwrap(); // truncate and write, same inode
    // A reader can catch the file between the truncation and the write
    // (on a loaded machine, longer apart than the debounce): that is an
    // error item, never a torn value; the value follows.
    loop {
        match next(&t.watch) {
            Ok(change) => break assert_eq!(change.value.n, 5),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Format, "{e}"),
        }
    }
}

#[test]
fn a_delete_and_a_re_create_are_seen() {
    let t = watched("counter.json", Some(9));
    fs::remove_file(&t.path).unwrap();
    assert_eq!(next_value(&t.watch).value.n, 0, "absent: the default");
    write_atomic(&t.path, "{\"n\": 10}").unwrap();
    let change = next_value(&t.watch);
    assert_eq!((change.value.n, change.origin), (10, Origin::Elsewhere));
}

#[test]
fn an_invalid_edit_is_an_error_item_then_the_next_valid_edit_is_delivered() {
    let t = watched("config.json", Some(1));
    write_atomic(&t.path, "{\"n\": ").unwrap();
    let err = next(&t.watch).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Format, "{err}");
    assert_eq!(
        t.watch.latest().map(|c| c.n),
        Some(1),
        "the last good value"
    );
    assert_quiet(&t.watch); // one error, once
    // Back to the value it had: delivered, it ends the error.
    write_atomic(&t.path, "{\"n\": 1}").unwrap();
    assert_eq!(next_value(&t.watch).value.n, 1);
    write_atomic(&t.path, "{\"n\": 2}").unwrap();
    assert_eq!(next_value(&t.watch).value.n, 2);
}

#[test]
fn a_checksum_mismatch_is_an_error_item() {
    let _w = watchers();
    let d = tempdir();
    let path = d.path().join("checked.json");
    let store = Store::<CheckedCounter>::open(&path).unwrap();
    store.update(|c| c.n = 1).unwrap();
    let watch = store.watch().unwrap();
    // Rewritten without its sidecar: the sidecar no longer matches.
    write_atomic(&path, "{\"n\": 666}").unwrap();
    let err = next(&watch).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ChecksumMismatch, "{err}");
    assert_eq!(watch.latest().map(|c| c.n), Some(1));
    // A verified update repairs it (replace rewrites a file it cannot verify).
    store.replace(CheckedCounter { n: 2 }).unwrap();
    let change = next_value(&watch);
    assert_eq!((change.value.n, change.origin), (2, Origin::ThisProcess));
}

#[test]
fn a_write_that_changes_nothing_delivers_nothing() {
    let t = watched("counter.json", Some(3));
    t.store.update(|c| c.n = 3).unwrap(); // writes nothing
    // Rewrites of the same value, from elsewhere: new files, same value.
    write_atomic(&t.path, fs::read(&t.path).unwrap()).unwrap();
    write_atomic(&t.path, "{ \"n\" : 3 }").unwrap();
    sh("touch counter.json", t.dir.path());
    assert_quiet(&t.watch);
    // The watch is alive: a change still arrives.
    t.store.update(|c| c.n = 4).unwrap();
    assert_eq!(next_value(&t.watch).value.n, 4);
}

#[test]
fn neighbours_of_the_file_deliver_nothing() {
    let t = watched("counter.json", None);
    let neighbour = Store::<JsonCounter>::open(t.dir.path().join("other.json")).unwrap();
    neighbour.update(|c| c.n = 1).unwrap();
    write_atomic(t.dir.path().join("counter.json.bak"), "{\"n\": 5}").unwrap();
    assert_quiet(&t.watch);
}

/// The threads of this process that watches run: notify's inotify and
/// debouncer threads and the store's worker (by their names; the test
/// harness's own threads come and go meanwhile).
fn watch_threads() -> usize {
    fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|comm| comm.starts_with("notify-rs") || comm.starts_with("safeatomic-watc"))
        .count()
}

#[test]
fn dropping_the_watch_leaves_no_thread() {
    let _all = WATCHERS
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let d = tempdir();
    let store = Store::<JsonCounter>::open(d.path().join("counter.json")).unwrap();
    let watch = store.watch().unwrap();
    store.update(|c| c.n = 1).unwrap();
    assert_eq!(next_value(&watch).value.n, 1);
    assert!(watch_threads() >= 3, "a watch runs three threads");
    drop(watch);
    // notify's threads end moments after their shutdown message (and
    // those of the watches of tests that ran before this one, too).
    let deadline = Instant::now() + Duration::from_secs(10);
    while watch_threads() > 0 {
        assert!(
            Instant::now() < deadline,
            "{} threads left running after the drop",
            watch_threads()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
