//! FUSE filesystems by subtype: the part after `fuse.` in Linux's mount
//! table, after `fusefs.` in FreeBSD's `f_fstypename`.

use super::FsClass;

/// FUSE subtypes that are network filesystems.
const FUSE_NETWORK: &[&str] = &[
    "sshfs",
    "ceph-fuse",
    "glusterfs",
    "davfs",
    "davfs2",
    "moosefs",
    "mfs",
    "lizardfs",
    "cvmfs",
    "smbnetfs",
    "curlftpfs",
    "afpfs",
    "beegfs",
];

/// FUSE subtypes that present an object store as files.
const FUSE_OBJECT: &[&str] = &[
    "s3fs",
    "goofys",
    "gcsfuse",
    "mountpoint-s3",
    "blobfuse",
    "blobfuse2",
    "rclone",
    "juicefs",
    "s3ql",
    "geesefs",
];
/// The class of a FUSE filesystem with this subtype: network, object
/// store, or unknown (a FUSE driver promises nothing by itself).
pub(super) fn subtype_class(subtype: &str) -> FsClass {
    if FUSE_NETWORK.contains(&subtype) {
        FsClass::Network
    } else if FUSE_OBJECT.contains(&subtype) {
        FsClass::ObjectStore
    } else {
        FsClass::Unknown
    }
}
