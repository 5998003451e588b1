//! Terraform's type system and values (the cty model): types, values with unknowns and marks,
//! arbitrary-precision numbers, conversion and unification, and the JSON/msgpack codecs.

pub mod number;
pub mod types;
pub mod value;

pub use number::Number;
pub use types::{ObjectType, Type};
pub use value::{Marks, PathStep, Refinements, Unknown, Value};
pub mod convert;
pub mod depth;
pub mod json;
pub mod msgpack;
pub mod ops;
pub mod redact;
pub mod render;
