//! The `configuration` section of `show -json` plans: the static config with each expression
//! shown as a constant value or as the references it makes, as Terraform's jsonconfig does.

mod provider_configs;

use std::collections::BTreeMap;
use std::sync::Arc;

use config::{Body, Config, Expr, Module, Traverser};
use providers::schema::{Block, ProviderSchema};
use serde_json::{json, Map, Value as Json};
use value::Type;

fn traversal_string(root: &str, steps: &[Traverser]) -> String {
    let mut s = root.to_string();
    for t in steps {
        match t {
            Traverser::Attr { name, .. } => {
                s.push('.');
                s.push_str(name);
            }
            Traverser::Index { key, .. } => {
                s.push('[');
                match key.unmarked() {
                    value::Value::String(k) => s.push_str(&value::ops::go_quote(k)),
                    other => {
                        s.push_str(&other.as_number().map(|n| n.to_text()).unwrap_or_default())
                    }
                }
                s.push(']');
            }
        }
    }
    s
}

/// The `references` list, as Terraform's jsonconfig builds it: for each reference the subject
/// with its remaining traversal, peeled one step at a time, then the subject, then (for keyed
/// resource instances and module outputs) the unkeyed resource or module call.
pub fn references(e: &Expr) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (root, steps, _) in e.references() {
        if root == "self" {
            continue;
        }
        let is_attr = |i: usize| matches!(steps.get(i), Some(Traverser::Attr { .. }));
        let is_index = |i: usize| matches!(steps.get(i), Some(Traverser::Index { .. }));
        // (subject length in steps, extra unkeyed address)
        let (n, extra): (usize, Option<String>) = match root {
            "module" => {
                let mut n = 1;
                if is_index(1) {
                    n = 2;
                }
                if is_attr(n) {
                    (n + 1, Some(traversal_string(root, &steps[..1])))
                } else {
                    (n, None)
                }
            }
            "data" => {
                let mut n = 2;
                let mut extra = None;
                if is_index(2) {
                    n = 3;
                    extra = Some(traversal_string(root, &steps[..2]));
                }
                (n, extra)
            }
            "var" | "local" | "count" | "each" | "path" | "terraform" => (1, None),
            _ => {
                let mut n = 1;
                let mut extra = None;
                if is_index(1) {
                    n = 2;
                    extra = Some(traversal_string(root, &steps[..1]));
                }
                (n, extra)
            }
        };
        let n = n.min(steps.len());
        let mut end = steps.len();
        while end > n {
            out.push(traversal_string(root, &steps[..end]));
            end -= 1;
        }
        out.push(traversal_string(root, &steps[..n]));
        if let Some(x) = extra {
            out.push(x);
        }
    }
    out
}

/// `{"constant_value": v}` for reference-free expressions that evaluate, else
/// `{"references": [...]}` (empty object when neither applies).
pub fn expression(e: &Expr, dir: &std::path::Path) -> Json {
    let refs = references(e);
    if !refs.is_empty() {
        return json!({ "references": refs });
    }
    let data = lang::MapData::default();
    let (v, ds) = lang::Scope::new(&data, dir.to_path_buf())
        .without_functions()
        .eval(e, &Type::Dynamic);
    if ds.has_errors() || !v.is_wholly_known() {
        return json!({});
    }
    let (plain, _) = v.unmark_deep();
    match value::json::to_json(&plain) {
        Ok(j) => json!({ "constant_value": j }),
        Err(_) => json!({}),
    }
}

fn body_expressions(body: &Body, schema: Option<&Block>, dir: &std::path::Path) -> Json {
    let mut m = Map::new();
    for (name, a) in &body.attributes {
        m.insert(name.clone(), expression(&a.expr, dir));
    }
    let mut blocks: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for b in &body.blocks {
        if b.type_name == "dynamic" {
            continue;
        }
        let nested = schema
            .and_then(|s| s.block_types.get(&b.type_name))
            .map(|nb| &nb.block);
        blocks
            .entry(b.type_name.clone())
            .or_default()
            .push(body_expressions(&b.body, nested, dir));
    }
    for (k, v) in blocks {
        m.insert(k, Json::Array(v));
    }
    Json::Object(m)
}

