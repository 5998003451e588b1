//! `show` and `state show`: human and `-json` renderings of a saved plan, the current state,
//! or one resource instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use plans::show::StateResource;
use plans::{Plan, ResourceInstanceChange};
use providers::schema::ProviderSchema;
use serde_json::{json, Value as Json};
use states::{ResourceMode, State};
use value::Value;

use crate::{Factory, Failure, Stack, TERRAFORM_VERSION};

/// Loads the schemas of the providers a state uses (for human rendering of attributes).
fn schemas_for(
    stack: &Stack,
    sources: impl IntoIterator<Item = String>,
) -> BTreeMap<String, Arc<ProviderSchema>> {
    let factory = Factory::new(&stack.dir);
    let mut out = BTreeMap::new();
    for src in sources {
        if out.contains_key(&src) {
            continue;
        }
        if let Ok(p) = engine::ProviderFactory::start(&factory, &src) {
            if let Ok((s, _)) = p.get_schema() {
                out.insert(src.clone(), s);
            }
            p.close();
        }
    }
    out
}

fn state_sources(state: &State) -> Vec<String> {
    let mut v: Vec<String> = state
        .resources()
        .map(|(_, r)| engine::walk::parse_provider_source(&r.provider))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Re-encodes stored attributes as Terraform's JSON views do: decoded with the schema, then
/// written with each value's own type, so `dynamic` attributes lose their `{"value","type"}`
/// storage wrapper. Without a schema the stored JSON is kept.
fn view_attributes(
    stored: Json,
    schemas: &BTreeMap<String, Arc<ProviderSchema>>,
    provider: &str,
    mode: ResourceMode,
    type_name: &str,
) -> Json {
    let lookup = crate::schema_lookup(schemas);
    let mode = if mode == ResourceMode::Data {
        "data"
    } else {
        "managed"
    };
    let Some(block) = lookup(provider, mode, type_name) else {
        return stored;
    };
    value::json::from_json(&stored, &block.implied_type())
        .ok()
        .and_then(|v| value::json::to_json(&v).ok())
        .unwrap_or(stored)
}

/// The values representation of a state (`show -json` of state, and `prior_state`).
pub fn state_values(state: &State, schemas: &BTreeMap<String, Arc<ProviderSchema>>) -> Json {
    state_values_with(state, schemas, Vec::new())
}

/// A state's root outputs: name, sensitivity, value and type, as the JSON forms list them.
pub fn output_values(state: &State) -> Vec<(String, bool, Json, Json)> {
    state
        .outputs
        .iter()
        .map(|(n, o)| {
            (
                n.clone(),
                o.sensitive,
                o.value.to_value(),
                o.type_json.to_value(),
            )
        })
        .collect()
}

/// As [`state_values`], with current objects replaced by `refreshed` ones (a plan's view of
/// them); a refreshed object the state lacks is added, a null one is gone.
fn state_values_with<'a>(
    state: &'a State,
    schemas: &BTreeMap<String, Arc<ProviderSchema>>,
    refreshed: Vec<(&'a ResourceInstanceChange, &'a Value)>,
) -> Json {
    let outputs = output_values(state);
    let mut overlay: BTreeMap<&str, (&ResourceInstanceChange, &Value)> = refreshed
        .into_iter()
        .map(|(c, v)| (c.address.as_str(), (c, v)))
        .collect();
    let mut resources = Vec::new();
    for (saddr, res) in state.resources() {
        for (k, obj) in res.objects() {
            let inst = engine::walk::addr_key(&k.key);
            let mut address = String::new();
            if !saddr.module.is_empty() {
                address.push_str(&saddr.module);
                address.push('.');
            }
            if saddr.mode == ResourceMode::Data {
                address.push_str("data.");
            }
            address.push_str(&format!("{}.{}", saddr.type_name, saddr.name));
            if let Some(ik) = &inst {
                address.push_str(&ik.to_string());
            }
            let provider_name = engine::walk::parse_provider_source(&res.provider);
            let newer = match k.deposed {
                None => overlay.remove(address.as_str()).map(|(_, v)| v),
                Some(_) => None,
            };
            if newer.is_some_and(Value::is_null) {
                continue;
            }
            let (attributes, sensitive_paths) = match newer {
                Some(v) => refreshed_json(v),
                None => (
                    obj.attributes
                        .as_ref()
                        .map(|a| a.to_value())
                        .unwrap_or(json!({})),
                    obj.sensitive_attributes
                        .as_ref()
                        .map(|s| s.to_value())
                        .unwrap_or(json!([])),
                ),
            };
            let attributes = view_attributes(
                attributes,
                schemas,
                &provider_name,
                saddr.mode,
                &saddr.type_name,
            );
            resources.push(StateResource {
                module: saddr.module.clone(),
                address,
                mode: saddr.mode.as_str(),
                type_name: &saddr.type_name,
                name: &saddr.name,
                index: inst.map(|ik| match ik {
                    addrs::InstanceKey::Int(i) => json!(i),
                    addrs::InstanceKey::Str(s) => json!(&*s),
                }),
                provider_name,
                schema_version: obj.schema_version,
                attributes,
                sensitive_paths,
                depends_on: obj.dependencies.clone(),
                tainted: obj.status == states::ObjectStatus::Tainted,
                deposed: k.deposed.clone(),
            });
        }
    }
    // Objects the stored state lacks: imported ones and data sources read for the first time.
    for (c, v) in overlay.into_values().filter(|(_, v)| !v.is_null()) {
        let (attributes, sensitive_paths) = refreshed_json(v);
        resources.push(StateResource {
            module: c.module_address.clone().unwrap_or_default(),
            address: c.address.clone(),
            mode: c.mode,
            type_name: &c.type_name,
            name: &c.name,
            index: c.index.as_ref().and_then(|i| value::json::to_json(i).ok()),
            provider_name: c.provider_name.clone(),
            schema_version: u64::try_from(c.schema_version).unwrap_or(0),
            attributes,
            sensitive_paths,
            depends_on: Vec::new(),
            tainted: false,
            deposed: None,
        });
    }
    plans::show::state_values(&outputs, resources)
}

