//! Behaviour of the atomic-file core on the machine's own filesystem (or the
//! one named by `SAFEATOMIC_TEST_DIR`): permissions, symlink policies, bad
//! input, streaming writes, reader snapshots, renames.

use common::{mounts, no_leftovers, snapshot, tempdir};
use safeatomic::{
    AtomicReader, AtomicWriter, ErrorKind, SymlinkPolicy, WriteOptions, create_atomic,
    exchange_atomic, move_atomic, move_atomic_noreplace, read_atomic, read_atomic_to_string,
    write_atomic, write_atomic_with,
};
use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};

fn mode_of(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

fn umask() -> u32 {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .unwrap();
    u32::from_str_radix(line.trim(), 8).unwrap()
}

// ---------------------------------------------------------------- permissions

#[test]
fn new_file_gets_0o666_minus_umask() {
    let d = tempdir();
    let p = d.path().join("new");
    write_atomic(&p, b"x").unwrap();
    assert_eq!(mode_of(&p), 0o666 & !umask());
}

#[test]
fn existing_mode_is_preserved_even_when_the_umask_would_strip_it() {
    let d = tempdir();
    for mode in [0o600, 0o640, 0o664, 0o606, 0o777] {
        let p = d.path().join(format!("f{mode:o}"));
        fs::write(&p, b"old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        write_atomic(&p, b"new").unwrap();
        assert_eq!(mode_of(&p), mode, "mode {mode:o} not kept");
        assert_eq!(fs::read(&p).unwrap(), b"new");
    }
    no_leftovers(d.path());
}

#[test]
fn temp_file_is_never_more_permissive_than_the_final_file() {
    let d = tempdir();
    let p = d.path().join("secret");
    fs::write(&p, b"old").unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
    let mut w = AtomicWriter::create(&p).unwrap();
    w.write_all(b"new secret").unwrap();
    w.flush().unwrap();
    let temps: Vec<_> = common::leftovers(d.path());
    assert_eq!(temps.len(), 1, "expected exactly one temp file: {temps:?}");
    let temp_mode = mode_of(&d.path().join(&temps[0]));
    assert_eq!(
        temp_mode & !0o600,
        0,
        "temp file mode {temp_mode:o} is looser than 0o600"
    );
    w.commit().unwrap();
    assert_eq!(mode_of(&p), 0o600);
}

#[test]
fn explicit_mode_overrides_umask_and_existing_mode() {
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic_with(&p, b"a", &WriteOptions::new().mode(0o640)).unwrap();
    assert_eq!(mode_of(&p), 0o640);
    write_atomic_with(&p, b"b", &WriteOptions::new().mode(0o777)).unwrap();
    assert_eq!(
        mode_of(&p),
        0o777,
        "umask must not apply to an explicit mode"
    );
    write_atomic(&p, b"c").unwrap();
    assert_eq!(mode_of(&p), 0o777, "the explicit mode is then preserved");
}

#[test]
fn invalid_mode_is_rejected_before_any_io() {
    let d = tempdir();
    let p = d.path().join("f");
    let e = write_atomic_with(&p, b"a", &WriteOptions::new().mode(0o17777)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.path(), p);
    assert!(snapshot(d.path()).is_empty());
}

#[test]
fn owner_is_kept_when_permitted() {
    // Only root may give a file away, so only root can check that the
    // owner is kept; anyone else checks only that the write succeeds, and
    // the test reports itself skipped (a failure in CI).
    let d = tempdir();
    let p = d.path().join("owned");
    fs::write(&p, b"old").unwrap();
    if !mounts::require_root_user("owner_is_kept_when_permitted") {
        write_atomic(&p, b"new").unwrap();
        return;
    }
    std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
    write_atomic(&p, b"new").unwrap();
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.uid(), m.gid()), (65534, 65534));
    write_atomic_with(&p, b"newer", &WriteOptions::new().preserve_owner(false)).unwrap();
    assert_eq!(fs::metadata(&p).unwrap().uid(), 0);
}

#[test]
fn setuid_bits_survive_an_ownership_change() {
    // chown to another user needs root.
    if !mounts::require_root_user("setuid_bits_survive_an_ownership_change") {
        return;
    }
    let d = tempdir();
    let p = d.path().join("tool");
    fs::write(&p, b"old").unwrap();
    std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o4755)).unwrap();
    write_atomic(&p, b"new").unwrap();
    assert_eq!(
        (fs::metadata(&p).unwrap().uid(), mode_of(&p)),
        (65534, 0o4755),
        "fchown clears set-user-ID; the mode must be fixed after it"
    );
}

// ---------------------------------------------------------------- symlinks

#[test]
fn follow_replaces_the_real_file_and_keeps_the_link() {
    let d = tempdir();
    let real_dir = d.path().join("dotfiles");
    fs::create_dir(&real_dir).unwrap();
    let real = real_dir.join("bashrc");
    fs::write(&real, b"old").unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o640)).unwrap();
    let link = d.path().join(".bashrc");
    symlink("dotfiles/bashrc", &link).unwrap();

    write_atomic(&link, b"new").unwrap();

    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read_link(&link).unwrap(), Path::new("dotfiles/bashrc"));
    assert_eq!(fs::read(&real).unwrap(), b"new");
    assert_eq!(mode_of(&real), 0o640, "mode comes from the real file");
    no_leftovers(d.path());
    no_leftovers(&real_dir);
}

