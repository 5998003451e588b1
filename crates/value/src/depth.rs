//! Bounds on nesting, so that deep user input (a generated configuration, a 10,000-level JSON
//! document, a chain of locals that wrap each other) gets a clean error instead of overflowing
//! the stack.
//!
//! Two rules together: every recursion over user-controlled structure goes through [`guard`],
//! which moves onto a fresh heap-allocated stack segment when the current one runs low (so the
//! thread's stack size does not matter), and no expression or value may nest deeper than
//! [`MAX_DEPTH`], so that the derived `Clone`/`Drop`/`PartialEq` of such structures, which cannot
//! be guarded, stay within [`RED_ZONE`].

use crate::value::Value;

/// The deepest nesting of an expression or a value weir accepts. Terraform has no fixed bound
/// (it fails when Go's stack limit is reached); this is far beyond what configurations use.
pub const MAX_DEPTH: usize = 1000;

/// Stack that must remain before recursing one level further. It covers the deepest unguarded
/// work below a guard point: derived `Clone`/`Drop` of a `MAX_DEPTH`-deep value (well under
/// 1 KiB per level in debug builds) or one level of the evaluator.
pub const RED_ZONE: usize = 1024 * 1024;

/// Size of each stack segment allocated when the red zone is reached.
const SEGMENT: usize = 8 * 1024 * 1024;

/// Guarded calls this deep (per thread) before the stack is checked: shallow recursion, by far
/// the common case, never pays for a check, nor for a new segment when it happens to run on a
/// thread whose stack is already more than half used.
const UNCHECKED: usize = 16;

thread_local! {
    static NESTING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Runs `f`, on a new stack segment if recursion is deep and less than [`RED_ZONE`] of the
/// current stack remains.
#[inline]
pub fn guard<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(usize);
    impl Drop for Restore {
        fn drop(&mut self) {
            NESTING.with(|n| n.set(self.0));
        }
    }
    let depth = NESTING.with(|n| {
        let d = n.get();
        n.set(d + 1);
        d
    });
    let _restore = Restore(depth);
    if depth < UNCHECKED {
        f()
    } else {
        stacker::maybe_grow(RED_ZONE, SEGMENT, f)
    }
}

/// How deeply a value nests (a primitive is 0, `[1]` is 1), without recursion.
pub fn depth(v: &Value) -> usize {
    let mut max = 0;
    let mut stack = vec![(v, 0usize)];
    while let Some((v, d)) = stack.pop() {
        max = max.max(d);
        match v {
            Value::Marked(inner, _) => stack.push((inner, d)),
            Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => {
                stack.extend(es.iter().map(|e| (e, d + 1)))
            }
            Value::Map(_, m) | Value::Object(m) => stack.extend(m.values().map(|e| (e, d + 1))),
            _ => {}
        }
    }
    max
}

/// Whether a value nests deeper than [`MAX_DEPTH`].
pub fn too_deep(v: &Value) -> bool {
    depth(v) > MAX_DEPTH
}

/// The message for input that nests deeper than [`MAX_DEPTH`].
pub fn too_deep_message(what: &str) -> String {
    format!("{what} nests more than {MAX_DEPTH} levels deep, which weir does not support")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_collection_levels() {
        let mut v = Value::number(1);
        assert_eq!(depth(&v), 0);
        for _ in 0..5000 {
            v = Value::Tuple(vec![v]);
        }
        assert_eq!(depth(&v), 5000);
        assert!(too_deep(&v));
        // Taken apart level by level: the derived Drop of 5,000 levels is what MAX_DEPTH avoids.
        while let Value::Tuple(mut es) = v {
            v = es.pop().expect("one element");
        }
    }

    #[test]
    fn guard_survives_recursion_far_beyond_the_thread_stack() {
        fn down(n: usize) -> usize {
            guard(|| if n == 0 { 0 } else { 1 + down(n - 1) })
        }
        // A small thread stack: without the guard this recursion would overflow it.
        let h = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| down(200_000))
            .expect("thread");
        assert_eq!(h.join().expect("no overflow"), 200_000);
    }
}
