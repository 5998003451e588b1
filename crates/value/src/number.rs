//! Terraform numbers: binary floating point with a per-value mantissa precision, rounded to
//! nearest-even, exactly as cty's Go `big.Float` values behave (parse, arithmetic, shortest
//! round-trip decimal formatting, equality).
//!
//! Why per-value precision: cty parses literals at 512 bits, but `length(x)` yields a 64-bit
//! integer and float64 functions (`pow`, `log`) yield 53-bit values. An operation rounds to the
//! larger precision of its operands, and formatting prints the shortest decimal that identifies
//! the value *at its own precision*. So `length([1])/length([1,2,3])` prints 20 digits while
//! `1/3` prints 155, and `pow(2,60)` prints `1152921504606847000`. Tracking precision is the only
//! way to reproduce those outputs.
//!
//! Small integers (the overwhelmingly common case) are kept as an `i64` and never touch the
//! big-number code.

use num_bigint::{BigInt, BigUint, Sign};
use num_integer::Integer;
use num_traits::{One, ToPrimitive, Zero};
use std::cmp::Ordering;
use std::fmt;

/// The precision cty uses when parsing numbers from text (`cty.ParseNumberVal`).
pub const PARSE_PREC: u32 = 512;
/// The precision of numbers made from Go integers (`cty.NumberIntVal`).
pub const INT_PREC: u32 = 64;
/// The precision of numbers made from float64 (`cty.NumberFloatVal`).
pub const FLOAT_PREC: u32 = 53;

/// Go's big.Float exponent range (int32); results beyond it become infinite or zero.
const MAX_EXP: i64 = i32::MAX as i64;
const MIN_EXP: i64 = i32::MIN as i64;

#[derive(Clone)]
pub struct Number(Repr);

#[derive(Clone)]
enum Repr {
    /// An integer whose magnitude has at most `prec` bits (so it prints exactly). +0 is `Small(0)`.
    Small(i64, u32),
    Big(Box<Big>),
}

#[derive(Clone, Debug)]
struct Big {
    neg: bool,
    prec: u32,
    form: Form,
}

#[derive(Clone, Debug)]
enum Form {
    Zero,
    Inf,
    /// `mant * 2^exp`, `mant` odd and at most `prec` bits long.
    Finite {
        mant: BigUint,
        exp: i64,
    },
}

/// An exact signed binary value used as an intermediate (not normalised).
struct Parts {
    neg: bool,
    mant: BigUint,
    exp: i64,
}

impl Parts {
    fn is_zero(&self) -> bool {
        self.mant.is_zero()
    }
    /// Position of the most significant bit plus one (Go's exponent), for non-zero values.
    fn top(&self) -> i64 {
        self.mant.bits() as i64 + self.exp
    }
}

fn bitlen_u64(v: u64) -> u32 {
    64 - v.leading_zeros()
}

impl Number {
    fn small(v: i64, prec: u32) -> Number {
        Number(Repr::Small(v, prec))
    }

    fn big(neg: bool, prec: u32, form: Form) -> Number {
        Number(Repr::Big(Box::new(Big { neg, prec, form })))
    }

    /// Zero (positive) with the parse precision.
    pub fn zero() -> Number {
        Number::small(0, PARSE_PREC)
    }

    /// Positive or negative infinity (cty.PositiveInfinity / NegativeInfinity).
    pub fn infinity(negative: bool) -> Number {
        Number::big(negative, INT_PREC, Form::Inf)
    }

    /// Rounds the exact value `(-1)^neg * mant * 2^exp` (plus a sticky "something below" bit) to
    /// `prec` bits, nearest-even, and normalises the result.
    fn round_parts(neg: bool, mut mant: BigUint, mut exp: i64, prec: u32, sticky: bool) -> Number {
        if mant.is_zero() {
            return if neg {
                Number::big(true, prec, Form::Zero)
            } else {
                Number::small(0, prec)
            };
        }
        let bits = mant.bits();
        if bits > u64::from(prec) {
            let shift = bits - u64::from(prec);
            let half_bit = mant.bit(shift - 1);
            let below = sticky || mant.trailing_zeros().is_some_and(|tz| tz < shift - 1);
            mant >>= shift;
            exp += shift as i64;
            if half_bit && (below || mant.bit(0)) {
                mant += 1u32;
            }
        }
        let tz = mant.trailing_zeros().unwrap_or(0);
        if tz > 0 {
            mant >>= tz;
            exp += tz as i64;
        }
        let top = mant.bits() as i64 + exp;
        if top > MAX_EXP {
            return Number::big(neg, prec, Form::Inf);
        }
        if top < MIN_EXP {
            return if neg {
                Number::big(true, prec, Form::Zero)
            } else {
                Number::small(0, prec)
            };
        }
        Number::from_finite(neg, mant, exp, prec)
    }

    /// Builds a normalised finite non-zero number from an odd mantissa that fits `prec` bits.
    fn from_finite(neg: bool, mant: BigUint, exp: i64, prec: u32) -> Number {
        if (0..63).contains(&exp) {
            let total = mant.bits() + exp as u64;
            if total <= 63 && total <= u64::from(prec) {
                if let Some(m) = mant.to_u64() {
                    let v = (m << exp) as i64;
                    return Number::small(if neg { -v } else { v }, prec);
                }
            }
        }
        Number::big(neg, prec, Form::Finite { mant, exp })
    }

    /// Makes a number from an i64 at the given precision, rounding if it does not fit.
    fn from_i64_prec(v: i64, prec: u32) -> Number {
        let mag = v.unsigned_abs();
        if bitlen_u64(mag) <= prec && v != i64::MIN {
            Number::small(v, prec)
        } else {
            Number::round_parts(v < 0, BigUint::from(mag), 0, prec, false)
        }
    }