#[test]
fn follow_walks_chains_and_creates_a_dangling_links_target() {
    let d = tempdir();
    let a = d.path().join("a");
    let b = d.path().join("b");
    symlink("b", &a).unwrap();
    symlink(d.path().join("c"), &b).unwrap(); // absolute, dangling
    write_atomic(&a, b"made").unwrap();
    assert_eq!(fs::read(d.path().join("c")).unwrap(), b"made");
    assert!(fs::symlink_metadata(&a).unwrap().file_type().is_symlink());
    assert!(fs::symlink_metadata(&b).unwrap().file_type().is_symlink());
}

#[test]
fn symlink_loops_are_an_error_not_a_hang() {
    let d = tempdir();
    symlink("y", d.path().join("x")).unwrap();
    symlink("x", d.path().join("y")).unwrap();
    let before = snapshot(d.path());
    let e = write_atomic(d.path().join("x"), b"z").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SymlinkRefused);
    assert_eq!(snapshot(d.path()), before);
}

#[test]
fn refuse_policy_refuses_a_symlink_and_changes_nothing() {
    let d = tempdir();
    let real = d.path().join("real");
    fs::write(&real, b"keep").unwrap();
    let link = d.path().join("link");
    symlink("real", &link).unwrap();
    let before = snapshot(d.path());
    let opts = WriteOptions::new().symlinks(SymlinkPolicy::Refuse);
    let e = write_atomic_with(&link, b"new", &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::SymlinkRefused);
    assert_eq!(e.path(), link);
    assert_eq!(snapshot(d.path()), before);
    // A regular file is written normally under Refuse.
    write_atomic_with(&real, b"ok", &opts).unwrap();
    assert_eq!(fs::read(&real).unwrap(), b"ok");
}

#[test]
fn replace_link_policy_replaces_the_link_itself() {
    let d = tempdir();
    let real = d.path().join("real");
    fs::write(&real, b"untouched").unwrap();
    let link = d.path().join("link");
    symlink("real", &link).unwrap();
    write_atomic_with(
        &link,
        b"file now",
        &WriteOptions::new().symlinks(SymlinkPolicy::ReplaceLink),
    )
    .unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().is_file());
    assert_eq!(fs::read(&link).unwrap(), b"file now");
    assert_eq!(fs::read(&real).unwrap(), b"untouched");
    assert_eq!(
        mode_of(&link),
        0o666 & !umask(),
        "a replaced link gets a new file's mode"
    );
}

#[test]
fn a_symlinked_parent_directory_is_resolved_under_every_policy() {
    let d = tempdir();
    let real_dir = d.path().join("real");
    fs::create_dir(&real_dir).unwrap();
    symlink("real", d.path().join("alias")).unwrap();
    for policy in [
        SymlinkPolicy::Follow,
        SymlinkPolicy::Refuse,
        SymlinkPolicy::ReplaceLink,
    ] {
        let p = d.path().join("alias").join("f");
        write_atomic_with(
            &p,
            format!("{policy:?}"),
            &WriteOptions::new().symlinks(policy),
        )
        .unwrap();
        assert_eq!(
            fs::read_to_string(real_dir.join("f")).unwrap(),
            format!("{policy:?}")
        );
    }
    no_leftovers(&real_dir);
}

