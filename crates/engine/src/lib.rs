//! The engine: builds the dependency graph of a configuration, walks it in parallel and drives
//! providers through the resource lifecycle. It does no I/O of its own: config, prior state,
//! variables and a provider factory come in; a plan (or new state) and diagnostics go out.
//!
//! Persistence during apply goes through [`ApplySink`], which the operations layer backs with
//! the state store's journal, so every finished resource operation is durable before anything
//! that depends on it starts.

// Diagnostics are the error type throughout, by design: they carry the source range.
#![allow(clippy::result_large_err)]

pub mod dag;
pub mod eval;
pub mod functions;
pub mod graph;
pub mod model;
pub mod objchange;
mod prefetch;
pub mod refactor;
mod selfref;
pub mod stateobj;
pub mod validate;
pub mod vars;
pub mod walk;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use config::Config;
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use plans::{Action, Plan, PlanMode};
use providers::schema::ProviderSchema;
use providers::Provider;
use states::{InstanceObject, ObjectKey, OutputValue, RawJson, ResourceAddr, State};
use value::Value;

use crate::graph::NodeKind;
use crate::model::Mods;
use crate::walk::{Phase, Walker};

pub use validate::{graph_dot, validate, validate_in, ValidateEnv};

/// Starts providers by source address (`registry.terraform.io/hashicorp/aws`,
/// `terraform.io/builtin/terraform`). Each call may start a new process; the engine calls it
/// once per provider per operation.
pub trait ProviderFactory: Send + Sync {
    fn start(&self, source: &str) -> Result<Arc<dyn Provider>, String>;
}

/// A root module variable value from outside the configuration, not yet converted to the
/// variable's type.
#[derive(Clone, Debug)]
pub struct InputValue {
    pub value: Value,
    /// Where it was written (a tfvars file or `-var`), for diagnostics.
    pub range: Option<SourceRange>,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub mode: PlanMode,
    pub refresh: bool,
    pub targets: Vec<addrs::Target>,
    pub replace: Vec<addrs::AbsResourceInstance>,
    pub parallelism: usize,
    pub workspace: String,
    pub root_dir: PathBuf,
    pub cwd: PathBuf,
    pub variables: BTreeMap<String, InputValue>,
    pub terraform_version: String,
    /// Instances to adopt by ID (the `import` command); `import` blocks come from config.
    pub imports: Vec<(addrs::AbsResourceInstance, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: PlanMode::Normal,
            refresh: true,
            targets: Vec::new(),
            replace: Vec::new(),
            parallelism: 10,
            workspace: "default".into(),
            root_dir: PathBuf::from("."),
            cwd: PathBuf::from("."),
            variables: BTreeMap::new(),
            terraform_version: "1.11.4".into(),
            imports: Vec::new(),
        }
    }
}

/// Progress of an apply, for live displays.
#[derive(Clone, Debug)]
pub enum ApplyEvent {
    /// Refresh of an existing object began (plan, refresh-only and apply's own plan).
    Refreshing {
        addr: String,
        id: Option<String>,
        /// The deposed key, when the object is a deposed one.
        deposed: Option<String>,
    },
    /// That refresh finished.
    Refreshed { addr: String, id: Option<String> },
    Start {
        addr: String,
        action: Action,
        /// The existing object's id, for changes to one (shown as `[id=…]`).
        id: Option<String>,
        /// The deposed key, when the object is a deposed one (create_before_destroy).
        deposed: Option<String>,
    },
    Done {
        addr: String,
        action: Action,
        elapsed: Duration,
        id: Option<String>,
    },
    Errored {
        addr: String,
        action: Action,
        elapsed: Duration,
    },
}

/// Where apply records each finished operation (durably, before dependants start).
pub trait ApplySink: Send + Sync {
    fn record(
        &self,
        addr: &ResourceAddr,
        provider: &str,
        key: &ObjectKey,
        object: Option<&InstanceObject>,
    ) -> Result<(), String>;
    fn record_output(&self, name: &str, output: Option<&OutputValue>) -> Result<(), String>;
    fn event(&self, _e: ApplyEvent) {}
}

pub struct PlanOutcome {
    pub plan: Option<Plan>,
    pub diagnostics: Diagnostics,
    /// Schemas of the providers used, by source address (for renderers).
    pub schemas: BTreeMap<String, Arc<ProviderSchema>>,
}

