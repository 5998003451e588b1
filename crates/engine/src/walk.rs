//! The plan and apply walks: each graph node evaluates its expressions against the values
//! computed so far, expands count/for_each, and drives the provider through the resource
//! lifecycle (upgrade → refresh → plan → apply), recording every finished operation at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Condvar, Mutex};

use crate::prefetch::{self, Prefetch};
use addrs::{AbsResourceInstance, InstanceKey, Mode, ModuleInstance};
use config::{Body, Expr};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use plans::{Action, ActionReason, OutputChange, PlanMode, ResourceInstanceChange};
use providers::schema::{ProviderSchema, ResourceSchema};
use providers::{Provider, ProviderDiagnostic};
use states::{InstanceObject, ObjectKey, ObjectStatus, ResourceAddr, ResourceMode, State};
use value::{Marks, PathStep, Type, Value};

use crate::dag::Outcome;
use crate::eval::{Expansion, Instances, NodeData, ResourceValues, Store, WalkInfo};
use crate::graph::{NodeKind, StaticGraph};
use crate::model::{Mods, ProviderKey};
use crate::objchange::{mark_schema_sensitive, proposed_new};
use crate::{stateobj, ApplyEvent, ApplySink, Options, ProviderFactory};

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

fn provider_diags(
    ds: Vec<ProviderDiagnostic>,
    addr: &str,
    body: Option<&Body>,
    fallback: &SourceRange,
) -> Diagnostics {
    let mut out = Diagnostics::new();
    for d in ds {
        let subject = match (&d.attribute, body) {
            (Some(path), Some(b)) => range_for_path(b, path).unwrap_or_else(|| fallback.clone()),
            _ => fallback.clone(),
        };
        let mut diag = provider_diag(d).with_subject(subject);
        diag.address = Some(addr.to_string());
        out.push(diag);
    }
    out
}

/// A provider's diagnostic as ours, without a location.
fn provider_diag(d: ProviderDiagnostic) -> Diagnostic {
    match d.severity {
        providers::Severity::Error => Diagnostic::error(d.summary, d.detail),
        providers::Severity::Warning => Diagnostic::warning(d.summary, d.detail),
    }
}

