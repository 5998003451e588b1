//! [`PluginProvider`]: the `providers::Provider` trait over a plugin process, for plugin
//! protocols 5 and 6.
//!
//! The messages shared by both protocols are identical on the wire (same field numbers), so
//! every call is made with protocol 6's message types and only the method path differs
//! (`/tfplugin5.Provider/Configure` vs `/tfplugin6.Provider/ConfigureProvider`). The one
//! exception is the schema answer, whose attribute fields are numbered differently; it is
//! decoded with the protocol's own type.

use crate::cache::{CachedSchema, SchemaCache};
use crate::convert::{
    attribute_path, decode_schema, diagnostics, dynamic_value, from_dynamic_value, Capabilities,
    ConvertError, DecodedSchema,
};
use crate::process::{LaunchOptions, PluginProcess, MAX_MESSAGE_SIZE};
use crate::proto::{tfplugin5 as v5, tfplugin6 as v6};
use prost::Message;
use providers::{
    ApplyResourceChangeRequest, ApplyResourceChangeResponse, Diags, ImportedResource,
    MoveResourceStateRequest, MoveResourceStateResponse, PlanResourceChangeRequest,
    PlanResourceChangeResponse, ProviderDiagnostic, ProviderError, ProviderSchema,
    ReadDataSourceRequest, ReadResourceRequest, ReadResourceResponse, Result,
    UpgradeResourceStateRequest,
};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tonic::codegen::http::uri::PathAndQuery;
use value::{Type, Value};

/// How to start a plugin provider.
#[derive(Clone, Debug)]
pub struct PluginOptions {
    pub binary: PathBuf,
    /// A short name for logs and errors (defaults to the binary's file name).
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub handshake_timeout: Duration,
    /// How long to wait after `GRPCController/Shutdown` before killing the process.
    pub shutdown_grace: Duration,
    /// Where decoded schemas are cached; `None` disables the cache.
    pub schema_cache: Option<SchemaCache>,
    /// A runtime to run calls on; without one the provider owns a small runtime. Calls block
    /// the calling thread, so they must not be made from inside an async task of that runtime.
    pub runtime: Option<tokio::runtime::Handle>,
}

impl PluginOptions {
    pub fn new(binary: impl Into<PathBuf>) -> PluginOptions {
        let binary = binary.into();
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| binary.display().to_string());
        PluginOptions {
            binary,
            name,
            args: Vec::new(),
            env: Vec::new(),
            handshake_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(2),
            schema_cache: SchemaCache::default_dir().map(SchemaCache::new),
            runtime: None,
        }
    }
}

/// Where the provider's schema came from at startup, and how long getting it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SchemaSource {
    Cache,
    Plugin,
}

/// The schema load that happened at startup.
#[derive(Clone, Copy, Debug)]
pub struct SchemaLoad {
    pub source: SchemaSource,
    pub elapsed: Duration,
}

enum Runtime {
    Owned(tokio::runtime::Runtime),
    Borrowed,
}

/// A provider plugin process behind the `Provider` trait. Cheap to share across threads
/// (`Arc<PluginProvider>`); every call blocks its thread on the provider's runtime.
pub struct PluginProvider {
    runtime: Option<Runtime>,
    handle: tokio::runtime::Handle,
    proc: Arc<PluginProcess>,
    schema: Arc<ProviderSchema>,
    schema_diags: Diags,
    capabilities: Capabilities,
    schema_load: SchemaLoad,
    shutdown_grace: Duration,
    closed: AtomicBool,
    name: String,
    /// The schema cache and this binary's key in it, when there is one.
    cache: Option<(SchemaCache, String)>,
}

/// The RPCs whose names differ between protocol 5 and 6.
#[derive(Clone, Copy)]
enum Rpc {
    GetSchema,
    ValidateProviderConfig,
    ValidateResourceConfig,
    ValidateDataResourceConfig,
    Configure,
    Stop,
    UpgradeResourceState,
    ReadResource,
    PlanResourceChange,
    ApplyResourceChange,
    ImportResourceState,
    MoveResourceState,
    ReadDataSource,
    CallFunction,
}

