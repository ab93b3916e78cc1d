//! Hostile neighbours: another local user (`nobody`) with write access to a
//! directory we write in as root — a sticky, world-writable directory like
//! `/tmp` — plants symlinks, hard links, lock files, sidecars and litter,
//! and switches directory symlinks under a running update. Every scenario
//! asserts the victim's bytes, owner, mode and ACL before and after, and
//! runs on loop-mounted ext4 and xfs (ACLs and extended attributes on).
//!
//! Root only: without root, loop devices, `setpriv` and the `acl` tools the
//! tests print `SKIPPED` (and fail under `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`).
//! docs/security.md lists these attacks with their results.

use common::neighbours::{self, FileState, Neighbourhood, acl, nobody_ids, setfacl};
use common::types::{CheckedCounter, JsonCounter};
use safeatomic::fault::{self, Plan};
use safeatomic::{
    Algorithm, AtomicWriter, CorruptPolicy, ErrorKind, Safety, Store, StoreOptions, WriteOptions,
    acquire_lock, cleanup_litter, force_release_lock, inspect_lock, is_locked,
    read_atomic_verified, release_stale_lock, verify_checksum, write_atomic, write_atomic_locked,
    write_atomic_with, write_checksum_file,
};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::mpsc;

/// Each scenario as a test on ext4 and one on xfs.
macro_rules! on_ext4_and_xfs {
    ($($name:ident),* $(,)?) => {
        mod ext4 {
            $( #[test] fn $name() { super::run("ext4", stringify!($name), super::$name) } )*
        }
        mod xfs {
            $( #[test] fn $name() { super::run("xfs", stringify!($name), super::$name) } )*
        }
    };
}

on_ext4_and_xfs!(
    planted_symlink_in_a_sticky_directory_is_not_followed,
    a_directory_symlink_switched_during_an_update_cannot_redirect_it,
    a_hard_linked_lock_file_is_refused_and_left_untouched,
    another_users_lock_file_in_a_sticky_directory_is_refused,
    new_lock_files_are_no_wider_than_their_target,
    acls_and_extended_attributes_survive_a_replace,
    a_new_file_inherits_the_default_acl_as_open_would,
    an_acl_that_cannot_be_carried_over_refuses_the_write_under_strict,
    planted_sidecars_cannot_make_good_data_look_corrupt,
    a_sidecar_that_cannot_be_cleared_fails_the_write,
    a_checksummed_replace_gives_the_sidecar_the_files_owner_and_mode,
    sweeps_leave_other_users_litter_alone,
    another_users_file_in_a_sticky_directory_is_not_replaced,
);

fn run(kind: &str, name: &str, scenario: fn(&Neighbourhood)) {
    let test = format!("{name}_on_{kind}");
    if !neighbours::require(&test, kind) {
        return;
    }
    let n = Neighbourhood::on(kind);
    scenario(&n);
}

/// A planted symlink in a sticky, world-writable directory, owned by
/// another user, is never followed (whatever `fs.protected_symlinks` says:
/// the library follows the last component itself), dangling or not; a
/// link of root's own there is followed.
fn planted_symlink_in_a_sticky_directory_is_not_followed(n: &Neighbourhood) {
    let secret = n.path("private/secret");
    let before = FileState::of(&secret);
    let private = n.path("private");
    n.as_nobody(&format!(
        "ln -s {0}/secret shared/st.json && ln -s {0}/new-file shared/dangling.json",
        private.display()
    ));
    let (link, dangling) = (n.path("shared/st.json"), n.path("shared/dangling.json"));
    for path in [&link, &dangling] {
        let e = write_atomic(path, b"PWNED").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SymlinkRefused, "{e}");
        assert_eq!(e.path(), path.as_path(), "the error names the link: {e}");
        assert!(e.to_string().contains("protected_symlinks"), "{e}");
        let e = AtomicWriter::create(path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SymlinkRefused, "{e}");
        let e = acquire_lock(path, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SymlinkRefused, "{e}");
        let store = Store::<JsonCounter>::open(path).unwrap();
        let e = store.update(|c| c.n += 1).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SymlinkRefused, "{e}");
        let e = write_checksum_file(path, Algorithm::Sha256).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SymlinkRefused, "{e}");
    }
    assert_eq!(FileState::of(&secret), before);
    let mut left: Vec<_> = fs::read_dir(&private)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["secret"], "nothing created beside the victim");
    assert!(fs::symlink_metadata(&link).unwrap().is_symlink());

    // Root's own link in the same directory is followed, as the kernel would.
    std::os::unix::fs::symlink(private.join("mine"), n.path("shared/mine.json")).unwrap();
    write_atomic(n.path("shared/mine.json"), b"root's").unwrap();
    assert_eq!(fs::read(private.join("mine")).unwrap(), b"root's");
}

