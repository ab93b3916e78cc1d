//! Group commit (issue #17): concurrent updates of one store, from clones
//! of it on several threads, share one write.
//!
//! The first caller to find no update under way *leads*: it takes the
//! file's lock, reads the current value, and applies the closures of the
//! callers queued behind it in arrival order, each on the result of the
//! previous one, then commits once and tells each caller the outcome. A
//! closure runs on its own caller's thread (so it need not be `Send`): the
//! leader hands the value over and gets it back. Callers that arrive
//! during the commit queue for the next group, which the first of them
//! leads. This module is the queue and the hand-over; what a turn and a
//! commit are, the store says.

use crate::error::Result;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// The most closures one commit takes: later callers wait for the next.
/// Bounds how long the first caller of a group waits for its answer.
pub(super) const MAX_GROUP: usize = 64;

/// The update queue of one store (shared by its clones).
pub(super) struct Group<T> {
    queue: Mutex<Queue<T>>,
}

struct Queue<T> {
    /// A caller is leading a group now.
    leading: bool,
    /// The callers waiting, in arrival order.
    waiting: VecDeque<Arc<Ticket<T>>>,
}

/// A waiting caller's place: where the leader and it meet.
pub(super) struct Ticket<T> {
    slot: Mutex<Slot<T>>,
    changed: Condvar,
}

enum Slot<T> {
    Waiting,
    /// The leader's value, for this caller's closure.
    Turn(T),
    /// The value back to the leader, and whether this caller's closure
    /// changed it (kept) or it is as it was handed over (skipped).
    Back(T, bool),
    /// The outcome of the commit that carries this caller's change.
    Done(Result<()>),
    /// This caller leads the next group.
    Lead,
}

/// What a waiting caller is woken for.
pub(super) enum Wake<T> {
    /// Apply your closure to this value and give it back.
    Turn(T),
    /// The commit that carries your change is done (durable, or failed).
    Done(Result<()>),
    /// Lead the next group.
    Lead,
}

/// A caller's part in the queue.
pub(super) enum Role<T> {
    /// No update was under way: lead.
    Lead,
    /// Wait on this ticket.
    Follow(Arc<Ticket<T>>),
}

fn locked<X>(m: &Mutex<X>) -> MutexGuard<'_, X> {
    // Nothing runs user code while holding these locks, and every change
    // under them is one assignment: a poisoned lock is still consistent.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<T> Default for Group<T> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(Queue {
                leading: false,
                waiting: VecDeque::new(),
            }),
        }
    }
}

impl<T> Group<T> {
    /// Joins the queue: leads if no update is under way, else waits.
    pub(super) fn join(&self) -> Role<T> {
        let mut q = locked(&self.queue);
        if !q.leading {
            q.leading = true;
            return Role::Lead;
        }
        let ticket = Arc::new(Ticket {
            slot: Mutex::new(Slot::Waiting),
            changed: Condvar::new(),
        });
        q.waiting.push_back(Arc::clone(&ticket));
        Role::Follow(ticket)
    }

    /// The leader's next caller to serve, in arrival order.
    pub(super) fn next(&self) -> Option<Arc<Ticket<T>>> {
        locked(&self.queue).waiting.pop_front()
    }

    /// How many callers wait (tests only: `Store::queued_updates`).
    #[cfg(feature = "fault-injection")]
    pub(super) fn waiting(&self) -> usize {
        locked(&self.queue).waiting.len()
    }

    /// The leader is done: the first waiting caller leads next, or nobody
    /// leads until the next caller comes.
    pub(super) fn hand_over(&self) {
        let mut q = locked(&self.queue);
        match q.waiting.pop_front() {
            Some(next) => next.set(Slot::Lead),
            None => q.leading = false,
        }
    }
}

impl<T> Ticket<T> {
    fn set(&self, slot: Slot<T>) {
        *locked(&self.slot) = slot;
        self.changed.notify_one();
    }

    /// Leader's side: hands `value` to this caller's closure and waits for
    /// it back; `true` when the closure's change is kept.
    pub(super) fn turn(&self, value: T) -> (T, bool) {
        self.set(Slot::Turn(value));
        let mut slot = locked(&self.slot);
        loop {
            match std::mem::replace(&mut *slot, Slot::Waiting) {
                Slot::Back(value, kept) => return (value, kept),
                other => *slot = other,
            }
            slot = self
                .changed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Leader's side: the commit carrying this caller's change is done.
    pub(super) fn done(&self, outcome: Result<()>) {
        self.set(Slot::Done(outcome));
    }

    /// Caller's side: waits to be woken.
    pub(super) fn wait(&self) -> Wake<T> {
        let mut slot = locked(&self.slot);
        loop {
            match std::mem::replace(&mut *slot, Slot::Waiting) {
                Slot::Turn(value) => return Wake::Turn(value),
                Slot::Done(outcome) => return Wake::Done(outcome),
                Slot::Lead => return Wake::Lead,
                other => *slot = other,
            }
            slot = self
                .changed
                .wait(slot)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Caller's side: gives the value back after its turn.
    pub(super) fn give_back(&self, value: T, kept: bool) {
        self.set(Slot::Back(value, kept));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_caller_leads_and_the_rest_wait_in_order() {
        let g = Group::<u32>::default();
        assert!(matches!(g.join(), Role::Lead));
        let Role::Follow(a) = g.join() else {
            panic!("a second caller led")
        };
        let Role::Follow(b) = g.join() else {
            panic!("a third caller led")
        };
        assert!(Arc::ptr_eq(&g.next().unwrap(), &a));
        g.hand_over();
        assert!(
            matches!(b.wait(), Wake::Lead),
            "the next waiting caller leads"
        );
        g.hand_over();
        assert!(matches!(g.join(), Role::Lead), "nobody leads any more");
    }

    #[test]
    fn a_turn_hands_the_value_over_and_back() {
        let g = Group::<u32>::default();
        let _lead = g.join();
        let Role::Follow(t) = g.join() else {
            panic!("a second caller led")
        };
        let follower = std::thread::spawn(move || {
            let Wake::Turn(v) = t.wait() else {
                panic!("not a turn")
            };
            t.give_back(v + 1, true);
            match t.wait() {
                Wake::Done(outcome) => outcome.is_ok(),
                _ => false,
            }
        });
        let t = g.next().unwrap();
        assert_eq!(t.turn(41), (42, true));
        t.done(Ok(()));
        assert!(follower.join().unwrap());
    }
}
