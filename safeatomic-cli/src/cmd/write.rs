//! `safeatomic write PATH`: standard input → PATH, atomically and durably.

use crate::failure::Failure;
use crate::parse::{self, SafetyArg};
use safeatomic::{Algorithm, AtomicWriter, WriteOptions};
use std::io::{Read, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) const EXAMPLES: &str = "\
Examples:
  generate-config | safeatomic write /etc/app/config.json
  safeatomic write --mode 600 ~/.app/token < token.txt
  safeatomic write --checksum state.json < new.json      # also state.json.sha256
  safeatomic write --checksum=sha512 big.tar < big.tar.new

Nothing is printed on success. Standard input is streamed to a temp file
beside PATH (constant memory, hashed in the same pass with --checksum) and
published only at its end; the lock PATH.lock is held from its first byte
to the end. If reading standard input fails, PATH is not touched. An empty standard input (a closed one, or a producer that died
before writing: `gen-config | safeatomic write` without `set -o pipefail`) is
refused unless --allow-empty is given: it must not blank a file. A producer
that fails halfway still ends the input, and what it wrote is written: when
that matters, collect its output in a file first and write only if it
succeeded. Inside `safeatomic lock run PATH -- ...` use --no-lock: the lock is
already held by `lock run`, and a write that waits for it would wait forever.";

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to replace (created if it does not exist)
    path: PathBuf,
    /// Also write the checksum sidecar PATH.ALGO (ALGO: sha256 (default) or sha512)
    #[arg(
        long,
        value_name = "ALGO",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "sha256",
        value_parser = parse::algorithm,
    )]
    checksum: Option<Algorithm>,
    /// Do not take the cooperative lock PATH.lock (only for a file with a single writer)
    #[arg(long)]
    no_lock: bool,
    /// Permission bits of the new file, in octal (600, 0644) [default: those of the file
    /// replaced; 666 minus the umask for a new file]
    #[arg(long, value_name = "OCTAL", value_parser = parse::mode)]
    mode: Option<u32>,
    /// What to do on a filesystem that cannot keep a guarantee a write needs
    #[arg(long, value_enum, value_name = "POLICY", default_value_t = SafetyArg::Strict)]
    safety: SafetyArg,
    /// Write an empty file when standard input is empty (refused otherwise)
    #[arg(long)]
    allow_empty: bool,
}

/// The read size: large enough to amortise syscalls, small enough to keep
/// memory flat for any input size.
const CHUNK: usize = 256 * 1024;

pub(crate) fn run(args: &Args) -> Result<ExitCode, Failure> {
    let mut stdin = std::io::stdin().lock();
    let mut buf = vec![0u8; CHUNK];
    // The first bytes decide the empty-input rule before anything is
    // created (no lock file, no temp file).
    let mut n = read_stdin(&mut stdin, &mut buf)?;
    if n == 0 && !args.allow_empty {
        return Err(Failure::new(format!(
            "standard input is empty (closed, or its producer wrote nothing); nothing written \
             to `{}` (pass --allow-empty to write an empty file)",
            crate::text::path(&args.path)
        )));
    }
    let mut options = WriteOptions::new()
        .lock(!args.no_lock)
        .checksum(args.checksum)
        .safety(args.safety.into());
    if let Some(mode) = args.mode {
        options = options.mode(mode);
    }
    // Streamed: a failure before the end (a read error, a full disk)
    // drops the writer, which discards the temp file; PATH is untouched.
    let mut writer = AtomicWriter::create_with(&args.path, &options)?;
    while n > 0 {
        writer.write_all(&buf[..n]).map_err(Failure::from_write)?;
        n = read_stdin(&mut stdin, &mut buf)?;
    }
    writer.commit()?;
    Ok(ExitCode::SUCCESS)
}

/// Reads the next bytes of standard input (`EINTR` retried); 0 at its end.
fn read_stdin(stdin: &mut impl Read, buf: &mut [u8]) -> Result<usize, Failure> {
    loop {
        match stdin.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(Failure::io(
                    "cannot read standard input; nothing written",
                    &e,
                ));
            }
        }
    }
}
