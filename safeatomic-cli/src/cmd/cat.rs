//! `safeatomic cat PATH [--verify]`: one consistent version of PATH → stdout.

use crate::failure::{self, Failure};
use safeatomic::{AtomicReader, read_atomic_verified};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub(crate) const EXAMPLES: &str = "\
Examples:
  safeatomic cat state.json
  safeatomic cat --verify state.json | jq .   # nothing printed unless it verifies

Even while writers replace PATH, the bytes printed all come from one complete
version of it. With --verify, PATH is checked against its sidecar PATH.sha256
(or .sha512) and printed only if it matches; a mismatch, a missing or a
malformed sidecar is an error (exit status 1).";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to print
    path: PathBuf,
    /// Print only if PATH matches its checksum sidecar (written by `write --checksum`)
    #[arg(long)]
    verify: bool,
}

pub(crate) fn run(args: &Args) -> Result<ExitCode, Failure> {
    if args.verify {
        // Verified in memory, then printed: nothing reaches stdout unverified.
        let bytes = read_atomic_verified(&args.path)?;
        failure::write_stdout(&bytes)?;
    } else {
        // Streamed from the one open file: constant memory for any size.
        let mut reader = AtomicReader::open(&args.path)?;
        copy_to_stdout(&mut reader, &args.path)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn copy_to_stdout(reader: &mut impl Read, path: &Path) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Failure::io(
                    &format!("failed to read `{}`", crate::text::path(path)),
                    &e,
                ));
            }
        };
        out.write_all(&buf[..n]).map_err(failure::stdout_error)?;
    }
    out.flush().map_err(failure::stdout_error)
}