/// The source range a provider's attribute path refers to, as far as the config shows it.
pub fn range_for_path(body: &Body, path: &[PathStep]) -> Option<SourceRange> {
    let Some(PathStep::Attr(name)) = path.first() else {
        return None;
    };
    if let Some(a) = body.attributes.get(name) {
        return Some(a.expr.range.clone());
    }
    let blocks: Vec<_> = body
        .blocks
        .iter()
        .filter(|b| &b.type_name == name)
        .collect();
    let idx = match path.get(1) {
        Some(PathStep::Index(v)) => v.as_number().and_then(|n| n.to_i64()).unwrap_or(0) as usize,
        _ => 0,
    };
    let b = blocks.get(idx).or(blocks.first())?;
    let rest = if path.len() > 2 { &path[2..] } else { &[] };
    range_for_path(&b.body, rest).or_else(|| Some(b.def_range.clone()))
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

    /// The started provider process for one provider configuration (its state string, e.g.
    /// `provider["registry.terraform.io/hashicorp/aws"].west`): each configuration gets its own
    /// process, as in Terraform, because a provider is configured once per process.
    pub fn slot(&self, state_string: &str, source: &str) -> Result<Arc<ProviderSlot>, String> {
        let mut slots = self.slots.lock().expect("slots");
        if let Some(s) = slots.get(state_string) {
            return Ok(s.clone());
        }
        let provider = self.factory.start(source)?;
        let (schema, ds) = provider
            .get_schema()
            .map_err(|e| format!("failed to load the schema of provider {source}: {e}"))?;
        if providers::has_errors(&ds) {
            let msg: Vec<String> = ds.iter().map(|d| d.summary.clone()).collect();
            return Err(format!(
                "provider {source} returned errors for its schema: {}",
                msg.join("; ")
            ));
        }
        let slot = Arc::new(ProviderSlot {
            provider,
            source: source.to_string(),
            schema,
            configured: Mutex::new(None),
        });
        slots.insert(state_string.to_string(), slot.clone());
        Ok(slot)
    }

    /// The provider to call for an object: configured before its first use, except in the
    /// console's evaluation phase, which only needs schemas.
    fn provider_for(
        &self,
        state_string: &str,
        source: &str,
    ) -> Result<Arc<ProviderSlot>, Option<String>> {
        if self.phase == Phase::Eval {
            self.slot(state_string, source).map_err(Some)
        } else {
            self.configured(state_string, source)
        }
    }

    /// The schemas of every provider started during the walk, by source address (for
    /// renderers and the JSON forms).
    pub fn schemas(&self) -> BTreeMap<String, Arc<ProviderSchema>> {
        self.slots
            .lock()
            .expect("slots")
            .values()
            .map(|v| (v.source.clone(), v.schema.clone()))
            .collect()
    }

    pub fn close_providers(&self) {
        self.prefetch.cancel();
        self.info.functions.close();
        for s in self.slots.lock().expect("slots").values() {
            s.provider.close();
        }
    }

    /// The configured provider for a configuration address (configured once, on first use).
    /// A failed configuration reports the provider's diagnostics at the provider block once;
    /// later callers get `Err(None)`. `Err(Some(..))` is a provider that did not start.
    fn configured(
        &self,
        state_string: &str,
        source: &str,
    ) -> Result<Arc<ProviderSlot>, Option<String>> {
        let slot = self.slot(state_string, source).map_err(Some)?;
        let mut c = slot.configured.lock().expect("configure");
        if c.is_none() {
            let (config, pc) = match self
                .provider_configs
                .lock()
                .expect("configs")
                .get(state_string)
            {
                Some((v, pc)) if !v.is_null() => (v.clone(), Some(*pc)),
                _ => (empty_object_of(&slot.schema.provider), None),
            };
            let res = self.sem.run(|| {
                slot.provider
                    .configure(&self.opts.terraform_version, &config)
            });
            let ok = match res {
                Ok(ds) => {
                    let addr = state_string.to_string();
                    let ds = match pc {
                        Some(pc) => provider_diags(ds, &addr, Some(&pc.config), &pc.range),
                        None => Diagnostics(ds.into_iter().map(provider_diag).collect()),
                    };
                    !self.extend(ds)
                }
                Err(e) => {
                    self.diag(Diagnostic::error(
                        "Failed to configure provider",
                        format!("{}: {e}", short_source(source)),
                    ));
                    false
                }
            };
            *c = Some(ok);
            if ok {
                self.start_early_refresh(state_string, &slot);
            }
        }
        if *c == Some(true) {
            Ok(slot.clone())
        } else {
            Err(None)
        }
    }

    /// Starts reading every prior object that uses this provider configuration, for a plan
    /// that refreshes (see [`crate::prefetch`]). Objects whose stored schema version differs
    /// are left to the walk, which upgrades them first; so are deposed objects.
    fn start_early_refresh(&self, state_string: &str, slot: &ProviderSlot) {
        if self.phase != Phase::Plan
            || !self.opts.refresh
            || !self.opts.targets.is_empty()
            || !slot.provider.remote_reads()
        {
            return;
        }
        let mut items = Vec::new();
        for (saddr, res) in self.prior.resources() {
            if res.provider != state_string || saddr.mode != ResourceMode::Managed {
                continue;
            }
            let Some(schema) = slot.schema.resource_types.get(&saddr.type_name) else {
                continue;
            };
            // Reads that carry the module's provider_meta are left to the walk.
            let mi = parse_module_instance(&saddr.module);
            let names: Vec<&str> = mi.0.iter().map(|s| &*s.name).collect();
            if module_index(self.mods, &names).is_some_and(|m| {
                let cfg = self.mods.get(m).cfg;
                cfg.provider_metas
                    .values()
                    .any(|pm| crate::model::provider_source(cfg, &pm.name) == slot.source)
            }) {
                continue;
            }
            let ty = schema.block.implied_type();
            for (okey, obj) in res.objects() {
                if okey.deposed.is_some()
                    || obj.schema_version as i64 != schema.version
                    || obj.attributes.is_none()
                {
                    continue;
                }
                let Ok(prior) = stateobj::decode(obj, &ty) else {
                    continue;
                };
                let (current_state, _) = prior.unmark_deep();
                if current_state.is_null() {
                    continue;
                }
                let inst = state_instance(saddr, &okey.key);
                items.push(prefetch::Item {
                    addr: inst.to_string(),
                    request: providers::ReadResourceRequest {
                        type_name: saddr.type_name.clone(),
                        current_state,
                        private: obj.private_bytes().and_then(|r| r.ok()).unwrap_or_default(),
                        provider_meta: None,
                    },
                });
            }
        }
        self.prefetch.start(
            slot.provider.clone(),
            self.sem.clone(),
            items,
            self.opts.parallelism,
        );
    }

    /// Reports a provider that could not be started (a configuration failure was reported
    /// when it happened).
    fn provider_failed(&self, e: Option<String>, subject: Option<&SourceRange>) {
        if let Some(e) = e {
            let d = Diagnostic::error("Failed to load plugin schemas", e);
            self.diag(match subject {
                Some(r) => d.with_subject(r.clone()),
                None => d,
            });
        }
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

    fn var_node(&self, m: usize, name: &str) -> bool {
        let info = self.mods.get(m);
        let decl = &info.cfg.variables[name];
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            let raw = if m == 0 {
                self.opts.variables.get(name).cloned()
            } else {
                // Evaluated in the parent module instance, with the call's repetition data.
                let parent_mi = ModuleInstance(mi.0[..mi.0.len() - 1].to_vec());
                let call = info.call.expect("child module has a call");
                match call.config.attributes.get(name) {
                    Some(a) => {
                        let mut nd = self.node_data(info.parent.unwrap_or(0), parent_mi);
                        if let Some((k, ev)) = self.store.call_each.read().expect("store").get(&mi)
                        {
                            if let Some(InstanceKey::Int(i)) = k {
                                nd.count_index = Some(*i);
                            }
                            if let (Some(InstanceKey::Str(s)), Some(v)) = (k, ev) {
                                nd.each = Some((s.to_string(), v.clone()));
                            }
                        }
                        let (v, ds) = self
                            .scope(&nd, info.parent.unwrap_or(0))
                            .eval(&a.expr, &Type::Dynamic);
                        if self.extend(ds) {
                            ok = false;
                            continue;
                        }
                        Some(crate::InputValue {
                            value: v,
                            range: Some(a.expr.range.clone()),
                        })
                    }
                    None => None,
                }
            };
            match crate::vars::finalize(self, m, &mi, decl, raw) {
                Ok(v) => {
                    self.store
                        .vars
                        .write()
                        .expect("store")
                        .insert((mi.clone(), name.to_string()), v);
                }
                Err(ds) => {
                    self.extend(ds);
                    ok = false;
                }
            }
        }
        ok
    }

    pub fn eval_in(
        &self,
        m: usize,
        mi: &ModuleInstance,
        e: &Expr,
        want: &Type,
    ) -> (Value, Diagnostics) {
        let nd = self.node_data(m, mi.clone());
        self.scope(&nd, m).eval(e, want)
    }

    fn local_node(&self, m: usize, name: &str) -> bool {
        let l = &self.mods.get(m).cfg.locals[name];
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            let (v, ds) = self.eval_in(m, &mi, &l.expr, &Type::Dynamic);
            if self.extend(ds) {
                ok = false;
            }
            self.store
                .locals
                .write()
                .expect("store")
                .insert((mi, name.to_string()), v);
        }
        ok
    }

    fn output_node(&self, m: usize, name: &str) -> bool {
        let o = &self.mods.get(m).cfg.outputs[name];
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            if self.opts.mode == PlanMode::Destroy && m == 0 {
                continue;
            }
            for c in &o.preconditions {
                if !self.check_rule(m, &mi, None, c, "Module output value precondition failed") {
                    ok = false;
                }
            }
            let (v, ds) = self.eval_in(m, &mi, &o.expr, &Type::Dynamic);
            if self.extend(ds) {
                ok = false;
                continue;
            }
            if m == 0 && !o.sensitive && v.is_sensitive_deep() {
                self.diag(
                    Diagnostic::error(
                        "Output refers to sensitive values",
                        "To reduce the risk of accidentally exporting sensitive data that was intended to be only internal, Terraform requires that any root module output containing sensitive data be explicitly marked as sensitive, to confirm your intent.\n\nIf you do intend to export this data, annotate the output value as sensitive by adding the following argument:\n    sensitive = true",
                    )
                    .with_subject(o.decl_range.clone()),
                );
                ok = false;
                continue;
            }
            let v = if o.sensitive {
                v.mark(Marks::SENSITIVE)
            } else {
                v
            };
            self.store
                .outputs
                .write()
                .expect("store")
                .insert((mi, name.to_string()), v);
        }
        ok
    }

    /// Evaluates a precondition/postcondition/validation rule; false if it failed.
    pub fn check_rule(
        &self,
        m: usize,
        mi: &ModuleInstance,
        nd: Option<&NodeData>,
        rule: &config::CheckRule,
        summary: &str,
    ) -> bool {
        let own;
        let nd = match nd {
            Some(nd) => nd,
            None => {
                own = self.node_data(m, mi.clone());
                &own
            }
        };
        let scope = self.scope(nd, m);
        let (cond, ds) = scope.eval(&rule.condition, &Type::Bool);
        if self.extend(ds) {
            return false;
        }
        if !cond.is_known() {
            return true; // checked again at apply time
        }
        if cond.unmarked().as_bool() == Some(true) {
            return true;
        }
        let (msg, ds) = scope.eval(&rule.error_message, &Type::String);
        self.extend(ds);
        let msg = if msg.marks().is_sensitive() {
            "The error message included a sensitive value, so it will not be displayed.".to_string()
        } else {
            msg.unmarked().as_str().unwrap_or("").to_string()
        };
        let values = lang::expression_values(&scope, &rule.condition);
        self.diag(
            Diagnostic::error(summary, msg)
                .with_subject(rule.condition.range.clone())
                .with_expression_values(values),
        );
        false
    }

    fn call_node(&self, m: usize, name: &str) -> bool {
        let call = &self.mods.get(m).cfg.module_calls[name];
        let Some(&child) = self.mods.get(m).children.get(name) else {
            return true;
        };
        let mut ok = true;
        let mut instances = Vec::new();
        for mi in self.store.instances_of(m) {
            let nd = self.node_data(m, mi.clone());
            match self.expand(&nd, m, call.count.as_ref(), call.for_each.as_ref()) {
                Ok(exp) => {
                    for k in exp.keys() {
                        let ci = mi.child(name, k.clone());
                        let ev = k.as_ref().and_then(|k| exp.each_value(k));
                        self.store
                            .call_each
                            .write()
                            .expect("store")
                            .insert(ci.clone(), (k, ev));
                        instances.push(ci);
                    }
                    self.store
                        .call_expansions
                        .write()
                        .expect("store")
                        .insert((mi.clone(), name.to_string()), exp);
                }
                Err(ds) => {
                    self.extend(ds);
                    ok = false;
                }
            }
        }
        self.store
            .module_instances
            .write()
            .expect("store")
            .insert(child, instances);
        ok
    }

    fn provider_node(&self, key: &ProviderKey) -> bool {
        if self.phase == Phase::Eval {
            return true;
        }
        let state_string = key.state_string(self.mods);
        let slot = match self.slot(&state_string, &key.source) {
            Ok(s) => s,
            Err(e) => {
                self.diag(Diagnostic::error("Failed to load plugin schemas", e));
                return false;
            }
        };
        let Some(pc) = self
            .mods
            .get(key.module)
            .cfg
            .provider_configs
            .get(&key.config_key())
        else {
            return true;
        };
        let mi = self
            .store
            .instances_of(key.module)
            .into_iter()
            .next()
            .unwrap_or_default();
        let nd = self.node_data(key.module, mi);
        let (v, ds) = self
            .scope(&nd, key.module)
            .eval_block(&pc.config, &slot.schema.provider);
        if self.extend(ds) {
            return false;
        }
        let (v, _) = v.unmark_deep();
        match slot.provider.validate_provider_config(&v) {
            Ok(ds) => {
                if self.extend(provider_diags(
                    ds,
                    &state_string,
                    Some(&pc.config),
                    &pc.range,
                )) {
                    return false;
                }
            }
            Err(e) => {
                self.diag(Diagnostic::error(
                    "Failed to validate provider configuration",
                    e.to_string(),
                ));
                return false;
            }
        }
        self.provider_configs
            .lock()
            .expect("configs")
            .insert(state_string, (v, pc));
        true
    }

    /// Evaluates count/for_each.
    pub fn expand(
        &self,
        nd: &NodeData,
        m: usize,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
    ) -> Result<Expansion, Diagnostics> {
        let scope = self.scope(nd, m);
        if let Some(c) = count {
            let (v, ds) = scope.eval(c, &Type::Number);
            if ds.has_errors() {
                return Err(ds);
            }
            let bad = |s: &str, d: &str| {
                let mut ds = Diagnostics::new();
                ds.push(Diagnostic::error(s, d).with_subject(c.range.clone()));
                Err(ds)
            };
            if !v.is_known() {
                return bad("Invalid count argument", "The \"count\" value depends on resource attributes that cannot be determined until apply, so Terraform cannot predict how many instances will be created. To work around this, use the -target argument to first apply only the resources that the count depends on.");
            }
            if v.is_null() {
                return bad(
                    "Invalid count argument",
                    "The given \"count\" argument value is null. An integer is required.",
                );
            }
            let n = v.unmarked().as_number().and_then(|n| n.to_i64());
            return match n {
                Some(n) if n >= 0 => Ok(Expansion::Count(n as usize)),
                Some(_) => bad("Invalid count argument", "The given \"count\" argument value is unsuitable: must be greater than or equal to zero."),
                None => bad("Invalid count argument", "The given \"count\" argument value is unsuitable: value must be a whole number."),
            };
        }
        if let Some(fe) = for_each {
            let (v, ds) = scope.eval(fe, &Type::Dynamic);
            if ds.has_errors() {
                return Err(ds);
            }
            return crate::vars::for_each_keys(&v, &fe.range);
        }
        Ok(Expansion::Single)
    }

    fn resource_config(&self, m: usize, mode: Mode, key: &str) -> &'a config::Resource {
        let c = self.mods.get(m).cfg;
        match mode {
            Mode::Managed => &c.managed_resources[key],
            Mode::Data => &c.data_resources[key],
        }
    }

    fn targeted(&self, inst: &AbsResourceInstance) -> bool {
        if self.opts.targets.is_empty() || self.opts.targets.iter().any(|t| t.contains(inst)) {
            return true;
        }
        let names: Vec<&str> = inst.module.0.iter().map(|s| &*s.name).collect();
        module_index(self.mods, &names).is_some_and(|m| {
            self.target_deps
                .get(&(
                    m,
                    inst.resource.mode,
                    format!("{}.{}", inst.resource.type_name, inst.resource.name),
                ))
                .is_some_and(|within| {
                    within.iter().any(|w| {
                        w.as_ref()
                            .is_none_or(|w| addrs::Target::Module(w.clone()).contains(inst))
                    })
                })
        })
    }

    /// A resource node: expands the resource in each module instance and plans (or applies)
    /// every instance.
    fn resource_node(&self, n: usize, m: usize, mode: Mode, key: &str) -> bool {
        let r = self.resource_config(m, mode, key);
        let pk = self.graph.resource_provider[&n].clone();
        let slot = match self.provider_for(&pk.state_string(self.mods), &pk.source) {
            Ok(s) => s,
            Err(e) => {
                self.provider_failed(e, Some(&r.decl_range));
                return false;
            }
        };
        let schema = match mode {
            Mode::Managed => slot.schema.resource_types.get(&r.type_name),
            Mode::Data => slot.schema.data_sources.get(&r.type_name),
        };
        let Some(schema) = schema.cloned() else {
            let what = if mode == Mode::Managed {
                "resource type"
            } else {
                "data source"
            };
            self.diag(
                Diagnostic::error(
                    if mode == Mode::Managed {
                        "Invalid resource type"
                    } else {
                        "Invalid data source"
                    },
                    format!(
                        "The provider {} does not support {what} {:?}.",
                        short_source(&pk.source),
                        r.type_name
                    ),
                )
                .with_subject(r.type_range.clone()),
            );
            return false;
        };
        let implied = schema.block.implied_type();
        self.store
            .resource_types
            .write()
            .expect("store")
            .insert((mode, r.type_name.clone()), implied.clone());
        let deps: Vec<String> = {
            let mut d: Vec<String> = self
                .graph
                .resource_ancestors(n)
                .into_iter()
                .filter_map(|a| match &self.graph.nodes[a] {
                    NodeKind::Resource {
                        m: am,
                        mode: amode,
                        key: akey,
                    } => {
                        let prefix = self.mods.display(*am);
                        let data = if *amode == Mode::Data { "data." } else { "" };
                        Some(if prefix.is_empty() {
                            format!("{data}{akey}")
                        } else {
                            format!("{prefix}.{data}{akey}")
                        })
                    }
                    _ => None,
                })
                .collect();
            d.sort();
            d
        };
        let provider_string = pk.state_string(self.mods);
        let this = addrs::Resource {
            mode,
            type_name: r.type_name.as_str().into(),
            name: r.name.as_str().into(),
        };
        // Terraform checks for references to the resource itself while planning (a destroy
        // plan evaluates no configuration).
        let check_self = self.phase == Phase::Plan && self.opts.mode != PlanMode::Destroy;
        let self_refs = if check_self {
            crate::selfref::in_body(&r.config, &this)
        } else {
            Vec::new()
        };
        let provider_meta = self.provider_meta(m, &pk, &slot);
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            let saddr = ResourceAddr::new(mi.to_string(), state_mode(mode), &r.type_name, &r.name);
            self.visited.lock().expect("visited").insert(saddr.clone());
            let nd = self.node_data(m, mi.clone());
            if check_self && !self.repetition_is_not_self_referential(r, &this) {
                ok = false;
                continue;
            }
            let prior_res = self.prior.resource(&saddr);
            let destroying = self.opts.mode == PlanMode::Destroy && self.phase != Phase::Eval;
            let expansion = if destroying {
                // A destroy evaluates no resource arguments: every object in state goes, and
                // references see the objects as state has them (see `state_expansion`).
                state_expansion(r, prior_res)
            } else {
                match self.expand(&nd, m, r.count.as_ref(), r.for_each.as_ref()) {
                    Ok(e) => e,
                    Err(ds) => {
                        self.extend(ds);
                        ok = false;
                        continue;
                    }
                }
            };
            let imports = if self.phase == Phase::Plan && mode == Mode::Managed {
                match self.import_targets(m, &mi, r) {
                    Ok(i) => i,
                    Err(ds) => {
                        self.extend(ds);
                        ok = false;
                        HashMap::new()
                    }
                }
            } else {
                HashMap::new()
            };
            let ctx = ResCtx {
                m,
                mi: &mi,
                r,
                schema: &schema,
                slot: &slot,
                pk: &pk,
                provider_string: &provider_string,
                saddr: &saddr,
                deps: &deps,
                imports: &imports,
                self_refs: &self_refs,
                provider_meta: &provider_meta,
                ty: &implied,
            };
            // A destroy goes over the objects in state; anything else over the expansion,
            // whose keys are never materialised (a count of millions costs only its values).
            let listed: Option<Vec<Option<InstanceKey>>> = destroying.then(|| {
                prior_res
                    .map(|pr| {
                        pr.objects()
                            .filter(|(k, _)| k.deposed.is_none())
                            .map(|(k, _)| addr_key(&k.key))
                            .collect()
                    })
                    .unwrap_or_default()
            });
            let n_keys = listed.as_ref().map_or(expansion.len(), Vec::len);
            let key_at = |i: usize| match &listed {
                Some(ks) => ks[i].clone(),
                None => expansion.key_at(i),
            };
            if check_self && n_keys >= 2 && self_refs.iter().any(|r| r.key.is_none()) {
                let instances: Vec<AbsResourceInstance> = (0..n_keys)
                    .map(|i| AbsResourceInstance {
                        module: mi.clone(),
                        resource: this.clone(),
                        key: key_at(i),
                    })
                    .collect();
                if let Some(d) = crate::selfref::instance_cycle(&self_refs, &instances) {
                    self.diag(d);
                    ok = false;
                    continue;
                }
            }
            if self.phase == Phase::Plan {
                // One change per instance: room for all at once, rather than doubling (and
                // copying) a vector of millions as they arrive.
                self.changes.lock().expect("changes").reserve_exact(n_keys);
            }
            let results: Vec<Result<Value, ()>> = self.for_instances(n_keys, |i| {
                let k = key_at(i);
                let inst = AbsResourceInstance {
                    module: mi.clone(),
                    resource: this.clone(),
                    key: k.clone(),
                };
                let mut ind = self.node_data(m, mi.clone());
                match &k {
                    Some(InstanceKey::Int(i)) => ind.count_index = Some(*i),
                    Some(InstanceKey::Str(s)) => {
                        ind.each = Some((
                            s.to_string(),
                            expansion
                                .each_value(&InstanceKey::Str(s.clone()))
                                .unwrap_or_else(Value::dynamic_unknown),
                        ))
                    }
                    None => {}
                }
                let prior_obj = prior_res.and_then(|pr| pr.instance(state_key(&k).as_ref()));
                self.instance(&ctx, &inst, &ind, prior_obj)
            });
            ok &= results.iter().all(Result::is_ok);
            let values = match &listed {
                None => Instances::Dense(results.into_iter().map(Result::ok).collect()),
                Some(ks) => Instances::Sparse(
                    ks.iter()
                        .cloned()
                        .zip(results)
                        .filter_map(|(k, r)| r.ok().map(|v| (k, v)))
                        .collect(),
                ),
            };
            // Instances in state that the expansion no longer has.
            if self.opts.mode != PlanMode::Destroy {
                if let Some(pr) = prior_res {
                    for (ok_, obj) in pr.objects() {
                        if ok_.deposed.is_some()
                            || expansion.index_of(&addr_key(&ok_.key)).is_some()
                        {
                            continue;
                        }
                        let reason = match (&ok_.key, &expansion) {
                            (_, Expansion::Single) if ok_.key.is_some() => {
                                ActionReason::DeleteBecauseWrongRepetition
                            }
                            (None, _) => ActionReason::DeleteBecauseWrongRepetition,
                            (Some(states::InstanceKey::Int(_)), Expansion::Count(_)) => {
                                ActionReason::DeleteBecauseCountIndex
                            }
                            (Some(states::InstanceKey::Str(_)), Expansion::ForEach(_)) => {
                                ActionReason::DeleteBecauseEachKey
                            }
                            _ => ActionReason::DeleteBecauseWrongRepetition,
                        };
                        if self.phase == Phase::Plan {
                            let inst = AbsResourceInstance {
                                module: mi.clone(),
                                resource: addrs::Resource {
                                    mode,
                                    type_name: r.type_name.as_str().into(),
                                    name: r.name.as_str().into(),
                                },
                                key: addr_key(&ok_.key),
                            };
                            if !self.targeted(&inst) {
                                continue;
                            }
                            if !self.plan_delete(&ctx, &inst, obj, Some(reason), None) {
                                ok = false;
                            }
                        }
                    }
                }
            }
            // Deposed objects left by an interrupted create_before_destroy are deleted.
            if self.phase == Phase::Plan && mode == Mode::Managed {
                if let Some(pr) = prior_res {
                    for (ok_, obj) in pr.objects() {
                        if let Some(dk) = &ok_.deposed {
                            let inst = AbsResourceInstance {
                                module: mi.clone(),
                                resource: addrs::Resource {
                                    mode,
                                    type_name: r.type_name.as_str().into(),
                                    name: r.name.as_str().into(),
                                },
                                key: addr_key(&ok_.key),
                            };
                            if !self.plan_delete(&ctx, &inst, obj, None, Some(dk.clone())) {
                                ok = false;
                            }
                        }
                    }
                }
            }
            // A resource this walk neither finds in state nor plans or applies anything for
            // has no objects: references see an empty collection under count or for_each
            // (and an unknown object otherwise), as Terraform's evaluator reads a resource
            // missing from its working state.
            let untouched = mode == Mode::Managed
                && prior_res.is_none()
                && (0..n_keys).all(|i| {
                    let inst = AbsResourceInstance {
                        module: mi.clone(),
                        resource: this.clone(),
                        key: key_at(i),
                    };
                    !self.makes_object(&inst)
                });
            if untouched && !destroying {
                let none = match expansion {
                    Expansion::Count(_) => Some(Expansion::Count(0)),
                    Expansion::ForEach(_) => Some(Expansion::ForEach(Vec::new())),
                    Expansion::Single => None,
                };
                if let Some(e) = none {
                    self.store.set_resource(
                        &mi,
                        mode,
                        key,
                        ResourceValues::new(e, Instances::Dense(Vec::new())),
                    );
                }
            } else if !destroying {
                self.store
                    .set_resource(&mi, mode, key, ResourceValues::new(expansion, values));
            } else if prior_res.is_some() {
                self.store.set_resource(
                    &mi,
                    mode,
                    key,
                    ResourceValues::from_state(expansion, values),
                );
            }
            // (A resource a destroy finds nothing of stays unknown to references, as in
            // Terraform, rather than null.)
        }
        ok
    }

    /// Import IDs for instances of a resource: from the import command and `import` blocks.
    fn import_targets(
        &self,
        m: usize,
        mi: &ModuleInstance,
        r: &config::Resource,
    ) -> Result<HashMap<Option<InstanceKey>, String>, Diagnostics> {
        let mut out = HashMap::new();
        for (addr, id) in &self.opts.imports {
            if &addr.module == mi
                && addr.resource.mode == Mode::Managed
                && *addr.resource.type_name == r.type_name
                && *addr.resource.name == r.name
            {
                out.insert(addr.key.clone(), id.clone());
            }
        }
        if m != 0 {
            return Ok(out);
        }
        for imp in &self.mods.get(0).cfg.imports {
            let Some((ty, name, key_expr)) = import_to(&imp.to) else {
                continue;
            };
            if ty != r.type_name || name != r.name {
                continue;
            }
            let each: Vec<Option<(String, Value)>> = match &imp.for_each {
                Some(fe) => {
                    let nd = self.node_data(0, mi.clone());
                    let (v, ds) = self.scope(&nd, 0).eval(fe, &Type::Dynamic);
                    if ds.has_errors() {
                        return Err(ds);
                    }
                    match crate::vars::for_each_keys(&v, &fe.range)? {
                        Expansion::ForEach(kv) => kv.into_iter().map(Some).collect(),
                        _ => vec![None],
                    }
                }
                None => vec![None],
            };
            for e in each {
                let mut nd = self.node_data(0, mi.clone());
                nd.each = e;
                let scope = self.scope(&nd, 0);
                let key = match &key_expr {
                    ImportKey::None => None,
                    ImportKey::Static(k) => Some(k.clone()),
                    ImportKey::Expr(ke) => {
                        let (kv, ds) = scope.eval(ke, &Type::Dynamic);
                        if ds.has_errors() {
                            return Err(ds);
                        }
                        match kv.unmarked() {
                            Value::String(s) => Some(InstanceKey::Str(s.as_str().into())),
                            Value::Number(n) => n.to_i64().map(InstanceKey::Int),
                            _ => None,
                        }
                    }
                };
                let (idv, ds) = scope.eval(&imp.id, &Type::String);
                if ds.has_errors() {
                    return Err(ds);
                }
                let Some(id) = idv.unmarked().as_str().map(String::from) else {
                    let mut ds = Diagnostics::new();
                    ds.push(
                        Diagnostic::error(
                            "Invalid import id argument",
                            "The import ID cannot be null or unknown.",
                        )
                        .with_subject(imp.id.range.clone()),
                    );
                    return Err(ds);
                };
                out.insert(key, id);
            }
        }
        Ok(out)
    }

    /// ImportResourceState then ReadResource: the object an import adopts.
    fn import_read(&self, ctx: &ResCtx, addr: &str, id: &str) -> Result<(Value, Vec<u8>), ()> {
        let resp = self.sem.run(|| {
            ctx.slot
                .provider
                .import_resource_state(&ctx.r.type_name, id)
        });
        let imported = match resp {
            Ok((objs, ds)) => {
                if self.extend(provider_diags(ds, addr, None, &ctx.r.decl_range)) {
                    return Err(());
                }
                objs.into_iter().find(|o| o.type_name == ctx.r.type_name)
            }
            Err(e) => {
                self.diag(crashed(ctx.pk, addr, &e.to_string(), &ctx.r.decl_range));
                return Err(());
            }
        };
        let Some(imported) = imported else {
            self.diag(Diagnostic::error("Import returned no resources", format!("While attempting to import with ID {id}, the provider returned no instance objects of type {}.", ctx.r.type_name)).with_subject(ctx.r.decl_range.clone()));
            return Err(());
        };
        let resp = self.sem.run(|| {
            ctx.slot
                .provider
                .read_resource(providers::ReadResourceRequest {
                    type_name: ctx.r.type_name.clone(),
                    current_state: imported.state.clone(),
                    private: imported.private.clone(),
                    provider_meta: ctx.provider_meta.value(),
                })
        });
        match resp {
            Ok(r) => {
                if self.extend(provider_diags(r.diagnostics, addr, None, &ctx.r.decl_range)) {
                    return Err(());
                }
                if r.new_state.is_null() {
                    self.diag(Diagnostic::error(
                        "Cannot import non-existent remote object",
                        format!("While attempting to import an existing object to \"{addr}\", the provider detected that no object exists with the given id. Only pre-existing objects can be imported; check that the id is correct and that it is associated with the provider's configured region or endpoint, or use \"terraform apply\" to create a new remote object for this resource."),
                    ).with_subject(ctx.r.decl_range.clone()));
                    return Err(());
                }
                Ok((
                    mark_schema_sensitive(&ctx.schema.block, r.new_state),
                    r.private,
                ))
            }
            Err(e) => {
                self.diag(crashed(ctx.pk, addr, &e.to_string(), &ctx.r.decl_range));
                Err(())
            }
        }
    }

    /// Runs `f` over instances `0..n` (positions in the resource's keys), in parallel chunks
    /// bounded by `-parallelism` (provider calls inside are bounded by the semaphore too),
    /// in order for a handful.
    fn for_instances<T: Send>(&self, n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
        let threads = self.opts.parallelism.clamp(1, 64);
        if n < 8 || threads == 1 {
            return (0..n).map(&f).collect();
        }
        let chunk = n.div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .step_by(chunk)
                .map(|start| {
                    let f = &f;
                    s.spawn(move || (start..(start + chunk).min(n)).map(f).collect::<Vec<T>>())
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("instance worker"))
                .collect()
        })
    }

    fn instance(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        nd: &NodeData,
        prior_obj: Option<&InstanceObject>,
    ) -> Result<Value, ()> {
        match (self.phase, ctx.r.mode) {
            (Phase::Eval, _) => {
                let _ = nd;
                match prior_obj {
                    Some(o) => self
                        .decode_prior(ctx.slot, &ctx.r.type_name, ctx.schema, o, &inst.to_string())
                        .map_err(|d| self.diag(d)),
                    None => Ok(Value::null(ctx.ty.clone())),
                }
            }
            (Phase::Plan, _) if !self.not_self_referential(ctx, inst) => Err(()),
            (Phase::Plan | Phase::Apply, _) if !self.provider_meta_usable(ctx, inst) => Err(()),
            (Phase::Plan, Mode::Managed) => self.plan_managed(ctx, inst, nd, prior_obj),
            (Phase::Plan, Mode::Data) => self.plan_data(ctx, inst, nd, prior_obj),
            (Phase::Apply, Mode::Managed) => self.apply_managed(ctx, inst, nd, prior_obj),
            (Phase::Apply, Mode::Data) => self.apply_data(ctx, inst, nd, prior_obj),
        }
    }

    /// The module's `provider_meta` for a provider, evaluated once per resource (its
    /// arguments are constants) against the provider's metadata schema.
    fn provider_meta(&self, m: usize, pk: &ProviderKey, slot: &ProviderSlot) -> ProviderMeta {
        let cfg = self.mods.get(m).cfg;
        let Some(pm) = cfg
            .provider_metas
            .values()
            .find(|pm| crate::model::provider_source(cfg, &pm.name) == pk.source)
        else {
            return ProviderMeta::None;
        };
        let Some(schema) = &slot.schema.provider_meta else {
            return ProviderMeta::Unsupported(pm.name_range.clone());
        };
        let nd = self.node_data(m, ModuleInstance::root());
        let (v, ds) = self.scope(&nd, m).eval_block(&pm.config, schema);
        if ds.has_errors() {
            return ProviderMeta::Invalid(ds);
        }
        ProviderMeta::Value(v.unmark_deep().0)
    }

    /// Reports, for an instance, a `provider_meta` its provider cannot take (as Terraform
    /// does for every instance it plans or applies); true if there is none.
    fn provider_meta_usable(&self, ctx: &ResCtx, inst: &AbsResourceInstance) -> bool {
        match ctx.provider_meta {
            ProviderMeta::None | ProviderMeta::Value(_) => true,
            ProviderMeta::Unsupported(range) => {
                let what = match &inst.key {
                    Some(k) => format!("{}{k}", inst.resource),
                    None => inst.resource.to_string(),
                };
                self.diag(
                    Diagnostic::error(
                        format!("Provider {} doesn't support provider_meta", ctx.pk.source),
                        format!("The resource {what} belongs to a provider that doesn't support provider_meta blocks"),
                    )
                    .with_subject(range.clone()),
                );
                false
            }
            ProviderMeta::Invalid(ds) => {
                self.extend(ds.clone());
                false
            }
        }
    }

    /// Whether this walk plans or applies an object for an instance (as opposed to leaving
    /// it out, by targeting or a refresh-only plan).
    fn makes_object(&self, inst: &AbsResourceInstance) -> bool {
        match self.phase {
            Phase::Plan => self.opts.mode == PlanMode::Normal && self.targeted(inst),
            Phase::Apply => self
                .planned
                .get(&(inst.to_string(), None))
                .is_some_and(|c| {
                    !matches!(c.action, Action::NoOp | Action::Delete | Action::Forget)
                }),
            Phase::Eval => false,
        }
    }

    /// Reports the instance's references to itself (see [`crate::selfref`]); true if none.
    fn not_self_referential(&self, ctx: &ResCtx, inst: &AbsResourceInstance) -> bool {
        let ds = crate::selfref::instance_diagnostics(ctx.self_refs, inst);
        let none = ds.is_empty();
        for d in ds {
            self.diag(d);
        }
        none
    }

    /// Reports references to the resource in its own `count` or `for_each`; true if none.
    fn repetition_is_not_self_referential(
        &self,
        r: &config::Resource,
        this: &addrs::Resource,
    ) -> bool {
        let mut none = true;
        for e in r.count.iter().chain(r.for_each.iter()) {
            for sr in crate::selfref::in_expr(e, this) {
                if sr.key.is_none() {
                    self.diag(crate::selfref::diagnostic(&this.to_string(), &sr.range));
                    none = false;
                }
            }
        }
        none
    }

    /// Decodes (upgrading if the schema version changed) a prior object.
    pub fn decode_prior(
        &self,
        slot: &ProviderSlot,
        type_name: &str,
        schema: &ResourceSchema,
        obj: &InstanceObject,
        addr: &str,
    ) -> Result<Value, Diagnostic> {
        let ty = schema.block.implied_type();
        let v = if obj.schema_version as i64 == schema.version && obj.attributes.is_some() {
            stateobj::decode(obj, &ty).map_err(|e| {
                Diagnostic::error(
                    "Invalid resource instance data in state",
                    format!("Instance {addr} data could not be decoded from the state: {e}."),
                )
            })?
        } else {
            let raw = obj
                .attributes
                .as_ref()
                .map(|a| a.get().as_bytes().to_vec())
                .unwrap_or_else(|| b"{}".to_vec());
            let (v, ds) = self
                .sem
                .run(|| {
                    slot.provider
                        .upgrade_resource_state(providers::UpgradeResourceStateRequest {
                            type_name: type_name.to_string(),
                            version: obj.schema_version as i64,
                            raw_state_json: raw,
                        })
                })
                .map_err(|e| {
                    Diagnostic::error("Failed to upgrade resource state", format!("{addr}: {e}"))
                })?;
            if providers::has_errors(&ds) {
                let d = &ds[0];
                return Err(Diagnostic::error(d.summary.clone(), d.detail.clone()));
            }
            v
        };
        Ok(mark_schema_sensitive(&schema.block, v))
    }

    fn plan_delete(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        obj: &InstanceObject,
        reason: Option<ActionReason>,
        deposed: Option<String>,
    ) -> bool {
        let addr = inst.to_string();
        let prior = match self.decode_prior(ctx.slot, &ctx.r.type_name, ctx.schema, obj, &addr) {
            Ok(v) => v,
            Err(d) => {
                self.diag(d);
                return false;
            }
        };
        let prior = if self.opts.refresh {
            match self.refresh(ctx, inst, prior, obj) {
                Ok(v) => v,
                Err(()) => return false,
            }
        } else {
            prior
        };
        if prior.is_null() {
            return true;
        }
        if ctx.r.lifecycle.prevent_destroy == Some(true) && deposed.is_none() {
            self.diag(prevent_destroy_diag(&addr, &ctx.r.decl_range));
            return false;
        }
        self.push_change(self.instance_change(
            ctx,
            inst,
            Action::Delete,
            reason,
            prior.clone(),
            Value::null(ctx.ty.clone()),
            Vec::new(),
            obj.private_bytes().and_then(|r| r.ok()).unwrap_or_default(),
            deposed,
            None,
        ));
        true
    }

    /// ReadResource; a null result means the object is gone.
    /// A change of the object outside Terraform is recorded as drift.
    fn refresh(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        prior: Value,
        obj: &InstanceObject,
    ) -> Result<Value, ()> {
        let addr = &inst.to_string();
        let (plain, _) = prior.clone().unmark_deep();
        self.emit(ApplyEvent::Refreshing {
            addr: addr.to_string(),
            id: object_id(&prior),
        });
        // The early refresh may have read it already.
        let resp = self.prefetch.take(addr).unwrap_or_else(|| {
            self.sem.run(|| {
                ctx.slot
                    .provider
                    .read_resource(providers::ReadResourceRequest {
                        type_name: ctx.r.type_name.clone(),
                        current_state: plain.clone(),
                        private: obj.private_bytes().and_then(|r| r.ok()).unwrap_or_default(),
                        provider_meta: ctx.provider_meta.value(),
                    })
            })
        });
        match resp {
            Ok(resp) => {
                if self.extend(provider_diags(
                    resp.diagnostics,
                    addr,
                    Some(&ctx.r.config),
                    &ctx.r.decl_range,
                )) {
                    return Err(());
                }
                self.emit(ApplyEvent::Refreshed {
                    addr: addr.to_string(),
                    id: object_id(&resp.new_state),
                });
                if !resp.new_state.raw_equals(&plain) {
                    let action = if resp.new_state.is_null() {
                        Action::Delete
                    } else {
                        Action::Update
                    };
                    let after = mark_schema_sensitive(&ctx.schema.block, resp.new_state.clone());
                    let drift = self.instance_change(
                        ctx,
                        inst,
                        action,
                        None,
                        prior,
                        after,
                        Vec::new(),
                        Vec::new(),
                        None,
                        None,
                    );
                    self.drift.lock().expect("drift").push(drift);
                }
                Ok(mark_schema_sensitive(&ctx.schema.block, resp.new_state))
            }
            Err(e) => {
                self.diag(crashed(ctx.pk, addr, &e.to_string(), &ctx.r.decl_range));
                Err(())
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn instance_change(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        action: Action,
        reason: Option<ActionReason>,
        before: Value,
        after: Value,
        replace_paths: Vec<Vec<PathStep>>,
        private: Vec<u8>,
        deposed: Option<String>,
        importing: Option<String>,
    ) -> ResourceInstanceChange {
        let module_address = (!inst.module.is_root()).then(|| inst.module.to_string());
        ResourceInstanceChange {
            address: inst.to_string(),
            previous_address: None,
            module_address,
            mode: inst.resource.mode.as_str(),
            type_name: ctx.r.type_name.clone(),
            name: ctx.r.name.clone(),
            index: key_value(&inst.key),
            provider_name: ctx.pk.source.clone(),
            deposed,
            action,
            action_reason: reason,
            before,
            after,
            replace_paths,
            importing_id: importing,
            private,
            schema_version: ctx.schema.version,
        }
    }

    fn push_change(&self, c: ResourceInstanceChange) {
        self.changes.lock().expect("changes").push(c);
    }

    /// Records a change whose `after` is the value the instance also keeps in the store for
    /// references: the change holds a placeholder until [`Walker::fill_planned_values`]
    /// moves the value over once the walk is done, so a plan keeps one copy per instance.
    fn push_change_sharing_after(&self, mut c: ResourceInstanceChange, inst: &AbsResourceInstance) {
        c.after = Value::null(Type::Dynamic);
        let mut changes = self.changes.lock().expect("changes");
        changes.push(c);
        self.shared_after
            .lock()
            .expect("shared after")
            .push((changes.len() - 1, inst.clone()));
    }

    /// Moves the planned values of [`Walker::push_change_sharing_after`] from the store into
    /// their changes (the store is done with once the walk is).
    pub fn fill_planned_values(&self) {
        let shared = std::mem::take(&mut *self.shared_after.lock().expect("shared after"));
        let mut resources = std::mem::take(&mut *self.store.resources.write().expect("store"));
        let mut changes = self.changes.lock().expect("changes");
        for (i, inst) in shared {
            let key = (
                inst.module.clone(),
                inst.resource.mode,
                format!("{}.{}", inst.resource.type_name, inst.resource.name),
            );
            let value = resources
                .get_mut(&key)
                .and_then(|rv| match Arc::get_mut(rv) {
                    Some(rv) => rv.take(&inst.key),
                    None => rv.get(&inst.key).cloned(),
                });
            if let (Some(v), Some(c)) = (value, changes.get_mut(i)) {
                c.after = v;
            }
        }
    }

    /// Evaluates the resource body against the schema and validates it with the provider.
    fn eval_config(&self, ctx: &ResCtx, nd: &NodeData, addr: &str) -> Result<Value, ()> {
        let (config, ds) = self
            .scope(nd, ctx.m)
            .eval_block(&ctx.r.config, &ctx.schema.block);
        if self.extend(ds) {
            return Err(());
        }
        let (plain, _) = config.clone().unmark_deep();
        let vres = self.sem.run(|| match ctx.r.mode {
            Mode::Managed => ctx
                .slot
                .provider
                .validate_resource_config(&ctx.r.type_name, &plain),
            Mode::Data => ctx
                .slot
                .provider
                .validate_data_resource_config(&ctx.r.type_name, &plain),
        });
        match vres {
            Ok(ds) => {
                if self.extend(provider_diags(
                    ds,
                    addr,
                    Some(&ctx.r.config),
                    &ctx.r.decl_range,
                )) {
                    return Err(());
                }
            }
            Err(e) => {
                self.diag(crashed(ctx.pk, addr, &e.to_string(), &ctx.r.decl_range));
                return Err(());
            }
        }
        Ok(config)
    }

    fn plan_managed(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        nd: &NodeData,
        prior_obj: Option<&InstanceObject>,
    ) -> Result<Value, ()> {
        let addr = inst.to_string();
        let null = Value::null(ctx.ty.clone());
        let (prior, private) = match prior_obj {
            Some(obj) => {
                match self.decode_prior(ctx.slot, &ctx.r.type_name, ctx.schema, obj, &addr) {
                    Ok(v) => (
                        v,
                        obj.private_bytes().and_then(|r| r.ok()).unwrap_or_default(),
                    ),
                    Err(d) => {
                        self.diag(d.with_subject(ctx.r.decl_range.clone()));
                        return Err(());
                    }
                }
            }
            None => (null.clone(), Vec::new()),
        };
        let importing =
            if prior_obj.is_none() && self.opts.mode == PlanMode::Normal && self.targeted(inst) {
                ctx.imports.get(&inst.key).cloned()
            } else {
                None
            };
        let (mut prior, private) = match &importing {
            Some(id) => self.import_read(ctx, &addr, id)?,
            None => (prior, private),
        };
        let tainted = prior_obj.is_some_and(|o| o.status == ObjectStatus::Tainted);
        // An imported object was just read by the import itself.
        if let (true, Some(obj)) = (self.opts.refresh && !prior.is_null(), prior_obj) {
            prior = self.refresh(ctx, inst, prior, obj)?;
        }
        if self.opts.mode == PlanMode::Destroy {
            if !prior.is_null() {
                if ctx.r.lifecycle.prevent_destroy == Some(true) {
                    self.diag(prevent_destroy_diag(&addr, &ctx.r.decl_range));
                    return Err(());
                }
                self.push_change(self.instance_change(
                    ctx,
                    inst,
                    Action::Delete,
                    None,
                    prior.clone(),
                    null,
                    Vec::new(),
                    private,
                    None,
                    None,
                ));
            }
            return Ok(prior);
        }
        if !self.targeted(inst) || self.opts.mode == PlanMode::RefreshOnly {
            if self.opts.mode == PlanMode::RefreshOnly && !prior.is_null() {
                self.push_change(self.instance_change(
                    ctx,
                    inst,
                    Action::NoOp,
                    None,
                    prior.clone(),
                    prior.clone(),
                    Vec::new(),
                    private,
                    None,
                    None,
                ));
            }
            // An instance this plan does not create has no value yet, as in Terraform.
            if prior.is_null() {
                return Ok(Value::unknown(ctx.ty.clone()));
            }
            return Ok(prior);
        }
        for c in &ctx.r.lifecycle.preconditions {
            if !self.check_rule(ctx.m, ctx.mi, Some(nd), c, "Resource precondition failed") {
                return Err(());
            }
        }
        let config = self.eval_config(ctx, nd, &addr)?;
        let config_marked = config.clone();
        let (config, _) = config.unmark_deep();
        let config =
            crate::vars::apply_ignore_changes(&ctx.r.lifecycle.ignore_changes, &prior, config);
        let (prior_plain, _) = prior.clone().unmark_deep();
        let proposed = proposed_new(&ctx.schema.block, &prior_plain, &config);
        let resp = self.plan_call(ctx, &addr, &prior_plain, &proposed, &config, &private)?;
        let mut planned = resp.planned_state;
        let mut planned_private = resp.planned_private;
        let mut replace_paths = Vec::new();
        let mut reason = None;
        let action = if prior.is_null() {
            Action::Create
        } else {
            let changed_replace: Vec<Vec<PathStep>> = resp
                .requires_replace
                .into_iter()
                .filter(|p| path_changed(&prior_plain, &planned, p))
                .collect();
            let forced = self.opts.replace.iter().any(|r| r == inst);
            let triggered = self.replace_triggered(ctx, nd);
            if tainted || forced || triggered || !changed_replace.is_empty() {
                reason = Some(if tainted {
                    ActionReason::ReplaceBecauseTainted
                } else if forced {
                    ActionReason::ReplaceByRequest
                } else if triggered {
                    ActionReason::ReplaceByTriggers
                } else {
                    ActionReason::ReplaceBecauseCannotUpdate
                });
                replace_paths = changed_replace;
                // The create half is planned from nothing.
                let proposed = proposed_new(&ctx.schema.block, &null, &config);
                let resp = self.plan_call(ctx, &addr, &null, &proposed, &config, &[])?;
                planned = resp.planned_state;
                planned_private = resp.planned_private;
                if ctx.r.lifecycle.prevent_destroy == Some(true) {
                    self.diag(prevent_destroy_diag(&addr, &ctx.r.decl_range));
                    return Err(());
                }
                if ctx.r.lifecycle.create_before_destroy == Some(true) {
                    Action::CreateThenDelete
                } else {
                    Action::DeleteThenCreate
                }
            } else if values_equal(&prior_plain, &planned) {
                Action::NoOp
            } else {
                Action::Update
            }
        };
        // Sensitivity: what the config marked plus what the schema declares.
        let planned = mark_schema_sensitive(
            &ctx.schema.block,
            crate::objchange::apply_marked_paths(
                planned,
                &crate::objchange::marked_paths(&config_marked),
            ),
        );
        if !self.postconditions(ctx, nd, &planned) {
            return Err(());
        }
        // Nothing reads the type of a create's null `before`; a typed one would hold a copy
        // of the schema's whole object type for every instance.
        let before = if action == Action::Create {
            Value::null(Type::Dynamic)
        } else {
            prior
        };
        self.push_change_sharing_after(
            self.instance_change(
                ctx,
                inst,
                action,
                reason,
                before,
                Value::null(Type::Dynamic),
                replace_paths,
                planned_private,
                None,
                importing,
            ),
            inst,
        );
        Ok(planned)
    }

    fn replace_triggered(&self, ctx: &ResCtx, nd: &NodeData) -> bool {
        if ctx.r.lifecycle.replace_triggered_by.is_empty() {
            return false;
        }
        let _ = nd;
        let changes = self.changes.lock().expect("changes");
        for e in &ctx.r.lifecycle.replace_triggered_by {
            // A reference to a resource (instance) triggers when it has a planned change; a
            // reference to an attribute, when that attribute's value changes.
            let (refs, _) = lang::references(e);
            for (r, _) in refs {
                if let lang::Reference::Resource(rr) = r {
                    let prefix = format!("{}{}.{}", module_prefix(ctx.mi), rr.type_name, rr.name);
                    if changes.iter().any(|c| {
                        (c.address == prefix || c.address.starts_with(&format!("{prefix}[")))
                            && !matches!(c.action, Action::NoOp | Action::Read)
                    }) {
                        return true;
                    }
                }
            }
        }
        false
    }

    fn plan_call(
        &self,
        ctx: &ResCtx,
        addr: &str,
        prior: &Value,
        proposed: &Value,
        config: &Value,
        private: &[u8],
    ) -> Result<providers::PlanResourceChangeResponse, ()> {
        let resp = self.sem.run(|| {
            ctx.slot
                .provider
                .plan_resource_change(providers::PlanResourceChangeRequest {
                    type_name: ctx.r.type_name.clone(),
                    prior_state: prior.clone(),
                    proposed_new_state: proposed.clone(),
                    config: config.clone(),
                    prior_private: private.to_vec(),
                    provider_meta: ctx.provider_meta.value(),
                })
        });
        match resp {
            Ok(resp) => {
                if self.extend(provider_diags(
                    resp.diagnostics.clone(),
                    addr,
                    Some(&ctx.r.config),
                    &ctx.r.decl_range,
                )) {
                    return Err(());
                }
                Ok(resp)
            }
            Err(e) => {
                self.diag(crashed(ctx.pk, addr, &e.to_string(), &ctx.r.decl_range));
                Err(())
            }
        }
    }

    /// Under destroy a data source is not read again: its prior value (or null) stands.
    fn destroy_time_data(
        &self,
        ctx: &ResCtx,
        prior_obj: Option<&InstanceObject>,
        addr: &str,
    ) -> Result<Value, ()> {
        match prior_obj {
            Some(o) => self
                .decode_prior(ctx.slot, &ctx.r.type_name, ctx.schema, o, addr)
                .map_err(|d| self.diag(d)),
            None => Ok(Value::null(ctx.ty.clone())),
        }
    }

    fn plan_data(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        nd: &NodeData,
        prior_obj: Option<&InstanceObject>,
    ) -> Result<Value, ()> {
        let addr = inst.to_string();
        if self.opts.mode == PlanMode::Destroy {
            return self.destroy_time_data(ctx, prior_obj, &addr);
        }
        let config = self.eval_config(ctx, nd, &addr)?;
        let (plain, marks) = config.clone().unmark_deep();
        let pending = self.depends_on_pending(ctx);
        if !plain.is_wholly_known() || pending {
            let after = crate::objchange::planned_data_object(&ctx.schema.block, &plain);
            let reason = if !plain.is_wholly_known() {
                ActionReason::ReadBecauseConfigUnknown
            } else {
                ActionReason::ReadBecauseDependencyPending
            };
            let after = mark_schema_sensitive(&ctx.schema.block, after);
            self.push_change(self.instance_change(
                ctx,
                inst,
                Action::Read,
                Some(reason),
                Value::null(ctx.ty.clone()),
                after.clone(),
                Vec::new(),
                Vec::new(),
                None,
                None,
            ));
            return Ok(after);
        }
        let v = self.read_data(ctx, &addr, &plain)?;
        let _ = marks;
        let read = self.instance_change(
            ctx,
            inst,
            Action::Read,
            None,
            Value::null(ctx.ty.clone()),
            v.clone(),
            Vec::new(),
            Vec::new(),
            None,
            None,
        );
        self.data_reads.lock().expect("data reads").push(read);
        Ok(v)
    }

    fn read_data(&self, ctx: &ResCtx, addr: &str, config: &Value) -> Result<Value, ()> {
        let start = std::time::Instant::now();
        self.emit(ApplyEvent::Start {
            addr: addr.to_string(),
            action: Action::Read,
            id: None,
            deposed: None,
        });
        let out = self.read_data_call(ctx, addr, config);
        self.emit(match &out {
            Ok(v) => ApplyEvent::Done {
                addr: addr.to_string(),
                action: Action::Read,
                elapsed: start.elapsed(),
                id: object_id(v),
            },
            Err(()) => ApplyEvent::Errored {
                addr: addr.to_string(),
                action: Action::Read,
                elapsed: start.elapsed(),
            },
        });
        out
    }

    fn read_data_call(&self, ctx: &ResCtx, addr: &str, config: &Value) -> Result<Value, ()> {
        let resp = self.sem.run(|| {
            ctx.slot
                .provider
                .read_data_source(providers::ReadDataSourceRequest {
                    type_name: ctx.r.type_name.clone(),
                    config: config.clone(),
                    provider_meta: ctx.provider_meta.value(),
                })
        });
        match resp {
            Ok((v, ds)) => {
                if self.extend(provider_diags(
                    ds,
                    addr,
                    Some(&ctx.r.config),
                    &ctx.r.decl_range,
                )) {
                    return Err(());
                }
                Ok(mark_schema_sensitive(&ctx.schema.block, v))
            }
            Err(e) => {
                self.diag(crashed(ctx.pk, addr, &e.to_string(), &ctx.r.decl_range));
                Err(())
            }
        }
    }

    /// Whether a data resource depends (via depends_on) on managed resources with pending changes.
    fn depends_on_pending(&self, ctx: &ResCtx) -> bool {
        // Terraform counts both `depends_on` and the managed resources the data source's
        // own arguments refer to: reading before their changes apply would read stale data.
        let mut refs: Vec<lang::Reference> = ctx
            .r
            .depends_on
            .iter()
            .flat_map(|e| lang::references(e).0.into_iter().map(|(r, _)| r))
            .collect();
        refs.extend(
            lang::body_references(&ctx.r.config, None)
                .0
                .into_iter()
                .map(|(r, _)| r),
        );
        if refs.is_empty() {
            return false;
        }
        let changes = self.changes.lock().expect("changes");
        refs.iter().any(|r| match r {
            lang::Reference::Resource(rr) if rr.mode == Mode::Managed => {
                let prefix = format!("{}{}.{}", module_prefix(ctx.mi), rr.type_name, rr.name);
                changes.iter().any(|c| {
                    (c.address == prefix || c.address.starts_with(&format!("{prefix}[")))
                        && !matches!(c.action, Action::NoOp)
                })
            }
            _ => false,
        })
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

    fn apply_managed(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        nd: &NodeData,
        prior_obj: Option<&InstanceObject>,
    ) -> Result<Value, ()> {
        let addr = inst.to_string();
        let change = self.planned.get(&(addr.clone(), None)).copied();
        let Some(change) = change else {
            // Not part of the plan (targeting, or unchanged): the prior object stands, and
            // one that does not exist yet is unknown to what refers to it, as in Terraform.
            return match prior_obj {
                Some(o) => self
                    .decode_prior(ctx.slot, &ctx.r.type_name, ctx.schema, o, &addr)
                    .map_err(|d| self.diag(d)),
                None => Ok(Value::unknown(ctx.ty.clone())),
            };
        };
        // As in Terraform, apply starts from the refreshed state: an object refresh found
        // changed outside Terraform is recorded as read, even when nothing else happens to it.
        let drifted = change.action == Action::NoOp
            && prior_obj.is_some_and(|o| {
                self.decode_prior(ctx.slot, &ctx.r.type_name, ctx.schema, o, &addr)
                    .is_ok_and(|stored| {
                        !stored
                            .unmark_deep()
                            .0
                            .raw_equals(&change.before.clone().unmark_deep().0)
                    })
            });
        if change.action == Action::NoOp && (change.importing_id.is_some() || drifted) {
            // An import without changes: the adopted object goes into state as read.
            let key = ObjectKey::current(state_key(&inst.key));
            return match stateobj::encode(
                &change.before,
                ctx.schema,
                &change.private,
                ctx.deps.to_vec(),
                ctx.r.lifecycle.create_before_destroy == Some(true),
            ) {
                Ok(obj) if self.record(ctx, &key, Some(&obj)) => Ok(change.before.clone()),
                Ok(_) => Err(()),
                Err(e) => {
                    self.diag(Diagnostic::error(
                        "Failed to encode the new state",
                        format!("{addr}: {e}"),
                    ));
                    Err(())
                }
            };
        }
        match change.action {
            Action::NoOp | Action::Read | Action::Forget => return Ok(change.after.clone()),
            // Only a destroy deletes an instance its resource still has (its Destroy node
            // does the deleting); what refers to the object meanwhile sees it as it was.
            Action::Delete => return Ok(change.before.clone()),
            _ => {}
        }
        let start = std::time::Instant::now();
        if let Some(sink) = self.sink {
            sink.event(ApplyEvent::Start {
                addr: addr.clone(),
                action: change.action,
                id: object_id(&change.before),
                deposed: None,
            });
        }
        let result = self.apply_one(ctx, inst, nd, prior_obj, change);
        if let Some(sink) = self.sink {
            sink.event(match &result {
                Ok(v) => ApplyEvent::Done {
                    addr: addr.clone(),
                    action: change.action,
                    elapsed: start.elapsed(),
                    id: object_id(v),
                },
                Err(_) => ApplyEvent::Errored {
                    addr: addr.clone(),
                    action: change.action,
                    elapsed: start.elapsed(),
                },
            });
        }
        // As in Terraform, postconditions are checked once the object is recorded: a failure
        // keeps the new object (and any deposed one) in state and stops what depends on it.
        let new = result?;
        if !self.postconditions(ctx, nd, &new) {
            return Err(());
        }
        Ok(new)
    }

    fn apply_one(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        nd: &NodeData,
        prior_obj: Option<&InstanceObject>,
        change: &ResourceInstanceChange,
    ) -> Result<Value, ()> {
        let addr = inst.to_string();
        let null = Value::null(ctx.ty.clone());
        let config_marked = self.eval_config(ctx, nd, &addr)?;
        let (config, _) = config_marked.clone().unmark_deep();
        let replacing = change.action.is_replace();
        let (prior, prior_private) = if replacing {
            (null.clone(), Vec::new())
        } else {
            let (b, _) = change.before.clone().unmark_deep();
            (
                b,
                prior_obj
                    .and_then(|o| o.private_bytes())
                    .and_then(|r| r.ok())
                    .unwrap_or_default(),
            )
        };
        let config =
            crate::vars::apply_ignore_changes(&ctx.r.lifecycle.ignore_changes, &prior, config);
        let proposed = proposed_new(&ctx.schema.block, &prior, &config);
        let resp = self.plan_call(ctx, &addr, &prior, &proposed, &config, &prior_private)?;
        let planned = resp.planned_state;
        if change.action == Action::CreateThenDelete {
            // Depose the current object before creating its replacement.
            if let Some(obj) = prior_obj {
                let dk = new_deposed_key();
                let cur = ObjectKey::current(state_key(&inst.key));
                let dkey = ObjectKey {
                    key: state_key(&inst.key),
                    deposed: Some(dk.clone()),
                };
                if !self.record(ctx, &dkey, Some(obj)) || !self.record(ctx, &cur, None) {
                    return Err(());
                }
                self.deposed.lock().expect("deposed").insert(
                    addr.clone(),
                    (
                        ctx.saddr.clone(),
                        dkey,
                        obj.clone(),
                        ctx.provider_string.to_string(),
                    ),
                );
            }
        }
        let resp = self.sem.run(|| {
            ctx.slot
                .provider
                .apply_resource_change(providers::ApplyResourceChangeRequest {
                    type_name: ctx.r.type_name.clone(),
                    prior_state: prior.clone(),
                    planned_state: planned.clone(),
                    config: config.clone(),
                    planned_private: resp.planned_private.clone(),
                    provider_meta: ctx.provider_meta.value(),
                })
        });
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                self.diag(crashed(ctx.pk, &addr, &e.to_string(), &ctx.r.decl_range));
                return Err(());
            }
        };
        let failed = self.extend(provider_diags(
            resp.diagnostics,
            &addr,
            Some(&ctx.r.config),
            &ctx.r.decl_range,
        ));
        let new = crate::objchange::apply_marked_paths(
            resp.new_state,
            &crate::objchange::marked_paths(&config_marked),
        );
        let new = mark_schema_sensitive(&ctx.schema.block, new);
        let key = ObjectKey::current(state_key(&inst.key));
        if new.is_null() {
            self.record(ctx, &key, None);
        } else {
            match stateobj::encode(
                &new,
                ctx.schema,
                &resp.private,
                ctx.deps.to_vec(),
                ctx.r.lifecycle.create_before_destroy == Some(true),
            ) {
                Ok(mut obj) => {
                    if failed {
                        obj.status = ObjectStatus::Tainted;
                    }
                    if !self.record(ctx, &key, Some(&obj)) {
                        return Err(());
                    }
                }
                Err(e) => {
                    self.diag(Diagnostic::error(
                        "Failed to encode the new state",
                        format!("{addr}: {e}"),
                    ));
                    return Err(());
                }
            }
        }
        if failed {
            return Err(());
        }
        Ok(new)
    }

    /// Checks a resource's postconditions against its new (or planned) object.
    fn postconditions(&self, ctx: &ResCtx, nd: &NodeData, new: &Value) -> bool {
        let mut snd = self.node_data(ctx.m, ctx.mi.clone());
        snd.count_index = nd.count_index;
        snd.each = nd.each.clone();
        snd.self_value = Some(new.clone());
        ctx.r.lifecycle.postconditions.iter().all(|c| {
            self.check_rule(
                ctx.m,
                ctx.mi,
                Some(&snd),
                c,
                "Resource postcondition failed",
            )
        })
    }

    fn apply_data(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        nd: &NodeData,
        prior_obj: Option<&InstanceObject>,
    ) -> Result<Value, ()> {
        let addr = inst.to_string();
        if self.opts.mode == PlanMode::Destroy {
            // The old value still serves expressions (provider configurations) during the
            // destroy, but a destroyed stack keeps no data sources, as in Terraform.
            let v = self.destroy_time_data(ctx, prior_obj, &addr)?;
            if prior_obj.is_some()
                && !self.record(ctx, &ObjectKey::current(state_key(&inst.key)), None)
            {
                return Err(());
            }
            return Ok(v);
        }
        let config = self.eval_config(ctx, nd, &addr)?;
        let (plain, _) = config.unmark_deep();
        // Read while planning: the plan's value stands (a deferred read is a planned change).
        let v = match self.data_read.get(&addr) {
            Some(read) if !self.planned.contains_key(&(addr.clone(), None)) => read.after.clone(),
            _ => self.read_data(ctx, &addr, &plain)?,
        };
        let key = ObjectKey::current(state_key(&inst.key));
        match stateobj::encode(&v, ctx.schema, &[], Vec::new(), false) {
            Ok(obj) => {
                if !self.record(ctx, &key, Some(&obj)) {
                    return Err(());
                }
            }
            Err(e) => {
                self.diag(Diagnostic::error(
                    "Failed to encode the new state",
                    format!("{addr}: {e}"),
                ));
                return Err(());
            }
        }
        Ok(v)
    }

    /// Deletes of one resource's objects (apply phase): its current objects (and those this
    /// apply deposed), or the deposed objects the plan deletes.
    fn destroy_node(&self, m: usize, mode: Mode, key: &str, deposed: bool) -> bool {
        let prefix_matches = |c: &ResourceInstanceChange| {
            c.mode == mode.as_str() && format!("{}.{}", c.type_name, c.name) == key
        };
        let mut todo: Vec<&ResourceInstanceChange> = self
            .planned
            .values()
            .copied()
            .filter(|c| {
                prefix_matches(c)
                    && c.deposed.is_some() == deposed
                    && static_path_of(c) == self.mods.get(m).path
                    && matches!(c.action, Action::Delete | Action::DeleteThenCreate)
            })
            .collect();
        todo.sort_by(|a, b| (&a.address, &a.deposed).cmp(&(&b.address, &b.deposed)));
        if deposed {
            return self.run_deletes(todo);
        }
        self.run_deletes(todo) && self.delete_deposed(mode, key)
    }

    pub fn run_deletes(&self, todo: Vec<&ResourceInstanceChange>) -> bool {
        let mut ok = true;
        for c in todo {
            let state_string = self.prior_provider_string(c);
            if c.action == Action::Forget {
                let saddr = ResourceAddr::new(
                    c.module_address.clone().unwrap_or_default(),
                    if c.mode == "data" {
                        ResourceMode::Data
                    } else {
                        ResourceMode::Managed
                    },
                    &c.type_name,
                    &c.name,
                );
                let key = ObjectKey {
                    key: change_key(c),
                    deposed: c.deposed.clone(),
                };
                if let Some(sink) = self.sink {
                    if let Err(e) = sink.record(&saddr, &state_string, &key, None) {
                        self.diag(Diagnostic::error("Failed to persist state", e));
                        ok = false;
                    }
                }
                continue;
            }
            let slot = match self.configured(&state_string, &c.provider_name) {
                Ok(s) => s,
                Err(e) => {
                    self.provider_failed(e, None);
                    ok = false;
                    continue;
                }
            };
            let start = std::time::Instant::now();
            if let Some(sink) = self.sink {
                sink.event(ApplyEvent::Start {
                    addr: c.address.clone(),
                    action: Action::Delete,
                    id: object_id(&c.before),
                    deposed: c.deposed.clone(),
                });
            }
            let schema = match slot.schema.resource_types.get(&c.type_name) {
                Some(s) => s.clone(),
                None => {
                    self.diag(Diagnostic::error(
                        "Invalid resource type",
                        format!(
                            "The provider {} does not support resource type {:?}.",
                            short_source(&c.provider_name),
                            c.type_name
                        ),
                    ));
                    ok = false;
                    continue;
                }
            };
            let (before, _) = c.before.clone().unmark_deep();
            let null = Value::null(schema.block.implied_type());
            let resp = self.sem.run(|| {
                slot.provider
                    .apply_resource_change(providers::ApplyResourceChangeRequest {
                        type_name: c.type_name.clone(),
                        prior_state: before.clone(),
                        planned_state: null.clone(),
                        config: null.clone(),
                        planned_private: c.private.clone(),
                        provider_meta: None,
                    })
            });
            let saddr = ResourceAddr::new(
                c.module_address.clone().unwrap_or_default(),
                if c.mode == "data" {
                    ResourceMode::Data
                } else {
                    ResourceMode::Managed
                },
                &c.type_name,
                &c.name,
            );
            let key = ObjectKey {
                key: change_key(c),
                deposed: c.deposed.clone(),
            };
            let done = match resp {
                Ok(r) => {
                    let failed = self.extend(provider_diags(
                        r.diagnostics,
                        &c.address,
                        None,
                        &SourceRange::default(),
                    ));
                    if failed {
                        false
                    } else if let Some(sink) = self.sink {
                        match sink.record(&saddr, &state_string, &key, None) {
                            Ok(()) => true,
                            Err(e) => {
                                self.diag(Diagnostic::error("Failed to persist state", e));
                                false
                            }
                        }
                    } else {
                        true
                    }
                }
                Err(e) => {
                    let mut d = Diagnostic::error("Plugin did not respond", format!("The plugin encountered an error, and failed to respond to the plugin.(*GRPCProvider).ApplyResourceChange call. The plugin logs may contain more details.\n\n{e}"));
                    d.address = Some(c.address.clone());
                    self.diag(d);
                    false
                }
            };
            if let Some(sink) = self.sink {
                sink.event(if done {
                    ApplyEvent::Done {
                        addr: c.address.clone(),
                        action: Action::Delete,
                        elapsed: start.elapsed(),
                        id: None,
                    }
                } else {
                    ApplyEvent::Errored {
                        addr: c.address.clone(),
                        action: Action::Delete,
                        elapsed: start.elapsed(),
                    }
                });
            }
            ok &= done;
        }
        ok
    }

    /// Deletes objects deposed by create_before_destroy in this apply.
    fn delete_deposed(&self, mode: Mode, key: &str) -> bool {
        let mine: Vec<(String, (ResourceAddr, ObjectKey, InstanceObject, String))> = {
            let mut d = self.deposed.lock().expect("deposed");
            let keys: Vec<String> = d
                .iter()
                .filter(|(_, (sa, _, _, _))| {
                    format!("{}.{}", sa.type_name, sa.name) == key && state_mode(mode) == sa.mode
                })
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| d.remove_entry(&k))
                .collect()
        };
        let mut ok = true;
        for (addr, (saddr, okey, obj, pstring)) in mine {
            let Some(change) = self.planned.get(&(addr.clone(), None)) else {
                continue;
            };
            let mut del = (*change).clone();
            del.action = Action::Delete;
            del.deposed = okey.deposed.clone();
            let _ = (&saddr, &obj, &pstring);
            ok &= self.run_deletes(vec![&del]);
        }
        ok
    }

    fn prior_provider_string(&self, c: &ResourceInstanceChange) -> String {
        let saddr = ResourceAddr::new(
            c.module_address.clone().unwrap_or_default(),
            if c.mode == "data" {
                ResourceMode::Data
            } else {
                ResourceMode::Managed
            },
            &c.type_name,
            &c.name,
        );
        self.prior
            .resource(&saddr)
            .map(|r| r.provider.clone())
            .unwrap_or_else(|| format!("provider[\"{}\"]", c.provider_name))
    }

    /// Under `-target`, the root outputs a plan leaves alone: as in Terraform, an output is
    /// planned only when every resource it depends on is targeted (or a dependency of a
    /// target), and it depends on at least one.
    pub fn untargeted_outputs(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        if self.opts.targets.is_empty() {
            return out;
        }
        let targeted = |n: usize| -> bool {
            let NodeKind::Resource { m, mode, key } = &self.graph.nodes[n] else {
                return false;
            };
            if self.target_deps.contains_key(&(*m, *mode, key.clone())) {
                return true;
            }
            self.opts.targets.iter().any(|t| {
                let (module, resource) = match t {
                    addrs::Target::Module(mi) => (mi, None),
                    addrs::Target::Resource(r) => (&r.module, Some(&r.resource)),
                    addrs::Target::Instance(i) => (&i.module, Some(&i.resource)),
                };
                let names: Vec<&str> = module.0.iter().map(|s| &*s.name).collect();
                module_index(self.mods, &names).is_some_and(|tm| match resource {
                    Some(r) => {
                        tm == *m && r.mode == *mode && format!("{}.{}", r.type_name, r.name) == *key
                    }
                    None => module_under(self.mods, *m, tm),
                })
            })
        };
        for name in self.mods.get(0).cfg.outputs.keys() {
            let Some(n) = self.graph.node(&NodeKind::Output {
                m: 0,
                name: name.clone(),
            }) else {
                continue;
            };
            let deps = self.graph.resource_ancestors(n);
            if deps.is_empty() || !deps.iter().all(|&d| targeted(d)) {
                out.insert(name.clone());
            }
        }
        out
    }

    /// Root outputs as plan changes.
    pub fn output_changes(&self) -> Vec<OutputChange> {
        let root = self.mods.get(0).cfg;
        let outs = crate::eval::root_outputs(&self.store);
        let mut changes = Vec::new();
        let mut names: Vec<&String> = root.outputs.keys().collect();
        for n in self.prior.outputs.keys() {
            if !root.outputs.contains_key(n) {
                names.push(n);
            }
        }
        names.sort();
        names.dedup();
        let untargeted = self.untargeted_outputs();
        for name in names {
            if untargeted.contains(name) {
                continue;
            }
            let before = self.prior.outputs.get(name).map(|o| {
                let ty =
                    value::json::type_from_json(&o.type_json.to_value()).unwrap_or(Type::Dynamic);
                let v = value::json::from_json(&o.value.to_value(), &ty)
                    .unwrap_or_else(|_| Value::null(ty));
                if o.sensitive {
                    v.mark(Marks::SENSITIVE)
                } else {
                    v
                }
            });
            let decl = root.outputs.get(name);
            let sensitive = decl.is_some_and(|d| d.sensitive)
                || self.prior.outputs.get(name).is_some_and(|o| o.sensitive);
            let after = if self.opts.mode == PlanMode::Destroy {
                None
            } else {
                outs.get(name).cloned()
            };
            let (action, before_v, after_v) = match (before, after) {
                (None, None) => continue,
                // Terraform keeps no null outputs in state, so a null one stays as it was.
                (None, Some(a)) if a.is_null() => (Action::NoOp, Value::null(Type::Dynamic), a),
                (None, Some(a)) => (Action::Create, Value::null(Type::Dynamic), a),
                (Some(b), None) => (Action::Delete, b, Value::null(Type::Dynamic)),
                (Some(b), Some(a)) => {
                    let same = a.is_wholly_known() && b.unmarked().raw_equals(a.unmarked()) && {
                        let (bu, _) = b.clone().unmark_deep();
                        let (au, _) = a.clone().unmark_deep();
                        bu.raw_equals(&au)
                    };
                    (if same { Action::NoOp } else { Action::Update }, b, a)
                }
            };
            changes.push(OutputChange {
                name: name.clone(),
                action,
                before: before_v,
                after: after_v,
                sensitive,
            });
        }
        changes
    }

    /// Plans deletes of resources in state that no configuration (or module instance) covers.
    pub fn plan_orphans(&self) -> bool {
        let visited = self.visited.lock().expect("visited").clone();
        let mut ok = true;
        for (saddr, res) in self.prior.resources() {
            if visited.contains(saddr) {
                continue;
            }
            let source = parse_provider_source(&res.provider);
            let slot = match self.provider_for(&res.provider, &source) {
                Ok(s) => s,
                Err(e) => {
                    self.provider_failed(e, None);
                    ok = false;
                    continue;
                }
            };
            if saddr.mode == ResourceMode::Data {
                continue; // data resources are simply dropped from state
            }
            let Some(schema) = slot.schema.resource_types.get(&saddr.type_name).cloned() else {
                continue;
            };
            for (okey, obj) in res.objects() {
                let inst = state_instance(saddr, &okey.key);
                if !self.targeted(&inst) {
                    continue;
                }
                let module_gone = !saddr.module.is_empty();
                let addr = inst.to_string();
                let prior = match self.decode_prior(&slot, &saddr.type_name, &schema, obj, &addr) {
                    Ok(v) => v,
                    Err(d) => {
                        self.diag(d);
                        ok = false;
                        continue;
                    }
                };
                let removed = crate::refactor::removed_policy(self.mods.get(0).cfg, &inst);
                let action = if removed == Some(false) && okey.deposed.is_none() {
                    Action::Forget
                } else {
                    Action::Delete
                };
                let reason = if okey.deposed.is_some() {
                    None
                } else if module_gone {
                    Some(ActionReason::DeleteBecauseNoModule)
                } else {
                    Some(ActionReason::DeleteBecauseNoResourceConfig)
                };
                self.changes
                    .lock()
                    .expect("changes")
                    .push(ResourceInstanceChange {
                        address: addr,
                        previous_address: None,
                        module_address: (!inst.module.is_root()).then(|| inst.module.to_string()),
                        mode: "managed",
                        type_name: saddr.type_name.clone(),
                        name: saddr.name.clone(),
                        index: key_value(&inst.key),
                        provider_name: source.clone(),
                        deposed: okey.deposed.clone(),
                        action,
                        action_reason: reason,
                        before: prior,
                        after: Value::null(schema.block.implied_type()),
                        replace_paths: Vec::new(),
                        importing_id: None,
                        private: obj.private_bytes().and_then(|r| r.ok()).unwrap_or_default(),
                        schema_version: schema.version,
                    });
            }
        }
        ok
    }
}

