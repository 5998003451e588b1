//! Types: the primitive, collection and structural types of Terraform, plus `dynamic`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Type {
    /// `any` in type constraints; the type of values whose type is not yet known.
    #[default]
    Dynamic,
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(ObjectType),
    Tuple(Vec<Type>),
}

/// An object type. `optional` is only non-empty in type constraints (`optional(T)`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectType {
    pub attrs: BTreeMap<String, Type>,
    pub optional: BTreeSet<String>,
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }
    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }
    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }
    pub fn object(attrs: impl IntoIterator<Item = (String, Type)>) -> Type {
        Type::Object(ObjectType {
            attrs: attrs.into_iter().collect(),
            optional: BTreeSet::new(),
        })
    }
    pub fn empty_object() -> Type {
        Type::Object(ObjectType::default())
    }

    pub fn is_primitive(&self) -> bool {
        matches!(self, Type::String | Type::Number | Type::Bool)
    }
    pub fn is_collection(&self) -> bool {
        matches!(self, Type::List(_) | Type::Set(_) | Type::Map(_))
    }
    pub fn is_structural(&self) -> bool {
        matches!(self, Type::Object(_) | Type::Tuple(_))
    }

    /// The element type of a collection.
    pub fn element_type(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the type contains `dynamic` anywhere.
    pub fn has_dynamic(&self) -> bool {
        crate::depth::guard(|| match self {
            Type::Dynamic => true,
            Type::List(t) | Type::Set(t) | Type::Map(t) => t.has_dynamic(),
            Type::Object(o) => o.attrs.values().any(Type::has_dynamic),
            Type::Tuple(ts) => ts.iter().any(Type::has_dynamic),
            _ => false,
        })
    }

    /// The type with every `optional` marker removed, at any depth (cty
    /// `WithoutOptionalAttributesDeep`).
    pub fn without_optional_deep(&self) -> Type {
        crate::depth::guard(|| match self {
            Type::List(t) => Type::list(t.without_optional_deep()),
            Type::Set(t) => Type::set(t.without_optional_deep()),
            Type::Map(t) => Type::map(t.without_optional_deep()),
            Type::Tuple(ts) => Type::Tuple(ts.iter().map(Type::without_optional_deep).collect()),
            Type::Object(o) => Type::Object(ObjectType {
                attrs: o
                    .attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.without_optional_deep()))
                    .collect(),
                optional: BTreeSet::new(),
            }),
            t => t.clone(),
        })
    }

    /// As [`Type::friendly_name`] but for describing a type constraint (cty
    /// `FriendlyNameForConstraint`): `dynamic` is "any type", and a collection of it "list of
    /// any single type".
    pub fn friendly_name_for_constraint(&self) -> String {
        crate::depth::guard(|| match self {
            Type::Dynamic => "any type".into(),
            Type::List(t) | Type::Set(t) | Type::Map(t) => {
                let kind = match self {
                    Type::List(_) => "list",
                    Type::Set(_) => "set",
                    _ => "map",
                };
                if **t == Type::Dynamic {
                    format!("{kind} of any single type")
                } else {
                    format!("{kind} of {}", t.friendly_name_for_constraint())
                }
            }
            t => t.friendly_name(),
        })
    }

    /// The name Terraform uses in error messages ("string", "list of number", "object", ...),
    /// as cty's `FriendlyName`.
    pub fn friendly_name(&self) -> String {
        crate::depth::guard(|| match self {
            Type::Dynamic => "dynamic".into(),
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::List(t) => format!("list of {}", t.friendly_name()),
            Type::Set(t) => format!("set of {}", t.friendly_name()),
            Type::Map(t) => format!("map of {}", t.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        })
    }
}

/// The type-expression syntax (`list(string)`, `object({a=number})`), as Terraform prints types
/// in compact form (e.g. in error messages).
impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Type::Dynamic => write!(f, "any"),
            Type::String => write!(f, "string"),
            Type::Number => write!(f, "number"),
            Type::Bool => write!(f, "bool"),
            Type::List(t) => write!(f, "list({t})"),
            Type::Set(t) => write!(f, "set({t})"),
            Type::Map(t) => write!(f, "map({t})"),
            Type::Object(o) => {
                write!(f, "object({{")?;
                for (i, (k, t)) in o.attrs.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    if o.optional.contains(k) {
                        write!(f, "{k}=optional({t})")?;
                    } else {
                        write!(f, "{k}={t}")?;
                    }
                }
                write!(f, "}})")
            }
            Type::Tuple(ts) => {
                write!(f, "tuple([")?;
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        write!(f, ",")?;
                    }
                    write!(f, "{t}")?;
                }
                write!(f, "])")
            }
        }
    }
}
