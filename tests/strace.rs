//! The temp file's open flags and creation mode, seen by the kernel
//! (docs/design.md, write step *create*): `O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`, relative to
//! the parent directory's descriptor, with the **final** permission bits
//! at creation (the existing target's mode, an explicit mode, else 0o666
//! so that the umask applies), never a looser mode fixed up later.
//!
//! The fault-injection trace records call names only, so the flags and
//! mode are read from `strace`: each test re-executes this test binary
//! under `strace -f -e trace=openat,open`, running only
//! [`child_performs_one_write`], which does one write when
//! [`CHILD_TARGET`] is set (and nothing in a normal run).
//!
//! Needs `strace` (installed in CI): without it, or where `ptrace` is not
//! allowed, the tests print `SKIPPED` and pass, unless
//! `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`.

use common::mounts;
use safeatomic::{WriteOptions, write_atomic_with};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

/// The target the child writes; unset in a normal test run.
const CHILD_TARGET: &str = "SAFEATOMIC_STRACE_CHILD_TARGET";
/// The explicit mode (octal) the child passes to `WriteOptions::mode`, if set.
const CHILD_MODE: &str = "SAFEATOMIC_STRACE_CHILD_MODE";
/// The name of the child test, run with `--exact`.
const CHILD_TEST: &str = "child_performs_one_write";

/// The child side: one `write_atomic_with` of the target named by
/// [`CHILD_TARGET`]. A no-op in a normal run.
#[test]
fn child_performs_one_write() {
    let Some(target) = std::env::var_os(CHILD_TARGET) else {
        return;
    };
    let mut opts = WriteOptions::new();
    if let Some(mode) = std::env::var_os(CHILD_MODE) {
        let mode = u32::from_str_radix(mode.to_str().unwrap(), 8).unwrap();
        opts = opts.mode(mode);
    }
    write_atomic_with(&target, b"written under strace", &opts).unwrap();
}

/// One `openat` of a temp file, as strace printed it.
#[derive(Debug)]
struct TempOpen {
    dirfd: String,
    /// The path argument as given.
    path: String,
    /// Its last component.
    name: String,
    flags: Vec<String>,
    mode: u32,
    line: String,
}

/// Whether `name` is `.safeatomic-tmp-<16 lowercase hex>.tmp`.
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(common::TEMP_PREFIX)
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|hex| {
            hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
}

/// Parses `PID openat(DIRFD, "NAME", FLAGS, MODE) = FD` (or the
/// `<unfinished ...>` form) when NAME is a temp file name.
fn parse_temp_open(line: &str) -> Option<TempOpen> {
    let call = line.split_once("openat(")?.1;
    let (dirfd, rest) = call.split_once(", \"")?;
    let (path, rest) = rest.split_once("\", ")?;
    let name = path.rsplit('/').next()?;
    if !name.starts_with(common::TEMP_PREFIX) {
        return None;
    }
    let (flags, rest) = rest.split_once(", ")?;
    let mode = rest
        .split([')', ' '])
        .next()
        .and_then(|m| u32::from_str_radix(m, 8).ok());
    Some(TempOpen {
        dirfd: dirfd.to_owned(),
        path: path.to_owned(),
        name: name.to_owned(),
        flags: flags.split('|').map(str::to_owned).collect(),
        // No mode argument (no O_CREAT) shows as u32::MAX: never expected.
        mode: mode.unwrap_or(u32::MAX),
        line: line.to_owned(),
    })
}

/// `strace` must be installed and allowed to trace (ptrace can be denied
/// in containers); otherwise skips `test`.
fn strace_works(test: &str) -> bool {
    if !mounts::require_tools(test, &["strace"]) {
        return false;
    }
    match Command::new("strace")
        .args(["-o", "/dev/null", "true"])
        .stdin(Stdio::null())
        .output()
    {
        Ok(out) if out.status.success() => true,
        Ok(out) => mounts::skip(
            test,
            "a working strace",
            &format!(
                "`strace true` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ),
        Err(e) => mounts::skip(test, "a working strace", &format!("cannot run strace: {e}")),
    }
}

/// Re-runs this binary's [`CHILD_TEST`] under strace to write `target`
/// (with an explicit `mode` if given) and returns the one `openat` of a
/// temp file it made.
fn traced_temp_open(target: &Path, mode: Option<u32>) -> TempOpen {
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("strace.log");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-s", "4096", "-e", "trace=openat,?open", "-o"])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--test-threads=1"])
        .env(CHILD_TARGET, target)
        .env_remove(CHILD_MODE)
        .stdin(Stdio::null());
    if let Some(mode) = mode {
        cmd.env(CHILD_MODE, format!("{mode:o}"));
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "traced child failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child test did not run (renamed?):\n{stdout}"
    );
    let text = fs::read_to_string(&log).unwrap();
    let mut opens: Vec<TempOpen> = text.lines().filter_map(parse_temp_open).collect();
    assert_eq!(
        opens.len(),
        1,
        "expected exactly one openat of a temp file:\n{text}"
    );
    opens.pop().unwrap()
}

