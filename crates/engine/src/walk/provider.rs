//! Provider processes of a walk: one started and configured per provider configuration,
//! the early refresh of a configured provider's objects, `provider_meta`, and the mapping of
//! providers' diagnostics onto the configuration.

use super::*;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crate::prefetch::{self};
use addrs::{AbsResourceInstance, ModuleInstance};
use config::Body;
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use providers::schema::ProviderSchema;
use providers::ProviderDiagnostic;
use states::ResourceMode;
use value::{PathStep, Type, Value};

use crate::model::ProviderKey;
use crate::stateobj;

pub(super) fn provider_diags(
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
pub(super) fn provider_diag(d: ProviderDiagnostic) -> Diagnostic {
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
    pub(super) fn provider_for(
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
    pub(super) fn configured(
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
    pub(super) fn start_early_refresh(&self, state_string: &str, slot: &ProviderSlot) {
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
    pub(super) fn provider_failed(&self, e: Option<String>, subject: Option<&SourceRange>) {
        if let Some(e) = e {
            let d = Diagnostic::error("Failed to load plugin schemas", e);
            self.diag(match subject {
                Some(r) => d.with_subject(r.clone()),
                None => d,
            });
        }
    }

    pub(super) fn provider_node(&self, key: &ProviderKey) -> bool {
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

    /// The module's `provider_meta` for a provider, evaluated once per resource (its
    /// arguments are constants) against the provider's metadata schema.
    pub(super) fn provider_meta(
        &self,
        m: usize,
        pk: &ProviderKey,
        slot: &ProviderSlot,
    ) -> ProviderMeta {
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
    pub(super) fn provider_meta_usable(&self, ctx: &ResCtx, inst: &AbsResourceInstance) -> bool {
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
}

pub(super) fn crashed(pk: &ProviderKey, addr: &str, err: &str, range: &SourceRange) -> Diagnostic {
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

pub(super) fn empty_object_of(b: &providers::schema::Block) -> Value {
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
