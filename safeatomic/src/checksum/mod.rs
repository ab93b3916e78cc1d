//! Checksum sidecars (`docs/design.md`, the sidecar protocol): digests
//! ([`digest`]), the sidecar file — its format, which one to believe,
//! publishing — ([`sidecar`]), and verification ([`verify`]).
//!
//! A sidecar `<target>.<algo>` reads
//!
//! ```text
//! <hex digest>  <file name>
//! # algo=sha256
//! # timestamp=2026-01-15T12:34:56.789012+00:00
//! ```
//!
//! The first line is what `sha256sum` prints; the metadata lines start with
//! `#`, which GNU `sha256sum -c` skips even with `--strict`, so our
//! sidecars check cleanly. A file name with a backslash, newline or
//! carriage return is escaped as GNU tools escape it (`\\`, `\n`, `\r`,
//! the line prefixed with `\`). A sidecar written by a safeatomic write may
//! carry three more lines, `# previous=<algo>:<hex>`,
//! `# previous_inode=<n>` and `# previous_ctime=<s.ns>`: the digest, inode
//! and change time of the version it replaces, so that a crash between
//! publishing the sidecar and publishing the data is never mistaken for
//! corruption (docs/decisions/0004).
//!
//! Readers accept the metadata with or without the `#`: the Python
//! reference library and earlier versions of this crate write bare
//! `algo=` and `timestamp=` lines (which `sha256sum -c` only warns about).
//! The reference library reads our `.sha256` sidecars (it ignores the
//! lines it does not know and assumes SHA-256).
//!
//! Verification is lock-free and never reports a false mismatch or a false
//! "sidecar missing": such an answer is retried, then confirmed under a
//! shared lock on the writers' existing lock file, waited for at most
//! [`verify::CONFIRM_LOCK_WAIT`] (250 ms), or, when the lock is held longer (by the
//! caller itself, say) or there is no lock file, by re-reading until two
//! consecutive readings saw the same files (docs/decisions/0008, 0010).
//!
//! Only sidecars another user cannot have planted are believed ([`sidecar::choose`]).

pub(crate) mod digest;
pub(crate) mod sidecar;
pub(crate) mod verify;
