//! Which filesystem a directory lives on: the one choice between Linux's
//! detection (magic number and mount table, [`super::detect`]) and the
//! portable one (type name, [`super::fstype`]), made by the sys backend in
//! use (decision 0013).

use super::FsClass;
use crate::sys::AsFd;
use std::io;

/// The result of detection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Detected {
    pub(super) name: String,
    pub(super) class: FsClass,
    pub(super) mount_point: Option<String>,
}

/// Linux: the magic number, refined by the mount table. No `/proc`
/// (chroot, minimal container): the magic alone decides.
#[cfg(all(target_os = "linux", not(safeatomic_portable)))]
pub(super) fn identify(_dir: impl AsFd, magic: u64, dev: u64) -> io::Result<Detected> {
    let mountinfo = crate::sys::statfs::mountinfo().ok();
    Ok(super::detect::classify(
        magic,
        crate::sys::statfs::major_minor(dev),
        mountinfo.as_deref(),
    ))
}

/// macOS and FreeBSD: the type name `statfs` reports (`f_fstypename`).
/// No mount table is read.
#[cfg(not(target_os = "linux"))]
pub(super) fn identify(dir: impl AsFd, _magic: u64, _dev: u64) -> io::Result<Detected> {
    Ok(super::fstype::classify(&crate::sys::statfs::type_name(
        dir,
    )?))
}

/// The portable backend on Linux: the type name, as Linux's `statfs`
/// has none, is the name of the magic number; then as on macOS and
/// FreeBSD. No mount table is read.
#[cfg(all(target_os = "linux", safeatomic_portable))]
pub(super) fn identify(_dir: impl AsFd, magic: u64, _dev: u64) -> io::Result<Detected> {
    let name = super::detect::classify(magic, (0, 0), None).name;
    Ok(super::fstype::classify(&name))
}
