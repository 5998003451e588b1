//! The machine-readable UI stream of `plan -json` / `apply -json`: one JSON object per line
//! with `@level`, `@message`, `@module` and `@timestamp`, as Terraform's views emit them.

use serde_json::{json, Value as Json};

use crate::{Action, Plan, ResourceInstanceChange};

fn stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn msg(level: &str, message: String, ty: &str, extra: Json) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("@level".into(), json!(level));
    m.insert("@message".into(), json!(message));
    m.insert("@module".into(), json!("terraform.ui"));
    m.insert("@timestamp".into(), json!(stamp()));
    if let Json::Object(e) = extra {
        for (k, v) in e {
            m.insert(k, v);
        }
    }
    m.insert("type".into(), json!(ty));
    Json::Object(m)
}

/// The `resource` object of a change event.
pub fn resource_json(c: &ResourceInstanceChange) -> Json {
    let mut r = serde_json::Map::new();
    r.insert("addr".into(), json!(c.address));
    r.insert(
        "module".into(),
        json!(c.module_address.clone().unwrap_or_default()),
    );
    r.insert(
        "resource".into(),
        json!(c
            .address
            .strip_prefix(&format!(
                "{}.",
                c.module_address.clone().unwrap_or_default()
            ))
            .unwrap_or(&c.address)),
    );
    r.insert(
        "implied_provider".into(),
        json!(c.type_name.split('_').next().unwrap_or("")),
    );
    r.insert("resource_type".into(), json!(c.type_name));
    r.insert("resource_name".into(), json!(c.name));
    r.insert(
        "resource_key".into(),
        c.index
            .as_ref()
            .and_then(crate::json::omit_unknowns)
            .unwrap_or(Json::Null),
    );
    Json::Object(r)
}

fn action_word(a: Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Delete => "delete",
        Action::Update => "update",
        Action::DeleteThenCreate | Action::CreateThenDelete => "replace",
        Action::Read => "read",
        Action::NoOp => "noop",
        Action::Forget => "remove",
    }
}

fn version() -> Json {
    msg(
        "info",
        "Terraform 1.11.4".into(),
        "version",
        json!({"terraform": "1.11.4", "ui": "1.2"}),
    )
}

/// The stream's opening `version` line.
pub fn version_event() -> String {
    version().to_string()
}

/// One `planned_change` per change, the `change_summary` and `outputs`.
pub fn plan_events(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for c in &plan.resource_changes {
        if c.action == Action::NoOp && c.previous_address.is_none() && c.importing_id.is_none() {
            continue;
        }
        let verb = match c.action {
            Action::Create => "Plan to create",
            Action::Delete => "Plan to delete",
            Action::Update => "Plan to update",
            Action::DeleteThenCreate | Action::CreateThenDelete => "Plan to replace",
            Action::Read => "Plan to read",
            Action::Forget => "Plan to remove",
            Action::NoOp => "Plan to move",
        };
        let mut change = serde_json::Map::new();
        change.insert("resource".into(), resource_json(c));
        if let Some(p) = &c.previous_address {
            change.insert("previous_resource".into(), json!({"addr": p}));
        }
        change.insert("action".into(), json!(action_word(c.action)));
        if let Some(r) = c.action_reason {
            change.insert("reason".into(), json!(r.json_name()));
        }
        out.push(msg(
            "info",
            format!("{}: {verb}", c.address),
            "planned_change",
            json!({"change": Json::Object(change)}),
        ));
    }
    let s = plan.summary();
    out.push(msg(
        "info",
        s.to_string(),
        "change_summary",
        json!({"changes": {"add": s.add, "change": s.change, "import": s.import, "remove": s.destroy, "operation": "plan"}}),
    ));
    let mut outs = serde_json::Map::new();
    for o in &plan.output_changes {
        let mut e = serde_json::Map::new();
        e.insert("sensitive".into(), json!(o.sensitive));
        e.insert("action".into(), json!(action_word(o.action)));
        outs.insert(o.name.clone(), Json::Object(e));
    }
    if !outs.is_empty() {
        out.push(msg(
            "info",
            "Outputs: ".to_string() + &outs.len().to_string(),
            "outputs",
            json!({"outputs": Json::Object(outs)}),
        ));
    }
    out.into_iter().map(|j| j.to_string()).collect()
}

/// What Terraform says when an operation starts ("Creating..."); `None` for no operation.
pub fn start_verb(action: Action) -> Option<&'static str> {
    Some(match action {
        Action::Create | Action::DeleteThenCreate | Action::CreateThenDelete => "Creating...",
        Action::Update => "Modifying...",
        Action::Delete => "Destroying...",
        Action::Read => "Reading...",
        Action::NoOp | Action::Forget => return None,
    })
}

/// What Terraform says when an operation finishes ("Creation complete").
pub fn done_verb(action: Action) -> &'static str {
    match action {
        Action::Update => "Modifications complete",
        Action::Delete => "Destruction complete",
        Action::Read => "Read complete",
        _ => "Creation complete",
    }
}

/// The `hook` object of an apply event: the resource, the action and, where known, the id.
fn hook(addr: &str, action: Action, id: Option<&str>) -> serde_json::Map<String, Json> {
    let mut h = serde_json::Map::new();
    h.insert("resource".into(), resource_json_from_addr(addr));
    h.insert("action".into(), json!(action_word(action)));
    if let Some(id) = id {
        h.insert("id_key".into(), json!("id"));
        h.insert("id_value".into(), json!(id));
    }
    h
}

