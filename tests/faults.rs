//! Every failure point: each OS call an operation makes is failed in turn
//! (EIO, ENOSPC, EINTR where the call can be interrupted, EXDEV at the
//! publishing rename), and a crash is simulated after every call. After each
//! run the invariants are checked: typed error or correct success, target
//! byte-identical to before (or, only after the publish, the new content with
//! `DurabilityUnconfirmed`), no temp file, and the next operation succeeds.
//!
//! The enumeration counts the calls of a clean run and asserts it tried
//! every one, so a point cannot be skipped silently.

use common::types::{CheckedCounter, CheckedSettings, MigratedSettings, RonMigrated};
use common::{leftovers, tempdir};
use rustix::io::Errno;
use safeatomic::fault::{self, Plan, Trace};
use safeatomic::{
    Algorithm, AtomicWriter, ErrorKind, Safety, Store, WriteOptions, acquire_lock, create_atomic,
    create_atomic_with, exchange_atomic, is_locked, move_atomic, move_atomic_noreplace,
    try_acquire_lock, verify_checksum, write_atomic, write_atomic_with, write_checksum_file,
};
use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

type State = BTreeMap<String, Option<Vec<u8>>>;

struct Scenario {
    name: &'static str,
    /// Files whose content is compared (relative to the test dir).
    files: &'static [&'static str],
    setup: fn(&Path),
    op: fn(&Path) -> safeatomic::Result<()>,
    /// Files whose checksum sidecar must verify after every run (if they exist).
    verify: &'static [&'static str],
    /// Whether a clean run changes the files (lock operations do not).
    changes: bool,
}

/// The defaults of the optional scenario fields.
const PLAIN: Scenario = Scenario {
    name: "",
    files: &[],
    setup: setup_nothing,
    op: |_| Ok(()),
    verify: &[],
    changes: true,
};

/// Calls whose failure must never be absorbed: the data, its durability
/// and its publication depend on each of them.
fn critical(name: &str) -> bool {
    name == "fsync" || name == "write" || name.starts_with("renameat") || name == "linkat"
}

/// The sidecar invariant: where a file in `verify` has a sidecar, they
/// agree (no sidecar at all is the state before a first checksummed write).
fn sidecars_consistent(dir: &Path, s: &Scenario, ctx: &str) {
    for f in s.verify {
        let p = dir.join(f);
        if !p.exists() {
            continue;
        }
        match verify_checksum(&p) {
            Ok(true) => {}
            Ok(false) => panic!("{ctx}: {f} does not match its sidecar"),
            Err(e) if e.kind() == ErrorKind::ChecksumMissing => {}
            Err(e) => panic!("{ctx}: verify {f}: {e}"),
        }
    }
}

fn state(dir: &Path, files: &[&str]) -> State {
    files
        .iter()
        .map(|f| (f.to_string(), fs::read(dir.join(f)).ok()))
        .collect()
}

fn all_leftovers(dir: &Path) -> Vec<String> {
    let mut left = leftovers(dir);
    for sub in ["s1", "s2"] {
        if dir.join(sub).is_dir() {
            left.extend(leftovers(&dir.join(sub)));
        }
    }
    left
}

/// A fresh directory prepared by the scenario's setup.
fn prepared(s: &Scenario) -> tempfile::TempDir {
    let d = tempdir();
    fs::create_dir(d.path().join("s1")).unwrap();
    fs::create_dir(d.path().join("s2")).unwrap();
    (s.setup)(d.path());
    d
}

/// The index of the call that publishes the data: the last rename or link
/// (a checksummed write renames its sidecar first).
fn publish_index(trace: &Trace) -> Option<usize> {
    trace
        .calls
        .iter()
        .rposition(|c| c.name.starts_with("renameat") || c.name == "linkat")
}

/// Whether a crash after call `i - 1` falls between the `linkat` and the
/// `unlinkat` of the no-replace fallback (`link(2)` + `unlink(2)`, used
/// where `RENAME_NOREPLACE` is missing: always under the portable
/// backend). A crash there leaves both names, never neither (the
/// documented limit of the fallback).
fn in_link_window(trace: &Trace, i: usize) -> bool {
    link_fallback(trace).is_some_and(|(link, unlink)| i > link && i <= unlink)
}