#[test]
fn a_symlink_planted_under_a_temp_name_is_neither_followed_nor_removed() {
    let d = tempdir();
    let victim_dir = tempdir();
    let victim = victim_dir.path().join("victim");
    fs::write(&victim, b"precious").unwrap();
    let planted = d.path().join(common::temp_name(0x0123_4567_89ab_cdef));
    symlink(&victim, &planted).unwrap();
    write_atomic(d.path().join("target"), b"data").unwrap();
    safeatomic::cleanup_litter(d.path()).unwrap();
    assert_eq!(fs::read(&victim).unwrap(), b"precious");
    assert!(
        fs::symlink_metadata(&planted)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(fs::read(d.path().join("target")).unwrap(), b"data");
}

#[test]
fn a_symlink_planted_at_the_target_under_refuse_never_redirects_the_write() {
    let d = tempdir();
    let victim_dir = tempdir();
    let victim = victim_dir.path().join("passwd");
    fs::write(&victim, b"root:x:0:0").unwrap();
    let target = d.path().join("state");
    symlink(&victim, &target).unwrap();
    let opts = WriteOptions::new().symlinks(SymlinkPolicy::Refuse);
    assert_eq!(
        write_atomic_with(&target, b"evil", &opts)
            .unwrap_err()
            .kind(),
        ErrorKind::SymlinkRefused
    );
    assert_eq!(fs::read(&victim).unwrap(), b"root:x:0:0");
    no_leftovers(victim_dir.path());
}

// ---------------------------------------------------------------- bad input

#[test]
fn a_directory_as_target_is_refused_with_its_path() {
    let d = tempdir();
    let sub = d.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let before = snapshot(d.path());
    for p in [sub.clone(), PathBuf::from(format!("{}/", sub.display()))] {
        let e = write_atomic(&p, b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::IsADirectory, "{p:?}");
        assert_eq!(e.path(), p);
        assert!(e.to_string().contains(&sub.display().to_string()), "{e}");
    }
    assert_eq!(
        read_atomic(&sub).unwrap_err().kind(),
        ErrorKind::IsADirectory
    );
    assert_eq!(snapshot(d.path()), before);
    no_leftovers(&sub);
}

#[test]
fn a_missing_parent_is_not_found_and_nothing_is_created() {
    let d = tempdir();
    let p = d.path().join("missing").join("f");
    let e = write_atomic(&p, b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.path(), p);
    assert!(snapshot(d.path()).is_empty());
    assert_eq!(read_atomic(&p).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        AtomicWriter::create(&p).unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[test]
fn empty_and_dot_paths_are_invalid_input() {
    for p in ["", ".", "..", "a/.", "a/.."] {
        let e = write_atomic(p, b"x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{p:?}");
        assert_eq!(e.path(), Path::new(p));
    }
    assert_eq!(
        write_atomic("/", b"x").unwrap_err().kind(),
        ErrorKind::IsADirectory
    );
}

#[test]
fn a_special_file_at_the_target_is_refused_and_left_alone() {
    let d = tempdir();
    let fifo = d.path().join("fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let e = write_atomic(&fifo, b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo_like()
    );
    // Reading a FIFO must not hang either.
    assert_eq!(
        read_atomic(&fifo).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    no_leftovers(d.path());
}

trait IsFifo {
    fn is_fifo_like(&self) -> bool;
}
impl IsFifo for fs::FileType {
    fn is_fifo_like(&self) -> bool {
        std::os::unix::fs::FileTypeExt::is_fifo(self)
    }
}

#[test]
fn non_utf8_names_work_and_errors_still_show_them() {
    use std::ffi::OsStr;
    let d = tempdir();
    let p = d.path().join(OsStr::from_bytes(b"caf\xe9.json"));
    write_atomic(&p, b"ok").unwrap();
    assert_eq!(read_atomic(&p).unwrap(), b"ok");
    let missing = d.path().join(OsStr::from_bytes(b"no\xffdir")).join("f");
    let e = write_atomic(&missing, b"x").unwrap_err();
    assert_eq!(e.path(), missing);
    // The byte that is not UTF-8 is shown escaped, as control characters
    // are: an error stays one printable line naming the exact file.
    assert!(e.to_string().contains("no\\xffdir"), "{e}");
    let newline = d.path().join("a\nb").join("f");
    let e = write_atomic(&newline, b"x").unwrap_err();
    assert!(e.to_string().contains("a\\nb"), "{e}");
    assert_eq!(e.to_string().lines().count(), 1, "{e}");
    no_leftovers(d.path());
}

#[test]
fn a_read_only_directory_is_permission_denied_and_unchanged() {
    const TEST: &str = "a_read_only_directory_is_permission_denied_and_unchanged";
    let d = tempdir();
    let ro = d.path().join("ro");
    fs::create_dir(&ro).unwrap();
    let target = ro.join("f");
    fs::write(&target, b"old").unwrap();
    // Declared after `d`: made writable again before it is removed.
    let Some(read_only) = mounts::ReadOnlyDir::new(TEST, &ro) else {
        return;
    };
    let before = snapshot(&ro);
    let result = write_atomic(&target, b"new");
    let after = snapshot(&ro);
    drop(read_only);
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(e.path(), target);
    assert_eq!(after, before, "a refused write changed the directory");
    assert_eq!(fs::read(&target).unwrap(), b"old");
}

#[test]
fn errors_convert_to_io_errors_with_the_matching_kind() {
    let d = tempdir();
    let e = write_atomic(d.path().join("nope/f"), b"x").unwrap_err();
    let io: std::io::Error = e.into();
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(io.to_string().contains("nope/f"), "{io}");
}

// ---------------------------------------------------------------- streaming writer

#[test]
fn a_panic_mid_write_leaves_the_old_content_and_no_temp_file() {
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic(&p, b"old").unwrap();
    let result = std::panic::catch_unwind(|| {
        let mut w = AtomicWriter::create(&p).unwrap();
        w.write_all(&vec![b'x'; 200_000]).unwrap();
        panic!("boom");
    });
    assert!(result.is_err());
    assert_eq!(fs::read(&p).unwrap(), b"old");
    no_leftovers(d.path());
}

#[test]
fn an_error_mid_write_leaves_the_old_content_and_no_temp_file() {
    fn produce(w: &mut AtomicWriter) -> std::io::Result<()> {
        w.write_all(b"partial")?;
        Err(std::io::Error::other("upstream failed"))
    }
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic(&p, b"old").unwrap();
    let mut w = AtomicWriter::create(&p).unwrap();
    assert!(produce(&mut w).is_err());
    drop(w);
    assert_eq!(fs::read(&p).unwrap(), b"old");
    no_leftovers(d.path());
}

#[test]
fn discard_publishes_nothing() {
    let d = tempdir();
    let p = d.path().join("never");
    let mut w = AtomicWriter::create(&p).unwrap();
    w.write_all(b"draft").unwrap();
    w.flush().unwrap();
    w.discard();
    assert!(!p.exists());
    no_leftovers(d.path());
}

#[test]
fn nothing_is_visible_until_commit() {
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic(&p, b"v1").unwrap();
    let mut w = AtomicWriter::create(&p).unwrap();
    w.write_all(&vec![7u8; 300_000]).unwrap();
    w.flush().unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"v1");
    assert_eq!(w.path(), p);
    w.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), vec![7u8; 300_000]);
    no_leftovers(d.path());
}

#[test]
fn streamed_writes_of_mixed_chunk_sizes_arrive_in_order() {
    let d = tempdir();
    let p = d.path().join("big");
    let mut expected = Vec::new();
    let mut w = AtomicWriter::create(&p).unwrap();
    for i in 0..400u32 {
        // Chunks from 1 byte to ~150 KiB exercise the buffer and the direct path.
        let len = ((i * 7919) % 150_000) as usize + 1;
        let chunk: Vec<u8> = (0..len).map(|j| (i as usize + j) as u8).collect();
        w.write_all(&chunk).unwrap();
        expected.extend_from_slice(&chunk);
    }
    w.commit().unwrap();
    assert_eq!(fs::read(&p).unwrap(), expected);
}

// ---------------------------------------------------------------- readers

#[test]
fn a_reader_keeps_its_snapshot_while_the_file_is_replaced() {
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic(&p, b"version one").unwrap();
    let mut r = AtomicReader::open(&p).unwrap();
    assert_eq!(r.len(), 11);
    let mut first = [0u8; 7];
    r.read_exact(&mut first).unwrap();
    write_atomic(&p, b"VERSION TWO, longer").unwrap();
    let mut rest = String::new();
    r.read_to_string(&mut rest).unwrap();
    assert_eq!(
        format!("{}{rest}", std::str::from_utf8(&first).unwrap()),
        "version one"
    );
    r.seek(SeekFrom::Start(8)).unwrap();
    let mut tail = String::new();
    r.read_to_string(&mut tail).unwrap();
    assert_eq!(tail, "one");
    assert_eq!(read_atomic_to_string(&p).unwrap(), "VERSION TWO, longer");
}

#[test]
fn read_to_string_rejects_invalid_utf8() {
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic(&p, b"ok\xff").unwrap();
    assert_eq!(
        read_atomic_to_string(&p).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn empty_files_round_trip() {
    let d = tempdir();
    let p = d.path().join("empty");
    write_atomic(&p, b"").unwrap();
    assert_eq!(read_atomic(&p).unwrap(), b"");
    assert!(AtomicReader::open(&p).unwrap().is_empty());
}

// ---------------------------------------------------------------- create / move / exchange

#[test]
fn create_atomic_publishes_once_and_never_replaces() {
    let d = tempdir();
    let p = d.path().join("init");
    create_atomic(&p, b"first").unwrap();
    let e = create_atomic(&p, b"second").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.path(), p);
    assert_eq!(fs::read(&p).unwrap(), b"first");
    // Anything at the name counts, even a dangling symlink.
    let link = d.path().join("dangling");
    symlink("nowhere", &link).unwrap();
    assert_eq!(
        create_atomic(&link, b"x").unwrap_err().kind(),
        ErrorKind::AlreadyExists
    );
    assert!(!d.path().join("nowhere").exists());
    no_leftovers(d.path());
}

#[test]
fn moves_replace_refuse_and_report_both_paths() {
    let d = tempdir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    fs::write(&a, b"A").unwrap();
    fs::write(&b, b"B").unwrap();
    let e = move_atomic_noreplace(&a, &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(
        (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
        (b"A".to_vec(), b"B".to_vec())
    );
    move_atomic(&a, &b).unwrap();
    assert!(!a.exists());
    assert_eq!(fs::read(&b).unwrap(), b"A");
    let e = move_atomic(&a, &b).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.path(), a);
    assert_eq!(e.other_path(), Some(b.as_path()));
    let c = d.path().join("sub").join("c");
    fs::create_dir(d.path().join("sub")).unwrap();
    move_atomic_noreplace(&b, &c).unwrap();
    assert_eq!(fs::read(&c).unwrap(), b"A");
}

#[test]
fn exchange_swaps_and_needs_both_sides() {
    let d = tempdir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    fs::write(&a, b"A").unwrap();
    fs::write(&b, b"B").unwrap();
    exchange_atomic(&a, &b).unwrap();
    assert_eq!(
        (fs::read(&a).unwrap(), fs::read(&b).unwrap()),
        (b"B".to_vec(), b"A".to_vec())
    );
    let e = exchange_atomic(&a, d.path().join("missing")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(fs::read(&a).unwrap(), b"B");
}

// ---------------------------------------------------------------- safety gate

/// A procfs file: procfs is a filesystem the library does not recognise
/// (class `unknown`), so every guarantee but CrossDeviceSafety is
/// `Unsupported` there and `Safety::Strict` must refuse. The one
/// non-target filesystem every Linux machine has, without root or NFS.
const PROC_FILE: &str = "/proc/self/status";

/// The calls that change a directory or a file, or begin a write (a temp
/// name, a lock): none may happen before a refusal, nor in an inspection.
const MUTATING: &[&str] = &[
    "renameat",
    "renameat2(RENAME_NOREPLACE)",
    "renameat2(RENAME_EXCHANGE)",
    "linkat",
    "unlinkat",
    "write",
    "pwrite",
    "ftruncate",
    "fchmod",
    "fchown",
    "fsync",
    "mkdirat",
    "flock(LOCK_EX)",
    "flock(LOCK_EX|LOCK_NB)",
];

#[track_caller]
fn assert_refused_before_any_change(
    what: &str,
    result: safeatomic::Result<()>,
    trace: &safeatomic::fault::Trace,
) -> safeatomic::Error {
    let e = result.expect_err(what);
    // The kernel's own answer (EXDEV, EPERM, EINVAL, ENOENT …) would be
    // another kind: this one proves the library decided, not the kernel.
    assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment, "{what}: {e}");
    assert_eq!(e.step(), "safety check", "{what}: {e}");
    let names = trace.names();
    let made: Vec<&&str> = names.iter().filter(|n| MUTATING.contains(n)).collect();
    assert!(
        made.is_empty(),
        "{what} was refused only after {made:?}: {names:?}"
    );
    e
}

#[test]
fn strict_moves_on_a_non_target_filesystem_are_refused_before_any_rename() {
    use safeatomic::fault;
    assert_eq!(
        safeatomic::inspect_guarantees(PROC_FILE)
            .unwrap()
            .environment()
            .filesystem_class(),
        safeatomic::FsClass::Unknown,
        "the test relies on procfs being a non-target filesystem"
    );
    let (src, other) = (Path::new(PROC_FILE), Path::new("/proc/self/stat"));
    let dst = Path::new("/proc/self/safeatomic-moved");
    // The refusal names both paths, like every move error.
    let (r, t) = fault::record(|| move_atomic(src, dst));
    let e = assert_refused_before_any_change("move_atomic", r, &t);
    assert_eq!((e.path(), e.other_path()), (src, Some(dst)));
    let (r, t) = fault::record(|| move_atomic_noreplace(src, dst));
    let e = assert_refused_before_any_change("move_atomic_noreplace", r, &t);
    assert_eq!((e.path(), e.other_path()), (src, Some(dst)));
    let (r, t) = fault::record(|| exchange_atomic(src, other));
    let e = assert_refused_before_any_change("exchange_atomic", r, &t);
    assert_eq!((e.path(), e.other_path()), (src, Some(other)));
    assert!(e.to_string().contains("Unsupported"), "{e}");
}

#[test]
fn strict_writes_on_a_non_target_filesystem_are_refused_before_the_lock_or_temp_file() {
    use safeatomic::fault;
    let target = Path::new("/proc/self/safeatomic-test");
    let (r, t) = fault::record(|| write_atomic(target, b"x"));
    let e = assert_refused_before_any_change("write_atomic", r, &t);
    assert_eq!(e.path(), target);
    let (r, t) = fault::record(|| AtomicWriter::create(target).map(drop));
    assert_refused_before_any_change("AtomicWriter::create", r, &t);
    let (r, t) = fault::record(|| create_atomic(target, b"x"));
    assert_refused_before_any_change("create_atomic", r, &t);
    let opts = WriteOptions::new().lock(false);
    let (r, t) = fault::record(|| write_atomic_with(target, b"x", &opts));
    assert_refused_before_any_change("write_atomic_with(lock(false))", r, &t);
    let (r, t) = fault::record(|| {
        safeatomic::write_checksum_file(PROC_FILE, safeatomic::Algorithm::Sha256).map(drop)
    });
    assert_refused_before_any_change("write_checksum_file", r, &t);
}

#[test]
fn strict_reads_on_a_non_target_filesystem_are_refused_and_warn_or_best_effort_proceed() {
    use safeatomic::fault;
    use safeatomic::{ReadOptions, Safety, read_atomic_with};
    // Warn first: it also fills the per-device cache, so the refused read
    // below makes no call for the mount table.
    let warned = read_atomic_with(PROC_FILE, &ReadOptions::new().safety(Safety::Warn)).unwrap();
    assert!(warned.starts_with(b"Name:"), "{warned:?}");
    let quiet =
        read_atomic_with(PROC_FILE, &ReadOptions::new().safety(Safety::BestEffort)).unwrap();
    assert!(quiet.starts_with(b"Name:"), "{quiet:?}");
    let (r, t) = fault::record(|| read_atomic(PROC_FILE));
    let e = r.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment, "{e}");
    assert_eq!(e.path(), Path::new(PROC_FILE));
    assert!(e.to_string().contains("ReaderConsistency"), "{e}");
    // Refused before the file is opened: the only open is its directory's.
    let names = t.names();
    assert_eq!(
        names.iter().filter(|n| **n == "openat").count(),
        1,
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| matches!(*n, "read" | "pread")),
        "{names:?}"
    );
    let e = read_atomic_with(
        PROC_FILE,
        &ReadOptions::new().safety(Safety::Strict).verify(true),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment, "{e}");
    assert_eq!(
        AtomicReader::open(PROC_FILE).unwrap_err().kind(),
        ErrorKind::UnsupportedEnvironment
    );
}

// ---------------------------------------------------------------- inspection

/// The calls that learn a filesystem's name from the mount table: opening
/// and reading `/proc/self/mountinfo` (safeatomic/src/sys/statfs.rs).
fn reads_mount_table(trace: &safeatomic::fault::Trace) -> bool {
    trace.names().iter().any(|n| matches!(*n, "read" | "pread"))
}

#[test]
fn inspect_guarantees_follows_a_symlink_to_where_a_write_would_land() {
    let shm = Path::new("/dev/shm");
    if !safeatomic::inspect_guarantees(shm)
        .is_ok_and(|r| r.environment().filesystem_class() == safeatomic::FsClass::LocalMemory)
    {
        mounts::skip(
            "inspect_guarantees_follows_a_symlink_to_where_a_write_would_land",
            "a tmpfs at /dev/shm",
            "not there",
        );
        return;
    }
    let d = tempdir();
    let here = safeatomic::inspect_guarantees(d.path().join("x")).unwrap();
    if here.environment().device()
        == safeatomic::inspect_guarantees(shm)
            .unwrap()
            .environment()
            .device()
    {
        mounts::skip(
            "inspect_guarantees_follows_a_symlink_to_where_a_write_would_land",
            "a temp dir on another filesystem than /dev/shm",
            "the temp dir is on /dev/shm",
        );
        return;
    }
    let elsewhere = tempfile::tempdir_in(shm).unwrap();
    let file = elsewhere.path().join("state.json");
    // To a file that does not exist yet, to one that does, to a directory.
    symlink(&file, d.path().join("to-new-file")).unwrap();
    let class = |p: &Path| {
        safeatomic::inspect_guarantees(p)
            .unwrap()
            .environment()
            .filesystem_class()
    };
    assert_eq!(
        class(&d.path().join("to-new-file")),
        safeatomic::FsClass::LocalMemory
    );
    fs::write(&file, b"x").unwrap();
    assert_eq!(
        class(&d.path().join("to-new-file")),
        safeatomic::FsClass::LocalMemory
    );
    symlink(elsewhere.path(), d.path().join("to-dir")).unwrap();
    assert_eq!(
        class(&d.path().join("to-dir")),
        safeatomic::FsClass::LocalMemory
    );
    // The report keeps the path as given; a plain name is its own directory's.
    let report = safeatomic::inspect_guarantees(d.path().join("to-dir")).unwrap();
    assert_eq!(report.path(), d.path().join("to-dir"));
    assert_eq!(
        class(&d.path().join("plain")),
        here.environment().filesystem_class()
    );
    // Where the write through the link really lands.
    write_atomic(d.path().join("to-new-file"), b"y").unwrap();
    assert_eq!(fs::read(&file).unwrap(), b"y");
}

#[test]
fn inspect_guarantees_is_cached_per_device_and_tells_devices_apart() {
    use safeatomic::{FsClass, fault, inspect_guarantees};
    const TEST: &str = "inspect_guarantees_is_cached_per_device_and_tells_devices_apart";
    let d = tempdir();
    let here = d.path().join("state.json");
    let here_dev = fs::metadata(d.path()).unwrap().dev();
    // A second device: /dev/shm (tmpfs), or /proc (procfs, unrecognised)
    // when /dev/shm is missing or holds the temp dir itself
    // (SAFEATOMIC_TEST_DIR=/dev/shm/...).
    let magic = |p: &Path| rustix::fs::statfs(p).map(|s| s.f_type as u64).ok();
    let candidates = [
        ("/dev/shm", 0x0102_1994, "tmpfs", FsClass::LocalMemory),
        ("/proc", 0x9fa0, "proc", FsClass::Unknown),
    ];
    let Some(&(other, _, fs_name, class)) = candidates.iter().find(|(p, m, _, _)| {
        let p = Path::new(p);
        magic(p) == Some(*m) && fs::metadata(p).is_ok_and(|m| m.dev() != here_dev)
    }) else {
        mounts::skip(
            TEST,
            "a second device",
            "neither /dev/shm (tmpfs) nor /proc is usable",
        );
        return;
    };
    let other = Path::new(other);
    let before = snapshot(d.path());
    let (first, _) = fault::record(|| inspect_guarantees(&here).unwrap());
    let (second, t) = fault::record(|| inspect_guarantees(&here).unwrap());
    assert!(
        !reads_mount_table(&t),
        "the second inspection of one device read the mount table again: {:?}",
        t.names()
    );
    // What every inspection makes: the directory's fstat and fstatfs (the
    // cache key is device *and* statfs magic, since loop devices reuse
    // device numbers), nothing else on the way to the cache.
    let names = t.names();
    assert_eq!(
        names.iter().filter(|n| **n == "fstatfs").count(),
        1,
        "{names:?}"
    );
    assert_eq!(first, second);
    assert_eq!(second.environment().device(), here_dev);

    let (tmp, t) = fault::record(|| inspect_guarantees(other).unwrap());
    let env = tmp.environment();
    assert_eq!(
        (env.filesystem(), env.filesystem_class()),
        (fs_name, class),
        "{env:?}"
    );
    assert_eq!(env.device(), fs::metadata(other).unwrap().dev());
    assert_ne!(env.device(), second.environment().device());
    for g in safeatomic::Guarantee::ALL {
        assert_eq!(tmp.level(g), class.level(g), "{g}");
    }
    let (again, t2) = fault::record(|| inspect_guarantees(other).unwrap());
    assert!(
        !reads_mount_table(&t2),
        "{:?} then {:?}",
        t.names(),
        t2.names()
    );
    assert_eq!(again.environment(), tmp.environment());
    // The first device's entry is untouched by the second's.
    assert_eq!(inspect_guarantees(&here).unwrap(), second);
    assert_eq!(snapshot(d.path()), before, "inspection created a file");
}

#[test]
fn inspect_guarantees_creates_and_writes_nothing() {
    use safeatomic::{fault, inspect_guarantees};
    let d = tempdir();
    let file = d.path().join("absent.json");
    let sub = d.path().join("sub");
    fs::create_dir(&sub).unwrap();
    let before = snapshot(d.path());
    let mut names = Vec::new();
    for p in [file.as_path(), sub.as_path(), d.path()] {
        let (r, t) = fault::record(|| inspect_guarantees(p));
        r.unwrap();
        names.extend(t.names());
    }
    let made: Vec<_> = names.iter().filter(|n| MUTATING.contains(n)).collect();
    assert!(made.is_empty(), "inspection made {made:?}: {names:?}");
    assert_eq!(snapshot(d.path()), before);
    assert!(snapshot(&sub).is_empty());
    assert!(!file.exists());
}

// ---------------------------------------------------------------- docs

/// The cells of a Markdown table row, trimmed, without the outer pipes.
fn cells(row: &str) -> Vec<&str> {
    let row = row.trim();
    let inner = row
        .strip_prefix('|')
        .and_then(|r| r.strip_suffix('|'))
        .unwrap_or_else(|| panic!("not a table row: {row:?}"));
    inner.split('|').map(str::trim).collect()
}

#[test]
fn docs_matrix_agrees_with_the_code() {
    use safeatomic::{FsClass, Guarantee};
    let doc = include_str!("../docs/guarantees.md");
    let table = doc
        .split("<!-- matrix:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- matrix:end -->").next())
        .expect("matrix markers in docs/guarantees.md");
    let mut rows = table.lines().filter(|l| l.starts_with('|'));
    let header = cells(rows.next().expect("a header row"));
    let mut expected = vec!["class", "filesystems"];
    expected.extend(Guarantee::ALL.iter().map(|g| g.name()));
    assert_eq!(
        header, expected,
        "docs/guarantees.md: the matrix's columns are not the guarantees in code order"
    );
    let separator = cells(rows.next().expect("a separator row"));
    assert_eq!(separator.len(), expected.len(), "separator row width");
    for class in FsClass::ALL {
        let row = rows.next().unwrap_or_else(|| panic!("no row for {class}"));
        let cells = cells(row);
        assert_eq!(cells.len(), expected.len(), "row width for {class}: {row}");
        assert_eq!(cells[0], class.name(), "row order");
        let levels: Vec<String> = Guarantee::ALL
            .iter()
            .map(|g| class.level(*g).to_string())
            .collect();
        assert_eq!(
            &cells[2..],
            levels.as_slice(),
            "docs row for {class} differs from the code"
        );
    }
    assert!(
        rows.next().is_none(),
        "the docs have more rows than the code has classes"
    );
}

