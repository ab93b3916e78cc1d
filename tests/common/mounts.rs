//! Real filesystems for the root-only tests: loop-mounted ext4, xfs and
//! btrfs, tmpfs and overlay, each unmounted and removed when dropped.
//!
//! Every test that uses them starts with
//! `if !common::mounts::require_root("test_name") { return; }`: without root
//! or loop devices the test prints a visible `SKIPPED` line and passes,
//! unless `SAFEATOMIC_REQUIRE_ROOT_TESTS=1` (CI), where a skip is a failure.
//!
//! Fixtures are safe to use from parallel test threads: each lives in its
//! own fresh temporary directory on the host disk, and `losetup -f --show`
//! claims a free loop device atomically (util-linux retries when another
//! process takes the same device first). Commands are run with
//! [`std::process::Command`]; a failing command panics with the command
//! line, its exit status and its stderr.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, RwLock, RwLockWriteGuard};
use std::time::Duration;

/// The environment variable that turns every skip into a failure.
pub const REQUIRE_ENV: &str = "SAFEATOMIC_REQUIRE_ROOT_TESTS";

/// A file placed in the lower layer of every [`Mount::overlay`], relative to
/// the merged directory, with content [`OVERLAY_LOWER_CONTENT`].
pub const OVERLAY_LOWER_FILE: &str = "from-lower.txt";

/// The content of [`OVERLAY_LOWER_FILE`].
pub const OVERLAY_LOWER_CONTENT: &[u8] = b"written in the lower layer before mounting\n";

/// Whether skips must fail (`SAFEATOMIC_REQUIRE_ROOT_TESTS=1`).
fn skips_are_failures() -> bool {
    std::env::var_os(REQUIRE_ENV).is_some_and(|v| v == "1")
}

/// Skips `test`, which needs `needs` but cannot have it because of
/// `reason`: prints `SKIPPED <test>: needs <needs> (<reason>)` to stderr, or
/// panics when skips are failures (`SAFEATOMIC_REQUIRE_ROOT_TESTS=1`).
/// Returns `false` so callers can `return` on it.
///
/// For a requirement none of the `require_*` helpers covers; never skip
/// with a bare `eprintln!` (the harness hides it, and CI would pass).
pub fn skip(test: &str, needs: &str, reason: &str) -> bool {
    assert!(
        !skips_are_failures(),
        "{test}: needs {needs}, but {reason} ({REQUIRE_ENV}=1 makes this a failure)"
    );
    // Straight to the stderr handle: the test harness captures `eprintln!`,
    // and a skip must be visible in a passing run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: needs {needs} ({reason})"
    );
    false
}

/// Why root-only tests cannot run here, or `None` if they can. Probed once.
fn root_problem() -> Option<&'static str> {
    static PROBLEM: OnceLock<Option<String>> = OnceLock::new();
    PROBLEM
        .get_or_init(|| {
            if !rustix::process::geteuid().is_root() {
                return Some("not running as root".to_owned());
            }
            if !Path::new("/dev/loop-control").exists() {
                return Some("/dev/loop-control does not exist".to_owned());
            }
            for tool in ["losetup", "mount", "umount"] {
                if find_tool(tool).is_none() {
                    return Some(format!("`{tool}` is not installed"));
                }
            }
            // `losetup -f` finds (and if needed creates) a free device without
            // attaching it: proof that loop devices are usable here.
            match try_run(Command::new("losetup").arg("-f")) {
                Ok(_) => None,
                Err(e) => Some(format!("no free loop device: {e}")),
            }
        })
        .as_deref()
}

/// Returns `true` when we are root and loop devices work. Otherwise prints
/// `SKIPPED <test>: needs root and loop devices (<reason>)` to stderr and
/// returns `false`, or panics with the reason when
/// `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`.
pub fn require_root(test: &str) -> bool {
    match root_problem() {
        None => true,
        Some(reason) => skip(test, "root and loop devices", reason),
    }
}

/// Returns `true` when the test runs as root (the effective user id is 0):
/// enough for `chown` to another user and for bind and tmpfs mounts, which
/// need no loop device. Otherwise skips like [`require_root`]
/// (`SKIPPED <test>: needs root (...)`), or panics under
/// `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`.
pub fn require_root_user(test: &str) -> bool {
    if rustix::process::geteuid().is_root() {
        true
    } else {
        skip(test, "root", "not running as root")
    }
}