/// The indices of the no-replace fallback's `linkat` and of the `unlinkat`
/// of the source name after it, if the operation used the fallback.
fn link_fallback(trace: &Trace) -> Option<(usize, usize)> {
    let names = trace.names();
    let link = names.iter().position(|n| *n == "linkat")?;
    let unlink = names[link..].iter().position(|n| *n == "unlinkat")?;
    Some((link, link + unlink))
}

/// Every file with its content after the operation, or before it where the
/// operation removed it: the moved file under both names.
fn both(before: &State, after: &State) -> State {
    after
        .iter()
        .map(|(f, now)| (f.clone(), now.clone().or_else(|| before[f].clone())))
        .collect()
}

/// Indices of the litter sweep (housekeeping whose failure must not fail
/// the operation): from the rewind of the directory handle to the removal
/// of the first dead writer's temp file (a sweep runs once per directory
/// in a process, and once per recorded run here: `fault::record` and
/// `fault::inject` start with nothing swept).
fn sweep_range(trace: &Trace) -> std::ops::Range<usize> {
    let names = trace.names();
    // Linux rewinds the handle it holds (`lseek`); the portable backend
    // opens a directory stream (`opendir`, decision 0013).
    let start = names
        .windows(2)
        .position(|w| matches!(w, ["lseek" | "opendir", "readdir"]));
    match start {
        Some(start) => {
            let end = names[start..]
                .iter()
                .position(|n| *n == "unlinkat")
                .map_or(start + 2, |i| start + i + 1);
            start..end
        }
        None => 0..0,
    }
}