/// The crate documentation (safeatomic/src/lib.rs) repeats the guarantee
/// list and a shortened matrix (`G`/`B`/`N`/`U`, guarantees by their
/// initials); both must say what the code says.
#[test]
fn crate_doc_matrix_agrees_with_the_code() {
    use safeatomic::{FsClass, Guarantee, Level};
    let source = include_str!("../safeatomic/src/lib.rs");
    let doc: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(str::trim)
        .collect();
    // Each table: the rows of the first table after the line starting with `intro`.
    let table = |intro: &str| -> Vec<Vec<&str>> {
        let at = doc
            .iter()
            .position(|l| l.starts_with(intro))
            .unwrap_or_else(|| panic!("lib.rs crate docs: no line starting with {intro:?}"));
        doc[at..]
            .iter()
            .skip_while(|l| !l.starts_with('|'))
            .take_while(|l| l.starts_with('|'))
            .map(|l| cells(l))
            .collect()
    };
    let initials =
        |g: Guarantee| -> String { g.name().chars().filter(char::is_ascii_uppercase).collect() };
    let letter = |l: Level| l.name()[..1].to_owned();

    let meanings = table("# Guarantees and limits");
    assert_eq!(meanings[0], ["guarantee", "meaning"]);
    let names: Vec<&str> = meanings[2..].iter().map(|r| r[0]).collect();
    let expected: Vec<&str> = Guarantee::ALL.iter().map(|g| g.name()).collect();
    assert_eq!(names, expected, "lib.rs: the guarantee list");

    let matrix = table("The level of each guarantee per filesystem class");
    let mut header = vec!["class".to_owned()];
    header.extend(Guarantee::ALL.iter().map(|g| initials(*g)));
    assert_eq!(matrix[0], header, "lib.rs: the matrix's columns");
    assert_eq!(
        matrix.len(),
        2 + FsClass::ALL.len(),
        "lib.rs: one row per class"
    );
    for (class, row) in FsClass::ALL.iter().zip(&matrix[2..]) {
        let name = row[0].split(" (").next().unwrap();
        assert_eq!(name, class.name(), "lib.rs: row order");
        let levels: Vec<String> = Guarantee::ALL
            .iter()
            .map(|g| letter(class.level(*g)))
            .collect();
        assert_eq!(&row[1..], levels.as_slice(), "lib.rs: the row for {class}");
    }
    // The legend spells out each letter.
    for level in [
        Level::Guaranteed,
        Level::BestEffort,
        Level::NonTarget,
        Level::Unsupported,
    ] {
        let entry = format!("{} = [`Level::{}`]", letter(level), level.name());
        assert!(
            doc.iter().any(|l| l.contains(&entry)),
            "lib.rs: the legend lacks {entry:?}"
        );
    }
}

