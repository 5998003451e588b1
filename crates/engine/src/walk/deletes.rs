//! Deletes: a resource's destroy node (current objects, objects deposed by this apply, and
//! deposed objects the plan deletes), and the plan of deletes for orphans (resources no
//! configuration covers any more).

use super::*;

use addrs::Mode;
use diagnostics::{Diagnostic, SourceRange};
use plans::{Action, ActionReason, ResourceInstanceChange};
use states::{InstanceObject, ObjectKey, ResourceAddr, ResourceMode};
use value::Value;

use crate::ApplyEvent;

impl<'a> Walker<'a> {
    /// Deletes of one resource's objects (apply phase): its current objects (and those this
    /// apply deposed), or the deposed objects the plan deletes.
    pub(super) fn destroy_node(&self, m: usize, mode: Mode, key: &str, deposed: bool) -> bool {
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
    pub(super) fn delete_deposed(&self, mode: Mode, key: &str) -> bool {
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

    pub(super) fn prior_provider_string(&self, c: &ResourceInstanceChange) -> String {
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
