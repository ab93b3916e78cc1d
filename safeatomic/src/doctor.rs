//! The doctor: an empirical check of what a directory really supports.
//!
//! [`inspect_guarantees`](crate::inspect_guarantees) is the normative view
//! (what the matrix promises for the detected filesystem class). The doctor
//! adds the empirical view: with destructive probes allowed, it performs the
//! actual syscalls the library relies on, in the parent directory, with
//! files named `.safeatomic-doctor-<random>-…` that are always removed.

use crate::checksum::digest::Algorithm;
use crate::checksum::verify::verify_checksum;
use crate::env::{self, Environment, Guarantee, Level};
use crate::error::{Error, ErrorKind, Operation, Result};
use crate::litter::{self, PROBE_PREFIX};
use crate::lock::{LockOptions, inspect_lock, try_acquire_lock_with};
use crate::options::WriteOptions;
use crate::path;
use crate::policy::Safety;
use crate::read::{AtomicReader, ReadOptions, read_atomic_with};
use crate::sys::{self, Mode, OFlags, OwnedFd};
use crate::text::Shown;
use crate::write::write_atomic_with;
use serde::Serialize;
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Options for [`doctor`].
///
/// # Examples
///
/// ```
/// use safeatomic::{DoctorOptions, Guarantee};
/// let opts = DoctorOptions::new()
///     .destructive(true)
///     .require([Guarantee::AtomicVisibility, Guarantee::CrashDurability]);
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DoctorOptions {
    destructive: bool,
    require: Vec<Guarantee>,
}

impl DoctorOptions {
    /// Defaults: no destructive probes, nothing required.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{DoctorOptions, doctor};
    /// assert_eq!(DoctorOptions::new(), DoctorOptions::default());
    /// # let dir = tempfile::tempdir()?;
    /// let report = doctor(dir.path(), &DoctorOptions::new())?;
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0); // created nothing
    /// # let _ = report;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// Allow probes that create, write, rename, lock and remove files in
    /// the parent directory (always cleaned up). Without it the doctor
    /// creates no file at all, and the probes are reported as not run.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{CheckStatus, DoctorOptions, doctor};
    /// # let dir = tempfile::tempdir()?;
    /// let report = doctor(dir.path(), &DoctorOptions::new().destructive(true))?;
    /// assert!(report.checks().iter().all(|c| c.status != CheckStatus::NotRun));
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0); // probe files removed
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn destructive(mut self, allow: bool) -> Self {
        self.destructive = allow;
        self
    }

    /// Guarantees the caller needs: [`doctor`] fails with
    /// [`ErrorKind::UnsupportedEnvironment`] (listing what is missing) when
    /// one of them is not `Guaranteed` for the filesystem class, or a probe
    /// that supports it failed.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{DoctorOptions, ErrorKind, Guarantee, doctor};
    /// # let dir = tempfile::tempdir()?;
    /// let opts = DoctorOptions::new().require([Guarantee::CrashDurability]);
    /// match doctor(dir.path(), &opts) {
    ///     Ok(report) => assert!(report.missing(&[Guarantee::CrashDurability]).is_empty()),
    ///     Err(e) => assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment), // e.g. tmpfs
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn require(mut self, guarantees: impl IntoIterator<Item = Guarantee>) -> Self {
        self.require = guarantees.into_iter().collect();
        self
    }
}

/// The outcome of one check.
///
/// # Examples
///
/// ```
/// use safeatomic::{CheckStatus, DoctorOptions, doctor};
/// # let dir = tempfile::tempdir()?;
/// let report = doctor(dir.path(), &DoctorOptions::new())?; // not destructive
/// let not_run = report.checks().iter().filter(|c| c.status == CheckStatus::NotRun);
/// assert!(not_run.count() > 0); // the probes
/// assert_eq!(report.checks()[0].status, CheckStatus::Passed); // "parent exists"
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    /// The check ran and succeeded.
    Passed,
    /// The check ran and failed; the check's detail says how (errno text).
    Failed,
    /// The check did not run: destructive probes were not allowed, or the
    /// `parent writable` check failed, so no probe ran.
    NotRun,
}