    /// The exact value; `None` for infinities.
    fn parts(&self) -> Option<Parts> {
        match &self.0 {
            Repr::Small(v, _) => Some(Parts {
                neg: *v < 0,
                mant: BigUint::from(v.unsigned_abs()),
                exp: 0,
            }),
            Repr::Big(b) => match &b.form {
                Form::Zero => Some(Parts {
                    neg: b.neg,
                    mant: BigUint::zero(),
                    exp: 0,
                }),
                Form::Inf => None,
                Form::Finite { mant, exp } => Some(Parts {
                    neg: b.neg,
                    mant: mant.clone(),
                    exp: *exp,
                }),
            },
        }
    }

    /// The mantissa precision in bits (512 for parsed numbers, 64 for Go integers, 53 for
    /// float64 results).
    pub fn prec(&self) -> u32 {
        match &self.0 {
            Repr::Small(_, p) => *p,
            Repr::Big(b) => b.prec,
        }
    }

    /// The same value at another precision (rounded nearest-even if it has to shrink), as
    /// `new(big.Float).SetPrec(prec).Set(x)`.
    pub fn with_prec(&self, prec: u32) -> Number {
        let prec = prec.max(1);
        match self.parts() {
            None => Number::infinity(self.is_negative()).with_inf_prec(prec),
            Some(p) => Number::round_parts(p.neg, p.mant, p.exp, prec, false),
        }
    }

    fn with_inf_prec(self, prec: u32) -> Number {
        match self.0 {
            Repr::Big(mut b) => {
                b.prec = prec;
                Number(Repr::Big(b))
            }
            r => Number(r),
        }
    }