impl Rpc {
    fn name(self, version: u32) -> &'static str {
        let v5 = version == 5;
        match self {
            Rpc::GetSchema if v5 => "GetSchema",
            Rpc::GetSchema => "GetProviderSchema",
            Rpc::ValidateProviderConfig if v5 => "PrepareProviderConfig",
            Rpc::ValidateProviderConfig => "ValidateProviderConfig",
            Rpc::ValidateResourceConfig if v5 => "ValidateResourceTypeConfig",
            Rpc::ValidateResourceConfig => "ValidateResourceConfig",
            Rpc::ValidateDataResourceConfig if v5 => "ValidateDataSourceConfig",
            Rpc::ValidateDataResourceConfig => "ValidateDataResourceConfig",
            Rpc::Configure if v5 => "Configure",
            Rpc::Configure => "ConfigureProvider",
            Rpc::Stop if v5 => "Stop",
            Rpc::Stop => "StopProvider",
            Rpc::UpgradeResourceState => "UpgradeResourceState",
            Rpc::ReadResource => "ReadResource",
            Rpc::PlanResourceChange => "PlanResourceChange",
            Rpc::ApplyResourceChange => "ApplyResourceChange",
            Rpc::ImportResourceState => "ImportResourceState",
            Rpc::MoveResourceState => "MoveResourceState",
            Rpc::ReadDataSource => "ReadDataSource",
            Rpc::CallFunction => "CallFunction",
        }
    }
}

fn client_capabilities() -> Option<v6::ClientCapabilities> {
    // What Terraform 1.11 announces by default: no deferrals, write-only attributes allowed.
    Some(v6::ClientCapabilities {
        deferral_allowed: false,
        write_only_attributes_allowed: true,
    })
}

fn bad_message(rpc: &str, e: ConvertError) -> ProviderError {
    ProviderError::Protocol(format!("{rpc}: {e}"))
}

