//! The provider boundary: schemas and the [`Provider`] trait, one method per protocol
//! operation. Plugin providers (crate `plugin`) and built-in ones implement the same trait, so the
//! engine never knows which it is talking to.

pub mod builtin;
pub mod schema;

pub use schema::{Attribute, Block, NestedBlock, NestingMode, ProviderSchema, ResourceSchema};

use value::{PathStep, Type, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A diagnostic as a provider reports it: it may name an attribute path instead of a source
/// range; the engine maps the path to the configuration's span.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderDiagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub attribute: Option<Vec<PathStep>>,
}

impl ProviderDiagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Self {
        ProviderDiagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            attribute: None,
        }
    }
    pub fn at(mut self, path: Vec<PathStep>) -> Self {
        self.attribute = Some(path);
        self
    }
}

pub type Diags = Vec<ProviderDiagnostic>;

pub fn has_errors(d: &Diags) -> bool {
    d.iter().any(|d| d.severity == Severity::Error)
}

/// A failure of the transport or the provider process itself (crash, protocol error), as
/// opposed to diagnostics the provider returned.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProviderError {
    #[error("the provider process exited unexpectedly: {0}")]
    Crashed(String),
    #[error("provider protocol error: {0}")]
    Protocol(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, ProviderError>;

#[derive(Clone, Debug)]
pub struct UpgradeResourceStateRequest {
    pub type_name: String,
    /// The schema version the stored state was written with.
    pub version: i64,
    /// The stored attributes as JSON (the `attributes` of a state v4 instance).
    pub raw_state_json: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct ReadResourceRequest {
    pub type_name: String,
    pub current_state: Value,
    pub private: Vec<u8>,
    pub provider_meta: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct ReadResourceResponse {
    /// Null means the remote object is gone.
    pub new_state: Value,
    pub private: Vec<u8>,
    pub diagnostics: Diags,
}

#[derive(Clone, Debug)]
pub struct PlanResourceChangeRequest {
    pub type_name: String,
    /// Null when creating.
    pub prior_state: Value,
    /// Null when destroying.
    pub proposed_new_state: Value,
    pub config: Value,
    pub prior_private: Vec<u8>,
    pub provider_meta: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct PlanResourceChangeResponse {
    pub planned_state: Value,
    pub requires_replace: Vec<Vec<PathStep>>,
    pub planned_private: Vec<u8>,
    pub legacy_type_system: bool,
    pub diagnostics: Diags,
}

#[derive(Clone, Debug)]
pub struct ApplyResourceChangeRequest {
    pub type_name: String,
    pub prior_state: Value,
    /// Null when destroying.
    pub planned_state: Value,
    pub config: Value,
    pub planned_private: Vec<u8>,
    pub provider_meta: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct ApplyResourceChangeResponse {
    pub new_state: Value,
    pub private: Vec<u8>,
    pub legacy_type_system: bool,
    pub diagnostics: Diags,
}

#[derive(Clone, Debug)]
pub struct ImportedResource {
    pub type_name: String,
    pub state: Value,
    pub private: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct ReadDataSourceRequest {
    pub type_name: String,
    pub config: Value,
    pub provider_meta: Option<Value>,
}

#[derive(Clone, Debug)]
pub struct MoveResourceStateRequest {
    pub source_provider_address: String,
    pub source_type_name: String,
    pub source_schema_version: i64,
    pub source_state_json: Vec<u8>,
    pub source_private: Vec<u8>,
    pub target_type_name: String,
}

#[derive(Clone, Debug)]
pub struct MoveResourceStateResponse {
    pub target_state: Value,
    pub target_private: Vec<u8>,
    pub diagnostics: Diags,
}

/// A provider-defined function's failure: about one argument (0-based) or the whole call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionError {
    pub argument: Option<usize>,
    pub text: String,
}

/// A provider-defined function's signature.
#[derive(Clone, Debug)]
pub struct FunctionSignature {
    pub params: Vec<FunctionParam>,
    pub variadic: Option<FunctionParam>,
    pub return_type: Type,
    pub summary: String,
    pub description: String,
}

#[derive(Clone, Debug)]
pub struct FunctionParam {
    pub name: String,
    pub ty: Type,
    pub allow_null: bool,
    pub allow_unknown: bool,
}

/// One provider instance (one configuration). Implementations must be usable from several
/// threads at once: the engine walks the graph in parallel.
pub trait Provider: Send + Sync {
    /// The provider's schema, shared: a plugin's is large and every caller only reads it.
    fn get_schema(&self) -> Result<(std::sync::Arc<ProviderSchema>, Diags)>;
    fn validate_provider_config(&self, config: &Value) -> Result<Diags>;
    fn validate_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags>;
    fn validate_data_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags>;
    fn configure(&self, terraform_version: &str, config: &Value) -> Result<Diags>;
    fn upgrade_resource_state(&self, req: UpgradeResourceStateRequest) -> Result<(Value, Diags)>;
    fn read_resource(&self, req: ReadResourceRequest) -> Result<ReadResourceResponse>;
    fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> Result<PlanResourceChangeResponse>;
    fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> Result<ApplyResourceChangeResponse>;
    fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<(Vec<ImportedResource>, Diags)>;
    fn read_data_source(&self, req: ReadDataSourceRequest) -> Result<(Value, Diags)>;
    fn move_resource_state(
        &self,
        req: MoveResourceStateRequest,
    ) -> Result<MoveResourceStateResponse>;
    fn call_function(
        &self,
        name: &str,
        args: Vec<Value>,
    ) -> Result<std::result::Result<Value, FunctionError>>;
    /// Whether ReadResource goes out to a remote API, so that a plan gains by reading every
    /// prior object as soon as the provider is configured instead of in dependency order.
    fn remote_reads(&self) -> bool {
        false
    }
    /// Asks the provider to abort in-flight operations.
    fn stop(&self) -> Result<()>;
    /// Ends the provider (process shutdown for plugins). Idempotent.
    fn close(&self) {}
}
