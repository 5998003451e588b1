//! Value operations with cty's semantics that the rest of the engine builds on: typed
//! collection constructors (with set canonicalisation), `==` (`Equals`, unknown-aware),
//! attribute and index access, and length.

use crate::convert::{self, ConvertError};
use crate::number::Number;
use crate::{Marks, Refinements, Type, Unknown, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// Gives a dynamically-typed null or unknown element the collection's element type, so that
/// the collection invariant (elements have exactly the element type) holds.
fn fit_element(v: Value, ety: &Type) -> Value {
    if *ety == Type::Dynamic {
        return v;
    }
    let (inner, marks) = v.unmark();
    let inner = match inner {
        Value::Null(Type::Dynamic) => Value::Null(ety.clone()),
        Value::Unknown(u) if u.ty == Type::Dynamic => Value::Unknown(Box::new(Unknown {
            ty: ety.clone(),
            refinements: u.refinements,
        })),
        other => other,
    };
    inner.mark(marks)
}

impl Value {
    /// A list of the given element type. The caller guarantees the elements have that type
    /// (dynamically-typed nulls and unknowns are retyped).
    pub fn list_of(ety: Type, elems: Vec<Value>) -> Value {
        let elems = elems.into_iter().map(|e| fit_element(e, &ety)).collect();
        Value::List(ety, elems)
    }

    /// A map of the given element type (see [`Value::list_of`]).
    pub fn map_of(ety: Type, entries: BTreeMap<String, Value>) -> Value {
        let entries = entries
            .into_iter()
            .map(|(k, e)| (k, fit_element(e, &ety)))
            .collect();
        Value::Map(ety, entries)
    }

    /// A set of the given element type, in cty's canonical form: marks inside elements are
    /// moved to the set itself, elements that are `==` are merged (unknowns never are), and
    /// the order is cty's (numbers numerically, strings lexically, false before true, other
    /// types by their hash text; unknowns then nulls last).
    pub fn set_of(ety: Type, elems: Vec<Value>) -> Value {
        let mut marks = Marks::NONE;
        let mut out: Vec<Value> = Vec::with_capacity(elems.len());
        for e in elems {
            let (e, m) = e.unmark_deep();
            marks |= m;
            let e = fit_element(e, &ety);
            if !out.iter().any(|x| x.equals(&e).as_bool() == Some(true)) {
                out.push(e);
            }
        }
        out.sort_by(set_order);
        Value::Set(ety, out).mark(marks)
    }

    /// A list whose element type is unified from the elements (cty's unsafe unification, as
    /// `tolist` does); an empty list has element type `dynamic`.
    pub fn list(elems: Vec<Value>) -> Result<Value, ConvertError> {
        let (ety, elems) = unify_values(elems, "list")?;
        Ok(Value::list_of(ety, elems))
    }

    /// A set whose element type is unified from the elements (see [`Value::list`]).
    pub fn set(elems: Vec<Value>) -> Result<Value, ConvertError> {
        let (ety, elems) = unify_values(elems, "set")?;
        Ok(Value::set_of(ety, elems))
    }

    /// A map whose element type is unified from the entries (see [`Value::list`]).
    pub fn map(entries: BTreeMap<String, Value>) -> Result<Value, ConvertError> {
        let (keys, vals): (Vec<String>, Vec<Value>) = entries.into_iter().unzip();
        let (ety, vals) = unify_values(vals, "map")?;
        Ok(Value::map_of(ety, keys.into_iter().zip(vals).collect()))
    }

    /// cty's `Equals` (the `==` operator): a known bool, or an unknown bool when the answer
    /// depends on unknown values. Nulls of any type are equal to each other. Marks of both
    /// sides (at any depth) are carried to the result.
    pub fn equals(&self, other: &Value) -> Value {
        crate::depth::guard(|| {
            if self.has_marks_deep() || other.has_marks_deep() {
                let (a, ma) = self.clone().unmark_deep();
                let (b, mb) = other.clone().unmark_deep();
                return a.equals(&b).mark(ma | mb);
            }
            let unknown_result = || {
                Value::Unknown(Box::new(Unknown {
                    ty: Type::Bool,
                    refinements: Refinements {
                        not_null: true,
                        ..Refinements::default()
                    },
                }))
            };
            if self.is_null() && definitely_not_null(other)
                || other.is_null() && definitely_not_null(self)
            {
                return Value::Bool(false);
            }
            match (self, other) {
                (Value::Unknown(u), k) | (k, Value::Unknown(u)) if k.is_known() => {
                    if range_excludes(u, k) {
                        return Value::Bool(false);
                    }
                    if k.is_null() || u.ty.has_dynamic() {
                        return unknown_result();
                    }
                    if k.ty() != u.ty {
                        return Value::Bool(false);
                    }
                    return unknown_result();
                }
                (Value::Unknown(_), Value::Unknown(_)) => return unknown_result(),
                _ => {}
            }
            match (self.is_null(), other.is_null()) {
                (true, true) => return Value::Bool(true),
                (true, false) | (false, true) => return Value::Bool(false),
                _ => {}
            }
            if !self.has_wholly_known_type() || !other.has_wholly_known_type() {
                let (ta, tb) = (self.ty(), other.ty());
                if !conforms(&ta, &tb) && !conforms(&tb, &ta) {
                    return Value::Bool(false);
                }
                return unknown_result();
            }
            if self.ty() != other.ty() {
                return Value::Bool(false);
            }
            // Combines element comparisons: stop at the first false; any unknown makes the whole
            // answer unknown (cty stops at whichever it meets first; we walk in key order).
            fn all_equal<'a>(pairs: impl Iterator<Item = (&'a Value, &'a Value)>) -> Option<bool> {
                crate::depth::guard(|| {
                    for (a, b) in pairs {
                        match a.equals(b).as_bool() {
                            None => return None,
                            Some(false) => return Some(false),
                            Some(true) => {}
                        }
                    }
                    Some(true)
                })
            }
            let result = match (self, other) {
                (Value::Number(a), Value::Number(b)) => Some(a == b),
                (Value::Bool(a), Value::Bool(b)) => Some(a == b),
                (Value::String(a), Value::String(b)) => Some(a == b),
                (Value::Object(a), Value::Object(b)) => all_equal(a.values().zip(b.values())),
                (Value::Tuple(a), Value::Tuple(b)) => all_equal(a.iter().zip(b)),
                (Value::List(_, a), Value::List(_, b)) => {
                    if a.len() == b.len() {
                        all_equal(a.iter().zip(b))
                    } else {
                        Some(false)
                    }
                }
                (Value::Map(_, a), Value::Map(_, b)) => {
                    if a.len() != b.len() || a.keys().ne(b.keys()) {
                        Some(false)
                    } else {
                        all_equal(a.values().zip(b.values()))
                    }
                }
                (Value::Set(_, a), Value::Set(_, b)) => {
                    if a.iter().chain(b).any(|e| !e.is_known()) {
                        None
                    } else {
                        let has = |s: &[Value], e: &Value| {
                            s.iter().any(|x| x.equals(e).as_bool() == Some(true))
                        };
                        Some(a.iter().all(|e| has(b, e)) && b.iter().all(|e| has(a, e)))
                    }
                }
                _ => Some(false),
            };
            match result {
                Some(b) => Value::Bool(b),
                None => unknown_result(),
            }
        })
    }

    /// Whether no `dynamic`-typed unknown appears anywhere in the value (cty
    /// `HasWhollyKnownType`).
    pub fn has_wholly_known_type(&self) -> bool {
        crate::depth::guard(|| match self.unmarked() {
            Value::Null(_) => true,
            Value::Unknown(u) => !u.ty.has_dynamic(),
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                vs.iter().all(Value::has_wholly_known_type)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().all(Value::has_wholly_known_type),
            _ => true,
        })
    }

    /// The attribute `name` of an object (marks of the object carried over). An unknown or
    /// dynamic object gives an unknown of the attribute's type. `None` if the value is not an
    /// object with that attribute, or is null.
    pub fn get_attr(&self, name: &str) -> Option<Value> {
        let marks = self.marks();
        let v = match self.unmarked() {
            Value::Object(m) => m.get(name)?.clone(),
            Value::Unknown(u) => match &u.ty {
                Type::Dynamic => Value::dynamic_unknown(),
                Type::Object(o) => Value::unknown(o.attrs.get(name)?.clone()),
                _ => return None,
            },
            _ => return None,
        };
        Some(v.mark(marks))
    }

    /// The element at `key` of a list, tuple or map (a number or string key), as cty `Index`:
    /// marks of collection and key carried over; unknown collection or key gives an unknown
    /// of the element type. `None` when the key is absent, of the wrong kind or not a valid
    /// index, or the collection is null.
    pub fn index(&self, key: &Value) -> Option<Value> {
        let marks = self.marks() | key.marks();
        let k = key.unmarked();
        let v = match self.unmarked() {
            Value::Unknown(u) => match &u.ty {
                Type::List(e) | Type::Map(e) => Value::unknown((**e).clone()),
                Type::Tuple(ts) => match k.as_number().and_then(Number::to_i64) {
                    Some(i) if i >= 0 => Value::unknown(ts.get(i as usize)?.clone()),
                    _ if !k.is_known() => Value::dynamic_unknown(),
                    _ => return None,
                },
                _ => Value::dynamic_unknown(),
            },
            Value::List(ety, elems) => {
                if !k.is_known() {
                    Value::unknown(ety.clone())
                } else {
                    let i = k.as_number()?.to_i64()?;
                    elems.get(usize::try_from(i).ok()?)?.clone()
                }
            }
            Value::Tuple(elems) => {
                if !k.is_known() {
                    Value::dynamic_unknown()
                } else {
                    let i = k.as_number()?.to_i64()?;
                    elems.get(usize::try_from(i).ok()?)?.clone()
                }
            }
            Value::Map(ety, m) => {
                if !k.is_known() {
                    Value::unknown(ety.clone())
                } else {
                    m.get(k.as_str()?)?.clone()
                }
            }
            _ => return None,
        };
        Some(v.mark(marks))
    }

    /// The number of elements (collections, tuples) or attributes (objects), as cty
    /// `LengthInt`; `None` for unknown collections, nulls and primitives.
    pub fn length(&self) -> Option<usize> {
        match self.unmarked() {
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => Some(vs.len()),
            Value::Map(_, m) | Value::Object(m) => Some(m.len()),
            Value::Unknown(u) => match &u.ty {
                Type::Tuple(ts) => Some(ts.len()),
                Type::Object(o) => Some(o.attrs.len()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Whether the value can be known not to be null (known non-null, or refined so).
fn definitely_not_null(v: &Value) -> bool {
    match v.unmarked() {
        Value::Unknown(u) => u.refinements.not_null,
        Value::Null(_) => false,
        _ => true,
    }
}

/// Whether the refinements of the unknown `u` rule out the known value `k`.
fn range_excludes(u: &Unknown, k: &Value) -> bool {
    let r = &u.refinements;
    if k.is_null() {
        return r.not_null;
    }
    match k.unmarked() {
        Value::String(s) => r
            .string_prefix
            .as_deref()
            .is_some_and(|p| !s.starts_with(p)),
        Value::Number(n) => {
            let below = r
                .number_lower
                .as_ref()
                .is_some_and(|(lo, incl)| match n.cmp_value(lo) {
                    Ordering::Less => true,
                    Ordering::Equal => !incl,
                    Ordering::Greater => false,
                });
            let above = r
                .number_upper
                .as_ref()
                .is_some_and(|(hi, incl)| match n.cmp_value(hi) {
                    Ordering::Greater => true,
                    Ordering::Equal => !incl,
                    Ordering::Less => false,
                });
            below || above
        }
        Value::List(_, vs) | Value::Set(_, vs) => length_excluded(r, vs.len()),
        Value::Map(_, m) => length_excluded(r, m.len()),
        _ => false,
    }
}

fn length_excluded(r: &Refinements, len: usize) -> bool {
    let len = len as u64;
    r.length_lower.is_some_and(|lo| len < lo) || r.length_upper.is_some_and(|hi| len > hi)
}

/// Whether `t` conforms to `pattern`, where `dynamic` in the pattern matches anything.
fn conforms(t: &Type, pattern: &Type) -> bool {
    crate::depth::guard(|| match (t, pattern) {
        (_, Type::Dynamic) => true,
        (Type::List(a), Type::List(b))
        | (Type::Set(a), Type::Set(b))
        | (Type::Map(a), Type::Map(b)) => conforms(a, b),
        (Type::Tuple(a), Type::Tuple(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| conforms(x, y))
        }
        (Type::Object(a), Type::Object(b)) => {
            a.attrs.len() == b.attrs.len()
                && a.attrs
                    .iter()
                    .all(|(k, x)| b.attrs.get(k).is_some_and(|y| conforms(x, y)))
        }
        _ => t == pattern,
    })
}

fn unify_values(elems: Vec<Value>, what: &str) -> Result<(Type, Vec<Value>), ConvertError> {
    if elems.is_empty() {
        return Ok((Type::Dynamic, elems));
    }
    let types: Vec<Type> = elems.iter().map(Value::ty).collect();
    let ety = convert::unify(&types).ok_or_else(|| ConvertError {
        path: Vec::new(),
        message: format!("all {what} elements must have the same type"),
    })?;
    let elems = elems
        .iter()
        .enumerate()
        .map(|(i, e)| {
            convert::convert(e, &ety).map_err(|mut err| {
                err.path
                    .insert(0, crate::PathStep::Index(Value::from(i as i64)));
                err
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((ety, elems))
}

/// cty's set element order (`setRules.Less`), as a total order for sorting.
pub fn set_order(a: &Value, b: &Value) -> Ordering {
    if a.raw_equals(b) {
        return Ordering::Equal;
    }
    let rank = |v: &Value| {
        if v.is_null() {
            2
        } else if !v.is_known() {
            1
        } else {
            0
        }
    };
    match rank(a).cmp(&rank(b)) {
        Ordering::Equal if rank(a) == 0 => {}
        o => return o,
    }
    match (a.unmarked(), b.unmarked()) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.cmp_value(y),
        _ => set_hash_text(a).cmp(&set_hash_text(b)),
    }
}

/// The text cty hashes set elements by (`appendSetHashBytes`); it also orders non-primitive
/// set elements.
pub fn set_hash_text(v: &Value) -> String {
    let mut s = String::new();
    append_hash_text(v, &mut s);
    s
}

fn append_hash_text(v: &Value, buf: &mut String) {
    crate::depth::guard(|| match v.unmarked() {
        Value::Unknown(_) => buf.push('?'),
        Value::Null(_) => buf.push('~'),
        Value::Number(n) => buf.push_str(&format_g10(n)),
        Value::Bool(b) => buf.push(if *b { 'T' } else { 'F' }),
        Value::String(s) => buf.push_str(&go_quote(s)),
        Value::Map(_, m) => {
            buf.push('{');
            for (k, e) in m {
                buf.push_str(&go_quote(k));
                buf.push(':');
                append_hash_text(e, buf);
                buf.push(';');
            }
            buf.push('}');
        }
        Value::List(_, vs) | Value::Set(_, vs) => {
            buf.push('[');
            for e in vs {
                append_hash_text(e, buf);
                buf.push(';');
            }
            buf.push(']');
        }
        Value::Object(m) => {
            buf.push('<');
            for e in m.values() {
                append_hash_text(e, buf);
                buf.push(';');
            }
            buf.push('>');
        }
        Value::Tuple(vs) => {
            buf.push('<');
            for e in vs {
                append_hash_text(e, buf);
                buf.push(';');
            }
            buf.push('>');
        }
        Value::Marked(..) => {}
    })
}

/// Whether `s` is an HCL identifier: a letter or `_`, then letters, digits, `_` and `-`.
pub fn is_identifier(s: &str) -> bool {
    let mut cs = s.chars();
    cs.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && cs.all(|c| c.is_alphanumeric() || c == '_' || c == '-')
}

/// Go's `strconv.Quote` (`%q`).
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `big.Float.String()` (`Text('g', 10)`), used in set hash text.
fn format_g10(n: &Number) -> String {
    if n.is_infinite() || n.is_zero() {
        return n.to_string();
    }
    let text = n.abs().to_string();
    let neg = n.is_negative();
    // Decimal digits and exponent of the exact shortest text, then rounded to 10 digits.
    let (int_part, frac_part) = text.split_once('.').unwrap_or((&text, ""));
    let all: String = format!("{int_part}{frac_part}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let mut digits: Vec<u8> = all.trim_start_matches('0').bytes().collect();
    let mut exp = int_part.len() as i64 - lead as i64; // value = 0.digits × 10^exp
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.len() > 10 {
        let round_up = match digits[10] {
            b'5' if digits.len() == 11 => (digits[9] - b'0') % 2 == 1,
            d => d >= b'5',
        };
        digits.truncate(10);
        if round_up {
            let mut i = 10;
            loop {
                if i == 0 {
                    digits.insert(0, b'1');
                    digits.truncate(10);
                    exp += 1;
                    break;
                }
                i -= 1;
                if digits[i] == b'9' {
                    digits[i] = b'0';
                } else {
                    digits[i] += 1;
                    break;
                }
            }
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
    }
    let mut eprec = 10i64;
    if eprec > digits.len() as i64 && digits.len() as i64 >= exp {
        eprec = digits.len() as i64;
    }
    let x = exp - 1;
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    let ds = std::str::from_utf8(&digits).unwrap_or("0");
    if x < -4 || x >= eprec {
        out.push_str(&ds[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&ds[1..]);
        }
        out.push('e');
        out.push(if x < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", x.abs()));
    } else if exp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-exp) as usize));
        out.push_str(ds);
    } else if (exp as usize) >= digits.len() {
        out.push_str(ds);
        out.push_str(&"0".repeat(exp as usize - digits.len()));
    } else {
        out.push_str(&ds[..exp as usize]);
        out.push('.');
        out.push_str(&ds[exp as usize..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Value {
        Value::Number(Number::parse(s).unwrap())
    }

    #[test]
    fn g10_format() {
        let g = |s: &str| format_g10(&Number::parse(s).unwrap());
        assert_eq!(g("1"), "1");
        assert_eq!(g("10"), "10");
        assert_eq!(g("1234567890123"), "1.23456789e+12");
        assert_eq!(g("0.0001"), "0.0001");
        assert_eq!(g("0.00001"), "1e-05");
        assert_eq!(g("-2.5"), "-2.5");
        assert_eq!(g("123456.7"), "123456.7");
    }

    #[test]
    fn set_canonical_order() {
        let s = Value::set_of(
            Type::Number,
            vec![n("10"), n("1"), n("-2"), n("0.5"), n("1")],
        );
        let Value::Set(_, elems) = &s else { panic!() };
        let texts: Vec<String> = elems
            .iter()
            .map(|e| e.as_number().unwrap().to_string())
            .collect();
        assert_eq!(texts, ["-2", "0.5", "1", "10"]);
        let s = Value::set_of(
            Type::String,
            vec![
                Value::unknown(Type::String),
                "b".into(),
                "a".into(),
                Value::unknown(Type::String),
            ],
        );
        let Value::Set(_, elems) = &s else { panic!() };
        assert_eq!(elems.len(), 4, "unknowns never merge");
        assert_eq!(elems[0], Value::from("a"));
        let marked = Value::set_of(Type::String, vec![Value::from("x").mark(Marks::SENSITIVE)]);
        assert!(marked.marks().is_sensitive());
    }

    #[test]
    fn equals_semantics() {
        assert_eq!(n("1").equals(&n("1.0")), Value::Bool(true));
        assert_eq!(
            Value::Null(Type::String).equals(&Value::Null(Type::Number)),
            Value::Bool(true)
        );
        assert!(!n("1").equals(&Value::unknown(Type::Number)).is_known());
        assert_eq!(
            n("1").equals(&Value::unknown(Type::String)),
            Value::Bool(false)
        );
        let l1 = Value::list_of(Type::Number, vec![n("1"), Value::unknown(Type::Number)]);
        let l2 = Value::list_of(Type::Number, vec![n("1"), n("2")]);
        assert!(!l1.equals(&l2).is_known());
        let l3 = Value::list_of(Type::Number, vec![n("1")]);
        assert_eq!(l1.equals(&l3), Value::Bool(false));
        let r = Value::from("a")
            .mark(Marks::SENSITIVE)
            .equals(&Value::from("a"));
        assert_eq!(r, Value::Bool(true).mark(Marks::SENSITIVE));
    }

    #[test]
    fn constructors_unify() {
        let l = Value::list(vec![n("1"), Value::from("a")]).unwrap();
        assert_eq!(l, Value::List(Type::String, vec!["1".into(), "a".into()]));
        assert!(Value::list(vec![n("1"), Value::Tuple(vec![])]).is_err());
        assert_eq!(
            Value::list(vec![]).unwrap(),
            Value::List(Type::Dynamic, vec![])
        );
    }

    #[test]
    fn access() {
        let o = Value::object([("a".to_string(), n("1"))]).mark(Marks::SENSITIVE);
        assert_eq!(o.get_attr("a"), Some(n("1").mark(Marks::SENSITIVE)));
        assert_eq!(o.get_attr("b"), None);
        let l = Value::list_of(Type::String, vec!["x".into()]);
        assert_eq!(l.index(&n("0")), Some("x".into()));
        assert_eq!(l.index(&n("1")), None);
        assert_eq!(l.index(&n("0.5")), None);
        assert_eq!(l.length(), Some(1));
    }
}
