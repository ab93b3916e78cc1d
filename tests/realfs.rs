//! Behaviour on real filesystems mounted for the test (root only): ext4, xfs
//! and btrfs on loop devices, tmpfs and overlay. Cross-device refusal,
//! `ENOSPC`, the rename family on each filesystem, classification, and an
//! acknowledged write surviving a filesystem shutdown.
//!
//! Without root and loop devices every test prints `SKIPPED` and passes;
//! with `SAFEATOMIC_REQUIRE_ROOT_TESTS=1` that is a failure instead.

use common::mounts::{
    Mount, OVERLAY_LOWER_CONTENT, OVERLAY_LOWER_FILE, pause_commands, require_mkfs, require_root,
    require_tools,
};
use common::{no_leftovers, snapshot};
use safeatomic::{
    AtomicWriter, ErrorKind, FsClass, Guarantee, Level, create_atomic, exchange_atomic,
    inspect_guarantees, move_atomic, move_atomic_noreplace, read_atomic, write_atomic,
};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Sizes that every `mkfs` accepts (xfs needs 300 MiB, btrfs 114 MiB).
fn loop_size_mib(kind: &str) -> u64 {
    match kind {
        "xfs" => 300,
        "btrfs" => 128,
        _ => 64,
    }
}

/// Asserts that `result` failed with `kind`, naming `what` otherwise.
#[track_caller]
fn expect_kind<T: std::fmt::Debug>(
    result: safeatomic::Result<T>,
    kind: ErrorKind,
    what: &str,
) -> safeatomic::Error {
    match result {
        Ok(v) => panic!("{what}: expected {kind:?}, got Ok({v:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: wrong error kind: {e} ({e:?})");
            e
        }
    }
}

