//! Terraform configuration as a static tree: files are parsed, never evaluated, and every
//! expression keeps its source range so later errors can point at file:line:col.

pub mod expr;

pub use expr::{BinaryOp, Expr, ExprKind, ObjectKey, TemplatePart, Traverser, UnaryOp};