fn module_json(
    c: &Config,
    schemas: &BTreeMap<String, Arc<ProviderSchema>>,
    provider_keys: &provider_configs::ProviderConfigs,
    prefix: &str,
) -> Json {
    let m: &Module = &c.module;
    let dir = &m.dir;
    let mut out = Map::new();
    if !m.outputs.is_empty() {
        let mut o = Map::new();
        for (name, decl) in &m.outputs {
            let mut e = Map::new();
            if decl.sensitive {
                e.insert("sensitive".into(), json!(true));
            }
            e.insert("expression".into(), expression(&decl.expr, dir));
            if let Some(d) = &decl.description {
                e.insert("description".into(), json!(d));
            }
            if !decl.depends_on.is_empty() {
                e.insert(
                    "depends_on".into(),
                    Json::Array(
                        decl.depends_on
                            .iter()
                            .flat_map(references)
                            .map(Json::String)
                            .collect(),
                    ),
                );
            }
            o.insert(name.clone(), Json::Object(e));
        }
        out.insert("outputs".into(), Json::Object(o));
    }
    let mut resources = Vec::new();
    for (mode, map) in [
        ("managed", &m.managed_resources),
        ("data", &m.data_resources),
    ] {
        for r in map.values() {
            let local = r
                .provider
                .as_ref()
                .map(|p| p.name.clone())
                .unwrap_or_else(|| engine::model::implied_provider_local(&r.type_name).to_string());
            let alias = r.provider.as_ref().and_then(|p| p.alias.clone());
            let source = engine::model::provider_source(m, &local);
            let key = match &alias {
                Some(a) => format!("{local}.{a}"),
                None => local.clone(),
            };
            let full_key = provider_keys.resource_key(&key, prefix);
            let schema = schemas.get(&source).and_then(|s| {
                if mode == "data" {
                    s.data_sources.get(&r.type_name)
                } else {
                    s.resource_types.get(&r.type_name)
                }
            });
            let mut e = Map::new();
            let addr = if mode == "data" {
                format!("data.{}.{}", r.type_name, r.name)
            } else {
                format!("{}.{}", r.type_name, r.name)
            };
            e.insert("address".into(), json!(addr));
            e.insert("mode".into(), json!(mode));
            e.insert("type".into(), json!(r.type_name));
            e.insert("name".into(), json!(r.name));
            e.insert("provider_config_key".into(), json!(full_key));
            let exprs = body_expressions(&r.config, schema.map(|s| &s.block), dir);
            if exprs.as_object().is_some_and(|o| !o.is_empty()) {
                e.insert("expressions".into(), exprs);
            }
            e.insert(
                "schema_version".into(),
                json!(schema.map(|s| s.version).unwrap_or(0)),
            );
            if let Some(x) = r.count.as_ref().map(|x| expression(x, dir)) {
                // Terraform leaves out an expression with neither value nor references.
                if x.as_object().is_some_and(|o| !o.is_empty()) {
                    e.insert("count_expression".into(), x);
                }
            }
            if let Some(x) = r.for_each.as_ref().map(|x| expression(x, dir)) {
                // Terraform leaves out an expression with neither value nor references.
                if x.as_object().is_some_and(|o| !o.is_empty()) {
                    e.insert("for_each_expression".into(), x);
                }
            }
            if !r.depends_on.is_empty() {
                e.insert(
                    "depends_on".into(),
                    Json::Array(
                        r.depends_on
                            .iter()
                            .flat_map(references)
                            .map(Json::String)
                            .collect(),
                    ),
                );
            }
            resources.push(Json::Object(e));
        }
    }
    if !resources.is_empty() {
        // Terraform lists them by address, not in declaration order.
        resources.sort_by(|a, b| a["address"].as_str().cmp(&b["address"].as_str()));
        out.insert("resources".into(), Json::Array(resources));
    }
    if !m.module_calls.is_empty() {
        let mut calls = Map::new();
        for (name, call) in &m.module_calls {
            let mut e = Map::new();
            e.insert("source".into(), json!(call.source));
            let mut exprs = Map::new();
            for (an, a) in &call.config.attributes {
                exprs.insert(an.clone(), expression(&a.expr, dir));
            }
            e.insert("expressions".into(), Json::Object(exprs));
            if let Some(c) = &call.count {
                e.insert("count_expression".into(), expression(c, dir));
            }
            if let Some(f) = &call.for_each {
                e.insert("for_each_expression".into(), expression(f, dir));
            }
            if let Some(child) = c.children.get(name) {
                let p = if prefix.is_empty() {
                    format!("module.{name}")
                } else {
                    format!("{prefix}.module.{name}")
                };
                e.insert(
                    "module".into(),
                    module_json(child, schemas, provider_keys, &p),
                );
            }
            calls.insert(name.clone(), Json::Object(e));
        }
        out.insert("module_calls".into(), Json::Object(calls));
    }
    if !m.variables.is_empty() {
        let mut vars = Map::new();
        for (name, v) in &m.variables {
            let mut e = Map::new();
            if let Some(d) = &v.default {
                if let Some(cv) = expression(d, dir).get("constant_value") {
                    e.insert("default".into(), cv.clone());
                }
            }
            if let Some(d) = &v.description {
                e.insert("description".into(), json!(d));
            }
            if v.sensitive {
                e.insert("sensitive".into(), json!(true));
            }
            vars.insert(name.clone(), Json::Object(e));
        }
        out.insert("variables".into(), Json::Object(vars));
    }
    Json::Object(out)
}

