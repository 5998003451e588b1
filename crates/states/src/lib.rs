//! Terraform state format v4: a model that round-trips `terraform.tfstate` byte for byte,
//! indexed for the engine (resource by address, object by instance key).
//!
//! Attributes, output values and sensitive paths stay raw JSON ([`RawJson`]): decoding them
//! needs provider schemas and belongs to the engine.
//!
//! **Architecture Invariant:** for any file Terraform wrote, `State::from_slice(b)?.to_vec() == b`.

mod json;
mod model;
mod read;
mod write;

pub use json::RawJson;
pub use model::{
    new_lineage, CheckObjectResult, CheckResult, Extras, InstanceKey, InstanceObject, ObjectKey,
    ObjectStatus, OutputValue, Resource, ResourceAddr, ResourceMode, State,
};
pub use write::check_results_to_compact_json;

/// The only state format version this crate reads and writes.
pub const STATE_FORMAT_VERSION: u64 = 4;

/// Why a state could not be read. Messages follow Terraform's "Unsupported state file format".
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The input is empty (Terraform treats this as "no state").
    #[error("the state file is empty")]
    NoState,
    #[error("Unsupported state file format: The state file could not be parsed as JSON: {message} at line {line}, column {column}.")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("Unsupported state file format: The state file does not have a \"version\" attribute, which is required to identify the format version.")]
    MissingVersion,
    #[error("Unsupported state file format: The version in the state file is {0}. A positive whole number is required.")]
    BadVersion(String),
    /// Versions 1–3 (Terraform 0.11 and older) are refused, not upgraded: upgrading needs the
    /// provider schemas to turn flatmap attributes into objects.
    #[error(
        "Unsupported state file format: The state file uses legacy format version {version} (Terraform 0.11 or older). \
         weir reads format version 4 only; upgrade the state first by running `terraform apply` or \
         `terraform refresh` with Terraform 0.12 or later."
    )]
    LegacyVersion { version: u64 },
    #[error(
        "Unsupported state file format: The state file uses format version {version}, which is not supported by weir \
         (it supports format version 4).{}",
        match terraform_version { Some(v) => format!(" This state file was created by Terraform {v}."), None => " This state file may have been created by a newer version of Terraform.".to_owned() }
    )]
    UnsupportedVersion {
        version: u64,
        terraform_version: Option<String>,
    },
    #[error("Invalid state file: {message} at line {line}, column {column}.")]
    Invalid {
        message: String,
        line: usize,
        column: usize,
    },
}

impl State {
    /// Parses a `terraform.tfstate` document (format version 4) in one linear pass.
    pub fn from_slice(src: &[u8]) -> Result<State, StateError> {
        read::parse(src)
    }
}

impl InstanceObject {
    /// Parses one object as written by [`InstanceObject::to_compact_json`] (or as it appears
    /// in a state file; `index_key` and `deposed` are ignored).
    pub fn from_json(text: &str) -> Result<InstanceObject, serde_json::Error> {
        read::parse_instance(text)
    }
}

impl OutputValue {
    pub fn from_json(text: &str) -> Result<OutputValue, serde_json::Error> {
        read::parse_output(text)
    }
}

/// Parses check results as written by [`check_results_to_compact_json`].
pub fn check_results_from_json(text: &str) -> Result<Option<Vec<CheckResult>>, serde_json::Error> {
    read::parse_check_results(text)
}