impl PluginProvider {
    /// Starts the plugin, completes the handshake and loads its schema (from the cache when
    /// the binary is known and the provider lets clients skip `GetProviderSchema`).
    pub fn start(opts: PluginOptions) -> Result<PluginProvider> {
        let (runtime, handle) = match opts.runtime.clone() {
            // Calls block the caller while the runtime drives them, which a single-threaded
            // runtime cannot do when the caller is its own thread.
            Some(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::CurrentThread => {
                return Err(ProviderError::Other(
                    "a plugin provider needs a multi-threaded tokio runtime".into(),
                ))
            }
            Some(h) => (Runtime::Borrowed, h),
            None => {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("weir-plugin")
                    .enable_all()
                    .build()
                    .map_err(|e| ProviderError::Other(format!("cannot start a runtime: {e}")))?;
                let h = rt.handle().clone();
                (Runtime::Owned(rt), h)
            }
        };
        let launch = LaunchOptions {
            binary: opts.binary.clone(),
            args: opts.args.clone(),
            env: opts.env.clone(),
            name: opts.name.clone(),
            handshake_timeout: opts.handshake_timeout,
        };
        // The cached schema is read and decoded while the plugin starts: both take tens of
        // milliseconds and neither needs the other.
        let (launched, cached) = std::thread::scope(|s| {
            let cached =
                s.spawn(|| read_cache(opts.schema_cache.as_ref(), &opts.binary, &opts.name));
            let launched = run_on(&handle, async move { PluginProcess::launch(&launch).await });
            (launched, cached.join().unwrap_or_default())
        });
        let proc = Arc::new(launched??);
        let mut p = PluginProvider {
            runtime: Some(runtime),
            handle,
            proc,
            schema: Arc::new(ProviderSchema::default()),
            schema_diags: Vec::new(),
            capabilities: Capabilities::default(),
            schema_load: SchemaLoad {
                source: SchemaSource::Plugin,
                elapsed: Duration::ZERO,
            },
            shutdown_grace: opts.shutdown_grace,
            closed: AtomicBool::new(false),
            name: opts.name.clone(),
            cache: None,
        };
        if let Err(e) = p.load_schema(cached) {
            p.close_inner();
            return Err(e);
        }
        Ok(p)
    }

    fn load_schema(&mut self, cached: CacheRead) -> Result<()> {
        let t0 = Instant::now();
        let version = self.protocol_version();
        self.cache = cached.cache;
        if let Some((v, d)) = cached.decoded {
            // Terraform skips the call only for providers that allow it; the others need it
            // to initialise themselves.
            if v == version && d.capabilities.get_provider_schema_optional {
                self.set_schema(d);
                self.schema_load = SchemaLoad {
                    source: SchemaSource::Cache,
                    elapsed: cached.elapsed,
                };
                return Ok(());
            }
        }
        let rpc = Rpc::GetSchema;
        let raw: Vec<u8> = if version == 5 {
            let resp: v5::get_provider_schema::Response =
                self.block_on_call(rpc, v5::get_provider_schema::Request {})?;
            resp.encode_to_vec()
        } else {
            let resp: v6::get_provider_schema::Response =
                self.block_on_call(rpc, v6::get_provider_schema::Request {})?;
            resp.encode_to_vec()
        };
        let decoded =
            decode_schema(version, &raw).map_err(|e| bad_message(rpc.name(version), e))?;
        // Entries convert lazily; check them all once, before the answer is trusted and cached.
        for m in [&decoded.schema.resource_types, &decoded.schema.data_sources] {
            m.check_all()
                .map_err(|e| bad_message(rpc.name(version), ConvertError(e)))?;
        }
        let clean = !providers::has_errors(&decoded.diagnostics);
        self.set_schema(decoded);
        self.schema_load = SchemaLoad {
            source: SchemaSource::Plugin,
            elapsed: t0.elapsed(),
        };
        if let (Some((c, k)), true) = (&self.cache, clean) {
            let entry = CachedSchema {
                protocol_version: version,
                response: raw,
            };
            if let Err(e) = c.store(k, &entry) {
                tracing::debug!(provider = %self.name, "cannot write schema cache: {e}");
            }
        }
        Ok(())
    }

    fn set_schema(&mut self, d: DecodedSchema) {
        self.schema = Arc::new(d.schema);
        self.schema_diags = d.diagnostics;
        self.capabilities = d.capabilities;
    }

    /// The negotiated plugin protocol major version (5 or 6).
    pub fn protocol_version(&self) -> u32 {
        self.proc.handshake.protocol_version
    }

    /// The schema without copying it.
    pub fn schema(&self) -> Arc<ProviderSchema> {
        self.schema.clone()
    }

    pub fn capabilities(&self) -> Capabilities {
        self.capabilities
    }

    /// How the schema was obtained at startup.
    pub fn schema_load(&self) -> SchemaLoad {
        self.schema_load
    }

    /// The plugin's process id (for diagnostics and tests).
    pub fn pid(&self) -> Option<u32> {
        self.proc.pid()
    }

    /// Kills the plugin process at once, without a graceful shutdown.
    pub fn kill(&self) {
        self.proc.kill();
    }

    fn block_on_call<Req, Resp>(&self, rpc: Rpc, req: Req) -> Result<Resp>
    where
        Req: Message + Send + Sync + 'static,
        Resp: Message + Default + Send + Sync + 'static,
    {
        if self.closed.load(Ordering::SeqCst) {
            return Err(ProviderError::Other(format!(
                "provider {} has been closed",
                self.name
            )));
        }
        let version = self.protocol_version();
        let method = rpc.name(version);
        let path = PathAndQuery::try_from(format!("/tfplugin{version}.Provider/{method}"))
            .map_err(|e| ProviderError::Protocol(e.to_string()))?;
        let channel = self.proc.channel.clone();
        let proc = self.proc.clone();
        let t0 = Instant::now();
        let r = run_on(&self.handle, async move {
            let mut grpc = tonic::client::Grpc::new(channel)
                .max_decoding_message_size(MAX_MESSAGE_SIZE)
                .max_encoding_message_size(MAX_MESSAGE_SIZE);
            proc.call(method, async move {
                grpc.ready()
                    .await
                    .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
                let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
                grpc.unary(tonic::Request::new(req), path, codec)
                    .await
                    .map(tonic::Response::into_inner)
            })
            .await
        })
        .and_then(|r| r);
        tracing::trace!(provider = %self.name, rpc = method, elapsed = ?t0.elapsed(), ok = r.is_ok(), "plugin call");
        r
    }

    fn rpc_name(&self, rpc: Rpc) -> &'static str {
        rpc.name(self.protocol_version())
    }