/// An update resolves its path once: a directory symlink switched while its
/// closure runs cannot send its commit into the other directory (where it
/// would overwrite updates made under that directory's own lock). The same
/// for a write under a `LockGuard`.
fn a_directory_symlink_switched_during_an_update_cannot_redirect_it(n: &Neighbourhood) {
    let (a, b, cur) = (n.path("public/A"), n.path("public/B"), n.path("public/cur"));
    fs::create_dir(&a).unwrap();
    fs::create_dir(&b).unwrap();
    fs::write(a.join("s.json"), br#"{"n":100}"#).unwrap();
    fs::write(b.join("s.json"), br#"{"n":500}"#).unwrap();
    std::os::unix::fs::symlink("A", &cur).unwrap();
    let switch_to_b = || {
        let tmp = n.path("public/cur.new");
        std::os::unix::fs::symlink("B", &tmp).unwrap();
        fs::rename(&tmp, &cur).unwrap(); // ln -sfn B cur
    };

    let store = Store::<JsonCounter>::open(cur.join("s.json")).unwrap();
    let (entered_tx, entered) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let updater = std::thread::spawn(move || {
        store.update(|c| {
            entered_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            c.n += 1;
        })
    });
    entered.recv().unwrap();
    switch_to_b();
    let in_b = Store::<JsonCounter>::open(b.join("s.json")).unwrap();
    for _ in 0..3 {
        in_b.update(|c| c.n += 1).unwrap(); // acknowledged: 501, 502, 503
    }
    go.send(()).unwrap();
    updater.join().unwrap().unwrap();
    let n_of = |p: &Path| Store::<JsonCounter>::open(p).unwrap().load().unwrap().n;
    assert_eq!(
        n_of(&a.join("s.json")),
        101,
        "the update lands where it locked"
    );
    assert_eq!(n_of(&b.join("s.json")), 503, "no acknowledged update lost");

    // acquire_lock + write_atomic_locked: the guard's directory, not the path's.
    fs::write(a.join("f"), b"a").unwrap();
    fs::write(b.join("f"), b"b").unwrap();
    std::os::unix::fs::symlink("A", n.path("public/cur2")).unwrap();
    let guard = acquire_lock(n.path("public/cur2/f"), None).unwrap();
    let tmp = n.path("public/cur2.new");
    std::os::unix::fs::symlink("B", &tmp).unwrap();
    fs::rename(&tmp, n.path("public/cur2")).unwrap();
    write_atomic_locked(&guard, b"written under A's lock").unwrap();
    drop(guard);
    assert_eq!(fs::read(a.join("f")).unwrap(), b"written under A's lock");
    assert_eq!(fs::read(b.join("f")).unwrap(), b"b");
}

/// A lock file with a second name (a hard link to some other file) is
/// never written to: a write, `release_stale_lock` and inspection refuse
/// it; a verification that needs no lock goes on without it;
/// `force_release_lock` removes only the lock's own name.
fn a_hard_linked_lock_file_is_refused_and_left_untouched(n: &Neighbourhood) {
    let victim = n.path("public/victim");
    fs::write(&victim, vec![b'v'; 4096]).unwrap();
    let t = n.path("public/t");
    write_atomic_with(
        &t,
        b"data",
        &WriteOptions::new().checksum(Some(Algorithm::Sha256)),
    )
    .unwrap();
    fs::remove_file(n.path("public/t.lock")).unwrap();
    fs::hard_link(&victim, n.path("public/t.lock")).unwrap();
    let before = FileState::of(&victim);
    assert_eq!(before.nlink, 2);

    let e = write_atomic(&t, b"new").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Untrusted, "{e}");
    assert!(e.to_string().contains("hard links"), "{e}");
    assert_eq!(fs::read(&t).unwrap(), b"data");
    let e = release_stale_lock(&t).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Untrusted, "{e}");
    assert_eq!(inspect_lock(&t).unwrap_err().kind(), ErrorKind::Untrusted);
    // A mismatching file: verification confirms without the lock.
    fs::write(&t, b"changed behind the library's back").unwrap();
    let e = read_atomic_verified(&t).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ChecksumMismatch, "{e}");
    assert_eq!(FileState::of(&victim), before);

    assert!(force_release_lock(&t).unwrap());
    let after = FileState::of(&victim);
    assert_eq!((after.bytes, after.nlink), (before.bytes, 1));

    // Planted by nobody in the shared directory: nobody's own file.
    n.as_nobody("printf 'nobody data' > shared/mine && ln shared/mine shared/u.lock");
    let mine = n.path("shared/mine");
    let before = FileState::of(&mine);
    let e = write_atomic(n.path("shared/u"), b"x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Untrusted, "{e}");
    assert_eq!(FileState::of(&mine), before);
    assert!(!n.path("shared/u").exists());
}