/// The program that creates a filesystem of `kind` with [`Mount::loop_fs`].
fn mkfs_tool(kind: &str) -> &'static str {
    match kind {
        "ext4" => "mkfs.ext4",
        "xfs" => "mkfs.xfs",
        "btrfs" => "mkfs.btrfs",
        other => panic!("Mount::loop_fs: unsupported filesystem kind {other:?} (ext4, xfs, btrfs)"),
    }
}

/// Returns `true` when every tool in `tools` is installed. Otherwise skips
/// like [`require_root`] (`SKIPPED <test>: needs <tool> (...)`), or panics
/// under `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`.
pub fn require_tools(test: &str, tools: &[&str]) -> bool {
    for tool in tools {
        if find_tool(tool).is_none() {
            return skip(test, tool, "not found in PATH or the sbin directories");
        }
    }
    true
}

/// Returns `true` when `mkfs` for every loop filesystem in `kinds` (`"ext4"`,
/// `"xfs"`, `"btrfs"`) is installed; otherwise skips like [`require_tools`].
pub fn require_mkfs(test: &str, kinds: &[&str]) -> bool {
    let tools: Vec<&str> = kinds.iter().map(|k| mkfs_tool(k)).collect();
    require_tools(test, &tools)
}

/// Looks `tool` up in `PATH`, then in the sbin directories a non-login root
/// shell may lack.
fn find_tool(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// A command for `tool`, found even when the sbin directories are not in
/// `PATH`.
fn command(tool: &str) -> Command {
    Command::new(find_tool(tool).unwrap_or_else(|| PathBuf::from(tool)))
}

/// Held (shared) by every fixture while it starts a child process, and
/// exclusively by [`pause_commands`].
static SPAWNING: RwLock<()> = RwLock::new(());

/// While the returned guard lives, no fixture of this process starts a child
/// process (they wait). Needed where a test depends on a closed descriptor
/// really being released: between `fork` and `exec` a child holds a copy of
/// every descriptor of the test process, so a temp file the library has
/// already closed and unlinked can keep its blocks allocated for a moment
/// when another test thread is starting `mount` or `mkfs` at that time.
///
/// Do not create, remount or drop a [`Mount`] on the same thread while
/// holding it (that would deadlock).
pub fn pause_commands() -> CommandPause {
    CommandPause {
        _guard: SPAWNING.write().unwrap_or_else(|p| p.into_inner()),
    }
}

/// The guard of [`pause_commands`].
#[derive(Debug)]
pub struct CommandPause {
    _guard: RwLockWriteGuard<'static, ()>,
}

/// Runs `cmd` with no stdin; `Err` describes the command, its status and its
/// stderr.
/// Runs `cmd` to its end with its output captured; `Err` with the command,
/// its status and its output when it fails.
pub fn try_run(cmd: &mut Command) -> Result<Output, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = {
        // `spawn` returns once the child has exec'd (or failed to), so the
        // child no longer holds copies of our close-on-exec descriptors.
        let _spawning = SPAWNING.read().unwrap_or_else(|p| p.into_inner());
        cmd.spawn()
    };
    let out = child
        .and_then(std::process::Child::wait_with_output)
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        let mut msg = format!("{cmd:?} failed with {}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !stderr.trim().is_empty() {
            let _ = write!(msg, "; stderr: {}", stderr.trim());
        }
        if !stdout.trim().is_empty() {
            let _ = write!(msg, "; stdout: {}", stdout.trim());
        }
        Err(msg)
    }
}

