//! `Store<T>` with derived types: no lost updates across processes and
//! threads in every format, closures that panic or fail write nothing,
//! validation, external edits, corruption errors and the recovery policy.

use common::child::ChildGuard;
use common::types::{
    CheckedCounter, JsonCounter, Limited, NoDefault, RonCounter, TomlCounter, YamlCounter,
};
use common::{leftovers, no_leftovers, tempdir};
use safeatomic::{
    Algorithm, CorruptPolicy, ErrorKind, Format, Persisted, Store, StoreOptions, fault, is_locked,
};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn child() -> Command {
    common::sa_child!()
}

fn run_children(specs: &[(&str, &Path, u64)]) {
    let mut children: Vec<ChildGuard> = specs
        .iter()
        .map(|(format, path, n)| {
            ChildGuard::spawn(
                child()
                    .arg("store-increment")
                    .arg(format)
                    .arg(path)
                    .arg(n.to_string()),
            )
        })
        .collect();
    for c in &mut children {
        let status = c.wait_timeout(Duration::from_secs(300));
        assert!(status.success(), "store-increment child failed: {status}");
    }
}

#[test]
fn the_derive_declares_format_checksum_and_default() {
    assert_eq!(JsonCounter::FORMAT, Format::Json);
    assert_eq!(YamlCounter::FORMAT, Format::Yaml);
    assert_eq!(TomlCounter::FORMAT, Format::Toml);
    assert_eq!(RonCounter::FORMAT, Format::Ron);
    assert_eq!(JsonCounter::CHECKSUM, None);
    assert_eq!(CheckedCounter::CHECKSUM, Some(Algorithm::Sha256));
    assert_eq!(NoDefault::CHECKSUM, Some(Algorithm::Sha512));
    assert_eq!(JsonCounter::default_value(), Some(JsonCounter { n: 0 }));
    assert_eq!(NoDefault::default_value(), None);
    assert!(Limited { n: 11 }.validate().is_err());
}

#[test]
fn eight_processes_times_250_updates_of_a_json_struct_end_at_2000() {
    let d = tempdir();
    let path = d.path().join("counter.json");
    let specs: Vec<_> = (0..8).map(|_| ("json", path.as_path(), 250)).collect();
    run_children(&specs);
    assert_eq!(
        Store::<JsonCounter>::open(&path).unwrap().load().unwrap().n,
        2000
    );
    no_leftovers(d.path());
    assert!(!is_locked(&path).unwrap());
}

#[test]
fn eight_processes_on_the_four_formats_lose_no_update() {
    let d = tempdir();
    let formats = ["json", "yaml", "toml", "ron"];
    let paths: Vec<_> = formats
        .iter()
        .map(|f| d.path().join(format!("counter.{f}")))
        .collect();
    // Two processes per file, all eight running at once.
    let specs: Vec<_> = formats
        .iter()
        .zip(&paths)
        .flat_map(|(f, p)| [(*f, p.as_path(), 250), (*f, p.as_path(), 250)])
        .collect();
    assert_eq!(specs.len(), 8);
    run_children(&specs);
    let counts = [
        Store::<JsonCounter>::open(&paths[0])
            .unwrap()
            .load()
            .unwrap()
            .n,
        Store::<YamlCounter>::open(&paths[1])
            .unwrap()
            .load()
            .unwrap()
            .n,
        Store::<TomlCounter>::open(&paths[2])
            .unwrap()
            .load()
            .unwrap()
            .n,
        Store::<RonCounter>::open(&paths[3])
            .unwrap()
            .load()
            .unwrap()
            .n,
    ];
    assert_eq!(counts, [500; 4], "json, yaml, toml, ron");
    assert_eq!(counts.iter().sum::<u64>(), 2000);
    // Each file is plain text in its format, as the format's own crate reads it.
    let text = |i: usize| fs::read_to_string(&paths[i]).unwrap();
    assert_eq!(
        serde_json::from_str::<JsonCounter>(&text(0)).unwrap().n,
        500
    );
    assert_eq!(
        serde_saphyr::from_str::<YamlCounter>(&text(1)).unwrap().n,
        500
    );
    assert_eq!(toml::from_str::<TomlCounter>(&text(2)).unwrap().n, 500);
    assert_eq!(ron::from_str::<RonCounter>(&text(3)).unwrap().n, 500);
    for p in &paths {
        assert!(!is_locked(p).unwrap(), "{}", p.display());
    }
    no_leftovers(d.path());
}

