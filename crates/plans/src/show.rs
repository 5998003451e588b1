//! The documents of `terraform show -json`: a plan (`format_version` 1.2, as OPA/conftest and
//! Infracost read it) and a state's values representation. Key order follows Terraform's.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value as Json};
use value::Value;

use crate::json::{omit_unknowns, sensitive_as_bool, sensitive_tree, unknown_as_bool};
use crate::{Action, Plan, PlanMode, ResourceInstanceChange};

pub const PLAN_FORMAT_VERSION: &str = "1.2";
pub const STATE_FORMAT_VERSION: &str = "1.0";

/// A resource in a values representation.
struct ResEntry {
    module: String,
    json: Json,
}

/// Groups resources into `root_module` / nested `child_modules` as Terraform does, each
/// module's resources in the order given.
fn module_tree(resources: Vec<ResEntry>) -> Json {
    // module address → resources
    let mut by_module: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for r in resources {
        by_module.entry(r.module).or_default().push(r.json);
    }
    fn build(addr: &str, by_module: &BTreeMap<String, Vec<Json>>) -> Map<String, Json> {
        let mut m = Map::new();
        if let Some(rs) = by_module.get(addr) {
            m.insert("resources".into(), Json::Array(rs.clone()));
        }
        if !addr.is_empty() {
            // Terraform puts the address after the resources.
            m.insert("address".into(), Json::String(addr.to_string()));
        }
        let children: Vec<&String> = by_module
            .keys()
            .filter(|k| is_direct_child(addr, k))
            .collect();
        // Intermediate modules without resources still appear.
        let mut child_addrs: Vec<String> = children.into_iter().cloned().collect();
        for k in by_module.keys() {
            if let Some(c) = direct_child_prefix(addr, k) {
                if !child_addrs.contains(&c) {
                    child_addrs.push(c);
                }
            }
        }
        child_addrs.sort();
        if !child_addrs.is_empty() {
            m.insert(
                "child_modules".into(),
                Json::Array(
                    child_addrs
                        .iter()
                        .map(|c| Json::Object(build(c, by_module)))
                        .collect(),
                ),
            );
        }
        m
    }
    Json::Object(build("", &by_module))
}