    /// Makes a number from a float64 exactly, at precision 53 (cty.NumberFloatVal). Infinities
    /// are allowed (cty has them); `None` for NaN.
    pub fn from_f64(f: f64) -> Option<Number> {
        if f.is_nan() {
            return None;
        }
        if f.is_infinite() {
            return Some(Number::big(f < 0.0, FLOAT_PREC, Form::Inf));
        }
        if f == 0.0 {
            return Some(if f.is_sign_negative() {
                Number::big(true, FLOAT_PREC, Form::Zero)
            } else {
                Number::small(0, FLOAT_PREC)
            });
        }
        if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
            return Some(Number::small(f as i64, FLOAT_PREC));
        }
        let bits = f.to_bits();
        let neg = bits >> 63 == 1;
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (mant, exp) = if biased == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), biased - 1075)
        };
        Some(Number::round_parts(
            neg,
            BigUint::from(mant),
            exp,
            FLOAT_PREC,
            false,
        ))
    }

    /// Makes a number from an arbitrary integer, with Go's `SetInt` precision (at least 64 bits,
    /// more if the integer needs it), so the value is exact.
    pub fn from_bigint(i: &BigInt) -> Number {
        let prec = (i.bits() as u32).max(INT_PREC);
        if let Some(v) = i.to_i64() {
            return Number::from_i64_prec(v, prec);
        }
        let (sign, mag) = i.clone().into_parts();
        Number::round_parts(sign == Sign::Minus, mag, 0, prec, false)
    }

    /// Parses like Go's `big.ParseFloat(s, 10, 512, ToNearestEven)` (cty.ParseNumberVal):
    /// optional sign, decimal digits with an optional point, optional `e`/`E` (decimal) or
    /// `p`/`P` (binary) exponent, or `Inf`/`inf`. No whitespace, no underscores.
    pub fn parse(s: &str) -> Option<Number> {
        Number::parse_prec(s, PARSE_PREC)
    }

    /// [`Number::parse`] at a chosen precision.
    pub fn parse_prec(s: &str, prec: u32) -> Option<Number> {
        let prec = prec.max(1);
        // Fast path: plain short integers.
        let b = s.as_bytes();
        let digits = b.strip_prefix(b"-").unwrap_or(b);
        if !digits.is_empty() && digits.len() <= 18 && digits.iter().all(u8::is_ascii_digit) {
            let v: i64 = s.parse().ok()?;
            if v == 0 && b[0] == b'-' {
                return Some(Number::big(true, prec, Form::Zero));
            }
            return Some(Number::from_i64_prec(v, prec));
        }
        match s {
            "Inf" | "inf" | "+Inf" | "+inf" => return Some(Number::big(false, prec, Form::Inf)),
            "-Inf" | "-inf" => return Some(Number::big(true, prec, Form::Inf)),
            _ => {}
        }
        let mut rest = b;
        let mut neg = false;
        if let Some((&c, r)) = rest.split_first() {
            if c == b'+' || c == b'-' {
                neg = c == b'-';
                rest = r;
            }
        }
        // Mantissa: digits with at most one point, at least one digit.
        let mut mant_digits = String::new();
        let mut frac_count: i64 = 0;
        let mut seen_point = false;
        let mut i = 0;
        while i < rest.len() {
            let c = rest[i];
            if c.is_ascii_digit() {
                mant_digits.push(c as char);
                if seen_point {
                    frac_count += 1;
                }
            } else if c == b'.' && !seen_point {
                seen_point = true;
            } else {
                break;
            }
            i += 1;
        }
        if mant_digits.is_empty() {
            return None;
        }
        rest = &rest[i..];
        // Exponent.
        let mut exp10: i64 = 0;
        let mut exp2: i64 = 0;
        if let Some((&c, r)) = rest.split_first() {
            let is_bin = match c {
                b'e' | b'E' => false,
                b'p' | b'P' => true,
                _ => return None,
            };
            let mut r = r;
            let mut eneg = false;
            if let Some((&sc, rr)) = r.split_first() {
                if sc == b'+' || sc == b'-' {
                    eneg = sc == b'-';
                    r = rr;
                }
            }
            if r.is_empty() || !r.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let text = std::str::from_utf8(r).ok()?;
            let mut e: i64 = text.parse().ok()?;
            if eneg {
                e = -e;
            }
            if is_bin {
                exp2 = e;
            } else {
                exp10 = e;
            }
        }
        let mant: BigUint = mant_digits.parse().ok()?;
        if mant.is_zero() {
            return Some(if neg {
                Number::big(true, prec, Form::Zero)
            } else {
                Number::small(0, prec)
            });
        }
        // Go's decomposition: 10^k = 5^k * 2^k; the binary exponent must stay within int32.
        let exp5 = exp10.checked_sub(frac_count)?;
        let total2 = exp2.checked_add(exp5)?;
        let go_exp = (mant.bits() as i64).checked_add(total2)?;
        if !(MIN_EXP..=MAX_EXP).contains(&go_exp) {
            return None;
        }
        if exp5 == 0 {
            return Some(Number::round_parts(neg, mant, total2, prec, false));
        }
        // Go multiplies or divides by 5^|exp5| computed at prec+64 bits (itself rounded).
        let Some((p_mant, p_exp)) = go_pow5(exp5.unsigned_abs(), prec + 64) else {
            return Some(if exp5 > 0 {
                Number::big(neg, prec, Form::Inf)
            } else {
                Number::round_parts(neg, BigUint::zero(), 0, prec, false)
            });
        };
        Some(if exp5 > 0 {
            Number::round_parts(neg, mant * p_mant, total2 + p_exp, prec, false)
        } else {
            quo_parts(neg, &mant, total2, &p_mant, p_exp, prec)
        })
    }

    /// The nearest float64 (ties to even); infinities for out-of-range values, as Go's
    /// `Float64()`.
    pub fn to_f64(&self) -> f64 {
        match &self.0 {
            Repr::Small(v, _) => *v as f64,
            Repr::Big(b) => {
                let sign = if b.neg { -1.0 } else { 1.0 };
                match &b.form {
                    Form::Zero => sign * 0.0,
                    Form::Inf => sign * f64::INFINITY,
                    Form::Finite { mant, exp } => {
                        let top = mant.bits() as i64 + *exp;
                        if top > 1024 {
                            return sign * f64::INFINITY;
                        }
                        // Subnormals have fewer mantissa bits available.
                        let bits = if top < -1021 { (top + 1074).max(0) } else { 53 };
                        if bits == 0 {
                            // Below half the smallest subnormal, or exactly at/above it.
                            let half = top == -1074 && mant.bits() > 1 || top > -1074;
                            return sign * if half { 5e-324 } else { 0.0 };
                        }
                        let r = Number::round_parts(false, mant.clone(), *exp, bits as u32, false);
                        let (m, e) = match r.parts() {
                            Some(p) => (p.mant, p.exp),
                            None => return sign * f64::INFINITY,
                        };
                        let m = m.to_u64().unwrap_or(0) as f64;
                        sign * ldexp(m, e)
                    }
                }
            }
        }
    }

    /// The value as an i64 if it is an integer within range.
    pub fn to_i64(&self) -> Option<i64> {
        match &self.0 {
            Repr::Small(v, _) => Some(*v),
            Repr::Big(_) => self.to_bigint()?.to_i64(),
        }
    }

    /// The value as an exact integer, if it is one.
    pub fn to_bigint(&self) -> Option<BigInt> {
        if !self.is_integer() {
            return None;
        }
        let p = self.parts()?;
        let mag = p.mant << (p.exp.max(0) as usize);
        Some(BigInt::from_biguint(
            if p.neg { Sign::Minus } else { Sign::Plus },
            mag,
        ))
    }

    /// The integer part, truncated toward zero (Go's `Int`); `None` for infinities.
    pub fn trunc_bigint(&self) -> Option<BigInt> {
        let p = self.parts()?;
        let mag = if p.exp >= 0 {
            p.mant << (p.exp as usize)
        } else {
            p.mant >> ((-p.exp) as usize)
        };
        Some(BigInt::from_biguint(
            if p.neg { Sign::Minus } else { Sign::Plus },
            mag,
        ))
    }

    /// Whether the value is a finite integer (zero included).
    pub fn is_integer(&self) -> bool {
        match &self.0 {
            Repr::Small(..) => true,
            Repr::Big(b) => match &b.form {
                Form::Zero => true,
                Form::Inf => false,
                Form::Finite { exp, .. } => *exp >= 0,
            },
        }
    }
    pub fn is_zero(&self) -> bool {
        match &self.0 {
            Repr::Small(v, _) => *v == 0,
            Repr::Big(b) => matches!(b.form, Form::Zero),
        }
    }
    /// Whether the sign is negative (true for -0 and -Inf).
    pub fn is_negative(&self) -> bool {
        match &self.0 {
            Repr::Small(v, _) => *v < 0,
            Repr::Big(b) => b.neg,
        }
    }
    pub fn is_infinite(&self) -> bool {
        matches!(&self.0, Repr::Big(b) if matches!(b.form, Form::Inf))
    }
    pub fn is_finite(&self) -> bool {
        !self.is_infinite()
    }
    /// -1, 0 or 1 (zero for both zeros), as Go's `Sign`.
    pub fn signum(&self) -> i32 {
        if self.is_zero() {
            0
        } else if self.is_negative() {
            -1
        } else {
            1
        }
    }

    fn max_prec(&self, o: &Number) -> u32 {
        self.prec().max(o.prec())
    }

    /// Addition; `None` for `+Inf + -Inf` (Go's ErrNaN).
    pub fn checked_add(&self, o: &Number) -> Option<Number> {
        self.add_signed(o, false)
    }
    /// Subtraction; `None` for `Inf - Inf` of the same sign.
    pub fn checked_sub(&self, o: &Number) -> Option<Number> {
        self.add_signed(o, true)
    }

    fn add_signed(&self, o: &Number, negate_o: bool) -> Option<Number> {
        let prec = self.max_prec(o);
        if let (Repr::Small(a, _), Repr::Small(b, _)) = (&self.0, &o.0) {
            let r = if negate_o {
                a.checked_sub(*b)
            } else {
                a.checked_add(*b)
            };
            if let Some(r) = r {
                if bitlen_u64(r.unsigned_abs()) <= prec {
                    return Some(Number::small(r, prec));
                }
            }
        }
        let oneg = o.is_negative() != negate_o;
        match (self.is_infinite(), o.is_infinite()) {
            (true, true) => {
                return (self.is_negative() == oneg).then(|| Number::big(oneg, prec, Form::Inf));
            }
            (true, false) => return Some(Number::big(self.is_negative(), prec, Form::Inf)),
            (false, true) => return Some(Number::big(oneg, prec, Form::Inf)),
            _ => {}
        }
        let a = self.parts()?;
        let mut b = o.parts()?;
        b.neg = oneg;
        if a.is_zero() && b.is_zero() {
            // Go: the sum of two zeros is negative only when both are.
            let neg = a.neg && b.neg;
            return Some(Number::round_parts(neg, BigUint::zero(), 0, prec, false));
        }
        if a.is_zero() {
            return Some(Number::round_parts(b.neg, b.mant, b.exp, prec, false));
        }
        if b.is_zero() {
            return Some(Number::round_parts(a.neg, a.mant, a.exp, prec, false));
        }
        // Keep the alignment shift bounded: an operand far below the other's rounding point
        // only matters as a sticky bit, so it is replaced by a tiny stand-in of the same sign.
        let (big_one, mut small_one) = if a.top() >= b.top() { (a, b) } else { (b, a) };
        let lsb = big_one.exp + big_one.mant.trailing_zeros().unwrap_or(0) as i64;
        let lim = lsb.min(big_one.top() - i64::from(prec)) - 2;
        if small_one.top() < lim {
            small_one.mant = BigUint::one();
            small_one.exp = lim - 1;
        }
        let e = big_one.exp.min(small_one.exp);
        let to_int = |p: &Parts| {
            let m = BigInt::from_biguint(Sign::Plus, p.mant.clone() << ((p.exp - e) as usize));
            if p.neg {
                -m
            } else {
                m
            }
        };
        let sum = to_int(&big_one) + to_int(&small_one);
        let (sign, mag) = sum.into_parts();
        // An exact zero sum is +0 under nearest-even rounding.
        Some(Number::round_parts(
            sign == Sign::Minus,
            mag,
            e,
            prec,
            false,
        ))
    }

    /// Multiplication; `None` for `0 * Inf`.
    pub fn checked_mul(&self, o: &Number) -> Option<Number> {
        let prec = self.max_prec(o);
        if let (Repr::Small(a, _), Repr::Small(b, _)) = (&self.0, &o.0) {
            if let Some(r) = a.checked_mul(*b) {
                if r != 0 && bitlen_u64(r.unsigned_abs()) <= prec {
                    return Some(Number::small(r, prec));
                }
            }
        }
        let neg = self.is_negative() != o.is_negative();
        if self.is_infinite() || o.is_infinite() {
            if self.is_zero() || o.is_zero() {
                return None;
            }
            return Some(Number::big(neg, prec, Form::Inf));
        }
        let a = self.parts()?;
        let b = o.parts()?;
        Some(Number::round_parts(
            neg,
            a.mant * b.mant,
            a.exp + b.exp,
            prec,
            false,
        ))
    }

    /// Division as cty does it: `x/0` is an infinity; `None` only for `0/0` and `Inf/Inf`
    /// (Go's ErrNaN, which Terraform reports as an error).
    pub fn div(&self, o: &Number) -> Option<Number> {
        let prec = self.max_prec(o);
        if let (Repr::Small(a, _), Repr::Small(b, _)) = (&self.0, &o.0) {
            if *b != 0 && *a != 0 && a % b == 0 {
                if let Some(q) = a.checked_div(*b) {
                    return Some(Number::small(q, prec));
                }
            }
        }
        let neg = self.is_negative() != o.is_negative();
        match (self.is_infinite(), o.is_infinite()) {
            (true, true) => return None,
            (true, false) => return Some(Number::big(neg, prec, Form::Inf)),
            (false, true) => {
                return Some(Number::round_parts(neg, BigUint::zero(), 0, prec, false))
            }
            _ => {}
        }
        match (self.is_zero(), o.is_zero()) {
            (true, true) => return None,
            (false, true) => return Some(Number::big(neg, prec, Form::Inf)),
            (true, false) => {
                return Some(Number::round_parts(neg, BigUint::zero(), 0, prec, false))
            }
            _ => {}
        }
        let a = self.parts()?;
        let b = o.parts()?;
        Some(quo_parts(neg, &a.mant, a.exp, &b.mant, b.exp, prec))
    }

    /// Modulo exactly as cty's `Value.Modulo`: `x - trunc(x/y)*y` computed at `x`'s precision
    /// (so the sign follows the dividend), `x % 0` is `x`, and an infinite operand gives
    /// `x * y`. `None` where Go would fail (`0 * Inf`).
    pub fn rem(&self, o: &Number) -> Option<Number> {
        if let (Repr::Small(a, pa), Repr::Small(b, pb)) = (&self.0, &o.0) {
            if *b == 0 {
                return Some(self.clone());
            }
            // With at least 64 bits the rounded quotient truncates to the exact one, so the
            // integer remainder is what Go computes (an exact zero comes out positive).
            if (*pa).max(*pb) >= 64 {
                if let Some(r) = a.checked_rem(*b) {
                    return Some(Number::small(r, *pa));
                }
            }
        }
        if self.is_infinite() || o.is_infinite() {
            return self.checked_mul(o);
        }
        if o.is_zero() {
            return Some(self.clone());
        }
        let rat = self.div(o)?;
        let int = rat.trunc_bigint()?;
        // Go computes `work` and the final difference into floats of x's precision.
        let prec = self.prec();
        let work = Number::from_bigint(&int).with_prec(prec);
        let prod = mul_at(o, &work, prec)?;
        self.checked_sub(&prod)
    }

    /// `add` without the NaN case; `Inf + -Inf` yields zero (use [`Number::checked_add`] to
    /// detect it).
    pub fn add(&self, o: &Number) -> Number {
        self.checked_add(o).unwrap_or_else(Number::zero)
    }
    /// See [`Number::add`] about the NaN case.
    pub fn sub(&self, o: &Number) -> Number {
        self.checked_sub(o).unwrap_or_else(Number::zero)
    }
    /// See [`Number::add`] about the NaN case (`0 * Inf`).
    pub fn mul(&self, o: &Number) -> Number {
        self.checked_mul(o).unwrap_or_else(Number::zero)
    }
    pub fn neg(&self) -> Number {
        match &self.0 {
            Repr::Small(0, p) => Number::big(true, *p, Form::Zero),
            Repr::Small(v, p) if *v != i64::MIN => Number::small(-v, *p),
            _ => {
                let mut b = self.to_big();
                b.neg = !b.neg;
                Number::renormalise(b)
            }
        }
    }
    pub fn abs(&self) -> Number {
        match &self.0 {
            Repr::Small(v, p) if *v != i64::MIN => Number::small(v.abs(), *p),
            _ => {
                let mut b = self.to_big();
                b.neg = false;
                Number::renormalise(b)
            }
        }
    }
    /// The largest integer not above the value (infinities unchanged), at the same precision.
    pub fn floor(&self) -> Number {
        self.round_integral(false)
    }
    /// The smallest integer not below the value (infinities unchanged), at the same precision.
    pub fn ceil(&self) -> Number {
        self.round_integral(true)
    }

    fn round_integral(&self, up: bool) -> Number {
        if self.is_integer() && !self.is_zero() || self.is_infinite() {
            return self.clone();
        }
        let Some(mut i) = self.trunc_bigint() else {
            return self.clone();
        };
        if !self.is_integer() {
            if up && !self.is_negative() {
                i += 1;
            } else if !up && self.is_negative() {
                i -= 1;
            }
        }
        // Go's SetInt keeps the receiver's precision; zero comes out positive.
        Number::from_bigint(&i).with_prec(self.prec())
    }

    fn to_big(&self) -> Big {
        match &self.0 {
            Repr::Small(v, p) => {
                if *v == 0 {
                    Big {
                        neg: false,
                        prec: *p,
                        form: Form::Zero,
                    }
                } else {
                    let mag = v.unsigned_abs();
                    let tz = mag.trailing_zeros();
                    Big {
                        neg: *v < 0,
                        prec: *p,
                        form: Form::Finite {
                            mant: BigUint::from(mag >> tz),
                            exp: i64::from(tz),
                        },
                    }
                }
            }
            Repr::Big(b) => (**b).clone(),
        }
    }

    fn renormalise(b: Big) -> Number {
        match b.form {
            Form::Finite { mant, exp } => Number::from_finite(b.neg, mant, exp, b.prec),
            Form::Zero if !b.neg => Number::small(0, b.prec),
            form => Number::big(b.neg, b.prec, form),
        }
    }

    /// Compares numerically (-0 equals +0), as Go's `Cmp`.
    pub fn cmp_value(&self, o: &Number) -> Ordering {
        if let (Repr::Small(a, _), Repr::Small(b, _)) = (&self.0, &o.0) {
            return a.cmp(b);
        }
        let class = |n: &Number| -> i8 {
            if n.is_infinite() {
                if n.is_negative() {
                    -2
                } else {
                    2
                }
            } else {
                n.signum() as i8
            }
        };
        let (ca, cb) = (class(self), class(o));
        if ca != cb || ca == 0 || ca.abs() == 2 {
            return ca.cmp(&cb);
        }
        // Same sign, both finite non-zero.
        let (Some(a), Some(b)) = (self.parts(), o.parts()) else {
            return Ordering::Equal;
        };
        let mag = match a.top().cmp(&b.top()) {
            Ordering::Equal => {
                let e = a.exp.min(b.exp);
                let ma = a.mant << ((a.exp - e) as usize);
                let mb = b.mant << ((b.exp - e) as usize);
                ma.cmp(&mb)
            }
            ord => ord,
        };
        if ca < 0 {
            mag.reverse()
        } else {
            mag
        }
    }

    /// The canonical text (Go's `Text('f', -1)`); the same as `Display`.
    pub fn to_text(&self) -> String {
        self.to_string()
    }
}

