//! Which filesystem a directory lives on, by the name of its type: the
//! `f_fstypename` of `statfs(2)` on macOS and FreeBSD. The portable
//! backend on Linux feeds it the names of Linux's magic numbers
//! (decision 0013), so the table also knows Linux's names.

use super::FsClass;
use super::fuse;
use super::identify::Detected;

/// Filesystem type names and their class. Names differ between systems
/// for the same protocol (`smbfs` on macOS and FreeBSD, `cifs` on Linux).
const NAMES: &[(&str, FsClass)] = &[
    // macOS
    ("apfs", FsClass::LocalPersistent),
    ("hfs", FsClass::LocalPersistent),
    ("afpfs", FsClass::Network),
    ("webdav", FsClass::Network),
    ("msdos", FsClass::WindowsFamily),
    // FreeBSD
    ("ufs", FsClass::LocalPersistent),
    ("msdosfs", FsClass::WindowsFamily),
    // macOS and FreeBSD
    ("smbfs", FsClass::Network),
    // everywhere
    ("zfs", FsClass::LocalPersistent),
    ("tmpfs", FsClass::LocalMemory),
    ("nfs", FsClass::Network),
    ("exfat", FsClass::WindowsFamily),
    ("ntfs", FsClass::WindowsFamily),
    // Linux (the portable backend's tests)
    ("ext4", FsClass::LocalPersistent),
    ("xfs", FsClass::LocalPersistent),
    ("btrfs", FsClass::LocalPersistent),
    ("f2fs", FsClass::LocalPersistent),
    ("bcachefs", FsClass::LocalPersistent),
    ("jfs", FsClass::LocalPersistent),
    ("reiserfs", FsClass::LocalPersistent),
    ("ramfs", FsClass::LocalMemory),
    ("overlay", FsClass::Overlay),
    ("smb", FsClass::Network),
    ("cifs", FsClass::Network),
    ("smb2", FsClass::Network),
    ("9p", FsClass::Network),
    ("ceph", FsClass::Network),
    ("afs", FsClass::Network),
    ("lustre", FsClass::Network),
    ("gpfs", FsClass::Network),
    ("ntfs3", FsClass::WindowsFamily),
    ("vfat", FsClass::WindowsFamily),
];

/// Classifies a filesystem by its type name. A FUSE filesystem
/// (`fusefs.SUBTYPE` on FreeBSD) is classified by its subtype; anything
/// not in the table, macOS's `macfuse` and `devfs` among them, is
/// [`FsClass::Unknown`]. There is no mount table: no mount point.
pub(super) fn classify(name: &str) -> Detected {
    let class = match name.strip_prefix("fusefs.") {
        Some(subtype) => fuse::subtype_class(subtype),
        None => NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(FsClass::Unknown, |(_, class)| *class),
    };
    Detected {
        name: name.to_owned(),
        class,
        mount_point: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macos_and_freebsd_names_and_fuse_subtypes() {
        for (name, class) in [
            ("apfs", FsClass::LocalPersistent),
            ("hfs", FsClass::LocalPersistent),
            ("smbfs", FsClass::Network),
            ("afpfs", FsClass::Network),
            ("webdav", FsClass::Network),
            ("msdos", FsClass::WindowsFamily),
            ("exfat", FsClass::WindowsFamily),
            ("macfuse", FsClass::Unknown),
            ("devfs", FsClass::Unknown),
            ("ufs", FsClass::LocalPersistent),
            ("zfs", FsClass::LocalPersistent),
            ("tmpfs", FsClass::LocalMemory),
            ("nfs", FsClass::Network),
            ("msdosfs", FsClass::WindowsFamily),
            ("fusefs.sshfs", FsClass::Network),
            ("fusefs.s3fs", FsClass::ObjectStore),
            ("fusefs.mystery", FsClass::Unknown),
            ("fusefs", FsClass::Unknown),
            ("nullfs", FsClass::Unknown),
        ] {
            let d = classify(name);
            assert_eq!((d.name.as_str(), d.class), (name, class));
            assert_eq!(d.mount_point, None);
        }
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn linux_names_agree_with_the_magic_numbers() {
        // Every name the portable backend is fed on Linux gets the class the
        // Linux backend gives its magic number (FUSE needs its subtype,
        // which only the mount table has).
        for (magic, name, class) in super::super::detect::MAGICS {
            if *name == "fuse" {
                continue;
            }
            let linux = super::super::detect::classify(*magic, (0, 0), None);
            assert_eq!(linux.name, *name);
            assert_eq!(classify(name).class, *class, "{name}");
        }
    }
}