pub struct ApplyOutcome {
    pub diagnostics: Diagnostics,
    pub schemas: BTreeMap<String, Arc<ProviderSchema>>,
}

fn prepare<'c>(cfg: &'c Config) -> (Mods<'c>, graph::StaticGraph, Diagnostics) {
    let mods = Mods::new(cfg);
    let (g, diags) = graph::build(&mods);
    (mods, g, diags)
}

fn cycle_diag(g: &graph::StaticGraph, cycles: &[Vec<usize>]) -> Diagnostic {
    cycle_error(g, cycles.first().map(Vec::as_slice).unwrap_or_default())
}

/// Terraform's cycle error: the members named in the summary as its graph names them (local
/// values are "expanded" nodes there), with no detail. Terraform's order varies from run to run;
/// weir's follows the graph.
pub(crate) fn cycle_error(g: &graph::StaticGraph, cycle: &[usize]) -> Diagnostic {
    let names: Vec<String> = cycle
        .iter()
        .map(|&n| match &g.nodes[n] {
            k @ NodeKind::Local { .. } => format!("{} (expand)", node_name(k)),
            k => node_name(k),
        })
        .collect();
    Diagnostic::error(format!("Cycle: {}", names.join(", ")), "")
}

pub(crate) fn node_name(k: &NodeKind) -> String {
    match k {
        NodeKind::Var { name, .. } => format!("var.{name}"),
        NodeKind::Local { name, .. } => format!("local.{name}"),
        NodeKind::Output { name, .. } => format!("output.{name}"),
        NodeKind::Resource { mode, key, .. } => match mode {
            addrs::Mode::Managed => key.clone(),
            addrs::Mode::Data => format!("data.{key}"),
        },
        NodeKind::Call { name, .. } => format!("module.{name}"),
        NodeKind::Provider { key } => format!("provider[\"{}\"]", key.source),
        NodeKind::Destroy {
            key, deposed: true, ..
        } => format!("{key} (destroy deposed)"),
        NodeKind::Destroy { key, .. } => format!("{key} (destroy)"),
    }
}

/// Plans the configuration against the prior state.
pub fn plan(
    cfg: &Config,
    prior: &State,
    opts: &Options,
    providers: &dyn ProviderFactory,
) -> PlanOutcome {
    plan_observed(cfg, prior, opts, providers, None)
}

/// [`plan`], reporting refreshes and data source reads to `events` as they happen.
pub fn plan_observed(
    cfg: &Config,
    prior: &State,
    opts: &Options,
    providers: &dyn ProviderFactory,
    events: Option<&(dyn Fn(ApplyEvent) + Sync)>,
) -> PlanOutcome {
    let (mods, g, mut diags) = prepare(cfg);
    if diags.has_errors() {
        return PlanOutcome {
            plan: None,
            diagnostics: diags,
            schemas: BTreeMap::new(),
        };
    }
    let graph = g.graph.clone();
    let mut moved_state = prior.clone();
    let (moves, mdiags) = refactor::apply_moves(&cfg.module, &mut moved_state);
    diags.extend(mdiags.0);
    let prior = &moved_state;
    let mut w = Walker::new(&mods, g, prior, opts, providers, Phase::Plan);
    w.events = events;
    let walked = dag::walk(&graph, opts.parallelism.max(1), |n| w.run_node(n));
    if let Err(c) = &walked {
        diags.push(cycle_diag(&w.graph, &c.0));
    }
    w.plan_orphans();
    diags.extend(std::mem::take(&mut *w.diags.lock().expect("diags")).0);
    let schemas = w.schemas();
    w.close_providers();
    // Root outputs read the store; after that its planned values move into the changes.
    let output_changes = w.output_changes();
    w.fill_planned_values();
    if diags.has_errors() {
        return PlanOutcome {
            plan: None,
            diagnostics: diags,
            schemas,
        };
    }
    let mut changes = std::mem::take(&mut *w.changes.lock().expect("changes"));
    changes.sort_by(change_order);
    let mut drift = std::mem::take(&mut *w.drift.lock().expect("drift"));
    drift.sort_by(change_order);
    for (old, new) in &moves {
        let new_s = new.to_string();
        if let Some(c) = changes
            .iter_mut()
            .find(|c| c.address == new_s && c.deposed.is_none())
        {
            c.previous_address = Some(old.to_string());
        }
    }
    let mut data_reads = std::mem::take(&mut *w.data_reads.lock().expect("data reads"));
    data_reads.sort_by(|a, b| a.address.cmp(&b.address));
    // Terraform records every root variable's final value, defaults included.
    let variables = w
        .store
        .vars
        .read()
        .expect("store")
        .iter()
        .filter(|((mi, _), _)| mi.is_root())
        .map(|((_, k), v)| (k.clone(), v.clone()))
        .collect();
    let plan = Plan {
        mode: opts.mode,
        variables,
        resource_changes: changes,
        output_changes,
        data_reads,
        drift,
        targets: opts.targets.iter().map(|t| t.to_string()).collect(),
        force_replace: opts.replace.iter().map(|t| t.to_string()).collect(),
        prior_serial: Some(moved_state.serial),
        prior_lineage: Some(moved_state.lineage.clone()),
        timestamp: String::new(),
        errored: false,
    };
    PlanOutcome {
        plan: Some(plan),
        diagnostics: diags,
        schemas,
    }
}

