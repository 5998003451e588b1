//! Operations on a stack: lock → load config, variables and state → run the engine → persist.
//! This is the one entry point the CLI calls (and the agent and server will call): it knows
//! files, locks and processes; the engine below it does not, and the CLI above only renders.

pub mod config_json;
pub mod console;
pub mod factory;
pub mod fmt;
pub mod init;
pub mod planfile;
pub mod show;
pub mod state_ops;
pub mod vars;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use config::Config;
use diagnostics::{Diagnostic, Diagnostics, Sources};
use plans::{Plan, PlanMode};
use providers::schema::ProviderSchema;
use sha2::{Digest, Sha256};
use states::{InstanceObject, ObjectKey, OutputValue, ResourceAddr, State};
use statestore::{ApplyJournal, LockInfo, SqliteStore, StateStore, StoreError, WriteMeta};

pub use engine::ApplyEvent;
pub use factory::Factory;
pub use vars::VarArg;

/// The Terraform version weir is compatible with; written into state files.
pub const TERRAFORM_VERSION: &str = "1.11.4";

/// A failed operation: diagnostics, with the sources needed to show snippets.
#[derive(Debug, Default)]
pub struct Failure {
    pub diagnostics: Diagnostics,
    pub sources: Sources,
}

impl Failure {
    pub fn new(summary: impl Into<String>, detail: impl Into<String>) -> Failure {
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(Diagnostic::error(summary, detail));
        Failure {
            diagnostics,
            sources: Sources::new(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        match e {
            StoreError::Lock(l) => Failure::new(statestore::LOCK_ERROR_SUMMARY, l.to_string()),
            StoreError::WorkspaceNotEmpty { .. } => {
                Failure::new(statestore::WORKSPACE_NOT_EMPTY_SUMMARY, e.to_string())
            }
            other => Failure::new("Failed to load state", other.to_string()),
        }
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// A working directory with its embedded state store.
pub struct Stack {
    pub dir: PathBuf,
    store: Option<SqliteStore>,
}

impl Stack {
    pub fn open(dir: &Path) -> Stack {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Stack { dir, store: None }
    }

    /// The state store, created on first use.
    pub fn store(&mut self) -> Result<&SqliteStore> {
        if self.store.is_none() {
            self.store = Some(SqliteStore::open_workdir(&self.dir)?);
        }
        Ok(self.store.as_ref().expect("just opened"))
    }

    /// The selected workspace: `TF_WORKSPACE` wins, as in Terraform.
    pub fn workspace(&mut self) -> Result<String> {
        if let Ok(w) = std::env::var("TF_WORKSPACE") {
            if !w.is_empty() {
                return Ok(w);
            }
        }
        if !self
            .dir
            .join(".weir")
            .join(statestore::DB_FILE_NAME)
            .exists()
        {
            return Ok(statestore::DEFAULT_WORKSPACE.to_string());
        }
        Ok(self.store()?.selected_workspace()?)
    }

    /// The current state of the workspace (an empty one with a fresh lineage if none).
    pub fn current_state(&mut self, workspace: &str) -> Result<State> {
        if !self
            .dir
            .join(".weir")
            .join(statestore::DB_FILE_NAME)
            .exists()
        {
            return Ok(State::new(TERRAFORM_VERSION));
        }
        Ok(self
            .store()?
            .current(workspace)?
            .unwrap_or_else(|| State::new(TERRAFORM_VERSION)))
    }
}

/// A loaded configuration.
pub struct Loaded {
    pub config: Config,
    pub sources: Sources,
    /// SHA-256 over the configuration files, to tie saved plans to the config they came from.
    pub digest: String,
}

/// Loads the configuration in `dir` (root module and local child modules).
pub fn load_config(dir: &Path) -> Result<Loaded> {
    let (cfg, diags, sources) = config::load_config(dir);
    match cfg {
        Some(config) if !diags.has_errors() => {
            let digest = config_digest(&sources);
            Ok(Loaded {
                config,
                sources,
                digest,
            })
        }
        _ => Err(Failure {
            diagnostics: diags,
            sources,
        }),
    }
}

fn config_digest(sources: &Sources) -> String {
    let mut h = Sha256::new();
    for (name, text) in sources.iter() {
        h.update(name.as_bytes());
        h.update([0]);
        h.update(text.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize())
}

/// What a plan run needs besides the stack.
#[derive(Clone, Debug)]
pub struct PlanRequest {
    pub mode: PlanMode,
    pub refresh: bool,
    pub targets: Vec<addrs::Target>,
    pub replace: Vec<addrs::AbsResourceInstance>,
    pub parallelism: usize,
    pub vars: Vec<VarArg>,
    pub lock: bool,
    pub lock_timeout: Duration,
    pub input: bool,
    /// Progress during planning (refreshes, data source reads), for a live display.
    pub events: Option<PlanEvents>,
}

/// A progress observer for planning.
#[derive(Clone)]
pub struct PlanEvents(pub std::sync::Arc<dyn Fn(engine::ApplyEvent) + Send + Sync>);

impl std::fmt::Debug for PlanEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlanEvents")
    }
}

impl Default for PlanRequest {
    fn default() -> Self {
        PlanRequest {
            mode: PlanMode::Normal,
            refresh: true,
            targets: Vec::new(),
            replace: Vec::new(),
            parallelism: 10,
            vars: Vec::new(),
            lock: true,
            lock_timeout: Duration::ZERO,
            input: false,
            events: None,
        }
    }
}

/// A finished plan with what renderers need.
pub struct Planned {
    pub plan: Plan,
    pub prior: State,
    pub schemas: BTreeMap<String, Arc<ProviderSchema>>,
    pub warnings: Diagnostics,
    pub sources: Sources,
    pub loaded: Loaded,
    pub workspace: String,
    pub options: engine::Options,
}

/// Holds the workspace lock until dropped.
pub struct LockGuard<'s> {
    store: &'s SqliteStore,
    workspace: String,
    id: String,
}

impl Drop for LockGuard<'_> {
    fn drop(&mut self) {
        let _ = self.store.unlock(&self.workspace, &self.id);
    }
}

/// Takes the workspace lock for `operation` (`OperationTypeApply`, …).
pub fn lock<'s>(
    store: &'s SqliteStore,
    workspace: &str,
    operation: &str,
    timeout: Duration,
) -> Result<LockGuard<'s>> {
    let info = LockInfo::new(
        operation,
        TERRAFORM_VERSION,
        store.db_path().display().to_string(),
    );
    store.lock(workspace, &info, timeout)?;
    Ok(LockGuard {
        store,
        workspace: workspace.to_string(),
        id: info.id,
    })
}

