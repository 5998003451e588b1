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
pub mod workspace;

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
use statestore::{ApplyJournal, LockInfo, StateStore, StoreError, WriteMeta};

pub use engine::ApplyEvent;
pub use factory::Factory;
pub use vars::VarArg;
pub use workspace::Selection;

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
        let summary = match &e {
            StoreError::Lock(l) => {
                return Failure::new(statestore::LOCK_ERROR_SUMMARY, l.to_string())
            }
            StoreError::WorkspaceNotEmpty { .. } => statestore::WORKSPACE_NOT_EMPTY_SUMMARY,
            StoreError::NoSuchVersion { serial, .. } => {
                return Failure::new(
                    format!("No state version with serial {serial}"),
                    format!("{e}. Run \"weir state history\" to list the recorded versions."),
                )
            }
            StoreError::JournalConflict(_) => "Unrecovered apply journal",
            StoreError::CorruptJournal { .. } => "Unreadable apply journal",
            StoreError::Migration { .. } => "Failed to move the state to terraform.tfstate",
            StoreError::Cancelled => "Operation cancelled",
            StoreError::NoSuchWorkspace(_)
            | StoreError::WorkspaceExists(_)
            | StoreError::InvalidWorkspaceName(_)
            | StoreError::DeleteActiveWorkspace(_)
            | StoreError::DeleteDefaultWorkspace => "Invalid workspace",
            _ => "Failed to load state",
        };
        Failure::new(summary, e.to_string().trim().to_owned())
    }
}

impl From<workspace::WorkspaceError> for Failure {
    fn from(e: workspace::WorkspaceError) -> Failure {
        match e {
            workspace::WorkspaceError::Store(s) => s.into(),
            other => Failure::new(
                "Error selecting workspace",
                other.to_string().trim().to_owned(),
            ),
        }
    }
}

pub type Result<T, E = Failure> = std::result::Result<T, E>;

/// A working directory: its state store (opened on first use), the workspace selection and
/// the lock this run holds (released when the stack is dropped).
pub struct Stack {
    pub dir: PathBuf,
    selection: Selection,
    store: Option<StateStore>,
    cancel: cancel::Cancel,
    /// `(workspace, lock id)` of the lock this run holds.
    held: Option<(String, String)>,
}

impl Stack {
    /// A working directory with no `TF_WORKSPACE`/`TF_DATA_DIR` overrides.
    pub fn open(dir: &Path) -> Stack {
        Stack::open_with(dir, Selection::default())
    }

    /// A working directory whose workspace selection honours `selection` (what the caller
    /// read from `TF_WORKSPACE` and `TF_DATA_DIR`).
    pub fn open_with(dir: &Path, selection: Selection) -> Stack {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        Stack {
            dir,
            selection,
            store: None,
            cancel: cancel::Cancel::new(),
            held: None,
        }
    }

    /// The run's cancellation token: lock waits end early when it is stopped.
    pub fn cancel(&self) -> &cancel::Cancel {
        &self.cancel
    }

    /// Uses `cancel` (e.g. one a signal handler stops) for this run's waits.
    pub fn set_cancel(&mut self, cancel: cancel::Cancel) {
        self.cancel = cancel;
    }

    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    /// The state store (Terraform's local backend plus weir's history in `.weir/`), opened on
    /// first use. A schema-1 `.weir/state.db` is migrated then, and its selected workspace
    /// becomes `.terraform/environment` unless one is selected already.
    pub fn store(&mut self) -> Result<&StateStore> {
        Ok(self.state_store()?)
    }

    /// [`Stack::store`] with the store's own error.
    pub fn state_store(&mut self) -> std::result::Result<&StateStore, StoreError> {
        if self.store.is_none() {
            let store = StateStore::open_local(&self.dir, TERRAFORM_VERSION)?;
            if let Some(sel) = store.migrated().and_then(|m| m.selected.clone()) {
                let file = self
                    .selection
                    .data_dir(&self.dir)
                    .join(workspace::ENVIRONMENT_FILE);
                if sel != statestore::DEFAULT_WORKSPACE && !file.exists() {
                    self.selection.select(&self.dir, &sel)?;
                }
            }
            self.store = Some(store);
        }
        Ok(self.store.as_ref().expect("just opened"))
    }

    /// The selected workspace: `TF_WORKSPACE` wins, as in Terraform.
    pub fn workspace(&mut self) -> Result<String> {
        Ok(self.selection.workspace(&self.dir)?)
    }

    /// Takes the workspace lock for `operation` (`OperationTypeApply`, …), waiting up to
    /// `timeout`; interrupted applies are recovered once it is held. Released on drop.
    pub fn lock(&mut self, workspace: &str, operation: &str, timeout: Duration) -> Result<()> {
        self.lock_with(workspace, operation, timeout, true)
    }

    /// [`Stack::lock`] without recovering interrupted applies (for `weir state recover`).
    pub fn lock_for_recovery(&mut self, workspace: &str, timeout: Duration) -> Result<()> {
        self.lock_with(workspace, "OperationTypeInvalid", timeout, false)
    }