/// A fresh subdirectory of a mount, so the mount root's own entries
/// (`lost+found`) stay out of the checks.
fn subdir(m: &Mount, name: &str) -> PathBuf {
    let d = m.path().join(name);
    fs::create_dir(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
    d
}

// --------------------------------------------------------------- cross-device

#[test]
fn moves_and_exchanges_across_devices_are_refused_and_leave_both_sides_untouched() {
    let name = "moves_and_exchanges_across_devices_are_refused_and_leave_both_sides_untouched";
    if !require_root(name) || !require_mkfs(name, &["ext4"]) {
        return;
    }
    let ext4 = Mount::loop_fs("ext4", loop_size_mib("ext4"));
    let tmp = Mount::tmpfs("8M");
    let ext4_dir = subdir(&ext4, "d");
    let tmp_dir = subdir(&tmp, "d");
    let on_ext4 = ext4_dir.join("state");
    let on_tmp = tmp_dir.join("state");
    write_atomic(&on_ext4, b"the ext4 copy\n").expect("write on ext4");
    write_atomic(&on_tmp, b"the tmpfs copy\n").expect("write on tmpfs");
    let before = (snapshot(&ext4_dir), snapshot(&tmp_dir));

    for (src, partner, dst_dir) in [
        (&on_ext4, &on_tmp, &tmp_dir),
        (&on_tmp, &on_ext4, &ext4_dir),
    ] {
        let absent = dst_dir.join("moved");
        let dir = format!("{} -> {}", src.display(), dst_dir.display());
        let attempts: [(&str, safeatomic::Result<()>); 5] = [
            ("move_atomic to a free name", move_atomic(src, &absent)),
            ("move_atomic over a file", move_atomic(src, partner)),
            (
                "move_atomic_noreplace to a free name",
                move_atomic_noreplace(src, &absent),
            ),
            (
                "move_atomic_noreplace onto a file",
                move_atomic_noreplace(src, partner),
            ),
            ("exchange_atomic", exchange_atomic(src, partner)),
        ];
        for (what, result) in attempts {
            let what = format!("{what} ({dir})");
            let err = expect_kind(result, ErrorKind::CrossDevice, &what);
            assert_eq!(err.path(), src.as_path(), "{what}: error names the source");
            assert!(
                err.other_path()
                    .is_some_and(|p| p.parent() == Some(dst_dir)),
                "{what}: error names the destination, got {:?}",
                err.other_path()
            );
            assert_eq!(
                (snapshot(&ext4_dir), snapshot(&tmp_dir)),
                before,
                "{what}: a refused operation changed a directory"
            );
        }
        assert!(
            fs::symlink_metadata(&absent).is_err(),
            "{dir}: something appeared at {}",
            absent.display()
        );
    }
    no_leftovers(&ext4_dir);
    no_leftovers(&tmp_dir);
}

// ---------------------------------------------------------------------- ENOSPC

const OLD: &[u8] = b"old content, must survive a failed write\n";
const BIG: usize = 4 << 20;

/// After a failed write on the full tmpfs: old content byte-identical, no
/// temp file, and the space of the temp file is free again (a 512 KiB write
/// fits in the 1 MiB tmpfs only if nothing still holds the failed 4 MiB).
///
/// Callers hold [`pause_commands`] from before the failing write: a child
/// process started by another test thread in between would hold a copy of
/// the temp file's descriptor, and its blocks, until it execs.
#[track_caller]
fn assert_recovered_after_enospc(dir: &Path, path: &Path) {
    assert_eq!(
        fs::read(path).expect("read old file"),
        OLD,
        "old content changed by a failed write"
    );
    no_leftovers(dir);
    write_atomic(path, b"small").expect("a small write after ENOSPC");
    assert_eq!(read_atomic(path).expect("read small"), b"small");
    let half = vec![0x5A; 512 << 10];
    write_atomic(path, &half)
        .expect("512 KiB write after ENOSPC: is the failed temp file's space still held?");
    assert_eq!(read_atomic(path).expect("read 512 KiB"), half);
    no_leftovers(dir);
}

#[test]
fn write_larger_than_the_filesystem_reports_storage_full_and_keeps_old_content() {
    let name = "write_larger_than_the_filesystem_reports_storage_full_and_keeps_old_content";
    if !require_root(name) {
        return;
    }
    let tmp = Mount::tmpfs("1M");
    let dir = tmp.path();
    let path = dir.join("state");
    write_atomic(&path, OLD).expect("write the old file");

    let _no_children = pause_commands();
    let err = expect_kind(
        write_atomic(&path, vec![0xAB; BIG]),
        ErrorKind::StorageFull,
        "write_atomic of 4 MiB on a 1 MiB tmpfs",
    );
    assert_eq!(err.path(), path.as_path(), "error names the target");
    assert_recovered_after_enospc(dir, &path);
}

/// A write that runs out of space because a dead writer's temp file fills
/// the filesystem removes it and succeeds: writes do not sweep every time
/// (only a process's first in a directory does), so this is where the
/// space comes back (issue #17).
#[test]
fn a_write_out_of_space_sweeps_a_dead_writers_temp_file_and_succeeds() {
    if !require_root("a_write_out_of_space_sweeps_a_dead_writers_temp_file_and_succeeds") {
        return;
    }
    let tmp = Mount::tmpfs("1M");
    let dir = tmp.path();
    let path = dir.join("state");
    // The process's first write here: any sweep it makes happens now.
    write_atomic(&path, OLD).expect("write the old file");
    let litter = dir.join(common::temp_name(0x77));
    fs::write(&litter, vec![0; 700 << 10]).expect("a dead writer's 700 KiB");

    let _no_children = pause_commands();
    let data = vec![0x5A; 512 << 10];
    write_atomic(&path, &data).expect("512 KiB beside 700 KiB of litter on a 1 MiB tmpfs");
    assert!(
        !litter.exists(),
        "the dead writer's temp file is still there"
    );
    assert_eq!(read_atomic(&path).expect("read back"), data);
    no_leftovers(dir);
}

/// The same when the filesystem is out of inodes: the temp file cannot be
/// created until dead writers' temp files are removed.
#[test]
fn a_write_out_of_inodes_sweeps_dead_writers_temp_files_and_succeeds() {
    if !require_root("a_write_out_of_inodes_sweeps_dead_writers_temp_files_and_succeeds") {
        return;
    }
    // `Mount::tmpfs` takes the options after `size=`.
    let tmp = Mount::tmpfs("1M,nr_inodes=16");
    let dir = tmp.path();
    let path = dir.join("state");
    write_atomic(&path, OLD).expect("write the old file");
    let mut planted = 0u64;
    loop {
        match fs::write(dir.join(common::temp_name(planted)), b"dead") {
            Ok(()) => planted += 1,
            Err(e) if e.kind() == std::io::ErrorKind::StorageFull => break,
            Err(e) => panic!("plant litter: {e}"),
        }
    }
    assert!(planted > 0, "no inode was free for litter");
    write_atomic(&path, b"new").expect("a write with every inode taken by litter");
    assert_eq!(read_atomic(&path).expect("read back"), b"new");
    no_leftovers(dir);
}

#[test]
fn streamed_write_larger_than_the_filesystem_reports_storage_full_and_keeps_old_content() {
    let name =
        "streamed_write_larger_than_the_filesystem_reports_storage_full_and_keeps_old_content";
    if !require_root(name) {
        return;
    }
    let tmp = Mount::tmpfs("1M");
    let dir = tmp.path();
    let path = dir.join("state");
    write_atomic(&path, OLD).expect("write the old file");

    let _no_children = pause_commands();
    let mut w = AtomicWriter::create(&path).expect("start a streamed write");
    let chunk = vec![0xCD; 40_000]; // not a multiple of the 64 KiB buffer
    let mut written = 0;
    let mut write_error = None;
    while written < BIG {
        match w.write_all(&chunk) {
            Ok(()) => written += chunk.len(),
            Err(e) => {
                write_error = Some(e);
                break;
            }
        }
    }
    let kind = match write_error {
        Some(e) => {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::StorageFull,
                "streamed write failed, but not with StorageFull: {e:?}"
            );
            let inner = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<safeatomic::Error>())
                .unwrap_or_else(|| panic!("io::Error does not wrap a safeatomic::Error: {e:?}"));
            assert_eq!(inner.path(), path.as_path(), "error names the target");
            drop(w); // abandons the write
            inner.kind()
        }
        None => {
            let e = w
                .commit()
                .expect_err("commit of 4 MiB on a 1 MiB tmpfs succeeded");
            e.kind()
        }
    };
    assert_eq!(
        kind,
        ErrorKind::StorageFull,
        "streamed 4 MiB on a 1 MiB tmpfs"
    );
    assert_recovered_after_enospc(dir, &path);
}