fn engine_options(stack: &Stack, req: &PlanRequest, workspace: &str) -> engine::Options {
    engine::Options {
        mode: req.mode,
        refresh: req.refresh,
        targets: req.targets.clone(),
        replace: req.replace.clone(),
        parallelism: req.parallelism.max(1),
        workspace: workspace.to_string(),
        root_dir: stack.dir.clone(),
        cwd: stack.dir.clone(),
        variables: BTreeMap::new(),
        terraform_version: TERRAFORM_VERSION.to_string(),
        imports: Vec::new(),
    }
}

/// Plans against the current state. The caller holds the lock if it will apply.
pub fn plan(stack: &mut Stack, req: &PlanRequest, factory: &Factory) -> Result<Planned> {
    let loaded = load_config(&stack.dir)?;
    let workspace = stack.workspace()?;
    let mut opts = engine_options(stack, req, &workspace);
    let (values, mut warnings, var_sources) = vars::collect(&loaded.config, &stack.dir, &req.vars);
    let mut sources = loaded.sources.clone();
    sources.merge(&var_sources);
    if warnings.has_errors() {
        return Err(Failure {
            diagnostics: warnings,
            sources,
        });
    }
    opts.variables = values;
    let prior = stack.current_state(&workspace)?;
    let events = req.events.as_ref().map(|e| e.0.clone());
    let out = engine::plan_observed(
        &loaded.config,
        &prior,
        &opts,
        factory,
        events
            .as_deref()
            .map(|f| f as &(dyn Fn(engine::ApplyEvent) + Sync)),
    );
    warnings.extend(out.diagnostics.0);
    let Some(mut plan) = out.plan else {
        return Err(Failure {
            diagnostics: warnings,
            sources,
        });
    };
    if warnings.has_errors() {
        return Err(Failure {
            diagnostics: warnings,
            sources,
        });
    }
    plan.timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Ok(Planned {
        plan,
        prior,
        schemas: out.schemas,
        warnings,
        sources,
        loaded,
        workspace,
        options: opts,
    })
}

/// Backs the engine's apply sink with the store's journal.
struct JournalSink<'e> {
    journal: Mutex<Box<dyn ApplyJournal>>,
    events: &'e (dyn Fn(ApplyEvent) + Sync),
}