    fn lock_with(
        &mut self,
        workspace: &str,
        operation: &str,
        timeout: Duration,
        recover: bool,
    ) -> Result<()> {
        self.unlock();
        let cancel = self.cancel.clone();
        let store = self.store()?;
        let info = LockInfo::new(operation, TERRAFORM_VERSION, store.location(workspace));
        if recover {
            store.lock(workspace, &info, timeout, &cancel)?;
        } else {
            store.lock_without_recovery(workspace, &info, timeout, &cancel)?;
        }
        self.held = Some((workspace.to_owned(), info.id));
        Ok(())
    }

    /// Whether this run holds the workspace lock.
    pub fn holds_lock(&self) -> bool {
        self.held.is_some()
    }

    /// Releases the lock this run holds, if any.
    pub fn unlock(&mut self) {
        if let (Some((ws, id)), Some(store)) = (self.held.take(), &self.store) {
            let _ = store.unlock(&ws, &id);
        }
    }

    /// The current state of the workspace (an empty one with a fresh lineage if none), read
    /// and parsed once. Without the lock, interrupted applies are recovered first when the
    /// lock is free (a holder recovers them itself).
    pub fn current_state(&mut self, workspace: &str) -> Result<State> {
        self.recover_if_pending(workspace)?;
        Ok(self
            .store()?
            .read_state(workspace)?
            .unwrap_or_else(|| State::new(TERRAFORM_VERSION)))
    }

    /// Without the lock: recovers interrupted applies if there are any and the lock is free
    /// (a holder recovers them itself). With it, taking it did already.
    pub fn recover_if_pending(&mut self, workspace: &str) -> Result<()> {
        if !self.holds_lock() && !self.store()?.pending_journals(workspace)?.is_empty() {
            let cancel = self.cancel.clone();
            let store = self.store()?;
            let info = LockInfo::new(
                "OperationTypeInvalid",
                TERRAFORM_VERSION,
                store.location(workspace),
            );
            match store.lock(workspace, &info, Duration::ZERO, &cancel) {
                Ok(()) => {
                    let _ = store.unlock(workspace, &info.id);
                }
                Err(StoreError::Lock(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.unlock();
    }
}

/// Terraform refuses to plan or apply (but not to destroy) a directory without configuration
/// files, rather than plan to destroy everything: the same error, checked before locking.
pub fn require_config(dir: &Path, mode: PlanMode, apply: bool) -> Result<()> {
    if mode == PlanMode::Destroy || config::load::is_config_dir(dir) {
        return Ok(());
    }
    let detail = if apply {
        "Apply requires configuration to be present. Applying without a configuration would mark everything for destruction, which is normally not what is desired. If you would like to destroy everything, run 'terraform destroy' instead."
    } else {
        "Plan requires configuration to be present. Planning without a configuration would mark everything for destruction, which is normally not what is desired. If you would like to destroy everything, run plan with the -destroy option. Otherwise, create a Terraform configuration file (.tf file) and try again."
    };
    Err(Failure::new("No configuration files", detail))
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
struct JournalSink<'j, 'e> {
    journal: Mutex<ApplyJournal<'j>>,
    events: &'e (dyn Fn(ApplyEvent) + Sync),
}

impl engine::ApplySink for JournalSink<'_, '_> {
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

/// Applies a plan made against `planned.prior` (the state as read, once, by this run),
/// journaling every finished operation, then writes the result as one new version (none if
/// nothing changed). Without the lock, refuses if the state of record moved on meanwhile.
pub fn apply(
    stack: &mut Stack,
    planned: &Planned,
    factory: &Factory,
    operation: &str,
    events: &(dyn Fn(ApplyEvent) + Sync),
) -> Result<Applied> {
    let workspace = planned.workspace.clone();
    let locked = stack.holds_lock();
    let store = stack.store()?;
    if !locked && !store.unchanged_since_read(&workspace)? {
        return Err(Failure::new(
            "Saved plan is stale",
            "The given plan file can no longer be applied because the state was changed by another operation after the plan was created.",
        ));
    }
    let journal = store.begin_apply(&workspace, &planned.prior, &WriteMeta::new(operation))?;
    let sink = JournalSink {
        journal: Mutex::new(journal),
        events,
    };
    let out = engine::apply(
        &planned.loaded.config,
        &planned.prior,
        &planned.plan,
        &planned.options,
        factory,
        &sink,
    );
    let mut journal = sink
        .journal
        .into_inner()
        .map_err(|_| Failure::new("Failed to persist state", "the journal lock was poisoned"))?;
    let mut diagnostics = out.diagnostics;
    if let Err(e) = journal.finish() {
        let location = journal.location();
        diagnostics.push(Diagnostic::error(
            "Failed to persist state",
            format!("{e}\n\nEvery completed operation is recorded in the journal {location}; the next weir command that takes the lock recovers it."),
        ));
    }
    Ok(Applied {
        state: journal.into_state(),
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
    if lock_state {
        stack.lock(&workspace, "OperationTypeImport", lock_timeout)?;
    }
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
        .write(&workspace, &mut state, &WriteMeta::new("import"))
        .map_err(persist_failure)?;
    Ok(())
}

/// A store error while writing state.
pub fn persist_failure(e: StoreError) -> Failure {
    match e {
        StoreError::Lock(_) | StoreError::JournalConflict(_) => e.into(),
        other => Failure::new("Failed to persist state", other.to_string()),
    }
}
