//! `Store::try_update` through the group commit (`group.rs`): a caller's
//! closure and its outcome ([`Change`]), the leader's work
//! ([`Store::lead`]) and a waiting caller's ([`Store::follow`]).

use super::group::{MAX_GROUP, Role, Ticket, Wake};
use super::persisted::Persisted;
use super::{Store, synced};
use crate::commit::Unsynced;
use crate::error::{Error, ErrorKind, Operation, Result};
use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::Arc;

/// One caller's closure, and what came of it.
pub(super) struct Change<F, R, E> {
    f: Option<F>,
    /// The closure's result, or the error that skipped it.
    out: Option<std::result::Result<R, E>>,
    /// The closure's panic, resumed on its own thread.
    panic: Option<Box<dyn Any + Send>>,
}

impl<F, R, E: From<Error>> Change<F, R, E> {
    pub(super) fn new(f: F) -> Self {
        Self {
            f: Some(f),
            out: None,
            panic: None,
        }
    }

    /// Runs the closure on `value` and validates the result. Returns the
    /// value to go on from and whether it carries this change: a closure
    /// that returns `Err`, panics, or leaves a value that fails validation
    /// is skipped (the value goes on as it was, from `unchanged`) and its
    /// caller gets that error (or panic) alone.
    fn apply<T: Persisted>(
        &mut self,
        mut value: T,
        unchanged: impl FnOnce() -> T,
        path: &std::path::Path,
    ) -> (T, bool)
    where
        F: FnOnce(&mut T) -> std::result::Result<R, E>,
    {
        let f = self.f.take().expect("a closure runs once");
        let run = catch_unwind(AssertUnwindSafe(|| {
            f(&mut value).map(|out| (out, value.validate()))
        }));
        match run {
            Ok(Ok((out, Ok(())))) => {
                self.out = Some(Ok(out));
                return (value, true);
            }
            Ok(Ok((_, Err(reason)))) => {
                let e = Error::new(ErrorKind::Validation, Operation::Store, "validate", path)
                    .with_detail(reason);
                self.out = Some(Err(E::from(e)));
            }
            Ok(Err(e)) => self.out = Some(Err(e)),
            Err(panic) => self.panic = Some(panic),
        }
        (unchanged(), false)
    }

    /// The caller's answer, once the commit carrying its change (if any)
    /// is done: its closure's result, or the commit's error; a panic of
    /// its closure is resumed here.
    fn finish(self, committed: Result<()>) -> std::result::Result<R, E> {
        if let Some(panic) = self.panic {
            resume_unwind(panic);
        }
        match self.out {
            Some(Ok(out)) => committed.map(|()| out).map_err(E::from),
            Some(Err(e)) => Err(e),
            // The group failed before this closure ran (the lock, or
            // reading the file).
            None => Err(E::from(committed.expect_err("a closure that never ran"))),
        }
    }
}

impl<T: Persisted> Store<T> {
    /// `try_update`: joins the store's update queue, and leads a group or
    /// waits for one to carry the change.
    pub(super) fn update_grouped<F, R, E>(&self, f: F) -> std::result::Result<R, E>
    where
        F: FnOnce(&mut T) -> std::result::Result<R, E>,
        E: From<Error>,
    {
        let mut change = Change::new(f);
        match self.inner.group.join() {
            Role::Lead => self.lead(change),
            Role::Follow(ticket) => loop {
                match ticket.wait() {
                    Wake::Turn(value) => {
                        let unchanged = value.clone();
                        let (value, kept) = change.apply(value, || unchanged, self.path());
                        ticket.give_back(value, kept);
                        if !kept {
                            // Not in the commit: nothing to wait for.
                            return change.finish(Ok(()));
                        }
                    }
                    Wake::Done(committed) => return change.finish(committed),
                    Wake::Lead => return self.lead(change),
                }
            },
        }
    }

    /// Leads a group: the lock, the current value, this caller's change and
    /// those of the callers waiting, one commit; then the next group's
    /// leader. Every caller of the group gets its answer even if something
    /// here panics (a `Serialize` or `Deserialize` implementation).
    fn lead<F, R, E>(&self, mut mine: Change<F, R, E>) -> std::result::Result<R, E>
    where
        F: FnOnce(&mut T) -> std::result::Result<R, E>,
        E: From<Error>,
    {
        let mut group: Vec<Arc<Ticket<T>>> = Vec::new();
        let run = catch_unwind(AssertUnwindSafe(|| {
            self.commit_group(&mut mine, &mut group)
        }));
        let published = match run {
            Ok(published) => published,
            Err(panic) => {
                for ticket in group.drain(..) {
                    ticket.done(Err(Error::new(
                        ErrorKind::Io,
                        Operation::Store,
                        "commit",
                        self.path(),
                    )
                    .with_detail(
                        "the update that was committing this change panicked; nothing was written",
                    )));
                }
                self.inner.group.hand_over();
                resume_unwind(panic);
            }
        };
        // The lock is free (`commit_group` released it): the next group
        // may begin while this one's write is made durable.
        self.inner.group.hand_over();
        let committed = synced(published);
        for ticket in group {
            ticket.done(committed.as_ref().map(|_| ()).map_err(Error::duplicate));
        }
        mine.finish(committed)
    }

    /// The leader's work under the lock, up to a published write whose
    /// directory fsync is left to make once the lock is released; `group`
    /// collects the callers whose change the commit carries (they are told
    /// its outcome after that fsync).
    fn commit_group<F, R, E>(
        &self,
        mine: &mut Change<F, R, E>,
        group: &mut Vec<Arc<Ticket<T>>>,
    ) -> Result<Option<Unsynced>>
    where
        F: FnOnce(&mut T) -> std::result::Result<R, E>,
        E: From<Error>,
    {
        let begun = self.lock().and_then(|guard| {
            let base = self.current(Some(&guard))?;
            Ok((guard, base))
        });
        let (guard, base) = match begun {
            Ok(begun) => begun,
            Err(e) => {
                // Nobody waiting could do better now: each gets this error.
                while let Some(ticket) = self.inner.group.next() {
                    ticket.done(Err(e.duplicate()));
                }
                return Err(e);
            }
        };
        let (mut value, mut changed) =
            mine.apply(T::clone(&base.value), || T::clone(&base.value), self.path());
        while group.len() < MAX_GROUP {
            let Some(ticket) = self.inner.group.next() else {
                break;
            };
            let (next, kept) = ticket.turn(value);
            value = next;
            if kept {
                changed = true;
                group.push(ticket);
            }
        }
        if !changed {
            return Ok(None);
        }
        self.commit(&guard, value, Some(&base))
    }
}

#[cfg(feature = "fault-injection")]
impl<T: Persisted> Store<T> {
    /// Tests only (`fault-injection`): how many updates of this store's
    /// clones wait for a group to carry them, so that a test can start a
    /// group when every caller it wants in it has queued.
    #[doc(hidden)]
    pub fn queued_updates(&self) -> usize {
        self.inner.group.waiting()
    }
}
