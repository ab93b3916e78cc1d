//! Checksum sidecars: format compatibility with GNU coreutils and the
//! reference library, verification outcomes, detection of every real change,
//! and no false alarm under concurrency or after a crash at any point.

use common::{no_leftovers, tempdir};
use rustix::io::Errno;
use safeatomic::fault::{self, Plan};
use safeatomic::{
    Algorithm, AtomicReader, AtomicWriter, ErrorKind, WriteOptions, checksum_info,
    compute_hash_data, compute_hash_file, read_atomic, read_atomic_verified, verify_checksum,
    write_atomic, write_atomic_with, write_checksum_file,
};
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

#[test]
fn coreutils_accept_our_sidecars() {
    let d = tempdir();
    for algo in Algorithm::ALL {
        let path = d.path().join(format!("file-{algo}.bin"));
        write_atomic_with(&path, vec![7u8; 100_000], &with(algo)).unwrap();
        // A second write gives the sidecar its `previous=` lines too.
        write_atomic_with(&path, vec![8u8; 100_001], &with(algo)).unwrap();
        let out = gnu_check(&path, algo);
        assert!(
            out.status.success(),
            "{algo}sum -c failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains(": OK"));
    }
}

#[test]
fn coreutils_accept_escaped_and_non_ascii_names_and_we_read_them_back() {
    let d = tempdir();
    for name in [
        &b"back\\slash"[..],
        b"new\nline",
        b"caf\xc3\xa9 \xe2\x82\xac.txt",
        b"sp ace",
    ] {
        let path = d.path().join(OsStr::from_bytes(name));
        write_atomic_with(&path, b"payload", &with(Algorithm::Sha256)).unwrap();
        let out = gnu_check(&path, Algorithm::Sha256);
        assert!(
            out.status.success(),
            "sha256sum -c on {:?}: {}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            checksum_info(&path).unwrap().file_name,
            String::from_utf8_lossy(name)
        );
        assert!(verify_checksum(&path).unwrap());
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

#[test]
fn readers_verifying_while_a_writer_replaces_see_no_false_alarm() {
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
                write_atomic_with(&path, body, &with(Algorithm::Sha256)).unwrap();
                writes.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let readers: Vec<_> = (0..3)
        .map(|r| {
            let (path, writes) = (path.clone(), writes.clone());
            std::thread::spawn(move || {
                // At least 1500 reads each, and on for as long as the writer
                // has not made 50 writes (slow-fsync storage), within 60 s.
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
                let mut n = 0u64;
                while n < 1500
                    || (writes.load(Ordering::Relaxed) < 50 && std::time::Instant::now() < deadline)
                {
                    let bytes = if n.is_multiple_of(2) {
                        read_atomic_verified(&path)
                            .unwrap_or_else(|e| panic!("reader {r}, read {n}: {e}"))
                    } else {
                        assert!(
                            verify_checksum(&path).unwrap_or_else(|e| panic!("reader {r}: {e}"))
                        );
                        read_atomic(&path).unwrap()
                    };
                    assert!(bytes.starts_with(b"{\"version\"") || bytes == b"seed");
                    n += 1;
                }
            })
        })
        .collect();
    for r in readers {
        r.join().expect("a verifying reader saw a false alarm");
    }
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    assert!(
        writes.load(Ordering::Relaxed) >= 50,
        "the writer barely ran: the test proved nothing"
    );
}

/// A checksummed write is crashed after every call it makes: whatever
/// survives verifies (never a false mismatch), and the next write works.
#[test]
fn a_crash_at_any_point_of_a_checksummed_write_is_never_corruption() {
    for algo in Algorithm::ALL {
        for (what, old) in [("new file", None), ("replace", Some(&b"old version"[..]))] {
            let prepare = || {
                let d = tempdir();
                let p = d.path().join("state.json");
                if let Some(old) = old {
                    write_atomic_with(&p, old, &with(algo)).unwrap();
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
                match fs::read(&p) {
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
                write_atomic_with(&p, b"after", &with(algo))
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
    let out = Command::new(env!("CARGO_BIN_EXE_sa-child"))
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
