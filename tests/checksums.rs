//! Checksum sidecars: format compatibility with GNU coreutils and the
//! reference library, verification outcomes, detection of every real change,
//! and no false alarm under concurrency or after a crash at any point.

use common::{no_leftovers, tempdir};
use rustix::io::Errno;
use safeatomic::fault::{self, Plan};
use safeatomic::{
    Algorithm, AtomicReader, AtomicWriter, ErrorKind, WriteOptions, acquire_lock, checksum_info,
    compute_hash_data, compute_hash_file, create_atomic_with, is_locked, lock_file_path,
    read_atomic, read_atomic_verified, verify_checksum, write_atomic, write_atomic_with,
    write_checksum_file,
};
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

fn with(algo: Algorithm) -> WriteOptions {
    WriteOptions::new().checksum(Some(algo))
}

fn sidecar(path: &Path, algo: Algorithm) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(format!(".{algo}"));
    PathBuf::from(s)
}

/// Runs `sha256sum -c` (or sha512sum) on a sidecar, in its directory.
fn gnu_check(path: &Path, algo: Algorithm) -> std::process::Output {
    Command::new(format!("{algo}sum"))
        .arg("-c")
        .arg(sidecar(path, algo).file_name().unwrap())
        .current_dir(path.parent().unwrap())
        .output()
        .expect("coreutils sha*sum")
}

/// `sha256sum -c --strict` (or sha512sum) accepts the sidecar of `path`
/// without a single warning.
#[track_caller]
fn assert_strictly_accepted(path: &Path, algo: Algorithm, what: &str) {
    let out = Command::new(format!("{algo}sum"))
        .args(["-c", "--strict"])
        .arg(sidecar(path, algo).file_name().unwrap())
        .current_dir(path.parent().unwrap())
        .output()
        .expect("coreutils sha*sum");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stderr.is_empty() && stdout.ends_with(": OK\n"),
        "{what}: {algo}sum -c --strict: {stdout}{stderr}"
    );
}

#[test]
fn round_trip_per_algorithm() {
    let d = tempdir();
    for algo in Algorithm::ALL {
        let path = d.path().join(format!("data-{algo}.json"));
        let data = format!("{{\"algo\":\"{algo}\"}}");
        write_atomic_with(&path, &data, &with(algo)).unwrap();
        assert!(verify_checksum(&path).unwrap());
        assert_eq!(read_atomic_verified(&path).unwrap(), data.as_bytes());
        let info = checksum_info(&path).unwrap();
        assert_eq!(info.algorithm, algo);
        assert_eq!(info.digest, compute_hash_data(data.as_bytes(), algo));
        assert_eq!(info.digest, compute_hash_file(&path, algo).unwrap());
        assert_eq!(info.file_name, format!("data-{algo}.json"));
        assert!(info.timestamp.is_some());
    }
    no_leftovers(d.path());
}

/// Every sidecar a safeatomic write makes passes `sha256sum -c --strict` /
/// `sha512sum -c --strict` cleanly: a new file, a replace (its sidecar also
/// names the outgoing digest), a create, a stream, a store update and
/// `write_checksum_file`.
#[test]
fn coreutils_accept_our_sidecars_strictly_from_every_write_path() {
    let d = tempdir();
    for algo in Algorithm::ALL {
        let path = d.path().join(format!("file-{algo}.bin"));
        write_atomic_with(&path, vec![7u8; 100_000], &with(algo)).unwrap();
        assert_strictly_accepted(&path, algo, "new file");
        write_atomic_with(&path, vec![8u8; 100_001], &with(algo)).unwrap();
        assert!(checksum_info(&path).unwrap().previous.is_some());
        assert_strictly_accepted(&path, algo, "replace (outgoing digest)");

        let created = d.path().join(format!("created-{algo}"));
        create_atomic_with(&created, b"first", &with(algo)).unwrap();
        assert_strictly_accepted(&created, algo, "create");

        let streamed = d.path().join(format!("streamed-{algo}"));
        let mut w = AtomicWriter::create_with(&streamed, &with(algo)).unwrap();
        for i in 0..1000 {
            writeln!(w, "line {i}").unwrap();
        }
        w.commit().unwrap();
        assert_strictly_accepted(&streamed, algo, "stream");

        let hashed = d.path().join(format!("hashed-{algo}"));
        write_atomic(&hashed, b"hashed afterwards").unwrap();
        write_checksum_file(&hashed, algo).unwrap();
        assert_strictly_accepted(&hashed, algo, "write_checksum_file");
    }
    let store = d.path().join("store.json");
    let s = safeatomic::Store::<common::types::CheckedCounter>::open(&store).unwrap();
    s.update(|c| c.n += 1).unwrap();
    s.update(|c| c.n += 1).unwrap();
    assert_strictly_accepted(&store, Algorithm::Sha256, "store update");
    let no_default = d.path().join("named.toml");
    safeatomic::Store::<common::types::NoDefault>::open(&no_default)
        .unwrap()
        .replace(common::types::NoDefault { name: "x".into() })
        .unwrap();
    assert_strictly_accepted(&no_default, Algorithm::Sha512, "store replace (sha512)");
    // And plain `-c` (what the README shows) prints nothing but OK.
    let out = gnu_check(&store, Algorithm::Sha256);
    assert!(out.status.success() && out.stderr.is_empty(), "{out:?}");
}

