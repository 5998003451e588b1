//! Terraform's expression language: evaluation of the config AST against a scope (variables,
//! locals, resources, `count`/`each`, `path`, `terraform`), with unknowns and sensitive marks
//! propagating, the built-in functions, schema-driven block decoding, and reference analysis.

// Diagnostics are deliberately rich values; boxing them would only add noise.
#![allow(clippy::result_large_err)]

mod block;
mod call;
mod eval;
mod exprvalues;
mod ops;
mod refs;

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use value::{Type, Value};

pub use eval::instance_key;
pub use exprvalues::{compact_value, expression_values};
pub use refs::{body_references, references, undeclared_module, undeclared_named};

/// What an expression refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    Var(String),
    Local(String),
    /// `module.NAME`: the object (or tuple/map of objects) of the call's outputs.
    Module(String),
    Resource(ResourceRef),
    CountIndex,
    EachKey,
    EachValue,
    /// `path.module`, `path.root`, `path.cwd`.
    Path(String),
    /// `terraform.workspace`.
    Terraform(String),
    SelfRef,
    Output(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ResourceRef {
    pub mode: addrs::Mode,
    pub type_name: String,
    pub name: String,
}

/// Where references resolve. The engine implements it over the values of a walk.
pub trait Data: Sync {
    fn get(&self, r: &Reference, range: &SourceRange) -> Result<Value, Diagnostic>;
    /// Fast path for `type.name[key]`, so evaluating one instance of a resource with many
    /// instances does not build the whole collection. `None` falls back to `get` + index.
    fn get_resource_instance(
        &self,
        _res: &ResourceRef,
        _key: &addrs::InstanceKey,
        _range: &SourceRange,
    ) -> Option<Result<Value, Diagnostic>> {
        None
    }
    /// Provider-defined functions (`provider::NS::NAME`); `None` when the module declares no
    /// provider `NS`. The error says which argument it is about, if any.
    fn call_provider_function(
        &self,
        _provider: &str,
        _name: &str,
        _args: Vec<Value>,
    ) -> Option<Result<Value, functions::FuncError>> {
        None
    }
}

/// A map-backed [`Data`] for tests and the console without configuration.
#[derive(Default)]
pub struct MapData {
    pub values: HashMap<Reference, Value>,
}

impl Data for MapData {
    fn get(&self, r: &Reference, range: &SourceRange) -> Result<Value, Diagnostic> {
        match self.values.get(r) {
            Some(v) => Ok(v.clone()),
            None => Err(refs::undeclared(r, range)),
        }
    }
}

/// The context expressions evaluate in.
pub struct Scope<'a> {
    pub data: &'a dyn Data,
    /// `path.module`: relative paths of file functions resolve against it.
    pub base_dir: PathBuf,
    /// Plan time: impure functions (`timestamp`, `uuid`, `bcrypt`) return unknown values.
    pub pure_only: bool,
    pub plan_timestamp: Option<DateTime<Utc>>,
    /// Console mode allows `type()`.
    pub console: bool,
    /// Without functions every call is an unknown value: the static view of an expression
    /// that Terraform's JSON configuration uses for `constant_value`.
    pub functions: bool,
    /// Inside a template that `templatefile` or `templatestring` renders, where (as in
    /// Terraform) those two functions refuse to be called again.
    pub(crate) in_template: bool,
}

impl<'a> Scope<'a> {
    pub fn new(data: &'a dyn Data, base_dir: PathBuf) -> Scope<'a> {
        Scope {
            data,
            base_dir,
            pure_only: false,
            plan_timestamp: None,
            console: false,
            functions: true,
            in_template: false,
        }
    }

    /// Evaluates calls as unknown values instead of calling anything.
    pub fn without_functions(mut self) -> Self {
        self.functions = false;
        self
    }

    pub fn pure_only(mut self, pure: bool) -> Self {
        self.pure_only = pure;
        self
    }

    /// Evaluates and converts to `want` (`Dynamic` for no conversion).
    pub fn eval(&self, expr: &config::Expr, want: &Type) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::new();
        let v = eval::Evaluator::new(self).eval(expr, &mut diags);
        if diags.has_errors() {
            return (Value::unknown(want.clone()), diags);
        }
        // Each evaluation may wrap values from earlier ones (a chain of locals), so the depth
        // bound is kept here, where every value of the configuration passes.
        if value::depth::too_deep(&v) {
            diags.push(
                Diagnostic::error(
                    "Value too deeply nested",
                    format!(
                        "{}.",
                        value::depth::too_deep_message("The result of this expression")
                    ),
                )
                .with_subject(expr.range.clone()),
            );
            return (Value::unknown(want.clone()), diags);
        }
        if *want == Type::Dynamic {
            return (v, diags);
        }
        match value::convert::convert(&v, want) {
            Ok(c) => (c, diags),
            Err(e) => {
                diags.push(
                    Diagnostic::error(
                        "Incorrect value type",
                        format!("Invalid expression value: {e}."),
                    )
                    .with_subject(expr.range.clone()),
                );
                (Value::unknown(want.clone()), diags)
            }
        }
    }

    /// Decodes a resource, data source or provider body against its schema into the object
    /// value of `schema.implied_type()`, reporting every schema violation.
    pub fn eval_block(
        &self,
        body: &config::Body,
        schema: &providers::schema::Block,
    ) -> (Value, Diagnostics) {
        let mut diags = Diagnostics::new();
        let v = block::decode(self, body, schema, &mut diags);
        (v, diags)
    }
}

/// Evaluates one console entry and renders the result as `terraform console` prints it.
pub fn console_eval(src: &str, scope: &Scope) -> Result<String, Diagnostics> {
    let expr = config::parse_expression(src, "<console-input>")?;
    let console_scope = Scope {
        data: scope.data,
        base_dir: scope.base_dir.clone(),
        pure_only: scope.pure_only,
        plan_timestamp: scope.plan_timestamp,
        console: true,
        functions: scope.functions,
        in_template: scope.in_template,
    };
    let mut diags = Diagnostics::new();
    let v = eval::Evaluator::new(&console_scope).eval(&expr, &mut diags);
    if diags.has_errors() {
        return Err(diags);
    }
    if let Some(t) = v.as_str().and_then(|s| s.strip_prefix("\u{0}type:")) {
        return Ok(t.to_string());
    }
    Ok(eval::console_render(&v))
}

#[cfg(test)]
mod tests;
