//! Environment inspection: which filesystem a path lives on, and which
//! guarantees that filesystem class lets the library keep.

#[cfg(target_os = "linux")]
mod detect;
#[cfg(any(test, not(target_os = "linux"), safeatomic_portable))]
mod fstype;
mod fuse;
mod identify;
mod matrix;

use crate::error::{Error, ErrorKind, Operation, Result};
use crate::policy::{Safety, SymlinkPolicy};
use crate::sys::{self, AsFd};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// One of the eight promises the library makes, named as in the docs.
///
/// Parses from its name, case-insensitively, and displays as it.
///
/// # Examples
///
/// ```
/// use safeatomic::Guarantee;
/// let g: Guarantee = "crashdurability".parse()?;
/// assert_eq!(g, Guarantee::CrashDurability);
/// assert_eq!(g.to_string(), "CrashDurability");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Guarantee {
    /// A reader sees the old complete file or the new complete file, never a mix.
    AtomicVisibility,
    /// Once a write returned `Ok`, its content survives process death and power loss.
    CrashDurability,
    /// Cooperating writers never interleave; read-modify-write loses no update.
    WriterExclusion,
    /// Bytes that differ from what was written are detected on read.
    IntegrityDetection,
    /// An open reader keeps a stable snapshot while writers replace the file.
    ReaderConsistency,
    /// A lock left by a dead holder is recognised and can be recovered.
    StaleRecovery,
    /// Replacing a file keeps its permission bits (and owner where allowed).
    MetadataPreservation,
    /// A move that cannot be atomic (`EXDEV`) is refused, never emulated.
    CrossDeviceSafety,
}

impl Guarantee {
    /// All eight, in documentation order.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Guarantee;
    /// assert_eq!(Guarantee::ALL.len(), 8);
    /// assert_eq!(Guarantee::ALL[0], Guarantee::AtomicVisibility);
    /// ```
    pub const ALL: [Guarantee; 8] = [
        Guarantee::AtomicVisibility,
        Guarantee::CrashDurability,
        Guarantee::WriterExclusion,
        Guarantee::IntegrityDetection,
        Guarantee::ReaderConsistency,
        Guarantee::StaleRecovery,
        Guarantee::MetadataPreservation,
        Guarantee::CrossDeviceSafety,
    ];

    /// The name, e.g. `"CrashDurability"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Guarantee;
    /// assert_eq!(Guarantee::WriterExclusion.name(), "WriterExclusion");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::AtomicVisibility => "AtomicVisibility",
            Self::CrashDurability => "CrashDurability",
            Self::WriterExclusion => "WriterExclusion",
            Self::IntegrityDetection => "IntegrityDetection",
            Self::ReaderConsistency => "ReaderConsistency",
            Self::StaleRecovery => "StaleRecovery",
            Self::MetadataPreservation => "MetadataPreservation",
            Self::CrossDeviceSafety => "CrossDeviceSafety",
        }
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error of parsing a [`Guarantee`] from an unknown name.
///
/// # Examples
///
/// ```
/// use safeatomic::{Guarantee, UnknownGuarantee};
/// let err = "Durability".parse::<Guarantee>().unwrap_err();
/// assert_eq!(err, UnknownGuarantee("Durability".to_owned()));
/// assert!(err.to_string().starts_with("unknown guarantee `Durability`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown guarantee `{0}` (expected one of: AtomicVisibility, CrashDurability, WriterExclusion, IntegrityDetection, ReaderConsistency, StaleRecovery, MetadataPreservation, CrossDeviceSafety)"
)]
pub struct UnknownGuarantee(pub String);

impl std::str::FromStr for Guarantee {
    type Err = UnknownGuarantee;

    /// Parses a name, case-insensitively (`crashdurability` works too).
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        Guarantee::ALL
            .into_iter()
            .find(|g| g.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownGuarantee(s.to_owned()))
    }
}