/// Terraform's order of resource changes: by module (shallower modules first, then by
/// address), mode, type, name and instance key.
fn change_order(
    a: &plans::ResourceInstanceChange,
    b: &plans::ResourceInstanceChange,
) -> std::cmp::Ordering {
    let module = |c: &plans::ResourceInstanceChange| {
        let mi = walk::parse_module_instance(c.module_address.as_deref().unwrap_or(""));
        (mi.0.len(), mi)
    };
    (
        module(a),
        a.mode,
        &a.type_name,
        &a.name,
        &a.index.as_ref().map(index_sort),
        &a.deposed,
    )
        .cmp(&(
            module(b),
            b.mode,
            &b.type_name,
            &b.name,
            &b.index.as_ref().map(index_sort),
            &b.deposed,
        ))
}

fn index_sort(v: &Value) -> (u8, i64, String) {
    match v.unmarked() {
        Value::String(s) => (1, 0, s.clone()),
        other => (
            0,
            other.as_number().and_then(|n| n.to_i64()).unwrap_or(0),
            String::new(),
        ),
    }
}

/// Applies a plan. Every finished operation goes to `sink` as it happens.
pub fn apply(
    cfg: &Config,
    prior: &State,
    plan: &Plan,
    opts: &Options,
    providers: &dyn ProviderFactory,
    sink: &dyn ApplySink,
) -> ApplyOutcome {
    let (mods, mut g, mut diags) = prepare(cfg);
    if diags.has_errors() {
        return ApplyOutcome {
            diagnostics: diags,
            schemas: BTreeMap::new(),
        };
    }
    let mut opts = opts.clone();
    opts.mode = plan.mode;
    let mut moved_state = prior.clone();
    let (moves, mdiags) = refactor::apply_moves(&cfg.module, &mut moved_state);
    diags.extend(mdiags.0);
    for (old, new) in &moves {
        if let Err(e) = record_move(prior, &moved_state, old, new, sink) {
            diags.push(Diagnostic::error("Failed to persist state", e));
        }
    }
    let prior = &moved_state;
    add_destroy_nodes(&mods, &mut g, plan);
    let graph = g.graph.clone();
    let mut w = Walker::new(&mods, g, prior, &opts, providers, Phase::Apply);
    w.sink = Some(sink);
    w.planned = plan
        .resource_changes
        .iter()
        .map(|c| ((c.address.clone(), c.deposed.clone()), c))
        .collect();
    w.data_read = plan
        .data_reads
        .iter()
        .map(|c| (c.address.clone(), c))
        .collect();
    let walked = dag::walk(&graph, opts.parallelism.max(1), |n| w.run_node(n));
    if let Err(c) = &walked {
        diags.push(cycle_diag(&w.graph, &c.0));
    }
    // Resources that no configuration covers any more.
    let orphans: Vec<&plans::ResourceInstanceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| {
            matches!(c.action, Action::Delete | Action::Forget) && {
                let m = walk::parse_module_instance(c.module_address.as_deref().unwrap_or(""));
                let path: Vec<String> = m.module_path().iter().map(|s| s.to_string()).collect();
                let key = format!("{}.{}", c.type_name, c.name);
                !mods.list.iter().any(|mi| {
                    mi.path == path
                        && (if c.mode == "data" {
                            &mi.cfg.data_resources
                        } else {
                            &mi.cfg.managed_resources
                        })
                        .contains_key(&key)
                })
            }
        })
        .collect();
    if walked.is_ok() {
        w.run_deletes(orphans);
    }
    // Root outputs.
    if walked.is_ok() {
        let root = mods.get(0).cfg;
        let outs = eval::root_outputs(&w.store);
        // An output the configuration no longer declares goes; one that could not be
        // evaluated (what it refers to failed) keeps its last value, as in Terraform.
        for name in prior.outputs.keys() {
            if !root.outputs.contains_key(name) || plan.mode == PlanMode::Destroy {
                if let Err(e) = sink.record_output(name, None) {
                    diags.push(Diagnostic::error("Failed to persist state", e));
                }
            }
        }
        if plan.mode != PlanMode::Destroy {
            for (name, v) in &outs {
                // What the plan left alone (an output `-target` excludes) stays as it was.
                if !plan.output_changes.iter().any(|o| &o.name == name) {
                    continue;
                }
                let sensitive =
                    root.outputs.get(name).is_some_and(|o| o.sensitive) || v.is_sensitive_deep();
                let (plain, _) = v.clone().unmark_deep();
                if !plain.is_wholly_known() {
                    continue;
                }
                // Terraform keeps no null outputs in state.
                if plain.is_null() {
                    if prior.outputs.contains_key(name) {
                        if let Err(e) = sink.record_output(name, None) {
                            diags.push(Diagnostic::error("Failed to persist state", e));
                        }
                    }
                    continue;
                }
                let ty = plain.ty();
                let json =
                    value::json::to_json_typed(&plain, &ty).unwrap_or(serde_json::Value::Null);
                let ov = OutputValue::new(
                    RawJson::from_value(&json),
                    RawJson::from_value(&value::json::type_to_json(&ty)),
                    sensitive,
                );
                if let Err(e) = sink.record_output(name, Some(&ov)) {
                    diags.push(Diagnostic::error("Failed to persist state", e));
                }
            }
        }
    }
    diags.extend(std::mem::take(&mut *w.diags.lock().expect("diags")).0);
    let schemas = w.schemas();
    w.close_providers();
    ApplyOutcome {
        diagnostics: diags,
        schemas,
    }
}

