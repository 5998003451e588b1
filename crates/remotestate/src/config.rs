//! Decoding a backend configuration against its schema (Terraform's `CoerceValue`), typed
//! access to the result, environment-variable fallbacks, and the diagnostics and errors of
//! configuring a backend.

use std::collections::BTreeMap;

use diagnostics::Severity;
use statestore::BackendError;
use value::Value;

use crate::schema::{AttrSchema, BackendSchema};
use crate::{Env, Map};

/// A problem with a backend configuration, about one argument (`attribute`, a path such as
/// `["endpoints", "s3"]`) or the whole block (empty path). The caller maps the path to the
/// block's source range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigDiagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub attribute: Vec<String>,
}

impl ConfigDiagnostic {
    pub(crate) fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        ConfigDiagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: Vec::new(),
        }
    }
    pub(crate) fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        ConfigDiagnostic {
            severity: Severity::Warning,
            ..ConfigDiagnostic::error(summary, detail)
        }
    }
    pub(crate) fn at(mut self, path: &[&str]) -> Self {
        self.attribute = path.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Why a backend could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The configuration is invalid: Terraform's diagnostics (errors, and any warnings found
    /// along the way).
    #[error("{}", render(.0))]
    Invalid(Vec<ConfigDiagnostic>),
    /// Decoding against the schema failed (Terraform's `CoerceValue`): the message is
    /// Terraform's (`unexpected attribute "x"`, `attribute "bucket" is required`,
    /// `.encrypt: bool required`).
    #[error("{0}")]
    Schema(String),
    #[error("There is no backend type named {0:?}.")]
    UnknownKind(String),
    /// Configuring needed the backend and it failed (unreachable, refused credentials).
    #[error(transparent)]
    Backend(#[from] BackendError),
}

fn render(diags: &[ConfigDiagnostic]) -> String {
    diags
        .iter()
        .filter(|d| d.is_error())
        .map(|d| format!("{}: {}", d.summary, d.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Collects diagnostics while a configuration is checked.
#[derive(Default)]
pub(crate) struct Diags(pub Vec<ConfigDiagnostic>);

impl Diags {
    pub fn push(&mut self, d: ConfigDiagnostic) {
        self.0.push(d);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(ConfigDiagnostic::is_error)
    }
    /// The warnings if there is no error, else every diagnostic as the error.
    pub fn finish<T>(self, value: T) -> Result<(T, Vec<ConfigDiagnostic>), ConfigError> {
        if self.has_errors() {
            Err(ConfigError::Invalid(self.0))
        } else {
            Ok((value, self.0))
        }
    }
}

/// A configuration decoded against its schema: every attribute present (null when unset),
/// values converted to the schema's types, marks removed.
#[derive(Clone)]
pub(crate) struct Obj(pub BTreeMap<String, Value>);

/// Terraform's `CoerceValue`: unknown attributes and missing required ones are errors; each
/// value is converted to its attribute's type (so `"true"` is a bool, `"5"` a number).
pub(crate) fn coerce(schema: &BackendSchema, config: &Map) -> Result<Obj, ConfigError> {
    coerce_attrs(&schema.attributes, config, "", true).map(Obj)
}

/// [`coerce`] with no attribute required (what Terraform hashes and records).
pub(crate) fn coerce_none_required(
    schema: &BackendSchema,
    config: &Map,
) -> Result<Obj, ConfigError> {
    coerce_attrs(&schema.attributes, config, "", false).map(Obj)
}

fn coerce_attrs(
    attrs: &[AttrSchema],
    given: &BTreeMap<String, Value>,
    path: &str,
    check_required: bool,
) -> Result<BTreeMap<String, Value>, ConfigError> {
    if let Some(name) = given.keys().find(|k| !attrs.iter().any(|a| a.name == *k)) {
        return Err(ConfigError::Schema(prefixed(
            path,
            &format!("unexpected attribute {name:?}"),
        )));
    }
    let mut out = BTreeMap::new();
    for attr in attrs {
        let v = given.get(attr.name).map(|v| v.clone().unmark_deep().0);
        let v = match v {
            Some(v) if !v.is_null() => v,
            _ => {
                if attr.required && check_required {
                    return Err(ConfigError::Schema(prefixed(
                        path,
                        &format!("attribute {:?} is required", attr.name),
                    )));
                }
                out.insert(attr.name.to_owned(), Value::Null(attr.ty.clone()));
                continue;
            }
        };
        let attr_path = format!("{path}.{}", attr.name);
        if !v.is_known() {
            return Err(ConfigError::Schema(format!(
                "{attr_path}: the value is not known yet (a backend configuration must be known before any resource is created)"
            )));
        }
        let converted = match &attr.nested {
            Some(nested) => {
                let fields = match &v {
                    Value::Object(m) | Value::Map(_, m) => m.clone(),
                    _ => {
                        return Err(ConfigError::Schema(format!(
                            "{attr_path}: an object is required"
                        )))
                    }
                };
                Value::Object(coerce_attrs(nested, &fields, &attr_path, check_required)?)
            }
            None => value::convert::convert(&v, &attr.ty).map_err(|e| {
                ConfigError::Schema(format!("{attr_path}: {}", lowercase_first(&e.message)))
            })?,
        };
        out.insert(attr.name.to_owned(), converted);
    }
    Ok(out)
}

fn prefixed(path: &str, msg: &str) -> String {
    if path.is_empty() {
        msg.to_owned()
    } else {
        format!("{path}: {msg}")
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Obj {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name).filter(|v| !v.is_null())
    }
    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name).and_then(|v| v.as_str()).map(str::to_owned)
    }
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }
    pub fn int(&self, name: &str) -> Option<Result<i64, String>> {
        self.get(name).map(|v| {
            v.as_number()
                .and_then(|n| n.to_i64())
                .ok_or_else(|| "must be a whole number".to_owned())
        })
    }
    pub fn strings(&self, name: &str) -> Option<Vec<String>> {
        match self.get(name)? {
            Value::Set(_, vs) | Value::List(_, vs) => Some(
                vs.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => None,
        }
    }
    pub fn nested(&self, name: &str) -> Option<Obj> {
        match self.get(name)? {
            Value::Object(m) => Some(Obj(m.clone())),
            _ => None,
        }
    }
}

/// The first of `names` set to a non-empty value in `env`.
pub(crate) fn env_first(env: &Env, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| env.get(*n).filter(|v| !v.is_empty()).cloned())
}

/// Go's `strconv.ParseBool`, which Terraform uses for boolean environment variables.
pub(crate) fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// A backend error for a configuration problem found while configuring.
pub(crate) fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Backend(BackendError::InvalidConfig(msg.into()))
}
