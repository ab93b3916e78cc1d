//! The basic operations: replace a file atomically and durably, read it back,
//! choose the permission bits, publish only if absent, and move, move without
//! replacing, or swap two files atomically.
//!
//! Run with `cargo run --example basic`. Everything happens in a fresh
//! temporary directory; only file names are printed.

use safeatomic::{
    ErrorKind, WriteOptions, create_atomic, exchange_atomic, move_atomic, move_atomic_noreplace,
    read_atomic, read_atomic_to_string, write_atomic, write_atomic_with,
};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let notes = dir.path().join("notes.txt");

    // 1. Replace a file: temp file, fsync, rename over the target, fsync the
    //    directory. A reader sees the old or the new file, never a mix; once
    //    this returns, the new content survives a crash or a power cut.
    write_atomic(&notes, "first version\n")?;
    write_atomic(&notes, "second version\n")?;
    println!("== write and read");
    println!(
        "read_atomic:           {} bytes",
        read_atomic(&notes)?.len()
    );
    println!(
        "read_atomic_to_string: {:?}",
        read_atomic_to_string(&notes)?
    );

    // 2. Options: exact permission bits, whatever the umask. A later plain
    //    write keeps the mode of the file it replaces.
    println!("\n== permissions");
    let token = dir.path().join("token");
    write_atomic_with(&token, "s3cret", &WriteOptions::new().mode(0o600))?;
    println!("{} written with mode {:o}", name(&token), mode(&token)?);
    write_atomic(&token, "rotated")?;
    println!("{} replaced, mode still {:o}", name(&token), mode(&token)?);

    // 3. Publish only if nothing is there yet: of any number of racing
    //    creators exactly one wins; the others are told, and nothing of
    //    theirs is written.
    println!("\n== create if absent");
    let id = dir.path().join("instance-id");
    create_atomic(&id, "first")?;
    match create_atomic(&id, "second") {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            println!("second create_atomic refused: {:?}", e.kind());
        }
        other => return Err(format!("expected AlreadyExists, got {other:?}").into()),
    }
    println!(
        "{} still holds {:?}",
        name(&id),
        read_atomic_to_string(&id)?
    );

    // 4. Renames. `move_atomic` replaces the destination; the no-replace
    //    variant refuses an existing one; `exchange_atomic` swaps two files
    //    so that each name always refers to one complete file. All three are
    //    made durable (both directories fsynced) and refuse to cross
    //    filesystems rather than copy.
    println!("\n== moves");
    let draft = dir.path().join("draft.txt");
    let published = dir.path().join("published.txt");
    write_atomic(&draft, "draft 1")?;
    move_atomic(&draft, &published)?;
    println!(
        "move_atomic: {} -> {}; {} exists: {}",
        name(&draft),
        name(&published),
        name(&draft),
        draft.exists()
    );

    write_atomic(&draft, "draft 2")?;
    match move_atomic_noreplace(&draft, &published) {
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            println!(
                "move_atomic_noreplace onto an existing file: {:?}",
                e.kind()
            );
        }
        other => return Err(format!("expected AlreadyExists, got {other:?}").into()),
    }
    let archived = dir.path().join("archived.txt");
    move_atomic_noreplace(&draft, &archived)?;
    println!(
        "move_atomic_noreplace to a free name: {} holds {:?}",
        name(&archived),
        read_atomic_to_string(&archived)?
    );

    exchange_atomic(&published, &archived)?;
    println!(
        "exchange_atomic: {} = {:?}, {} = {:?}",
        name(&published),
        read_atomic_to_string(&published)?,
        name(&archived),
        read_atomic_to_string(&archived)?
    );

    // What is left: the files, and the `<name>.lock` files the writes locked
    // (lock files are kept on purpose: removing one would break exclusion).
    println!("\n== directory");
    let mut names: Vec<String> = std::fs::read_dir(dir.path())?
        .map(|entry| entry.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for n in names {
        println!("  {n}");
    }
    Ok(())
}

/// The file name only: the temporary directory differs on every run.
fn name(path: &Path) -> String {
    path.file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
}

/// The permission bits of `path`.
fn mode(path: &Path) -> std::io::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o7777)
}