    fn resource_type(&self, type_name: &str) -> Result<Type> {
        self.schema
            .resource_types
            .get(type_name)
            .map(|s| s.block.implied_type())
            .ok_or_else(|| {
                ProviderError::Other(format!(
                    "provider {} does not support resource type {type_name:?}",
                    self.name
                ))
            })
    }

    fn data_source_type(&self, type_name: &str) -> Result<Type> {
        self.schema
            .data_sources
            .get(type_name)
            .map(|s| s.block.implied_type())
            .ok_or_else(|| {
                ProviderError::Other(format!(
                    "provider {} does not support data source {type_name:?}",
                    self.name
                ))
            })
    }

    fn encode(&self, rpc: Rpc, v: &Value, ty: &Type) -> Result<Option<v6::DynamicValue>> {
        dynamic_value(v, ty).map(Some).map_err(|e| {
            ProviderError::Other(format!("{}: cannot encode value: {e}", self.rpc_name(rpc)))
        })
    }

    fn decode(&self, rpc: Rpc, dv: Option<v6::DynamicValue>, ty: &Type) -> Result<Value> {
        from_dynamic_value(dv, ty).map_err(|e| bad_message(self.rpc_name(rpc), e))
    }

    fn provider_meta(&self, rpc: Rpc, meta: &Option<Value>) -> Result<Option<v6::DynamicValue>> {
        // Sent only when the provider declares a provider_meta schema, as Terraform does.
        let Some(block) = &self.schema.provider_meta else {
            return Ok(None);
        };
        let ty = block.implied_type();
        let v = meta.clone().unwrap_or_else(|| Value::Null(ty.clone()));
        self.encode(rpc, &v, &ty)
    }

    fn close_inner(&self) {
        if self.closed.swap(true, Ordering::SeqCst) {
            return;
        }
        let proc = self.proc.clone();
        let grace = self.shutdown_grace;
        tracing::debug!(provider = %self.name, "shutting the plugin down");
        if run_on(&self.handle, async move { proc.shutdown(grace).await }).is_err() {
            self.proc.kill();
        }
        tracing::debug!(provider = %self.name, "plugin stopped");
    }
}

/// Runs a future on the runtime and blocks the calling thread until it finishes. Unlike
/// `Handle::block_on` this works from any thread, including one already inside a runtime
/// (which it blocks, so callers on a borrowed runtime must not use all of its workers).
fn run_on<T: Send + 'static>(
    handle: &tokio::runtime::Handle,
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    handle.spawn(async move {
        let _ = tx.send(fut.await);
    });
    // The sender is dropped without a value only when the runtime shuts down under us.
    rx.recv()
        .map_err(|_| ProviderError::Other("the plugin runtime has shut down".into()))
}

/// What the schema cache held for a binary, read before the plugin's protocol is known.
#[derive(Default)]
struct CacheRead {
    /// The cache and the binary's key in it.
    cache: Option<(SchemaCache, String)>,
    /// The cached answer, decoded, with the protocol version it was written in.
    decoded: Option<(u32, DecodedSchema)>,
    elapsed: Duration,
}

fn read_cache(cache: Option<&SchemaCache>, binary: &std::path::Path, name: &str) -> CacheRead {
    let t0 = Instant::now();
    let Some(c) = cache else {
        return CacheRead::default();
    };
    let key = match c.binary_key(binary) {
        Ok(k) => k,
        Err(e) => {
            tracing::debug!(provider = %name, "schema cache unavailable: {e}");
            return CacheRead::default();
        }
    };
    let decoded = c
        .load(&key)
        .and_then(|e| match decode_schema(e.protocol_version, &e.response) {
            Ok(d) => Some((e.protocol_version, d)),
            Err(err) => {
                tracing::debug!(provider = %name, "ignoring bad cached schema: {err}");
                None
            }
        });
    CacheRead {
        cache: Some((c.clone(), key)),
        decoded,
        elapsed: t0.elapsed(),
    }
}