impl engine::ApplySink for JournalSink<'_> {
    fn record(
        &self,
        addr: &ResourceAddr,
        provider: &str,
        key: &ObjectKey,
        object: Option<&InstanceObject>,
    ) -> std::result::Result<(), String> {
        self.journal
            .lock()
            .map_err(|_| "journal poisoned".to_string())?
            .record_instance(addr, provider, key, object)
            .map_err(|e| e.to_string())
    }

    fn record_output(
        &self,
        name: &str,
        output: Option<&OutputValue>,
    ) -> std::result::Result<(), String> {
        self.journal
            .lock()
            .map_err(|_| "journal poisoned".to_string())?
            .record_output(name, output)
            .map_err(|e| e.to_string())
    }

    fn event(&self, e: ApplyEvent) {
        (self.events)(e)
    }
}

/// The result of an apply.
pub struct Applied {
    pub state: State,
    pub diagnostics: Diagnostics,
    pub sources: Sources,
    pub schemas: BTreeMap<String, Arc<ProviderSchema>>,
}

/// Applies a plan made against `prior`, journaling every finished operation. Refuses a
/// stale plan (the state changed since it was made). The caller holds the lock.
pub fn apply(
    stack: &mut Stack,
    planned: &Planned,
    factory: &Factory,
    operation: &str,
    events: &(dyn Fn(ApplyEvent) + Sync),
) -> Result<Applied> {
    let workspace = planned.workspace.clone();
    let current = stack.current_state(&workspace)?;
    check_fresh(&planned.plan, &current)?;
    let store = stack.store()?;
    let journal = store.begin_apply(&workspace, &current, &WriteMeta::new(operation))?;
    let sink = JournalSink {
        journal: Mutex::new(journal),
        events,
    };
    let out = engine::apply(
        &planned.loaded.config,
        &current,
        &planned.plan,
        &planned.options,
        factory,
        &sink,
    );
    let journal = sink
        .journal
        .into_inner()
        .map_err(|_| Failure::new("Failed to persist state", "the journal lock was poisoned"))?;
    let state = journal.state().clone();
    let mut diagnostics = out.diagnostics;
    if let Err(e) = journal.finish() {
        diagnostics.push(Diagnostic::error("Failed to persist state", e.to_string()));
    }
    let state = store.current(&workspace)?.unwrap_or(state);
    Ok(Applied {
        state,
        diagnostics,
        sources: planned.sources.clone(),
        schemas: out.schemas,
    })
}

/// A saved plan applies only to the state it was made against.
pub fn check_fresh(plan: &Plan, current: &State) -> Result<()> {
    let same_lineage = plan.prior_lineage.as_deref() == Some(current.lineage.as_str())
        || (plan.prior_serial == Some(0) && current.serial == 0 && current.resource_count() == 0);
    if !same_lineage || plan.prior_serial != Some(current.serial) {
        return Err(Failure::new(
            "Saved plan is stale",
            "The given plan file can no longer be applied because the state was changed by another operation after the plan was created.",
        ));
    }
    Ok(())
}

/// Loads a saved plan for apply: the config must be the one it was made from.
pub fn load_saved_plan(stack: &mut Stack, path: &Path) -> Result<Planned> {
    let (plan, meta) = planfile::read(path)
        .map_err(|e| Failure::new("Failed to load \"{}\" as a plan file", format!("{e}")))?;
    let loaded = load_config(&stack.dir)?;
    if loaded.digest != meta.config_digest {
        return Err(Failure::new(
            "Saved plan does not match the configuration",
            "The configuration files changed after this plan was created. Create a new plan from the current configuration.",
        ));
    }
    let workspace = stack.workspace()?;
    if workspace != meta.workspace {
        return Err(Failure::new(
            "Saved plan is for a different workspace",
            format!(
                "The given saved plan was created for the workspace \"{}\", but the current workspace is \"{workspace}\".",
                meta.workspace
            ),
        ));
    }
    let prior = stack.current_state(&workspace)?;
    check_fresh(&plan, &prior)?;
    let req = PlanRequest {
        mode: plan.mode,
        ..Default::default()
    };
    let mut options = engine_options(stack, &req, &workspace);
    options.variables = plan
        .variables
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                engine::InputValue {
                    value: v.clone(),
                    range: None,
                },
            )
        })
        .collect();
    let sources = loaded.sources.clone();
    Ok(Planned {
        plan,
        prior,
        schemas: BTreeMap::new(),
        warnings: Diagnostics::new(),
        sources,
        loaded,
        workspace,
        options,
    })
}

