//! Checksum sidecars: write a file with its `<name>.sha256`, read it back
//! verified, inspect the sidecar, add one to an existing file, and see what
//! happens when a byte changes behind the library's back, when the sidecar
//! is missing and when it is garbage.
//!
//! Run with `cargo run --example checksums`.

use safeatomic::{
    Algorithm, ErrorKind, WriteOptions, checksum_info, compute_hash_data, read_atomic_verified,
    verify_checksum, write_atomic, write_atomic_with, write_checksum_file,
};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ledger.csv");
    let data = "id,amount\n1,100\n2,250\n";

    // 1. A checksummed write: the digest is computed while writing, and the
    //    sidecar `ledger.csv.sha256` is published atomically and durably
    //    under the same lock, before the data.
    let opts = WriteOptions::new().checksum(Some(Algorithm::Sha256));
    write_atomic_with(&path, data, &opts)?;
    let sidecar = dir.path().join("ledger.csv.sha256");
    println!("== write with a checksum");
    println!("sidecar {} exists: {}", name(&sidecar), sidecar.exists());
    // Its first line is what `sha256sum` writes, so `sha256sum -c` checks it.
    let first_line = std::fs::read_to_string(&sidecar)?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    println!("first line: {first_line}");

    // 2. Verified reads: one read, verified, returning exactly the bytes that
    //    were verified. `verify_checksum` streams the file and answers yes/no.
    println!("\n== verify");
    let bytes = read_atomic_verified(&path)?;
    println!("read_atomic_verified: {} bytes", bytes.len());
    println!("verify_checksum:      {}", verify_checksum(&path)?);

    // 3. What the sidecar says, and the same digest computed in memory.
    let info = checksum_info(&path)?;
    println!("\n== checksum_info");
    println!("sidecar:   {}", name(&info.sidecar_path));
    println!("algorithm: {}", info.algorithm);
    println!("file name: {}", info.file_name);
    println!("digest:    {}", info.digest);
    println!(
        "equals compute_hash_data: {}",
        info.digest == compute_hash_data(data.as_bytes(), Algorithm::Sha256)
    );
    // The time it was written; present, but different on every run.
    println!("has a timestamp: {}", info.timestamp.is_some());

    // 4. A sidecar for a file written without one (here SHA-512).
    println!("\n== write_checksum_file");
    let report = dir.path().join("report.txt");
    write_atomic(&report, "all good\n")?;
    let info = write_checksum_file(&report, Algorithm::Sha512)?;
    println!(
        "{} now has {} ({}, {} hex digits); verifies: {}",
        name(&report),
        name(&info.sidecar_path),
        info.algorithm,
        info.digest.len(),
        verify_checksum(&report)?
    );

    // 5. Corruption: change one byte with plain std::fs, outside the
    //    library, as bit rot or a careless script would.
    println!("\n== one byte changed behind the library's back");
    {
        let mut file = std::fs::OpenOptions::new().write(true).open(&path)?;
        file.seek(SeekFrom::Start(12))?; // the "1" of "100" becomes a "9"
        file.write_all(b"9")?;
    }
    println!("verify_checksum: {}", verify_checksum(&path)?);
    match read_atomic_verified(&path) {
        Err(e) if e.kind() == ErrorKind::ChecksumMismatch => {
            println!("read_atomic_verified: {:?}", e.kind());
            if let Some((expected, actual)) = e.checksum_mismatch() {
                println!("  sidecar expects {expected}");
                println!("  data hashes to  {actual}");
            }
        }
        other => return Err(format!("expected ChecksumMismatch, got {other:?}").into()),
    }
    // Writing the file again through the library gives a consistent pair.
    write_atomic_with(&path, data, &opts)?;
    println!("rewritten; verify_checksum: {}", verify_checksum(&path)?);

    // 6. No sidecar at all is its own kind: there is nothing to check against.
    println!("\n== sidecar absent / malformed");
    let plain = dir.path().join("plain.txt");
    write_atomic(&plain, "no sidecar\n")?;
    match verify_checksum(&plain) {
        Err(e) => println!("{} without a sidecar: {:?}", name(&plain), e.kind()),
        Ok(ok) => return Err(format!("expected ChecksumMissing, got Ok({ok})").into()),
    }

    // 7. A sidecar that cannot be parsed is not "corrupt data": it is
    //    reported as malformed, with the reason.
    std::fs::write(
        dir.path().join("plain.txt.sha256"),
        "not-a-digest  plain.txt\n",
    )?;
    match read_atomic_verified(&plain) {
        Err(e) => {
            println!("{} with a garbage sidecar: {:?}", name(&plain), e.kind());
            // The message names the file, the step and why the sidecar is bad.
            println!("  {}", redact(&e, dir.path()));
        }
        Ok(_) => return Err("expected ChecksumMalformed, got Ok".into()),
    }
    Ok(())
}

/// An error's message with the temporary directory shown as `<tmp>`.
fn redact(e: &safeatomic::Error, dir: &Path) -> String {
    e.to_string().replace(&dir.display().to_string(), "<tmp>")
}

/// The file name only: the temporary directory differs on every run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