/// In a sticky directory a lock file of another unprivileged user is
/// refused (they could rename it away while we hold it, splitting the lock
/// between two writers); their file is left as it was.
fn another_users_lock_file_in_a_sticky_directory_is_refused(n: &Neighbourhood) {
    n.as_nobody("printf 'not a payload' > shared/st.json.lock");
    let lock = n.path("shared/st.json.lock");
    let before = FileState::of(&lock);
    let target = n.path("shared/st.json");
    let e = write_atomic(&target, b"{}").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Untrusted, "{e}");
    assert!(e.to_string().contains("sticky"), "{e}");
    let e = Store::<JsonCounter>::open(&target)
        .unwrap()
        .update(|c| c.n += 1)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Untrusted, "{e}");
    assert_eq!(
        acquire_lock(&target, None).unwrap_err().kind(),
        ErrorKind::Untrusted
    );
    assert_eq!(FileState::of(&lock), before);
    assert!(!target.exists());
    // Root's own lock file there is fine (nobody cannot rename it away).
    write_atomic(n.path("shared/ok.json"), b"{}").unwrap();
    assert_eq!(
        fs::metadata(n.path("shared/ok.json.lock")).unwrap().uid(),
        0
    );
}

/// A lock file created for an existing file gets no wider permissions than
/// that file: who can open a lock file can hold it and block its writers.
fn new_lock_files_are_no_wider_than_their_target(n: &Neighbourhood) {
    let target = n.path("shared/p.json");
    fs::write(&target, b"{}").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    write_atomic(&target, br#"{"n":1}"#).unwrap();
    let lock = n.path("shared/p.json.lock");
    assert_eq!(fs::metadata(&lock).unwrap().mode() & 0o777, 0o600);
    // nobody cannot open it, so cannot take (and keep) the flock.
    let out = std::process::Command::new("setpriv")
        .args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "flock",
            "-n",
        ])
        .arg(&lock)
        .arg("true")
        .output()
        .unwrap();
    assert!(!out.status.success(), "nobody could open root's lock file");
    Store::<JsonCounter>::open(&target)
        .unwrap()
        .update(|c| c.n += 1)
        .unwrap();
    // A new file written with an explicit mode: its lock file likewise.
    write_atomic_with(
        n.path("shared/q.json"),
        b"{}",
        &WriteOptions::new().mode(0o600),
    )
    .unwrap();
    let lock = n.path("shared/q.json.lock");
    assert_eq!(fs::metadata(&lock).unwrap().mode() & 0o777, 0o600);
}

/// A replace keeps the replaced file's POSIX ACL (so the owning group, to
/// which the mode's group bits no longer apply, gets no access) and its
/// other extended attributes; the content is new.
fn acls_and_extended_attributes_survive_a_replace(n: &Neighbourhood) {
    let f = n.path("public/f");
    fs::write(&f, b"old").unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o600)).unwrap();
    setfacl(&f, &["-m", "u:daemon:rw,g::---,m::rw"]);
    rustix::fs::setxattr(
        &f,
        "user.origin",
        b"hand-made",
        rustix::fs::XattrFlags::empty(),
    )
    .unwrap();
    let before = FileState::of(&f);
    assert_eq!(before.mode, 0o660, "the group bits show the ACL's mask");
    assert!(before.acl.contains("group::---"), "{}", before.acl);

    let checked = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    for (i, opts) in [WriteOptions::new(), checked].iter().enumerate() {
        let content = format!("new {i}");
        write_atomic_with(&f, &content, opts).unwrap();
        let after = FileState::of(&f);
        assert_eq!(after.bytes, content.as_bytes());
        assert_eq!(
            (after.uid, after.gid, after.mode, &after.acl),
            (before.uid, before.gid, before.mode, &before.acl),
            "write {i}"
        );
        let mut value = [0u8; 64];
        let len = rustix::fs::getxattr(&f, "user.origin", &mut value[..]).unwrap();
        assert_eq!(&value[..len], b"hand-made");
    }
    // Through a store too.
    let s = n.path("public/s.json");
    fs::write(&s, br#"{"n":1}"#).unwrap();
    fs::set_permissions(&s, fs::Permissions::from_mode(0o600)).unwrap();
    setfacl(&s, &["-m", "u:daemon:r,g::---"]);
    let before = acl(&s);
    Store::<JsonCounter>::open(&s)
        .unwrap()
        .update(|c| c.n += 1)
        .unwrap();
    assert_eq!(acl(&s), before);
}