/// `round(x * y)` at `prec` (Go's `z.Mul` into a float of fixed precision).
fn mul_at(x: &Number, y: &Number, prec: u32) -> Option<Number> {
    let (a, b) = (x.parts()?, y.parts()?);
    Some(Number::round_parts(
        a.neg != b.neg,
        a.mant * b.mant,
        a.exp + b.exp,
        prec,
        false,
    ))
}

/// Correctly rounded `(a * 2^ea) / (b * 2^eb)` at `prec` bits.
fn quo_parts(neg: bool, a: &BigUint, ea: i64, b: &BigUint, eb: i64, prec: u32) -> Number {
    let want = u64::from(prec) + 2 + b.bits();
    let shift = want.saturating_sub(a.bits());
    let num = a << (shift as usize);
    let (q, r) = num.div_rem(b);
    Number::round_parts(neg, q, ea - eb - shift as i64, prec, !r.is_zero())
}

/// 5^n as Go's `Float.pow5` computes it into a float of precision `prec`: exact up to 5^27,
/// then repeated squaring with intermediate rounding (the factor at `prec + 64` bits).
/// `None` when Go's exponent range overflows (the result is then infinite).
fn go_pow5(n: u64, prec: u32) -> Option<(BigUint, i64)> {
    const POW5_27: u64 = 7_450_580_596_923_828_125;
    if n <= 27 {
        return Some((BigUint::from(5u64.pow(n as u32)), 0));
    }
    let parts = |x: &Number| -> Option<(BigUint, i64)> { x.parts().map(|p| (p.mant, p.exp)) };
    let mut z = Number::round_parts(false, BigUint::from(POW5_27), 0, prec, false);
    let mut f = Number::round_parts(false, BigUint::from(5u32), 0, prec + 64, false);
    let mut n = n - 27;
    while n > 0 {
        if n & 1 != 0 {
            let (zm, ze) = parts(&z)?;
            let (fm, fe) = parts(&f)?;
            z = Number::round_parts(false, zm * fm, ze + fe, prec, false);
        }
        n >>= 1;
        if n > 0 {
            let (fm, fe) = parts(&f)?;
            f = Number::round_parts(false, &fm * &fm, 2 * fe, prec + 64, false);
        }
    }
    parts(&z)
}

