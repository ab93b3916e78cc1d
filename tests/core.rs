//! Behaviour of the atomic-file core on the machine's own filesystem (or the
//! one named by `SAFEATOMIC_TEST_DIR`): permissions, symlink policies, bad
//! input, streaming writes, reader snapshots, renames.

use common::{no_leftovers, tempdir};
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

/// Every name in `dir` with its content (or link target), for "nothing changed" checks.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let meta = fs::symlink_metadata(&p).unwrap();
            let content = if meta.file_type().is_symlink() {
                fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec()
            } else if meta.is_file() {
                fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            (p, content)
        })
        .collect();
    out.sort();
    out
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
    // Only root may give a file away; as anyone else the file simply gets
    // the writer's ids (checked: no error).
    let d = tempdir();
    let p = d.path().join("owned");
    fs::write(&p, b"old").unwrap();
    let me = fs::metadata(&p).unwrap();
    if me.uid() == 0 {
        std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
        write_atomic(&p, b"new").unwrap();
        let m = fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid()), (65534, 65534));
        write_atomic_with(&p, b"newer", &WriteOptions::new().preserve_owner(false)).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().uid(), 0);
    } else {
        write_atomic(&p, b"new").unwrap();
        assert_eq!(fs::metadata(&p).unwrap().uid(), me.uid());
    }
}

#[test]
fn setuid_bits_survive_an_ownership_change() {
    let d = tempdir();
    let p = d.path().join("tool");
    fs::write(&p, b"old").unwrap();
    if fs::metadata(&p).unwrap().uid() != 0 {
        return; // chown to another user needs root
    }
    std::os::unix::fs::chown(&p, Some(65534), Some(65534)).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o4755)).unwrap();
    write_atomic(&p, b"new").unwrap();
    assert_eq!(
        mode_of(&p),
        0o4755,
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
    let planted = d.path().join(".safeatomic-tmp-0123456789abcdef.tmp");
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
    assert!(e.to_string().contains("no\u{fffd}dir"), "{e}");
    no_leftovers(d.path());
}

#[test]
fn a_read_only_directory_is_permission_denied_and_unchanged() {
    let d = tempdir();
    let ro = d.path().join("ro");
    fs::create_dir(&ro).unwrap();
    let target = ro.join("f");
    fs::write(&target, b"old").unwrap();
    let is_root = fs::metadata(&ro).unwrap().uid() == 0;
    // Root ignores directory permission bits; a read-only mount binds root too.
    let mounted = if is_root {
        let ok = std::process::Command::new("mount")
            .args(["--bind", "-o", "ro"])
            .arg(&ro)
            .arg(&ro)
            .status()
            .is_ok_and(|s| s.success());
        let remount = ok
            && std::process::Command::new("mount")
                .args(["-o", "remount,bind,ro"])
                .arg(&ro)
                .status()
                .is_ok_and(|s| s.success());
        if !remount {
            eprintln!(
                "SKIPPED a_read_only_directory_is_permission_denied_and_unchanged: cannot bind-mount read-only"
            );
            return;
        }
        true
    } else {
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o555)).unwrap();
        false
    };
    let result = write_atomic(&target, b"new");
    let content = fs::read(&target).unwrap();
    let left = common::leftovers(&ro);
    if mounted {
        std::process::Command::new("umount")
            .arg(&ro)
            .status()
            .unwrap();
    } else {
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let e = result.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert_eq!(e.path(), target);
    assert_eq!(content, b"old");
    assert!(left.is_empty(), "{left:?}");
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

// ---------------------------------------------------------------- docs

#[test]
fn docs_matrix_agrees_with_the_code() {
    use safeatomic::{FsClass, Guarantee};
    let doc = include_str!("../docs/guarantees.md");
    let table = doc
        .split("<!-- matrix:begin -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- matrix:end -->").next())
        .expect("matrix markers in docs/guarantees.md");
    let mut rows = table.lines().filter(|l| l.starts_with('|')).skip(2);
    for class in FsClass::ALL {
        let row = rows.next().unwrap_or_else(|| panic!("no row for {class}"));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(cells[1], class.name(), "row order");
        let levels: Vec<String> = Guarantee::ALL
            .iter()
            .map(|g| class.level(*g).to_string())
            .collect();
        assert_eq!(
            &cells[3..11],
            levels.as_slice(),
            "docs row for {class} differs from the code"
        );
    }
    assert!(
        rows.next().is_none(),
        "the docs have more rows than the code has classes"
    );
}

/// The litter sweep lists the directory on every write; the directory is
/// opened `O_NOATIME` so that listing does not update its atime (under
/// `relatime` it would on every write, because every write changes the
/// directory's mtime: decision 0007).
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
        write_atomic(&path, format!("write {i}")).unwrap();
    }
    let after_writes = fs::metadata(d.path()).unwrap().atime();
    // Control: a plain listing does update the atime on this mount, so the
    // assertion below can fail.
    fs::read_dir(d.path()).unwrap().for_each(drop);
    let after_listing = fs::metadata(d.path()).unwrap().atime();
    if after_listing == 86_400 {
        eprintln!(
            "SKIPPED writes_leave_the_directory_atime_alone: this mount does not update \
             atimes (noatime?), so nothing can be checked"
        );
        return;
    }
    assert_eq!(
        after_writes, 86_400,
        "a write updated the directory's atime"
    );
    set_old_atime();
}
