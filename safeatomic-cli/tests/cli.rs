//! The `safeatomic` binary, run as a shell would run it: exit statuses,
//! stdout, the one-line stderr of failures, and what ends up on disk.
//!
//! Tests that need loop-mounted filesystems start with
//! `common::mounts::require_root` (a visible SKIPPED line without root, a
//! failure under `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`).

use common::mounts::{Mount, require_mkfs, require_root};
use common::{no_leftovers, tempdir};
use safeatomic::Guarantee;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_safeatomic");

/// `safeatomic ARGS...` as a `Command`.
macro_rules! sa {
    ($($arg:expr),* $(,)?) => {{
        let mut cmd = Command::new(BIN);
        $( cmd.arg($arg); )*
        cmd
    }};
}

/// Runs `cmd` with `stdin` as its standard input, to its end.
fn run_with(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn safeatomic");
    let mut input = child.stdin.take().expect("stdin pipe");
    // The tool may exit early (usage error) and close its end: ignore EPIPE.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait for safeatomic")
}

/// Runs `cmd` with an empty standard input.
fn run(cmd: Command) -> Output {
    run_with(cmd, b"")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit status 0 and nothing on stderr.
#[track_caller]
fn assert_ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "expected success; stderr: {}",
        stderr(out)
    );
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(out));
}

/// Exit status `code`, nothing on stdout, and exactly one line on stderr:
/// `safeatomic: …` containing `needle`. Returns the line.
#[track_caller]
fn assert_fails(out: &Output, code: i32, needle: &str) -> String {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(code), "stderr: {err}");
    assert!(out.stdout.is_empty(), "stdout: {}", stdout(out));
    assert_one_line(&err, needle)
}

/// `err` is one line `safeatomic: …` containing `needle`.
#[track_caller]
fn assert_one_line(err: &str, needle: &str) -> String {
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.ends_with('\n'), "no final newline: {err:?}");
    assert!(err.starts_with("safeatomic: "), "{err:?}");
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    err.trim_end().to_owned()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", stdout(out)))
}

/// Waits until `path` exists (a child process signalling progress).
#[track_caller]
fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits for `child` (at most 20 s, then kills it and fails).
#[track_caller]
fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("safeatomic did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().expect("collect output")
}