fn ldexp(m: f64, e: i64) -> f64 {
    // Split the scaling so that intermediate powers of two stay representable.
    let mut r = m;
    let mut e = e;
    while e > 0 {
        let step = e.min(1000);
        r *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        r /= 2f64.powi(step as i32);
        e += step;
    }
    r
}

impl From<i64> for Number {
    fn from(i: i64) -> Number {
        Number::from_i64_prec(i, INT_PREC)
    }
}
impl From<i32> for Number {
    fn from(i: i32) -> Number {
        Number::small(i64::from(i), INT_PREC)
    }
}
impl From<u32> for Number {
    fn from(i: u32) -> Number {
        Number::small(i64::from(i), INT_PREC)
    }
}
impl From<u64> for Number {
    fn from(i: u64) -> Number {
        match i64::try_from(i) {
            Ok(v) => Number::small(v, INT_PREC),
            Err(_) => Number::round_parts(false, BigUint::from(i), 0, INT_PREC, false),
        }
    }
}
impl From<usize> for Number {
    fn from(i: usize) -> Number {
        Number::from(i as u64)
    }
}

/// Equality as cty's `rawNumberEqual`: integers compare exactly; non-integers are equal when
/// their shortest decimal forms are (so `0.1` parsed and `0.1` from a float64 are equal); a
/// non-integer never equals an integer; -0 equals +0.
impl PartialEq for Number {
    fn eq(&self, o: &Number) -> bool {
        if let (Repr::Small(a, _), Repr::Small(b, _)) = (&self.0, &o.0) {
            return a == b;
        }
        if self.signum() != o.signum() {
            return false;
        }
        match (self.is_integer(), o.is_integer()) {
            (true, true) => self.cmp_value(o) == Ordering::Equal,
            (false, false) => self.to_string() == o.to_string(),
            _ => false,
        }
    }
}
impl Eq for Number {}

