//! Values: known, null or unknown, optionally marked (sensitive, ephemeral), of any [`Type`].

use crate::number::Number;
use crate::types::{ObjectType, Type};
use std::collections::BTreeMap;

/// Marks carried by a value. Marks propagate to everything derived from a marked value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Marks(u8);

impl Marks {
    pub const NONE: Marks = Marks(0);
    pub const SENSITIVE: Marks = Marks(1);
    pub const EPHEMERAL: Marks = Marks(2);

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, other: Marks) -> bool {
        self.0 & other.0 == other.0 && !other.is_empty()
    }
    pub fn union(self, other: Marks) -> Marks {
        Marks(self.0 | other.0)
    }
    pub fn without(self, other: Marks) -> Marks {
        Marks(self.0 & !other.0)
    }
    pub fn is_sensitive(self) -> bool {
        self.contains(Marks::SENSITIVE)
    }
}

impl std::ops::BitOr for Marks {
    type Output = Marks;
    fn bitor(self, rhs: Marks) -> Marks {
        self.union(rhs)
    }
}

impl std::ops::BitOrAssign for Marks {
    fn bitor_assign(&mut self, rhs: Marks) {
        *self = self.union(rhs);
    }
}

/// What is known about an unknown value (cty refinements).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Refinements {
    pub not_null: bool,
    pub string_prefix: Option<String>,
    /// (bound, inclusive)
    pub number_lower: Option<(Number, bool)>,
    pub number_upper: Option<(Number, bool)>,
    pub length_lower: Option<u64>,
    pub length_upper: Option<u64>,
}

impl Refinements {
    pub fn is_empty(&self) -> bool {
        *self == Refinements::default()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Unknown {
    pub ty: Type,
    pub refinements: Refinements,
}

impl Unknown {
    /// The value these refinements describe, as cty's `RefinementBuilder.NewValue` builds it:
    /// a collection whose length is known exactly to be zero is a known empty collection, and
    /// a list of known length is a known list of unknown elements (so its length, and each
    /// element's place, survive into plans).
    pub fn into_value(self) -> Value {
        let exact = match (self.refinements.length_lower, self.refinements.length_upper) {
            (lo, Some(hi)) if lo.unwrap_or(0) == hi => Some(hi),
            _ => None,
        };
        match (&self.ty, exact) {
            (Type::List(et), Some(n)) if n <= u32::MAX as u64 => {
                let elem = Value::unknown((**et).clone());
                Value::List((**et).clone(), vec![elem; n as usize])
            }
            (Type::Set(et), Some(0)) => Value::Set((**et).clone(), Vec::new()),
            (Type::Map(et), Some(0)) => Value::Map((**et).clone(), BTreeMap::new()),
            _ => Value::Unknown(Box::new(self)),
        }
    }
}

/// A step in a path into a value (attribute, key or index), used for marks and diagnostics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Attr(String),
    /// A map key or a list/tuple index, or a set element (as its value).
    Index(Value),
}

/// A Terraform value.
///
/// Invariants: `Marked` never wraps another `Marked` and never has empty marks; `Set` elements
/// are unique and in canonical order; collection element types are exact (no `Dynamic`
/// elements unless the element type is `Dynamic`, in which case every element is null or unknown).
#[derive(Clone, Debug)]
pub enum Value {
    Null(Type),
    Unknown(Box<Unknown>),
    Bool(bool),
    Number(Number),
    String(String),
    /// Element type and elements.
    List(Type, Vec<Value>),
    /// Element type and elements (unique, canonical order).
    Set(Type, Vec<Value>),
    /// Element type and entries.
    Map(Type, BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Marked(Box<Value>, Marks),
}

impl Value {
    pub fn null(ty: Type) -> Value {
        Value::Null(ty)
    }
    pub fn unknown(ty: Type) -> Value {
        Value::Unknown(Box::new(Unknown {
            ty,
            refinements: Refinements::default(),
        }))
    }
    pub fn dynamic_unknown() -> Value {
        Value::unknown(Type::Dynamic)
    }
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn bool(b: bool) -> Value {
        Value::Bool(b)
    }
    pub fn number(n: impl Into<Number>) -> Value {
        Value::Number(n.into())
    }
    pub fn empty_object() -> Value {
        Value::Object(BTreeMap::new())
    }
    pub fn object(attrs: impl IntoIterator<Item = (String, Value)>) -> Value {
        Value::Object(attrs.into_iter().collect())
    }

