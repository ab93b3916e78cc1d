//! `safeatomic mv SRC DST [--no-replace]` and `safeatomic swap A B`.

use crate::failure::Failure;
use safeatomic::{exchange_atomic, move_atomic, move_atomic_noreplace};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const MV_EXAMPLES: &str = "\
Examples:
  safeatomic mv release.new release            # replace release atomically
  safeatomic mv --no-replace upload.tmp upload # fail if upload exists

Nothing is printed on success. Both directories are fsynced before the
command returns. A move across filesystems, or onto an existing DST with
--no-replace, fails and moves nothing (exit status 1).";

pub(crate) const SWAP_EXAMPLES: &str = "\
Examples:
  safeatomic swap current next   # blue/green switch of two files or directories

Nothing is printed on success. Fails (exit status 1, nothing changed) when
either side is missing, they are on different filesystems, or the filesystem
cannot exchange names (no non-atomic fallback).";

#[derive(Debug, clap::Args)]
pub(crate) struct MvArgs {
    /// The file (or directory) to move
    src: PathBuf,
    /// The new name, on the same filesystem
    dst: PathBuf,
    /// Fail if DST exists instead of replacing it
    #[arg(long)]
    no_replace: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SwapArgs {
    /// One file or directory
    a: PathBuf,
    /// The other, on the same filesystem
    b: PathBuf,
}

pub(crate) fn mv(args: &MvArgs) -> Result<ExitCode, Failure> {
    if args.no_replace {
        move_atomic_noreplace(&args.src, &args.dst)?;
    } else {
        move_atomic(&args.src, &args.dst)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn swap(args: &SwapArgs) -> Result<ExitCode, Failure> {
    exchange_atomic(&args.a, &args.b)?;
    Ok(ExitCode::SUCCESS)
}