impl PartialOrd for Number {
    fn partial_cmp(&self, o: &Number) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
/// Numeric order, except that numbers cty considers equal compare `Equal`.
impl Ord for Number {
    fn cmp(&self, o: &Number) -> Ordering {
        if let (Repr::Small(a, _), Repr::Small(b, _)) = (&self.0, &o.0) {
            return a.cmp(b);
        }
        if self == o {
            Ordering::Equal
        } else {
            self.cmp_value(o)
        }
    }
}
impl std::hash::Hash for Number {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match &self.0 {
            Repr::Small(v, _) => v.hash(state),
            Repr::Big(_) if self.is_zero() => 0i64.hash(state),
            Repr::Big(_) if self.is_integer() => match self.to_i64() {
                Some(v) => v.hash(state),
                None => self.to_bigint().hash(state),
            },
            Repr::Big(_) => self.to_string().hash(state),
        }
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({}@{})", self, self.prec())
    }
}

/// A decimal `0.mant × 10^exp` with no leading or trailing zeros in `mant` (Go's `decimal`).
struct Decimal {
    mant: Vec<u8>,
    exp: i64,
}

impl Decimal {
    /// The exact decimal form of `m * 2^shift`.
    fn new(m: &BigUint, shift: i64) -> Decimal {
        if m.is_zero() {
            return Decimal {
                mant: Vec::new(),
                exp: 0,
            };
        }
        let (digits, point_shift) = if shift >= 0 {
            ((m << (shift as usize)).to_str_radix(10), 0)
        } else {
            let k = (-shift) as u32;
            (
                (m * BigUint::from(5u32).pow(k)).to_str_radix(10),
                i64::from(k),
            )
        };
        let mut mant = digits.into_bytes();
        let exp = mant.len() as i64 - point_shift;
        while mant.last() == Some(&b'0') {
            mant.pop();
        }
        Decimal { mant, exp }
    }

    fn at(&self, i: usize) -> u8 {
        self.mant.get(i).copied().unwrap_or(b'0')
    }

    fn trim(&mut self) {
        while self.mant.last() == Some(&b'0') {
            self.mant.pop();
        }
        if self.mant.is_empty() {
            self.exp = 0;
        }
    }

    fn should_round_up(&self, n: usize) -> bool {
        if self.mant[n] == b'5' && n + 1 == self.mant.len() {
            return n > 0 && (self.mant[n - 1] - b'0') & 1 != 0;
        }
        self.mant[n] >= b'5'
    }