    /// The value's type (for a marked value, the type of what it wraps).
    pub fn ty(&self) -> Type {
        crate::depth::guard(|| match self {
            Value::Null(t) => t.clone(),
            Value::Unknown(u) => u.ty.clone(),
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(t, _) => Type::list(t.clone()),
            Value::Set(t, _) => Type::set(t.clone()),
            Value::Map(t, _) => Type::map(t.clone()),
            Value::Object(attrs) => Type::Object(ObjectType {
                attrs: attrs.iter().map(|(k, v)| (k.clone(), v.ty())).collect(),
                optional: Default::default(),
            }),
            Value::Tuple(vs) => Type::Tuple(vs.iter().map(Value::ty).collect()),
            Value::Marked(v, _) => v.ty(),
        })
    }

    pub fn is_null(&self) -> bool {
        match self {
            Value::Null(_) => true,
            Value::Marked(v, _) => v.is_null(),
            _ => false,
        }
    }

    /// Whether this value itself is known (its elements may still be unknown).
    pub fn is_known(&self) -> bool {
        match self {
            Value::Unknown(_) => false,
            Value::Marked(v, _) => v.is_known(),
            _ => true,
        }
    }

    /// Whether this value and everything inside it is known.
    pub fn is_wholly_known(&self) -> bool {
        crate::depth::guard(|| match self {
            Value::Unknown(_) => false,
            Value::Marked(v, _) => v.is_wholly_known(),
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                vs.iter().all(Value::is_wholly_known)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        })
    }

    /// The marks on this value itself (not those nested inside it).
    pub fn marks(&self) -> Marks {
        match self {
            Value::Marked(_, m) => *m,
            _ => Marks::NONE,
        }
    }

    /// Adds marks to this value.
    pub fn mark(self, marks: Marks) -> Value {
        if marks.is_empty() {
            return self;
        }
        match self {
            Value::Marked(v, m) => Value::Marked(v, m | marks),
            v => Value::Marked(Box::new(v), marks),
        }
    }

    /// Removes the top-level marks, returning the bare value and the marks it had.
    pub fn unmark(self) -> (Value, Marks) {
        match self {
            Value::Marked(v, m) => (*v, m),
            v => (v, Marks::NONE),
        }
    }

    /// The value without top-level marks, by reference.
    pub fn unmarked(&self) -> &Value {
        match self {
            Value::Marked(v, _) => v,
            v => v,
        }
    }

    /// Removes marks at every depth, returning the union of all of them.
    pub fn unmark_deep(self) -> (Value, Marks) {
        let mut marks = Marks::NONE;
        let v = self.unmark_deep_into(&mut marks);
        (v, marks)
    }

    fn unmark_deep_into(self, acc: &mut Marks) -> Value {
        crate::depth::guard(|| match self {
            Value::Marked(v, m) => {
                *acc |= m;
                v.unmark_deep_into(acc)
            }
            Value::List(t, vs) => {
                Value::List(t, vs.into_iter().map(|v| v.unmark_deep_into(acc)).collect())
            }
            Value::Set(t, vs) => {
                Value::Set(t, vs.into_iter().map(|v| v.unmark_deep_into(acc)).collect())
            }
            Value::Tuple(vs) => {
                Value::Tuple(vs.into_iter().map(|v| v.unmark_deep_into(acc)).collect())
            }
            Value::Map(t, m) => Value::Map(
                t,
                m.into_iter()
                    .map(|(k, v)| (k, v.unmark_deep_into(acc)))
                    .collect(),
            ),
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| (k, v.unmark_deep_into(acc)))
                    .collect(),
            ),
            v => v,
        })
    }

    /// Whether any marks are present at any depth.
    pub fn has_marks_deep(&self) -> bool {
        crate::depth::guard(|| match self {
            Value::Marked(..) => true,
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                vs.iter().any(Value::has_marks_deep)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().any(Value::has_marks_deep),
            _ => false,
        })
    }

