//! What happens where a filesystem lacks a `renameat2` flag, and how that is
//! told apart from a request the kernel refuses as invalid.
//!
//! `renameat2` answers `EINVAL` both for "this filesystem does not know
//! RENAME_NOREPLACE / RENAME_EXCHANGE" and for "a directory cannot be moved
//! beneath itself". The first is remembered per device (no-replace moves
//! and `create_atomic` then use `link(2)`); the second must not be, or one
//! bad request would switch every later no-replace move on that device to
//! the two-step fallback.
//!
//! The capability is remembered for the whole process, so the no-replace
//! sequence runs as one test, in its own test binary.

use common::{no_leftovers, tempdir};
use rustix::io::Errno;
use safeatomic::fault::{self, Plan, Trace};
use safeatomic::{
    ErrorKind, create_atomic, exchange_atomic, move_atomic, move_atomic_noreplace, write_atomic,
};
use std::fs;
use std::path::Path;

const NOREPLACE: &str = "renameat2(RENAME_NOREPLACE)";
const EXCHANGE: &str = "renameat2(RENAME_EXCHANGE)";

/// The index of the first call named `name` in `trace`.
#[track_caller]
fn index_of(trace: &Trace, name: &str) -> usize {
    trace
        .names()
        .iter()
        .position(|n| *n == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", trace.names()))
}

fn file(dir: &Path, name: &str, content: &str) {
    fs::write(dir.join(name), content).unwrap();
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn noreplace_fallback_is_learnt_only_from_a_missing_flag_and_still_never_replaces() {
    let d = tempdir();
    let d = d.path();
    fs::create_dir_all(d.join("tree/sub")).unwrap();
    file(d, "tree/sub/keep", "kept");

    // 1. A directory moved beneath itself: the kernel's EINVAL is reported
    //    as invalid input, for every kind of move, and nothing moves.
    for (what, result) in [
        (
            "move_atomic_noreplace",
            move_atomic_noreplace(d.join("tree"), d.join("tree/sub/tree")),
        ),
        (
            "move_atomic",
            move_atomic(d.join("tree"), d.join("tree/sub/tree")),
        ),
        (
            "move_atomic_noreplace onto itself",
            move_atomic_noreplace(d.join("tree"), d.join("tree/tree")),
        ),
        (
            "exchange_atomic",
            exchange_atomic(d.join("tree"), d.join("tree/sub")),
        ),
        (
            "exchange_atomic reversed",
            exchange_atomic(d.join("tree/sub"), d.join("tree")),
        ),
    ] {
        let e = result.expect_err(what);
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{what}: {e}");
        assert!(e.to_string().contains("beneath itself"), "{what}: {e}");
        assert_eq!(read(d, "tree/sub/keep"), "kept", "{what}");
    }

    // 2. ... and was not taken for a missing flag: the next no-replace move
    //    still uses renameat2, not link + unlink.
    file(d, "a", "A");
    let (result, trace) = fault::record(|| move_atomic_noreplace(d.join("a"), d.join("b")));
    result.unwrap();
    assert!(trace.names().contains(&NOREPLACE), "{:?}", trace.names());
    assert!(!trace.names().contains(&"linkat"), "{:?}", trace.names());
    assert_eq!(read(d, "b"), "A");

    // 3. The filesystem says it lacks the flag (EINVAL on a file): the move
    //    falls back to link + unlink in the same call and succeeds.
    file(d, "c", "C");
    let plan = Plan::fail_named(NOREPLACE, Errno::INVAL.raw_os_error());
    let (result, trace) = fault::inject(plan, || move_atomic_noreplace(d.join("c"), d.join("e")));
    result.unwrap();
    let names = trace.names();
    let at = index_of(&trace, NOREPLACE);
    let link = index_of(&trace, "linkat");
    assert!(link > at && names[link + 1] == "unlinkat", "{names:?}");
    assert_eq!(read(d, "e"), "C");
    assert!(!d.join("c").exists());

    // 4. From now on the device is known to lack the flag: no renameat2 is
    //    tried, and the fallback still never replaces.
    file(d, "f", "F");
    let (result, trace) = fault::record(|| move_atomic_noreplace(d.join("f"), d.join("e")));
    assert_eq!(result.unwrap_err().kind(), ErrorKind::AlreadyExists);
    assert!(!trace.names().contains(&NOREPLACE), "{:?}", trace.names());
    assert_eq!(
        (read(d, "f"), read(d, "e")),
        ("F".to_owned(), "C".to_owned())
    );

    // create_atomic publishes through the same fallback.
    let (result, trace) = fault::record(|| create_atomic(d.join("new"), b"N"));
    result.unwrap();
    assert!(!trace.names().contains(&NOREPLACE), "{:?}", trace.names());
    assert!(trace.names().contains(&"linkat"), "{:?}", trace.names());
    assert_eq!(read(d, "new"), "N");
    let e = create_atomic(d.join("new"), b"other").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(read(d, "new"), "N");

    // A directory cannot be hard-linked: without the flag there is no
    // atomic no-replace move for it, and it stays where it was.
    let e = move_atomic_noreplace(d.join("tree"), d.join("tree2")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnsupportedOperation, "{e}");
    assert_eq!(read(d, "tree/sub/keep"), "kept");
    assert!(!d.join("tree2").exists());

    // Plain writes never needed the flag.
    write_atomic(d.join("e"), b"E2").unwrap();
    assert_eq!(read(d, "e"), "E2");
    no_leftovers(d);
}

#[test]
fn an_exchange_the_filesystem_cannot_do_is_unsupported_and_changes_nothing() {
    let d = tempdir();
    let d = d.path();
    file(d, "a", "A");
    file(d, "b", "B");
    let (result, clean) = fault::record(|| exchange_atomic(d.join("a"), d.join("b")));
    result.unwrap();
    assert_eq!(
        (read(d, "a"), read(d, "b")),
        ("B".to_owned(), "A".to_owned())
    );
    index_of(&clean, EXCHANGE);
    fs::create_dir(d.join("dir")).unwrap();
    for errno in [Errno::INVAL, Errno::OPNOTSUPP, Errno::NOSYS] {
        for other in ["b", "dir"] {
            let plan = Plan::fail_named(EXCHANGE, errno.raw_os_error());
            let (result, trace) =
                fault::inject(plan, || exchange_atomic(d.join("a"), d.join(other)));
            assert!(trace.injected.is_some(), "{:?}", trace.names());
            let e = result.unwrap_err();
            assert_eq!(
                e.kind(),
                ErrorKind::UnsupportedOperation,
                "{errno:?} a<->{other}: {e}"
            );
            assert!(!e.to_string().contains("beneath itself"), "{e}");
        }
    }
    assert_eq!(
        (read(d, "a"), read(d, "b")),
        ("B".to_owned(), "A".to_owned())
    );
    assert!(d.join("dir").is_dir());
    no_leftovers(d);
}