/// The checks every temp file open must pass, whatever the mode.
#[track_caller]
fn assert_temp_open_is_safe(open: &TempOpen) {
    assert!(is_temp_name(&open.name), "temp name: {}", open.line);
    for flag in ["O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_CLOEXEC"] {
        assert!(
            open.flags.iter().any(|f| f == flag),
            "the temp file is opened without {flag}: {}",
            open.line
        );
    }
    assert!(
        !open.flags.iter().any(|f| f == "O_TRUNC"),
        "O_TRUNC on a temp file: {}",
        open.line
    );
    // Relative to the parent directory's descriptor (docs/design.md, write step *resolve*),
    // never through a path from the current directory.
    assert!(
        open.dirfd.parse::<u32>().is_ok() && !open.path.contains('/'),
        "the temp file is not opened relative to the directory fd: {}",
        open.line
    );
}

#[test]
fn a_new_targets_temp_file_is_created_exclusively_with_0o666() {
    if !strace_works("a_new_targets_temp_file_is_created_exclusively_with_0o666") {
        return;
    }
    let d = common::tempdir();
    let target = d.path().join("new");
    let open = traced_temp_open(&target, None);
    assert_temp_open_is_safe(&open);
    assert_eq!(
        format!("{:o}", open.mode),
        "666",
        "a new file's temp must be created 0666 (the umask applies): {}",
        open.line
    );
    assert_eq!(fs::read(&target).unwrap(), b"written under strace");
    common::no_leftovers(d.path());
}

#[test]
fn an_existing_0o600_targets_temp_file_is_created_0o600() {
    if !strace_works("an_existing_0o600_targets_temp_file_is_created_0o600") {
        return;
    }
    let d = common::tempdir();
    let target = d.path().join("secret");
    fs::write(&target, b"old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    let open = traced_temp_open(&target, None);
    assert_temp_open_is_safe(&open);
    assert_eq!(
        format!("{:o}", open.mode),
        "600",
        "the temp file must never be looser than the target it replaces: {}",
        open.line
    );
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    common::no_leftovers(d.path());
}

#[test]
fn an_explicit_mode_is_the_temp_files_creation_mode() {
    if !strace_works("an_explicit_mode_is_the_temp_files_creation_mode") {
        return;
    }
    let d = common::tempdir();
    let target = d.path().join("shared");
    // Over an existing, looser file: the explicit mode wins at creation.
    fs::write(&target, b"old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o666)).unwrap();
    let open = traced_temp_open(&target, Some(0o640));
    assert_temp_open_is_safe(&open);
    assert_eq!(format!("{:o}", open.mode), "640", "{}", open.line);
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    common::no_leftovers(d.path());
}

#[test]
fn the_strace_parser_reads_flags_and_mode() {
    // The parser itself, on lines as strace 6 prints them, so a format it
    // misreads fails here rather than passing vacuously above.
    let line = r#"4242 openat(3, ".safeatomic-tmp-0123456789abcdef.tmp", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0640) = 5"#;
    let open = parse_temp_open(line).unwrap();
    assert_eq!((open.dirfd.as_str(), open.mode), ("3", 0o640));
    assert_temp_open_is_safe(&open);
    let unfinished = r#"4243 openat(7, ".safeatomic-tmp-0123456789abcdef.tmp", O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0666 <unfinished ...>"#;
    assert_eq!(parse_temp_open(unfinished).unwrap().mode, 0o666);
    let other = r#"4242 openat(AT_FDCWD, "/etc/ld.so.cache", O_RDONLY|O_CLOEXEC) = 3"#;
    assert!(parse_temp_open(other).is_none());
    assert!(!is_temp_name(".safeatomic-tmp-0123.tmp"));
}