    /// Whether the value, or anything inside it, is marked sensitive.
    pub fn is_sensitive_deep(&self) -> bool {
        crate::depth::guard(|| match self {
            Value::Marked(v, m) => m.is_sensitive() || v.is_sensitive_deep(),
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                vs.iter().any(Value::is_sensitive_deep)
            }
            Value::Map(_, m) | Value::Object(m) => m.values().any(Value::is_sensitive_deep),
            _ => false,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.unmarked() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self.unmarked() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<&Number> {
        match self.unmarked() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// Structural equality of two values, ignoring marks. Unknowns are equal only to
    /// unknowns of the same type (this is identity for planning, not the `==` operator).
    pub fn raw_equals(&self, other: &Value) -> bool {
        crate::depth::guard(|| match (self.unmarked(), other.unmarked()) {
            (Value::Null(a), Value::Null(b)) => a == b,
            (Value::Unknown(a), Value::Unknown(b)) => a.ty == b.ty,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::List(ta, a), Value::List(tb, b)) | (Value::Set(ta, a), Value::Set(tb, b)) => {
                ta == tb && a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.raw_equals(y))
            }
            (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.raw_equals(y))
            }
            (Value::Map(ta, a), Value::Map(tb, b)) => {
                ta == tb
                    && a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.raw_equals(vb))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|((ka, va), (kb, vb))| ka == kb && va.raw_equals(vb))
            }
            _ => false,
        })
    }
}

impl PartialEq for Value {
    /// Exact equality including marks (for tests and change detection).
    fn eq(&self, other: &Value) -> bool {
        self.marks() == other.marks() && self.raw_equals(other) && {
            // Nested marks must agree too.
            match (self.unmarked(), other.unmarked()) {
                (Value::List(_, a), Value::List(_, b))
                | (Value::Set(_, a), Value::Set(_, b))
                | (Value::Tuple(a), Value::Tuple(b)) => a.iter().zip(b).all(|(x, y)| x == y),
                (Value::Map(_, a), Value::Map(_, b)) | (Value::Object(a), Value::Object(b)) => {
                    a.values().zip(b.values()).all(|(x, y)| x == y)
                }
                _ => true,
            }
        }
    }
}

impl Eq for Value {}

impl std::hash::Hash for Value {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self.unmarked() {
            Value::Null(_) => 0u8.hash(state),
            Value::Unknown(_) => 1u8.hash(state),
            Value::Bool(b) => b.hash(state),
            Value::Number(n) => n.hash(state),
            Value::String(s) => s.hash(state),
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                for v in vs {
                    v.hash(state)
                }
            }
            Value::Map(_, m) | Value::Object(m) => {
                for (k, v) in m {
                    k.hash(state);
                    v.hash(state);
                }
            }
            Value::Marked(..) => unreachable!("unmarked() removed the mark"),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// A total order used for canonical set ordering and path steps. It follows cty's set order
/// for primitives (numbers numerically, strings lexically, false before true); other values
/// compare by their kind and then structurally.
impl Ord for Value {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Bool(_) => 0,
                Value::Number(_) => 1,
                Value::String(_) => 2,
                Value::List(..) => 3,
                Value::Set(..) => 4,
                Value::Map(..) => 5,
                Value::Object(_) => 6,
                Value::Tuple(_) => 7,
                Value::Unknown(_) => 8,
                Value::Null(_) => 9,
                Value::Marked(..) => 10,
            }
        }
        let (a, b) = (self.unmarked(), other.unmarked());
        match (a, b) {
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (Value::Number(x), Value::Number(y)) => x.cmp(y),
            (Value::String(x), Value::String(y)) => x.cmp(y),
            (Value::List(_, x), Value::List(_, y))
            | (Value::Set(_, x), Value::Set(_, y))
            | (Value::Tuple(x), Value::Tuple(y)) => x.cmp(y),
            (Value::Map(_, x), Value::Map(_, y)) | (Value::Object(x), Value::Object(y)) => x.cmp(y),
            _ => match rank(a).cmp(&rank(b)) {
                Ordering::Equal => Ordering::Equal,
                o => o,
            },
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s)
    }
}
impl From<i64> for Value {
    fn from(n: i64) -> Value {
        Value::Number(Number::from(n))
    }
}