// ------------------------------------------------------------ rename family

/// `exchange_atomic`, `move_atomic_noreplace` and `create_atomic` on `m`.
fn check_rename_family(m: &Mount, fs_name: &str) {
    let dir = subdir(m, "family");
    let (a, b) = (dir.join("a"), dir.join("b"));
    write_atomic(&a, b"content A").expect("write a");
    write_atomic(&b, b"content B").expect("write b");

    exchange_atomic(&a, &b).unwrap_or_else(|e| panic!("{fs_name}: exchange_atomic: {e}"));
    assert_eq!(
        fs::read(&a).unwrap(),
        b"content B",
        "{fs_name}: a after exchange"
    );
    assert_eq!(
        fs::read(&b).unwrap(),
        b"content A",
        "{fs_name}: b after exchange"
    );
    exchange_atomic(&a, &b).unwrap_or_else(|e| panic!("{fs_name}: exchange back: {e}"));
    assert_eq!(
        fs::read(&a).unwrap(),
        b"content A",
        "{fs_name}: a after exchange back"
    );
    assert_eq!(
        fs::read(&b).unwrap(),
        b"content B",
        "{fs_name}: b after exchange back"
    );

    let missing = dir.join("missing");
    expect_kind(
        exchange_atomic(&a, &missing),
        ErrorKind::NotFound,
        &format!("{fs_name}: exchange with a missing file"),
    );
    assert_eq!(
        fs::read(&a).unwrap(),
        b"content A",
        "{fs_name}: a after failed exchange"
    );

    // No-replace onto an existing file: refused, both untouched.
    let before = snapshot(&dir);
    expect_kind(
        move_atomic_noreplace(&a, &b),
        ErrorKind::AlreadyExists,
        &format!("{fs_name}: move_atomic_noreplace onto an existing file"),
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "{fs_name}: refused move_atomic_noreplace changed the directory"
    );

    // No-replace to a free name: moved.
    let c = dir.join("c");
    move_atomic_noreplace(&a, &c)
        .unwrap_or_else(|e| panic!("{fs_name}: move_atomic_noreplace to a free name: {e}"));
    assert!(
        !a.exists(),
        "{fs_name}: source still present after the move"
    );
    assert_eq!(
        fs::read(&c).unwrap(),
        b"content A",
        "{fs_name}: moved content"
    );

    // create_atomic: publishes once, then refuses without touching the file.
    let created = dir.join("created");
    create_atomic(&created, b"first").unwrap_or_else(|e| panic!("{fs_name}: create_atomic: {e}"));
    assert_eq!(
        fs::read(&created).unwrap(),
        b"first",
        "{fs_name}: created content"
    );
    let before = snapshot(&dir);
    expect_kind(
        create_atomic(&created, b"second"),
        ErrorKind::AlreadyExists,
        &format!("{fs_name}: create_atomic over an existing file"),
    );
    expect_kind(
        create_atomic(&b, b"second"),
        ErrorKind::AlreadyExists,
        &format!("{fs_name}: create_atomic over a file written by write_atomic"),
    );
    assert_eq!(
        snapshot(&dir),
        before,
        "{fs_name}: refused create_atomic changed the directory"
    );
    no_leftovers(&dir);
}

