//! Test-only fault injection: make any single OS call fail with a chosen errno.
//!
//! Every function in the crate's `sys` module starts with a fault point. Without the
//! `fault-injection` feature `point` is an empty inline function. With it,
//! a thread-local plan counts the calls made on the current thread and fails
//! the chosen one, so a test can enumerate every failure point of an
//! operation: run it once clean to count the calls, then once per index.
//!
//! The plan is per thread because an operation runs on its caller's thread
//! from start to end, and test harnesses run tests on parallel threads.

/// One OS call as seen by the fault-injection layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code, unreachable_pub))]
pub struct Call {
    /// The syscall name, e.g. `"renameat"`.
    pub name: &'static str,
    /// Whether the kernel can interrupt this call with `EINTR` (and the
    /// library therefore retries it).
    pub interruptible: bool,
}

#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn point(_call: Call) -> std::io::Result<()> {
    Ok(())
}

/// Which recording this thread is in: 0 outside [`record`]/[`inject`]
/// (always, without the `fault-injection` feature), else a number no
/// other recording has. Memos of the crate that make a later call skip OS
/// calls (the directories already swept) are kept per recording, so that
/// every recorded run of an operation makes the same calls whatever ran
/// before it in the process.
#[cfg(not(feature = "fault-injection"))]
#[inline(always)]
pub(crate) fn epoch() -> u64 {
    0
}

#[cfg(feature = "fault-injection")]
pub(crate) use imp::{epoch, point};

#[cfg(feature = "fault-injection")]
pub use imp::{Plan, Trace, inject, record};

#[cfg(feature = "fault-injection")]
mod imp {
    use super::Call;
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Which call to fail, and how.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct Plan {
        at: usize,
        errno: i32,
        sticky: bool,
        /// When set, `at` counts only the calls with this name.
        name: Option<&'static str>,
    }

    impl Plan {
        /// Fail call number `at` (0-based, in the order the calls are made on
        /// this thread) once with `errno`; later calls run normally.
        pub fn fail(at: usize, errno: i32) -> Self {
            Self {
                at,
                errno,
                sticky: false,
                name: None,
            }
        }

        /// Fail the first call named `name` (e.g. `"linkat"`) once with
        /// `errno`; every other call runs normally. Independent of how many
        /// calls come before it (which caches can change).
        pub fn fail_named(name: &'static str, errno: i32) -> Self {
            Self {
                at: 0,
                errno,
                sticky: false,
                name: Some(name),
            }
        }

        /// Simulate a crash just before the call number `nth` (0-based)
        /// among those named `name`: that call and every later call, of any
        /// name, fail with `EIO`. Independent of how many calls of other
        /// names come before it (a directory listing's length, caches).
        pub fn crash_at_named(name: &'static str, nth: usize) -> Self {
            Self {
                at: nth,
                errno: rustix::io::Errno::IO.raw_os_error(),
                sticky: true,
                name: Some(name),
            }
        }

        /// Simulate a crash after call `at - 1`: call `at` and every later
        /// call fail with `EIO`, so nothing after that point reaches the
        /// filesystem (not even cleanup), as if the process had died there.
        pub fn crash(at: usize) -> Self {
            Self {
                at,
                errno: rustix::io::Errno::IO.raw_os_error(),
                sticky: true,
                name: None,
            }
        }
    }

    /// The calls an operation made, and which one was failed.
    #[derive(Debug, Clone, Default, PartialEq, Eq)]
    pub struct Trace {
        /// Every call attempted, in order (a failed call is included).
        pub calls: Vec<Call>,
        /// The index into `calls` of the first injected failure, if any.
        pub injected: Option<usize>,
    }

    impl Trace {
        /// The syscall names, in order.
        pub fn names(&self) -> Vec<&'static str> {
            self.calls.iter().map(|c| c.name).collect()
        }
    }

    struct State {
        plan: Option<Plan>,
        trace: Trace,
        /// Calls seen so far that the plan counts.
        counted: usize,
        /// This recording's number (see [`epoch`](super::epoch)).
        epoch: u64,
    }

    /// The next recording's number.
    static NEXT_EPOCH: AtomicU64 = AtomicU64::new(1);

    pub(crate) fn epoch() -> u64 {
        STATE.with(|s| s.borrow().as_ref().map_or(0, |state| state.epoch))
    }

    thread_local! {
        static STATE: RefCell<Option<State>> = const { RefCell::new(None) };
    }

    pub(crate) fn point(call: Call) -> std::io::Result<()> {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            let Some(state) = s.as_mut() else {
                return Ok(());
            };
            let index = state.trace.calls.len();
            state.trace.calls.push(call);
            let Some(plan) = state.plan else {
                return Ok(());
            };
            // After a crash nothing reaches the filesystem, whatever its name.
            if plan.sticky && state.trace.injected.is_some() {
                return Err(std::io::Error::from_raw_os_error(plan.errno));
            }
            if plan.name.is_some_and(|name| name != call.name) {
                return Ok(());
            }
            let counted = state.counted;
            state.counted += 1;
            if counted == plan.at || (plan.sticky && counted > plan.at) {
                state.trace.injected.get_or_insert(index);
                Err(std::io::Error::from_raw_os_error(plan.errno))
            } else {
                Ok(())
            }
        })
    }

    fn run<R>(plan: Option<Plan>, f: impl FnOnce() -> R) -> (R, Trace) {
        STATE.with(|s| {
            let previous = s.borrow_mut().replace(State {
                plan,
                trace: Trace::default(),
                counted: 0,
                epoch: NEXT_EPOCH.fetch_add(1, Ordering::Relaxed),
            });
            assert!(previous.is_none(), "fault injection plans do not nest");
        });
        // Take the state back even if `f` panics, so one failing test cannot
        // poison the next one run on this thread.
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                STATE.with(|s| s.borrow_mut().take());
            }
        }
        let reset = Reset;
        let result = f();
        let trace = STATE
            .with(|s| s.borrow_mut().take())
            .map(|s| s.trace)
            .unwrap_or_default();
        drop(reset);
        (result, trace)
    }

    /// Runs `f` and returns the OS calls it made on this thread.
    pub fn record<R>(f: impl FnOnce() -> R) -> (R, Trace) {
        run(None, f)
    }

    /// Runs `f` with `plan` armed on this thread.
    pub fn inject<R>(plan: Plan, f: impl FnOnce() -> R) -> (R, Trace) {
        run(Some(plan), f)
    }
}