fn spawn(mut cmd: Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn safeatomic")
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

// ---------------------------------------------------------------- write / cat

#[test]
fn write_then_cat_round_trips_binary_data() {
    let d = tempdir();
    let path = d.path().join("data.bin");
    let mut data: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    data.extend_from_slice(b"\0\0tail\0");
    assert_ok(&run_with(sa!["write", &path], &data));
    assert_eq!(fs::read(&path).unwrap(), data);
    let out = run(sa!["cat", &path]);
    assert_ok(&out);
    assert_eq!(out.stdout, data, "cat printed different bytes");
    no_leftovers(d.path());
}

#[test]
fn write_prints_nothing_and_replaces_an_existing_file() {
    let d = tempdir();
    let path = d.path().join("state");
    fs::write(&path, b"old content, longer than the new").unwrap();
    let out = run_with(sa!["write", &path], b"new");
    assert_ok(&out);
    assert!(out.stdout.is_empty());
    assert_eq!(fs::read(&path).unwrap(), b"new");
}

/// An empty standard input (closed, or a producer that died before
/// writing) must not blank a file: refused unless `--allow-empty`.
#[test]
fn empty_stdin_is_refused_unless_allowed() {
    let d = tempdir();
    let path = d.path().join("empty");
    assert_fails(&run(sa!["write", &path]), 1, "standard input is empty");
    assert!(!path.exists());
    fs::write(&path, b"something").unwrap();
    let err = assert_fails(&run(sa!["write", &path]), 1, "--allow-empty");
    assert!(err.contains("nothing written"), "{err}");
    assert_eq!(fs::read(&path).unwrap(), b"something");
    // A closed standard input (`<&-`) reads as empty.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("exec {BIN} write \"$0\" <&-"))
        .arg(&path)
        .output()
        .unwrap();
    assert_fails(&out, 1, "standard input is empty");
    // A producer that died before writing, without pipefail.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("false | {BIN} write \"$0\""))
        .arg(&path)
        .output()
        .unwrap();
    assert_fails(&out, 1, "standard input is empty");
    assert_eq!(fs::read(&path).unwrap(), b"something");

    assert_ok(&run(sa!["write", "--allow-empty", &path]));
    assert_eq!(fs::read(&path).unwrap(), b"");
    let out = run(sa!["cat", &path]);
    assert_ok(&out);
    assert!(out.stdout.is_empty());
    let fresh = d.path().join("fresh");
    assert_ok(&run(sa!["write", "--allow-empty", &fresh]));
    assert_eq!(fs::metadata(&fresh).unwrap().len(), 0);
    no_leftovers(d.path());
}

/// The peak resident memory (`VmHWM`) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `write` streams standard input: a large input (1 GiB by default,
/// `SAFEATOMIC_BIG_MIB` to change) goes through with flat memory, hashed in
/// the same pass, and nothing is visible at PATH before its end.
#[test]
fn write_streams_a_large_stdin_with_flat_memory() {
    let mib: usize = std::env::var("SAFEATOMIC_BIG_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let d = tempdir();
    let path = d.path().join("big.bin");
    fs::write(&path, b"old").unwrap();
    let mut child = sa!["write", "--checksum", &path]
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let chunk: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    for _ in 0..mib {
        input.write_all(&chunk).unwrap();
    }
    // Everything is written but the input is not closed: nothing published.
    assert_eq!(fs::read(&path).unwrap(), b"old");
    let peak = peak_rss_kib(child.id()).expect("VmHWM of the writer");
    drop(input);
    let out = finish(child);
    assert_ok(&out);
    assert_eq!(fs::metadata(&path).unwrap().len(), (mib as u64) << 20);
    assert!(
        peak < 64 * 1024,
        "peak RSS {peak} KiB for a {mib} MiB input: memory is not flat"
    );
    let gnu = Command::new("sha256sum")
        .arg("-c")
        .arg("--strict")
        .arg("big.bin.sha256")
        .current_dir(d.path())
        .output()
        .unwrap();
    assert!(gnu.status.success(), "{gnu:?}");
    eprintln!("{mib} MiB through `safeatomic write --checksum`; peak RSS {peak} KiB");
}

#[test]
fn write_mode_sets_exact_permission_bits() {
    let d = tempdir();
    let path = d.path().join("token");
    assert_ok(&run_with(sa!["write", "--mode", "600", &path], b"s3cret"));
    assert_eq!(mode_of(&path), 0o600);
    assert_ok(&run_with(sa!["write", "--mode", "0640", &path], b"s3cret"));
    assert_eq!(mode_of(&path), 0o640);
    // Without --mode, the mode of the replaced file is kept.
    assert_ok(&run_with(sa!["write", &path], b"again"));
    assert_eq!(mode_of(&path), 0o640);
}

#[test]
fn no_lock_creates_no_lock_file() {
    let d = tempdir();
    let unlocked = d.path().join("unlocked");
    assert_ok(&run_with(sa!["write", "--no-lock", &unlocked], b"x"));
    assert!(unlocked.exists());
    assert!(
        !d.path().join("unlocked.lock").exists(),
        "--no-lock created a lock file"
    );
    // The default takes the lock (and keeps its file).
    let locked = d.path().join("locked");
    assert_ok(&run_with(sa!["write", &locked], b"x"));
    assert!(d.path().join("locked.lock").exists());
}

#[test]
fn every_safety_value_is_accepted_and_others_are_a_usage_error() {
    let d = tempdir();
    let path = d.path().join("f");
    for value in ["strict", "warn", "best-effort"] {
        let out = run_with(sa!["write", "--safety", value, &path], value.as_bytes());
        assert_eq!(out.status.code(), Some(0), "{value}: {}", stderr(&out));
        assert_eq!(fs::read(&path).unwrap(), value.as_bytes());
    }
    let out = run_with(sa!["write", "--safety", "yolo", &path], b"no");
    let line = assert_fails(&out, 2, "yolo");
    assert!(line.contains("best-effort"), "{line}");
    assert_eq!(fs::read(&path).unwrap(), b"best-effort");
}

#[test]
fn safety_warn_warns_on_tmpfs_where_strict_and_best_effort_are_silent() {
    if !require_root("safety_warn_warns_on_tmpfs_where_strict_and_best_effort_are_silent") {
        return;
    }
    // CrashDurability is BestEffort on tmpfs: Strict proceeds silently,
    // Warn proceeds with a warning, BestEffort proceeds silently.
    let m = Mount::tmpfs("8M");
    let path = m.path().join("f");
    for value in ["strict", "best-effort"] {
        let out = run_with(sa!["write", "--safety", value, &path], value.as_bytes());
        assert_ok(&out);
        assert_eq!(fs::read(&path).unwrap(), value.as_bytes());
    }
    let out = run_with(sa!["write", "--safety", "warn", &path], b"warn");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let line = assert_one_line(&stderr(&out), "warning");
    assert!(line.contains("CrashDurability"), "{line}");
    assert_eq!(fs::read(&path).unwrap(), b"warn");
}

#[test]
fn cat_to_a_closed_pipe_ends_quietly() {
    let d = tempdir();
    let path = d.path().join("big");
    fs::write(&path, vec![b'x'; 4 << 20]).unwrap();
    let mut child = sa!["cat", &path]
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // `| head -c0`
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(141), "stderr: {}", stderr(&out));
    assert!(out.stderr.is_empty(), "stderr: {}", stderr(&out));
}

// ------------------------------------------------------------------ checksums

#[test]
fn write_checksum_sidecar_is_accepted_by_sha256sum() {
    let d = tempdir();
    let path = d.path().join("payload.bin");
    assert_ok(&run_with(
        sa!["write", "--checksum", &path],
        b"checked\0bytes",
    ));
    let sidecar = d.path().join("payload.bin.sha256");
    assert!(sidecar.exists());
    let out = Command::new("sha256sum")
        .args(["-c", "payload.bin.sha256"])
        .current_dir(d.path())
        .output()
        .expect("run sha256sum");
    assert_eq!(out.status.code(), Some(0), "sha256sum -c: {out:?}");
    assert!(stdout(&out).contains("payload.bin: OK"), "{out:?}");
}

#[test]
fn write_checksum_sha512_is_accepted_by_sha512sum() {
    let d = tempdir();
    let path = d.path().join("payload.bin");
    assert_ok(&run_with(sa!["write", "--checksum", &path], b"first"));
    assert_ok(&run_with(
        sa!["write", "--checksum=sha512", &path],
        b"second",
    ));
    assert!(d.path().join("payload.bin.sha512").exists());
    assert!(
        !d.path().join("payload.bin.sha256").exists(),
        "the old sha256 sidecar was kept"
    );
    let out = Command::new("sha512sum")
        .args(["-c", "payload.bin.sha512"])
        .current_dir(d.path())
        .output()
        .expect("run sha512sum");
    assert_eq!(out.status.code(), Some(0), "sha512sum -c: {out:?}");
    // `--checksum ALGO` (without `=`) does not take ALGO as the value.
    let out = run_with(sa!["write", "--checksum=md5", &path], b"x");
    assert_fails(&out, 2, "md5");
}

#[test]
fn cat_verify_prints_exactly_the_verified_bytes_or_nothing() {
    let d = tempdir();
    let path = d.path().join("state.json");
    let data = b"{\"runs\":1}\n\0";
    assert_ok(&run_with(sa!["write", "--checksum", &path], data));
    let out = run(sa!["cat", "--verify", &path]);
    assert_ok(&out);
    assert_eq!(out.stdout, data);

    fs::write(&path, b"{\"runs\":2}\n\0").unwrap(); // behind the tool's back
    let out = run(sa!["cat", "--verify", &path]);
    let line = assert_fails(&out, 1, "checksum mismatch");
    assert!(line.contains("state.json"), "{line}");

    // Without a sidecar there is nothing to verify against: an error too.
    let bare = d.path().join("bare");
    fs::write(&bare, b"unchecked").unwrap();
    let out = run(sa!["cat", "--verify", &bare]);
    assert_fails(&out, 1, "sidecar");
}

#[test]
fn checksum_write_and_verify_report_each_outcome_distinctly() {
    let d = tempdir();
    let path = d.path().join("backup.tar");
    fs::write(&path, b"archive bytes").unwrap();

    let out = run(sa!["checksum", "write", &path]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("backup.tar.sha256"),
        "{}",
        stdout(&out)
    );
    let out = run(sa!["checksum", "verify", &path]);
    assert_ok(&out);
    assert_eq!(stdout(&out), format!("{}: OK (sha256)\n", path.display()));

    fs::write(&path, b"archive bytez").unwrap();
    let mismatch = assert_fails(&run(sa!["checksum", "verify", &path]), 1, "mismatch");

    let out = run(sa!["checksum", "write", "--algo", "sha512", &path]);
    assert_ok(&out);
    assert!(!d.path().join("backup.tar.sha256").exists());
    assert_ok(&run(sa!["checksum", "verify", &path]));
    let wrong_algo = assert_fails(
        &run(sa!["checksum", "verify", "--algo", "sha256", &path]),
        1,
        "sha256",
    );

    fs::write(d.path().join("backup.tar.sha512"), b"garbage\n").unwrap();
    let malformed = assert_fails(&run(sa!["checksum", "verify", &path]), 1, "malformed");

    fs::remove_file(d.path().join("backup.tar.sha512")).unwrap();
    let missing = assert_fails(
        &run(sa!["checksum", "verify", &path]),
        1,
        "no checksum sidecar",
    );

    let lines = [&mismatch, &wrong_algo, &malformed, &missing];
    for (i, a) in lines.iter().enumerate() {
        for b in &lines[i + 1..] {
            assert_ne!(a, b);
        }
    }
    assert!(!missing.contains("mismatch") && !malformed.contains("mismatch"));
}

// ---------------------------------------------------------------------- locks

#[test]
fn lock_run_excludes_a_concurrent_write_and_flock() {
    let d = tempdir();
    let path = d.path().join("state");
    let (ready, ended) = (d.path().join("ready"), d.path().join("ended"));
    let script = format!(
        "touch '{}'; sleep 1; echo done > '{}'",
        ready.display(),
        ended.display()
    );
    let holder = spawn(sa!["lock", "run", &path, "--", "sh", "-c", &script]);
    wait_for(&ready);

    // flock(1) on the same lock file cannot take it meanwhile.
    let flock = Command::new("flock")
        .arg("-n")
        .arg(d.path().join("state.lock"))
        .arg("true")
        .status()
        .expect("run flock");
    assert_eq!(
        flock.code(),
        Some(1),
        "flock -n got the lock during lock run"
    );

    let started = Instant::now();
    let out = run_with(sa!["write", &path], b"written after the lock run");
    assert_ok(&out);
    assert!(
        ended.exists(),
        "the write returned before the locked command ended"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(fs::read(&path).unwrap(), b"written after the lock run");

    let out = finish(holder);
    assert_ok(&out);
    // Released: flock gets it now.
    let flock = Command::new("flock")
        .arg("-n")
        .arg(d.path().join("state.lock"))
        .arg("true")
        .status()
        .unwrap();
    assert_eq!(flock.code(), Some(0));
}

#[test]
fn lock_run_exits_with_the_commands_status() {
    let d = tempdir();
    let path = d.path().join("state");
    let out = run(sa!["lock", "run", &path, "--", "sh", "-c", "exit 7"]);
    assert_eq!(out.status.code(), Some(7));
    assert!(out.stderr.is_empty());
    let out = run(sa!["lock", "run", &path, "--", "true"]);
    assert_ok(&out);
    // The command's own output passes through.
    let out = run(sa![
        "lock",
        "run",
        &path,
        "--",
        "echo",
        "hello",
        "--not-ours"
    ]);
    assert_ok(&out);
    assert_eq!(stdout(&out), "hello --not-ours\n");
    // Killed by a signal: 128 + its number, as shells report it.
    let out = run(sa!["lock", "run", &path, "--", "sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.status.code(), Some(128 + 9));
    let out = run(sa!["lock", "run", &path, "--", "no-such-command-here"]);
    assert_fails(&out, 127, "no-such-command-here");
    let out = run(sa!["lock", "run", &path, "--", d.path()]);
    assert_fails(&out, 126, "cannot run");
    // Released after each run.
    let info = safeatomic::inspect_lock(&path).unwrap();
    assert!(!info.held);
    assert!(!info.is_stale());
}

#[test]
fn lock_run_with_timeout_gives_up_on_a_busy_lock() {
    let d = tempdir();
    let path = d.path().join("state");
    let marker = d.path().join("ran");
    let touch = format!("touch '{}'", marker.display());
    let guard = safeatomic::acquire_lock(&path, None).unwrap();
    let out = run(sa![
        "lock",
        "run",
        "--timeout",
        "0",
        &path,
        "--",
        "sh",
        "-c",
        &touch
    ]);
    assert_fails(&out, 75, "held by another process");
    let started = Instant::now();
    let out = run(sa![
        "lock",
        "run",
        "--timeout",
        "0.2",
        &path,
        "--",
        "sh",
        "-c",
        &touch
    ]);
    assert_fails(&out, 75, "command not run");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(!marker.exists(), "the command ran without the lock");
    drop(guard);
    let out = run(sa![
        "lock",
        "run",
        "--timeout",
        "0",
        &path,
        "--",
        "sh",
        "-c",
        &touch
    ]);
    assert_ok(&out);
    assert!(marker.exists());
}

#[test]
fn lock_run_passes_sigterm_on_and_outlives_sigint() {
    let d = tempdir();
    let path = d.path().join("state");
    let ready = d.path().join("ready");

    // SIGTERM to safeatomic reaches the command; safeatomic reports it.
    let script = format!("touch '{}'; exec sleep 20", ready.display());
    let holder = spawn(sa!["lock", "run", &path, "--", "sh", "-c", &script]);
    wait_for(&ready);
    let pid = rustix::process::Pid::from_child(&holder);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let started = Instant::now();
    let out = finish(holder);
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "sleep was not killed"
    );
    assert!(!safeatomic::is_locked(&path).unwrap());

    // SIGINT to safeatomic alone: it keeps the lock until the command ends.
    fs::remove_file(&ready).unwrap();
    let done = d.path().join("done");
    let script = format!(
        "touch '{}'; sleep 0.5; touch '{}'",
        ready.display(),
        done.display()
    );
    let holder = spawn(sa!["lock", "run", &path, "--", "sh", "-c", &script]);
    wait_for(&ready);
    let pid = rustix::process::Pid::from_child(&holder);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    assert!(safeatomic::is_locked(&path).unwrap());
    let out = finish(holder);
    assert_ok(&out);
    assert!(done.exists());
}

#[test]
fn lock_status_shows_free_held_and_stale_in_text_and_json() {
    let d = tempdir();
    let path = d.path().join("state.json");

    let out = run(sa!["lock", "status", &path]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("free (no lock file yet)"),
        "{}",
        stdout(&out)
    );
    let out = run(sa!["lock", "status", "--json", &path]);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["exists"], false);
    assert_eq!(v["held"], false);
    assert!(listing(d.path()).is_empty(), "lock status created a file");

    let guard = safeatomic::acquire_lock(&path, None).unwrap();
    let out = run(sa!["lock", "status", &path]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("held by pid {}", std::process::id())),
        "{text}"
    );
    let v = json(&run(sa!["lock", "status", "--json", &path]));
    assert_eq!(v["held"], true);
    assert_eq!(v["pid"], std::process::id());
    assert_eq!(v["stale"], false);
    // release-stale leaves a held lock alone.
    let out = run(sa!["lock", "release-stale", &path]);
    assert_ok(&out);
    assert!(stdout(&out).contains("left alone"), "{}", stdout(&out));
    assert!(safeatomic::is_locked(&path).unwrap());
    drop(guard);

    let out = run(sa!["lock", "status", &path]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("state:      free\n"),
        "{}",
        stdout(&out)
    );
    let v = json(&run(sa!["lock", "status", "--json", &path]));
    assert_eq!(v["exists"], true);
    assert_eq!(v["held"], false);
}

/// A payload's fields (a host name is free text) cannot forge lines or
/// drive the terminal: control characters are printed escaped.
#[test]
fn lock_status_escapes_what_a_payload_says() {
    let d = tempdir();
    let path = d.path().join("state.json");
    fs::write(
        d.path().join("state.json.lock"),
        "{\"version\":1,\"pid\":4194999,\"hostname\":\"evil\\nstate:      free\\u001b[2J\",\
         \"session_hash\":null,\"timestamp\":\"2026-01-15T12:34:56.789012+00:00\",\
         \"kernel_lock\":\"flock\"}\n",
    )
    .unwrap();
    let out = run(sa!["lock", "status", &path]);
    assert_ok(&out);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text:?}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(
        text.contains("evil\\nstate:      free\\u{1b}[2J"),
        "{text:?}"
    );
    // The JSON form carries the field as it is (JSON escapes it).
    let v = json(&run(sa!["lock", "status", "--json", &path]));
    assert_eq!(v["hostname"], "evil\nstate:      free\u{1b}[2J");
}