/// A new file in a directory with a default ACL gets exactly what a file
/// created with `open(O_CREAT, 0666)` gets there.
fn a_new_file_inherits_the_default_acl_as_open_would(n: &Neighbourhood) {
    let d = n.path("public/inherit");
    fs::create_dir(&d).unwrap();
    setfacl(&d, &["-d", "-m", "u:daemon:rw,g::r,o::-"]);
    write_atomic(d.join("ours"), b"x").unwrap();
    fs::write(d.join("opened"), b"x").unwrap(); // open(O_CREAT|O_TRUNC, 0666)
    let (ours, opened) = (
        FileState::of(&d.join("ours")),
        FileState::of(&d.join("opened")),
    );
    assert_eq!((ours.mode, &ours.acl), (opened.mode, &opened.acl));
    assert!(
        ours.acl
            .lines()
            .any(|l| l.starts_with("user:") && !l.starts_with("user::")),
        "the default ACL's named user is there: {}",
        ours.acl
    );
}

/// When the ACL cannot be carried over, `Safety::Strict` refuses the
/// write (nothing changes) rather than widen access; `Safety::Warn`
/// proceeds.
fn an_acl_that_cannot_be_carried_over_refuses_the_write_under_strict(n: &Neighbourhood) {
    let f = n.path("public/f");
    fs::write(&f, b"old").unwrap();
    setfacl(&f, &["-m", "u:daemon:rw,g::---,m::rw"]);
    let before = FileState::of(&f);
    let unsupported = rustix::io::Errno::OPNOTSUPP.raw_os_error();
    let (r, t) = fault::inject(Plan::fail_named("fsetxattr", unsupported), || {
        write_atomic(&f, b"new")
    });
    assert!(t.injected.is_some(), "no fsetxattr call: {:?}", t.names());
    let e = r.unwrap_err();
    assert!(e.to_string().contains("ACL"), "{e}");
    assert_eq!(FileState::of(&f), before);
    common::no_leftovers(&n.path("public"));

    let warn = WriteOptions::new().safety(Safety::Warn);
    let (r, _) = fault::inject(Plan::fail_named("fsetxattr", unsupported), || {
        write_atomic_with(&f, b"new", &warn)
    });
    r.unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"new");
}

