//! The static configuration tree of a module: every block Terraform 1.11 knows, decoded from
//! bodies but never evaluated. Ranges point at the source for later diagnostics.

use std::collections::BTreeMap;
use std::path::PathBuf;

use diagnostics::SourceRange;
use indexmap::IndexMap;
use value::{Type, Value};

use crate::body::{Block, Body};
use crate::expr::Expr;

#[derive(Clone, Debug, Default)]
pub struct Module {
    pub dir: PathBuf,
    pub files: Vec<String>,
    pub required_version: Vec<(String, SourceRange)>,
    pub required_providers: IndexMap<String, RequiredProvider>,
    pub backend: Option<Backend>,
    pub provider_configs: IndexMap<String, ProviderConfig>,
    pub variables: IndexMap<String, Variable>,
    pub locals: IndexMap<String, Local>,
    pub outputs: IndexMap<String, Output>,
    pub managed_resources: IndexMap<String, Resource>,
    pub data_resources: IndexMap<String, Resource>,
    pub module_calls: IndexMap<String, ModuleCall>,
    pub moved: Vec<Moved>,
    pub imports: Vec<Import>,
    pub removed: Vec<Removed>,
    pub checks: Vec<Check>,
    /// `provider_meta "NAME" { … }` blocks of the `terraform` block, by provider local name.
    pub provider_metas: IndexMap<String, ProviderMeta>,
}

/// Module metadata for a provider (`terraform { provider_meta "aws" { … } }`), sent with
/// every request for the module's resources and checked against the provider's schema.
#[derive(Clone, Debug)]
pub struct ProviderMeta {
    pub name: String,
    /// Only constant arguments (checked when decoded).
    pub config: Body,
    /// The label: where Terraform points when the provider takes no metadata.
    pub name_range: SourceRange,
    pub decl_range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct RequiredProvider {
    pub name: String,
    pub source: Option<String>,
    pub version: Option<String>,
    pub configuration_aliases: Vec<String>,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct Backend {
    pub type_name: String,
    pub config: Body,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct ProviderConfig {
    pub name: String,
    pub alias: Option<String>,
    pub version: Option<String>,
    pub config: Body,
    pub range: SourceRange,
    pub name_range: SourceRange,
}

/// Defaults of `optional(T, default)` attributes in a type constraint, by attribute path.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TypeDefaults {
    /// Defaults of this object's attributes.
    pub defaults: BTreeMap<String, Value>,
    /// Nested object types: under attribute names, or `""` for collection elements.
    pub children: BTreeMap<String, TypeDefaults>,
}

impl TypeDefaults {
    pub fn is_empty(&self) -> bool {
        self.defaults.is_empty() && self.children.is_empty()
    }

    /// Fills null optional attributes with their defaults, recursively (before conversion).
    pub fn apply(&self, ty: &Type, v: Value) -> Value {
        if self.is_empty() || v.is_null() || !v.is_known() {
            return v;
        }
        let (u, marks) = v.unmark();
        let out = match (ty, u) {
            (Type::Object(ot), Value::Object(mut m)) => {
                for (k, d) in &self.defaults {
                    let missing = m.get(k).is_none_or(|x| x.is_null());
                    if missing {
                        m.insert(k.clone(), d.clone());
                    }
                }
                for (k, child) in &self.children {
                    if let (Some(at), Some(x)) = (ot.attrs.get(k), m.remove(k)) {
                        m.insert(k.clone(), child.apply(at, x));
                    }
                }
                Value::Object(m)
            }
            (Type::List(et) | Type::Set(et), Value::Tuple(es)) => match self.children.get("") {
                Some(c) => Value::Tuple(es.into_iter().map(|e| c.apply(et, e)).collect()),
                None => Value::Tuple(es),
            },
            (Type::List(et), Value::List(t, es)) | (Type::Set(et), Value::Set(t, es)) => {
                match self.children.get("") {
                    Some(c) => {
                        let es: Vec<Value> = es.into_iter().map(|e| c.apply(et, e)).collect();
                        if matches!(ty, Type::List(_)) {
                            Value::List(t, es)
                        } else {
                            Value::Tuple(es)
                        }
                    }
                    None => {
                        if matches!(ty, Type::List(_)) {
                            Value::List(t, es)
                        } else {
                            Value::Set(t, es)
                        }
                    }
                }
            }
            (Type::Map(et), Value::Object(m)) => match self.children.get("") {
                Some(c) => Value::Object(m.into_iter().map(|(k, e)| (k, c.apply(et, e))).collect()),
                None => Value::Object(m),
            },
            (Type::Map(et), Value::Map(t, m)) => match self.children.get("") {
                Some(c) => Value::Object(m.into_iter().map(|(k, e)| (k, c.apply(et, e))).collect()),
                None => Value::Map(t, m),
            },
            (_, other) => other,
        };
        out.mark(marks)
    }
}

#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub type_expr: Option<Expr>,
    /// `any` (Dynamic) when no type is given.
    pub type_constraint: Type,
    pub type_defaults: TypeDefaults,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    pub ephemeral: bool,
    pub validations: Vec<CheckRule>,
    pub range: SourceRange,
    pub decl_range: SourceRange,
}

impl Variable {
    /// Applies `optional(T, default)` defaults to a value before conversion.
    pub fn apply_defaults(&self, v: Value) -> Value {
        self.type_defaults.apply(&self.type_constraint, v)
    }
}

#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub expr: Expr,
    pub description: Option<String>,
    pub sensitive: bool,
    pub ephemeral: bool,
    pub depends_on: Vec<Expr>,
    pub preconditions: Vec<CheckRule>,
    pub range: SourceRange,
    pub decl_range: SourceRange,
}