/// A file name that is not UTF-8 is no reason for `--json` to fail, and a
/// human report escapes it.
#[test]
fn json_and_text_reports_handle_a_path_that_is_not_utf8() {
    use std::os::unix::ffi::OsStrExt;
    let d = tempdir();
    let path = d
        .path()
        .join(std::ffi::OsStr::from_bytes(b"caf\xe9\n.json"));
    assert_ok(&run_with(sa!["write", &path], b"{}"));
    let out = run(sa!["lock", "status", "--json", &path]);
    assert_ok(&out);
    let v = json(&out);
    assert!(
        v["path"].as_str().unwrap().ends_with("caf\u{fffd}\n.json"),
        "{v}"
    );
    assert!(
        v["lock_path"].as_str().unwrap().ends_with(".json.lock"),
        "{v}"
    );
    let out = run(sa!["lock", "status", &path]);
    assert_ok(&out);
    assert_eq!(stdout(&out).lines().count(), 2, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("caf\u{fffd}\\n.json.lock"),
        "{}",
        stdout(&out)
    );
    let v = json(&run(sa!["inspect", "--json", &path]));
    assert!(v["path"].as_str().unwrap().ends_with(".json"), "{v}");
    // An error naming it is one line.
    let missing = d.path().join(std::ffi::OsStr::from_bytes(b"no\nsuch\xff"));
    assert_fails(&run(sa!["cat", &missing]), 1, "no\\nsuch\\xff");
}