/// Runs every failure point of a scenario; returns the number of points.
fn enumerate(s: &Scenario) -> usize {
    // Warm the per-device caches so the clean run and the injected runs make
    // the same calls.
    let warm = prepared(s);
    (s.op)(warm.path()).unwrap_or_else(|e| panic!("{}: warm-up failed: {e}", s.name));

    let clean_dir = prepared(s);
    let before = state(clean_dir.path(), s.files);
    let (result, clean) = fault::record(|| (s.op)(clean_dir.path()));
    result.unwrap_or_else(|e| panic!("{}: clean run failed: {e}", s.name));
    let after = state(clean_dir.path(), s.files);
    if s.changes {
        assert_ne!(before, after, "{}: the operation changed nothing", s.name);
    }
    // Lock operations publish nothing: every failure must then leave the files as they were.
    let publish = publish_index(&clean).unwrap_or(usize::MAX);
    let sweep = sweep_range(&clean);
    // The durability point: the last fsync (of a directory). Calls after it
    // only release the lock; their failure cannot undo a durable commit.
    let durable = clean
        .calls
        .iter()
        .rposition(|c| c.name == "fsync")
        .unwrap_or(usize::MAX);

    let mut tried = std::collections::BTreeSet::new();
    for (i, call) in clean.calls.iter().enumerate() {
        let mut errnos = vec![Errno::IO, Errno::NOSPC];
        if call.interruptible {
            errnos.push(Errno::INTR);
        }
        if i == publish {
            errnos.push(Errno::XDEV);
        }
        for errno in errnos {
            let ctx = format!("{}: call #{i} {} failing with {errno:?}", s.name, call.name);
            let d = prepared(s);
            let (result, trace) =
                fault::inject(Plan::fail(i, errno.raw_os_error()), || (s.op)(d.path()));
            assert_eq!(
                trace.injected,
                Some(i),
                "{ctx}: the point was not reached; calls {:?}",
                trace.names()
            );
            assert_eq!(
                &trace.calls[..i],
                &clean.calls[..i],
                "{ctx}: calls diverged before the point"
            );
            let now = state(d.path(), s.files);
            match result {
                Ok(()) => {
                    assert!(
                        errno == Errno::INTR || !critical(call.name),
                        "{ctx}: succeeded although a critical call failed"
                    );
                    assert_eq!(now, after, "{ctx}: succeeded with the wrong content");
                }
                Err(e) => {
                    assert_ne!(errno, Errno::INTR, "{ctx}: EINTR must be retried, got {e}");
                    assert!(
                        i <= durable,
                        "{ctx}: a failure after the commit was durable surfaced: {e}"
                    );
                    if link_fallback(&clean).is_some_and(|(_, unlink)| i == unlink)
                        && e.step() == "remove source after link"
                    {
                        // A move through the no-replace fallback whose source
                        // name could not be removed: published under both
                        // names, and said so.
                        assert_eq!(now, both(&before, &after), "{ctx}: {e}");
                    } else if i > publish {
                        assert_eq!(e.kind(), ErrorKind::DurabilityUnconfirmed, "{ctx}: {e}");
                        assert!(e.is_committed());
                        assert_eq!(now, after, "{ctx}: committed content expected");
                    } else {
                        assert_ne!(e.kind(), ErrorKind::DurabilityUnconfirmed, "{ctx}: {e}");
                        assert_eq!(
                            now, before,
                            "{ctx}: target changed by a failed operation ({e})"
                        );
                        let expected_kind = match errno {
                            Errno::XDEV => Some(ErrorKind::CrossDevice),
                            Errno::NOSPC => Some(ErrorKind::StorageFull),
                            _ => None,
                        };
                        if let Some(k) = expected_kind {
                            assert_eq!(e.kind(), k, "{ctx}: {e}");
                        }
                        assert!(
                            !e.step().is_empty() && !e.path().as_os_str().is_empty(),
                            "{ctx}: {e:?}"
                        );
                    }
                }
            }
            // Our own temp file is always gone, but for a failed unlink of
            // its name after the no-replace fallback's link published it
            // (left for the next sweep); a crashed writer's litter may stay
            // only when the failure hit the sweep that removes it.
            for f in s.files {
                assert!(
                    !is_locked(d.path().join(f)).unwrap(),
                    "{ctx}: {f} is still locked"
                );
            }
            sidecars_consistent(d.path(), s, &ctx);
            let left: Vec<_> = all_leftovers(d.path())
                .into_iter()
                .filter(|n| !(*n == planted_litter() && i < sweep.end))
                .filter(|_| link_fallback(&clean).is_none_or(|(_, unlink)| i != unlink))
                .collect();
            assert!(left.is_empty(), "{ctx}: temp files left: {left:?}");
            // The next operation succeeds (from wherever the failure left us)
            // and leaves nothing behind, run as the first in the directory
            // by a process that has not swept it (a new recording starts
            // with nothing swept).
            if now == before {
                fault::record(|| (s.op)(d.path()))
                    .0
                    .unwrap_or_else(|e| panic!("{ctx}: next operation failed: {e}"));
                assert_eq!(state(d.path(), s.files), after, "{ctx}: next operation");
            } else {
                fault::record(|| write_atomic(d.path().join("next"), b"next"))
                    .0
                    .unwrap_or_else(|e| panic!("{ctx}: next write failed: {e}"));
            }
            assert!(
                all_leftovers(d.path()).is_empty(),
                "{ctx}: leftovers after the next operation"
            );
        }
        tried.insert(i);
    }
    assert_eq!(
        tried.len(),
        clean.calls.len(),
        "{}: not every point was tried",
        s.name
    );
    eprintln!(
        "{}: {} failure points: {:?}",
        s.name,
        clean.calls.len(),
        clean.names()
    );
    clean.calls.len()
}

