//! Data resources: read while planning when their configuration is known (and nothing they
//! depend on has changes pending), else during apply; kept as they are during a destroy.

use super::*;

use addrs::{AbsResourceInstance, Mode};
use diagnostics::Diagnostic;
use plans::{Action, ActionReason, PlanMode};
use states::{InstanceObject, ObjectKey};
use value::Value;

use crate::eval::NodeData;
use crate::objchange::mark_schema_sensitive;
use crate::{stateobj, ApplyEvent};

impl<'a> Walker<'a> {
    /// Under destroy a data source is not read again: its prior value (or null) stands.
    pub(super) fn destroy_time_data(
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

    pub(super) fn plan_data(
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

    pub(super) fn read_data(&self, ctx: &ResCtx, addr: &str, config: &Value) -> Result<Value, ()> {
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

    pub(super) fn read_data_call(
        &self,
        ctx: &ResCtx,
        addr: &str,
        config: &Value,
    ) -> Result<Value, ()> {
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
    pub(super) fn depends_on_pending(&self, ctx: &ResCtx) -> bool {
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

    pub(super) fn apply_data(
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
}