impl Drop for PluginProvider {
    fn drop(&mut self) {
        self.close_inner();
        if let Some(Runtime::Owned(rt)) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl providers::Provider for PluginProvider {
    fn remote_reads(&self) -> bool {
        true
    }

    fn get_schema(&self) -> Result<(Arc<ProviderSchema>, Diags)> {
        Ok((self.schema.clone(), self.schema_diags.clone()))
    }

    fn validate_provider_config(&self, config: &Value) -> Result<Diags> {
        let rpc = Rpc::ValidateProviderConfig;
        let ty = self.schema.provider.implied_type();
        let req = v6::validate_provider_config::Request {
            config: self.encode(rpc, config, &ty)?,
        };
        // A configuration with unknowns may validate differently once known: never memoised.
        let memo = match (&self.cache, &req.config) {
            (Some((c, k)), Some(dv)) if config.is_wholly_known() => {
                Some((c, k, dv.msgpack.clone()))
            }
            _ => None,
        };
        if let Some((c, k, bytes)) = &memo {
            if c.validated(k, bytes) {
                tracing::debug!(provider = %self.name, "provider configuration validated before; skipping ValidateProviderConfig");
                return Ok(Vec::new());
            }
        }
        let resp: v6::validate_provider_config::Response = self.block_on_call(rpc, req)?;
        if let (Some((c, k, bytes)), true) = (&memo, resp.diagnostics.is_empty()) {
            c.mark_validated(k, bytes);
        }
        Ok(diagnostics(resp.diagnostics))
    }

    fn validate_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags> {
        let rpc = Rpc::ValidateResourceConfig;
        let ty = self.resource_type(type_name)?;
        let req = v6::validate_resource_config::Request {
            type_name: type_name.to_string(),
            config: self.encode(rpc, config, &ty)?,
            client_capabilities: client_capabilities(),
        };
        let resp: v6::validate_resource_config::Response = self.block_on_call(rpc, req)?;
        Ok(diagnostics(resp.diagnostics))
    }

    fn validate_data_resource_config(&self, type_name: &str, config: &Value) -> Result<Diags> {
        let rpc = Rpc::ValidateDataResourceConfig;
        let ty = self.data_source_type(type_name)?;
        let req = v6::validate_data_resource_config::Request {
            type_name: type_name.to_string(),
            config: self.encode(rpc, config, &ty)?,
        };
        let resp: v6::validate_data_resource_config::Response = self.block_on_call(rpc, req)?;
        Ok(diagnostics(resp.diagnostics))
    }

    fn configure(&self, terraform_version: &str, config: &Value) -> Result<Diags> {
        let rpc = Rpc::Configure;
        let ty = self.schema.provider.implied_type();
        let req = v6::configure_provider::Request {
            terraform_version: terraform_version.to_string(),
            config: self.encode(rpc, config, &ty)?,
            client_capabilities: client_capabilities(),
        };
        let resp: v6::configure_provider::Response = self.block_on_call(rpc, req)?;
        Ok(diagnostics(resp.diagnostics))
    }

    fn upgrade_resource_state(&self, req: UpgradeResourceStateRequest) -> Result<(Value, Diags)> {
        let rpc = Rpc::UpgradeResourceState;
        let ty = self.resource_type(&req.type_name)?;
        let preq = v6::upgrade_resource_state::Request {
            type_name: req.type_name,
            version: req.version,
            raw_state: Some(v6::RawState {
                json: req.raw_state_json,
                flatmap: Default::default(),
            }),
        };
        let resp: v6::upgrade_resource_state::Response = self.block_on_call(rpc, preq)?;
        let diags = diagnostics(resp.diagnostics);
        let v = self.decode(rpc, resp.upgraded_state, &ty)?;
        Ok((v, diags))
    }

    fn read_resource(&self, req: ReadResourceRequest) -> Result<ReadResourceResponse> {
        let rpc = Rpc::ReadResource;
        let ty = self.resource_type(&req.type_name)?;
        let preq = v6::read_resource::Request {
            current_state: self.encode(rpc, &req.current_state, &ty)?,
            private: req.private,
            provider_meta: self.provider_meta(rpc, &req.provider_meta)?,
            client_capabilities: client_capabilities(),
            type_name: req.type_name,
        };
        let resp: v6::read_resource::Response = self.block_on_call(rpc, preq)?;
        Ok(ReadResourceResponse {
            new_state: self.decode(rpc, resp.new_state, &ty)?,
            private: resp.private,
            diagnostics: diagnostics(resp.diagnostics),
        })
    }

    fn plan_resource_change(
        &self,
        req: PlanResourceChangeRequest,
    ) -> Result<PlanResourceChangeResponse> {
        let rpc = Rpc::PlanResourceChange;
        let ty = self.resource_type(&req.type_name)?;
        let preq = v6::plan_resource_change::Request {
            prior_state: self.encode(rpc, &req.prior_state, &ty)?,
            proposed_new_state: self.encode(rpc, &req.proposed_new_state, &ty)?,
            config: self.encode(rpc, &req.config, &ty)?,
            prior_private: req.prior_private,
            provider_meta: self.provider_meta(rpc, &req.provider_meta)?,
            client_capabilities: client_capabilities(),
            type_name: req.type_name,
        };
        let resp: v6::plan_resource_change::Response = self.block_on_call(rpc, preq)?;
        Ok(PlanResourceChangeResponse {
            planned_state: self.decode(rpc, resp.planned_state, &ty)?,
            requires_replace: resp
                .requires_replace
                .into_iter()
                .map(attribute_path)
                .collect(),
            planned_private: resp.planned_private,
            legacy_type_system: resp.legacy_type_system,
            diagnostics: diagnostics(resp.diagnostics),
        })
    }

    fn apply_resource_change(
        &self,
        req: ApplyResourceChangeRequest,
    ) -> Result<ApplyResourceChangeResponse> {
        let rpc = Rpc::ApplyResourceChange;
        let ty = self.resource_type(&req.type_name)?;
        let preq = v6::apply_resource_change::Request {
            prior_state: self.encode(rpc, &req.prior_state, &ty)?,
            planned_state: self.encode(rpc, &req.planned_state, &ty)?,
            config: self.encode(rpc, &req.config, &ty)?,
            planned_private: req.planned_private,
            provider_meta: self.provider_meta(rpc, &req.provider_meta)?,
            type_name: req.type_name,
        };
        let resp: v6::apply_resource_change::Response = self.block_on_call(rpc, preq)?;
        Ok(ApplyResourceChangeResponse {
            new_state: self.decode(rpc, resp.new_state, &ty)?,
            private: resp.private,
            legacy_type_system: resp.legacy_type_system,
            diagnostics: diagnostics(resp.diagnostics),
        })
    }

    fn import_resource_state(
        &self,
        type_name: &str,
        id: &str,
    ) -> Result<(Vec<ImportedResource>, Diags)> {
        let rpc = Rpc::ImportResourceState;
        self.resource_type(type_name)?;
        let preq = v6::import_resource_state::Request {
            type_name: type_name.to_string(),
            id: id.to_string(),
            client_capabilities: client_capabilities(),
        };
        let resp: v6::import_resource_state::Response = self.block_on_call(rpc, preq)?;
        let mut out = Vec::with_capacity(resp.imported_resources.len());
        for r in resp.imported_resources {
            // An import may return objects of other types than the one asked for.
            let ty = self.resource_type(&r.type_name)?;
            out.push(ImportedResource {
                state: self.decode(rpc, r.state, &ty)?,
                private: r.private,
                type_name: r.type_name,
            });
        }
        Ok((out, diagnostics(resp.diagnostics)))
    }

    fn read_data_source(&self, req: ReadDataSourceRequest) -> Result<(Value, Diags)> {
        let rpc = Rpc::ReadDataSource;
        let ty = self.data_source_type(&req.type_name)?;
        let preq = v6::read_data_source::Request {
            config: self.encode(rpc, &req.config, &ty)?,
            provider_meta: self.provider_meta(rpc, &req.provider_meta)?,
            client_capabilities: client_capabilities(),
            type_name: req.type_name,
        };
        let resp: v6::read_data_source::Response = self.block_on_call(rpc, preq)?;
        let diags = diagnostics(resp.diagnostics);
        Ok((self.decode(rpc, resp.state, &ty)?, diags))
    }

    fn move_resource_state(
        &self,
        req: MoveResourceStateRequest,
    ) -> Result<MoveResourceStateResponse> {
        let rpc = Rpc::MoveResourceState;
        let ty = self.resource_type(&req.target_type_name)?;
        let preq = v6::move_resource_state::Request {
            source_provider_address: req.source_provider_address,
            source_type_name: req.source_type_name,
            source_schema_version: req.source_schema_version,
            source_state: Some(v6::RawState {
                json: req.source_state_json,
                flatmap: Default::default(),
            }),
            target_type_name: req.target_type_name,
            source_private: req.source_private,
        };
        let resp: v6::move_resource_state::Response = self.block_on_call(rpc, preq)?;
        Ok(MoveResourceStateResponse {
            target_state: self.decode(rpc, resp.target_state, &ty)?,
            target_private: resp.target_private,
            diagnostics: diagnostics(resp.diagnostics),
        })
    }

    fn call_function(
        &self,
        name: &str,
        args: Vec<Value>,
    ) -> Result<std::result::Result<Value, providers::FunctionError>> {
        let rpc = Rpc::CallFunction;
        let fail = |argument, text| Ok(Err(providers::FunctionError { argument, text }));
        let Some(sig) = self.schema.functions.get(name) else {
            return fail(
                None,
                format!("provider {} has no function {name:?}", self.name),
            );
        };
        let mut arguments = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let ty = match sig.params.get(i).or(sig.variadic.as_ref()) {
                Some(p) => &p.ty,
                None => {
                    return fail(
                        Some(i),
                        format!("too many arguments: {name} takes {}", sig.params.len()),
                    )
                }
            };
            arguments.push(dynamic_value(a, ty).map_err(|e| bad_message("CallFunction", e))?);
        }
        let preq = v6::call_function::Request {
            name: name.to_string(),
            arguments,
        };
        let resp: v6::call_function::Response = self.block_on_call(rpc, preq)?;
        if let Some(e) = resp.error {
            let argument = e.function_argument.and_then(|i| usize::try_from(i).ok());
            return fail(argument, e.text);
        }
        Ok(Ok(self.decode(rpc, resp.result, &sig.return_type)?))
    }

    fn stop(&self) -> Result<()> {
        let resp: v6::stop_provider::Response =
            self.block_on_call(Rpc::Stop, v6::stop_provider::Request {})?;
        if resp.error.is_empty() {
            Ok(())
        } else {
            Err(ProviderError::Other(resp.error))
        }
    }

    fn close(&self) {
        self.close_inner();
    }
}

/// Convenience for callers and tests: an error diagnostic list as one message.
pub fn diags_to_string(diags: &[ProviderDiagnostic]) -> String {
    diags
        .iter()
        .map(|d| format!("{:?}: {}: {}", d.severity, d.summary, d.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_names_follow_the_protocol() {
        assert_eq!(Rpc::GetSchema.name(5), "GetSchema");
        assert_eq!(Rpc::GetSchema.name(6), "GetProviderSchema");
        assert_eq!(Rpc::ValidateProviderConfig.name(5), "PrepareProviderConfig");
        assert_eq!(
            Rpc::ValidateResourceConfig.name(5),
            "ValidateResourceTypeConfig"
        );
        assert_eq!(
            Rpc::ValidateDataResourceConfig.name(6),
            "ValidateDataResourceConfig"
        );
        assert_eq!(Rpc::Configure.name(6), "ConfigureProvider");
        assert_eq!(Rpc::Stop.name(5), "Stop");
        assert_eq!(Rpc::PlanResourceChange.name(5), "PlanResourceChange");
    }

    #[test]
    fn a_single_threaded_runtime_is_refused() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut opts = PluginOptions::new("/nonexistent/terraform-provider-x");
        opts.runtime = Some(rt.handle().clone());
        let err = PluginProvider::start(opts).err().unwrap();
        assert!(err.to_string().contains("multi-threaded"), "{err}");
    }

    #[test]
    fn a_missing_binary_is_a_clear_error() {
        let opts = PluginOptions::new("/nonexistent/terraform-provider-x");
        let err = PluginProvider::start(opts).err().unwrap();
        let msg = err.to_string();
        assert!(msg.contains("/nonexistent/terraform-provider-x"), "{msg}");
    }
}