/// One check of a [`DoctorReport`].
///
/// # Examples
///
/// ```
/// use safeatomic::{CheckStatus, DoctorOptions, doctor};
/// # let dir = tempfile::tempdir()?;
/// let report = doctor(dir.path(), &DoctorOptions::new().destructive(true))?;
/// for check in report.checks().iter().filter(|c| c.status == CheckStatus::Failed) {
///     eprintln!("{} failed ({:?}); affects {:?}", check.name, check.detail, check.supports);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorCheck {
    /// A short name, e.g. `"fsync directory"`.
    pub name: &'static str,
    /// Passed, failed or not run.
    pub status: CheckStatus,
    /// What happened: the OS error for a failure, why for "not run".
    pub detail: Option<String>,
    /// The guarantees that rely on what this check exercises.
    pub supports: Vec<Guarantee>,
}

/// What the doctor found: the environment, the eight guarantee levels, and
/// every check. Serializes (serde) for machines; [`summary`](Self::summary)
/// for people.
///
/// # Examples
///
/// ```
/// use safeatomic::{DoctorOptions, doctor};
/// # let dir = tempfile::tempdir()?;
/// let report = doctor(dir.path().join("state.json"), &DoctorOptions::new().destructive(true))?;
/// if !report.all_passed() {
///     eprintln!("{report}"); // Display is the summary
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoctorReport {
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    path: PathBuf,
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    directory: PathBuf,
    environment: Arc<Environment>,
    /// Serializes as a JSON object, `{"AtomicVisibility": "Guaranteed", …}`.
    guarantees: std::collections::BTreeMap<Guarantee, Level>,
    checks: Vec<DoctorCheck>,
    destructive: bool,
}

impl DoctorReport {
    /// The path that was examined, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("state.json");
    /// let report = safeatomic::doctor(&path, &safeatomic::DoctorOptions::new())?;
    /// assert_eq!(report.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the checks ran in.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("state.json"); // need not exist
    /// let report = safeatomic::doctor(&path, &safeatomic::DoctorOptions::new())?;
    /// assert_eq!(report.directory(), dir.path());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn directory(&self) -> &Path {
        &self.directory
    }

    /// The detected environment.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{DoctorOptions, doctor, inspect_guarantees};
    /// # let dir = tempfile::tempdir()?;
    /// let report = doctor(dir.path(), &DoctorOptions::new())?;
    /// assert_eq!(report.environment(), inspect_guarantees(dir.path())?.environment());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The level of one guarantee on this filesystem class.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{DoctorOptions, Guarantee, doctor};
    /// # let dir = tempfile::tempdir()?;
    /// let report = doctor(dir.path(), &DoctorOptions::new())?;
    /// let class = report.environment().filesystem_class();
    /// assert_eq!(report.level(Guarantee::WriterExclusion), class.level(Guarantee::WriterExclusion));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn level(&self, guarantee: Guarantee) -> Level {
        self.environment.filesystem_class().level(guarantee)
    }

    /// Every check, in the order they ran.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::doctor(dir.path(), &safeatomic::DoctorOptions::new())?;
    /// let names: Vec<&str> = report.checks().iter().map(|c| c.name).collect();
    /// assert_eq!(names[..2], ["parent exists", "parent writable"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn checks(&self) -> &[DoctorCheck] {
        &self.checks
    }

    /// Whether no check failed.
    ///
    /// Checks that did not run do not count as failures.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{CheckStatus, DoctorOptions, doctor};
    /// # let dir = tempfile::tempdir()?;
    /// let report = doctor(dir.path(), &DoctorOptions::new().destructive(true))?;
    /// let failed = report.checks().iter().any(|c| c.status == CheckStatus::Failed);
    /// assert_eq!(report.all_passed(), !failed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn all_passed(&self) -> bool {
        self.checks.iter().all(|c| c.status != CheckStatus::Failed)
    }

    /// For each guarantee of `required` that is missing here: why (its
    /// level is not `Guaranteed`, or a probe supporting it failed).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{DoctorOptions, Guarantee, doctor};
    /// # let dir = tempfile::tempdir()?;
    /// let report = doctor(dir.path(), &DoctorOptions::new().destructive(true))?;
    /// for (guarantee, why) in report.missing(&Guarantee::ALL) {
    ///     eprintln!("{guarantee}: {why}"); // e.g. "CrashDurability: BestEffort on tmpfs"
    /// }
    /// assert!(report.missing(&[Guarantee::CrossDeviceSafety]).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn missing(&self, required: &[Guarantee]) -> Vec<(Guarantee, String)> {
        let mut out = Vec::new();
        for g in required {
            let level = self.level(*g);
            let mut reasons = Vec::new();
            if level != Level::Guaranteed {
                reasons.push(format!("{level} on {}", self.environment.filesystem()));
            }
            for c in &self.checks {
                if c.status == CheckStatus::Failed && c.supports.contains(g) {
                    reasons.push(format!("probe `{}` failed", c.name));
                }
            }
            if !reasons.is_empty() {
                out.push((*g, reasons.join(", ")));
            }
        }
        out
    }

    /// A human-readable, multi-line summary (also what `Display` prints).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::doctor(dir.path(), &safeatomic::DoctorOptions::new())?;
    /// let text = report.summary();
    /// assert!(text.contains("  [ok  ] parent exists\n"));
    /// assert!(text.ends_with("(probes not run: destructive probes were not allowed)\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let env = &self.environment;
        // Writing to a String cannot fail.
        let _ = writeln!(s, "path:        {}", Shown::path(&self.path));
        let _ = writeln!(
            s,
            "filesystem:  {} ({}), mounted on {}",
            env.filesystem(),
            env.filesystem_class(),
            env.mount_point().unwrap_or("?")
        );
        let _ = writeln!(s, "guarantees:");
        for (g, level) in &self.guarantees {
            let _ = writeln!(s, "  {:<22}{level}", g.name());
        }
        let _ = writeln!(s, "checks:");
        for c in &self.checks {
            let mark = match c.status {
                CheckStatus::Passed => "ok  ",
                CheckStatus::Failed => "FAIL",
                CheckStatus::NotRun => "--  ",
            };
            let _ = write!(s, "  [{mark}] {}", c.name);
            if let Some(d) = &c.detail {
                let _ = write!(s, ": {}", Shown(d.as_bytes()));
            }
            s.push('\n');
        }
        if !self.destructive {
            s.push_str("(probes not run: destructive probes were not allowed)\n");
        }
        s
    }
}