/// Simulates a crash after every call: from call N on, nothing reaches the
/// filesystem. The target must be exactly before or after, and the next
/// write must succeed and leave no litter.
fn crash_everywhere(s: &Scenario) -> usize {
    let warm = prepared(s);
    (s.op)(warm.path()).unwrap();
    let clean_dir = prepared(s);
    let before = state(clean_dir.path(), s.files);
    let (_, clean) = fault::record(|| (s.op)(clean_dir.path()));
    let after = state(clean_dir.path(), s.files);
    for i in 0..=clean.calls.len() {
        let d = prepared(s);
        let (_result, _) = fault::inject(Plan::crash(i), || (s.op)(d.path()));
        let now = state(d.path(), s.files);
        assert!(
            now == before
                || now == after
                || (in_link_window(&clean, i) && now == both(&before, &after)),
            "{}: crash after call {i} left {now:?}",
            s.name
        );
        if i <= publish_index(&clean).unwrap_or(usize::MAX) {
            assert_eq!(
                now, before,
                "{}: crash before the publish changed the target",
                s.name
            );
        }
        sidecars_consistent(d.path(), s, &format!("{}: crash after call {i}", s.name));
        // Recovery: the first write in that directory by a process that
        // has not swept it (a new recording starts with nothing swept)
        // removes the litter.
        fault::record(|| write_atomic(d.path().join("next"), b"recovery"))
            .0
            .unwrap();
        for f in s.files {
            assert!(
                !is_locked(d.path().join(f)).unwrap(),
                "{}: crash at {i}: {f} is still locked",
                s.name
            );
        }
        let left = all_leftovers(d.path());
        assert!(
            leftovers(d.path()).is_empty(),
            "{}: crash at {i}: litter {left:?}",
            s.name
        );
    }
    clean.calls.len() + 1
}

/// `Write` returns `io::Error`; ours is inside it and can be taken back out.
fn ours(e: std::io::Error) -> safeatomic::Error {
    *e.into_inner()
        .expect("an error from AtomicWriter carries the safeatomic error")
        .downcast::<safeatomic::Error>()
        .expect("the inner error is a safeatomic::Error")
}

fn setup_nothing(_: &Path) {}

fn setup_old(d: &Path) {
    fs::write(d.join("t"), b"old content").unwrap();
    fs::set_permissions(d.join("t"), fs::Permissions::from_mode(0o640)).unwrap();
}

/// The old file with a POSIX ACL and a user extended attribute, which a
/// replace carries over (read, listed, set: each a failure point). Set
/// through the xattr calls themselves, not `setfacl`: a child process
/// started while another test thread holds a temp file's lock would hold it
/// too, for a moment, through the inherited descriptor.
fn setup_old_with_acl(d: &Path) {
    setup_old(d);
    let t = d.join("t");
    // `u::rw-,u:1:rw-,g::---,m::rw-,o::---` in the kernel's xattr layout
    // (include/uapi/linux/posix_acl_xattr.h): version 2, then
    // (tag, permissions, id) entries.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (0x01u16, 6u16, u32::MAX),
        (0x02, 6, 1),
        (0x04, 0, u32::MAX),
        (0x10, 6, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend_from_slice(&tag.to_le_bytes());
        acl.extend_from_slice(&perm.to_le_bytes());
        acl.extend_from_slice(&id.to_le_bytes());
    }
    rustix::fs::setxattr(
        &t,
        "system.posix_acl_access",
        &acl,
        rustix::fs::XattrFlags::empty(),
    )
    .expect("POSIX ACLs on the test filesystem");
    rustix::fs::setxattr(&t, "user.origin", b"test", rustix::fs::XattrFlags::empty())
        .expect("user extended attributes");
}

fn setup_old_and_litter(d: &Path) {
    setup_old(d);
    // A crashed writer's temp file: nobody holds its lock.
    fs::write(d.join(planted_litter()), b"half a write").unwrap();
}

fn checksummed() -> WriteOptions {
    WriteOptions::new().checksum(Some(Algorithm::Sha256))
}

fn setup_checksummed(d: &Path) {
    write_atomic_with(d.join("t"), b"old content", &checksummed()).unwrap();
}

fn setup_store(d: &Path) {
    Store::<CheckedCounter>::open(d.join("store.json"))
        .unwrap()
        .replace(CheckedCounter { n: 41 })
        .unwrap();
}

/// A commented TOML file and its sidecar, as a person and the store left it.
fn setup_settings(d: &Path) {
    let text = "# Player settings.\nname = \"demo\" # title\n\n# 0-11\nvolume = 3\nskin = \"dark\" # a newer version's\n";
    write_atomic_with(d.join("settings.toml"), text, &checksummed()).unwrap();
}

/// The same file written by version 1 of the program (`vol`, no version).
fn setup_settings_v1(d: &Path) {
    let text = "# Player settings.\nname = \"demo\" # title\n\n# 0-11\nvol = 3\nskin = \"dark\" # a newer version's\n";
    write_atomic_with(d.join("settings.toml"), text, &checksummed()).unwrap();
}