/// How a resource expands during a destroy, which evaluates no `count` or `for_each`: the
/// instances state has, shaped as the configuration's repetition says (a tuple up to the
/// highest index under `count`, an object of the keys under `for_each`), as Terraform's
/// evaluator reads a resource from state. Keys of the other kind are left out of the shape.
fn state_expansion(r: &config::Resource, prior: Option<&states::Resource>) -> Expansion {
    let keys: Vec<Option<states::InstanceKey>> = prior
        .map(|pr| {
            pr.objects()
                .filter(|(k, _)| k.deposed.is_none())
                .map(|(k, _)| k.key.clone())
                .collect()
        })
        .unwrap_or_default();
    if r.count.is_some() {
        let n = keys
            .iter()
            .filter_map(|k| match k {
                Some(states::InstanceKey::Int(i)) => usize::try_from(*i).ok(),
                _ => None,
            })
            .map(|i| i + 1)
            .max()
            .unwrap_or(0);
        Expansion::Count(n)
    } else if r.for_each.is_some() {
        let mut each: Vec<(String, Value)> = keys
            .iter()
            .filter_map(|k| match k {
                Some(states::InstanceKey::Str(s)) => Some((s.clone(), Value::dynamic_unknown())),
                _ => None,
            })
            .collect();
        each.sort_by(|a, b| a.0.cmp(&b.0));
        Expansion::ForEach(each)
    } else {
        Expansion::Single
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

enum ImportKey<'e> {
    None,
    Static(InstanceKey),
    Expr(&'e Expr),
}

/// The resource an import block's `to` names: type, name and instance key (static or an
/// expression over `each`).
fn import_to(e: &Expr) -> Option<(&str, &str, ImportKey<'_>)> {
    use config::{ExprKind, Traverser};
    match &e.kind {
        ExprKind::ScopeTraversal { root, steps } => {
            let Some(Traverser::Attr { name, .. }) = steps.first() else {
                return None;
            };
            let key = match steps.get(1) {
                Some(Traverser::Index { key, .. }) => match key.unmarked() {
                    Value::String(s) => ImportKey::Static(InstanceKey::Str(s.as_str().into())),
                    Value::Number(n) => ImportKey::Static(InstanceKey::Int(n.to_i64()?)),
                    _ => return None,
                },
                _ => ImportKey::None,
            };
            Some((root, name, key))
        }
        ExprKind::Index { collection, key } => match &collection.kind {
            ExprKind::ScopeTraversal { root, steps } if steps.len() == 1 => {
                let Some(Traverser::Attr { name, .. }) = steps.first() else {
                    return None;
                };
                Some((root, name, ImportKey::Expr(key)))
            }
            _ => None,
        },
        _ => None,
    }
}

/// The static module path (call names) of a change's module instance.
fn static_path_of(c: &ResourceInstanceChange) -> Vec<String> {
    parse_module_instance(c.module_address.as_deref().unwrap_or(""))
        .module_path()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

fn new_deposed_key() -> String {
    // Terraform's deposed keys are 8 lowercase hex digits.
    let u = uuid_like();
    u[..8].to_string()
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:016x}", (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

fn short_source(s: &str) -> String {
    s.strip_prefix("registry.terraform.io/")
        .unwrap_or(s)
        .to_string()
}

fn prevent_destroy_diag(addr: &str, range: &SourceRange) -> Diagnostic {
    Diagnostic::error(
        "Instance cannot be destroyed",
        format!("Resource {addr} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed. To avoid this error and continue with the plan, either disable lifecycle.prevent_destroy or reduce the scope of the plan using the -target option."),
    )
    .with_subject(range.clone())
}

fn crashed(pk: &ProviderKey, addr: &str, err: &str, range: &SourceRange) -> Diagnostic {
    let mut d = Diagnostic::error(
        "Plugin did not respond",
        format!(
            "The plugin encountered an error, and failed to respond to a call for {addr}. The plugin logs may contain more details.\n\nProvider: {}\n{err}",
            pk.source
        ),
    )
    .with_subject(range.clone());
    d.address = Some(addr.to_string());
    d
}

fn empty_object_of(b: &providers::schema::Block) -> Value {
    let ty = b.implied_type();
    match &ty {
        Type::Object(ot) => Value::Object(
            ot.attrs
                .iter()
                .map(|(k, t)| {
                    let v = match (b.block_types.get(k).map(|nb| nb.nesting), t) {
                        (Some(providers::schema::NestingMode::List), Type::List(et)) => {
                            Value::list_of((**et).clone(), vec![])
                        }
                        (Some(providers::schema::NestingMode::Set), Type::Set(et)) => {
                            Value::set_of((**et).clone(), vec![])
                        }
                        (Some(providers::schema::NestingMode::Map), Type::Map(et)) => {
                            Value::map_of((**et).clone(), BTreeMap::new())
                        }
                        _ => Value::null(t.clone()),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => Value::null(ty),
    }
}

/// Whether the value at `path` differs between prior and planned (unknown counts as changed).
fn path_changed(prior: &Value, planned: &Value, path: &[PathStep]) -> bool {
    let get = |v: &Value| -> Option<Value> {
        let mut cur = v.clone();
        for s in path {
            cur = match s {
                PathStep::Attr(a) => cur.get_attr(a)?,
                PathStep::Index(k) => cur.index(k)?,
            };
        }
        Some(cur)
    };
    match (get(prior), get(planned)) {
        (Some(a), Some(b)) => !b.is_wholly_known() || !values_equal(&a, &b),
        (None, None) => false,
        _ => true,
    }
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

/// The static module index of a module path (call names from the root).
fn module_index(mods: &Mods, names: &[&str]) -> Option<usize> {
    names
        .iter()
        .try_fold(0usize, |m, n| mods.get(m).children.get(*n).copied())
}

/// Every resource that a target depends on, directly or indirectly (targets themselves are
/// matched by address instead), with where its instances count: a dependency inside the
/// targeted module instance's own module counts only inside that instance (the target's
/// instances depend on their own instance's resources, not on a sibling instance's); one
/// elsewhere counts in every instance.
fn target_dependencies(
    mods: &Mods,
    graph: &StaticGraph,
    targets: &[addrs::Target],
) -> HashMap<(usize, Mode, String), Vec<Option<ModuleInstance>>> {
    let mut out: HashMap<(usize, Mode, String), Vec<Option<ModuleInstance>>> = HashMap::new();
    for t in targets {
        let (module, resource) = match t {
            addrs::Target::Module(mi) => (mi, None),
            addrs::Target::Resource(r) => (&r.module, Some(&r.resource)),
            addrs::Target::Instance(i) => (&i.module, Some(&i.resource)),
        };
        let names: Vec<&str> = module.0.iter().map(|s| &*s.name).collect();
        let Some(m) = module_index(mods, &names) else {
            continue;
        };
        for (i, n) in graph.nodes.iter().enumerate() {
            let NodeKind::Resource { m: nm, mode, key } = n else {
                continue;
            };
            let hit = match resource {
                Some(r) => {
                    *nm == m && *mode == r.mode && *key == format!("{}.{}", r.type_name, r.name)
                }
                None => module_under(mods, *nm, m),
            };
            if !hit {
                continue;
            }
            for a in graph.resource_ancestors(i) {
                if let NodeKind::Resource { m: am, mode, key } = &graph.nodes[a] {
                    let within = module_under(mods, *am, m).then(|| module.clone());
                    let e = out.entry((*am, *mode, key.clone())).or_default();
                    if !e.contains(&within) {
                        e.push(within);
                    }
                }
            }
        }
    }
    out
}

/// Whether static module `inner` is `outer` or inside it.
fn module_under(mods: &Mods, mut inner: usize, outer: usize) -> bool {
    loop {
        if inner == outer {
            return true;
        }
        match mods.get(inner).parent {
            Some(p) => inner = p,
            None => return false,
        }
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