impl fmt::Display for DoctorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.summary())
    }
}

/// Examines the directory `path` lives in (or `path` itself, if it is a
/// directory or a symlink to one): the guarantee matrix for its filesystem, two checks that
/// write nothing (the directory exists, is writable), and — with
/// [`DoctorOptions::destructive`] — probes that perform the real syscalls:
/// exclusive create, fsync of a file, fsync of the directory, atomic
/// replace keeping the mode, a reader's snapshot across a replace,
/// `RENAME_NOREPLACE`, `RENAME_EXCHANGE`, `O_TMPFILE`, `flock`, a lock
/// sidecar round trip and a checksum sidecar round trip. Probe files are
/// named `.safeatomic-doctor-…` and always removed.
///
/// # Errors
///
/// [`NotFound`](ErrorKind::NotFound) when the directory does not exist;
/// [`UnsupportedEnvironment`](ErrorKind::UnsupportedEnvironment) when a
/// [required](DoctorOptions::require) guarantee is missing (the detail lists
/// each with its reason). A failing probe is not an error: it is reported.
///
/// # Examples
///
/// ```
/// use safeatomic::{CheckStatus, DoctorOptions, doctor};
/// # let dir = tempfile::tempdir()?;
/// let report = doctor(dir.path().join("state.json"), &DoctorOptions::new().destructive(true))?;
/// println!("{}", report.summary());
/// assert!(report.checks().iter().all(|c| c.status == CheckStatus::Passed));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn doctor(path: impl AsRef<Path>, options: &DoctorOptions) -> Result<DoctorReport> {
    let path = path.as_ref();
    let op = Operation::Inspect;
    let is_dir = sys::file::statat(rustix::fs::CWD, path)
        .is_ok_and(|st| st.file_type() == rustix::fs::FileType::Directory);
    let directory = if is_dir {
        path.to_owned()
    } else {
        path::parent_of(path)
            .map_err(|e| e.into_error(op, path))?
            .to_owned()
    };
    let mut checks = Vec::new();
    let dir = match sys::dir::open_dir(rustix::fs::CWD, &directory) {
        Ok(fd) => {
            checks.push(passed("parent exists", &[]));
            fd
        }
        Err(e) => return Err(Error::io(op, "open directory", &directory, e)),
    };
    let environment =
        env::of_dir(&dir).map_err(|e| Error::io(op, "detect filesystem", &directory, e))?;
    checks.push(match sys::file::access_writable(&directory) {
        Ok(()) => passed("parent writable", &[]),
        Err(e) => failed(
            "parent writable",
            &[Guarantee::AtomicVisibility, Guarantee::CrashDurability],
            &e,
        ),
    });
    if options.destructive && checks.iter().all(|c| c.status == CheckStatus::Passed) {
        // Probe files of earlier runs that were killed: nothing else
        // removes them (a live run's are left alone).
        match sys::dir::open_dir(&dir, Path::new(".")).and_then(litter::sweep_probes) {
            Ok(0) => {}
            Ok(n) => log::info!(
                "doctor: removed {n} probe files of killed runs in {}",
                directory.display()
            ),
            Err(e) => log::warn!(
                "doctor: could not remove probe files of killed runs in {}: {e}",
                directory.display()
            ),
        }
        match Probe::new(&dir, &directory) {
            Ok(mut probe) => {
                checks.extend(probe.run_all());
                probe.cleanup();
            }
            // A full filesystem (no space, no inodes): no probe can run,
            // and that is the finding; the report is still made.
            Err(e) => {
                let why = format!("cannot create a probe file: {e}");
                checks.extend(
                    PROBES
                        .iter()
                        .map(|(name, supports)| failed(name, supports, &why)),
                );
            }
        }
    } else {
        let why = if options.destructive {
            "the directory is not writable"
        } else {
            "destructive probes not allowed"
        };
        checks.extend(PROBES.iter().map(|(name, supports)| DoctorCheck {
            name,
            status: CheckStatus::NotRun,
            detail: Some(why.to_owned()),
            supports: supports.to_vec(),
        }));
    }
    let report = DoctorReport {
        path: path.to_owned(),
        directory,
        guarantees: Guarantee::ALL
            .iter()
            .map(|g| (*g, environment.filesystem_class().level(*g)))
            .collect(),
        environment,
        checks,
        destructive: options.destructive,
    };
    let missing = report.missing(&options.require);
    if !missing.is_empty() {
        let list: Vec<String> = missing
            .iter()
            .map(|(g, why)| format!("{g} ({why})"))
            .collect();
        return Err(Error::new(
            ErrorKind::UnsupportedEnvironment,
            op,
            "check required guarantees",
            path,
        )
        .with_detail(format!("missing: {}", list.join("; "))));
    }
    Ok(report)
}

