//! One module per command.

pub(crate) mod cat;
pub(crate) mod checksum;
pub(crate) mod doctor;
pub(crate) mod inspect;
pub(crate) mod lock;
pub(crate) mod rename;
pub(crate) mod write;