pub use addrs::Mode;

#[derive(Clone, Debug)]
pub struct ProviderRef {
    pub name: String,
    pub alias: Option<String>,
    pub range: SourceRange,
}

#[derive(Clone, Debug, Default)]
pub enum IgnoreChanges {
    #[default]
    None,
    All,
    Paths(Vec<Expr>),
}

#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub create_before_destroy: Option<bool>,
    pub prevent_destroy: Option<bool>,
    pub ignore_changes: IgnoreChanges,
    pub replace_triggered_by: Vec<Expr>,
    pub preconditions: Vec<CheckRule>,
    pub postconditions: Vec<CheckRule>,
}

#[derive(Clone, Debug)]
pub struct Resource {
    pub mode: Mode,
    pub type_name: String,
    pub name: String,
    pub provider: Option<ProviderRef>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    /// Everything else, including `dynamic` blocks.
    pub config: Body,
    pub lifecycle: Lifecycle,
    pub provisioners: Vec<Block>,
    pub connection: Option<Block>,
    pub range: SourceRange,
    pub decl_range: SourceRange,
    pub type_range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct PassedProvider {
    pub in_child: String,
    pub in_parent: String,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct ModuleCall {
    pub name: String,
    pub source: String,
    pub source_range: SourceRange,
    pub version: Option<String>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub providers: Vec<PassedProvider>,
    pub depends_on: Vec<Expr>,
    /// The input variable assignments.
    pub config: Body,
    pub range: SourceRange,
    pub decl_range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct CheckRule {
    pub condition: Expr,
    pub error_message: Expr,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct Moved {
    pub from: Expr,
    pub to: Expr,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct Import {
    pub to: Expr,
    pub id: Expr,
    pub for_each: Option<Expr>,
    pub provider: Option<ProviderRef>,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct Removed {
    pub from: Expr,
    pub destroy: bool,
    pub range: SourceRange,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub data_resource: Option<Resource>,
    pub asserts: Vec<CheckRule>,
    pub range: SourceRange,
}

/// A module and its local child modules.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub module: Module,
    pub path: Vec<String>,
    pub children: BTreeMap<String, Config>,
}
