//! The guarantee matrix: the level of each guarantee per filesystem class.
//!
//! This table is the single source of truth; `docs/guarantees.md` is checked
//! against it by a test.

use super::{FsClass, Guarantee, Level};

use Level::{BestEffort as B, Guaranteed as G, NonTarget as N, Unsupported as U};

/// Levels in the order of [`Guarantee::ALL`]:
/// AtomicVisibility, CrashDurability, WriterExclusion, IntegrityDetection,
/// ReaderConsistency, StaleRecovery, MetadataPreservation, CrossDeviceSafety.
pub(super) const fn row(class: FsClass) -> [Level; 8] {
    match class {
        // rename(2) is atomic, fsync of file and directory is durable,
        // flock(2) is local and kernel-released on death.
        FsClass::LocalPersistent => [G, G, G, G, G, G, G, G],
        // Everything holds while the filesystem exists; a power loss empties
        // the whole filesystem by design, so durability is BestEffort.
        FsClass::LocalMemory => [G, B, G, G, G, G, G, G],
        // Renames and flocks act on the upper layer; durability is that of
        // the upper filesystem (and void with the `volatile` mount option).
        FsClass::Overlay => [G, B, G, G, G, G, G, G],
        // We always refuse EXDEV instead of copying, on every filesystem:
        // CrossDeviceSafety is a property of the library, hence G everywhere.
        FsClass::Network | FsClass::ObjectStore | FsClass::WindowsFamily => {
            [N, N, N, N, N, N, N, G]
        }
        FsClass::Unknown => [U, U, U, U, U, U, U, G],
    }
}

/// The level of one guarantee for a class.
pub(super) const fn level(class: FsClass, g: Guarantee) -> Level {
    row(class)[g as usize]
}
