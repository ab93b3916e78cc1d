//! `safeatomic checksum write|verify PATH [--algo ALGO]`.

use crate::failure::{self, Failure};
use crate::parse;
use safeatomic::{
    Algorithm, ErrorKind, checksum_info, compute_hash_file, verify_checksum, write_checksum_file,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const WRITE_EXAMPLES: &str = "\
Examples:
  safeatomic checksum write backup.tar                # backup.tar.sha256
  safeatomic checksum write --algo sha512 backup.tar  # backup.tar.sha512
  cd \"$(dirname backup.tar)\" && sha256sum -c backup.tar.sha256

Prints the sidecar written and the digest. The file is read under its
cooperative lock, so no safeatomic writer changes it meanwhile; a sidecar of
the other algorithm is removed.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  safeatomic checksum verify backup.tar && restore backup.tar

Exit status: 0 when PATH matches its sidecar (prints `PATH: OK (ALGO)`);
1 on a mismatch, a missing sidecar or a malformed sidecar, each with its own
one-line message on stderr.";

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Compute PATH's digest and write its sidecar PATH.ALGO (atomically, durably)
    #[command(after_help = WRITE_EXAMPLES)]
    Write {
        /// The data file
        path: PathBuf,
        /// The digest algorithm: sha256 or sha512
        #[arg(long, value_name = "ALGO", default_value = "sha256", value_parser = parse::algorithm)]
        algo: Algorithm,
    },
    /// Check PATH against its sidecar; exit status 1 if it does not match
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify {
        /// The data file
        path: PathBuf,
        /// Require a sidecar of this algorithm (sha256 or sha512) [default: the sidecar present]
        #[arg(long, value_name = "ALGO", value_parser = parse::algorithm)]
        algo: Option<Algorithm>,
    },
}

pub(crate) fn run(command: &Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Write { path, algo } => {
            let info = write_checksum_file(path, *algo)?;
            let line = format!(
                "wrote {} ({} {})\n",
                crate::text::path(&info.sidecar_path),
                info.algorithm,
                info.digest
            );
            failure::write_stdout(line.as_bytes())?;
        }
        Command::Verify { path, algo } => {
            if let Some(algo) = algo {
                require_algorithm(path, *algo)?;
            }
            let algorithm = match verify_checksum(path) {
                Ok(true) => checksum_info(path)
                    .map_or_else(|_| "checksum".into(), |i| i.algorithm.to_string()),
                Ok(false) => return Err(mismatch(path)),
                Err(e) => return Err(lookup_failure(path, e)),
            };
            failure::write_stdout(
                format!("{}: OK ({algorithm})\n", crate::text::path(path)).as_bytes(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `--algo` on verify: the sidecar present must be of that algorithm.
fn require_algorithm(path: &Path, algo: Algorithm) -> Result<(), Failure> {
    let info = checksum_info(path).map_err(|e| lookup_failure(path, e))?;
    if info.algorithm == algo {
        return Ok(());
    }
    Err(Failure::new(format!(
        "no {algo} checksum sidecar for `{}`: its sidecar is `{}` ({})",
        crate::text::path(path),
        crate::text::path(&info.sidecar_path),
        info.algorithm
    )))
}

/// A missing sidecar gets a hint; other errors (a missing data file is
/// `NotFound`) are the library's own line.
fn lookup_failure(path: &Path, e: safeatomic::Error) -> Failure {
    if e.kind() == ErrorKind::ChecksumMissing {
        Failure::new(format!(
            "no checksum sidecar for `{}` (neither .sha256 nor .sha512 exists; \
             create one with `safeatomic checksum write`)",
            crate::text::path(path)
        ))
    } else {
        e.into()
    }
}

/// The one-line mismatch message, with both digests when they can be had.
fn mismatch(path: &Path) -> Failure {
    let Ok(info) = checksum_info(path) else {
        return Failure::new(format!(
            "checksum mismatch: `{}` does not match its sidecar",
            crate::text::path(path)
        ));
    };
    let found = compute_hash_file(path, info.algorithm).unwrap_or_else(|_| "?".to_owned());
    Failure::new(format!(
        "checksum mismatch: `{}` does not match its sidecar `{}` ({} expected {}, found {})",
        crate::text::path(path),
        crate::text::path(&info.sidecar_path),
        info.algorithm,
        info.digest,
        found
    ))
}