#[test]
fn two_processes_on_a_checksummed_store_lose_no_update_and_keep_the_sidecar_valid() {
    let d = tempdir();
    let path = d.path().join("counter.checked");
    run_children(&[
        ("checked", path.as_path(), 100),
        ("checked", path.as_path(), 100),
    ]);
    assert_eq!(
        Store::<CheckedCounter>::open(&path)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    assert!(safeatomic::verify_checksum(&path).unwrap());
    no_leftovers(d.path());
}

#[test]
fn sixteen_threads_sharing_a_store_lose_no_update() {
    let d = tempdir();
    let store = Store::<JsonCounter>::open(d.path().join("c.json")).unwrap();
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..125 {
                    store.update(|c| c.n += 1).unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(store.load().unwrap().n, 2000);
    // A fresh store (no shared cache) reads the same.
    assert_eq!(
        Store::<JsonCounter>::open(store.path())
            .unwrap()
            .load()
            .unwrap()
            .n,
        2000
    );
}

/// The names of the OS calls `f` makes on this thread, and its result.
fn calls<R>(f: impl FnOnce() -> R) -> (R, Vec<&'static str>) {
    let (r, trace) = fault::record(f);
    (r, trace.names())
}

fn count(names: &[&str], name: &str) -> usize {
    names.iter().filter(|n| **n == name).count()
}

/// The reads of file content (`read`, and `pread` from a file's start).
fn reads(names: &[&str]) -> usize {
    count(names, "read") + count(names, "pread")
}

/// A cache hit: the file's identity is taken with one stat call, and
/// nothing is opened or read.
#[track_caller]
fn assert_cache_hit(names: &[&str], what: &str) {
    assert!(
        !names.is_empty() && names.iter().all(|n| matches!(*n, "fstatat" | "statx")),
        "{what}: a cache hit is one stat-class call, made {names:?}"
    );
}

/// A read of the data file: opened and read.
#[track_caller]
fn assert_reads(names: &[&str], what: &str) {
    assert!(
        count(names, "openat") >= 1 && reads(names) >= 1,
        "{what}: the file must be re-read, made {names:?}"
    );
}

/// Sets the modification time of `p` (which also moves its change time).
fn set_mtime(p: &Path, t: std::time::SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// The change time of `p`, which no program can set.
fn ctime(p: &Path) -> (i64, i64) {
    let m = fs::metadata(p).unwrap();
    (m.ctime(), m.ctime_nsec())
}

/// Warms the per-process caches (umask, the filesystem of the directory)
/// and the store's own, so later traces show only the store's work.
fn warm(store: &Store<JsonCounter>) {
    store.update(|c| c.n += 1).unwrap();
    store.update(|c| c.n += 1).unwrap();
    store.load().unwrap();
}

#[test]
fn the_cache_rereads_the_file_only_when_its_identity_changed() {
    let d = tempdir();
    let p = d.path().join("c.json");
    let store = Store::<JsonCounter>::open(&p).unwrap();
    warm(&store);
    store.replace(JsonCounter { n: 10 }).unwrap();

    // Unchanged file: load and load_shared are one stat call.
    let (v, names) = calls(|| store.load().unwrap());
    assert_eq!(v.n, 10);
    assert_cache_hit(&names, "load, unchanged");
    let (v, names) = calls(|| store.load_shared().unwrap());
    assert_eq!(v.n, 10);
    assert_cache_hit(&names, "load_shared, unchanged");

    // An update of an unchanged file does not read it (it still locks,
    // writes and renames, which open other files).
    let (_, hit) = calls(|| store.update(|c| c.n += 1).unwrap());
    assert_eq!(reads(&hit), 0, "update, unchanged: {hit:?}");
    // The same update by a store with no cached copy does read it: one
    // more directory and the file itself opened, and read.
    let fresh = Store::<JsonCounter>::open(&p).unwrap();
    let (_, miss) = calls(|| fresh.update(|c| c.n += 1).unwrap());
    assert_reads(&miss, "update, no cached copy");
    assert!(
        count(&miss, "openat") > count(&hit, "openat"),
        "hit {hit:?}\nmiss {miss:?}"
    );
    // `fresh` wrote: for `store` the file changed.
    let (v, names) = calls(|| store.load().unwrap());
    assert_eq!(v.n, 12);
    assert_reads(&names, "load after another store's update");
    let (_, names) = calls(|| store.load().unwrap());
    assert_cache_hit(&names, "load, unchanged again");

    // Replaced through another path by content of the same size, with the
    // same modification time: a new inode (and change time).
    let mtime = fs::metadata(&p).unwrap().modified().unwrap();
    let other = d.path().join("other");
    fs::write(&other, fs::read_to_string(&p).unwrap().replace("12", "34")).unwrap();
    set_mtime(&other, mtime);
    assert_eq!(
        fs::metadata(&other).unwrap().len(),
        fs::metadata(&p).unwrap().len()
    );
    fs::rename(&other, &p).unwrap();
    let (v, names) = calls(|| store.load().unwrap());
    assert_eq!(v.n, 34, "the replaced file's value");
    assert_reads(&names, "load after a same-size replace");
    let (_, names) = calls(|| store.load().unwrap());
    assert_cache_hit(&names, "load after re-reading");

    // Rewritten in place (same inode, same size), its modification time
    // set explicitly: seen even if the rewrite fell within one tick of the
    // filesystem's clock.
    fs::write(&p, fs::read_to_string(&p).unwrap().replace("34", "56")).unwrap();
    set_mtime(&p, mtime - Duration::from_secs(3600));
    let (v, names) = calls(|| store.update(|c| c.n).unwrap());
    assert_eq!(v, 56, "update sees the in-place rewrite");
    assert_reads(&names, "update after an in-place rewrite");

    // Rewritten in place with the same size and the modification time put
    // back (as `cp -p` or `rsync -t` do): only the change time tells.
    let id = |p: &Path| {
        let m = fs::metadata(p).unwrap();
        (m.ino(), m.len(), m.modified().unwrap())
    };
    let before = id(&p);
    let ctime_before = ctime(&p);
    fs::write(&p, fs::read_to_string(&p).unwrap().replace("56", "78")).unwrap();
    set_mtime(&p, before.2);
    // A filesystem with a coarse clock may leave the change time equal
    // within one tick: touch again until it moves.
    for _ in 0..200 {
        if ctime(&p) != ctime_before {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
        set_mtime(&p, before.2);
    }
    assert_ne!(ctime(&p), ctime_before);
    assert_eq!(id(&p), before, "same inode, size and modification time");
    let (v, names) = calls(|| store.load().unwrap());
    assert_eq!(
        v.n, 78,
        "load sees a rewrite that kept the modification time"
    );
    assert_reads(
        &names,
        "load after a rewrite that kept the modification time",
    );

    // Only touched: same content, inode and size, another modification time.
    let (_, names) = calls(|| store.load().unwrap());
    assert_cache_hit(&names, "load after the update");
    let now = fs::metadata(&p).unwrap().modified().unwrap();
    set_mtime(&p, now + Duration::from_secs(1));
    let (v, names) = calls(|| store.load().unwrap());
    assert_eq!(v.n, 78);
    assert_reads(&names, "load after touching the file");
    let (_, names) = calls(|| store.update(|c| c.n += 1).unwrap());
    assert_eq!(reads(&names), 0, "update after re-reading: {names:?}");
}

#[test]
fn clones_share_one_cache_and_separate_stores_see_each_others_writes() {
    let d = tempdir();
    let p = d.path().join("c.json");
    let a = Store::<JsonCounter>::open(&p).unwrap();
    warm(&a);
    let b = a.clone();
    let other = Store::<JsonCounter>::open(&p).unwrap();
    a.update(|c| c.n = 5).unwrap();
    // A clone uses the copy `a`'s update cached: no read.
    let (v, names) = calls(|| b.load().unwrap());
    assert_eq!(v.n, 5);
    assert_cache_hit(&names, "clone's load after a's update");
    // A separate store has its own cache, still empty: it reads.
    let (v, names) = calls(|| other.load().unwrap());
    assert_eq!(v.n, 5);
    assert_reads(&names, "separate store's first load");

    other.update(|c| c.n += 1).unwrap();
    // `a` loads the other store's write; its clone then needs no read.
    let (v, names) = calls(|| a.load().unwrap());
    assert_eq!(v.n, 6, "a's cache must notice the other store's write");
    assert_reads(&names, "a's load after the other store's write");
    let (v, names) = calls(|| b.load().unwrap());
    assert_eq!(v.n, 6);
    assert_cache_hit(&names, "clone's load after a's load");
    // And the clone's update needs no read either.
    let (r, names) = calls(|| b.update(|c| c.n).unwrap());
    assert_eq!(r, 6);
    assert_eq!(reads(&names), 0, "clone's update: {names:?}");
    // Clones made later share it too.
    let (_, names) = calls(|| b.clone().load().unwrap());
    assert_cache_hit(&names, "a later clone's load");
}

#[test]
fn a_panicking_closure_writes_nothing_and_leaves_the_store_usable() {
    let d = tempdir();
    let p = d.path().join("c.json");
    let store = Store::<JsonCounter>::open(&p).unwrap();
    store.update(|c| c.n = 7).unwrap();
    let before = fs::read(&p).unwrap();
    let s2 = store.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        s2.update(|c| {
            c.n = 999;
            panic!("closure failed");
        })
    }));
    assert!(r.is_err());
    assert_eq!(fs::read(&p).unwrap(), before);
    assert!(!is_locked(&p).unwrap(), "the lock is released by unwinding");
    assert!(leftovers(d.path()).is_empty());
    assert_eq!(
        store.load().unwrap().n,
        7,
        "the cache did not see the closure's change"
    );
    store.update(|c| c.n += 1).unwrap();
    assert_eq!(store.load().unwrap().n, 8);
}

#[derive(Debug, PartialEq)]
enum AppError {
    Refused(&'static str),
    Store(ErrorKind),
}

impl From<safeatomic::Error> for AppError {
    fn from(e: safeatomic::Error) -> Self {
        AppError::Store(e.kind())
    }
}

#[test]
fn a_failing_try_update_writes_nothing_and_returns_the_callers_error() {
    let d = tempdir();
    let p = d.path().join("c.json");
    let store = Store::<JsonCounter>::open(&p).unwrap();
    store.update(|c| c.n = 3).unwrap();
    let before = fs::read(&p).unwrap();
    let r: Result<(), AppError> = store.try_update(|c| {
        c.n = 100;
        Err(AppError::Refused("no"))
    });
    assert_eq!(r, Err(AppError::Refused("no")));
    assert_eq!(fs::read(&p).unwrap(), before);
    assert_eq!(store.load().unwrap().n, 3);
    let ok: Result<u64, AppError> = store.try_update(|c| {
        c.n += 1;
        Ok(c.n)
    });
    assert_eq!(ok, Ok(4));
    no_leftovers(d.path());
}

#[test]
fn a_failing_validation_hook_writes_nothing() {
    let d = tempdir();
    let p = d.path().join("l.json");
    let store = Store::<Limited>::open(&p).unwrap();
    store.update(|l| l.n = 10).unwrap();
    let before = fs::read(&p).unwrap();
    let e = store.update(|l| l.n = 11).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Validation);
    assert!(e.to_string().contains("more than 10"), "{e}");
    assert_eq!(fs::read(&p).unwrap(), before);
    assert_eq!(
        store.replace(Limited { n: 12 }).unwrap_err().kind(),
        ErrorKind::Validation
    );
    assert_eq!(store.load().unwrap().n, 10);
    assert!(!is_locked(&p).unwrap());
    no_leftovers(d.path());
}

#[test]
fn an_external_edit_is_seen_by_the_next_load_and_update() {
    let d = tempdir();
    let p = d.path().join("c.toml");
    let store = Store::<TomlCounter>::open(&p).unwrap();
    store.update(|c| c.n = 1).unwrap();
    assert_eq!(store.load().unwrap().n, 1);
    // Another program rewrites the file in place (same inode, same size).
    fs::write(&p, "n = 2\n").unwrap();
    assert_eq!(store.load().unwrap().n, 2);
    // And replaces it.
    fs::write(d.path().join("new"), "n = 30\n").unwrap();
    fs::rename(d.path().join("new"), &p).unwrap();
    assert_eq!(store.update(|c| c.n).unwrap(), 30);
}

#[test]
fn a_missing_file_is_the_default_or_not_found() {
    let d = tempdir();
    let with_default = Store::<YamlCounter>::open(d.path().join("a.yaml")).unwrap();
    assert_eq!(with_default.load().unwrap(), YamlCounter { n: 0 });
    let without = Store::<NoDefault>::open(d.path().join("b.toml")).unwrap();
    assert_eq!(without.load().unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        without.update(|v| v.name.clear()).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    without.replace(NoDefault { name: "x".into() }).unwrap();
    assert_eq!(without.load().unwrap().name, "x");
    assert!(safeatomic::verify_checksum(without.path()).unwrap());
    assert_eq!(
        safeatomic::checksum_info(without.path()).unwrap().algorithm,
        Algorithm::Sha512
    );
}

#[test]
fn open_fails_clearly_on_a_missing_directory() {
    let d = tempdir();
    let e = Store::<JsonCounter>::open(d.path().join("nope/c.json")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(
        Store::<JsonCounter>::open("").unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

/// Corrupt content per format: the typed error with line and column by
/// default (file untouched), or, opted in, the file moved aside intact and
/// the default in its place.
#[test]
fn corrupt_files_are_errors_or_moved_aside_never_discarded() {
    let d = tempdir();
    let cases: Vec<(&str, &str)> = vec![
        ("json", "{\n  \"n\": seven\n}\n"),
        ("yaml", "n:\n  - [unclosed\n"),
        ("toml", "n = 1\nn = 2\n"),
        ("ron", "(n: -)\n"),
    ];
    for (ext, bad) in cases {
        let p = d.path().join(format!("c.{ext}"));
        fs::write(&p, bad).unwrap();
        let load = |opts: StoreOptions| -> safeatomic::Result<u64> {
            match ext {
                "json" => Store::<JsonCounter>::open_with(&p, opts)?
                    .load()
                    .map(|c| c.n),
                "yaml" => Store::<YamlCounter>::open_with(&p, opts)?
                    .load()
                    .map(|c| c.n),
                "toml" => Store::<TomlCounter>::open_with(&p, opts)?
                    .load()
                    .map(|c| c.n),
                _ => Store::<RonCounter>::open_with(&p, opts)?
                    .load()
                    .map(|c| c.n),
            }
        };
        let e = load(StoreOptions::new()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Format, "{ext}: {e}");
        assert!(e.location().is_some(), "{ext}: no line/column in {e}");
        assert_eq!(e.path(), p);
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            bad,
            "{ext}: the file was touched"
        );

        let n = load(StoreOptions::new().on_corrupt(CorruptPolicy::MoveAside)).unwrap();
        assert_eq!(n, 0, "{ext}: the default");
        assert!(!p.exists(), "{ext}: the bad file is moved away");
        let aside: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|x| x.to_string_lossy().contains(&format!("c.{ext}.corrupt-")))
            .collect();
        assert_eq!(aside.len(), 1, "{ext}: {aside:?}");
        assert_eq!(
            fs::read_to_string(&aside[0]).unwrap(),
            bad,
            "{ext}: preserved byte for byte"
        );
    }
}

#[test]
fn a_checksum_mismatch_is_an_error_or_recovered_by_policy() {
    let d = tempdir();
    let p = d.path().join("c.json");
    let store = Store::<CheckedCounter>::open(&p).unwrap();
    store.update(|c| c.n = 41).unwrap();
    fs::write(&p, "{\n  \"n\": 42\n}\n").unwrap(); // valid JSON, wrong bytes
    let fresh = Store::<CheckedCounter>::open(&p).unwrap();
    assert_eq!(
        fresh.load().unwrap_err().kind(),
        ErrorKind::ChecksumMismatch
    );
    assert_eq!(
        fresh.update(|c| c.n += 1).unwrap_err().kind(),
        ErrorKind::ChecksumMismatch
    );
    let recovering = Store::<CheckedCounter>::open_with(
        &p,
        StoreOptions::new().on_corrupt(CorruptPolicy::MoveAside),
    )
    .unwrap();
    assert_eq!(recovering.load().unwrap().n, 0, "the default");
    // The bad file went aside with its sidecar: nothing describes a file
    // that is not there, and the evidence is whole.
    let sidecar = d.path().join("c.json.sha256");
    assert!(!p.exists() && !sidecar.exists());
    let mut aside: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("c.json.corrupt-"))
        .collect();
    aside.sort();
    assert_eq!(aside.len(), 2, "{aside:?}");
    assert!(
        aside[1].ends_with(".sha256") && aside[1].starts_with(&aside[0]),
        "{aside:?}"
    );
    assert_eq!(
        fs::read_to_string(d.path().join(&aside[0])).unwrap(),
        "{\n  \"n\": 42\n}\n"
    );
    assert_eq!(
        recovering
            .update(|c| {
                c.n += 1;
                c.n
            })
            .unwrap(),
        1,
        "restarted from the default"
    );
    assert!(safeatomic::verify_checksum(&p).unwrap());
}

#[test]
fn config_dir_helper_creates_the_directory_under_xdg_config_home() {
    let d = tempdir();
    let out = child()
        .args(["config-dir", "sa-test-app", "settings.toml"])
        .env("XDG_CONFIG_HOME", d.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8(out.stdout).unwrap();
    let expected = d.path().join("sa-test-app").join("settings.toml");
    assert_eq!(printed.trim(), expected.to_string_lossy());
    assert_eq!(fs::read_to_string(&expected).unwrap().trim(), "n = 1");
}

#[test]
fn store_is_send_sync_and_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Store<JsonCounter>>();
}

/// What a user reads when a hand-edited TOML file has a syntax error: where
/// first (`path:line:column`), then what; the parser's snippet, with its
/// caret under the bad spot, in the `{:#}` form and as the source. An
/// update on a directory speaks of the path.
#[test]
fn error_messages_read_right() {
    let d = tempdir();
    let path = d.path().join("config.toml");
    fs::write(&path, "# volume of the alarm\nn = 12x\n").unwrap();
    let e = Store::<common::types::TomlCounter>::open(&path)
        .unwrap()
        .load()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Format);
    assert_eq!(
        e.to_string(),
        format!(
            "{}:2:5: parse error: toml: string values must be quoted, expected literal string",
            path.display()
        )
    );
    let alternate = format!("{e:#}");
    assert!(alternate.contains("2 | n = 12x\n"), "{alternate}");
    assert!(alternate.contains("^"), "{alternate}");
    assert!(std::error::Error::source(&e).is_some());

    let dir = d.path().join("conf.d");
    fs::create_dir(&dir).unwrap();
    let e = Store::<JsonCounter>::open(&dir)
        .unwrap()
        .update(|c| c.n += 1)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::IsADirectory);
    assert_eq!(
        e.to_string(),
        format!("failed to access store `{}`: is a directory", dir.display())
    );
}
