//! Smooth weighted round-robin (nginx's algorithm) over versions.
//!
//! Deterministic rather than random so that a canary at weight 5 gets exactly 5 of every 100
//! requests, spread out (not 5 in a row): the analysis sees the canary's share from the first
//! seconds, and tests can hold the split to a tight tolerance. Weights are passed on each pick,
//! so a version that loses its last healthy target (weight 0) gives its share to the others in
//! proportion to theirs, and gets it back the moment it recovers.

/// The running state of one service's selection.
#[derive(Debug, Default)]
pub struct Swrr {
    current: Vec<i64>,
}

impl Swrr {
    pub fn new(n: usize) -> Self {
        Swrr {
            current: vec![0; n],
        }
    }

    /// The index of the next version, or `None` when every weight is zero.
    pub fn pick(&mut self, weights: &[u32]) -> Option<usize> {
        if self.current.len() != weights.len() {
            self.current = vec![0; weights.len()];
        }
        let total: i64 = weights.iter().map(|&w| i64::from(w)).sum();
        if total == 0 {
            return None;
        }
        let mut best = None;
        let mut best_value = i64::MIN;
        for (i, &w) in weights.iter().enumerate() {
            if w == 0 {
                // A version out of rotation must not come back with a large credit.
                self.current[i] = 0;
                continue;
            }
            self.current[i] += i64::from(w);
            if self.current[i] > best_value {
                best_value = self.current[i];
                best = Some(i);
            }
        }
        let b = best?;
        self.current[b] -= total;
        Some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(weights: &[u32], n: usize) -> Vec<usize> {
        let mut s = Swrr::new(weights.len());
        let mut c = vec![0; weights.len()];
        for _ in 0..n {
            c[s.pick(weights).unwrap()] += 1;
        }
        c
    }

    #[test]
    fn every_hundred_requests_follow_the_weights_exactly() {
        assert_eq!(counts(&[95, 5], 100), [95, 5]);
        assert_eq!(counts(&[50, 30, 20], 100), [50, 30, 20]);
        assert_eq!(counts(&[99, 1], 1000), [990, 10]);
        assert_eq!(counts(&[100, 0], 100), [100, 0]);
    }

    #[test]
    fn a_small_share_is_spread_not_bunched() {
        let mut s = Swrr::new(2);
        let picks: Vec<usize> = (0..100).map(|_| s.pick(&[90, 10]).unwrap()).collect();
        let canary: Vec<usize> = picks
            .iter()
            .enumerate()
            .filter(|(_, &p)| p == 1)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(canary.len(), 10);
        assert!(canary.windows(2).all(|w| w[1] - w[0] == 10), "{canary:?}");
    }

    #[test]
    fn zero_weights_redistribute_and_recover() {
        let mut s = Swrr::new(3);
        let mut c = [0; 3];
        for _ in 0..100 {
            c[s.pick(&[60, 0, 40]).unwrap()] += 1;
        }
        assert_eq!(c, [60, 0, 40]);
        let mut c = [0; 3];
        for _ in 0..100 {
            c[s.pick(&[60, 20, 20]).unwrap()] += 1;
        }
        assert_eq!(c, [60, 20, 20]);
        assert_eq!(s.pick(&[0, 0, 0]), None);
    }
}