fn passed(name: &'static str, supports: &[Guarantee]) -> DoctorCheck {
    DoctorCheck {
        name,
        status: CheckStatus::Passed,
        detail: None,
        supports: supports.to_vec(),
    }
}

fn failed(name: &'static str, supports: &[Guarantee], why: &dyn fmt::Display) -> DoctorCheck {
    DoctorCheck {
        name,
        status: CheckStatus::Failed,
        detail: Some(why.to_string()),
        supports: supports.to_vec(),
    }
}

use Guarantee::{
    AtomicVisibility as AV, CrashDurability as CD, IntegrityDetection as ID,
    MetadataPreservation as MP, ReaderConsistency as RC, StaleRecovery as SR,
    WriterExclusion as WE,
};

/// Every destructive probe, in order, with the guarantees it supports.
const PROBES: &[(&str, &[Guarantee])] = &[
    ("exclusive create", &[AV]),
    ("fsync file", &[CD]),
    ("fsync directory", &[CD]),
    ("atomic replace", &[AV, MP]),
    ("reader snapshot", &[RC]),
    ("rename without replace", &[]),
    ("rename exchange", &[]),
    ("O_TMPFILE", &[]),
    ("flock", &[WE, SR]),
    ("lock sidecar round trip", &[WE, SR]),
    ("checksum sidecar round trip", &[ID]),
];

/// Probes exercise the syscalls whatever the filesystem: no safety gate,
/// no lock file.
fn quiet_read() -> ReadOptions {
    ReadOptions::new().safety(Safety::BestEffort)
}

fn replace(path: &Path, data: &[u8]) -> ProbeResult {
    let opts = WriteOptions::new().lock(false).safety(Safety::BestEffort);
    write_atomic_with(path, data, &opts).map_err(|e| e.to_string())
}

fn read(path: &Path) -> Result<Vec<u8>> {
    read_atomic_with(path, &quiet_read())
}

/// The probe files of one doctor run.
struct Probe<'a> {
    dir: &'a OwnedFd,
    directory: &'a Path,
    id: String,
    /// The run's marker (named `id`), locked while the run lives so that
    /// no sweep removes its files (see `litter::sweep_probes`).
    marker: Option<OwnedFd>,
    created: Vec<String>,
}

type ProbeResult = std::result::Result<(), String>;

