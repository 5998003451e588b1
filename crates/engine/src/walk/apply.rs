//! Applying one managed instance's planned change: plan again with the now-known
//! configuration, depose the current object under create_before_destroy, apply, record the
//! new object at once, then check postconditions.

use super::*;

use addrs::AbsResourceInstance;
use diagnostics::Diagnostic;
use plans::{Action, ResourceInstanceChange};
use states::{InstanceObject, ObjectKey, ObjectStatus};
use value::Value;

use crate::eval::NodeData;
use crate::objchange::{mark_schema_sensitive, proposed_new};
use crate::{stateobj, ApplyEvent};

impl<'a> Walker<'a> {
    pub(super) fn apply_managed(
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

    pub(super) fn apply_one(
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
    pub(super) fn postconditions(&self, ctx: &ResCtx, nd: &NodeData, new: &Value) -> bool {
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
}

pub(super) fn new_deposed_key() -> String {
    // Terraform's deposed keys are 8 lowercase hex digits.
    let u = uuid_like();
    u[..8].to_string()
}

pub(super) fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:016x}", (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}
