//! Who may be trusted in a directory: the rules that keep another local
//! user from turning our writes against us (docs/security.md).
//!
//! The trusted users of a file are the caller, root, the directory's owner
//! and (outside sticky directories) the file's owner. In a *sticky*
//! directory (`/tmp`, mode 1777) anyone may create names but only a name's
//! owner, the directory's owner or root may rename or remove it, so a name
//! created there by a third user is theirs, not ours: we follow the same
//! rules the kernel applies with `fs.protected_symlinks` and
//! `fs.protected_regular`, whatever those settings are on this machine.
//!
//! Every function here only decides; none makes a call.

use crate::sys::{self, Stat};

/// The mode bits of a sticky, world-writable directory.
const STICKY_WORLD_WRITABLE: u32 = 0o1002;

/// Whether `dir` is sticky (`S_ISVTX`): names in it can only be renamed or
/// removed by their owner, the directory's owner and root.
pub(crate) fn sticky(dir: &Stat) -> bool {
    dir.st_mode & 0o1000 != 0
}

/// Whether `dir` is sticky and world-writable, like `/tmp`: the directories
/// the kernel's `fs.protected_*` rules apply to.
pub(crate) fn shared(dir: &Stat) -> bool {
    dir.st_mode & STICKY_WORLD_WRITABLE == STICKY_WORLD_WRITABLE
}

/// Why following the symlink `link` (found in `dir`) is refused, if it is:
/// in a sticky, world-writable directory a link is followed only when its
/// owner is the caller or the directory's owner (the kernel's rule with
/// `fs.protected_symlinks=1`, `may_follow_link` in `fs/namei.c`).
pub(crate) fn may_follow(dir: &Stat, link: &Stat) -> Result<(), String> {
    protected(
        dir,
        link,
        "fs.protected_symlinks=1, such a link is followed",
    )
}

/// The kernel's protection of names in a sticky, world-writable directory:
/// a name there owned by neither the caller nor the directory's owner is
/// another user's; `action` says what the kernel then refuses.
fn protected(dir: &Stat, name: &Stat, action: &str) -> Result<(), String> {
    if !shared(dir) || name.st_uid == sys::process::euid() || name.st_uid == dir.st_uid {
        return Ok(());
    }
    Err(format!(
        "it is owned by uid {} in a sticky, world-writable directory; like the kernel with \
         {action} only when its owner is you or the directory's owner",
        name.st_uid
    ))
}

/// Why replacing the regular file `file` (found in `dir`) is refused, if
/// it is: in a sticky, world-writable directory a file owned by neither
/// the caller nor the directory's owner belongs to another user, who
/// planted it or may take back what we write into it (the kernel refuses
/// `O_CREAT` on such a file with `fs.protected_regular=1`; root's
/// `CAP_FOWNER` would let a rename replace it).
pub(crate) fn may_replace(dir: &Stat, file: &Stat) -> Result<(), String> {
    protected(
        dir,
        file,
        "fs.protected_regular=1, a file there is replaced",
    )
}

/// Why the lock file `lock` (found in `dir`, for a target owned by
/// `target_owner` if it exists) must not be used, if it must not: it must
/// be a regular file with one link (a hard link to another file would make
/// our payload overwrite that file), owned by the caller, root, the
/// directory's owner, or — outside sticky directories — the target's
/// owner. In a sticky directory a lock file of another unprivileged user
/// is refused: its owner can rename it away while we hold it, and the next
/// writer would lock a new file (two holders at once).
pub(crate) fn lock_file(dir: &Stat, target_owner: Option<u32>, lock: &Stat) -> Result<(), String> {
    if !is_regular(lock) {
        return Err("it is not a regular file".to_owned());
    }
    if lock.st_nlink != 1 {
        return Err(format!(
            "it has {} hard links (a lock file has one; writing a payload into it would change \
             the other names' content)",
            lock.st_nlink
        ));
    }
    let uid = lock.st_uid;
    let trusted = uid == sys::process::euid()
        || uid == 0
        || uid == dir.st_uid
        || (!sticky(dir) && target_owner == Some(uid));
    if trusted {
        return Ok(());
    }
    Err(if sticky(dir) {
        format!(
            "it is owned by uid {uid} in a sticky directory, who could rename it away while it \
             is held; only lock files of yours, root's or the directory owner's are used there"
        )
    } else {
        format!(
            "it is owned by uid {uid}, neither you, root, the directory's owner nor the file's owner"
        )
    })
}

/// Why the sidecar `sidecar` of a data file owned by `data_owner` is not
/// to be believed, if it is not: a sidecar must be a regular file with one
/// link, owned by the data file's owner, root or the caller. Anything else
/// could have been planted by another user to make good data look corrupt.
pub(crate) fn sidecar(data_owner: u32, sidecar: &Stat) -> Result<(), String> {
    if !is_regular(sidecar) {
        return Err("it is not a regular file".to_owned());
    }
    if sidecar.st_nlink != 1 {
        return Err(format!("it has {} hard links", sidecar.st_nlink));
    }
    let uid = sidecar.st_uid;
    if uid == data_owner || uid == 0 || uid == sys::process::euid() {
        return Ok(());
    }
    Err(format!(
        "it is owned by uid {uid}, neither the data file's owner (uid {data_owner}), root nor you"
    ))
}

/// Whether a litter sweep may remove `file`: only the sweeping user's own
/// temp and probe files are removed, root included (root does not delete
/// other users' files).
pub(crate) fn own_litter(file: &Stat) -> bool {
    file.st_uid == sys::process::euid()
}

/// Whether `st` describes a regular file.
pub(crate) fn is_regular(st: &Stat) -> bool {
    st.file_type() == rustix::fs::FileType::RegularFile
}