/// Runs `cmd`; panics with the command, its status and its stderr on failure.
#[track_caller]
pub fn run(cmd: &mut Command) -> Output {
    try_run(cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// A fresh directory on the host disk (not `SAFEATOMIC_TEST_DIR`, which may
/// itself be an exotic filesystem): `/var/tmp` when present, else the
/// system temp dir.
fn host_tempdir(what: &str) -> tempfile::TempDir {
    let base = Path::new("/var/tmp");
    let base = if base.is_dir() {
        base.to_owned()
    } else {
        std::env::temp_dir()
    };
    tempfile::Builder::new()
        .prefix(&format!("safeatomic-{what}-"))
        .tempdir_in(&base)
        .unwrap_or_else(|e| panic!("create a temp dir in {}: {e}", base.display()))
}

/// Serialises `losetup` calls from this process (cheap insurance on top of
/// util-linux's own retry when two attachers race for one device).
static LOSETUP: Mutex<()> = Mutex::new(());

/// What is mounted, with everything needed to mount it again.
#[derive(Debug)]
enum Source {
    /// A filesystem on a loop device backed by a sparse file.
    Loop { device: PathBuf, fstype: String },
    /// A tmpfs with a size limit (`size=` option).
    Tmpfs { size: String },
    /// An overlay of `lower` under `upper` (with its `work` dir).
    Overlay {
        lower: PathBuf,
        upper: PathBuf,
        work: PathBuf,
    },
}

/// A mounted filesystem, unmounted (and its loop device detached, its
/// backing file and directories removed) on drop.
///
/// Drop any open file on it before the `Mount` goes (declare the `Mount`
/// first, so it is dropped last).
#[derive(Debug)]
pub struct Mount {
    source: Source,
    mount_point: PathBuf,
    /// Holds the backing file, the overlay layers and the mount point.
    /// `None` only while being dropped.
    dir: Option<tempfile::TempDir>,
    mounted: bool,
}

impl Mount {
    /// Creates a `size_mib` MiB sparse file on the host disk, makes a `kind`
    /// filesystem on it (`"ext4"`, `"xfs"` ≥ 300 MiB, `"btrfs"` ≥ 114 MiB),
    /// attaches it to a free loop device and mounts it.
    ///
    /// # Panics
    ///
    /// On an unknown kind, a too small size, or any failing command.
    pub fn loop_fs(kind: &str, size_mib: u64) -> Mount {
        let tool = mkfs_tool(kind);
        let (min, mkfs_args): (u64, &[&str]) = match kind {
            "ext4" => (8, &["-q", "-F"]),
            "xfs" => (300, &["-q", "-f"]),
            _ => (114, &["-q", "-f"]),
        };
        assert!(
            size_mib >= min,
            "Mount::loop_fs: {kind} needs at least {min} MiB, got {size_mib} MiB"
        );
        assert!(
            find_tool(tool).is_some(),
            "Mount::loop_fs: `{tool}` is not installed (call require_mkfs first)"
        );
        let dir = host_tempdir(kind);
        let image = dir.path().join(format!("{kind}.img"));
        std::fs::File::create(&image)
            .and_then(|f| f.set_len(size_mib << 20))
            .unwrap_or_else(|e| panic!("create sparse image {}: {e}", image.display()));
        run(command(tool).args(mkfs_args).arg(&image));
        let device = {
            let _serial = LOSETUP.lock().unwrap_or_else(|p| p.into_inner());
            let out = run(command("losetup").args(["-f", "--show"]).arg(&image));
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        };
        assert!(
            device.starts_with("/dev/"),
            "losetup -f --show printed {device:?}, not a device"
        );
        let mount_point = dir.path().join("mnt");
        // From here the Mount owns the loop device: a failure below detaches it.
        let mut m = Mount {
            source: Source::Loop {
                device,
                fstype: kind.to_owned(),
            },
            mount_point,
            dir: Some(dir),
            mounted: false,
        };
        std::fs::create_dir(&m.mount_point).expect("create mount point");
        m.mount();
        m
    }

    /// Mounts a tmpfs limited to `size` (a `size=` option: `"1M"`, `"64k"`;
    /// more tmpfs options may follow it: `"1M,nr_inodes=4"`).
    ///
    /// # Panics
    ///
    /// If `mount` fails.
    pub fn tmpfs(size: &str) -> Mount {
        let dir = host_tempdir("tmpfs");
        let mount_point = dir.path().join("mnt");
        std::fs::create_dir(&mount_point).expect("create mount point");
        let mut m = Mount {
            source: Source::Tmpfs {
                size: size.to_owned(),
            },
            mount_point,
            dir: Some(dir),
            mounted: false,
        };
        m.mount();
        m
    }

    /// Mounts an overlay whose lower, upper and work directories are on the
    /// host disk; [`path`](Mount::path) is the merged directory. The lower
    /// layer holds [`OVERLAY_LOWER_FILE`].
    ///
    /// # Panics
    ///
    /// If `mount` fails (for example when the host filesystem cannot be an
    /// overlay upper layer).
    pub fn overlay() -> Mount {
        let dir = host_tempdir("overlay");
        let [lower, upper, work, merged] =
            ["lower", "upper", "work", "merged"].map(|d| dir.path().join(d));
        for d in [&lower, &upper, &work, &merged] {
            std::fs::create_dir(d)
                .unwrap_or_else(|e| panic!("create overlay dir {}: {e}", d.display()));
        }
        std::fs::write(lower.join(OVERLAY_LOWER_FILE), OVERLAY_LOWER_CONTENT)
            .expect("seed the overlay lower layer");
        let mut m = Mount {
            source: Source::Overlay { lower, upper, work },
            mount_point: merged,
            dir: Some(dir),
            mounted: false,
        };
        m.mount();
        m
    }

    /// The mount point (for an overlay, the merged directory).
    pub fn path(&self) -> &Path {
        &self.mount_point
    }

    /// Shuts the filesystem down as a crash would (`xfs_io -x -c shutdown`,
    /// without flushing the log): every later operation on it fails until
    /// [`remount`](Mount::remount). Supported by ext4 and xfs.
    ///
    /// # Panics
    ///
    /// If `xfs_io` fails (not installed, or a filesystem without shutdown).
    pub fn shutdown(&self) {
        assert!(self.mounted, "shutdown of an unmounted filesystem");
        run(command("xfs_io")
            .args(["-x", "-c", "shutdown"])
            .arg(&self.mount_point));
    }

    /// Unmounts and mounts the same device (or tmpfs, or overlay layers)
    /// again at the same place: after [`shutdown`](Mount::shutdown), this is
    /// the reboot that replays the journal. A tmpfs comes back empty.
    ///
    /// # Panics
    ///
    /// If the filesystem is busy (an open file on it) or a command fails.
    pub fn remount(&mut self) {
        if self.mounted {
            run(command("umount").arg(&self.mount_point));
            self.mounted = false;
        }
        self.mount();
    }

    fn mount(&mut self) {
        let mut cmd = command("mount");
        match &self.source {
            Source::Loop { device, fstype } => {
                cmd.args(["-t", fstype]).arg(device);
            }
            Source::Tmpfs { size } => {
                cmd.args(["-t", "tmpfs", "-o"])
                    .arg(format!("size={size},mode=0755"))
                    .arg("safeatomic-tmpfs");
            }
            Source::Overlay { lower, upper, work } => {
                cmd.args(["-t", "overlay", "-o"])
                    .arg(format!(
                        "lowerdir={},upperdir={},workdir={}",
                        lower.display(),
                        upper.display(),
                        work.display()
                    ))
                    .arg("safeatomic-overlay");
            }
        }
        run(cmd.arg(&self.mount_point));
        self.mounted = true;
    }

    /// Unmounts, retrying while the filesystem is busy (a child process
    /// forked by another test thread can hold a copy of a descriptor on it
    /// until it execs), then detaching lazily as a last resort.
    fn unmount(&mut self) -> Result<(), String> {
        const ATTEMPTS: u32 = 5;
        let mut last = String::new();
        for attempt in 0..ATTEMPTS {
            match try_run(command("umount").arg(&self.mount_point)) {
                Ok(_) => {
                    self.mounted = false;
                    return Ok(());
                }
                Err(e) => last = e,
            }
            if attempt + 1 < ATTEMPTS {
                // A back-off between retries of a cleanup step, not a wait
                // for a test event: the busy holder is outside our control.
                std::thread::sleep(Duration::from_millis(50 << attempt));
            }
        }
        match try_run(command("umount").arg("-l").arg(&self.mount_point)) {
            Ok(_) => {
                self.mounted = false;
                Err(format!(
                    "unmounted {} only lazily after {ATTEMPTS} attempts: {last}",
                    self.mount_point.display()
                ))
            }
            Err(e) => Err(format!(
                "cannot unmount {}: {last}; lazy: {e}",
                self.mount_point.display()
            )),
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let mut problems = Vec::new();
        // Leaking a mount or a loop device fails the test; a lazy unmount or
        // an undeletable directory is only reported.
        let mut leaked = false;
        if self.mounted
            && let Err(e) = self.unmount()
        {
            problems.push(e);
        }
        if let Source::Loop { device, .. } = &self.source {
            // On a lazily unmounted filesystem this sets autoclear: the device
            // is freed when the last user goes.
            let _serial = LOSETUP.lock().unwrap_or_else(|p| p.into_inner());
            if let Err(e) = try_run(command("losetup").arg("-d").arg(device)) {
                problems.push(e);
                leaked = true;
            }
        }
        if let Some(dir) = self.dir.take() {
            if self.mounted {
                // Still mounted: removing the tree would reach into the mount.
                let kept = dir.keep();
                problems.push(format!("kept {} (still mounted)", kept.display()));
            } else if let Err(e) = dir.close() {
                problems.push(format!("remove the fixture directory: {e}"));
            }
        }
        if problems.is_empty() {
            return;
        }
        let msg = format!(
            "cleanup of {} ({:?}): {}",
            self.mount_point.display(),
            self.source,
            problems.join("; ")
        );
        let _ = writeln!(std::io::stderr(), "WARNING {msg}");
        if (leaked || self.mounted) && !std::thread::panicking() {
            panic!("{msg}");
        }
    }
}

/// A directory bind-mounted read-only onto itself, so that nobody, root
/// included, can create, change or remove anything in it (root ignores
/// permission bits; a read-only mount binds it too). Unmounted on drop.
///
/// Files opened before the mount stay writable through their descriptors.
#[derive(Debug)]
pub struct ReadOnlyBind {
    path: PathBuf,
    mounted: bool,
}

impl ReadOnlyBind {
    /// Makes `dir` read-only by bind-mounting it onto itself read-only
    /// (`mount --bind`, then `mount -o remount,bind,ro`). Needs root: call
    /// [`require_root_user`] first. When the mount fails, skips `test` like
    /// [`skip`] and returns `None` (or panics under
    /// `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`).
    pub fn new(test: &str, dir: &Path) -> Option<ReadOnlyBind> {
        let mut bind = ReadOnlyBind {
            path: dir.to_owned(),
            mounted: false,
        };
        let result = try_run(command("mount").arg("--bind").arg(dir).arg(dir)).and_then(|_| {
            bind.mounted = true;
            try_run(command("mount").args(["-o", "remount,bind,ro"]).arg(dir))
        });
        match result {
            Ok(_) => Some(bind),
            Err(e) => {
                drop(bind); // unmounts a bind mount that could not be made read-only
                skip(test, "a read-only bind mount", &e);
                None
            }
        }
    }

    /// The read-only directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `dir` made read-only for this process while the value lives: a
/// read-only bind mount as root (root ignores permission bits), mode 0555
/// otherwise (set back to 0755 on drop).
#[derive(Debug)]
pub enum ReadOnlyDir {
    /// Root: a read-only bind mount.
    Bind(ReadOnlyBind),
    /// Not root: the directory's mode.
    Mode(PathBuf),
}

impl ReadOnlyDir {
    /// `None` when `test` must skip (the bind mount failed; see
    /// [`ReadOnlyBind::new`]).
    pub fn new(test: &str, dir: &Path) -> Option<ReadOnlyDir> {
        if rustix::process::geteuid().is_root() {
            ReadOnlyBind::new(test, dir).map(ReadOnlyDir::Bind)
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
                .expect("make the directory read-only");
            Some(ReadOnlyDir::Mode(dir.to_owned()))
        }
    }
}

impl Drop for ReadOnlyDir {
    fn drop(&mut self) {
        if let ReadOnlyDir::Mode(dir) = self {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
    }
}

impl Drop for ReadOnlyBind {
    fn drop(&mut self) {
        if !self.mounted {
            return;
        }
        if let Err(e) = try_run(command("umount").arg(&self.path)) {
            // Busy (a child forked by another test thread holds a descriptor
            // for a moment): detach it lazily rather than leak it.
            let lazy = try_run(command("umount").arg("-l").arg(&self.path));
            let msg = format!("unmount read-only bind {}: {e}", self.path.display());
            let _ = writeln!(std::io::stderr(), "WARNING {msg}");
            if lazy.is_err() && !std::thread::panicking() {
                panic!("{msg}; lazy unmount failed too");
            }
        }
    }
}
