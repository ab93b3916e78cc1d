//! Which filesystem a directory lives on, on Linux: `statfs` magic numbers,
//! refined by `/proc/self/mountinfo` (ext2/3/4 share a magic; FUSE needs
//! its subtype).

use super::FsClass;
use super::fuse;
use super::identify::Detected;

/// Magic numbers from `statfs(2)` / `<linux/magic.h>`, with a name and class.
pub(super) const MAGICS: &[(u64, &str, FsClass)] = &[
    (0xEF53, "ext4", FsClass::LocalPersistent),
    (0x5846_5342, "xfs", FsClass::LocalPersistent),
    (0x9123_683E, "btrfs", FsClass::LocalPersistent),
    (0xF2F5_2010, "f2fs", FsClass::LocalPersistent),
    (0x2FC1_2FC1, "zfs", FsClass::LocalPersistent),
    (0xCA45_1A4E, "bcachefs", FsClass::LocalPersistent),
    (0x3153_464A, "jfs", FsClass::LocalPersistent),
    (0x5265_4973, "reiserfs", FsClass::LocalPersistent),
    (0x0102_1994, "tmpfs", FsClass::LocalMemory),
    (0x8584_58F6, "ramfs", FsClass::LocalMemory),
    (0x794C_7630, "overlay", FsClass::Overlay),
    (0x6969, "nfs", FsClass::Network),
    (0x517B, "smb", FsClass::Network),
    (0xFF53_4D42, "cifs", FsClass::Network),
    (0xFE53_4D42, "smb2", FsClass::Network),
    (0x0102_1997, "9p", FsClass::Network),
    (0x00C3_6400, "ceph", FsClass::Network),
    (0x5346_414F, "afs", FsClass::Network),
    (0x0BD0_0BD0, "lustre", FsClass::Network),
    (0x4750_4653, "gpfs", FsClass::Network),
    (0x6573_5546, "fuse", FsClass::Unknown),
    (0x5346_544E, "ntfs", FsClass::WindowsFamily),
    (0x7366_746E, "ntfs3", FsClass::WindowsFamily),
    (0x4D44, "vfat", FsClass::WindowsFamily),
    (0x2011_BAB0, "exfat", FsClass::WindowsFamily),
    (0x9FA0, "proc", FsClass::Unknown),
];

const FUSE_MAGIC: u64 = 0x6573_5546;

/// One parsed line of `/proc/self/mountinfo` (only the fields we use).
#[derive(Debug, Clone, PartialEq, Eq)]
struct MountLine<'a> {
    major_minor: (u32, u32),
    mount_point: String,
    fstype: &'a str,
}

