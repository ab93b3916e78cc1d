//! `safeatomic doctor PATH [--destructive] [--require G1,G2] [--json]`.

use crate::failure::{self, Failure};
use crate::parse;
use safeatomic::{DoctorOptions, Guarantee, doctor};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const EXAMPLES: &str = "\
Guarantees: AtomicVisibility, CrashDurability, WriterExclusion,
IntegrityDetection, ReaderConsistency, StaleRecovery, MetadataPreservation,
CrossDeviceSafety (any case).

Examples:
  safeatomic doctor /var/lib/app
  safeatomic doctor --destructive --json /var/lib/app/state.json
  safeatomic doctor --destructive --require CrashDurability,WriterExclusion /var/lib/app \\
      || echo 'not a place for durable state'

Exit status: 0 when the report was made (failed checks are shown in it);
1 when a --require'd guarantee is missing (its level on this filesystem is
not Guaranteed, or a probe supporting it failed), or the directory cannot be
examined. See docs/doctor.md for what each check does.";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A file (existing or not) or a directory; the checks run in its directory
    path: PathBuf,
    /// Run the probes that create, fsync, rename, lock and remove .safeatomic-doctor-* files
    #[arg(long)]
    destructive: bool,
    /// Exit with status 1 unless these guarantees hold (comma-separated names)
    #[arg(
        long,
        value_name = "G1,G2",
        value_delimiter = ',',
        value_parser = parse::guarantee,
    )]
    require: Vec<Guarantee>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, Failure> {
    // Without `require`: the report is printed even when something is missing.
    let report = doctor(
        &args.path,
        &DoctorOptions::new().destructive(args.destructive),
    )?;
    let text = if args.json {
        to_json(&report)?
    } else {
        report.summary()
    };
    failure::write_stdout(text.as_bytes())?;
    let missing = report.missing(&args.require);
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let list: Vec<String> = missing
        .iter()
        .map(|(g, why)| format!("{g} ({why})"))
        .collect();
    Err(Failure::new(format!(
        "required guarantees missing in {}: {}",
        crate::text::path(report.directory()),
        list.join("; ")
    )))
}

/// Pretty JSON with a final newline.
pub(crate) fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    let mut s = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::new(format!("cannot serialize the report: {e}")))?;
    s.push('\n');
    Ok(s)
}