/// A sidecar planted by another user is not believed: not a newer one of
/// another algorithm, not a directory. Good data loads, verifies, and is
/// never moved aside.
fn planted_sidecars_cannot_make_good_data_look_corrupt(n: &Neighbourhood) {
    let st = n.path("shared/st.json");
    let store = Store::<CheckedCounter>::open(&st).unwrap();
    store.update(|c| c.n = 7).unwrap();
    let before = FileState::of(&st);
    n.as_nobody(&format!(
        "printf '%s  st.json\\n# algo=sha512\\ntimestamp=2099-01-01T00:00:00.000000+00:00\\n' {} \
         > shared/st.json.sha512",
        "0".repeat(128)
    ));
    let fresh = || Store::<CheckedCounter>::open(&st).unwrap();
    assert_eq!(fresh().load().unwrap().n, 7);
    assert!(verify_checksum(&st).unwrap());
    assert_eq!(read_atomic_verified(&st).unwrap(), before.bytes);
    let aside = Store::<CheckedCounter>::open_with(
        &st,
        StoreOptions::new().on_corrupt(CorruptPolicy::MoveAside),
    )
    .unwrap();
    assert_eq!(aside.load().unwrap().n, 7);
    aside.update(|c| c.n += 1).unwrap();
    assert_eq!(fresh().load().unwrap().n, 8);
    let moved: Vec<_> = fs::read_dir(n.path("shared"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("corrupt"))
        .collect();
    assert!(moved.is_empty(), "good data moved aside: {moved:?}");

    // A directory at the other algorithm's sidecar name: ignored by reads.
    let _ = fs::remove_file(n.path("shared/st.json.sha512"));
    n.as_nobody("mkdir shared/st.json.sha512");
    assert_eq!(fresh().load().unwrap().n, 8);
    assert!(verify_checksum(&st).unwrap());
}

/// A write that cannot remove the other algorithm's sidecar fails (and
/// changes nothing) instead of reporting success beside a sidecar that
/// could be taken for the current one.
fn a_sidecar_that_cannot_be_cleared_fails_the_write(n: &Neighbourhood) {
    let st = n.path("shared/st.json");
    let store = Store::<CheckedCounter>::open(&st).unwrap();
    store.update(|c| c.n = 1).unwrap();
    n.as_nobody("mkdir shared/st.json.sha512");
    let before = fs::read(&st).unwrap();
    let e = store.update(|c| c.n += 1).unwrap_err();
    assert!(e.to_string().contains("st.json.sha512"), "{e}");
    assert_eq!(fs::read(&st).unwrap(), before);
    let sha256 = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    write_atomic_with(&st, br#"{"n":5}"#, &sha256).unwrap_err();
    assert_eq!(fs::read(&st).unwrap(), before);
    write_checksum_file(&st, Algorithm::Sha256).unwrap_err();
    assert!(verify_checksum(&st).unwrap());
    common::no_leftovers(&n.path("shared"));
}

/// Root's checksummed replace of another user's file (outside a sticky
/// directory) gives the sidecar that user's owner, group and mode: its
/// owner can still read and verify it.
fn a_checksummed_replace_gives_the_sidecar_the_files_owner_and_mode(n: &Neighbourhood) {
    let (uid, gid) = nobody_ids();
    let f = n.path("public/theirs");
    fs::write(&f, b"theirs").unwrap();
    std::os::unix::fs::chown(&f, Some(uid), Some(gid)).unwrap();
    fs::set_permissions(&f, fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic_with(
        &f,
        b"updated by root",
        &WriteOptions::new().checksum(Some(Algorithm::Sha256)),
    )
    .unwrap();
    for p in [f.clone(), n.path("public/theirs.sha256")] {
        let m = fs::metadata(&p).unwrap();
        assert_eq!(
            (m.uid(), m.gid(), m.mode() & 0o777),
            (uid, gid, 0o640),
            "{p:?}"
        );
    }
    n.as_nobody("cd public && sha256sum -c theirs.sha256");
    // write_checksum_file likewise.
    fs::remove_file(n.path("public/theirs.sha256")).unwrap();
    write_checksum_file(&f, Algorithm::Sha512).unwrap();
    let m = fs::metadata(n.path("public/theirs.sha512")).unwrap();
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o777), (uid, gid, 0o640));
}

/// Litter sweeps (a process's first write's, `cleanup_litter`) remove only the sweeping
/// user's own dead temp and probe files: root does not delete other users'
/// files that merely carry our names.
fn sweeps_leave_other_users_litter_alone(n: &Neighbourhood) {
    let theirs = [
        format!("shared/{}", common::temp_name(0x0123_4567_89ab_cdef)),
        format!(
            "shared/{}",
            common::probe_name("0123456789abcdef", "-notes")
        ),
    ];
    n.as_nobody(&format!(
        "printf keep > {} && printf keep > {}",
        theirs[0], theirs[1]
    ));
    let before: Vec<_> = theirs.iter().map(|p| FileState::of(&n.path(p))).collect();
    let ours = n.path(&format!(
        "shared/{}",
        common::temp_name(0xfedc_ba98_7654_3210)
    ));
    fs::write(&ours, b"a dead writer's").unwrap();
    common::sweeping_write(&n.path("shared/x"), b"x").unwrap();
    assert!(!ours.exists(), "root's own litter is swept");
    fs::write(&ours, b"a dead writer's").unwrap();
    assert_eq!(cleanup_litter(n.path("shared")).unwrap(), 1);
    let after: Vec<_> = theirs.iter().map(|p| FileState::of(&n.path(p))).collect();
    assert_eq!(after, before);
}

/// In a sticky, world-writable directory a file planted by another user is
/// not replaced (the kernel's `fs.protected_regular` rule): root's data
/// would end up in a file that user owns.
fn another_users_file_in_a_sticky_directory_is_not_replaced(n: &Neighbourhood) {
    n.as_nobody("printf planted > shared/cfg.json && chmod 666 shared/cfg.json");
    let f = n.path("shared/cfg.json");
    let before = FileState::of(&f);
    let e = write_atomic(&f, b"root's secret config").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("protected_regular"), "{e}");
    assert_eq!(FileState::of(&f), before);
    assert!(!is_locked(&f).unwrap());
}
