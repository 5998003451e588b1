//! Two-level cancellation for a run: a graceful **stop** (Terraform's first Ctrl-C, or an agent
//! shutting down: start nothing new, let in-flight work finish, save state) and an **abort** (the
//! second signal: give up on in-flight work too).
//!
//! One [`Cancel`] is created per run and cloned into every layer that waits or loops: the state
//! store's lock waits, the engine's graph walk, provider processes. It is plain `std` (a mutex and
//! a condition variable) because most of those layers are synchronous; async code polls
//! [`Cancel::is_stopping`] or registers a callback with [`Cancel::on_stop`].
//!
//! **Architecture Invariant:** nothing in weir is process-wide. Signal handlers live in the binary
//! and call [`Cancel::stop`] / [`Cancel::abort`] on the token of the run they belong to.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How far a run has been asked to wind down. Levels only ever increase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Running,
    Stopping,
    Aborted,
}

type Callback = Box<dyn FnOnce() + Send>;

struct Inner {
    level: Level,
    on_stop: Vec<Callback>,
    on_abort: Vec<Callback>,
}

struct Shared {
    inner: Mutex<Inner>,
    changed: Condvar,
}

/// A cancellation token: cheap to clone, all clones see the same level.
#[derive(Clone)]
pub struct Cancel(Arc<Shared>);

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cancel({:?})", self.level())
    }
}

impl Cancel {
    pub fn new() -> Cancel {
        Cancel(Arc::new(Shared {
            inner: Mutex::new(Inner {
                level: Level::Running,
                on_stop: Vec::new(),
                on_abort: Vec::new(),
            }),
            changed: Condvar::new(),
        }))
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        // A callback that panicked must not disable cancellation for everyone else.
        self.0.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn level(&self) -> Level {
        self.inner().level
    }

    /// Asks for a graceful stop. Returns false if a stop (or abort) was already requested, so a
    /// signal handler can escalate the second signal to [`Cancel::abort`].
    pub fn stop(&self) -> bool {
        let callbacks = {
            let mut inner = self.inner();
            if inner.level >= Level::Stopping {
                return false;
            }
            inner.level = Level::Stopping;
            std::mem::take(&mut inner.on_stop)
        };
        self.0.changed.notify_all();
        // Outside the lock: a callback may clone or query this token.
        for f in callbacks {
            f();
        }
        true
    }

    /// Gives up on in-flight work too. Implies a stop (its callbacks run first if they have not).
    pub fn abort(&self) {
        self.stop();
        let callbacks = {
            let mut inner = self.inner();
            if inner.level == Level::Aborted {
                return;
            }
            inner.level = Level::Aborted;
            std::mem::take(&mut inner.on_abort)
        };
        self.0.changed.notify_all();
        for f in callbacks {
            f();
        }
    }

    /// True once a stop or an abort was requested: start no new work.
    pub fn is_stopping(&self) -> bool {
        self.level() >= Level::Stopping
    }

    /// True once an abort was requested: abandon in-flight work.
    pub fn is_aborted(&self) -> bool {
        self.level() == Level::Aborted
    }

    /// Runs `f` once when a stop is requested (at once if it already was).
    pub fn on_stop(&self, f: impl FnOnce() + Send + 'static) {
        let mut inner = self.inner();
        if inner.level >= Level::Stopping {
            drop(inner);
            f();
        } else {
            inner.on_stop.push(Box::new(f));
        }
    }

    /// Runs `f` once when an abort is requested (at once if it already was).
    pub fn on_abort(&self, f: impl FnOnce() + Send + 'static) {
        let mut inner = self.inner();
        if inner.level == Level::Aborted {
            drop(inner);
            f();
        } else {
            inner.on_abort.push(Box::new(f));
        }
    }

    /// Sleeps up to `timeout`, waking early when a stop is requested. Returns true if stopping.
    /// Lock waits and poll loops use this instead of `thread::sleep`.
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut inner = self.inner();
        loop {
            if inner.level >= Level::Stopping {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            inner = self
                .0
                .changed
                .wait_timeout(inner, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn stop_then_abort_escalates_and_runs_callbacks_once() {
        let c = Cancel::new();
        let stops = Arc::new(AtomicUsize::new(0));
        let aborts = Arc::new(AtomicUsize::new(0));
        let s = stops.clone();
        c.on_stop(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        let a = aborts.clone();
        c.on_abort(move || {
            a.fetch_add(1, Ordering::SeqCst);
        });
        assert!(!c.is_stopping());
        assert!(c.stop(), "first stop is new");
        assert!(!c.stop(), "second stop tells the caller to escalate");
        assert!(c.is_stopping() && !c.is_aborted());
        c.abort();
        c.abort();
        assert!(c.is_aborted());
        assert_eq!(stops.load(Ordering::SeqCst), 1);
        assert_eq!(aborts.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn abort_alone_runs_stop_callbacks_too() {
        let c = Cancel::new();
        let stops = Arc::new(AtomicUsize::new(0));
        let s = stops.clone();
        c.on_stop(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        c.abort();
        assert_eq!(stops.load(Ordering::SeqCst), 1);
        // Registered after the fact: runs at once.
        let s = stops.clone();
        c.on_stop(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(stops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn wait_wakes_on_stop_from_another_thread() {
        let c = Cancel::new();
        let c2 = c.clone();
        let t = std::thread::spawn(move || c2.wait_timeout(Duration::from_secs(600)));
        // Poll until the waiter is parked is not observable; stopping early is fine either way.
        c.stop();
        assert!(t.join().unwrap(), "the waiter saw the stop");
        assert!(
            !Cancel::new().wait_timeout(Duration::from_millis(1)),
            "times out unstopped"
        );
    }
}