/// A RON counter written by version 1 of its program (`count`).
fn setup_ron_v1(d: &Path) {
    write_atomic_with(
        d.join("counter.ron"),
        "(\n    count: 41,\n    note: \"kept\",\n)\n",
        &checksummed(),
    )
    .unwrap();
}

fn setup_ab(d: &Path) {
    fs::write(d.join("a"), b"AAAA").unwrap();
    fs::write(d.join("b"), b"BB").unwrap();
}

fn setup_ab_dirs(d: &Path) {
    fs::write(d.join("s1/a"), b"AAAA").unwrap();
    fs::write(d.join("s2/b"), b"BB").unwrap();
}

/// A dead writer's temp file, planted for the sweep to remove.
fn planted_litter() -> String {
    common::temp_name(0xaa)
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "write_atomic (new file)",
        files: &["t"],
        setup: setup_nothing,
        op: |d| write_atomic(d.join("t"), b"new content"),
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (replace, mode kept)",
        files: &["t"],
        setup: setup_old,
        op: |d| write_atomic(d.join("t"), b"new content"),
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (replace, ACL and xattr carried over)",
        files: &["t"],
        setup: setup_old_with_acl,
        op: |d| write_atomic(d.join("t"), b"new content"),
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (replace, litter present)",
        files: &["t"],
        setup: setup_old_and_litter,
        op: |d| write_atomic(d.join("t"), b"new content"),
        ..PLAIN
    },
    Scenario {
        name: "write_atomic_with (explicit mode)",
        files: &["t"],
        setup: setup_old,
        op: |d| {
            write_atomic_with(
                d.join("t"),
                b"new content",
                &WriteOptions::new().mode(0o600),
            )
        },
        ..PLAIN
    },
    Scenario {
        name: "AtomicWriter commit",
        files: &["t"],
        setup: setup_old,
        op: |d| {
            let mut w = AtomicWriter::create(d.join("t"))?;
            for i in 0..4u8 {
                w.write_all(&vec![i; 70_000]).map_err(ours)?;
            }
            w.commit()
        },
        ..PLAIN
    },
    Scenario {
        name: "create_atomic",
        files: &["t"],
        setup: setup_nothing,
        op: |d| create_atomic(d.join("t"), b"created"),
        ..PLAIN
    },
    Scenario {
        name: "create_atomic (checksum)",
        files: &["t"],
        setup: setup_nothing,
        op: |d| create_atomic_with(d.join("t"), b"created", &checksummed()),
        verify: &["t"],
        ..PLAIN
    },
    Scenario {
        name: "move_atomic (same directory)",
        files: &["a", "b"],
        setup: setup_ab,
        op: |d| move_atomic(d.join("a"), d.join("b")),
        ..PLAIN
    },
    Scenario {
        name: "move_atomic (two directories)",
        files: &["s1/a", "s2/b"],
        setup: setup_ab_dirs,
        op: |d| move_atomic(d.join("s1/a"), d.join("s2/b")),
        ..PLAIN
    },
    Scenario {
        name: "move_atomic_noreplace",
        files: &["a", "c"],
        setup: setup_ab,
        op: |d| move_atomic_noreplace(d.join("a"), d.join("c")),
        ..PLAIN
    },
    Scenario {
        name: "exchange_atomic",
        files: &["s1/a", "s2/b"],
        setup: setup_ab_dirs,
        op: |d| exchange_atomic(d.join("s1/a"), d.join("s2/b")),
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (lock off)",
        files: &["t"],
        setup: setup_old,
        op: |d| {
            write_atomic_with(
                d.join("t"),
                b"new content",
                &WriteOptions::new().lock(false),
            )
        },
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (checksum, new file)",
        files: &["t"],
        setup: setup_nothing,
        op: |d| write_atomic_with(d.join("t"), b"new content", &checksummed()),
        verify: &["t"],
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (checksum, replace)",
        files: &["t"],
        setup: setup_checksummed,
        op: |d| write_atomic_with(d.join("t"), b"new content", &checksummed()),
        verify: &["t"],
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (checksum, first over an unchecksummed file)",
        files: &["t"],
        setup: setup_old,
        op: |d| write_atomic_with(d.join("t"), b"new content", &checksummed()),
        verify: &["t"],
        ..PLAIN
    },
    Scenario {
        name: "write_atomic (checksum, lock off)",
        files: &["t"],
        setup: setup_checksummed,
        op: |d| write_atomic_with(d.join("t"), b"new content", &checksummed().lock(false)),
        verify: &["t"],
        ..PLAIN
    },
    Scenario {
        name: "AtomicWriter commit (checksum)",
        files: &["t"],
        setup: setup_checksummed,
        op: |d| {
            let mut w = AtomicWriter::create_with(d.join("t"), &checksummed())?;
            for i in 0..3u8 {
                w.write_all(&vec![i; 70_000]).map_err(ours)?;
            }
            w.commit()
        },
        verify: &["t"],
        ..PLAIN
    },
    Scenario {
        name: "write_checksum_file",
        // The data does not change; the sidecar (timestamped, so not
        // compared byte for byte) is checked by the sidecar invariant.
        files: &["t"],
        setup: setup_old,
        op: |d| write_checksum_file(d.join("t"), Algorithm::Sha256).map(drop),
        verify: &["t"],
        changes: false,
    },
    Scenario {
        name: "lock acquire and release",
        files: &["t"],
        setup: setup_old,
        op: |d| {
            let g = acquire_lock(d.join("t"), None)?;
            g.release()
        },
        changes: false,
        ..PLAIN
    },
    Scenario {
        name: "try_acquire_lock and drop",
        files: &["t"],
        setup: setup_old,
        op: |d| try_acquire_lock(d.join("t")).map(drop),
        changes: false,
        ..PLAIN
    },
    Scenario {
        name: "Store::update (checksummed)",
        files: &["store.json"],
        setup: setup_store,
        op: |d| Store::<CheckedCounter>::open(d.join("store.json"))?.update(|c| c.n += 1),
        verify: &["store.json"],
        ..PLAIN
    },
    Scenario {
        name: "Store::update (TOML edited in place, checksummed)",
        files: &["settings.toml"],
        setup: setup_settings,
        op: |d| Store::<CheckedSettings>::open(d.join("settings.toml"))?.update(|c| c.volume += 1),
        verify: &["settings.toml"],
        ..PLAIN
    },
    Scenario {
        name: "Store::update (migrating a version 1 TOML file, checksummed)",
        files: &["settings.toml"],
        setup: setup_settings_v1,
        op: |d| Store::<MigratedSettings>::open(d.join("settings.toml"))?.update(|c| c.volume += 1),
        verify: &["settings.toml"],
        ..PLAIN
    },
    Scenario {
        name: "Store::update (migrating a version 1 RON file through its old type, checksummed)",
        files: &["counter.ron"],
        setup: setup_ron_v1,
        op: |d| Store::<RonMigrated>::open(d.join("counter.ron"))?.update(|c| c.n += 1),
        verify: &["counter.ron"],
        ..PLAIN
    },
    Scenario {
        name: "Store::update (no change: nothing written)",
        files: &["settings.toml"],
        setup: setup_settings,
        op: |d| Store::<CheckedSettings>::open(d.join("settings.toml"))?.update(|_| ()),
        verify: &["settings.toml"],
        changes: false,
    },
];

