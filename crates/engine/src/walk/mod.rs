//! The plan and apply walks: each graph node evaluates its expressions against the values
//! computed so far, expands count/for_each, and drives the provider through the resource
//! lifecycle (upgrade → refresh → plan → apply), recording every finished operation at once.
//!
//! Here: the [`Walker`] and what every part shares (node dispatch, progress, addresses).
//! `values` runs variables, locals, outputs and module calls (expansion); `provider` starts and
//! configures providers; `resources` expands a resource and runs each instance through the
//! phase; `plan` plans a managed instance (refresh, then the provider's plan), `data` reads
//! data sources, `apply` applies a planned change; `deletes` runs destroy nodes (deposed
//! objects of create_before_destroy included) and plans the deletes of orphans.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};

use crate::prefetch::Prefetch;
use addrs::{AbsResourceInstance, InstanceKey, Mode, ModuleInstance};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use plans::ResourceInstanceChange;
use providers::schema::{ProviderSchema, ResourceSchema};
use providers::Provider;
use states::{InstanceObject, ObjectKey, ResourceAddr, ResourceMode, State};
use value::{Type, Value};

use crate::dag::Outcome;
use crate::eval::{NodeData, Store, WalkInfo};
use crate::graph::{NodeKind, StaticGraph};
use crate::model::{Mods, ProviderKey};
use crate::{ApplyEvent, ApplySink, Options, ProviderFactory};

mod apply;
mod data;
mod deletes;
mod plan;
mod provider;
mod resources;
mod values;

pub use provider::range_for_path;
use provider::*;
use resources::*;

/// A counting semaphore: `-parallelism` bounds concurrent provider operations.
pub struct Semaphore {
    count: Mutex<usize>,
    cond: Condvar,
}

impl Semaphore {
    pub fn new(n: usize) -> Self {
        Semaphore {
            count: Mutex::new(n.max(1)),
            cond: Condvar::new(),
        }
    }
    pub fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        {
            let mut c = self.count.lock().expect("semaphore");
            while *c == 0 {
                c = self.cond.wait(c).expect("semaphore");
            }
            *c -= 1;
        }
        let out = f();
        *self.count.lock().expect("semaphore") += 1;
        self.cond.notify_one();
        out
    }
}

/// A started provider and its schema.
pub struct ProviderSlot {
    pub provider: Arc<dyn Provider>,
    pub source: String,
    pub schema: Arc<ProviderSchema>,
    /// Whether ConfigureProvider succeeded, once it has been called.
    configured: Mutex<Option<bool>>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Plan,
    Apply,
    /// Values only (console): resources come from the prior state, no provider calls but schemas.
    Eval,
}

pub struct Walker<'a> {
    pub mods: &'a Mods<'a>,
    pub graph: StaticGraph,
    pub prior: &'a State,
    pub opts: &'a Options,
    pub factory: &'a dyn ProviderFactory,
    pub phase: Phase,
    pub store: Store,
    pub info: WalkInfo<'a>,
    pub sem: Arc<Semaphore>,
    /// Early refresh answers (plan with refresh, providers with remote reads).
    prefetch: Arc<Prefetch>,
    pub diags: Mutex<Diagnostics>,
    pub changes: Mutex<Vec<ResourceInstanceChange>>,
    /// Plan phase: objects that changed outside Terraform (see [`plans::Plan::drift`]).
    pub drift: Mutex<Vec<ResourceInstanceChange>>,
    /// Plan phase: data sources read now (see [`plans::Plan::data_reads`]).
    pub data_reads: Mutex<Vec<ResourceInstanceChange>>,
    /// Apply phase: the plan's data source reads, by instance address.
    pub data_read: HashMap<String, &'a ResourceInstanceChange>,
    /// Providers by source address (one process each, started on first use).
    slots: Mutex<HashMap<String, Arc<ProviderSlot>>>,
    /// Evaluated provider configurations by state string.
    /// Evaluated provider configurations by state string, with the block they came from.
    provider_configs: Mutex<HashMap<String, (Value, &'a config::ProviderConfig)>>,
    /// Instances handled by resource nodes (to find orphans afterwards).
    pub visited: Mutex<HashSet<ResourceAddr>>,
    /// Apply phase: the plan being applied, by instance address (and deposed key).
    pub planned: HashMap<(String, Option<String>), &'a ResourceInstanceChange>,
    pub sink: Option<&'a dyn ApplySink>,
    /// Where progress goes during planning (refreshes and data source reads).
    pub events: Option<&'a (dyn Fn(ApplyEvent) + Sync)>,
    /// Objects deposed during apply (create_before_destroy): instance address → deposed key.
    deposed: Mutex<HashMap<String, (ResourceAddr, ObjectKey, InstanceObject, String)>>,
    /// Plan phase: changes whose `after` is still in the store (change index, instance).
    shared_after: Mutex<Vec<(usize, AbsResourceInstance)>>,
    /// Under `-target`: the resources the targets depend on (static module index, mode, key),
    /// which are planned with them as Terraform does; see [`target_dependencies`].
    target_deps: HashMap<(usize, Mode, String), Vec<Option<ModuleInstance>>>,
}