/// Adds the destroy half of the apply graph: a Destroy node per resource with deletes, ordered
/// so dependants go first, and before (or, under create_before_destroy, after) the creates.
/// Deposed objects a plan deletes get a node of their own that always follows
/// create_before_destroy ordering (after the resource and its dependants), as Terraform's
/// deposed-object destroyers do: otherwise a leftover of an interrupted replacement would tie
/// the resource's own ordering into a cycle with its create_before_destroy dependants.
fn add_destroy_nodes(mods: &Mods, g: &mut graph::StaticGraph, plan: &Plan) {
    // (resource node, deposed) → create_before_destroy ordering
    let mut wanted: HashMap<(usize, bool), bool> = HashMap::new();
    for c in &plan.resource_changes {
        if !matches!(
            c.action,
            Action::Delete | Action::DeleteThenCreate | Action::CreateThenDelete
        ) {
            continue;
        }
        let m = walk::parse_module_instance(c.module_address.as_deref().unwrap_or(""));
        let path: Vec<String> = m.module_path().iter().map(|s| s.to_string()).collect();
        let Some(mi) = mods.list.iter().position(|x| x.path == path) else {
            continue;
        };
        let mode = if c.mode == "data" {
            addrs::Mode::Data
        } else {
            addrs::Mode::Managed
        };
        let key = format!("{}.{}", c.type_name, c.name);
        if let Some(rn) = g.node(&NodeKind::Resource { m: mi, mode, key }) {
            let deposed = c.deposed.is_some();
            let e = wanted.entry((rn, deposed)).or_insert(deposed);
            *e |= c.action == Action::CreateThenDelete;
        }
    }
    let mut destroy_of: HashMap<(usize, bool), usize> = HashMap::new();
    let mut order: Vec<(usize, bool)> = wanted.keys().copied().collect();
    order.sort_unstable();
    for &(rn, deposed) in &order {
        let NodeKind::Resource { m, mode, key } = g.nodes[rn].clone() else {
            continue;
        };
        let k = NodeKind::Destroy {
            m,
            mode,
            key,
            deposed,
        };
        let i = g.nodes.len();
        g.nodes.push(k.clone());
        g.index.insert(k, i);
        g.graph.add_node();
        destroy_of.insert((rn, deposed), i);
        // The provider must be configured first.
        for &d in g.graph.deps(rn).to_vec().iter() {
            if matches!(g.nodes[d], NodeKind::Provider { .. }) {
                g.graph.add_edge(i, d);
            }
        }
    }
    for &(rn, deposed) in &order {
        let dn = destroy_of[&(rn, deposed)];
        let cbd = wanted[&(rn, deposed)];
        if cbd {
            g.graph.add_edge(dn, rn);
        } else {
            g.graph.add_edge(rn, dn);
        }
        // Dependants are destroyed first; under create_before_destroy they are updated first.
        for other in 0..g.nodes.len() {
            if !matches!(g.nodes[other], NodeKind::Resource { .. }) || other == rn {
                continue;
            }
            if g.resource_ancestors(other).contains(&rn) {
                if let Some(&odn) = destroy_of.get(&(other, false)) {
                    g.graph.add_edge(dn, odn);
                }
                // A dependant's leftover deposed object goes before this resource's own
                // create_before_destroy leftovers; a destroy-first delete cannot wait for it,
                // since that leftover waits for the dependant's update, which waits for this
                // resource's create.
                if let Some(&odn) = destroy_of.get(&(other, true)) {
                    if cbd {
                        g.graph.add_edge(dn, odn);
                    }
                }
                if cbd {
                    g.graph.add_edge(dn, other);
                }
            }
        }
    }
}

