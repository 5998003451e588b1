//! Arbitrary-precision numbers with cty's semantics (512-bit binary floating point, exact
//! integers, shortest round-trip decimal formatting).
//!
//! TEMPORARY: an f64 representation so that dependants compile; being replaced by the
//! 512-bit implementation.

use std::cmp::Ordering;
use std::fmt;

#[derive(Clone, Debug)]
pub struct Number(f64);

impl Number {
    pub fn from_f64(f: f64) -> Option<Number> {
        f.is_finite().then_some(Number(f))
    }
    /// Parses Terraform number syntax (decimal, optional fraction and exponent).
    pub fn parse(s: &str) -> Option<Number> {
        s.parse::<f64>().ok().and_then(Number::from_f64)
    }
    pub fn to_f64(&self) -> f64 {
        self.0
    }
    /// The value as an i64 if it is an integer within range.
    pub fn to_i64(&self) -> Option<i64> {
        (self.0.fract() == 0.0 && self.0.abs() < 9.2e18).then_some(self.0 as i64)
    }
    pub fn is_integer(&self) -> bool {
        self.0.fract() == 0.0
    }
    pub fn is_zero(&self) -> bool {
        self.0 == 0.0
    }
    pub fn is_negative(&self) -> bool {
        self.0 < 0.0
    }
    pub fn add(&self, o: &Number) -> Number {
        Number(self.0 + o.0)
    }
    pub fn sub(&self, o: &Number) -> Number {
        Number(self.0 - o.0)
    }
    pub fn mul(&self, o: &Number) -> Number {
        Number(self.0 * o.0)
    }
    /// Division; `None` when dividing by zero.
    pub fn div(&self, o: &Number) -> Option<Number> {
        (o.0 != 0.0).then(|| Number(self.0 / o.0))
    }
    /// Modulo with cty's semantics (sign of the dividend); `None` when dividing by zero.
    pub fn rem(&self, o: &Number) -> Option<Number> {
        (o.0 != 0.0).then(|| Number(self.0 % o.0))
    }
    pub fn neg(&self) -> Number {
        Number(-self.0)
    }
    pub fn abs(&self) -> Number {
        Number(self.0.abs())
    }
    pub fn floor(&self) -> Number {
        Number(self.0.floor())
    }
    pub fn ceil(&self) -> Number {
        Number(self.0.ceil())
    }
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number(i as f64)
    }
}
impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number(i as f64)
    }
}
impl From<u64> for Number {
    fn from(i: u64) -> Number {
        Number(i as f64)
    }
}
impl From<usize> for Number {
    fn from(i: usize) -> Number {
        Number(i as f64)
    }
}

impl PartialEq for Number {
    fn eq(&self, o: &Number) -> bool {
        self.0 == o.0
    }
}
impl Eq for Number {}
impl PartialOrd for Number {
    fn partial_cmp(&self, o: &Number) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Number {
    fn cmp(&self, o: &Number) -> Ordering {
        self.0.total_cmp(&o.0)
    }
}
impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.to_string().hash(state)
    }
}

/// Formats as cty does: shortest decimal that round-trips, never in exponent form.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