/// A process's first write in a directory lists it for litter; the
/// directory is opened `O_NOATIME` so that listing does not update its
/// atime (under `relatime` it would, because every write changes the
/// directory's mtime: decision 0007). Each write here is run as the first
/// of a process, so each lists. Linux only: under the portable backend
/// (decision 0013) the opposite is checked.
#[test]
fn writes_leave_the_directory_atime_alone() {
    use std::os::unix::fs::MetadataExt as _;
    use std::time::{Duration, UNIX_EPOCH};
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic(&path, "first").unwrap();
    let old = UNIX_EPOCH + Duration::from_secs(86_400);
    let set_old_atime = || {
        fs::File::open(d.path())
            .unwrap()
            .set_times(fs::FileTimes::new().set_accessed(old))
            .unwrap();
    };
    set_old_atime();
    for i in 0..3 {
        common::sweeping_write(&path, format!("write {i}").as_bytes()).unwrap();
    }
    let after_writes = fs::metadata(d.path()).unwrap().atime();
    // Control: a plain listing does update the atime on this mount, so the
    // assertion below can fail.
    fs::read_dir(d.path()).unwrap().for_each(drop);
    let after_listing = fs::metadata(d.path()).unwrap().atime();
    if after_listing == 86_400 {
        // Straight to the stderr handle, so the skip shows in a passing run.
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED writes_leave_the_directory_atime_alone: this mount does not update \
             atimes (noatime?), so nothing can be checked"
        );
        return;
    }
    if cfg!(safeatomic_portable) {
        // The portable backend (macOS, FreeBSD) has no O_NOATIME: its
        // listing updates the atime like any other. This also shows that
        // the portable build really runs the portable backend.
        assert_ne!(
            after_writes, 86_400,
            "the portable backend's writes left the atime alone: is it the Linux backend?"
        );
    } else {
        assert_eq!(
            after_writes, 86_400,
            "a write updated the directory's atime"
        );
    }
    set_old_atime();
}

/// The README's Rust examples read as plain programs where it is rendered
/// (no hidden `# ` doctest lines, which a Markdown renderer shows), and are
/// compiled as doctests (`safeatomic::ReadmeDoctests`).
#[test]
fn the_readme_examples_have_no_hidden_lines() {
    let readme = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let mut in_rust = false;
    let mut blocks = 0;
    for (n, line) in readme.lines().enumerate() {
        if let Some(info) = line.strip_prefix("```") {
            in_rust = !in_rust && info.starts_with("rust");
            blocks += usize::from(in_rust);
            continue;
        }
        assert!(
            !(in_rust && (line == "#" || line.starts_with("# "))),
            "README.md:{}: a hidden doctest line shows on GitHub: {line}",
            n + 1
        );
    }
    assert!(blocks >= 2, "the README's Rust examples are gone");
}
