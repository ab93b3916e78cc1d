//! A tour of `ErrorKind`: how each kind arises, and what an error carries —
//! its kind (to match on), the operation and step that failed, the path(s),
//! the OS error underneath, a one-line message, and its conversion into
//! `std::io::Error`.
//!
//! Run with `cargo run --example errors`. Paths inside the temporary
//! directory are printed as `<tmp>/…`.

use safeatomic::{
    Algorithm, Error, ErrorKind, SymlinkPolicy, WriteOptions, acquire_lock, atomic_json_load,
    create_atomic, read_atomic, read_atomic_to_string, read_atomic_verified, verify_checksum,
    write_atomic, write_atomic_with,
};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let tmp = dir.path();
    let state = tmp.join("state.json");
    write_atomic(&state, "{}")?;

    // NotFound: the parent directory does not exist. The full anatomy of an
    // error, once; the other cases print kind, step and message.
    let err = expect_err(write_atomic(tmp.join("no-such-dir/state.json"), "{}"))?;
    println!("== NotFound: writing into a missing directory");
    println!("kind:      {:?}", err.kind());
    println!("operation: {:?}", err.operation());
    println!("step:      {}", err.step());
    println!(
        "path:      {}",
        redact(&err.path().display().to_string(), tmp)
    );
    if let Some(io) = err.io_error() {
        println!(
            "os error:  {:?} (errno {:?})",
            io.kind(),
            err.raw_os_error()
        );
    }
    println!("message:   {}", redact(&err.to_string(), tmp));

    // Kinds are matched with a wildcard arm: new kinds may be added.
    let advice = match err.kind() {
        ErrorKind::NotFound => "create the directory first",
        ErrorKind::StorageFull => "free some space and retry",
        ErrorKind::DurabilityUnconfirmed => "the content is in place; the directory fsync failed",
        _ => "report it",
    };
    println!("advice:    {advice}");

    // NotADirectory: a regular file used as a directory.
    show(
        "NotADirectory: a file used as a directory",
        read_atomic(state.join("child")),
        tmp,
    )?;

    // IsADirectory: a directory where a file is expected.
    std::fs::create_dir(tmp.join("subdir"))?;
    show(
        "IsADirectory: a directory as the target",
        write_atomic(tmp.join("subdir"), "x"),
        tmp,
    )?;

    // InvalidInput: a path that cannot name a file, an impossible option, a
    // special file as the target, text that is not UTF-8.
    show("InvalidInput: an empty path", write_atomic("", "x"), tmp)?;
    show(
        "InvalidInput: a mode outside 0o7777",
        write_atomic_with(tmp.join("m"), "x", &WriteOptions::new().mode(0o10_644)),
        tmp,
    )?;
    let socket = tmp.join("app.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket)?;
    show(
        "InvalidInput: a socket as the target",
        write_atomic(&socket, "x"),
        tmp,
    )?;
    let latin1 = tmp.join("latin1.txt");
    write_atomic(&latin1, b"caf\xe9")?;
    show(
        "InvalidInput: text that is not UTF-8",
        read_atomic_to_string(&latin1),
        tmp,
    )?;

    // SymlinkRefused: the target is a symlink and the policy refuses it
    // (the default, SymlinkPolicy::Follow, would replace the file it points to).
    let link = tmp.join("link.json");
    std::os::unix::fs::symlink(&state, &link)?;
    show(
        "SymlinkRefused: SymlinkPolicy::Refuse on a symlink",
        write_atomic_with(
            &link,
            "{}",
            &WriteOptions::new().symlinks(SymlinkPolicy::Refuse),
        ),
        tmp,
    )?;

    // AlreadyExists: create-if-absent when something is there.
    show(
        "AlreadyExists: create_atomic on an existing file",
        create_atomic(&state, "{}"),
        tmp,
    )?;

    // LockTimeout: another holder keeps the lock longer than we wait. Each
    // acquisition has its own open file description, so this works within
    // one process as it does between processes.
    let held = acquire_lock(&state, None)?;
    show(
        "LockTimeout: acquire_lock with a timeout while held",
        acquire_lock(&state, Some(Duration::from_millis(50))),
        tmp,
    )?;
    show(
        "LockTimeout: a write with a lock timeout while held",
        write_atomic_with(
            &state,
            "{\"lost\":true}",
            &WriteOptions::new().lock_timeout(Some(Duration::from_millis(50))),
        ),
        tmp,
    )?;
    drop(held);
    println!(
        "  (nothing was written: {:?})",
        read_atomic_to_string(&state)?
    );

    // ChecksumMissing / ChecksumMismatch: verification against the sidecar.
    show(
        "ChecksumMissing: verifying a file without a sidecar",
        verify_checksum(&state),
        tmp,
    )?;
    let ledger = tmp.join("ledger.txt");
    write_atomic_with(
        &ledger,
        "balance=100\n",
        &WriteOptions::new().checksum(Some(Algorithm::Sha256)),
    )?;
    std::fs::write(&ledger, "balance=900\n")?; // changed behind the library's back
    let err = show(
        "ChecksumMismatch: a file changed behind the library's back",
        read_atomic_verified(&ledger),
        tmp,
    )?;
    if let Some((expected, actual)) = err.checksum_mismatch() {
        println!("  expected {}…, found {}…", &expected[..12], &actual[..12]);
    }

    // Format: content that does not parse; the error has line and column.
    let bad = tmp.join("bad.json");
    write_atomic(&bad, "{\"retries\": 3,\n \"timeout\": }\n")?;
    let err = show(
        "Format: a JSON file that does not parse",
        atomic_json_load::<BTreeMap<String, u32>>(&bad),
        tmp,
    )?;
    println!("  location: {:?}", err.location());

    // UnsupportedEnvironment: Safety::Strict (the default) refuses a
    // filesystem that cannot give the guarantees an operation needs. procfs
    // is not a filesystem the library knows (see the safety_policy example).
    show(
        "UnsupportedEnvironment: a Strict read on /proc",
        read_atomic("/proc/version"),
        tmp,
    )?;

    // PermissionDenied: the OS refuses access. Permission bits do not stop
    // root (CAP_DAC_OVERRIDE), so the outcome depends on who runs this; it
    // is printed on one line.
    let locked_dir = tmp.join("read-only");
    std::fs::create_dir(&locked_dir)?;
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o555))?;
    let outcome = match write_atomic(locked_dir.join("f"), "x") {
        Err(e) => format!("{:?}", e.kind()),
        Ok(()) => "written anyway (running as root: permission bits do not apply)".to_owned(),
    };
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o755))?;
    println!("\n== PermissionDenied: writing into a read-only directory");
    println!("outcome: {outcome}");

    // Into std::io::Error: the kind maps over (NotFound stays NotFound,
    // LockTimeout becomes TimedOut …), the message is kept, and the original
    // error is inside, so `?` works in functions returning io::Result.
    println!("\n== into std::io::Error");
    let io_err = load_config(&tmp.join("missing.toml")).unwrap_err();
    println!("io kind: {:?}", io_err.kind());
    println!("message: {}", redact(&io_err.to_string(), tmp));
    let inner = io_err
        .get_ref()
        .and_then(|e| e.downcast_ref::<Error>())
        .map(Error::kind);
    println!("inner safeatomic kind: {inner:?}");

    // Not shown here: Validation (see typed_store), CrossDevice (a move
    // between two filesystems), UnsupportedOperation (RENAME_EXCHANGE where
    // the filesystem lacks it), StorageFull (ENOSPC, EDQUOT),
    // DurabilityUnconfirmed (the directory fsync after the rename failed:
    // the content is in place, `err.is_committed()` is true) and Io (any
    // other OS error); they need a second filesystem or a failing disk.
    Ok(())
}

/// Any function returning `io::Result` can use `?` on safeatomic calls.
fn load_config(path: &Path) -> std::io::Result<String> {
    Ok(read_atomic_to_string(path)?)
}

/// The error of `result`, which must be one.
fn expect_err<T: std::fmt::Debug>(result: safeatomic::Result<T>) -> Result<Error, String> {
    match result {
        Err(e) => Ok(e),
        Ok(v) => Err(format!("expected an error, got Ok({v:?})")),
    }
}

/// Prints a titled error: its kind, step and message.
fn show<T: std::fmt::Debug>(
    title: &str,
    result: safeatomic::Result<T>,
    tmp: &Path,
) -> Result<Error, String> {
    let err = expect_err(result).map_err(|e| format!("{title}: {e}"))?;
    println!("\n== {title}");
    println!("kind:    {:?} (step: {})", err.kind(), err.step());
    println!("message: {}", redact(&err.to_string(), tmp));
    Ok(err)
}

/// `text` with the temporary directory shown as `<tmp>`.
fn redact(text: &str, tmp: &Path) -> String {
    text.replace(&tmp.display().to_string(), "<tmp>")
}
