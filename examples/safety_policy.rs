//! The safety policy: what an operation does when the filesystem cannot
//! provide a guarantee it needs. `Safety::Strict` (the default) refuses
//! before writing anything when a needed guarantee is `NonTarget` or
//! `Unsupported`, and proceeds on `BestEffort`; `Safety::Warn` proceeds and
//! logs a warning; `Safety::BestEffort` proceeds silently. The policy is
//! chosen at each call site: there is no global switch.
//!
//! The refusal is shown for real, without root or NFS, on `/proc`: procfs
//! is a filesystem the library does not recognise (class `unknown`), so
//! every guarantee there is `Unsupported`.
//!
//! Run with `cargo run --example safety_policy`.

use safeatomic::{
    ErrorKind, FsClass, Guarantee, Level, ReadOptions, Safety, WriteOptions, inspect_guarantees,
    read_atomic_with, write_atomic, write_atomic_with,
};

/// What a locked write needs (a read needs ReaderConsistency; a checksum
/// adds IntegrityDetection; see docs/guarantees.md).
const WRITE_NEEDS: [Guarantee; 3] = [
    Guarantee::AtomicVisibility,
    Guarantee::CrashDurability,
    Guarantee::WriterExclusion,
];

/// Prints the library's `log` warnings (Safety::Warn reports through the
/// `log` crate; a real program would use its own logger).
struct PrintWarnings;

impl log::Log for PrintWarnings {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            println!("  log {}: {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: PrintWarnings = PrintWarnings;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    log::set_logger(&LOGGER).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Warn);

    // 1. The default, and where the policy is chosen.
    println!("== the policy");
    println!("Safety::default(): {:?}", Safety::default());
    println!(
        "chosen per call: WriteOptions, ReadOptions, LockOptions and StoreOptions each have .safety(…)"
    );

    // 2. The decision, class by class, from the public guarantee matrix
    //    (`FsClass::level`): Strict refuses a write where one of the
    //    guarantees it needs is NonTarget or Unsupported.
    println!("\n== a locked write under Strict, by filesystem class");
    for class in FsClass::ALL {
        let weak: Vec<String> = WRITE_NEEDS
            .iter()
            .map(|g| (g, class.level(*g)))
            .filter(|(_, level)| *level != Level::Guaranteed)
            .map(|(g, level)| format!("{g} {level}"))
            .collect();
        let refused = WRITE_NEEDS
            .iter()
            .any(|g| matches!(class.level(*g), Level::NonTarget | Level::Unsupported));
        let verdict = if refused { "refused" } else { "proceeds" };
        if weak.is_empty() {
            println!("  {:<17}{verdict}", class.name());
        } else {
            println!("  {:<17}{verdict:<9}({})", class.name(), weak.join(", "));
        }
    }

    // 3. Here: the temporary directory is on a target filesystem (ext4,
    //    xfs, btrfs, tmpfs or overlay on any ordinary machine), so a Strict
    //    write proceeds. The class depends on the machine.
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state.json");
    let here = inspect_guarantees(&state)?;
    println!("\n== the temporary directory");
    println!("class: {}", here.environment().filesystem_class());
    write_atomic(&state, "{}")?; // Strict, the default
    println!("a Strict write proceeded");

    // 4. A real refusal: procfs.
    let proc_file = "/proc/version";
    let report = inspect_guarantees(proc_file)?;
    println!("\n== {proc_file}");
    println!(
        "filesystem {} (class {}); ReaderConsistency {}",
        report.environment().filesystem(),
        report.environment().filesystem_class(),
        report.level(Guarantee::ReaderConsistency)
    );

    // Strict: refused before the file is even opened.
    match read_atomic_with(proc_file, &ReadOptions::new()) {
        Err(e) if e.kind() == ErrorKind::UnsupportedEnvironment => {
            println!("Strict read: {:?} at step {:?}", e.kind(), e.step());
            println!("  {e}");
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }
    // A write is refused the same way, before anything is created.
    match write_atomic_with("/proc/safeatomic-example", "x", &WriteOptions::new()) {
        Err(e) if e.kind() == ErrorKind::UnsupportedEnvironment => {
            println!("Strict write: {:?} at step {:?}", e.kind(), e.step());
        }
        other => return Err(format!("expected a refusal, got {other:?}").into()),
    }

    // Warn: proceeds, and logs one warning per needed guarantee that is not
    // Guaranteed.
    println!("Warn read:");
    let bytes = read_atomic_with(proc_file, &ReadOptions::new().safety(Safety::Warn))?;
    println!(
        "  proceeded; starts with \"Linux version\": {}",
        bytes.starts_with(b"Linux version")
    );

    // BestEffort: proceeds silently; the caller takes responsibility.
    println!("BestEffort read:");
    let bytes = read_atomic_with(proc_file, &ReadOptions::new().safety(Safety::BestEffort))?;
    println!(
        "  proceeded, nothing logged; starts with \"Linux version\": {}",
        bytes.starts_with(b"Linux version")
    );

    // The third difference between the policies cannot be shown without
    // making an fsync fail: if the directory fsync after the rename fails,
    // Strict returns ErrorKind::DurabilityUnconfirmed (the new content is in
    // place; `err.is_committed()` is true), while Warn logs and BestEffort
    // stays silent, both returning Ok. Moves (move_atomic and friends) take
    // no policy: they always apply Strict.
    Ok(())
}