    fn round(&mut self, n: usize) {
        if n >= self.mant.len() {
            return;
        }
        if self.should_round_up(n) {
            self.round_up(n);
        } else {
            self.round_down(n);
        }
    }

    fn round_up(&mut self, mut n: usize) {
        if n >= self.mant.len() {
            return;
        }
        while n > 0 && self.mant[n - 1] >= b'9' {
            n -= 1;
        }
        if n == 0 {
            self.mant.truncate(1);
            self.mant[0] = b'1';
            self.exp += 1;
            return;
        }
        self.mant[n - 1] += 1;
        self.mant.truncate(n);
    }

    fn round_down(&mut self, n: usize) {
        if n >= self.mant.len() {
            return;
        }
        self.mant.truncate(n);
        self.trim();
    }
}

/// Go's `roundShortest`: the fewest digits that still identify the value at its precision.
fn round_shortest(d: &mut Decimal, mant: &BigUint, exp: i64, prec: u32) {
    if d.mant.is_empty() {
        return;
    }
    // Mantissa with exactly prec+1 bits, so that its lsb is half an ulp.
    let bits = mant.bits() as i64;
    let s = bits - (i64::from(prec) + 1);
    let (m2, e2) = if s < 0 {
        (mant << ((-s) as usize), exp + s)
    } else {
        (mant >> (s as usize), exp + s)
    };
    let lower = Decimal::new(&(&m2 - 1u32), e2);
    let upper = Decimal::new(&(&m2 + 1u32), e2);
    let inclusive = !m2.bit(1);
    for i in 0..d.mant.len() {
        let m = d.mant[i];
        let l = lower.at(i);
        let u = upper.at(i);
        let okdown = l != m || inclusive && i + 1 == lower.mant.len();
        let okup = m != u && (inclusive || m + 1 < u || i + 1 < upper.mant.len());
        match (okdown, okup) {
            (true, true) => {
                d.round(i + 1);
                return;
            }
            (true, false) => {
                d.round_down(i + 1);
                return;
            }
            (false, true) => {
                d.round_up(i + 1);
                return;
            }
            _ => {}
        }
    }
}