/// How firmly a guarantee holds on a filesystem class.
///
/// # Examples
///
/// ```
/// use safeatomic::{FsClass, Guarantee, Level};
/// // tmpfs keeps everything but a power loss.
/// assert_eq!(FsClass::LocalMemory.level(Guarantee::CrashDurability), Level::BestEffort);
/// assert_eq!(FsClass::LocalMemory.level(Guarantee::AtomicVisibility), Level::Guaranteed);
/// assert_eq!(FsClass::Network.level(Guarantee::WriterExclusion), Level::NonTarget);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Level {
    /// Holds, and is tested on this class.
    Guaranteed,
    /// The full protocol runs, but part of the promise rests on the
    /// filesystem class's nature (tmpfs is emptied by a power loss; overlay
    /// durability is that of its upper layer). Strict lets it proceed.
    BestEffort,
    /// A class the library does not target (network, object store, Windows
    /// family). Strict refuses.
    NonTarget,
    /// An unrecognised filesystem: nothing is known. Strict refuses.
    Unsupported,
}

impl Level {
    /// The name, e.g. `"BestEffort"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Level;
    /// assert_eq!(Level::NonTarget.name(), "NonTarget");
    /// assert_eq!(Level::NonTarget.to_string(), "NonTarget");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::Guaranteed => "Guaranteed",
            Self::BestEffort => "BestEffort",
            Self::NonTarget => "NonTarget",
            Self::Unsupported => "Unsupported",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of filesystem, as far as guarantees are concerned.
///
/// # Examples
///
/// ```
/// use safeatomic::{FsClass, inspect_guarantees};
/// # let dir = tempfile::tempdir()?;
/// let class = inspect_guarantees(dir.path())?.environment().filesystem_class();
/// if matches!(class, FsClass::LocalMemory | FsClass::Overlay) {
///     println!("{} does not survive a power loss on its own", dir.path().display());
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FsClass {
    /// ext2/3/4, xfs, btrfs, f2fs, zfs, bcachefs, jfs, reiserfs; apfs and
    /// hfs (macOS); ufs and zfs (FreeBSD).
    LocalPersistent,
    /// tmpfs, ramfs.
    LocalMemory,
    /// overlayfs (containers).
    Overlay,
    /// nfs, cifs/smb, 9p, ceph, afs, lustre, gpfs, FUSE network filesystems;
    /// smbfs, afpfs and webdav (macOS, FreeBSD).
    Network,
    /// FUSE front-ends of object stores (s3fs, gcsfuse, mountpoint-s3 …).
    ObjectStore,
    /// ntfs, vfat, exfat (kernel or FUSE drivers); msdos (macOS), msdosfs
    /// (FreeBSD).
    WindowsFamily,
    /// Anything else, including unrecognised FUSE filesystems.
    Unknown,
}

impl FsClass {
    /// Every class, in documentation order.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{FsClass, Guarantee, Level};
    /// // The library's own refusal of EXDEV holds on every class.
    /// assert!(FsClass::ALL.iter().all(|c| c.level(Guarantee::CrossDeviceSafety) == Level::Guaranteed));
    /// ```
    pub const ALL: [FsClass; 7] = [
        FsClass::LocalPersistent,
        FsClass::LocalMemory,
        FsClass::Overlay,
        FsClass::Network,
        FsClass::ObjectStore,
        FsClass::WindowsFamily,
        FsClass::Unknown,
    ];

    /// The snake-case name used in reports, e.g. `"local_persistent"`.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::FsClass;
    /// assert_eq!(FsClass::ObjectStore.name(), "object_store");
    /// assert_eq!(FsClass::ObjectStore.to_string(), "object_store");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Self::LocalPersistent => "local_persistent",
            Self::LocalMemory => "local_memory",
            Self::Overlay => "overlay",
            Self::Network => "network",
            Self::ObjectStore => "object_store",
            Self::WindowsFamily => "windows_family",
            Self::Unknown => "unknown",
        }
    }

    /// The level of `guarantee` on this class (the guarantee matrix).
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{FsClass, Guarantee, Level};
    /// assert_eq!(FsClass::LocalPersistent.level(Guarantee::CrashDurability), Level::Guaranteed);
    /// assert_eq!(FsClass::Unknown.level(Guarantee::CrashDurability), Level::Unsupported);
    /// ```
    pub fn level(self, guarantee: Guarantee) -> Level {
        matrix::level(self, guarantee)
    }
}

