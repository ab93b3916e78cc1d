//! `Store<T>` with derived types: no lost updates across processes and
//! threads in every format, closures that panic or fail write nothing,
//! validation, external edits, corruption errors and the recovery policy.

use common::child::ChildGuard;
use common::types::{
    CheckedCounter, JsonCounter, Limited, NoDefault, RonCounter, TomlCounter, YamlCounter,
};
use common::{leftovers, no_leftovers, tempdir};
use safeatomic::{
    Algorithm, CorruptPolicy, ErrorKind, Format, Persisted, Store, StoreOptions, is_locked,
};
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

fn child() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sa-child"))
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
fn processes_on_all_four_formats_lose_no_update() {
    let d = tempdir();
    let paths: Vec<_> = ["json", "yaml", "toml", "ron", "checked"]
        .iter()
        .map(|f| (*f, d.path().join(format!("counter.{f}"))))
        .collect();
    // Two processes per file, all running at once.
    let specs: Vec<_> = paths
        .iter()
        .flat_map(|(f, p)| [(*f, p.as_path(), 100), (*f, p.as_path(), 100)])
        .collect();
    run_children(&specs);
    assert_eq!(
        Store::<JsonCounter>::open(&paths[0].1)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    assert_eq!(
        Store::<YamlCounter>::open(&paths[1].1)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    assert_eq!(
        Store::<TomlCounter>::open(&paths[2].1)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    assert_eq!(
        Store::<RonCounter>::open(&paths[3].1)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    assert_eq!(
        Store::<CheckedCounter>::open(&paths[4].1)
            .unwrap()
            .load()
            .unwrap()
            .n,
        200
    );
    assert!(safeatomic::verify_checksum(&paths[4].1).unwrap());
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

#[test]
fn clones_share_one_cache_and_separate_stores_see_each_others_writes() {
    let d = tempdir();
    let p = d.path().join("c.json");
    let a = Store::<JsonCounter>::open(&p).unwrap();
    let b = a.clone();
    let other = Store::<JsonCounter>::open(&p).unwrap();
    a.update(|c| c.n = 5).unwrap();
    assert_eq!(b.load().unwrap().n, 5);
    assert_eq!(other.load().unwrap().n, 5);
    other.update(|c| c.n += 1).unwrap();
    assert_eq!(
        a.load().unwrap().n,
        6,
        "a's cache must notice the other store's write"
    );
    assert_eq!(a.update(|c| c.n).unwrap(), 6);
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
        ("json", "{\n  \"n\": \"seven\"\n}\n"),
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