/// A refreshed value's attributes and sensitive paths, as the state file would hold them.
fn refreshed_json(v: &Value) -> (Json, Json) {
    let sensitive = engine::stateobj::paths_json(&engine::objchange::marked_paths(v));
    let (plain, _) = v.clone().unmark_deep();
    (value::json::to_json(&plain).unwrap_or(json!({})), sensitive)
}

/// Terraform's prior state is the refreshed state: managed objects as the plan read them
/// (imports included) and the data sources it read; a data source read only during apply has
/// no value there yet (its change's `before` is null).
fn refreshed_objects(plan: &Plan) -> Vec<(&ResourceInstanceChange, &Value)> {
    let managed = plan
        .resource_changes
        .iter()
        .filter(|c| c.deposed.is_none())
        .map(|c| (c, &c.before));
    let read = plan.data_reads.iter().map(|c| (c, &c.after));
    managed.chain(read).collect()
}

/// `show` of a saved plan.
pub fn plan(stack: &mut Stack, plan: &Plan, json: bool, color: bool) -> Result<String, Failure> {
    let loaded = crate::load_config(&stack.dir)?;
    let ws = stack.workspace()?;
    let mut prior = stack.current_state(&ws)?;
    // The plan's prior state is the one it was made from: moves already applied.
    let _ = engine::refactor::apply_moves(&loaded.config.module, &mut prior);
    let mut sources: Vec<String> = plan
        .resource_changes
        .iter()
        .map(|c| c.provider_name.clone())
        .chain(state_sources(&prior))
        .collect();
    sources.sort();
    sources.dedup();
    let schemas = schemas_for(stack, sources);
    if json {
        let doc = plan_json(plan, &prior, &loaded.config, &schemas);
        return Ok(format!(
            "{}\n",
            serde_json::to_string(&doc).unwrap_or_default()
        ));
    }
    let lookup = crate::schema_lookup(&schemas);
    Ok(plans::render::render_plan_relevant(
        plan,
        &lookup,
        plans::render::RenderOptions { color },
        &crate::config_json::relevant_top_level(&loaded.config, plan),
    ))
}