#[test]
fn every_failure_point_of_every_operation_keeps_the_invariants() {
    let mut total = 0;
    for s in SCENARIOS {
        total += enumerate(s);
    }
    eprintln!("{total} failure points in all");
    assert!(total > 100, "suspiciously few failure points: {total}");
}

#[test]
fn a_crash_after_any_call_leaves_old_or_new_and_no_litter_after_the_next_write() {
    for s in SCENARIOS {
        crash_everywhere(s);
    }
}

#[test]
fn a_failed_directory_fsync_is_durability_unconfirmed_only_under_strict() {
    let d = tempdir();
    let p = d.path().join("t");
    write_atomic(&p, b"old").unwrap();
    write_atomic(&p, b"warm-up").unwrap(); // the first write reads the umask once
    let (_, clean) = fault::record(|| write_atomic(&p, b"probe"));
    // The directory fsync is the last call: after the rename and the
    // release of the lock (blank payload, unlock).
    let last = clean.calls.iter().rposition(|c| c.name == "fsync").unwrap();
    assert_eq!(last, clean.calls.len() - 1, "{:?}", clean.names());
    assert_eq!(
        clean.names()[last - 3..last],
        ["renameat", "pwrite", "flock(LOCK_UN)"],
        "{:?}",
        clean.names()
    );
    for (safety, ok) in [
        (Safety::Strict, false),
        (Safety::Warn, true),
        (Safety::BestEffort, true),
    ] {
        let opts = WriteOptions::new().safety(safety);
        let (result, _) = fault::inject(Plan::fail(last, Errno::IO.raw_os_error()), || {
            write_atomic_with(&p, format!("{safety:?}"), &opts)
        });
        assert_eq!(result.is_ok(), ok, "{safety:?}: {result:?}");
        if let Err(e) = result {
            assert_eq!(e.kind(), ErrorKind::DurabilityUnconfirmed);
            assert_eq!(e.raw_os_error(), Some(Errno::IO.raw_os_error()));
            assert!(e.to_string().contains("durability unconfirmed"), "{e}");
        }
        assert_eq!(
            fs::read_to_string(&p).unwrap(),
            format!("{safety:?}"),
            "committed either way"
        );
    }
}