/// Parses a mountinfo line (see `proc_pid_mountinfo(5)`):
/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`.
fn parse_line(line: &str) -> Option<MountLine<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let mut fields = left.split(' ');
    let _id = fields.next()?;
    let _parent = fields.next()?;
    let (major, minor) = fields.next()?.split_once(':')?;
    let _root = fields.next()?;
    let mount_point = unescape_octal(fields.next()?);
    let fstype = right.split(' ').next()?;
    Some(MountLine {
        major_minor: (major.parse().ok()?, minor.parse().ok()?),
        mount_point,
        fstype,
    })
}

/// Mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_octal(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Classifies a filesystem from its magic number and, when available, the
/// mount table. `mountinfo` may be `None` (no `/proc`): magic alone decides.
pub(super) fn classify(magic: u64, dev: (u32, u32), mountinfo: Option<&str>) -> Detected {
    // The last matching line is the mount that is visible (later mounts stack).
    let line = mountinfo.and_then(|text| {
        text.lines()
            .filter_map(parse_line)
            .rfind(|l| l.major_minor == dev)
    });
    let known = MAGICS.iter().find(|(m, _, _)| *m == magic);
    let mount_point = line.as_ref().map(|l| l.mount_point.clone());
    let fstype = line.as_ref().map(|l| l.fstype);

    if magic == FUSE_MAGIC {
        let fstype = fstype.unwrap_or("fuse");
        let subtype = fstype.strip_prefix("fuse.").unwrap_or("");
        let class = if fstype == "fuseblk" {
            // fuseblk is a block-device FUSE driver: ntfs-3g or exfat-fuse.
            FsClass::WindowsFamily
        } else {
            fuse::subtype_class(subtype)
        };
        return Detected {
            name: fstype.to_owned(),
            class,
            mount_point,
        };
    }
    match known {
        Some((_, name, class)) => Detected {
            // mountinfo tells ext2 from ext3 from ext4, nfs from nfs4.
            name: fstype.map_or_else(|| (*name).to_owned(), str::to_owned),
            class: *class,
            mount_point,
        },
        None => Detected {
            name: fstype.map_or_else(
                || format!("unknown (statfs magic {magic:#x})"),
                str::to_owned,
            ),
            class: FsClass::Unknown,
            mount_point,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
23 22 0:21 / /dev/shm rw shared:2 - tmpfs tmpfs rw
24 22 0:50 / /mnt/remote rw - fuse.sshfs user@host:/ rw
25 22 0:51 / /mnt/bucket rw - fuse.s3fs s3fs rw
26 22 0:52 / /mnt/win rw - fuseblk /dev/sdb1 rw
27 22 0:53 / /mnt/odd rw - fuse.mystery x rw
28 22 0:54 / /merged rw - overlay overlay rw,lowerdir=/l
29 22 0:55 / /mnt/with\\040space rw - nfs4 srv:/x rw
30 22 8:1 / /bind rw - ext4 /dev/sda1 rw
";

    #[test]
    fn ext4_name_comes_from_mountinfo_and_the_last_mount_wins() {
        let d = classify(0xEF53, (8, 1), Some(INFO));
        assert_eq!(d.name, "ext4");
        assert_eq!(d.class, FsClass::LocalPersistent);
        assert_eq!(d.mount_point.as_deref(), Some("/bind"));
    }

    #[test]
    fn fuse_subtypes_are_classified() {
        assert_eq!(
            classify(FUSE_MAGIC, (0, 50), Some(INFO)).class,
            FsClass::Network
        );
        assert_eq!(
            classify(FUSE_MAGIC, (0, 51), Some(INFO)).class,
            FsClass::ObjectStore
        );
        assert_eq!(
            classify(FUSE_MAGIC, (0, 52), Some(INFO)).class,
            FsClass::WindowsFamily
        );
        let odd = classify(FUSE_MAGIC, (0, 53), Some(INFO));
        assert_eq!(
            (odd.class, odd.name.as_str()),
            (FsClass::Unknown, "fuse.mystery")
        );
    }

    #[test]
    fn overlay_tmpfs_and_nfs() {
        assert_eq!(
            classify(0x794C_7630, (0, 54), Some(INFO)).class,
            FsClass::Overlay
        );
        assert_eq!(
            classify(0x0102_1994, (0, 21), Some(INFO)).class,
            FsClass::LocalMemory
        );
        let nfs = classify(0x6969, (0, 55), Some(INFO));
        assert_eq!(nfs.name, "nfs4");
        assert_eq!(nfs.class, FsClass::Network);
        assert_eq!(nfs.mount_point.as_deref(), Some("/mnt/with space"));
    }

    #[test]
    fn without_mountinfo_magic_decides() {
        let d = classify(0x5846_5342, (7, 0), None);
        assert_eq!(
            (d.name.as_str(), d.class),
            ("xfs", FsClass::LocalPersistent)
        );
        let u = classify(0x1234, (7, 0), None);
        assert_eq!(u.class, FsClass::Unknown);
        assert!(u.name.contains("0x1234"), "{}", u.name);
    }

    #[test]
    fn malformed_mountinfo_lines_are_skipped() {
        let d = classify(0xEF53, (8, 1), Some("garbage\n1 2 x:y / / - ext4\n"));
        assert_eq!(d.name, "ext4");
        assert_eq!(d.mount_point, None);
    }
}