impl<'a> Probe<'a> {
    fn new(dir: &'a OwnedFd, directory: &'a Path) -> std::io::Result<Self> {
        let marker_name = |random: u64| format!("{PROBE_PREFIX}{random:016x}");
        // The marker is created and locked as temp files are, so that no
        // sweep takes this run's files while it lives.
        let (id, marker) = match litter::create_owned(
            dir,
            marker_name,
            OFlags::RDWR,
            Mode::from_raw_mode(0o600),
        ) {
            Ok((id, fd, _)) => (id.to_string_lossy().into_owned(), Some(fd)),
            // Where flock itself fails (the "flock" probe will say so), the
            // run goes on without a marker: a concurrent sweep could then
            // take its files, never anyone else's.
            Err((litter::CreateStep::Lock, e)) => {
                log::debug!("doctor: probe marker not locked ({e}); running unprotected");
                (marker_name(sys::process::random_u64()), None)
            }
            Err((_, e)) => return Err(e),
        };
        Ok(Self {
            dir,
            directory,
            id,
            marker,
            created: Vec::new(),
        })
    }

    /// A probe file name; remembered for cleanup.
    fn name(&mut self, suffix: &str) -> String {
        let n = format!("{}-{suffix}", self.id);
        for extra in ["", ".lock", ".sha256", ".sha512"] {
            self.created.push(format!("{n}{extra}"));
        }
        n
    }

    fn path(&self, name: &str) -> PathBuf {
        self.directory.join(name)
    }

    fn run_all(&mut self) -> Vec<DoctorCheck> {
        let mut out = Vec::new();
        for (name, supports) in PROBES {
            let result = match *name {
                "exclusive create" => self.exclusive_create(),
                "fsync file" => self.fsync_file(),
                "fsync directory" => sys::file::fsync(self.dir).map_err(|e| e.to_string()),
                "atomic replace" => self.atomic_replace(),
                "reader snapshot" => self.reader_snapshot(),
                "rename without replace" => self.rename_noreplace(),
                "rename exchange" => self.rename_exchange(),
                "O_TMPFILE" => self.tmpfile(),
                "flock" => self.flock(),
                "lock sidecar round trip" => self.lock_round_trip(),
                "checksum sidecar round trip" => self.checksum_round_trip(),
                other => Err(format!("unknown probe {other}")),
            };
            out.push(match result {
                Ok(()) => passed(name, supports),
                Err(why) => failed(name, supports, &why),
            });
        }
        out
    }

    fn create(
        &mut self,
        suffix: &str,
        content: &[u8],
    ) -> std::result::Result<(String, OwnedFd), String> {
        let name = self.name(suffix);
        let fd = sys::file::openat(
            self.dir,
            Path::new(&name),
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| format!("create: {e}"))?;
        sys::file::write_all(&fd, content).map_err(|e| format!("write: {e}"))?;
        Ok((name, fd))
    }