impl fmt::Display for FsClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a path lives: platform, filesystem and its class.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let report = safeatomic::inspect_guarantees(dir.path())?;
/// let env = report.environment();
/// println!("{} ({}) on {}", env.filesystem(), env.filesystem_class(), env.mount_point().unwrap_or("?"));
/// assert_eq!(env.platform(), "linux");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Environment {
    platform: &'static str,
    filesystem: String,
    filesystem_class: FsClass,
    device: u64,
    statfs_magic: u64,
    mount_point: Option<String>,
}

impl Environment {
    /// The OS, e.g. `"linux"`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// assert_eq!(report.environment().platform(), std::env::consts::OS);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn platform(&self) -> &'static str {
        self.platform
    }

    /// The filesystem type as the mount table names it on Linux (`"ext4"`,
    /// `"fuse.sshfs"`), as `statfs`'s `f_fstypename` does on macOS and
    /// FreeBSD (`"apfs"`, `"ufs"`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// let fs = report.environment().filesystem(); // "ext4", "tmpfs", "overlay" …
    /// assert!(!fs.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filesystem(&self) -> &str {
        &self.filesystem
    }

    /// The filesystem class, which decides the guarantee levels.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Guarantee;
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// let class = report.environment().filesystem_class();
    /// assert_eq!(report.level(Guarantee::CrashDurability), class.level(Guarantee::CrashDurability));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn filesystem_class(&self) -> FsClass {
        self.filesystem_class
    }

    /// The device id (`st_dev`) of the directory.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::os::unix::fs::MetadataExt;
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// assert_eq!(report.environment().device(), std::fs::metadata(dir.path())?.dev());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn device(&self) -> u64 {
        self.device
    }

    /// The `statfs(2)` type number (`f_type`): a magic number on Linux, a
    /// number the kernel assigns to each filesystem type on macOS and
    /// FreeBSD.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let env = safeatomic::inspect_guarantees(dir.path())?.environment().clone();
    /// if env.filesystem() == "ext4" {
    ///     assert_eq!(env.statfs_magic(), 0xEF53); // EXT4_SUPER_MAGIC
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn statfs_magic(&self) -> u64 {
        self.statfs_magic
    }

    /// The mount point, when the mount table could be read and matched
    /// (Linux; `None` on macOS and FreeBSD, where no mount table is read).
    ///
    /// Matched by device number: when one device is mounted more than once
    /// (bind mounts), this is the last such mount in the table, which need
    /// not be the one that contains the path. For display, not for path
    /// arithmetic.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// match report.environment().mount_point() {
    ///     Some(mount) => println!("mounted on {mount}"),
    ///     None => println!("no mount table (no /proc?)"),
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn mount_point(&self) -> Option<&str> {
        self.mount_point.as_deref()
    }
}

/// The normative view of a path: its environment and, for each of the eight
/// guarantees, the level the matrix promises there.
///
/// Returned by [`inspect_guarantees`]; `Display` prints one line per
/// guarantee, and it serializes (serde) for machines.
///
/// # Examples
///
/// ```
/// use safeatomic::{Guarantee, inspect_guarantees};
/// # let dir = tempfile::tempdir()?;
/// let report = inspect_guarantees(dir.path().join("state.json"))?;
/// print!("{report}");
/// let missing = report.missing(&[Guarantee::AtomicVisibility, Guarantee::CrashDurability]);
/// if !missing.is_empty() {
///     eprintln!("not guaranteed here: {missing:?}");
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GuaranteeReport {
    #[serde(serialize_with = "crate::text::serialize_lossy")]
    path: PathBuf,
    environment: Arc<Environment>,
    /// In documentation order (the enum's order); serializes as a JSON
    /// object, `{"AtomicVisibility": "Guaranteed", …}`.
    guarantees: std::collections::BTreeMap<Guarantee, Level>,
}

