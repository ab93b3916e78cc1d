//! What the filesystem under a directory guarantees: the normative view
//! (`inspect_guarantees`: the detected filesystem class and the level of
//! each of the eight guarantees there), the empirical view (`doctor` with
//! destructive probes: the real syscalls, in probe files that are always
//! removed), and requiring guarantees before relying on them.
//!
//! Run with `cargo run --example environment [DIR]` (default: a fresh
//! temporary directory). The filesystem, its class, its mount point and the
//! CrashDurability level depend on the machine; each is printed on a line
//! of its own.

use safeatomic::{DoctorOptions, ErrorKind, Guarantee, doctor, inspect_guarantees};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let temp = tempfile::tempdir()?;
    let given = std::env::args_os().nth(1).map(PathBuf::from);
    let dir = given.clone().unwrap_or_else(|| temp.path().to_owned());
    // The temporary directory differs on every run: it is shown as `<tmp>`.
    let show = |text: String| match &given {
        Some(_) => text,
        None => text.replace(&dir.display().to_string(), "<tmp>"),
    };
    let target = dir.join("state.json"); // need not exist: its directory is inspected

    // 1. The normative view: cheap (cached per device), writes nothing.
    let report = inspect_guarantees(&target)?;
    let env = report.environment();
    println!("== inspect_guarantees");
    println!("platform:    {}", env.platform());
    println!("filesystem:  {}", env.filesystem());
    println!("class:       {}", env.filesystem_class());
    println!("mount point: {}", env.mount_point().unwrap_or("?"));
    for (guarantee, level) in report.guarantees() {
        println!("  {:<22}{level}", guarantee.name());
    }
    // What a program that promises durable state should check: `missing`
    // lists the required guarantees that are not `Guaranteed`. On tmpfs
    // and overlay CrashDurability is `BestEffort` (tmpfs is emptied by a
    // power loss by design; overlay is as durable as its upper layer).
    // Strict writes still proceed there; whether that is enough is the
    // program's decision.
    let missing = report.missing(&[Guarantee::AtomicVisibility, Guarantee::CrashDurability]);
    println!("not Guaranteed of AtomicVisibility + CrashDurability: {missing:?}");

    // 2. The empirical view: with destructive probes the doctor performs
    //    the syscalls the library relies on (exclusive create, fsync of file
    //    and directory, atomic replace, a reader's snapshot, renameat2,
    //    O_TMPFILE, flock, lock and checksum sidecars) in `.safeatomic-doctor-…`
    //    files that it always removes. A failing probe is reported, not an
    //    error.
    let report = doctor(&target, &DoctorOptions::new().destructive(true))?;
    println!("\n== doctor --destructive");
    print!("{}", show(report.summary()));
    println!("all checks passed: {}", report.all_passed());
    let leftovers = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".safeatomic-doctor-")
        })
        .count();
    println!("probe files left behind: {leftovers}");

    // 3. Requiring guarantees: the doctor fails with UnsupportedEnvironment,
    //    listing what is missing and why, when a required guarantee is not
    //    Guaranteed here or a probe supporting it failed.
    println!("\n== require");
    for required in [
        vec![Guarantee::AtomicVisibility, Guarantee::WriterExclusion],
        vec![Guarantee::AtomicVisibility, Guarantee::CrashDurability],
    ] {
        let names: Vec<&str> = required.iter().map(|g| g.name()).collect();
        let opts = DoctorOptions::new().require(required.iter().copied());
        // Without `destructive`, only the matrix and two harmless checks count.
        let outcome = match doctor(&target, &opts) {
            Ok(_) => "ok".to_owned(),
            Err(e) if e.kind() == ErrorKind::UnsupportedEnvironment => {
                format!("{:?}: {}", e.kind(), show(e.to_string()))
            }
            Err(e) => return Err(e.into()),
        };
        // The second outcome depends on the filesystem: "ok" where
        // CrashDurability is Guaranteed (ext4, xfs, btrfs …), refused on
        // tmpfs and overlay, where it is BestEffort.
        println!("require {}:", names.join(" + "));
        println!("  {outcome}");
    }
    Ok(())
}
