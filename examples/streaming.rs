//! Streaming: `AtomicWriter` writes any amount through `std::io::Write` with
//! constant memory and publishes it only on `commit`; discarding or
//! dropping it publishes nothing. `AtomicReader` holds one version of a file
//! — a stable snapshot even while writers replace the file — and can seek.
//!
//! Run with `cargo run --example streaming`.

use safeatomic::{AtomicReader, AtomicWriter, read_atomic_to_string, write_atomic};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let export = dir.path().join("export.csv");
    write_atomic(&export, "old export\n")?;

    // 1. Write in chunks. The temp file lives beside the target (named
    //    `.safeatomic-tmp-<random>.tmp`); the target keeps its old content
    //    until commit, whatever is written or flushed meanwhile.
    println!("== AtomicWriter: commit");
    let mut writer = AtomicWriter::create(&export)?;
    writeln!(writer, "id,value")?;
    for i in 0..100_000u64 {
        writeln!(writer, "{i},{}", i * i)?;
    }
    writer.flush()?; // pushes buffered bytes to the temp file; publishes nothing
    println!("while writing: target still {:?}", first_line(&export)?);
    println!("temp files beside it: {}", temp_files(dir.path())?);
    writer.commit()?; // fsync, rename over the target, fsync the directory
    let text = read_atomic_to_string(&export)?;
    println!(
        "after commit: {} lines, {} bytes, last line {:?}",
        text.lines().count(),
        text.len(),
        text.lines().last().unwrap_or_default()
    );
    println!("temp files beside it: {}", temp_files(dir.path())?);

    // 2. Abandon a write: `discard`, an early `?` return, a panic, or simply
    //    dropping the writer removes the temp file; nothing is published.
    println!("\n== AtomicWriter: discard and drop");
    let mut writer = AtomicWriter::create(&export)?;
    writer.write_all(b"half a file")?;
    writer.discard();
    println!(
        "after discard: target unchanged: {}",
        read_atomic_to_string(&export)? == text
    );

    let fresh = dir.path().join("never.csv");
    if let Err(e) = write_report(&fresh) {
        println!("write_report failed midway: {e}");
    }
    println!(
        "after a dropped writer: {} exists: {}; temp files: {}",
        name(&fresh),
        fresh.exists(),
        temp_files(dir.path())?
    );

    // 3. A reader holds the version it opened. Writers replace the file by
    //    rename, so the reader's open file is that version, unchanged, for
    //    as long as it is open.
    println!("\n== AtomicReader: a stable snapshot");
    let config = dir.path().join("config.txt");
    write_atomic(&config, "version=1\ncolour=blue\n")?;
    let mut reader = AtomicReader::open(&config)?;
    println!("opened a reader on version 1 ({} bytes)", reader.len());
    write_atomic(&config, "version=2\ncolour=green\n")?;
    let mut snapshot = String::new();
    reader.read_to_string(&mut snapshot)?;
    println!("file replaced; the reader still reads {snapshot:?}");
    println!("a new read sees {:?}", read_atomic_to_string(&config)?);

    // Seek works on the snapshot, too.
    reader.seek(SeekFrom::Start(10))?;
    let mut rest = String::new();
    reader.read_to_string(&mut rest)?;
    println!("seek to byte 10 of the snapshot: {rest:?}");
    let end = reader.seek(SeekFrom::End(0))?;
    println!("seek to the end: offset {end}");
    Ok(())
}

/// A report writer that fails half-way: the `?` returns early, the writer
/// is dropped, and nothing is published at `path`.
fn write_report(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut writer = AtomicWriter::create(path)?;
    writeln!(writer, "header")?;
    let row: u32 = "not a number".parse()?; // fails here
    writeln!(writer, "{row}")?;
    writer.commit()?;
    Ok(())
}

/// The first line of the file at `path`.
fn first_line(path: &Path) -> Result<String, safeatomic::Error> {
    Ok(read_atomic_to_string(path)?
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned())
}

/// How many of the library's temp files are in `dir` right now.
fn temp_files(dir: &Path) -> std::io::Result<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir)? {
        if entry?
            .file_name()
            .to_string_lossy()
            .starts_with(".safeatomic-tmp-")
        {
            n += 1;
        }
    }
    Ok(n)
}

/// The file name only: the temporary directory differs on every run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}