fn split_modules(addr: &str) -> Vec<String> {
    // module.a["x.y"].module.b → ["module.a[\"x.y\"]", "module.b"]
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_str = false;
    let bytes = addr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'.' if !in_str && addr[i..].starts_with(".module.") => {
                out.push(addr[start..i].to_string());
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < addr.len() {
        out.push(addr[start..].to_string());
    }
    out
}

fn is_direct_child(parent: &str, child: &str) -> bool {
    let p = if parent.is_empty() {
        0
    } else {
        split_modules(parent).len()
    };
    let c = split_modules(child);
    c.len() == p + 1 && (parent.is_empty() || child.starts_with(&format!("{parent}.")))
}

fn direct_child_prefix(parent: &str, desc: &str) -> Option<String> {
    let p = if parent.is_empty() {
        0
    } else {
        split_modules(parent).len()
    };
    let d = split_modules(desc);
    if d.len() <= p + 1 || (!parent.is_empty() && !desc.starts_with(&format!("{parent}."))) {
        return None;
    }
    Some(d[..=p].join("."))
}

fn index_json(v: &Option<Value>) -> Option<Json> {
    v.as_ref().and_then(omit_unknowns)
}

/// The `planned_values` representation.
fn planned_values(plan: &Plan) -> Json {
    let mut outputs = Map::new();
    for o in &plan.output_changes {
        if o.action == Action::Delete {
            continue;
        }
        let mut e = Map::new();
        e.insert("sensitive".into(), Json::Bool(o.sensitive));
        if o.after.is_wholly_known() {
            let (plain, _) = o.after.clone().unmark_deep();
            // A plan stores output values without their types: a null one reads back as a
            // null of no particular type.
            let ty = if plain.is_null() {
                value::Type::Dynamic
            } else {
                plain.ty()
            };
            e.insert("type".into(), value::json::type_to_json(&ty));
            e.insert("value".into(), omit_unknowns(&plain).unwrap_or(Json::Null));
        }
        outputs.insert(o.name.clone(), Json::Object(e));
    }
    let mut res = Vec::new();
    for c in &plan.resource_changes {
        if c.deposed.is_some()
            || c.action == Action::Delete
            || (plan.mode == PlanMode::RefreshOnly && c.action == Action::NoOp)
        {
            continue;
        }
        let mut e = Map::new();
        e.insert("address".into(), json!(c.address));
        e.insert("mode".into(), json!(c.mode));
        e.insert("type".into(), json!(c.type_name));
        e.insert("name".into(), json!(c.name));
        if let Some(i) = index_json(&c.index) {
            e.insert("index".into(), i);
        }
        e.insert("provider_name".into(), json!(c.provider_name));
        e.insert("schema_version".into(), json!(c.schema_version));
        // A forgotten object stays listed, with a null value: no values and `false`
        // sensitivity, as Terraform writes it.
        // Terraform lists known attributes only, and leaves `values` out when none is known.
        if !c.after.is_null() {
            let values = omit_unknowns(&c.after).unwrap_or(json!({}));
            if values.as_object().is_none_or(|m| !m.is_empty()) {
                e.insert("values".into(), values);
            }
        }
        e.insert("sensitive_values".into(), sensitive_as_bool(&c.after));
        res.push(ResEntry {
            module: c.module_address.clone().unwrap_or_default(),
            json: Json::Object(e),
        });
    }
    let mut m = Map::new();
    if !outputs.is_empty() {
        m.insert("outputs".into(), Json::Object(outputs));
    }
    // Planned values list resources by address (plain string order: data sources last).
    res.sort_by(|a, b| a.json["address"].as_str().cmp(&b.json["address"].as_str()));
    m.insert("root_module".into(), module_tree(res));
    Json::Object(m)
}

fn change_json(c: &ResourceInstanceChange) -> Json {
    let mut e = Map::new();
    e.insert("address".into(), json!(c.address));
    if let Some(p) = &c.previous_address {
        e.insert("previous_address".into(), json!(p));
    }
    if let Some(m) = &c.module_address {
        e.insert("module_address".into(), json!(m));
    }
    e.insert("mode".into(), json!(c.mode));
    e.insert("type".into(), json!(c.type_name));
    e.insert("name".into(), json!(c.name));
    if let Some(i) = index_json(&c.index) {
        e.insert("index".into(), i);
    }
    if let Some(d) = &c.deposed {
        e.insert("deposed".into(), json!(d));
    }
    e.insert("provider_name".into(), json!(c.provider_name));
    let mut ch = Map::new();
    ch.insert("actions".into(), json!(c.action.json_actions()));
    ch.insert(
        "before".into(),
        if c.before.is_null() {
            Json::Null
        } else {
            omit_unknowns(&c.before).unwrap_or(Json::Null)
        },
    );
    ch.insert(
        "after".into(),
        if c.after.is_null() {
            Json::Null
        } else {
            omit_unknowns(&c.after).unwrap_or(Json::Null)
        },
    );
    ch.insert(
        "after_unknown".into(),
        // Terraform writes a bare `{}` for a wholly known value.
        if c.after.is_null() || c.after.is_wholly_known() {
            json!({})
        } else {
            unknown_as_bool(&c.after)
        },
    );
    ch.insert("before_sensitive".into(), sensitive_tree(&c.before));
    ch.insert("after_sensitive".into(), sensitive_tree(&c.after));
    if !c.replace_paths.is_empty() {
        ch.insert(
            "replace_paths".into(),
            Json::Array(
                c.replace_paths
                    .iter()
                    .map(|p| {
                        Json::Array(
                            p.iter()
                                .map(|s| match s {
                                    value::PathStep::Attr(a) => json!(a),
                                    value::PathStep::Index(k) => {
                                        omit_unknowns(k).unwrap_or(Json::Null)
                                    }
                                })
                                .collect(),
                        )
                    })
                    .collect(),
            ),
        );
    }
    if let Some(id) = &c.importing_id {
        ch.insert("importing".into(), json!({ "id": id }));
    }
    e.insert("change".into(), Json::Object(ch));
    if let Some(r) = c.action_reason {
        e.insert("action_reason".into(), json!(r.json_name()));
    }
    Json::Object(e)
}

fn output_change_json(o: &crate::OutputChange) -> Json {
    let mut e = Map::new();
    e.insert("actions".into(), json!(o.action.json_actions()));
    e.insert(
        "before".into(),
        if o.before.is_null() {
            Json::Null
        } else {
            omit_unknowns(&o.before).unwrap_or(Json::Null)
        },
    );
    if let Some(a) = omit_unknowns(&o.after) {
        e.insert("after".into(), a);
    }
    // Terraform reports a wholly known output as plainly "not unknown", and output
    // sensitivity only as the declared flag.
    e.insert(
        "after_unknown".into(),
        if o.after.is_wholly_known() {
            json!(false)
        } else {
            unknown_as_bool(&o.after)
        },
    );
    e.insert("before_sensitive".into(), json!(o.sensitive));
    e.insert("after_sensitive".into(), json!(o.sensitive));
    Json::Object(e)
}

/// A state resource object for the values representation (from state JSON, no schema needed).
pub struct StateResource<'a> {
    pub module: String,
    pub address: String,
    pub mode: &'a str,
    pub type_name: &'a str,
    pub name: &'a str,
    pub index: Option<Json>,
    pub provider_name: String,
    pub schema_version: u64,
    pub attributes: Json,
    /// Sensitive paths (state `sensitive_attributes`).
    pub sensitive_paths: Json,
    pub depends_on: Vec<String>,
    pub tainted: bool,
    pub deposed: Option<String>,
}