/// Read-only commands create no file: verifying a file that has no lock
/// file (matching or not) leaves none behind.
#[test]
fn verifying_creates_no_lock_file() {
    let d = tempdir();
    let path = d.path().join("state.json");
    assert_ok(&run_with(sa!["write", "--checksum", &path], b"{}"));
    fs::remove_file(d.path().join("state.json.lock")).unwrap();
    assert_ok(&run(sa!["cat", "--verify", &path]));
    assert_ok(&run(sa!["checksum", "verify", &path]));
    fs::write(&path, b"{\"changed\":1}").unwrap();
    assert_fails(&run(sa!["cat", "--verify", &path]), 1, "checksum mismatch");
    let out = run(sa!["checksum", "verify", &path]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_ok(&run(sa!["lock", "status", &path]));
    assert_eq!(listing(d.path()), ["state.json", "state.json.sha256"]);
}

/// A lock held by a process that inherited it (the one that took it is
/// gone, and it wrote no payload) is named by the kernel's account, not
/// reported as free or stale.
#[test]
fn lock_status_names_a_holder_that_inherited_the_lock() {
    let d = tempdir();
    let path = d.path().join("queue.json");
    let lock = d.path().join("queue.json.lock");
    // flock(1) takes the lock on descriptor 9 and exits; the shell then
    // becomes `sleep`, which keeps descriptor 9 and so the lock.
    let mut holder = Command::new("sh")
        .arg("-c")
        .arg("exec 9>>\"$0\"; flock -x 9; exec sleep 30")
        .arg(&lock)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(lock.exists() && safeatomic::is_locked(&path).unwrap()) {
        assert!(Instant::now() < deadline, "the lock was never taken");
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = run(sa!["lock", "status", &path]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("held by pid {} (sleep)", holder.id())),
        "{text}"
    );
    assert!(!text.contains("blocks no one"), "{text}");
}

/// The issue's case: a process took the lock, wrote its payload and
/// forked; it died without releasing, and its child kept the descriptor.
/// Writers wait: `lock status` names the child as the holder instead of
/// calling the lock stale and saying it blocks no one.
#[test]
fn lock_status_names_a_forked_child_holding_its_dead_parents_lock() {
    if !common::mounts::require_tools(
        "lock_status_names_a_forked_child_holding_its_dead_parents_lock",
        &["python3"],
    ) {
        return;
    }
    let d = tempdir();
    let path = d.path().join("queue.json");
    let script = r#"
import datetime, fcntl, json, os, socket, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
payload = {"version": 1, "pid": os.getpid(), "hostname": socket.gethostname(),
           "session_hash": None, "kernel_lock": "flock",
           "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat()}
os.pwrite(fd, (json.dumps(payload) + "\n").encode(), 0)
child = os.fork()
if child == 0:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 1)
    os.dup2(null, 2)
    time.sleep(30)
    os._exit(0)
print(os.getpid(), child, flush=True)
os._exit(0)
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(d.path().join("queue.json.lock"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let pids: Vec<u32> = stdout(&out)
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    let (parent, child) = (pids[0], pids[1]);
    let status = run(sa!["lock", "status", &path]);
    let v = json(&run(sa!["lock", "status", "--json", &path]));
    let _ = rustix::process::kill_process(
        rustix::process::Pid::from_raw(i32::try_from(child).unwrap()).unwrap(),
        rustix::process::Signal::KILL,
    );
    assert_ok(&status);
    let text = stdout(&status);
    assert!(
        text.contains(&format!("held by pid {child} (python")),
        "{text}"
    );
    assert!(
        text.contains(&format!("its payload names pid {parent}")),
        "{text}"
    );
    assert!(!text.contains("blocks no one"), "{text}");
    assert_eq!(v["held"], true);
    assert_eq!(v["holder_pid"], child);
    assert_eq!(v["pid"], parent);
    assert_eq!(v["holder_alive"], false);
}

#[test]
fn release_stale_clears_a_dead_holders_payload() {
    let d = tempdir();
    let path = d.path().join("state.json");
    // What a holder killed with SIGKILL leaves: its payload, no flock.
    fs::write(
        d.path().join("state.json.lock"),
        "{\"version\":1,\"pid\":4194999,\"hostname\":\"gone\",\"session_hash\":null,\
         \"timestamp\":\"2026-01-15T12:34:56.789012+00:00\",\"kernel_lock\":\"flock\"}\n",
    )
    .unwrap();
    let out = run(sa!["lock", "status", &path]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("stale payload left by pid 4194999 on gone"),
        "{text}"
    );
    assert!(text.contains("release-stale"), "{text}");
    let v = json(&run(sa!["lock", "status", "--json", &path]));
    assert_eq!(v["stale"], true);
    assert_eq!(v["pid"], 4_194_999);

    let out = run(sa!["lock", "release-stale", &path]);
    assert_ok(&out);
    assert!(stdout(&out).starts_with("cleared"), "{}", stdout(&out));
    let v = json(&run(sa!["lock", "status", "--json", &path]));
    assert_eq!(v["stale"], false);
    assert_eq!(v["pid"], serde_json::Value::Null);
    assert_eq!(v["exists"], true, "release-stale removed the lock file");
    let out = run(sa!["lock", "release-stale", &path]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains("nothing to clear"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn force_release_removes_the_lock_file() {
    let d = tempdir();
    let path = d.path().join("state.json");
    let lock = d.path().join("state.json.lock");
    fs::create_dir(&lock).unwrap(); // not a lock file any more
    let out = run(sa!["lock", "force-release", &path]);
    assert_fails(&out, 1, "state.json");
    fs::remove_dir(&lock).unwrap();

    assert_ok(&run_with(sa!["write", &path], b"x"));
    assert!(lock.exists());
    let out = run(sa!["lock", "force-release", &path]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("removed"), "{}", stdout(&out));
    // The library's warning that exclusion is broken reaches stderr.
    assert_one_line(&stderr(&out), "exclusion is broken");
    assert!(!lock.exists());
    let out = run(sa!["lock", "force-release", &path]);
    assert_ok(&out);
    assert!(stdout(&out).contains("nothing removed"), "{}", stdout(&out));
}

// ------------------------------------------------------------------ mv / swap

#[test]
fn mv_replaces_and_no_replace_refuses_an_existing_destination() {
    let d = tempdir();
    let (a, b) = (d.path().join("a"), d.path().join("b"));
    fs::write(&a, b"A").unwrap();
    fs::write(&b, b"B").unwrap();
    let out = run(sa!["mv", "--no-replace", &a, &b]);
    let line = assert_fails(&out, 1, "already exists");
    assert!(line.contains(&*a.to_string_lossy()), "{line}");
    assert_eq!(fs::read(&a).unwrap(), b"A");
    assert_eq!(fs::read(&b).unwrap(), b"B");

    assert_ok(&run(sa!["mv", &a, &b]));
    assert!(!a.exists());
    assert_eq!(fs::read(&b).unwrap(), b"A");

    let c = d.path().join("c");
    assert_ok(&run(sa!["mv", "--no-replace", &b, &c]));
    assert_eq!(fs::read(&c).unwrap(), b"A");
    assert!(!b.exists());
}

#[test]
fn mv_across_filesystems_is_refused_and_the_source_kept() {
    if !require_root("mv_across_filesystems_is_refused_and_the_source_kept") {
        return;
    }
    let tmpfs = Mount::tmpfs("8M");
    let d = tempdir();
    let src = d.path().join("src");
    fs::write(&src, b"stays here").unwrap();
    let dst = tmpfs.path().join("dst");
    let out = run(sa!["mv", &src, &dst]);
    let line = assert_fails(&out, 1, "different filesystems");
    assert!(line.contains(&*src.to_string_lossy()), "{line}");
    assert_eq!(fs::read(&src).unwrap(), b"stays here");
    assert!(!dst.exists());
    let out = run(sa!["mv", "--no-replace", &src, &dst]);
    assert_fails(&out, 1, "different filesystems");
    assert!(listing(tmpfs.path()).is_empty());
}

#[test]
fn swap_exchanges_two_files_on_ext4() {
    if !require_root("swap_exchanges_two_files_on_ext4")
        || !require_mkfs("swap_exchanges_two_files_on_ext4", &["ext4"])
    {
        return;
    }
    let ext4 = Mount::loop_fs("ext4", 32);
    let (a, b) = (ext4.path().join("current"), ext4.path().join("next"));
    fs::write(&a, b"version 1").unwrap();
    fs::write(&b, b"version 2").unwrap();
    assert_ok(&run(sa!["swap", &a, &b]));
    assert_eq!(fs::read(&a).unwrap(), b"version 2");
    assert_eq!(fs::read(&b).unwrap(), b"version 1");
    let out = run(sa!["swap", &a, ext4.path().join("missing")]);
    assert_fails(&out, 1, "not found");
    assert_eq!(fs::read(&a).unwrap(), b"version 2");
}

// ------------------------------------------------------------ inspect / doctor

#[test]
fn inspect_creates_no_file_and_reports_the_class() {
    let d = tempdir();
    fs::write(d.path().join("existing"), b"x").unwrap();
    let before = listing(d.path());
    let expected = safeatomic::inspect_guarantees(d.path())
        .unwrap()
        .environment()
        .filesystem_class()
        .name();
    let out = run(sa!["inspect", "--json", d.path().join("not-yet.json")]);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["environment"]["filesystem_class"], expected);
    assert_eq!(v["guarantees"].as_object().map(|m| m.len()), Some(8));
    assert_eq!(v["guarantees"]["CrossDeviceSafety"], "Guaranteed");
    let out = run(sa!["inspect", d.path()]);
    assert_ok(&out);
    assert!(
        stdout(&out).contains(&format!("({expected})")),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("CrossDeviceSafety"));
    assert_eq!(listing(d.path()), before, "inspect created a file");
    let out = run(sa!["inspect", d.path().join("no/such/dir/file")]);
    assert_fails(&out, 1, "not found");
}

#[test]
fn doctor_without_destructive_creates_nothing() {
    let d = tempdir();
    let out = run(sa!["doctor", d.path().join("state.json")]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("[ok  ] parent exists"), "{text}");
    assert!(text.contains("[--  ] fsync file"), "{text}");
    assert!(listing(d.path()).is_empty());
}

/// `doctor --destructive --json` in `dir`: the class, every check passed,
/// no probe file left; and the listing is unchanged.
#[track_caller]
fn doctor_passes(dir: &Path, class: &str) -> serde_json::Value {
    let before = listing(dir);
    let out = run(sa![
        "doctor",
        "--destructive",
        "--json",
        dir.join("state.json")
    ]);
    assert_ok(&out);
    let v = json(&out);
    assert_eq!(v["environment"]["filesystem_class"], class, "{v:#}");
    let checks = v["checks"].as_array().expect("checks array");
    assert!(checks.len() > 2, "{v:#}");
    for c in checks {
        assert_eq!(c["status"], "passed", "check failed: {c:#}");
    }
    no_leftovers(dir);
    assert_eq!(listing(dir), before, "doctor left files behind");
    v
}

/// `doctor --require CrashDurability` in `dir` on a `local_persistent`
/// filesystem succeeds.
#[track_caller]
fn doctor_require_passes(dir: &Path) {
    let out = run(sa!["doctor", "--require", "CrashDurability", dir]);
    assert_ok(&out);
    assert!(stdout(&out).contains("CrashDurability"));
}

#[test]
fn doctor_on_ext4() {
    if !require_root("doctor_on_ext4") || !require_mkfs("doctor_on_ext4", &["ext4"]) {
        return;
    }
    let m = Mount::loop_fs("ext4", 32);
    let v = doctor_passes(m.path(), "local_persistent");
    assert_eq!(v["environment"]["filesystem"], "ext4");
    doctor_require_passes(m.path());
}

#[test]
fn doctor_on_xfs() {
    if !require_root("doctor_on_xfs") || !require_mkfs("doctor_on_xfs", &["xfs"]) {
        return;
    }
    let m = Mount::loop_fs("xfs", 300);
    let v = doctor_passes(m.path(), "local_persistent");
    assert_eq!(v["environment"]["filesystem"], "xfs");
    doctor_require_passes(m.path());
}

#[test]
fn doctor_on_btrfs() {
    if !require_root("doctor_on_btrfs") || !require_mkfs("doctor_on_btrfs", &["btrfs"]) {
        return;
    }
    let m = Mount::loop_fs("btrfs", 114);
    let v = doctor_passes(m.path(), "local_persistent");
    assert_eq!(v["environment"]["filesystem"], "btrfs");
    doctor_require_passes(m.path());
}

#[test]
fn doctor_on_tmpfs_and_require_crash_durability_fails() {
    if !require_root("doctor_on_tmpfs_and_require_crash_durability_fails") {
        return;
    }
    let m = Mount::tmpfs("8M");
    doctor_passes(m.path(), "local_memory");
    let out = run(sa!["inspect", "--json", m.path()]);
    assert_ok(&out);
    assert_eq!(
        json(&out)["environment"]["filesystem_class"],
        "local_memory"
    );

    let out = run(sa![
        "doctor",
        "--require",
        "WriterExclusion,crashdurability",
        m.path()
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let line = assert_one_line(&stderr(&out), "CrashDurability");
    assert!(line.contains("BestEffort"), "{line}");
    assert!(!line.contains("WriterExclusion"), "{line}");
    // The report is printed anyway, in the format asked for.
    assert!(
        stdout(&out).contains("CrashDurability       BestEffort"),
        "{}",
        stdout(&out)
    );
    let out = run(sa![
        "doctor",
        "--json",
        "--require",
        "CrashDurability",
        m.path()
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        json(&out)["environment"]["filesystem_class"],
        "local_memory"
    );
    assert!(listing(m.path()).is_empty());
}

/// On a filesystem with no room left (no inode for a probe file), the
/// doctor still prints its report: every probe failed, and why.
#[test]
fn doctor_reports_on_a_full_filesystem() {
    if !require_root("doctor_reports_on_a_full_filesystem") {
        return;
    }
    let m = Mount::tmpfs("1M,nr_inodes=3");
    let mut n = 0;
    while fs::write(m.path().join(format!("fill{n}")), b"").is_ok() {
        n += 1;
    }
    let out = run(sa!["doctor", "--destructive", m.path()]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(
        text.contains("[FAIL] exclusive create: cannot create a probe file"),
        "{text}"
    );
    let out = run(sa!["doctor", "--destructive", "--json", m.path()]);
    assert_ok(&out);
    assert_eq!(json(&out)["checks"][2]["status"], "failed");
}

#[test]
fn doctor_on_overlay() {
    if !require_root("doctor_on_overlay") {
        return;
    }
    let m = Mount::overlay();
    doctor_passes(m.path(), "overlay");
}

// ------------------------------------------------------------------ bad input

/// The issue's first finding, from the shell: as root, a symlink another
/// user planted in a sticky directory is not followed to a root-only file.
#[test]
fn write_through_a_planted_symlink_is_refused() {
    use common::neighbours::{self, FileState, Neighbourhood};
    if !neighbours::require("write_through_a_planted_symlink_is_refused", "ext4") {
        return;
    }
    let n = Neighbourhood::on("ext4");
    let secret = n.path("private/secret");
    let before = FileState::of(&secret);
    n.as_nobody("ln -s ../private/secret shared/st.json");
    let out = run_with(sa!["write", n.path("shared/st.json")], b"PWNED\n");
    let err = assert_fails(&out, 1, "symlink");
    assert!(err.contains("shared/st.json"), "{err}");
    assert_eq!(FileState::of(&secret), before);
    assert_eq!(listing(&n.path("private")), ["secret"]);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let d = tempdir();
    let path = d.path().join("f");
    assert_fails(&run(sa!["write", "--frobnicate", &path]), 2, "--frobnicate");
    assert_fails(&run(sa!["write"]), 2, "<PATH>");
    assert_fails(&run(sa!["cat"]), 2, "<PATH>");
    assert_fails(&run(sa!["lock", "status"]), 2, "<PATH>");
    assert_fails(&run(sa!["frobnicate"]), 2, "frobnicate");
    assert_fails(&run(sa!["lock", "run", &path, "true"]), 2, "true");
    assert_fails(&run(sa!["lock", "run", &path]), 2, "<CMD>");
    assert_fails(
        &run(sa!["lock", "run", "--timeout", "soon", &path, "--", "true"]),
        2,
        "soon",
    );
    assert!(
        listing(d.path()).is_empty(),
        "a usage error touched the disk"
    );
}

#[test]
fn bad_modes_are_usage_errors() {
    let d = tempdir();
    let path = d.path().join("f");
    for mode in ["999", "abc", "17777", ""] {
        let out = run_with(sa!["write", "--mode", mode, &path], b"x");
        assert_fails(&out, 2, "--mode");
    }
    assert!(!path.exists());
}

#[test]
fn unknown_algorithms_are_usage_errors() {
    let d = tempdir();
    let path = d.path().join("f");
    fs::write(&path, b"x").unwrap();
    let line = assert_fails(
        &run(sa!["checksum", "write", "--algo", "md5", &path]),
        2,
        "md5",
    );
    assert!(line.contains("sha256") && line.contains("sha512"), "{line}");
    assert_fails(
        &run(sa!["checksum", "verify", "--algo", "md5", &path]),
        2,
        "md5",
    );
    assert_eq!(listing(d.path()), ["f"]);
}

#[test]
fn an_unknown_guarantee_is_a_usage_error_listing_the_valid_names() {
    let d = tempdir();
    let out = run(sa![
        "doctor",
        "--require",
        "CrashDurability,Telepathy",
        d.path()
    ]);
    let line = assert_fails(&out, 2, "Telepathy");
    for g in Guarantee::ALL {
        assert!(line.contains(g.name()), "{} not listed: {line}", g.name());
    }
}

#[test]
fn a_directory_as_write_path_fails_naming_it() {
    let d = tempdir();
    let sub = d.path().join("subdir");
    fs::create_dir(&sub).unwrap();
    let out = run_with(sa!["write", &sub], b"data");
    assert_ne!(out.status.code(), Some(0));
    assert_fails(&out, 1, &sub.to_string_lossy());
    assert!(sub.is_dir());
    assert!(listing(&sub).is_empty());
    no_leftovers(d.path());
}

#[test]
fn unreadable_stdin_fails_before_touching_the_target() {
    let d = tempdir();
    let path = d.path().join("state");
    fs::write(&path, b"precious").unwrap();
    let dir = fs::File::open(d.path()).unwrap(); // read(2) on it: EISDIR
    let out = sa!["write", &path]
        .stdin(Stdio::from(dir))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_fails(&out, 1, "standard input");
    assert_eq!(fs::read(&path).unwrap(), b"precious");
    assert_eq!(listing(d.path()), ["state"], "no temp or lock file");
}

#[test]
fn a_missing_file_is_one_line_naming_it() {
    let d = tempdir();
    let path = d.path().join("absent");
    let line = assert_fails(&run(sa!["cat", &path]), 1, "not found");
    assert!(line.contains(&*path.to_string_lossy()), "{line}");
    assert_fails(&run(sa!["checksum", "verify", &path]), 1, "not found");
    assert_fails(&run(sa!["mv", &path, d.path().join("x")]), 1, "not found");
}

#[test]
fn help_and_version() {
    let out = run(sa!["--version"]);
    assert_ok(&out);
    assert_eq!(
        stdout(&out),
        format!("safeatomic {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = run(sa!["--help"]);
    assert_ok(&out);
    let text = stdout(&out);
    for command in [
        "write", "cat", "checksum", "lock", "mv", "swap", "inspect", "doctor",
    ] {
        assert!(
            text.contains(&format!("\n  {command} ")),
            "{command} missing: {text}"
        );
    }
    let out = run(sa!["lock", "run", "--help"]);
    assert_ok(&out);
    assert!(stdout(&out).contains("--no-lock"), "{}", stdout(&out));
}

/// The directory is opened `O_NOATIME` (decision 0007), which the kernel
/// refuses with `EPERM` to a user who neither owns the directory nor has
/// `CAP_FOWNER`: such a user, writing into a shared directory like `/tmp`,
/// must still be able to write (and lock, and read).
#[test]
fn a_user_who_does_not_own_the_directory_can_write_lock_and_read_in_it() {
    use std::os::unix::process::CommandExt as _;
    if !require_root("a_user_who_does_not_own_the_directory_can_write_lock_and_read_in_it") {
        return;
    }
    let d = tempdir();
    // Root owns it; everyone may create files in it, as in /tmp.
    fs::set_permissions(d.path(), fs::Permissions::from_mode(0o1777)).unwrap();
    let path = d.path().join("state.txt");
    let as_nobody = |args: &[&str], stdin: &[u8]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args).uid(65534).gid(65534);
        run_with(cmd, stdin)
    };
    let p = path.to_str().unwrap();
    let out = as_nobody(&["write", p, "--checksum"], b"written by nobody\n");
    assert_ok(&out);
    assert_eq!(fs::read(&path).unwrap(), b"written by nobody\n");
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&fs::metadata(&path).unwrap()),
        65534
    );
    let out = as_nobody(&["cat", p, "--verify"], b"");
    assert_ok(&out);
    assert_eq!(stdout(&out), "written by nobody\n");
    let out = as_nobody(&["lock", "run", p, "--", "true"], b"");
    assert_ok(&out);
    no_leftovers(d.path());
}