fn rename_family_on_loop_fs(test: &str, kind: &str) {
    if !require_root(test) || !require_mkfs(test, &[kind]) {
        return;
    }
    let m = Mount::loop_fs(kind, loop_size_mib(kind));
    check_rename_family(&m, kind);
}

#[test]
fn exchange_noreplace_and_create_work_on_ext4() {
    rename_family_on_loop_fs("exchange_noreplace_and_create_work_on_ext4", "ext4");
}

#[test]
fn exchange_noreplace_and_create_work_on_xfs() {
    rename_family_on_loop_fs("exchange_noreplace_and_create_work_on_xfs", "xfs");
}

#[test]
fn exchange_noreplace_and_create_work_on_btrfs() {
    rename_family_on_loop_fs("exchange_noreplace_and_create_work_on_btrfs", "btrfs");
}

#[test]
fn exchange_noreplace_and_create_work_on_tmpfs() {
    if !require_root("exchange_noreplace_and_create_work_on_tmpfs") {
        return;
    }
    let m = Mount::tmpfs("8M");
    check_rename_family(&m, "tmpfs");
}

// ------------------------------------------------------------ classification

/// `inspect_guarantees` names the filesystem and its class, the durability
/// level follows the matrix, and a write/read round trip works under the
/// default `Safety::Strict`.
fn check_classified(m: &Mount, fs_name: &str, class: FsClass) {
    let path = m.path().join("state.json");
    let report =
        inspect_guarantees(&path).unwrap_or_else(|e| panic!("{fs_name}: inspect_guarantees: {e}"));
    let env = report.environment();
    assert_eq!(env.filesystem(), fs_name, "filesystem name:\n{report}");
    assert_eq!(
        env.filesystem_class(),
        class,
        "class of {fs_name}:\n{report}"
    );
    let durability = if class == FsClass::LocalPersistent {
        Level::Guaranteed
    } else {
        Level::BestEffort
    };
    assert_eq!(
        report.level(Guarantee::CrashDurability),
        durability,
        "CrashDurability on {fs_name}:\n{report}"
    );
    assert_eq!(
        report.level(Guarantee::AtomicVisibility),
        Level::Guaranteed,
        "AtomicVisibility on {fs_name}:\n{report}"
    );

    write_atomic(&path, br#"{"v":1}"#)
        .unwrap_or_else(|e| panic!("{fs_name}: write_atomic under Safety::Strict: {e}"));
    write_atomic(&path, br#"{"v":2}"#)
        .unwrap_or_else(|e| panic!("{fs_name}: replacing write under Safety::Strict: {e}"));
    assert_eq!(
        read_atomic(&path).unwrap_or_else(|e| panic!("{fs_name}: read_atomic: {e}")),
        br#"{"v":2}"#,
        "{fs_name}: read back"
    );
    no_leftovers(m.path());
}

fn classified_loop_fs(test: &str, kind: &str) {
    if !require_root(test) || !require_mkfs(test, &[kind]) {
        return;
    }
    let m = Mount::loop_fs(kind, loop_size_mib(kind));
    check_classified(&m, kind, FsClass::LocalPersistent);
}

#[test]
fn ext4_is_detected_as_local_persistent_and_writable_under_strict() {
    classified_loop_fs(
        "ext4_is_detected_as_local_persistent_and_writable_under_strict",
        "ext4",
    );
}

#[test]
fn xfs_is_detected_as_local_persistent_and_writable_under_strict() {
    classified_loop_fs(
        "xfs_is_detected_as_local_persistent_and_writable_under_strict",
        "xfs",
    );
}

#[test]
fn btrfs_is_detected_as_local_persistent_and_writable_under_strict() {
    classified_loop_fs(
        "btrfs_is_detected_as_local_persistent_and_writable_under_strict",
        "btrfs",
    );
}

#[test]
fn tmpfs_is_detected_as_local_memory_and_writable_under_strict() {
    if !require_root("tmpfs_is_detected_as_local_memory_and_writable_under_strict") {
        return;
    }
    let m = Mount::tmpfs("8M");
    check_classified(&m, "tmpfs", FsClass::LocalMemory);
}

#[test]
fn overlay_is_detected_as_overlay_and_writable_under_strict() {
    if !require_root("overlay_is_detected_as_overlay_and_writable_under_strict") {
        return;
    }
    let m = Mount::overlay();
    check_classified(&m, "overlay", FsClass::Overlay);

    // Replacing a file that so far exists only in the lower layer.
    let lower = m.path().join(OVERLAY_LOWER_FILE);
    assert_eq!(
        read_atomic(&lower).expect("read the lower-layer file"),
        OVERLAY_LOWER_CONTENT
    );
    write_atomic(&lower, b"replaced through the overlay")
        .expect("write_atomic over a lower-layer file");
    assert_eq!(
        read_atomic(&lower).expect("read the replaced file"),
        b"replaced through the overlay"
    );
    no_leftovers(m.path());
}

// ---------------------------------------------------------- shutdown, remount

fn acknowledged_write_survives_shutdown(test: &str, kind: &str) {
    if !require_root(test) || !require_mkfs(test, &[kind]) || !require_tools(test, &["xfs_io"]) {
        return;
    }
    let mut m = Mount::loop_fs(kind, loop_size_mib(kind));
    let path = m.path().join("state");
    write_atomic(&path, b"first version").expect("first write");
    write_atomic(&path, b"acknowledged version").expect("acknowledged write");

    m.shutdown();
    let after = m.path().join("after-shutdown");
    assert!(
        write_atomic(&after, b"lost").is_err(),
        "{kind}: a write succeeded after shutdown: the filesystem was not shut down"
    );

    m.remount();
    assert_eq!(
        read_atomic(&path).unwrap_or_else(|e| panic!("{kind}: read after remount: {e}")),
        b"acknowledged version",
        "{kind}: acknowledged write lost by shutdown + remount"
    );
    no_leftovers(m.path());
    write_atomic(&path, b"after remount").expect("write after remount");
    assert_eq!(read_atomic(&path).unwrap(), b"after remount");
}

#[test]
fn acknowledged_write_survives_shutdown_and_remount_on_ext4() {
    acknowledged_write_survives_shutdown(
        "acknowledged_write_survives_shutdown_and_remount_on_ext4",
        "ext4",
    );
}

#[test]
fn acknowledged_write_survives_shutdown_and_remount_on_xfs() {
    acknowledged_write_survives_shutdown(
        "acknowledged_write_survives_shutdown_and_remount_on_xfs",
        "xfs",
    );
}
