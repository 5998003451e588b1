//! Renders values and types as `terraform console` does: `tolist([...])`, `{ "a" = 1 }`
//! layout, `(sensitive value)`, `(known after apply)`, and `type()` output.
//!
//! Implementation in progress: signatures are fixed, bodies are being written.

use crate::{Type, Value};

/// The console rendering of a value.
pub fn console_value(v: &Value) -> String {
    let _ = v;
    todo!("value::render::console_value")
}

/// The console rendering of a type, as printed by `type(x)` in the console.
pub fn console_type(ty: &Type) -> String {
    let _ = ty;
    todo!("value::render::console_type")
}