impl GuaranteeReport {
    /// The path that was inspected, as given.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("not-yet-written.json");
    /// let report = safeatomic::inspect_guarantees(&path)?; // its directory is inspected
    /// assert_eq!(report.path(), path);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The detected environment.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// println!("{} is {}", dir.path().display(), report.environment().filesystem());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn environment(&self) -> &Environment {
        &self.environment
    }

    /// The level of one guarantee.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Guarantee, Level};
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// // Never emulated with a copy, so it holds on every filesystem.
    /// assert_eq!(report.level(Guarantee::CrossDeviceSafety), Level::Guaranteed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn level(&self, guarantee: Guarantee) -> Level {
        self.environment.filesystem_class.level(guarantee)
    }

    /// Every guarantee with its level, in documentation order.
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::Guarantee;
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// let names: Vec<Guarantee> = report.guarantees().map(|(g, _)| g).collect();
    /// assert_eq!(names, Guarantee::ALL);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn guarantees(&self) -> impl Iterator<Item = (Guarantee, Level)> + '_ {
        self.guarantees.iter().map(|(g, l)| (*g, *l))
    }

    /// The guarantees of `required` that are not [`Level::Guaranteed`].
    ///
    /// # Examples
    ///
    /// ```
    /// use safeatomic::{Guarantee, Level};
    /// # let dir = tempfile::tempdir()?;
    /// let report = safeatomic::inspect_guarantees(dir.path())?;
    /// for g in report.missing(&Guarantee::ALL) {
    ///     assert_ne!(report.level(g), Level::Guaranteed);
    /// }
    /// assert!(report.missing(&[Guarantee::CrossDeviceSafety]).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn missing(&self, required: &[Guarantee]) -> Vec<Guarantee> {
        required
            .iter()
            .copied()
            .filter(|g| self.level(*g) != Level::Guaranteed)
            .collect()
    }
}

impl fmt::Display for GuaranteeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env = &self.environment;
        writeln!(f, "path:        {}", crate::text::Shown::path(&self.path))?;
        writeln!(
            f,
            "filesystem:  {} ({}) on {}",
            env.filesystem,
            env.filesystem_class,
            env.mount_point.as_deref().unwrap_or("?")
        )?;
        for (g, level) in &self.guarantees {
            writeln!(f, "  {:<22}{level}", g.name())?;
        }
        Ok(())
    }
}

/// Reports which guarantees hold for `path`, from the filesystem its
/// directory is on. Cheap (cached per device) and writes nothing.
///
/// `path` may be a file that does not exist yet: its parent directory is
/// inspected. If `path` is an existing directory, that directory is inspected.
/// A symlink is followed, as a write under the default
/// [`SymlinkPolicy::Follow`](SymlinkPolicy::Follow) follows it: the
/// report is for the filesystem the write would land on (the link's target,
/// or the directory it points to).
///
/// # Errors
///
/// [`ErrorKind::NotFound`] if the directory does not exist,
/// [`ErrorKind::PermissionDenied`] if it cannot be opened, other kinds for
/// other OS failures. Each error names the path.
///
/// # Examples
///
/// ```
/// use safeatomic::{Guarantee, Level, inspect_guarantees};
/// # let dir = tempfile::tempdir()?;
/// let report = inspect_guarantees(dir.path().join("state.json"))?;
/// println!("{} is {}", report.environment().filesystem(), report.environment().filesystem_class());
/// // CrossDeviceSafety is the library's own refusal, so it holds everywhere.
/// assert_eq!(report.level(Guarantee::CrossDeviceSafety), Level::Guaranteed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn inspect_guarantees(path: impl AsRef<Path>) -> Result<GuaranteeReport> {
    let path = path.as_ref();
    let op = Operation::Inspect;
    use sys::FileType;
    let is_dir = |st: sys::Stat| st.file_type() == FileType::Directory;
    let kind = sys::file::lstatat(rustix::fs::CWD, path).map(|st| st.file_type());
    let dir_path = match kind {
        Ok(FileType::Directory) => path,
        // A link to a directory: that directory.
        Ok(FileType::Symlink) if sys::file::statat(rustix::fs::CWD, path).is_ok_and(is_dir) => path,
        // Any other link: the directory a write through it would land in.
        Ok(FileType::Symlink) => {
            let target = crate::resolve::resolve(path, SymlinkPolicy::Follow, op)?;
            return Ok(report(path, of_target(&target, op)?));
        }
        _ => crate::path::parent_of(path).map_err(|e| e.into_error(op, path))?,
    };
    let dir = sys::dir::open_dir(rustix::fs::CWD, dir_path)
        .map_err(|e| Error::io(op, "open directory", dir_path, e))?;
    let environment = of_dir(&dir).map_err(|e| Error::io(op, "detect filesystem", dir_path, e))?;
    Ok(report(path, environment))
}

