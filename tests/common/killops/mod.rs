//! Operation scripts for the process-death tests (`tests/kills.rs`) and
//! their driver `sa-child kill-loop SCRIPT DIR FIRST`.
//!
//! A [`Script`] is a short cycle of [`Step`]s on a few names in one
//! directory; step number `k` is `steps[k % steps.len()]`, and every
//! payload it writes is `make_payload(k, tag, payload_size(k))`, so the
//! whole history is a pure function of the starting state and `k`. The
//! child runs steps `FIRST, FIRST+1, …` for real ([`run_step`]) and prints
//! `K begin` before and `K done` or `K refused` after each; the test keeps a [`Model`] of the
//! directory, applies the acknowledged steps to it ([`Model::apply`]), and
//! after the SIGKILL compares the directory ([`observe`]) with the model
//! after the acknowledged steps, or after one more (the step in flight may
//! have completed without being acknowledged). Nothing else is allowed: no
//! torn file, no lost or duplicated payload, no third state.
//!
//! Besides data files and sidecars the model knows the state of the lock
//! files the lock-maintenance steps touch ([`LockFile`], as
//! `inspect_lock` reports it) and the names of the dead writers' temp files
//! it planted ([`Model::litter`]), so `cleanup_litter`'s count is checked
//! exactly.

mod model;
mod observe;
mod run;
mod scripts;
mod vocabulary;

pub use model::{Content, LockFile, Model, Outcome};
pub use observe::{classify, observe};
pub use run::{corrupt_record, run_step};
pub use scripts::{SCRIPTS, script};
pub use vocabulary::{
    DONOR, Dumped, REPLACED, SWEEPER, Script, Size, Step, dump_filler, is_data_name,
    is_migration_backup, litter_names, payload_size,
};
