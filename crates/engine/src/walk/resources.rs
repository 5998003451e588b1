//! Resource nodes: expanding a resource in each module instance, targeting, and running
//! every instance through the phase's lifecycle (in parallel chunks), plus `import` targets.

use super::*;

use std::collections::HashMap;

use addrs::{AbsResourceInstance, InstanceKey, Mode, ModuleInstance};
use config::Expr;
use diagnostics::{Diagnostic, Diagnostics};
use plans::{Action, ActionReason, PlanMode};
use states::{InstanceObject, ResourceAddr};
use value::{Type, Value};

use crate::eval::{Expansion, Instances, NodeData, ResourceValues};
use crate::graph::{NodeKind, StaticGraph};
use crate::model::Mods;

impl<'a> Walker<'a> {
    pub(super) fn resource_config(&self, m: usize, mode: Mode, key: &str) -> &'a config::Resource {
        let c = self.mods.get(m).cfg;
        match mode {
            Mode::Managed => &c.managed_resources[key],
            Mode::Data => &c.data_resources[key],
        }
    }

    pub(super) fn targeted(&self, inst: &AbsResourceInstance) -> bool {
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
    pub(super) fn resource_node(&self, n: usize, m: usize, mode: Mode, key: &str) -> bool {
        let r = self.resource_config(m, mode, key);
        let pk = self.graph.resource_provider[&n].clone();
        let slot = match self.provider_for(&pk.state_string(self.mods), &pk.source) {
            Ok(s) => s,
            Err(e) => {
                self.provider_failed(e, Some(&r.decl_range));
                return false;
            }
        };
        let Some(schema) = self.resource_schema(&slot, &pk, r) else {
            return false;
        };
        let implied = schema.block.implied_type();
        self.store
            .resource_types
            .write()
            .expect("store")
            .insert((mode, r.type_name.clone()), implied.clone());
        let deps = self.state_dependencies(n);
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
            if self.phase == Phase::Plan && !self.plan_leftovers(&ctx, prior_res, &expansion) {
                ok = false;
            }
            let untouched = mode == Mode::Managed
                && prior_res.is_none()
                && (0..n_keys).all(|i| {
                    !self.makes_object(&AbsResourceInstance {
                        module: mi.clone(),
                        resource: this.clone(),
                        key: key_at(i),
                    })
                });
            self.store_values(&ctx, key, expansion, values, untouched, destroying);
        }
        ok
    }

    /// The provider's schema of the resource's type; an error at the type when it has none.
    fn resource_schema(
        &self,
        slot: &ProviderSlot,
        pk: &ProviderKey,
        r: &config::Resource,
    ) -> Option<ResourceSchema> {
        let schema = match r.mode {
            Mode::Managed => slot.schema.resource_types.get(&r.type_name),
            Mode::Data => slot.schema.data_sources.get(&r.type_name),
        };
        if schema.is_none() {
            let (summary, what) = match r.mode {
                Mode::Managed => ("Invalid resource type", "resource type"),
                Mode::Data => ("Invalid data source", "data source"),
            };
            self.diag(
                Diagnostic::error(
                    summary,
                    format!(
                        "The provider {} does not support {what} {:?}.",
                        short_source(&pk.source),
                        r.type_name
                    ),
                )
                .with_subject(r.type_range.clone()),
            );
        }
        schema.cloned()
    }

    /// The resources a resource depends on, as its state objects record them (`dependencies`):
    /// static addresses, sorted.
    fn state_dependencies(&self, n: usize) -> Vec<String> {
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
    }

    /// Plans the deletes of a resource's objects in one module instance that its expansion no
    /// longer has (wrong key or repetition), and of the deposed objects an interrupted
    /// create_before_destroy left; false if any failed.
    fn plan_leftovers(
        &self,
        ctx: &ResCtx,
        prior_res: Option<&states::Resource>,
        expansion: &Expansion,
    ) -> bool {
        let Some(pr) = prior_res else {
            return true;
        };
        let mut ok = true;
        for (okey, obj) in pr.objects() {
            let inst = AbsResourceInstance {
                module: ctx.mi.clone(),
                resource: addrs::Resource {
                    mode: ctx.r.mode,
                    type_name: ctx.r.type_name.as_str().into(),
                    name: ctx.r.name.as_str().into(),
                },
                key: addr_key(&okey.key),
            };
            if let Some(dk) = &okey.deposed {
                if ctx.r.mode == Mode::Managed {
                    ok &= self.plan_delete(ctx, &inst, obj, None, Some(dk.clone()));
                }
                continue;
            }
            // A destroy deletes every current object already.
            if self.opts.mode == PlanMode::Destroy
                || expansion.index_of(&inst.key).is_some()
                || !self.targeted(&inst)
            {
                continue;
            }
            let reason = match (&okey.key, expansion) {
                (Some(states::InstanceKey::Int(_)), Expansion::Count(_)) => {
                    ActionReason::DeleteBecauseCountIndex
                }
                (Some(states::InstanceKey::Str(_)), Expansion::ForEach(_)) => {
                    ActionReason::DeleteBecauseEachKey
                }
                _ => ActionReason::DeleteBecauseWrongRepetition,
            };
            ok &= self.plan_delete(ctx, &inst, obj, Some(reason), None);
        }
        ok
    }

    /// Keeps a resource's instance values in one module instance for references. A resource
    /// this walk neither finds in state nor plans or applies anything for (`untouched`) has no
    /// objects: references see an empty collection under count or for_each and an unknown
    /// object otherwise, as Terraform's evaluator reads a resource missing from its working
    /// state; so does a destroy that finds nothing of it.
    fn store_values(
        &self,
        ctx: &ResCtx,
        key: &str,
        expansion: Expansion,
        values: Instances,
        untouched: bool,
        destroying: bool,
    ) {
        let mode = ctx.r.mode;
        let rv = if destroying {
            if self.prior.resource(ctx.saddr).is_none() {
                return;
            }
            ResourceValues::from_state(expansion, values)
        } else if untouched {
            let none = match expansion {
                Expansion::Count(_) => Expansion::Count(0),
                Expansion::ForEach(_) => Expansion::ForEach(Vec::new()),
                Expansion::Single => return,
            };
            ResourceValues::new(none, Instances::Dense(Vec::new()))
        } else {
            ResourceValues::new(expansion, values)
        };
        self.store.set_resource(ctx.mi, mode, key, rv);
    }

    /// Runs `f` over instances `0..n` (positions in the resource's keys), in parallel chunks
    /// bounded by `-parallelism` (provider calls inside are bounded by the semaphore too),
    /// in order for a handful.
    pub(super) fn for_instances<T: Send>(&self, n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
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

    pub(super) fn instance(
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

    /// Whether this walk plans or applies an object for an instance (as opposed to leaving
    /// it out, by targeting or a refresh-only plan).
    pub(super) fn makes_object(&self, inst: &AbsResourceInstance) -> bool {
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
    pub(super) fn not_self_referential(&self, ctx: &ResCtx, inst: &AbsResourceInstance) -> bool {
        let ds = crate::selfref::instance_diagnostics(ctx.self_refs, inst);
        let none = ds.is_empty();
        for d in ds {
            self.diag(d);
        }
        none
    }

    /// Reports references to the resource in its own `count` or `for_each`; true if none.
    pub(super) fn repetition_is_not_self_referential(
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
}

/// How a resource expands during a destroy, which evaluates no `count` or `for_each`: the
/// instances state has, shaped as the configuration's repetition says (a tuple up to the
/// highest index under `count`, an object of the keys under `for_each`), as Terraform's
/// evaluator reads a resource from state. Keys of the other kind are left out of the shape.
pub(super) fn state_expansion(r: &config::Resource, prior: Option<&states::Resource>) -> Expansion {
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

impl<'a> Walker<'a> {
    /// Import IDs for instances of a resource: from the import command and `import` blocks.
    pub(super) fn import_targets(
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
}

pub(super) enum ImportKey<'e> {
    None,
    Static(InstanceKey),
    Expr(&'e Expr),
}

/// The resource an import block's `to` names: type, name and instance key (static or an
/// expression over `each`).
pub(super) fn import_to(e: &Expr) -> Option<(&str, &str, ImportKey<'_>)> {
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

/// The static module index of a module path (call names from the root).
pub(super) fn module_index(mods: &Mods, names: &[&str]) -> Option<usize> {
    names
        .iter()
        .try_fold(0usize, |m, n| mods.get(m).children.get(*n).copied())
}

/// Every resource that a target depends on, directly or indirectly (targets themselves are
/// matched by address instead), with where its instances count: a dependency inside the
/// targeted module instance's own module counts only inside that instance (the target's
/// instances depend on their own instance's resources, not on a sibling instance's); one
/// elsewhere counts in every instance.
pub(super) fn target_dependencies(
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
pub(super) fn module_under(mods: &Mods, mut inner: usize, outer: usize) -> bool {
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