pub(crate) fn report(path: &Path, environment: Arc<Environment>) -> GuaranteeReport {
    let class = environment.filesystem_class;
    GuaranteeReport {
        path: path.to_owned(),
        environment,
        guarantees: Guarantee::ALL
            .iter()
            .map(|g| (*g, class.level(*g)))
            .collect(),
    }
}

type Cache = Mutex<HashMap<(u64, u64), Arc<Environment>>>;

fn cache() -> &'static Cache {
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The environment of an open directory, cached by (device, statfs magic).
///
/// The magic is part of the key because a device number is reused when a
/// loop device is detached and attached to another filesystem.
pub(crate) fn of_dir(dir: impl AsFd) -> std::io::Result<Arc<Environment>> {
    of_dir_with_stat(dir).map(|(env, _)| env)
}

/// [`of_dir`], also returning the directory's `fstat` (which it makes anyway).
pub(crate) fn of_dir_with_stat(dir: impl AsFd) -> std::io::Result<(Arc<Environment>, sys::Stat)> {
    let st = sys::file::fstat(dir.as_fd())?;
    of_open_dir(dir, &st).map(|env| (env, st))
}

/// The environment of a resolved target's directory (its `fstat` was made
/// when it was opened).
pub(crate) fn of_target(
    target: &crate::resolve::Target,
    op: Operation,
) -> Result<Arc<Environment>> {
    of_open_dir(&*target.dir, &target.dir_st)
        .map_err(|e| Error::io(op, "detect filesystem", &target.path, e))
}

/// [`of_dir`] for a directory whose `fstat` is `st`.
fn of_open_dir(dir: impl AsFd, st: &sys::Stat) -> std::io::Result<Arc<Environment>> {
    let dev = st.st_dev;
    let magic = sys::statfs::fs_magic(dir.as_fd())?;
    if let Some(env) = cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&(dev, magic))
    {
        return Ok(env.clone());
    }
    let detected = identify::identify(dir.as_fd(), magic, dev)?;
    let env = Arc::new(Environment {
        platform: std::env::consts::OS,
        filesystem: detected.name,
        filesystem_class: detected.class,
        device: dev,
        statfs_magic: magic,
        mount_point: detected.mount_point,
    });
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert((dev, magic), env.clone());
    Ok(env)
}

