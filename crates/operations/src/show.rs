//! `show` and `state show`: human and `-json` renderings of a saved plan, the current state,
//! or one resource instance.

use std::collections::BTreeMap;
use std::sync::Arc;

use plans::show::StateResource;
use plans::Plan;
use providers::schema::ProviderSchema;
use serde_json::{json, Value as Json};
use states::{ResourceMode, State};

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

/// As [`state_values`], with `extra` objects (a plan's imported objects) added.
fn state_values_with<'a>(
    state: &'a State,
    schemas: &BTreeMap<String, Arc<ProviderSchema>>,
    extra: Vec<StateResource<'a>>,
) -> Json {
    let outputs: Vec<(String, bool, Json, Json)> = state
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
            let attributes = view_attributes(
                obj.attributes
                    .as_ref()
                    .map(|a| a.to_value())
                    .unwrap_or(json!({})),
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
                sensitive_paths: obj
                    .sensitive_attributes
                    .as_ref()
                    .map(|s| s.to_value())
                    .unwrap_or(json!([])),
                depends_on: obj.dependencies.clone(),
                tainted: obj.status == states::ObjectStatus::Tainted,
                deposed: k.deposed.clone(),
            });
        }
    }
    resources.extend(extra);
    plans::show::state_values(&outputs, resources)
}

/// The objects a plan imports, as they will be in state (Terraform's prior state has them).
fn imported_resources(plan: &Plan) -> Vec<StateResource<'_>> {
    plan.resource_changes
        .iter()
        .filter(|c| c.importing_id.is_some() && !c.before.is_null())
        .map(|c| {
            let (plain, _) = c.before.clone().unmark_deep();
            StateResource {
                module: c.module_address.clone().unwrap_or_default(),
                address: c.address.clone(),
                mode: c.mode,
                type_name: &c.type_name,
                name: &c.name,
                index: c.index.as_ref().and_then(|i| value::json::to_json(i).ok()),
                provider_name: c.provider_name.clone(),
                schema_version: u64::try_from(c.schema_version).unwrap_or(0),
                attributes: value::json::to_json(&plain).unwrap_or(json!({})),
                sensitive_paths: json!([]),
                depends_on: Vec::new(),
                tainted: false,
                deposed: None,
            }
        })
        .collect()
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
    Ok(plans::render::render_plan(
        plan,
        &lookup,
        plans::render::RenderOptions { color },
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
    let mut prior_vals = state_values_with(prior, schemas, imported_resources(plan));
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