pub fn state_key(k: &Option<InstanceKey>) -> Option<states::InstanceKey> {
    k.as_ref().map(|k| match k {
        InstanceKey::Int(i) => states::InstanceKey::Int(*i),
        InstanceKey::Str(s) => states::InstanceKey::Str(s.to_string()),
    })
}

/// The configuration address of a state object (managed or data).
pub(crate) fn state_instance(
    saddr: &ResourceAddr,
    key: &Option<states::InstanceKey>,
) -> AbsResourceInstance {
    AbsResourceInstance {
        module: parse_module_instance(&saddr.module),
        resource: addrs::Resource {
            mode: if saddr.mode == ResourceMode::Data {
                Mode::Data
            } else {
                Mode::Managed
            },
            type_name: saddr.type_name.as_str().into(),
            name: saddr.name.as_str().into(),
        },
        key: addr_key(key),
    }
}

pub fn addr_key(k: &Option<states::InstanceKey>) -> Option<InstanceKey> {
    k.as_ref().map(|k| match k {
        states::InstanceKey::Int(i) => InstanceKey::Int(*i),
        states::InstanceKey::Str(s) => InstanceKey::Str(s.as_str().into()),
    })
}

fn state_mode(m: Mode) -> ResourceMode {
    match m {
        Mode::Managed => ResourceMode::Managed,
        Mode::Data => ResourceMode::Data,
    }
}

fn key_value(k: &Option<InstanceKey>) -> Option<Value> {
    k.as_ref().map(|k| match k {
        InstanceKey::Int(i) => Value::number(*i),
        InstanceKey::Str(s) => Value::string(s.to_string()),
    })
}

impl<'a> Walker<'a> {
    pub fn new(
        mods: &'a Mods<'a>,
        graph: StaticGraph,
        prior: &'a State,
        opts: &'a Options,
        factory: &'a dyn ProviderFactory,
        phase: Phase,
    ) -> Self {
        let target_deps = target_dependencies(mods, &graph, &opts.targets);
        let store = Store::default();
        store
            .module_instances
            .write()
            .expect("store")
            .insert(0, vec![ModuleInstance::root()]);
        Walker {
            mods,
            graph,
            prior,
            opts,
            factory,
            phase,
            store,
            info: WalkInfo {
                mods,
                functions: crate::functions::FunctionProviders::new(factory),
                workspace: opts.workspace.clone(),
                root_dir: opts.root_dir.clone(),
                cwd: opts.cwd.clone(),
            },
            sem: Arc::new(Semaphore::new(opts.parallelism)),
            prefetch: Arc::default(),
            diags: Mutex::new(Diagnostics::new()),
            changes: Mutex::new(Vec::new()),
            data_reads: Mutex::new(Vec::new()),
            drift: Mutex::new(Vec::new()),
            data_read: HashMap::new(),
            slots: Mutex::new(HashMap::new()),
            provider_configs: Mutex::new(HashMap::new()),
            visited: Mutex::new(HashSet::new()),
            planned: HashMap::new(),
            sink: None,
            events: None,
            deposed: Mutex::new(HashMap::new()),
            shared_after: Mutex::new(Vec::new()),
            target_deps,
        }
    }

    fn diag(&self, d: Diagnostic) {
        self.diags.lock().expect("diags").push(d);
    }

    fn extend(&self, ds: Diagnostics) -> bool {
        let errs = ds.has_errors();
        self.diags.lock().expect("diags").extend(ds.0);
        errs
    }

    pub(crate) fn scope<'s>(&'s self, data: &'s NodeData<'s>, m: usize) -> lang::Scope<'s> {
        lang::Scope::new(data, self.mods.get(m).cfg.dir.clone())
            .pure_only(self.phase == Phase::Plan)
    }

    pub(crate) fn node_data(&self, m: usize, mi: ModuleInstance) -> NodeData<'_> {
        NodeData {
            store: &self.store,
            info: &self.info,
            m,
            mi,
            count_index: None,
            each: None,
            self_value: None,
        }
    }

    /// Runs one graph node.
    pub fn run_node(&self, n: usize) -> Outcome {
        let kind = self.graph.nodes[n].clone();
        let run = || match &kind {
            NodeKind::Var { m, name } => self.var_node(*m, name),
            NodeKind::Local { m, name } => self.local_node(*m, name),
            NodeKind::Output { m, name } => self.output_node(*m, name),
            NodeKind::Call { m, name } => self.call_node(*m, name),
            NodeKind::Provider { key } => self.provider_node(key),
            NodeKind::Resource { m, mode, key } => self.resource_node(n, *m, *mode, key),
            NodeKind::Destroy {
                m,
                mode,
                key,
                deposed,
            } => self.destroy_node(*m, *mode, key, *deposed),
        };
        // A bug in one node becomes a diagnostic naming it, never a hang or a torn walk.
        let ok = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)) {
            Ok(ok) => ok,
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                self.diag(Diagnostic::error(
                    "Internal error in weir",
                    format!(
                        "Processing {} failed unexpectedly: {msg}. This is a bug in weir; please report it.",
                        crate::node_name(&kind)
                    ),
                ));
                false
            }
        };
        if ok {
            Outcome::Done
        } else {
            Outcome::Failed
        }
    }

    /// Reports progress to whoever listens: the apply sink, or the plan's observer.
    fn emit(&self, e: ApplyEvent) {
        if let Some(sink) = self.sink {
            sink.event(e);
        } else if let Some(f) = self.events {
            f(e);
        }
    }

    fn record(&self, ctx: &ResCtx, key: &ObjectKey, obj: Option<&InstanceObject>) -> bool {
        if let Some(sink) = self.sink {
            if let Err(e) = sink.record(ctx.saddr, ctx.provider_string, key, obj) {
                self.diag(Diagnostic::error("Failed to persist state", e));
                return false;
            }
        }
        true
    }
}