/// The whole `configuration` object.
pub fn configuration(c: &Config, schemas: &BTreeMap<String, Arc<ProviderSchema>>) -> Json {
    let keys = provider_configs::ProviderConfigs::build(c, schemas);
    let root = module_json(c, schemas, &keys, "");
    json!({ "provider_config": keys.into_json(), "root_module": root })
}

/// Every expression of a body, nested blocks included.
fn body_exprs<'a>(body: &'a Body, out: &mut Vec<&'a Expr>) {
    out.extend(body.attributes.values().map(|a| &a.expr));
    for b in &body.blocks {
        body_exprs(&b.body, out);
    }
}

/// The config module of a module instance path.
fn config_at<'a>(c: &'a Config, mi: &addrs::ModuleInstance) -> Option<&'a Config> {
    mi.0.iter()
        .try_fold(c, |c, step| c.children.get(&*step.name))
}

/// [`relevant_attributes`] as (resource address, top-level attribute) pairs, for renderers.
pub fn relevant_top_level(c: &Config, plan: &plans::Plan) -> Vec<(String, String)> {
    let Json::Array(items) = relevant_attributes(c, plan) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            let resource = i["resource"].as_str()?.to_string();
            let attr = i["attribute"].get(0)?.as_str()?.to_string();
            Some((resource, attr))
        })
        .collect()
}

