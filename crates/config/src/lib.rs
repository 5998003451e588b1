//! Terraform configuration as a static tree: files are parsed, never evaluated, and every
//! expression keeps its source range so later errors can point at file:line:col.

// Diagnostics are deliberately rich values; boxing them would only add noise.
#![allow(clippy::result_large_err)]

pub mod body;
pub mod decode;
pub mod expr;
pub mod fmt;
pub mod json;
pub mod load;
pub mod model;
pub mod modmanifest;
pub mod native;
mod static_expr;
mod strip;

use diagnostics::Diagnostics;

pub use body::{Attribute, Block, Body};
pub use expr::{BinaryOp, Expr, ExprKind, ObjectKey, TemplatePart, Traverser, UnaryOp};
pub use load::{
    load_config, load_config_with_modules, load_module, parse_call_source, parse_tfvars,
    traversal_text,
};
pub use model::*;

/// Parses one native-syntax expression (console input, `-var` values).
pub fn parse_expression(src: &str, filename: &str) -> Result<Expr, Diagnostics> {
    native::parse_expression(src, filename).map_err(Diagnostics::from)
}

/// Parses a bare template (the contents of a `templatefile`, or a JSON config string).
pub fn parse_template(src: &str, filename: &str) -> Result<Expr, Diagnostics> {
    native::parse_template(src, filename).map_err(Diagnostics::from)
}

#[cfg(test)]
mod tests;
