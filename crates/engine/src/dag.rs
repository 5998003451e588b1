//! A dependency graph of nodes and a parallel walk over it with a concurrency limit.
//!
//! The walk is the heart of plan and apply: a node starts as soon as everything it depends on
//! has finished, at most `parallelism` at a time. Work is scheduled on a fixed pool of scoped
//! threads; no thread is created per node, so 100,000-node graphs cost no more than their work.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex};

/// A graph over nodes `0..n` where `deps[i]` lists the nodes `i` depends on.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    deps: Vec<Vec<usize>>,
}

impl Graph {
    pub fn new(n: usize) -> Self {
        Graph {
            deps: vec![Vec::new(); n],
        }
    }

    pub fn len(&self) -> usize {
        self.deps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.deps.is_empty()
    }

    /// Adds a node and returns its index.
    pub fn add_node(&mut self) -> usize {
        self.deps.push(Vec::new());
        self.deps.len() - 1
    }

    /// Records that `node` depends on `dep` (so `dep` runs first).
    pub fn add_edge(&mut self, node: usize, dep: usize) {
        if node != dep && !self.deps[node].contains(&dep) {
            self.deps[node].push(dep);
        }
    }

    pub fn deps(&self, node: usize) -> &[usize] {
        &self.deps[node]
    }

    /// The graph with every edge reversed (destroy order is the reverse of create order).
    pub fn reversed(&self) -> Graph {
        let mut g = Graph::new(self.len());
        for (n, ds) in self.deps.iter().enumerate() {
            for &d in ds {
                g.deps[d].push(n);
            }
        }
        g
    }

    /// The nodes of each cycle (strongly connected component with more than one node, or a
    /// self-loop), each in ascending order. Empty when the graph is acyclic.
    pub fn cycles(&self) -> Vec<Vec<usize>> {
        // Iterative Tarjan, so deep graphs don't overflow the stack.
        let n = self.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on_stack = vec![false; n];
        let mut stack = Vec::new();
        let mut next = 0;
        let mut out = Vec::new();
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            let mut call: Vec<(usize, usize)> = vec![(root, 0)];
            index[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            while let Some(&mut (v, ref mut i)) = call.last_mut() {
                if *i < self.deps[v].len() {
                    let w = self.deps[v][*i];
                    *i += 1;
                    if index[w] == usize::MAX {
                        index[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        call.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    call.pop();
                    if let Some(&(parent, _)) = call.last() {
                        low[parent] = low[parent].min(low[v]);
                    }
                    if low[v] == index[v] {
                        let mut comp = Vec::new();
                        loop {
                            let w = stack.pop().expect("tarjan stack");
                            on_stack[w] = false;
                            comp.push(w);
                            if w == v {
                                break;
                            }
                        }
                        if comp.len() > 1 || self.deps[v].contains(&v) {
                            comp.sort_unstable();
                            out.push(comp);
                        }
                    }
                }
            }
        }
        out
    }
}

/// What a node's work reports back to the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// The node failed: nodes that depend on it (directly or not) are skipped.
    Failed,
}

/// How each node ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeResult {
    Done,
    Failed,
    /// Not run because a dependency failed.
    Skipped,
}

#[derive(Debug, thiserror::Error)]
#[error("the graph has a cycle")]
pub struct CycleError(pub Vec<Vec<usize>>);

struct State {
    ready: VecDeque<usize>,
    remaining: Vec<usize>,
    results: Vec<Option<NodeResult>>,
    finished: usize,
    poisoned: Vec<bool>,
}