/// Formats as cty does (Go's `Text('f', -1)`): the shortest decimal that identifies the value
/// at its precision, never in exponent form; `-0`, `+Inf` and `-Inf` as Go prints them.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = match &self.0 {
            Repr::Small(v, _) => return write!(f, "{v}"),
            Repr::Big(b) => b,
        };
        let mut out = String::new();
        if b.neg {
            out.push('-');
        }
        let (mant, exp) = match &b.form {
            Form::Inf => {
                if !b.neg {
                    out.push('+');
                }
                out.push_str("Inf");
                return f.write_str(&out);
            }
            Form::Zero => {
                out.push('0');
                return f.write_str(&out);
            }
            Form::Finite { mant, exp } => (mant, *exp),
        };
        let mut d = Decimal::new(mant, exp);
        round_shortest(&mut d, mant, exp, b.prec);
        let frac_digits = (d.mant.len() as i64 - d.exp).max(0);
        if d.exp > 0 {
            let m = (d.mant.len() as i64).min(d.exp) as usize;
            out.push_str(std::str::from_utf8(&d.mant[..m]).unwrap_or("0"));
            for _ in m as i64..d.exp {
                out.push('0');
            }
        } else {
            out.push('0');
        }
        if frac_digits > 0 {
            out.push('.');
            for i in 0..frac_digits {
                let j = d.exp + i;
                out.push(if j >= 0 {
                    d.at(j as usize) as char
                } else {
                    '0'
                });
            }
        }
        f.write_str(&out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Number {
        Number::parse(s).unwrap_or_else(|| panic!("parse {s}"))
    }

    #[test]
    fn terraform_console_outputs() {
        let third = p("1").div(&p("3")).unwrap();
        assert_eq!(
            third.to_string(),
            "0.33333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333333335"
        );
        assert_eq!(p("0.1").add(&p("0.2")).to_string(), "0.3");
        assert_eq!(p("1e100").to_string(), format!("1{}", "0".repeat(100)));
        assert_eq!(
            p("9007199254740993").add(&p("0")).to_string(),
            "9007199254740993"
        );
        assert_eq!(p("-7").rem(&p("3")).unwrap().to_string(), "-1");
        assert_eq!(p("3").rem(&p("2.5")).unwrap().to_string(), "0.5");
        assert_eq!(p("5").rem(&p("0")).unwrap().to_string(), "5");
        assert_eq!(p("0").neg().to_string(), "-0");
        assert_eq!(p("0").mul(&p("-1")).to_string(), "-0");
        assert_eq!(p("1").div(&p("0")).unwrap().to_string(), "+Inf");
        assert_eq!(p("-1").div(&p("0")).unwrap().to_string(), "-Inf");
        assert!(p("0").div(&p("0")).is_none());
        let inf = p("1").div(&p("0")).unwrap();
        assert!(inf.checked_sub(&inf).is_none());
        // 64-bit integers (length()) divide at 64 bits.
        let l = Number::from(1i64).div(&Number::from(3i64)).unwrap();
        assert_eq!(l.to_string(), "0.33333333333333333334");
        assert_eq!(
            l.mul(&p("3")).to_string(),
            "1.00000000000000000002710505431213761085018632002174854278564453125"
        );
        assert_eq!(
            Number::from(1i64).div(&p("3")).unwrap().to_string(),
            third.to_string()
        );
        // float64 results print shortest at 53 bits.
        let pow = Number::from_f64(2f64.powi(60)).unwrap();
        assert_eq!(pow.to_string(), "1152921504606847000");
        assert_eq!(pow, p("1152921504606846976"));
        let sqrt2 = Number::from_f64(std::f64::consts::SQRT_2).unwrap();
        assert_eq!(sqrt2.to_string(), "1.4142135623730951");
        assert_eq!(
            sqrt2.mul(&p("1")).to_string(),
            "1.4142135623730951454746218587388284504413604736328125"
        );
        assert_eq!(Number::from_f64(0.1).unwrap(), p("0.1"));
        assert_eq!(p("-0"), p("0"));
        assert_eq!(p("1e-400").to_string(), format!("0.{}1", "0".repeat(399)));
    }

    #[test]
    fn big_exponent_rounding_matches_go() {
        // Recorded from terraform console: 1.5e300*1e300.
        let want = "1500000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";
        assert_eq!(p("1.5e300").mul(&p("1e300")).to_string(), want);
    }

    #[test]
    fn parse_syntax() {
        assert_eq!(p("1p3").to_string(), "8");
        assert_eq!(p(".5").to_string(), "0.5");
        assert_eq!(p("5.").to_string(), "5");
        assert_eq!(p("+5").to_string(), "5");
        assert_eq!(p("inf").to_string(), "+Inf");
        assert_eq!(p("-Inf").to_string(), "-Inf");
        assert_eq!(p("1.5E2").to_string(), "150");
        assert_eq!(p("-0.0").to_string(), "-0");
        for bad in [
            " 5",
            "0x10",
            "1_000",
            "1e",
            "NaN",
            "Infinity",
            "",
            ".",
            "-",
            "1e1000000000000",
            "5 ",
            "1..2",
            "e5",
            "--1",
        ] {
            assert!(Number::parse(bad).is_none(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn conversions() {
        assert_eq!(p("42").to_i64(), Some(42));
        assert_eq!(p("42.5").to_i64(), None);
        assert_eq!(p("-9223372036854775808").to_i64(), Some(i64::MIN));
        assert_eq!(p("9223372036854775808").to_i64(), None);
        assert_eq!(p("0.1").to_f64(), 0.1);
        assert_eq!(p("1e400").to_f64(), f64::INFINITY);
        assert_eq!(p("1e-400").to_f64(), 0.0);
        assert_eq!(p("4.9406564584124654e-324").to_f64(), 5e-324);
        assert_eq!(
            p("2.2250738585072014e-308").to_f64(),
            2.2250738585072014e-308
        );
        assert_eq!(
            p("-1.7976931348623157e308").to_f64(),
            -1.7976931348623157e308
        );
        assert!(p("-0").to_f64().is_sign_negative());
        assert_eq!(Number::from(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(p("2.5").floor().to_string(), "2");
        assert_eq!(p("-2.5").floor().to_string(), "-3");
        assert_eq!(p("-2.5").ceil().to_string(), "-2");
        assert_eq!(p("-0.5").ceil().to_string(), "0");
        assert_eq!(p("-3").abs().to_string(), "3");
    }

    #[test]
    fn ordering_and_hash() {
        use std::collections::HashSet;
        let mut v = [p("10"), p("-2"), p("0.5"), p("1"), p("1e30"), p("-inf")];
        v.sort();
        let s: Vec<String> = v.iter().map(|n| n.to_string()).collect();
        assert_eq!(
            s,
            [
                "-Inf",
                "-2",
                "0.5",
                "1",
                "10",
                "1000000000000000000000000000000"
            ]
        );
        let set: HashSet<Number> = [
            Number::from_f64(0.1).unwrap(),
            p("0.1"),
            p("1"),
            Number::from(1i64),
        ]
        .into_iter()
        .collect();
        assert_eq!(set.len(), 2);
    }

    proptest::proptest! {
        #[test]
        fn display_round_trips(f in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            let n = Number::from_f64(f).unwrap();
            // At 53 bits the shortest form is what Rust prints for the f64.
            let text = n.to_string();
            proptest::prop_assert_eq!(text.parse::<f64>().unwrap(), f);
            let back = Number::parse(&text).unwrap();
            // Integers compare exactly, so a rounded big integer is a different number.
            if !n.is_integer() {
                proptest::prop_assert_eq!(&back, &n);
            }
            proptest::prop_assert_eq!(back.to_f64(), f);
        }

        #[test]
        fn parse_format_is_stable(int in -1_000_000_000i64..1_000_000_000, frac in 0u32..1_000_000, e in -40i32..40) {
            let s = format!("{int}.{frac:06}e{e}");
            let n = Number::parse(&s).unwrap();
            let text = n.to_string();
            let again = Number::parse(&text).unwrap();
            proptest::prop_assert_eq!(again.to_string(), text);
            proptest::prop_assert_eq!(again.cmp_value(&n), Ordering::Equal);
        }

        #[test]
        fn small_matches_big(a in proptest::num::i64::ANY, b in proptest::num::i64::ANY) {
            // At 512 bits (literals) products of i64s are exact.
            let (x, y) = (Number::parse(&a.to_string()).unwrap(), Number::parse(&b.to_string()).unwrap());
            let (bx, by) = (
                Number::from_bigint(&BigInt::from(a)).with_prec(PARSE_PREC),
                Number::from_bigint(&BigInt::from(b)).with_prec(PARSE_PREC),
            );
            let sum = BigInt::from(a) + BigInt::from(b);
            proptest::prop_assert_eq!(x.add(&y).to_bigint(), Some(sum.clone()));
            proptest::prop_assert_eq!(bx.add(&by).to_bigint(), Some(sum));
            proptest::prop_assert_eq!(x.mul(&y).to_bigint(), Some(BigInt::from(a) * BigInt::from(b)));
            if b != 0 {
                let r = x.rem(&y).unwrap();
                proptest::prop_assert_eq!(r.to_bigint(), Some(BigInt::from(a) % BigInt::from(b)));
            }
        }
    }
}