    fn exclusive_create(&mut self) -> ProbeResult {
        let (name, _fd) = self.create("excl", b"x")?;
        match sys::file::openat(
            self.dir,
            Path::new(&name),
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(_) => Err("a second O_EXCL create of the same name succeeded".into()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(format!("second create: {e}")),
        }
    }

    fn fsync_file(&mut self) -> ProbeResult {
        let (_, fd) = self.create("fsync", b"durable")?;
        sys::file::fsync(&fd).map_err(|e| e.to_string())
    }

    fn atomic_replace(&mut self) -> ProbeResult {
        let (name, _) = self.create("replace", b"old")?;
        let p = self.path(&name);
        replace(&p, b"new")?;
        let st = sys::file::lstatat(self.dir, Path::new(&name)).map_err(|e| e.to_string())?;
        if st.st_mode & 0o7777 != 0o600 {
            return Err(format!(
                "mode {:o} after replace, expected 600",
                st.st_mode & 0o7777
            ));
        }
        match read(&p) {
            Ok(bytes) if bytes == b"new" => Ok(()),
            Ok(bytes) => Err(format!("read back {bytes:?} after replace")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn reader_snapshot(&mut self) -> ProbeResult {
        let (name, _) = self.create("snapshot", b"old")?;
        let p = self.path(&name);
        let mut reader = AtomicReader::open_with(&p, &quiet_read()).map_err(|e| e.to_string())?;
        replace(&p, b"new")?;
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut reader, &mut got).map_err(|e| e.to_string())?;
        if got == b"old" {
            Ok(())
        } else {
            Err(format!("an open reader saw {got:?} after a replace"))
        }
    }

    fn rename_noreplace(&mut self) -> ProbeResult {
        let (a, _) = self.create("noreplace-a", b"a")?;
        let (b, _) = self.create("noreplace-b", b"b")?;
        match sys::dir::renameat_noreplace(self.dir, Path::new(&a), self.dir, Path::new(&b)) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Ok(()) => return Err("replaced an existing file".into()),
            Err(e) => return Err(e.to_string()),
        }
        let c = self.name("noreplace-c");
        sys::dir::renameat_noreplace(self.dir, Path::new(&a), self.dir, Path::new(&c))
            .map_err(|e| e.to_string())
    }

    fn rename_exchange(&mut self) -> ProbeResult {
        let (a, _) = self.create("exchange-a", b"a")?;
        let (b, _) = self.create("exchange-b", b"b")?;
        sys::dir::renameat_exchange(self.dir, Path::new(&a), self.dir, Path::new(&b))
            .map_err(|e| e.to_string())?;
        match read(&self.path(&a)) {
            Ok(bytes) if bytes == b"b" => Ok(()),
            Ok(bytes) => Err(format!("after exchange read {bytes:?}")),
            Err(e) => Err(e.to_string()),
        }
    }

    fn tmpfile(&mut self) -> ProbeResult {
        let fd = sys::file::open_tmpfile(self.dir).map_err(|e| e.to_string())?;
        sys::file::write_all(&fd, b"unnamed").map_err(|e| e.to_string())
    }

    fn flock(&mut self) -> ProbeResult {
        let (name, first) = self.create("flock", b"")?;
        if !sys::flock::try_lock_exclusive(&first).map_err(|e| e.to_string())? {
            return Err("could not lock a fresh file".into());
        }
        let second = sys::file::openat(self.dir, Path::new(&name), OFlags::RDONLY, Mode::empty())
            .map_err(|e| e.to_string())?;
        if sys::flock::try_lock_exclusive(&second).map_err(|e| e.to_string())? {
            return Err("a second open file description got the same exclusive lock".into());
        }
        sys::flock::unlock(&first).map_err(|e| e.to_string())?;
        if !sys::flock::try_lock_exclusive(&second).map_err(|e| e.to_string())? {
            return Err("the lock was not free after unlock".into());
        }
        Ok(())
    }

    fn lock_round_trip(&mut self) -> ProbeResult {
        let name = self.name("lock");
        let target = self.path(&name);
        let opts = LockOptions::new().safety(Safety::BestEffort);
        let guard = try_acquire_lock_with(&target, &opts)
            .map_err(|e| e.to_string())?
            .ok_or("the fresh lock was held elsewhere")?;
        let info = inspect_lock(&target).map_err(|e| e.to_string())?;
        if !info.held || info.pid != Some(sys::process::pid()) {
            return Err(format!("inspect_lock while held: {info:?}"));
        }
        guard.release().map_err(|e| e.to_string())?;
        let info = inspect_lock(&target).map_err(|e| e.to_string())?;
        if info.held || info.pid.is_some() {
            return Err(format!("inspect_lock after release: {info:?}"));
        }
        Ok(())
    }

    fn checksum_round_trip(&mut self) -> ProbeResult {
        let name = self.name("checksum");
        let target = self.path(&name);
        let opts = WriteOptions::new()
            .lock(false)
            .checksum(Some(Algorithm::Sha256))
            .safety(Safety::BestEffort);
        write_atomic_with(&target, b"checked", &opts).map_err(|e| e.to_string())?;
        if !verify_checksum(&target).map_err(|e| e.to_string())? {
            return Err("a fresh sidecar did not verify".into());
        }
        // Change the data in place: the sidecar must notice.
        let fd = sys::file::openat(self.dir, Path::new(&name), OFlags::WRONLY, Mode::empty())
            .map_err(|e| e.to_string())?;
        sys::file::write_all(&fd, b"C").map_err(|e| e.to_string())?;
        drop(fd);
        if verify_checksum(&target).map_err(|e| e.to_string())? {
            return Err("a changed byte was not detected".into());
        }
        Ok(())
    }

    /// Removes every probe file of this run (those that exist), then the
    /// marker.
    fn cleanup(&mut self) {
        // The marker's name after every probe file; its lock goes last.
        let marker = self.marker.take();
        let marker_name = marker.as_ref().map(|_| self.id.clone());
        for name in self.created.drain(..).chain(marker_name) {
            match sys::dir::unlinkat(self.dir, Path::new(&name)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => log::warn!("doctor: could not remove probe file {name}: {e}"),
            }
        }
        drop(marker);
    }
}

impl Drop for Probe<'_> {
    fn drop(&mut self) {
        // Also on panic: never leave probe files behind.
        self.cleanup();
    }
}
