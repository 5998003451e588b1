//! Terraform's remote state backends `s3`, `pg` and `http` behind [`statestore::Backend`], with
//! Terraform's argument names, defaults, validation and messages, and the backend state file
//! (`.terraform/terraform.tfstate`) that `init` records.
//!
//! A backend is opened from a map of attribute values (a `backend "s3" { … }` block merged with
//! `-backend-config`, or a `terraform_remote_state` data source's `config`) plus an explicit
//! environment map: nothing here reads the process environment, so one process can hold backends
//! configured for different stacks and credentials.
//!
//! **Architecture Invariant:** no secret given in a configuration (keys, tokens, passwords,
//! connection strings) appears in an error or log line of this crate.

mod aws;
pub mod backend_state;
mod config;
mod http;
mod httpc;
mod pg;
mod s3;
pub mod schema;
mod sigv4;

use std::collections::BTreeMap;

pub use config::{ConfigDiagnostic, ConfigError};
pub use schema::{AttrSchema, BackendSchema};
pub use statestore::{Backend, BackendError};
use value::Value;

/// Attribute values of a backend configuration, by argument name (nested attributes such as
/// s3's `endpoints` are object values).
pub type Map = BTreeMap<String, Value>;

/// The environment variables a backend may read (`AWS_*`, `PG*`, `TF_HTTP_*`, `HOME`, `USER`),
/// passed explicitly by the caller.
pub type Env = BTreeMap<String, String>;

/// The backend types this crate implements.
pub const KINDS: &[&str] = &["s3", "pg", "http"];

/// The workspace every backend has.
pub const DEFAULT_WORKSPACE: &str = "default";

/// Validates `config` for backend `kind` without contacting anything, as Terraform's
/// `PrepareConfig` does: on success the warnings (deprecated arguments and environment
/// variables), otherwise every error found.
pub fn check(kind: &str, config: &Map, env: &Env) -> Result<Vec<ConfigDiagnostic>, ConfigError> {
    match kind {
        "s3" => s3::S3Config::from_map(config, env).map(|(_, w)| w),
        "pg" => pg::PgConfig::from_map(config, env).map(|(_, w)| w),
        // Terraform checks the http backend's addresses only when it configures it.
        "http" => {
            let schema = schema::schema("http").expect("http schema");
            config::coerce(&schema, config).map(|_| Vec::new())
        }
        _ => Err(ConfigError::UnknownKind(kind.to_owned())),
    }
}

/// Validates `config` and configures the backend (which may contact it: pg creates its schema
/// and table, s3 validates credentials unless told to skip), as Terraform's `Configure` does.
pub fn open(kind: &str, config: &Map, env: &Env) -> Result<Box<dyn Backend>, ConfigError> {
    open_with_warnings(kind, config, env).map(|(b, _)| b)
}

/// [`open`], also returning the warnings [`check`] would give.
pub fn open_with_warnings(
    kind: &str,
    config: &Map,
    env: &Env,
) -> Result<(Box<dyn Backend>, Vec<ConfigDiagnostic>), ConfigError> {
    match kind {
        "s3" => {
            let (cfg, warnings) = s3::S3Config::from_map(config, env)?;
            Ok((Box::new(s3::S3Backend::configure(cfg)?), warnings))
        }
        "pg" => {
            let (cfg, warnings) = pg::PgConfig::from_map(config, env)?;
            Ok((Box::new(pg::PgBackend::configure(cfg)?), warnings))
        }
        "http" => {
            let (cfg, warnings) = http::HttpConfig::from_map(config, env)?;
            Ok((Box::new(http::HttpBackend::configure(cfg)?), warnings))
        }
        _ => Err(ConfigError::UnknownKind(kind.to_owned())),
    }
}

/// The state Terraform writes into a workspace that a backend creates: an empty state, serial 1,
/// a fresh lineage (byte for byte what `terraform workspace new` stores).
pub(crate) fn empty_state() -> Vec<u8> {
    let mut state = states::State::new(TERRAFORM_VERSION);
    state.serial = 1;
    state.to_vec()
}

/// The Terraform version weir is compatible with, written into new states and lock info.
pub const TERRAFORM_VERSION: &str = "1.11.4";