/// `relevant_attributes`: the resource attributes that the plan's changes (changed resources,
/// changed outputs, module outputs included) depend on, followed through locals, module
/// inputs and module outputs, as Terraform's global reference analysis does.
pub fn relevant_attributes(c: &Config, plan: &plans::Plan) -> Json {
    use addrs::ModuleInstance;
    let mut work: Vec<(ModuleInstance, &Expr)> = Vec::new();
    let mut module_instances: Vec<ModuleInstance> = Vec::new();
    // Terraform analyses the module outputs its plan records changes for: every output of
    // every module instance in a plan that evaluates them (approximated by the module
    // instances holding resources), none in a destroy plan.
    let module_outputs_change = plan.mode == plans::PlanMode::Normal;
    for ch in &plan.resource_changes {
        let mi = match ch.module_address.as_deref().map(addrs::parse_target) {
            Some(Ok(addrs::Target::Module(mi))) => mi,
            _ => ModuleInstance::root(),
        };
        if module_outputs_change && !mi.is_root() && !module_instances.contains(&mi) {
            module_instances.push(mi.clone());
        }
        if ch.action == plans::Action::NoOp {
            continue;
        }
        let Some(mc) = config_at(c, &mi) else {
            continue;
        };
        let key = format!("{}.{}", ch.type_name, ch.name);
        let res = if ch.mode == "data" {
            mc.module.data_resources.get(&key)
        } else {
            mc.module.managed_resources.get(&key)
        };
        if let Some(r) = res {
            let mut es = Vec::new();
            body_exprs(&r.config, &mut es);
            work.extend(es.into_iter().map(|e| (mi.clone(), e)));
        }
    }
    for o in &plan.output_changes {
        if o.action == plans::Action::NoOp {
            continue;
        }
        if let Some(out) = c.module.outputs.get(&o.name) {
            work.push((ModuleInstance::root(), &out.expr));
        }
    }
    for mi in &module_instances {
        if let Some(mc) = config_at(c, mi) {
            work.extend(mc.module.outputs.values().map(|o| (mi.clone(), &o.expr)));
        }
    }
    let mut seen: std::collections::HashSet<(String, *const Expr)> = Default::default();
    let mut out: Vec<(String, Json)> = Vec::new();
    while let Some((mi, e)) = work.pop() {
        if !seen.insert((mi.to_string(), e as *const Expr)) {
            continue;
        }
        let Some(mc) = config_at(c, &mi) else {
            continue;
        };
        for (root, steps, _) in e.references() {
            let attr = |i: usize| match steps.get(i) {
                Some(Traverser::Attr { name, .. }) => Some(name.as_str()),
                _ => None,
            };
            match root {
                "var" => {
                    let (Some(name), Some(last)) = (attr(0), mi.0.last()) else {
                        continue;
                    };
                    let parent = ModuleInstance(mi.0[..mi.0.len() - 1].to_vec());
                    if let Some(a) = config_at(c, &parent)
                        .and_then(|pc| pc.module.module_calls.get(&*last.name))
                        .and_then(|call| call.config.attributes.get(name))
                    {
                        work.push((parent, &a.expr));
                    }
                }
                "local" => {
                    if let Some(l) = attr(0).and_then(|n| mc.module.locals.get(n)) {
                        work.push((mi.clone(), &l.expr));
                    }
                }
                "module" => {
                    let Some(name) = attr(0) else { continue };
                    let (key, next) = match steps.get(1) {
                        Some(Traverser::Index { key, .. }) => (Some(key), 2),
                        _ => (None, 1),
                    };
                    let key = key.and_then(lang::instance_key);
                    let child = mi.child(name, key);
                    let Some(cc) = config_at(c, &child) else {
                        continue;
                    };
                    match attr(next).and_then(|o| cc.module.outputs.get(o)) {
                        Some(o) => work.push((child, &o.expr)),
                        None => work
                            .extend(cc.module.outputs.values().map(|o| (child.clone(), &o.expr))),
                    }
                }
                "count" | "each" | "path" | "terraform" | "self" => {}
                _ => {
                    let (mode_prefix, type_name, name, mut i) = if root == "data" {
                        match (attr(0), attr(1)) {
                            (Some(t), Some(n)) => ("data.", t, n, 2),
                            _ => continue,
                        }
                    } else {
                        match attr(0) {
                            Some(n) => ("", root, n, 1),
                            None => continue,
                        }
                    };
                    let key = format!("{type_name}.{name}");
                    let res = if root == "data" {
                        mc.module.data_resources.get(&key)
                    } else {
                        mc.module.managed_resources.get(&key)
                    };
                    // Anything else is a `dynamic` block's iterator, not a resource.
                    let Some(r) = res else { continue };
                    let mut addr = if mi.is_root() {
                        String::new()
                    } else {
                        format!("{mi}.")
                    };
                    addr.push_str(&format!("{mode_prefix}{type_name}.{name}"));
                    if let Some(Traverser::Index { key, .. }) = steps.get(i) {
                        if let Some(k) = lang::instance_key(key) {
                            addr.push_str(&k.to_string());
                        }
                        i += 1;
                    }
                    let path: Vec<Json> = steps[i..]
                        .iter()
                        .map(|s| match s {
                            Traverser::Attr { name, .. } => json!(name),
                            Traverser::Index { key, .. } => {
                                value::json::to_json(key).unwrap_or(Json::Null)
                            }
                        })
                        .collect();
                    let item = (addr, Json::Array(path));
                    if !out.contains(&item) {
                        out.push(item);
                    }
                    let mut es = Vec::new();
                    body_exprs(&r.config, &mut es);
                    work.extend(es.into_iter().map(|e| (mi.clone(), e)));
                }
            }
        }
    }
    out.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.to_string().cmp(&b.1.to_string()))
    });
    Json::Array(
        out.into_iter()
            .map(|(r, a)| json!({ "resource": r, "attribute": a }))
            .collect(),
    )
}
