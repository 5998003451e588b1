//! Terraform's built-in functions: a cty-style function framework (parameter specs, automatic
//! argument conversion, unknown short-circuiting, mark propagation) and Terraform 1.11's table of
//! functions, with results and error messages as Terraform reports them.
//!
//! The evaluator calls [`call`] with already-evaluated argument values; `try`, `can` and `type`
//! are not ordinary functions (they need unevaluated expressions) and are handled by the
//! evaluator, but they are listed in [`names`] so the function table matches Terraform's.

mod collection;
mod conversion;
mod crypto;
mod csv;
mod datetime;
mod encoding;
mod filesystem;
mod format;
mod framework;
mod goflate;
mod network;
mod numeric;
mod sensitive;
mod string;
mod yaml;

/// The longest string a function builds from a small input (padding, indentation): asking
/// for more is an error instead of an allocation of gigabytes.
pub const MAX_STRING_BYTES: usize = 100_000_000;

/// How a template renderer reports a reference to a variable that `vars` lacks (followed by
/// the quoted name and where it was referenced), so `templatefile` can blame its `vars`.
pub const MISSING_TEMPLATE_VAR: &str = "missing template variable: ";
/// Prefix of a template renderer error about the template's syntax.
pub const INVALID_TEMPLATE: &str = "invalid template: ";

pub use framework::{
    call, lookup, metadata_json, names, signature_json, FuncContext, FuncError, Function, Param,
    TemplateRenderer,
};