/// The sensitive tree of plain JSON attributes with marked paths.
fn json_sensitive_tree(attrs: &Json, paths: &Json) -> Json {
    fn walk(v: &Json, path: &mut Vec<Json>, paths: &[Vec<Json>]) -> Json {
        if paths.iter().any(|p| p == path) {
            return Json::Bool(true);
        }
        match v {
            Json::Object(m) => Json::Object(
                m.iter()
                    .filter_map(|(k, e)| {
                        path.push(json!(k));
                        let t = walk(e, path, paths);
                        path.pop();
                        (t != Json::Bool(false)).then(|| (k.clone(), t))
                    })
                    .collect(),
            ),
            Json::Array(a) => Json::Array(
                a.iter()
                    .enumerate()
                    .map(|(i, e)| {
                        path.push(json!(i));
                        let t = walk(e, path, paths);
                        path.pop();
                        t
                    })
                    .collect(),
            ),
            _ => Json::Bool(false),
        }
    }
    let ps: Vec<Vec<Json>> = paths
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| {
                    p.as_array().map(|steps| {
                        steps
                            .iter()
                            .map(|s| match s.get("type").and_then(|t| t.as_str()) {
                                Some("get_attr") => s.get("value").cloned().unwrap_or(Json::Null),
                                _ => s
                                    .get("value")
                                    .and_then(|v| v.get("value"))
                                    .cloned()
                                    .unwrap_or(Json::Null),
                            })
                            .collect()
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    match walk(attrs, &mut Vec::new(), &ps) {
        Json::Bool(false) => json!({}),
        t => t,
    }
}

/// The values representation of a state: `{"outputs": …, "root_module": …}`.
pub fn state_values(
    outputs: &[(String, bool, Json, Json)],
    mut resources: Vec<StateResource>,
) -> Json {
    // Terraform's order within a module: data sources first, then by type and name; instances
    // without a key, then integer keys in numeric order, then string keys; current objects
    // before deposed ones.
    resources.sort_by(|a, b| {
        fn key<'r>(
            r: &'r StateResource,
        ) -> (bool, &'r str, &'r str, (u8, i64, String), Option<&'r str>) {
            let index = match &r.index {
                None => (0, 0, String::new()),
                Some(Json::Number(n)) => (1, n.as_i64().unwrap_or(0), String::new()),
                Some(other) => (2, 0, other.as_str().unwrap_or_default().to_string()),
            };
            (
                r.mode != "data",
                r.type_name,
                r.name,
                index,
                r.deposed.as_deref(),
            )
        }
        key(a).cmp(&key(b))
    });
    let mut m = Map::new();
    if !outputs.is_empty() {
        let mut o = Map::new();
        for (name, sensitive, value, ty) in outputs {
            o.insert(
                name.clone(),
                json!({ "sensitive": sensitive, "value": value, "type": ty }),
            );
        }
        m.insert("outputs".into(), Json::Object(o));
    }
    let entries = resources
        .into_iter()
        .map(|r| {
            let mut e = Map::new();
            e.insert("address".into(), json!(r.address));
            e.insert("mode".into(), json!(r.mode));
            e.insert("type".into(), json!(r.type_name));
            e.insert("name".into(), json!(r.name));
            if let Some(i) = r.index {
                e.insert("index".into(), i);
            }
            e.insert("provider_name".into(), json!(r.provider_name));
            e.insert("schema_version".into(), json!(r.schema_version));
            let sv = json_sensitive_tree(&r.attributes, &r.sensitive_paths);
            // As in planned values, an object without attributes has no `values`.
            if r.attributes.as_object().is_none_or(|m| !m.is_empty()) {
                e.insert("values".into(), r.attributes);
            }
            e.insert("sensitive_values".into(), sv);
            if !r.depends_on.is_empty() {
                e.insert("depends_on".into(), json!(r.depends_on));
            }
            if r.tainted {
                e.insert("tainted".into(), json!(true));
            }
            if let Some(d) = r.deposed {
                e.insert("deposed_key".into(), json!(d));
            }
            ResEntry {
                module: r.module,
                json: Json::Object(e),
            }
        })
        .collect();
    m.insert("root_module".into(), module_tree(entries));
    Json::Object(m)
}

/// The whole plan document. `prior_state` is the state values representation (None for an
/// empty prior state without outputs), `configuration` the config representation.
pub fn plan_document(
    plan: &Plan,
    terraform_version: &str,
    prior_state: Option<Json>,
    configuration: Json,
    relevant_attributes: Json,
) -> Json {
    let mut d = Map::new();
    d.insert("format_version".into(), json!(PLAN_FORMAT_VERSION));
    d.insert("terraform_version".into(), json!(terraform_version));
    if !plan.variables.is_empty() {
        let mut vars = Map::new();
        for (k, v) in &plan.variables {
            vars.insert(
                k.clone(),
                json!({ "value": omit_unknowns(v).unwrap_or(Json::Null) }),
            );
        }
        d.insert("variables".into(), Json::Object(vars));
    }
    d.insert("planned_values".into(), planned_values(plan));
    // Drift that a normal plan's changes already cover (move-only) is not repeated.
    let refresh_only = plan.mode == PlanMode::RefreshOnly;
    let drift: Vec<Json> = plan
        .drift
        .iter()
        .filter(|c| refresh_only || c.action != Action::NoOp)
        .map(change_json)
        .collect();
    if !drift.is_empty() {
        d.insert("resource_drift".into(), Json::Array(drift));
    }
    // A refresh-only plan changes nothing: its objects are recorded as refreshed, not listed.
    let changes: Vec<Json> = plan
        .resource_changes
        .iter()
        .filter(|c| !(refresh_only && c.action == Action::NoOp))
        .map(change_json)
        .collect();
    if !changes.is_empty() {
        d.insert("resource_changes".into(), Json::Array(changes));
    }
    if !plan.output_changes.is_empty() {
        let mut oc = Map::new();
        for o in &plan.output_changes {
            oc.insert(o.name.clone(), output_change_json(o));
        }
        d.insert("output_changes".into(), Json::Object(oc));
    }
    if let Some(p) = prior_state {
        d.insert("prior_state".into(), p);
    }
    d.insert("configuration".into(), configuration);
    if relevant_attributes
        .as_array()
        .is_some_and(|a| !a.is_empty())
    {
        d.insert("relevant_attributes".into(), relevant_attributes);
    }
    d.insert("timestamp".into(), json!(plan.timestamp));
    d.insert(
        "applyable".into(),
        json!(plan.has_changes() && !plan.errored),
    );
    // A targeted plan leaves the rest of the configuration unplanned.
    d.insert("complete".into(), json!(plan.targets.is_empty()));
    d.insert("errored".into(), json!(plan.errored));
    Json::Object(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_paths_split_on_module_boundaries() {
        assert_eq!(
            split_modules("module.a[\"x.y\"].module.b"),
            vec!["module.a[\"x.y\"]".to_string(), "module.b".to_string()]
        );
    }

    #[test]
    fn sensitive_tree_from_state_paths() {
        let attrs = json!({"a": "x", "b": {"c": "y"}, "l": [1, 2]});
        let paths =
            json!([[{"type": "get_attr", "value": "b"}, {"type": "get_attr", "value": "c"}]]);
        assert_eq!(
            json_sensitive_tree(&attrs, &paths),
            json!({"b": {"c": true}, "l": [false, false]})
        );
    }
}