/// Walks the graph: runs `work(node)` for every node once all its dependencies have finished,
/// at most `parallelism` at once. A failed node's dependants are skipped, as in Terraform.
pub fn walk<F>(graph: &Graph, parallelism: usize, work: F) -> Result<Vec<NodeResult>, CycleError>
where
    F: Fn(usize) -> Outcome + Sync,
{
    let cycles = graph.cycles();
    if !cycles.is_empty() {
        return Err(CycleError(cycles));
    }
    let n = graph.len();
    let mut dependants = vec![Vec::new(); n];
    let mut remaining = vec![0usize; n];
    for (node, ds) in graph.deps.iter().enumerate() {
        remaining[node] = ds.len();
        for &d in ds {
            dependants[d].push(node);
        }
    }
    let ready: VecDeque<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    let state = Mutex::new(State {
        ready,
        remaining,
        results: vec![None; n],
        finished: 0,
        poisoned: vec![false; n],
    });
    let cond = Condvar::new();
    let threads = parallelism.max(1).min(n.max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let (node, skip) = {
                    let mut st = state.lock().expect("walk state");
                    loop {
                        if st.finished == n {
                            return;
                        }
                        if let Some(node) = st.ready.pop_front() {
                            let skip = st.poisoned[node];
                            break (node, skip);
                        }
                        st = cond.wait(st).expect("walk state");
                    }
                };
                let result = if skip {
                    NodeResult::Skipped
                } else {
                    // A panicking node must not leave the other workers waiting for it forever.
                    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(node))) {
                        Ok(Outcome::Done) => NodeResult::Done,
                        Ok(Outcome::Failed) | Err(_) => NodeResult::Failed,
                    }
                };
                let mut st = state.lock().expect("walk state");
                st.results[node] = Some(result);
                st.finished += 1;
                let poison = result != NodeResult::Done;
                for &d in &dependants[node] {
                    if poison {
                        st.poisoned[d] = true;
                    }
                    st.remaining[d] -= 1;
                    if st.remaining[d] == 0 {
                        st.ready.push_back(d);
                    }
                }
                cond.notify_all();
            });
        }
    });
    let st = state.into_inner().expect("walk state");
    Ok(st
        .results
        .into_iter()
        .map(|r| r.expect("every node finished"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn dependencies_finish_before_dependants() {
        // 0 <- 1 <- 2, 0 <- 3
        let mut g = Graph::new(4);
        g.add_edge(1, 0);
        g.add_edge(2, 1);
        g.add_edge(3, 0);
        let order = Mutex::new(Vec::new());
        let res = walk(&g, 4, |n| {
            order.lock().unwrap().push(n);
            Outcome::Done
        })
        .unwrap();
        assert!(res.iter().all(|r| *r == NodeResult::Done));
        let order = order.into_inner().unwrap();
        let pos = |n| order.iter().position(|&x| x == n).unwrap();
        assert!(pos(0) < pos(1) && pos(1) < pos(2) && pos(0) < pos(3));
    }

    #[test]
    fn failure_skips_dependants_only() {
        let mut g = Graph::new(4);
        g.add_edge(1, 0);
        g.add_edge(2, 1);
        let res = walk(&g, 2, |n| {
            if n == 0 {
                Outcome::Failed
            } else {
                Outcome::Done
            }
        })
        .unwrap();
        assert_eq!(
            res,
            vec![
                NodeResult::Failed,
                NodeResult::Skipped,
                NodeResult::Skipped,
                NodeResult::Done
            ]
        );
    }

    #[test]
    fn parallelism_is_respected() {
        let g = Graph::new(64);
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        walk(&g, 3, |_| {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            std::thread::yield_now();
            running.fetch_sub(1, Ordering::SeqCst);
            Outcome::Done
        })
        .unwrap();
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }

    #[test]
    fn cycles_are_reported_not_walked() {
        let mut g = Graph::new(4);
        g.add_edge(0, 1);
        g.add_edge(1, 2);
        g.add_edge(2, 0);
        g.add_edge(3, 0);
        let err = walk(&g, 2, |_| Outcome::Done).unwrap_err();
        assert_eq!(err.0, vec![vec![0, 1, 2]]);
    }

    #[test]
    fn large_chain_does_not_overflow() {
        let n = 200_000;
        let mut g = Graph::new(n);
        for i in 1..n {
            g.add_edge(i, i - 1);
        }
        assert!(g.cycles().is_empty());
        let count = AtomicUsize::new(0);
        walk(&g, 10, |_| {
            count.fetch_add(1, Ordering::Relaxed);
            Outcome::Done
        })
        .unwrap();
        assert_eq!(count.load(Ordering::Relaxed), n);
    }
}