/// Saves a plan to `path`.
pub fn save_plan(planned: &Planned, path: &Path) -> Result<()> {
    planfile::write(
        path,
        &planned.plan,
        &planfile::PlanMeta {
            config_digest: planned.loaded.digest.clone(),
            workspace: planned.workspace.clone(),
            terraform_version: TERRAFORM_VERSION.into(),
        },
    )
    .map_err(|e| Failure::new("Failed to write plan file", e.to_string()))
}

/// Schema lookup by (provider source, mode, type) for renderers.
pub fn schema_lookup<'a>(
    schemas: &'a BTreeMap<String, Arc<ProviderSchema>>,
) -> impl Fn(&str, &str, &str) -> Option<&'a providers::schema::Block> + 'a {
    move |provider: &str, mode: &str, ty: &str| {
        let s = schemas.get(provider)?;
        let r = if mode == "data" {
            s.data_sources.get(ty)
        } else {
            s.resource_types.get(ty)
        }?;
        Some(&r.block)
    }
}

/// `import ADDR ID`: adopts an existing object into state (no other change is applied).
pub fn import(
    stack: &mut Stack,
    factory: &Factory,
    target: &addrs::AbsResourceInstance,
    id: &str,
    var_args: &[VarArg],
    lock_state: bool,
    lock_timeout: Duration,
) -> Result<()> {
    let loaded = load_config(&stack.dir)?;
    let key = format!("{}.{}", target.resource.type_name, target.resource.name);
    let declared = target.module.is_root()
        && target.resource.mode == addrs::Mode::Managed
        && loaded.config.module.managed_resources.contains_key(&key);
    if !declared {
        return Err(Failure::new(
            "Configuration for import target does not exist",
            format!("The configuration for the given import target {target} does not exist. All target instances must have an associated configuration to be imported."),
        ));
    }
    let workspace = stack.workspace()?;
    let mut lock_stack = Stack::open(&stack.dir);
    let _guard = if lock_state {
        Some(lock(
            lock_stack.store()?,
            &workspace,
            "OperationTypeImport",
            lock_timeout,
        )?)
    } else {
        None
    };
    let req = PlanRequest {
        targets: vec![addrs::Target::Instance(target.clone())],
        refresh: false,
        vars: var_args.to_vec(),
        ..Default::default()
    };
    let prior = stack.current_state(&workspace)?;
    let saddr = ResourceAddr::new(
        target.module.to_string(),
        states::ResourceMode::Managed,
        target.resource.type_name.to_string(),
        target.resource.name.to_string(),
    );
    let okey = ObjectKey::current(engine::walk::state_key(&target.key));
    if prior.object(&saddr, &okey).is_some() {
        return Err(Failure::new(
            "Resource already managed by Terraform",
            format!("Terraform is already managing a remote object for {target}. To import to this address you must first remove the existing object from the state."),
        ));
    }
    let (values, vdiags, _) = vars::collect(&loaded.config, &stack.dir, &req.vars);
    if vdiags.has_errors() {
        return Err(Failure {
            diagnostics: vdiags,
            sources: loaded.sources,
        });
    }
    let mut opts = engine_options(stack, &req, &workspace);
    opts.variables = values;
    opts.imports = vec![(target.clone(), id.to_string())];
    let out = engine::plan(&loaded.config, &prior, &opts, factory);
    let Some(plan) = out.plan else {
        return Err(Failure {
            diagnostics: out.diagnostics,
            sources: loaded.sources,
        });
    };
    let addr = target.to_string();
    let Some(change) = plan
        .resource_changes
        .iter()
        .find(|c| c.address == addr && c.importing_id.is_some())
    else {
        return Err(Failure::new(
            "Import failed",
            format!("No object was imported for {addr}."),
        ));
    };
    let schema = out
        .schemas
        .get(&change.provider_name)
        .and_then(|s| s.resource_types.get(&change.type_name))
        .ok_or_else(|| {
            Failure::new(
                "Import failed",
                format!("No schema for {}.", change.type_name),
            )
        })?;
    let obj = engine::stateobj::encode(&change.before, schema, &change.private, Vec::new(), false)
        .map_err(|e| Failure::new("Import failed", e))?;
    let mut state = prior;
    let provider = format!("provider[\"{}\"]", change.provider_name);
    if state.resource(&saddr).is_none() {
        state.set_resource(saddr.clone(), states::Resource::new(provider));
    }
    if let Some(r) = state.resource_mut(&saddr) {
        r.set_object(okey, obj);
    }
    stack
        .store()?
        .write(&workspace, &mut state, &WriteMeta::new("import"))?;
    Ok(())
}
