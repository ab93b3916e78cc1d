//! `safeatomic inspect PATH [--json]`: the guarantee matrix for PATH.

use crate::failure::{self, Failure};
use safeatomic::inspect_guarantees;
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const EXAMPLES: &str = "\
Examples:
  safeatomic inspect /var/lib/app/state.json
  safeatomic inspect --json /dev/shm | jq -r .environment.filesystem_class

PATH may be a file that does not exist yet (its directory is inspected) or a
directory. Nothing is written; `safeatomic doctor` exercises the syscalls.";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A file (existing or not) or a directory
    path: PathBuf,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, Failure> {
    let report = inspect_guarantees(&args.path)?;
    let text = if args.json {
        crate::cmd::doctor::to_json(&report)?
    } else {
        report.to_string()
    };
    failure::write_stdout(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
