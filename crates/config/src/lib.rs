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
pub mod native;
mod static_expr;
mod strip;

use diagnostics::{Diagnostics, LineIndex};

pub use body::{Attribute, Block, Body};
pub use expr::{BinaryOp, Expr, ExprKind, ObjectKey, TemplatePart, Traverser, UnaryOp};
pub use load::{load_config, load_module, parse_tfvars, traversal_text};
pub use model::*;

/// Parses one native-syntax expression (console input, `-var` values).
pub fn parse_expression(src: &str, filename: &str) -> Result<Expr, Diagnostics> {
    let idx = LineIndex::new(filename, src);
    // hcl-edit rejects trailing newlines after an expression; they carry no meaning.
    let trimmed = src.trim_end_matches(['\n', '\r', ' ', '\t']);
    let parsed = hcl_edit::parser::parse_expr(src).or_else(|e| {
        if trimmed.len() < src.len() {
            hcl_edit::parser::parse_expr(trimmed)
                .or_else(|_| hcl_edit::parser::parse_expr(&format!("{trimmed}\n")))
                .map_err(|_| e)
        } else {
            Err(e)
        }
    });
    match parsed {
        Ok(e) => Ok(native::expr(
            &e,
            &native::Ctx {
                idx: &idx,
                offset: 0,
            },
        )),
        Err(e) => {
            let mut ds = Diagnostics::new();
            ds.push(native::syntax_error(&e, &idx));
            Err(ds)
        }
    }
}

/// Parses a bare template (the contents of a `templatefile`, or a JSON config string).
pub fn parse_template(src: &str, filename: &str) -> Result<Expr, Diagnostics> {
    let idx = LineIndex::new(filename, src);
    match hcl_edit::parser::parse_template(src) {
        Ok(t) => {
            let cx = native::Ctx {
                idx: &idx,
                offset: 0,
            };
            let parts = native::template(&t, native::TemplateKind::Bare, &cx);
            let range = idx.range(0..src.len());
            Ok(native::template_wrap(parts, range))
        }
        Err(e) => {
            let mut ds = Diagnostics::new();
            ds.push(native::syntax_error(&e, &idx));
            Err(ds)
        }
    }
}

#[cfg(test)]
mod tests;