/// The Python interpreter that has the reference library (`safeatomic` on
/// PyPI): `SAFEATOMIC_REFERENCE_PYTHON`, else `python3` if it can import it.
fn reference_python() -> Option<std::ffi::OsString> {
    let python =
        std::env::var_os("SAFEATOMIC_REFERENCE_PYTHON").unwrap_or_else(|| "python3".into());
    let ok = Command::new(&python)
        .args(["-c", "import safeatomic"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(python)
}

/// The Python reference library verifies our `.sha256` sidecars (both
/// forms: a first write and a replace naming the outgoing digest), and we
/// verify the sidecars it writes (its SHA-512 one, which it names `.sha256`
/// and declares with `algo=sha512`, included).
#[test]
fn the_reference_library_and_we_verify_each_others_sidecars() {
    const TEST: &str = "the_reference_library_and_we_verify_each_others_sidecars";
    let Some(python) = reference_python() else {
        common::mounts::skip(
            TEST,
            "the Python reference library",
            "`import safeatomic` failed (pip install --ignore-requires-python safeatomic==2.0.3, \
             or set SAFEATOMIC_REFERENCE_PYTHON)",
        );
        return;
    };
    let d = tempdir();
    let ours = d.path().join("ours.json");
    write_atomic_with(&ours, br#"{"v":1}"#, &with(Algorithm::Sha256)).unwrap();
    let replaced = d.path().join("replaced.json");
    write_atomic_with(&replaced, br#"{"v":1}"#, &with(Algorithm::Sha256)).unwrap();
    write_atomic_with(&replaced, br#"{"v":2}"#, &with(Algorithm::Sha256)).unwrap();
    let theirs = d.path().join("theirs.json");
    let theirs512 = d.path().join("theirs512.json");
    fs::write(&theirs, b"written by python").unwrap();
    fs::write(&theirs512, b"written by python, sha512").unwrap();
    let script = r#"
import sys
from safeatomic import get_checksum_info, verify_checksum, write_checksum_file
ours, replaced, theirs, theirs512 = sys.argv[1:5]
for p in (ours, replaced):
    assert verify_checksum(p), p
    info = get_checksum_info(p)
    assert info.algo == "sha256", info
write_checksum_file(theirs)
write_checksum_file(theirs512, algo="sha512")
print("ok")
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args([&ours, &replaced, &theirs, &theirs512])
        .output()
        .unwrap();
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "ok",
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(verify_checksum(&theirs).unwrap());
    assert_eq!(read_atomic_verified(&theirs).unwrap(), b"written by python");
    // The reference library names every sidecar `.sha256`; the algorithm
    // it declares inside wins.
    assert!(verify_checksum(&theirs512).unwrap());
    assert_eq!(
        checksum_info(&theirs512).unwrap().algorithm,
        Algorithm::Sha512
    );
    assert!(sidecar(&theirs512, Algorithm::Sha256).exists());
}

/// Names that GNU tools escape (`\\`, `\n` and, in newer coreutils such as
/// 9.1, `\r`, with the line prefixed by `\`), and names they do not:
/// `sha256sum -c` accepts our sidecar, our digest line is byte for byte the
/// one `sha256sum` prints, and we read `sha256sum`'s own output back.
#[test]
fn coreutils_accept_escaped_and_non_ascii_names_and_we_read_them_back() {
    let d = tempdir();
    // Older coreutils write a carriage return raw and reject `\r` in `-c`
    // (and strip a trailing one as a CRLF line end): with those, the names
    // with a carriage return are only read back, not given to `-c`.
    let gnu_escapes_cr = {
        let probe = d.path().join("probe\r");
        fs::write(&probe, b"").unwrap();
        let out = Command::new("sha256sum").arg(&probe).output().unwrap();
        fs::remove_file(&probe).unwrap();
        out.stdout.starts_with(b"\\")
    };
    if !gnu_escapes_cr {
        eprintln!("this sha256sum does not escape \\r: CR names not checked with -c");
    }
    for name in [
        &b"back\\slash"[..],
        b"new\nline",
        b"carriage\rreturn",
        b"ends in cr\r",
        b"all\\three\r\n",
        b"caf\xc3\xa9 \xe2\x82\xac.txt",
        b"sp ace",
    ] {
        let shown = String::from_utf8_lossy(name);
        let path = d.path().join(OsStr::from_bytes(name));
        write_atomic_with(&path, b"payload", &with(Algorithm::Sha256)).unwrap();
        assert_eq!(checksum_info(&path).unwrap().file_name, shown);
        assert!(verify_checksum(&path).unwrap());
        let gnu = Command::new("sha256sum")
            .arg(OsStr::from_bytes(name))
            .current_dir(d.path())
            .output()
            .unwrap();
        assert!(gnu.status.success(), "sha256sum {shown:?}");
        if gnu_escapes_cr || !name.contains(&b'\r') {
            let out = gnu_check(&path, Algorithm::Sha256);
            assert!(
                out.status.success(),
                "sha256sum -c on {shown:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            // sha256sum's own line for the file, and ours, are the same bytes.
            let ours = fs::read(sidecar(&path, Algorithm::Sha256)).unwrap();
            let first_line = |b: &[u8]| b.split(|c| *c == b'\n').next().unwrap().to_vec();
            assert_eq!(
                String::from_utf8_lossy(&first_line(&ours)),
                String::from_utf8_lossy(&first_line(&gnu.stdout)),
                "digest line for {shown:?}"
            );
        }
        // And sha256sum's output, as the sidecar, verifies.
        fs::write(sidecar(&path, Algorithm::Sha256), &gnu.stdout).unwrap();
        assert_eq!(checksum_info(&path).unwrap().file_name, shown);
        assert!(verify_checksum(&path).unwrap(), "{shown:?}");
    }
}

#[test]
fn we_verify_sidecars_written_by_coreutils_and_by_the_reference_library() {
    let d = tempdir();
    let path = d.path().join("config.json");
    fs::write(&path, b"{\"theme\":\"dark\"}").unwrap();
    // sha256sum's own output, as a reference-less sidecar.
    let out = Command::new("sha256sum")
        .arg("config.json")
        .current_dir(d.path())
        .output()
        .unwrap();
    fs::write(sidecar(&path, Algorithm::Sha256), &out.stdout).unwrap();
    assert!(verify_checksum(&path).unwrap());
    // The reference library's format: digest line, algo=, timestamp=.
    let digest = compute_hash_data(b"{\"theme\":\"dark\"}", Algorithm::Sha256);
    let reference =
        format!("{digest}  config.json\nalgo=sha256\ntimestamp=2026-01-15T12:34:56.789012+00:00\n");
    fs::write(sidecar(&path, Algorithm::Sha256), reference).unwrap();
    assert!(verify_checksum(&path).unwrap());
    assert_eq!(
        checksum_info(&path).unwrap().timestamp.as_deref(),
        Some("2026-01-15T12:34:56.789012+00:00")
    );
    fs::write(&path, b"{\"theme\":\"light\"}").unwrap();
    assert!(!verify_checksum(&path).unwrap());
}

#[test]
fn a_sha512_sidecar_is_used_when_the_caller_asked_for_nothing_special() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic(&path, b"abc").unwrap();
    write_checksum_file(&path, Algorithm::Sha512).unwrap();
    assert!(!sidecar(&path, Algorithm::Sha256).exists());
    assert!(verify_checksum(&path).unwrap());
    assert_eq!(read_atomic_verified(&path).unwrap(), b"abc");
    // Switching algorithms removes the other sidecar.
    write_atomic_with(&path, b"abcd", &with(Algorithm::Sha256)).unwrap();
    assert!(!sidecar(&path, Algorithm::Sha512).exists());
    assert!(verify_checksum(&path).unwrap());
}

#[test]
fn missing_and_malformed_sidecars_are_distinct_errors() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic(&path, b"abc").unwrap();
    let e = verify_checksum(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ChecksumMissing);
    assert_eq!(e.path(), path);
    assert_eq!(
        read_atomic_verified(&path).unwrap_err().kind(),
        ErrorKind::ChecksumMissing
    );
    assert_eq!(
        checksum_info(&path).unwrap_err().kind(),
        ErrorKind::ChecksumMissing
    );

    let good = compute_hash_data(b"abc", Algorithm::Sha256);
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("whitespace-only", " \n\t\n".into()),
        ("garbage digest", format!("{}  f\n", "xy".repeat(32))),
        ("wrong length", format!("{}  f\n", &good[..40])),
        ("unknown algorithm", format!("{good}  f\nalgo=md5\n")),
        (
            "declared sha512, sha256 length",
            format!("{good}  f\nalgo=sha512\n"),
        ),
    ];
    for (what, text) in cases {
        fs::write(sidecar(&path, Algorithm::Sha256), &text).unwrap();
        let e = verify_checksum(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ChecksumMalformed, "{what}: {e}");
        assert_eq!(
            read_atomic_verified(&path).unwrap_err().kind(),
            ErrorKind::ChecksumMalformed,
            "{what}"
        );
    }
}

#[test]
fn every_single_byte_flip_truncation_and_append_is_detected() {
    let d = tempdir();
    let path = d.path().join("f");
    let data: Vec<u8> = (0..256u32).map(|i| (i * 31 % 251) as u8).collect();
    for algo in Algorithm::ALL {
        write_atomic_with(&path, &data, &with(algo)).unwrap();
        for i in 0..data.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = data.clone();
                bad[i] ^= bit;
                fs::write(&path, &bad).unwrap(); // in place: same inode
                assert!(
                    !verify_checksum(&path).unwrap(),
                    "{algo}: flip at {i} not detected"
                );
            }
        }
        fs::write(&path, &data[..data.len() - 1]).unwrap();
        assert!(!verify_checksum(&path).unwrap(), "truncation");
        fs::write(&path, b"").unwrap();
        assert!(!verify_checksum(&path).unwrap(), "truncation to empty");
        let mut longer = data.clone();
        longer.push(0);
        fs::write(&path, &longer).unwrap();
        assert!(!verify_checksum(&path).unwrap(), "append");
        let e = read_atomic_verified(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
        let (expected, actual) = e.checksum_mismatch().unwrap();
        assert_eq!(expected, compute_hash_data(&data, algo));
        assert_eq!(actual, compute_hash_data(&longer, algo));
        fs::write(&path, &data).unwrap();
        assert!(verify_checksum(&path).unwrap(), "restored");
    }
}

#[test]
fn rolling_back_to_the_previous_version_by_replacing_the_file_is_detected() {
    // The sidecar vouches for the previous version only on its old inode.
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic_with(&path, b"v1", &with(Algorithm::Sha256)).unwrap();
    write_atomic_with(&path, b"v2", &with(Algorithm::Sha256)).unwrap();
    let copy = d.path().join("copy");
    fs::write(&copy, b"v1").unwrap();
    fs::rename(&copy, &path).unwrap();
    assert!(!verify_checksum(&path).unwrap());
}

#[test]
fn the_verified_reader_returns_exactly_the_verified_bytes() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic_with(&path, b"version one", &with(Algorithm::Sha256)).unwrap();
    let mut r = AtomicReader::open_verified(&path).unwrap();
    // Tampering in place after verification cannot reach the reader.
    fs::write(&path, b"VERSION ONE").unwrap();
    let mut s = String::new();
    r.read_to_string(&mut s).unwrap();
    assert_eq!(s, "version one");
    assert_eq!(
        AtomicReader::open_verified(&path).unwrap_err().kind(),
        ErrorKind::ChecksumMismatch
    );
}

#[test]
fn a_streamed_write_is_hashed_on_the_way() {
    let d = tempdir();
    let path = d.path().join("big");
    let opts = with(Algorithm::Sha512);
    let mut w = AtomicWriter::create_with(&path, &opts).unwrap();
    let mut expected = Vec::new();
    for i in 0..300u32 {
        let chunk = vec![(i % 256) as u8; 10_007];
        w.write_all(&chunk).unwrap();
        expected.extend(chunk);
    }
    w.commit().unwrap();
    assert_eq!(
        checksum_info(&path).unwrap().digest,
        compute_hash_data(&expected, Algorithm::Sha512)
    );
    assert!(verify_checksum(&path).unwrap());
}

/// One writer replaces the file (with one algorithm, or alternating sha256
/// and sha512, so `.sha256` and `.sha512` appear and disappear) while three
/// readers verify in a loop: every verification must match. A false
/// mismatch or a false "sidecar missing" is counted and fails the test.
///
/// Each variant runs for `SAFEATOMIC_CHECKSUM_RACE_SECS` seconds (default 2;
/// raise it to hunt rare races), with at least 1500 verifications per reader
/// and 50 writes.
#[test]
fn readers_verifying_while_a_writer_replaces_see_no_false_alarm() {
    let secs: u64 = std::env::var("SAFEATOMIC_CHECKSUM_RACE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    for alternate in [false, true] {
        race_writer_against_verifiers(alternate, Duration::from_secs(secs));
    }
}

fn race_writer_against_verifiers(alternate: bool, run_for: Duration) {
    let d = tempdir();
    let path = d.path().join("hot.json");
    write_atomic_with(&path, b"seed", &with(Algorithm::Sha256)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicUsize::new(0));
    let writer = {
        let (path, stop, writes) = (path.clone(), stop.clone(), writes.clone());
        std::thread::spawn(move || {
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // Vary the size so versions differ in length too.
                let body = format!(
                    "{{\"version\":{i},\"pad\":\"{}\"}}",
                    "x".repeat((i % 50) as usize)
                );
                let algo = if alternate && i % 2 == 1 {
                    Algorithm::Sha512
                } else {
                    Algorithm::Sha256
                };
                write_atomic_with(&path, body, &with(algo)).unwrap();
                writes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (path, writes) = (path.clone(), writes.clone());
            std::thread::spawn(move || {
                // On for `run_for` and at least 1500 reads, and for as long
                // as the writer has not made 50 writes (slow-fsync storage),
                // within 60 s.
                let start = Instant::now();
                let deadline = start + Duration::from_secs(60);
                let (mut n, mut missing, mut mismatch) = (0u64, 0u64, 0u64);
                let mut first_alarm = None;
                while n < 1500
                    || start.elapsed() < run_for
                    || (writes.load(Ordering::Relaxed) < 50 && Instant::now() < deadline)
                {
                    let outcome = match n % 3 {
                        0 => read_atomic_verified(&path).map(Some),
                        1 => {
                            verify_checksum(&path).map(|ok| ok.then(|| read_atomic(&path).unwrap()))
                        }
                        _ => AtomicReader::open_verified(&path).map(|mut rd| {
                            let mut v = Vec::new();
                            rd.read_to_end(&mut v).unwrap();
                            Some(v)
                        }),
                    };
                    match outcome {
                        Ok(Some(bytes)) => assert!(
                            bytes.starts_with(b"{\"version\"") || bytes == b"seed",
                            "reader {r}: unexpected content {bytes:?}"
                        ),
                        Ok(None) => {
                            mismatch += 1;
                            first_alarm.get_or_insert_with(|| "verify_checksum: false".into());
                        }
                        Err(e) => {
                            match e.kind() {
                                ErrorKind::ChecksumMissing => missing += 1,
                                ErrorKind::ChecksumMismatch => mismatch += 1,
                                _ => panic!("reader {r}, read {n}: {e}"),
                            }
                            first_alarm.get_or_insert_with(|| e.to_string());
                        }
                    }
                    n += 1;
                }
                (n, missing, mismatch, first_alarm)
            })
        })
        .collect();
    let mut total = 0;
    let mut alarms = Vec::new();
    for r in readers {
        let (n, missing, mismatch, first) = r.join().expect("a verifying reader failed");
        total += n;
        if missing + mismatch > 0 {
            alarms.push(format!(
                "{missing} false missing, {mismatch} false mismatches (first: {first:?})"
            ));
        }
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    let writes = writes.load(Ordering::Relaxed);
    eprintln!("alternating algorithms: {alternate}; {total} verifications, {writes} writes");
    assert!(alarms.is_empty(), "alternating: {alternate}: {alarms:?}");
    assert!(
        writes >= 50,
        "the writer barely ran: the test proved nothing"
    );
}

/// A checksummed write is crashed after every call it makes: whatever
/// survives verifies (never a false mismatch, never a false "missing"), and
/// the next write works. Three starting points: no file; a file with its
/// sidecar; a file that never had a sidecar (the first checksummed write
/// hashes the old bytes to name them in the new sidecar).
#[test]
fn a_crash_at_any_point_of_a_checksummed_write_is_never_corruption() {
    let old_version = &b"old version"[..];
    for algo in Algorithm::ALL {
        for (what, old, old_sidecar) in [
            ("new file", None, false),
            ("replace", Some(old_version), true),
            ("replace a file without a sidecar", Some(old_version), false),
        ] {
            let prepare = || {
                let d = tempdir();
                let p = d.path().join("state.json");
                if let Some(old) = old {
                    let opts = WriteOptions::new().checksum(old_sidecar.then_some(algo));
                    write_atomic_with(&p, old, &opts).unwrap();
                }
                (d, p)
            };
            let (warm, wp) = prepare();
            write_atomic_with(&wp, b"warm", &with(algo)).unwrap();
            drop(warm);
            let (clean_dir, cp) = prepare();
            let (r, trace) = fault::record(|| write_atomic_with(&cp, b"new version", &with(algo)));
            r.unwrap();
            drop(clean_dir);
            for i in 0..=trace.calls.len() {
                let ctx = format!(
                    "{algo}, {what}, crash after call {i} of {:?}",
                    trace.names()
                );
                let (d, p) = prepare();
                let _ = fault::inject(Plan::crash(i), || {
                    write_atomic_with(&p, b"new version", &with(algo))
                });
                let has_sidecar = Algorithm::ALL.iter().any(|a| sidecar(&p, *a).exists());
                match fs::read(&p) {
                    Ok(content) if !has_sidecar => {
                        // Only a file that never had a sidecar, untouched.
                        assert!(
                            !old_sidecar && Some(&content[..]) == old,
                            "{ctx}: {content:?} without a sidecar"
                        );
                        assert_eq!(
                            verify_checksum(&p).unwrap_err().kind(),
                            ErrorKind::ChecksumMissing,
                            "{ctx}"
                        );
                    }
                    Ok(content) => {
                        assert!(
                            content == b"new version" || Some(&content[..]) == old,
                            "{ctx}: torn content {content:?}"
                        );
                        assert!(
                            verify_checksum(&p).unwrap_or_else(|e| panic!("{ctx}: {e}")),
                            "{ctx}: false mismatch"
                        );
                        assert_eq!(read_atomic_verified(&p).unwrap(), content, "{ctx}");
                    }
                    Err(_) => assert!(old.is_none(), "{ctx}: the old file vanished"),
                }
                // The next write, as the first of a process in the directory
                // (a new recording has swept nothing), removes the litter.
                fault::record(|| write_atomic_with(&p, b"after", &with(algo)))
                    .0
                    .unwrap_or_else(|e| panic!("{ctx}: next write: {e}"));
                assert!(verify_checksum(&p).unwrap(), "{ctx}: after the next write");
                no_leftovers(d.path());
            }
        }
    }
}

/// Each single call of a checksummed write failing (EIO): the data and the
/// sidecar stay consistent and no temp file remains.
#[test]
fn every_failure_point_of_a_checksummed_write_keeps_data_and_sidecar_consistent() {
    let d = tempdir();
    let p = d.path().join("f");
    write_atomic_with(&p, b"old", &with(Algorithm::Sha256)).unwrap();
    let (_, trace) = fault::record(|| write_atomic_with(&p, b"warm", &with(Algorithm::Sha256)));
    let (_, trace2) = fault::record(|| write_atomic_with(&p, b"probe", &with(Algorithm::Sha256)));
    assert_eq!(trace.names(), trace2.names(), "call sequence is stable");
    for i in 0..trace.calls.len() {
        for errno in [Errno::IO, Errno::NOSPC] {
            write_atomic_with(&p, b"old", &with(Algorithm::Sha256)).unwrap();
            let (r, t) = fault::inject(Plan::fail(i, errno.raw_os_error()), || {
                write_atomic_with(&p, b"new", &with(Algorithm::Sha256))
            });
            assert_eq!(t.injected, Some(i));
            let now = fs::read(&p).unwrap();
            let ctx = format!(
                "call {i} {} failing with {errno:?}: {r:?}",
                trace.calls[i].name
            );
            assert!(now == b"old" || now == b"new", "{ctx}");
            if r.is_err() && r.as_ref().unwrap_err().kind() != ErrorKind::DurabilityUnconfirmed {
                assert_eq!(now, b"old", "{ctx}");
            }
            assert!(
                verify_checksum(&p).unwrap(),
                "{ctx}: sidecar inconsistent with data"
            );
            no_leftovers(d.path());
        }
    }
    eprintln!(
        "checksummed write: {} failure points: {:?}",
        trace.calls.len(),
        trace.names()
    );
}

// ------------------------------------------------------ checksummed creates

/// Threads race `create_atomic_with` + checksum on fresh names, each with
/// its own algorithm: exactly one wins each round, its sidecar (and only
/// its sidecar) is there and verifies, and the losers left nothing behind.
#[test]
fn racing_checksummed_creates_have_one_winner_and_its_sidecar_verifies() {
    const THREADS: usize = 4;
    const ROUNDS: usize = 60;
    let d = tempdir();
    let barrier = Arc::new(Barrier::new(THREADS));
    let name = |round: usize| d.path().join(format!("created-{round}.json"));
    let algo_of = |t: usize, round: usize| Algorithm::ALL[(t + round) % 2];
    let data_of = |t: usize, round: usize| format!("round {round}, creator {t}");
    let results: Vec<Vec<bool>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let barrier = barrier.clone();
                s.spawn(move || {
                    (0..ROUNDS)
                        .map(|round| {
                            barrier.wait();
                            let opts = with(algo_of(t, round));
                            match create_atomic_with(name(round), data_of(t, round), &opts) {
                                Ok(()) => true,
                                Err(e) if e.kind() == ErrorKind::AlreadyExists => false,
                                Err(e) => panic!("creator {t}, round {round}: {e}"),
                            }
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut false_mismatches = Vec::new();
    let winners_by_round = (0..ROUNDS)
        .map(|round| -> Vec<usize> { (0..THREADS).filter(|t| results[*t][round]).collect() });
    for (round, winners) in winners_by_round.enumerate() {
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let (t, path) = (winners[0], name(round));
        let algo = algo_of(t, round);
        let content = fs::read(&path).unwrap();
        assert_eq!(content, data_of(t, round).as_bytes(), "round {round}");
        if !verify_checksum(&path).unwrap() {
            false_mismatches.push(round);
        }
        assert_eq!(
            checksum_info(&path).unwrap().digest,
            compute_hash_data(&content, algo),
            "round {round}: the sidecar is not the winner's"
        );
        for other in Algorithm::ALL.into_iter().filter(|a| *a != algo) {
            assert!(
                !sidecar(&path, other).exists(),
                "round {round}: a loser's {other} sidecar"
            );
        }
    }
    assert!(
        false_mismatches.is_empty(),
        "false mismatches in rounds {false_mismatches:?}"
    );
    no_leftovers(d.path());
}

/// A refused checksummed create changes nothing: not over an existing file
/// (checked under the lock, before any sidecar is written), not when a
/// program that ignores the lock creates the file just before our no-replace
/// rename (the sidecar state is restored), and `.lock(false)` is refused
/// before any I/O.
#[test]
fn a_refused_checksummed_create_changes_nothing() {
    let d = tempdir();
    let exists = d.path().join("exists");
    write_atomic_with(&exists, b"original", &with(Algorithm::Sha256)).unwrap();
    let sidecar_before = fs::read(sidecar(&exists, Algorithm::Sha256)).unwrap();
    for algo in Algorithm::ALL {
        let e = create_atomic_with(&exists, b"intruder", &with(algo)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{algo}");
        assert_eq!(fs::read(&exists).unwrap(), b"original");
        assert_eq!(
            fs::read(sidecar(&exists, Algorithm::Sha256)).unwrap(),
            sidecar_before
        );
        assert!(!sidecar(&exists, Algorithm::Sha512).exists());
        assert!(verify_checksum(&exists).unwrap());
    }

    // The no-replace rename finds the name taken (simulated with EEXIST).
    let eexist = Errno::EXIST.raw_os_error();
    let raced = d.path().join("raced");
    let orphans = [
        (Algorithm::Sha256, format!("{}  raced\n", "ab".repeat(32))),
        (Algorithm::Sha512, format!("{}  raced\n", "cd".repeat(64))),
    ];
    for with_orphans in [false, true] {
        if with_orphans {
            // Sidecars left by a file that was deleted: kept as they were.
            for (algo, text) in &orphans {
                fs::write(sidecar(&raced, *algo), text).unwrap();
            }
        }
        for algo in Algorithm::ALL {
            let (r, t) = fault::inject(
                Plan::fail_named("renameat2(RENAME_NOREPLACE)", eexist),
                || create_atomic_with(&raced, b"mine", &with(algo)),
            );
            let ctx = format!("{algo}, orphan sidecars: {with_orphans}");
            assert!(t.injected.is_some(), "{ctx}: no RENAME_NOREPLACE call");
            assert_eq!(r.unwrap_err().kind(), ErrorKind::AlreadyExists, "{ctx}");
            assert!(!raced.exists(), "{ctx}");
            for (a, text) in &orphans {
                match with_orphans {
                    true => assert_eq!(fs::read_to_string(sidecar(&raced, *a)).unwrap(), *text),
                    false => assert!(!sidecar(&raced, *a).exists(), "{ctx}: {a} sidecar left"),
                }
            }
            no_leftovers(d.path());
        }
    }

    // The lock is waited for as the options say.
    let waiting = d.path().join("waiting");
    let held = acquire_lock(&waiting, None).unwrap();
    let opts = with(Algorithm::Sha256).lock_timeout(Some(Duration::from_millis(30)));
    let e = create_atomic_with(&waiting, b"x", &opts).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LockTimeout);
    assert!(!waiting.exists() && !sidecar(&waiting, Algorithm::Sha256).exists());
    drop(held);
    create_atomic_with(&waiting, b"x", &opts).unwrap();
    assert!(verify_checksum(&waiting).unwrap());

    // Without the lock, a sidecar cannot be published safely: refused.
    let unlocked = d.path().join("unlocked");
    let e = create_atomic_with(&unlocked, b"x", &with(Algorithm::Sha256).lock(false)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(!unlocked.exists());
    assert!(!sidecar(&unlocked, Algorithm::Sha256).exists());
    assert!(!lock_file_path(&unlocked).exists());
    // Without a checksum, `.lock(false)` is as before (no lock needed).
    create_atomic_with(&unlocked, b"x", &WriteOptions::new().lock(false)).unwrap();
    no_leftovers(d.path());
}

// -------------------------------------------------- symlinks, locks, timing

/// Verified reads resolve the target as writers do: through a symlink at the
/// target (relative, into another directory) and through a symlinked
/// parent directory, they find the real file's sidecar and settle races on
/// the real file's lock, never on `<alias>.lock`.
#[test]
fn verified_reads_follow_a_symlinked_target_as_writers_do() {
    let d = tempdir();
    fs::create_dir(d.path().join("real")).unwrap();
    let real = d.path().join("real/data.json");
    let alias = d.path().join("alias.json");
    std::os::unix::fs::symlink("real/data.json", &alias).unwrap();
    std::os::unix::fs::symlink("real", d.path().join("linked")).unwrap();
    let via_dir = d.path().join("linked/data.json");
    write_atomic_with(&alias, b"v1", &with(Algorithm::Sha256)).unwrap();
    assert!(fs::symlink_metadata(&alias).unwrap().is_symlink());
    assert!(sidecar(&real, Algorithm::Sha256).exists());
    for p in [&alias, &via_dir, &real] {
        assert!(verify_checksum(p).unwrap(), "{}", p.display());
        assert_eq!(read_atomic_verified(p).unwrap(), b"v1", "{}", p.display());
        let mut s = String::new();
        AtomicReader::open_verified(p)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "v1");
    }
    fs::write(&real, b"v2").unwrap();
    for p in [&alias, &via_dir] {
        assert!(!verify_checksum(p).unwrap(), "{}", p.display());
        for e in [
            read_atomic_verified(p).unwrap_err(),
            AtomicReader::open_verified(p).unwrap_err(),
        ] {
            assert_eq!(
                e.kind(),
                ErrorKind::ChecksumMismatch,
                "{}: {e}",
                p.display()
            );
            assert_eq!(
                e.path(),
                p.as_path(),
                "errors name the path the caller gave"
            );
        }
    }
    assert!(
        !lock_file_path(&alias).exists(),
        "a verified read locked the alias"
    );
    assert!(lock_file_path(&real).exists());
}

/// Runs `f` on its own thread and waits at most 20 s for it, so that a
/// regression that blocks fails the test instead of hanging the suite.
fn within_20s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f()); // the receiver may have given up
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still blocked after 20 s"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: panicked"),
    }
}

/// Every verifying call on `path`, bounded: (verify_checksum,
/// read_atomic_verified, open_verified) as error kinds, and the time taken.
type Outcomes = (
    Result<bool, ErrorKind>,
    Result<Vec<u8>, ErrorKind>,
    Result<(), ErrorKind>,
    Duration,
);

fn verify_all_ways(what: &str, path: &Path) -> Outcomes {
    let path = path.to_owned();
    within_20s(what, move || {
        let start = Instant::now();
        let v = verify_checksum(&path).map_err(|e| e.kind());
        let r = read_atomic_verified(&path).map_err(|e| e.kind());
        let o = AtomicReader::open_verified(&path)
            .map(drop)
            .map_err(|e| e.kind());
        (v, r, o, start.elapsed())
    })
}

/// A corrupt file verified while the caller holds the file's own lock (or
/// a sidecar-less one): the answer comes promptly, not never.
#[test]
fn verifying_under_your_own_lock_answers_promptly() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic_with(&path, b"good", &with(Algorithm::Sha256)).unwrap();
    fs::write(&path, b"corrupted").unwrap();
    let guard = acquire_lock(&path, None).unwrap();
    let (v, r, o, took) = verify_all_ways("verify a corrupt file under our own guard", &path);
    assert_eq!(v, Ok(false));
    assert_eq!(r.unwrap_err(), ErrorKind::ChecksumMismatch);
    assert_eq!(o.unwrap_err(), ErrorKind::ChecksumMismatch);
    eprintln!("three verifications of a corrupt file under our own lock: {took:?}");

    let bare = d.path().join("bare");
    write_atomic(&bare, b"no sidecar").unwrap();
    let bare_guard = acquire_lock(&bare, None).unwrap();
    let (v, r, o, _) = verify_all_ways("verify a sidecar-less file under our own guard", &bare);
    assert_eq!(v, Err(ErrorKind::ChecksumMissing));
    assert_eq!(r.unwrap_err(), ErrorKind::ChecksumMissing);
    assert_eq!(o.unwrap_err(), ErrorKind::ChecksumMissing);
    drop((guard, bare_guard));
}

/// A `flock(1)` process holding `<target>.lock` (killed and reaped on drop).
struct FlockHolder(Child);

impl FlockHolder {
    /// `flock -o <lock file> sleep 30`, once it holds the lock; `None`
    /// without flock(1). Killing flock(1) releases the lock at once (`-o`:
    /// its child does not hold it); the orphaned `sleep` gets no pipe of
    /// ours, so it holds up nothing while it runs out.
    fn start(target: &Path) -> Option<Self> {
        let child = Command::new("flock")
            .arg("-o")
            .arg(lock_file_path(target))
            .args(["sleep", "30"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let holder = FlockHolder(child);
        for _ in 0..1000 {
            if is_locked(target).unwrap_or(false) {
                return Some(holder);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("flock(1) never took the lock");
    }
}

impl Drop for FlockHolder {
    fn drop(&mut self) {
        let _ = self.0.kill(); // already exited is fine
        let _ = self.0.wait(); // reap
    }
}

/// While another program holds the lock for as long as it likes, verifying
/// a corrupt file still answers promptly (and correctly); a good file and
/// a missing sidecar too.
#[test]
fn verifying_while_flock1_holds_the_lock_answers_promptly() {
    let d = tempdir();
    let corrupt = d.path().join("corrupt");
    let good = d.path().join("good");
    let bare = d.path().join("bare");
    write_atomic_with(&corrupt, b"good", &with(Algorithm::Sha512)).unwrap();
    fs::write(&corrupt, b"corrupted").unwrap();
    write_atomic_with(&good, b"good", &with(Algorithm::Sha256)).unwrap();
    write_atomic(&bare, b"bare").unwrap();
    let holders: Option<Vec<FlockHolder>> = [&corrupt, &good, &bare]
        .into_iter()
        .map(|p| FlockHolder::start(p))
        .collect();
    let Some(holders) = holders else {
        eprintln!("flock(1) not available: skipped");
        return;
    };
    let (v, r, o, took) = verify_all_ways(
        "verify a corrupt file while flock(1) holds the lock",
        &corrupt,
    );
    assert_eq!(v, Ok(false));
    assert_eq!(r.unwrap_err(), ErrorKind::ChecksumMismatch);
    assert_eq!(o.unwrap_err(), ErrorKind::ChecksumMismatch);
    eprintln!("three verifications of a corrupt file while flock(1) holds the lock: {took:?}");
    let (v, r, o, _) = verify_all_ways("verify a good file while flock(1) holds the lock", &good);
    assert_eq!((v, r, o), (Ok(true), Ok(b"good".to_vec()), Ok(())));
    let (v, r, o, _) = verify_all_ways(
        "verify without a sidecar while flock(1) holds the lock",
        &bare,
    );
    assert_eq!(v, Err(ErrorKind::ChecksumMissing));
    assert_eq!(r.unwrap_err(), ErrorKind::ChecksumMissing);
    assert_eq!(o.unwrap_err(), ErrorKind::ChecksumMissing);
    drop(holders);
}

/// What a reader sees in the middle of an algorithm change when it looks
/// for `.sha256` just before the writer publishes it and for `.sha512` just
/// after the writer removes it: no sidecar at all, with the writer holding
/// the lock. Made deterministic here: the file has no sidecar while a
/// holder of the lock publishes one 20 ms later. "Missing" is only
/// reported once re-checked, so the verifier sees the sidecar.
#[test]
fn no_sidecar_seen_while_the_lock_is_held_is_rechecked_before_missing_is_reported() {
    let d = tempdir();
    let path = d.path().join("switching");
    write_atomic(&path, b"data").unwrap();
    let guard = acquire_lock(&path, None).unwrap();
    let publisher = {
        let path = path.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            // Published by rename, as writers publish sidecars.
            let digest = compute_hash_data(b"data", Algorithm::Sha256);
            let staged = path.with_extension("staged");
            fs::write(&staged, format!("{digest}  switching\n")).unwrap();
            fs::rename(&staged, sidecar(&path, Algorithm::Sha256)).unwrap();
            drop(guard);
        })
    };
    let verdict = verify_checksum(&path);
    publisher.join().unwrap();
    assert!(
        verdict.unwrap_or_else(|e| panic!("false {:?}: {e}", e.kind())),
        "false mismatch"
    );
}

/// A multi-GiB streamed write is hashed on the way with flat memory: the
/// child's peak RSS stays far below the file size, and the sidecar's digest
/// matches an independent `sha256sum` of the file.
#[test]
fn a_two_gib_streamed_write_is_hashed_with_flat_memory() {
    let mib: u64 = std::env::var("SAFEATOMIC_BIG_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let d = tempdir();
    let path = d.path().join("big.bin");
    let out = common::sa_child!()
        .args(["stream-checksum"])
        .arg(&path)
        .arg(mib.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let (digest, hwm_kib) = line.trim().split_once(' ').unwrap();
    let hwm_kib: u64 = hwm_kib.parse().unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), mib * 1024 * 1024);
    assert!(
        hwm_kib < 64 * 1024,
        "peak RSS {hwm_kib} KiB for a {mib} MiB stream: memory is not flat"
    );
    let gnu = Command::new("sha256sum").arg(&path).output().unwrap();
    let gnu = String::from_utf8(gnu.stdout).unwrap();
    assert_eq!(
        gnu.split_whitespace().next(),
        Some(digest),
        "the one-pass digest differs from sha256sum's"
    );
    eprintln!("{mib} MiB streamed with a checksum; peak RSS {hwm_kib} KiB");
}

/// A verification that settles its answer under a shared lock releases it
/// explicitly (`flock(LOCK_UN)`), not only by closing its descriptor: a
/// child forked meanwhile (any thread of the process starting a command)
/// shares the open file description and would keep the lock, and a writer
/// would find it held. The kill tests caught exactly that.
#[test]
fn verification_unlocks_its_shared_lock_explicitly() {
    let d = tempdir();
    let path = d.path().join("f");
    write_atomic_with(&path, b"good", &with(Algorithm::Sha256)).unwrap();
    fs::write(&path, b"changed behind the library's back").unwrap();
    let (result, trace) = fault::record(|| verify_checksum(&path));
    assert!(!result.unwrap(), "a genuine mismatch");
    let names = trace.names();
    let shared = names
        .iter()
        .position(|n| *n == "flock(LOCK_SH|LOCK_NB)")
        .unwrap_or_else(|| panic!("no shared lock taken: {names:?}"));
    assert!(
        names[shared..].contains(&"flock(LOCK_UN)"),
        "the shared lock is only closed, never unlocked: {names:?}"
    );
}