/// The full `show -json` document of a plan.
pub fn plan_json(
    plan: &Plan,
    prior: &State,
    cfg: &config::Config,
    schemas: &BTreeMap<String, Arc<ProviderSchema>>,
) -> Json {
    // Terraform's prior_state is the refreshed state whose root outputs are overlaid with
    // the values known at plan time (unknown and deleted outputs keep their prior value).
    let mut prior_vals = state_values_with(prior, schemas, refreshed_objects(plan));
    let mut outs = match &mut prior_vals {
        Json::Object(m) => match m.remove("outputs") {
            Some(Json::Object(o)) => o,
            _ => serde_json::Map::new(),
        },
        _ => serde_json::Map::new(),
    };
    for o in &plan.output_changes {
        if o.action == plans::Action::Delete || !o.after.is_wholly_known() {
            continue;
        }
        let (plain, _) = o.after.clone().unmark_deep();
        // A null output is not kept in state.
        if plain.is_null() {
            outs.remove(&o.name);
            continue;
        }
        outs.insert(
            o.name.clone(),
            json!({
                "sensitive": o.sensitive,
                "value": value::json::to_json(&plain).unwrap_or(Json::Null),
                "type": value::json::type_to_json(&plain.ty()),
            }),
        );
    }
    let mut has_resources = false;
    if let Json::Object(m) = &mut prior_vals {
        let root = m.remove("root_module");
        has_resources = root
            .as_ref()
            .is_some_and(|r| r.get("resources").is_some() || r.get("child_modules").is_some());
        if !outs.is_empty() {
            m.insert("outputs".into(), Json::Object(outs.clone()));
        }
        if let Some(r) = root {
            m.insert("root_module".into(), r);
        }
    }
    let prior_doc = (has_resources || !outs.is_empty()).then(|| {
        json!({
            "format_version": plans::show::STATE_FORMAT_VERSION,
            "terraform_version": TERRAFORM_VERSION,
            "values": prior_vals,
        })
    });
    plans::show::plan_document(
        plan,
        TERRAFORM_VERSION,
        prior_doc,
        crate::config_json::configuration(cfg, schemas),
        crate::config_json::relevant_attributes(cfg, plan),
    )
}

/// `show` of the current state.
pub fn state(stack: &mut Stack, state: &State, json: bool, color: bool) -> Result<String, Failure> {
    if json {
        if state.resource_count() == 0 && state.outputs.is_empty() {
            return Ok("{\"format_version\":\"1.0\"}\n".into());
        }
        let schemas = schemas_for(stack, state_sources(state));
        let doc = json!({
            "format_version": plans::show::STATE_FORMAT_VERSION,
            "terraform_version": state.terraform_version,
            "values": state_values(state, &schemas),
        });
        return Ok(format!(
            "{}\n",
            serde_json::to_string(&doc).unwrap_or_default()
        ));
    }
    if state.resource_count() == 0 && state.outputs.is_empty() {
        return Ok("No state.\n".into());
    }
    let schemas = schemas_for(stack, state_sources(state));
    let lookup = crate::schema_lookup(&schemas);
    Ok(plans::render::render_state(
        state,
        &lookup,
        plans::render::RenderOptions { color },
    ))
}

/// `state show ADDR`.
pub fn state_resource(
    stack: &mut Stack,
    state: &State,
    addr: &str,
    color: bool,
) -> Result<String, Failure> {
    let target = addrs::parse_target(addr).map_err(|e| {
        Failure::new(
            "Error parsing instance address",
            format!("{}: {}", e.summary, e.detail),
        )
    })?;
    let schemas = schemas_for(stack, state_sources(state));
    let lookup = crate::schema_lookup(&schemas);
    match plans::render::render_state_instance(state, &target, &lookup, plans::render::RenderOptions { color }) {
        Some(s) => Ok(s),
        None => Err(Failure::new(
            "No instance found for the given address!",
            "This command requires that the address references one specific instance.\nTo view the available instances, use \"terraform state list\". Please modify \nthe address to reference a specific instance.",
        )),
    }
}