/// The safety gate: decides, before anything is created or written, whether an operation needing
/// `required` may run on `env` under `safety`.
pub(crate) fn gate(
    safety: Safety,
    env: &Environment,
    required: &[Guarantee],
    op: Operation,
    path: &Path,
) -> Result<()> {
    let class = env.filesystem_class;
    let weak = required
        .iter()
        .map(|g| (*g, class.level(*g)))
        .filter(|(_, l)| *l != Level::Guaranteed);
    match safety {
        Safety::Strict => {
            let refused: Vec<String> = weak
                .filter(|(_, l)| matches!(l, Level::NonTarget | Level::Unsupported))
                .map(|(g, l)| format!("{g} is {l}"))
                .collect();
            if refused.is_empty() {
                Ok(())
            } else {
                Err(Error::new(ErrorKind::UnsupportedEnvironment, op, "safety check", path).with_detail(format!(
                    "{} on {} ({}); pass Safety::Warn or Safety::BestEffort to proceed anyway",
                    refused.join(", "),
                    env.filesystem,
                    class
                )))
            }
        }
        Safety::Warn => {
            for (g, l) in weak {
                log::warn!(
                    "{}: {g} is {l} on {} ({class}); proceeding under Safety::Warn",
                    path.display(),
                    env.filesystem
                );
            }
            Ok(())
        }
        Safety::BestEffort => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guarantee_names_round_trip_case_insensitively() {
        for g in Guarantee::ALL {
            assert_eq!(g.name().parse::<Guarantee>(), Ok(g));
            assert_eq!(g.name().to_lowercase().parse::<Guarantee>(), Ok(g));
        }
        let err = "Durability".parse::<Guarantee>().unwrap_err();
        assert!(err.to_string().contains("CrashDurability"), "{err}");
    }

    fn env(class: FsClass) -> Environment {
        Environment {
            platform: "linux",
            filesystem: "x".into(),
            filesystem_class: class,
            device: 0,
            statfs_magic: 0,
            mount_point: None,
        }
    }

    #[test]
    fn strict_proceeds_on_best_effort_and_refuses_non_target() {
        let need = [Guarantee::AtomicVisibility, Guarantee::CrashDurability];
        let p = Path::new("/x");
        assert!(
            gate(
                Safety::Strict,
                &env(FsClass::LocalMemory),
                &need,
                Operation::Write,
                p
            )
            .is_ok()
        );
        assert!(
            gate(
                Safety::Strict,
                &env(FsClass::Overlay),
                &need,
                Operation::Write,
                p
            )
            .is_ok()
        );
        for class in [
            FsClass::Network,
            FsClass::ObjectStore,
            FsClass::WindowsFamily,
            FsClass::Unknown,
        ] {
            let e = gate(Safety::Strict, &env(class), &need, Operation::Write, p).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::UnsupportedEnvironment);
            assert!(e.to_string().contains("CrashDurability"), "{e}");
            assert!(gate(Safety::Warn, &env(class), &need, Operation::Write, p).is_ok());
            assert!(gate(Safety::BestEffort, &env(class), &need, Operation::Write, p).is_ok());
        }
    }

    #[test]
    fn cross_device_safety_holds_on_every_class() {
        for class in FsClass::ALL {
            assert_eq!(class.level(Guarantee::CrossDeviceSafety), Level::Guaranteed);
        }
    }
}

/// Optional kernel/filesystem features whose absence is learnt once per
/// device and remembered (and shown by the doctor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Capability {
    /// `renameat2(RENAME_NOREPLACE)`.
    RenameNoreplace,
}

type Capabilities = Mutex<HashMap<(u64, u64, Capability), bool>>;

fn capabilities() -> &'static Capabilities {
    static CAPS: std::sync::OnceLock<Capabilities> = std::sync::OnceLock::new();
    CAPS.get_or_init(Default::default)
}

/// What is known about `cap` on the filesystem of `env`.
pub(crate) fn capability(env: &Environment, cap: Capability) -> Option<bool> {
    let caps = capabilities().lock().unwrap_or_else(|p| p.into_inner());
    caps.get(&(env.device, env.statfs_magic, cap)).copied()
}

/// Records what was learnt about `cap` on the filesystem of `env`.
pub(crate) fn set_capability(env: &Environment, cap: Capability, available: bool) {
    let mut caps = capabilities().lock().unwrap_or_else(|p| p.into_inner());
    caps.insert((env.device, env.statfs_magic, cap), available);
}