/// Borrowed context of one resource node.
pub struct ResCtx<'x> {
    pub m: usize,
    pub mi: &'x ModuleInstance,
    pub r: &'x config::Resource,
    pub schema: &'x ResourceSchema,
    pub slot: &'x ProviderSlot,
    pub pk: &'x ProviderKey,
    pub provider_string: &'x str,
    pub saddr: &'x ResourceAddr,
    pub deps: &'x [String],
    /// Instance key → import ID, for instances that `import` blocks or the import command adopt.
    pub imports: &'x HashMap<Option<InstanceKey>, String>,
    /// The configuration's references to the resource itself (checked while planning).
    pub(crate) self_refs: &'x [crate::selfref::SelfRef],
    /// The module's metadata for the resource's provider.
    pub(crate) provider_meta: &'x ProviderMeta,
    /// The schema's implied type (built once per resource, not per instance).
    pub ty: &'x Type,
}

/// A module's `provider_meta` for one provider, as evaluated against the provider's schema.
pub(crate) enum ProviderMeta {
    /// The module has none.
    None,
    Value(Value),
    /// The provider takes no metadata: the block's label, where Terraform points.
    Unsupported(SourceRange),
    /// The arguments do not fit the provider's metadata schema.
    Invalid(Diagnostics),
}

impl ProviderMeta {
    /// What requests carry (the provider plugin sends it only to providers with a schema).
    fn value(&self) -> Option<Value> {
        match self {
            ProviderMeta::Value(v) => Some(v.clone()),
            _ => None,
        }
    }
}

fn module_prefix(mi: &ModuleInstance) -> String {
    if mi.is_root() {
        String::new()
    } else {
        format!("{mi}.")
    }
}

/// The state instance key of a planned change.
fn change_key(c: &ResourceInstanceChange) -> Option<states::InstanceKey> {
    c.index.as_ref().map(|v| match v.unmarked() {
        Value::String(s) => states::InstanceKey::Str(s.clone()),
        other => states::InstanceKey::Int(other.as_number().and_then(|n| n.to_i64()).unwrap_or(0)),
    })
}

/// The static module path (call names) of a change's module instance.
fn static_path_of(c: &ResourceInstanceChange) -> Vec<String> {
    parse_module_instance(c.module_address.as_deref().unwrap_or(""))
        .module_path()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn short_source(s: &str) -> String {
    s.strip_prefix("registry.terraform.io/")
        .unwrap_or(s)
        .to_string()
}

/// Equality for no-op detection: identical known values, ignoring marks.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    if !a.is_wholly_known() || !b.is_wholly_known() {
        return false;
    }
    let (a, _) = a.clone().unmark_deep();
    let (b, _) = b.clone().unmark_deep();
    a.raw_equals(&b)
}

/// `provider["registry.terraform.io/hashicorp/aws"].west` → `registry.terraform.io/hashicorp/aws`.
pub fn parse_provider_source(s: &str) -> String {
    let start = s.find("provider[\"").map(|i| i + 10).unwrap_or(0);
    let rest = &s[start..];
    rest.split('"').next().unwrap_or(rest).to_string()
}

/// Parses a state module path (`module.a["x"].module.b[0]`).
pub fn parse_module_instance(s: &str) -> ModuleInstance {
    if s.is_empty() {
        return ModuleInstance::root();
    }
    match addrs::parse_target(&format!("{s}.x.y")) {
        Ok(addrs::Target::Resource(r)) => r.module,
        Ok(addrs::Target::Instance(i)) => i.module,
        _ => ModuleInstance::root(),
    }
}

/// The object's "id" attribute, by which Terraform's progress lines name it (never a
/// sensitive one).
fn object_id(v: &Value) -> Option<String> {
    v.unmarked()
        .get_attr("id")
        .filter(|id| !id.marks().is_sensitive())
        .and_then(|id| id.as_str().map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_strings_parse() {
        assert_eq!(
            parse_provider_source(
                "module.a.provider[\"registry.terraform.io/hashicorp/aws\"].west"
            ),
            "registry.terraform.io/hashicorp/aws"
        );
        assert_eq!(
            parse_module_instance("module.a[\"k\"].module.b").to_string(),
            "module.a[\"k\"].module.b"
        );
    }
}
