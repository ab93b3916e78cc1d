//! A filesystem shared with a hostile neighbour, for the security tests:
//! a loop-mounted filesystem with a sticky, world-writable directory (like
//! `/tmp`), a root-only directory holding a victim file, a root-owned
//! public directory, and the unprivileged user `nobody` to plant things.
//!
//! Every test using it starts with [`require`] (root, loop devices, the
//! filesystem's mkfs, `setpriv`, `setfacl`, `getfacl`, a `nobody` user),
//! which skips visibly or fails under `SAFEATOMIC_REQUIRE_ROOT_TESTS=1`.

use crate::mounts::{self, Mount};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// The unprivileged user that plays the neighbour.
pub const NOBODY: (&str, &str) = ("nobody", "nogroup");

/// Whether the security tests can run here; skips (or fails) otherwise.
pub fn require(test: &str, kind: &str) -> bool {
    mounts::require_root(test)
        && mounts::require_mkfs(test, &[kind])
        && mounts::require_tools(test, &["setpriv", "setfacl", "getfacl", "sh"])
        && (Command::new("id")
            .arg(NOBODY.0)
            .output()
            .is_ok_and(|o| o.status.success())
            || mounts::skip(test, "the user nobody", "`id nobody` failed"))
}

/// The numeric ids of [`NOBODY`].
pub fn nobody_ids() -> (u32, u32) {
    let id = |flag| {
        let out = mounts::run(Command::new("id").arg(flag).arg(NOBODY.0));
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<u32>()
            .expect("numeric id")
    };
    (id("-u"), id("-g"))
}

/// A loop-mounted filesystem shared with `nobody`.
pub struct Neighbourhood {
    mount: Mount,
    _symlinks: ProtectedSymlinks,
}

impl Neighbourhood {
    /// Mounts a fresh `kind` filesystem (`"ext4"`, `"xfs"`) with:
    /// `shared/` (mode 1777, root's), `private/` (mode 0700, root's, with
    /// `private/secret`, mode 0600) and `public/` (mode 0755, root's).
    /// `fs.protected_symlinks` is 1 while it lives.
    pub fn on(kind: &str) -> Neighbourhood {
        let symlinks = ProtectedSymlinks::enable();
        let mount = Mount::loop_fs(kind, if kind == "xfs" { 300 } else { 64 });
        // nobody must reach the mount point through its parents.
        let mut dir = Some(mount.path());
        while let Some(d) = dir {
            if d == Path::new("/") {
                break;
            }
            let mode = std::fs::metadata(d).expect("stat").permissions().mode();
            if mode & 0o005 != 0o005 {
                std::fs::set_permissions(d, std::fs::Permissions::from_mode(mode | 0o005))
                    .expect("chmod o+rx");
            }
            dir = d.parent();
        }
        let n = Neighbourhood {
            mount,
            _symlinks: symlinks,
        };
        for (name, mode) in [("shared", 0o1777), ("private", 0o700), ("public", 0o755)] {
            let p = n.path(name);
            std::fs::create_dir(&p).expect("mkdir");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        std::fs::write(n.path("private/secret"), b"root's secret\n").expect("write secret");
        std::fs::set_permissions(
            n.path("private/secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .expect("chmod secret");
        n
    }

    /// `rel` under the mount point.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.mount.path().join(rel)
    }

    /// Runs `script` with `sh -c` as `nobody` (no supplementary groups), in
    /// the mount point; panics if it fails.
    #[track_caller]
    pub fn as_nobody(&self, script: &str) -> Output {
        mounts::run(
            Command::new("setpriv")
                .args([
                    &format!("--reuid={}", NOBODY.0),
                    &format!("--regid={}", NOBODY.1),
                    "--clear-groups",
                    "sh",
                    "-c",
                    script,
                ])
                .current_dir(self.mount.path()),
        )
    }
}

/// Everything a victim file is: content, owner, mode, ACL, link count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// The content.
    pub bytes: Vec<u8>,
    /// The owner.
    pub uid: u32,
    /// The group.
    pub gid: u32,
    /// The permission bits (with set-ID and sticky bits).
    pub mode: u32,
    /// The number of hard links.
    pub nlink: u64,
    /// `getfacl -n -c` of it.
    pub acl: String,
}

impl FileState {
    /// The state of `path` now (which must be a regular file).
    #[track_caller]
    pub fn of(path: &Path) -> FileState {
        let meta = std::fs::symlink_metadata(path)
            .unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
        assert!(meta.is_file(), "{} is not a regular file", path.display());
        FileState {
            bytes: std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())),
            uid: meta.uid(),
            gid: meta.gid(),
            mode: meta.mode() & 0o7777,
            nlink: meta.nlink(),
            acl: acl(path),
        }
    }
}

/// `getfacl` of `path`, numeric, without the header.
pub fn acl(path: &Path) -> String {
    let out = mounts::run(Command::new("getfacl").args(["-n", "-c", "-p"]).arg(path));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `setfacl ARGS PATH`.
pub fn setfacl(path: &Path, args: &[&str]) {
    mounts::run(Command::new("setfacl").args(args).arg(path));
}

/// Every test of this process that needs `fs.protected_symlinks=1`; the
/// setting from before the first is restored after the last.
static SYMLINKS: Mutex<(usize, Option<String>)> = Mutex::new((0, None));

const PROTECTED_SYMLINKS: &str = "/proc/sys/fs/protected_symlinks";

/// `fs.protected_symlinks=1` while it lives (the library must hold to the
/// rule whatever the setting; the tests show it with the kernel's own
/// protection on, as on most distributions, and prove the kernel would
/// not have refused for us: the library follows links itself).
struct ProtectedSymlinks;

impl ProtectedSymlinks {
    fn enable() -> ProtectedSymlinks {
        let mut users = SYMLINKS.lock().unwrap_or_else(|p| p.into_inner());
        if users.0 == 0 {
            let before = std::fs::read_to_string(PROTECTED_SYMLINKS).expect("read sysctl");
            std::fs::write(PROTECTED_SYMLINKS, "1").expect("set fs.protected_symlinks=1");
            users.1 = Some(before.trim().to_owned());
        }
        users.0 += 1;
        ProtectedSymlinks
    }
}

impl Drop for ProtectedSymlinks {
    fn drop(&mut self) {
        let mut users = SYMLINKS.lock().unwrap_or_else(|p| p.into_inner());
        users.0 -= 1;
        if users.0 == 0
            && let Some(before) = users.1.take()
        {
            let _ = std::fs::write(PROTECTED_SYMLINKS, before);
        }
    }
}
