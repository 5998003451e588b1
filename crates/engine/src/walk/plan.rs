//! Planning one managed instance: decode and refresh its prior object, evaluate and validate
//! its configuration, ask the provider for the planned state and record the change.

use super::*;

use std::sync::Arc;

use addrs::{AbsResourceInstance, Mode};
use diagnostics::{Diagnostic, SourceRange};
use plans::{Action, ActionReason, PlanMode, ResourceInstanceChange};
use providers::schema::ResourceSchema;
use states::{InstanceObject, ObjectStatus};
use value::{PathStep, Type, Value};

use crate::eval::NodeData;
use crate::objchange::{mark_schema_sensitive, proposed_new};
use crate::{stateobj, ApplyEvent};

impl<'a> Walker<'a> {
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

    pub(super) fn plan_delete(
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
            match self.refresh(ctx, inst, prior, obj, deposed.as_deref()) {
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
    pub(super) fn refresh(
        &self,
        ctx: &ResCtx,
        inst: &AbsResourceInstance,
        prior: Value,
        obj: &InstanceObject,
        deposed: Option<&str>,
    ) -> Result<Value, ()> {
        let addr = &inst.to_string();
        let (plain, _) = prior.clone().unmark_deep();
        self.emit(ApplyEvent::Refreshing {
            addr: addr.to_string(),
            id: object_id(&prior),
            deposed: deposed.map(String::from),
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
    pub(super) fn instance_change(
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

    pub(super) fn push_change(&self, c: ResourceInstanceChange) {
        self.changes.lock().expect("changes").push(c);
    }

    /// Records a change whose `after` is the value the instance also keeps in the store for
    /// references: the change holds a placeholder until [`Walker::fill_planned_values`]
    /// moves the value over once the walk is done, so a plan keeps one copy per instance.
    pub(super) fn push_change_sharing_after(
        &self,
        mut c: ResourceInstanceChange,
        inst: &AbsResourceInstance,
    ) {
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
    pub(super) fn eval_config(&self, ctx: &ResCtx, nd: &NodeData, addr: &str) -> Result<Value, ()> {
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

    pub(super) fn plan_managed(
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
            prior = self.refresh(ctx, inst, prior, obj, None)?;
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

    pub(super) fn replace_triggered(&self, ctx: &ResCtx, nd: &NodeData) -> bool {
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

    pub(super) fn plan_call(
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

    /// ImportResourceState then ReadResource: the object an import adopts.
    pub(super) fn import_read(
        &self,
        ctx: &ResCtx,
        addr: &str,
        id: &str,
    ) -> Result<(Value, Vec<u8>), ()> {
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
}

pub(super) fn prevent_destroy_diag(addr: &str, range: &SourceRange) -> Diagnostic {
    Diagnostic::error(
        "Instance cannot be destroyed",
        format!("Resource {addr} has lifecycle.prevent_destroy set, but the plan calls for this resource to be destroyed. To avoid this error and continue with the plan, either disable lifecycle.prevent_destroy or reduce the scope of the plan using the -target option."),
    )
    .with_subject(range.clone())
}

/// Whether the value at `path` differs between prior and planned (unknown counts as changed).
pub(super) fn path_changed(prior: &Value, planned: &Value, path: &[PathStep]) -> bool {
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
