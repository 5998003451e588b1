//! Type conversion and unification with Terraform's (cty's) rules and error messages.
//!
//! Implementation in progress: signatures are fixed, bodies are being written.

use crate::{PathStep, Type, Value};

/// Why a conversion failed. `path` locates the failing element; `message` is cty's text, e.g.
/// "a number is required" or "attribute \"a\" is required".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConvertError {
    pub path: Vec<PathStep>,
    pub message: String,
}

/// Converts `v` to type `ty` (which may contain `Dynamic` and optional attributes), as cty's
/// `convert.Convert` does (safe and unsafe conversions both allowed). Marks are preserved.
pub fn convert(v: &Value, ty: &Type) -> Result<Value, ConvertError> {
    let _ = (v, ty);
    todo!("value::convert::convert")
}

/// The most specific type that all of `types` convert to (cty's `convert.UnifyUnsafe`), or
/// `None` when there is none.
pub fn unify(types: &[Type]) -> Option<Type> {
    let _ = types;
    todo!("value::convert::unify")
}