#[test]
fn exdev_at_the_rename_is_normalised_to_cross_device_for_moves() {
    let d = tempdir();
    setup_ab(d.path());
    let (_, clean) = fault::record(|| move_atomic(d.path().join("a"), d.path().join("c")));
    let i = publish_index(&clean).unwrap();
    setup_ab(d.path());
    let (result, _) = fault::inject(Plan::fail(i, Errno::XDEV.raw_os_error()), || {
        move_atomic(d.path().join("a"), d.path().join("b"))
    });
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CrossDevice);
    assert_eq!(e.other_path(), Some(d.path().join("b").as_path()));
    assert_eq!(fs::read(d.path().join("a")).unwrap(), b"AAAA");
}

/// A durable replace makes only the calls its protocol needs once the
/// process has swept the directory (issue #17): no listing, no random
/// bytes from the kernel, one call for the replaced file's extended
/// attributes when it has none. The floor (temp file, write, fsync,
/// rename, directory fsync) is 7 of these 12; `docs/benchmarks.md` counts
/// every system call with strace.
#[test]
fn a_later_lock_off_write_makes_only_the_calls_of_the_protocol() {
    let d = tempdir();
    let p = d.path().join("t");
    let opts = WriteOptions::new().lock(false);
    // The first writes read what a process reads once (the filesystem's
    // mount, the umask) and sweep the directory.
    write_atomic_with(&p, b"first", &opts).unwrap();
    write_atomic_with(&p, b"second", &opts).unwrap();
    let ((), trace) = fault::record(|| {
        write_atomic_with(&p, b"warm", &opts).unwrap();
        write_atomic_with(&p, b"third", &opts).unwrap();
    });
    let names = trace.names();
    // After the recording's first write (which sweeps: a new recording
    // starts with nothing swept), up to its directory fsync.
    let start = names
        .iter()
        .position(|n| *n == "renameat")
        .expect("a rename")
        + 2;
    let mut expected = vec![
        "openat",         // the directory
        "fstat",          // its identity and owner
        "fstatat",        // the target, not followed
        "fstatfs",        // which filesystem (the safety gate)
        "llistxattr",     // the replaced file's extended attributes
        "openat",         // the temp file, O_EXCL
        "flock(LOCK_EX)", // owned by a live writer (decision 0002)
        "fstat",          // not swept meanwhile; its owner
        "write",
        "fsync",    // the data
        "renameat", // publish
        "fsync",    // the directory
    ];
    if cfg!(safeatomic_portable) {
        // No umask to know (decision 0013): the mode is always set.
        expected.insert(8, "fchmod");
    }
    assert_eq!(&names[start..], expected, "all calls: {names:?}");
}