fn id_suffix(id: Option<&str>) -> String {
    id.map(|i| format!(" [id={i}]")).unwrap_or_default()
}

/// `apply_start`: an operation on `addr` began (`id` of the existing object, for updates and
/// deletes).
pub fn apply_start(addr: &str, action: Action, id: Option<&str>) -> String {
    let verb = start_verb(action).unwrap_or("Creating...");
    let id = id.filter(|_| matches!(action, Action::Update | Action::Delete));
    msg(
        "info",
        format!("{addr}: {verb}{}", id_suffix(id)),
        "apply_start",
        json!({"hook": Json::Object(hook(addr, action, id))}),
    )
    .to_string()
}

/// `apply_complete`: the operation on `addr` finished after `elapsed_seconds`.
pub fn apply_complete(
    addr: &str,
    action: Action,
    id: Option<&str>,
    elapsed_seconds: u64,
) -> String {
    let verb = done_verb(action);
    let id = id.filter(|_| action != Action::Delete);
    let mut h = hook(addr, action, id);
    h.insert("elapsed_seconds".into(), json!(elapsed_seconds));
    msg(
        "info",
        format!("{addr}: {verb} after {elapsed_seconds}s{}", id_suffix(id)),
        "apply_complete",
        json!({"hook": Json::Object(h)}),
    )
    .to_string()
}

/// `apply_errored`: the operation on `addr` failed after `elapsed_seconds`.
pub fn apply_errored(addr: &str, action: Action, elapsed_seconds: u64) -> String {
    let verb = match action {
        Action::Update => "Modifying",
        Action::Delete => "Destroying",
        Action::Read => "Reading",
        _ => "Creating",
    };
    let mut h = hook(addr, action, None);
    h.insert("elapsed_seconds".into(), json!(elapsed_seconds));
    msg(
        "error",
        format!("{addr}: {verb}... failed after {elapsed_seconds}s"),
        "apply_errored",
        json!({"hook": Json::Object(h)}),
    )
    .to_string()
}

/// The closing `change_summary` of an apply (or destroy) and the `outputs` with their values.
pub fn apply_summary(
    counts: (usize, usize, usize, usize),
    destroy: bool,
    outputs: &[(String, bool, Json, Json)],
) -> Vec<String> {
    let (imported, added, changed, destroyed) = counts;
    let line = if destroy {
        format!("Destroy complete! Resources: {destroyed} destroyed.")
    } else if imported > 0 {
        format!("Apply complete! Resources: {imported} imported, {added} added, {changed} changed, {destroyed} destroyed.")
    } else {
        format!(
            "Apply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."
        )
    };
    let mut out = vec![msg(
        "info",
        line,
        "change_summary",
        json!({"changes": {"add": added, "change": changed, "import": imported, "remove": destroyed, "operation": if destroy { "destroy" } else { "apply" }}}),
    )];
    let mut outs = serde_json::Map::new();
    for (name, sensitive, value, ty) in outputs {
        let mut e = serde_json::Map::new();
        e.insert("sensitive".into(), json!(sensitive));
        e.insert("type".into(), ty.clone());
        if !sensitive {
            e.insert("value".into(), value.clone());
        }
        outs.insert(name.clone(), Json::Object(e));
    }
    // A destroy reports no outputs, and an empty list is not reported.
    if !destroy && !outs.is_empty() {
        out.push(msg(
            "info",
            format!("Outputs: {}", outs.len()),
            "outputs",
            json!({"outputs": Json::Object(outs)}),
        ));
    }
    out.into_iter().map(|j| j.to_string()).collect()
}

/// The `resource` object for an instance known only by its address (refresh events).
fn resource_json_from_addr(addr: &str) -> Json {
    let Ok(addrs::Target::Instance(i)) = addrs::parse_target(addr).map(|t| match t {
        addrs::Target::Resource(r) => addrs::Target::Instance(r.instance(None)),
        t => t,
    }) else {
        return json!({"addr": addr});
    };
    let module = i.module.to_string();
    let resource = match addr.strip_prefix(&format!("{module}.")) {
        Some(r) if !module.is_empty() => r.to_string(),
        _ => addr.to_string(),
    };
    json!({
        "addr": addr,
        "module": module,
        "resource": resource,
        "implied_provider": i.resource.type_name.split('_').next().unwrap_or(""),
        "resource_type": &*i.resource.type_name,
        "resource_name": &*i.resource.name,
        "resource_key": match &i.key {
            None => Json::Null,
            Some(addrs::InstanceKey::Int(n)) => json!(n),
            Some(addrs::InstanceKey::Str(s)) => json!(&**s),
        },
    })
}

fn refresh_hook(addr: &str, id: Option<&str>) -> Json {
    let mut h = serde_json::Map::new();
    h.insert("resource".into(), resource_json_from_addr(addr));
    if let Some(id) = id {
        h.insert("id_key".into(), json!("id"));
        h.insert("id_value".into(), json!(id));
    }
    Json::Object(h)
}

/// `refresh_start`: reading an existing object began.
pub fn refresh_start(addr: &str, id: Option<&str>) -> String {
    msg(
        "info",
        format!("{addr}: Refreshing state...{}", id_suffix(id)),
        "refresh_start",
        json!({"hook": refresh_hook(addr, id)}),
    )
    .to_string()
}

/// `refresh_complete`: that read finished.
pub fn refresh_complete(addr: &str, id: Option<&str>) -> String {
    msg(
        "info",
        format!("{addr}: Refresh complete{}", id_suffix(id)),
        "refresh_complete",
        json!({"hook": refresh_hook(addr, id)}),
    )
    .to_string()
}