/// Evaluates the configuration's values against the prior state (no provider calls besides
/// schemas) and hands `f` a scope of the root module, as `console` needs.
pub fn with_root_scope<R>(
    cfg: &Config,
    prior: &State,
    opts: &Options,
    providers: &dyn ProviderFactory,
    f: impl FnOnce(&lang::Scope) -> R,
) -> (R, Diagnostics) {
    let (mods, g, mut diags) = prepare(cfg);
    let graph = g.graph.clone();
    let w = Walker::new(&mods, g, prior, opts, providers, Phase::Eval);
    if let Err(c) = dag::walk(&graph, opts.parallelism.max(1), |n| w.run_node(n)) {
        diags.push(cycle_diag(&w.graph, &c.0));
    }
    diags.extend(std::mem::take(&mut *w.diags.lock().expect("diags")).0);
    let nd = w.node_data(0, addrs::ModuleInstance::root());
    let scope = w.scope(&nd, 0);
    let r = f(&scope);
    w.close_providers();
    (r, diags)
}

fn saddr_of(i: &addrs::AbsResourceInstance) -> ResourceAddr {
    ResourceAddr::new(
        i.module.to_string(),
        if i.resource.mode == addrs::Mode::Data {
            states::ResourceMode::Data
        } else {
            states::ResourceMode::Managed
        },
        i.resource.type_name.to_string(),
        i.resource.name.to_string(),
    )
}

/// Persists one move: the object leaves its old address and appears at the new one.
fn record_move(
    before: &State,
    after: &State,
    old: &addrs::AbsResourceInstance,
    new: &addrs::AbsResourceInstance,
    sink: &dyn ApplySink,
) -> Result<(), String> {
    let (os, ns) = (saddr_of(old), saddr_of(new));
    let (ok, nk) = (
        ObjectKey::current(walk::state_key(&old.key)),
        ObjectKey::current(walk::state_key(&new.key)),
    );
    let provider = before
        .resource(&os)
        .map(|r| r.provider.clone())
        .unwrap_or_default();
    if let Some(obj) = after.object(&ns, &nk) {
        sink.record(&ns, &provider, &nk, Some(obj))?;
        sink.record(&os, &provider, &ok, None)?;
    }
    Ok(())
}
