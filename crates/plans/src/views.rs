//! The machine-readable UI stream of `plan -json` / `apply -json`: one JSON object per line
//! with `@level`, `@message`, `@module` and `@timestamp`, as Terraform's views emit them.

use serde_json::{json, Value as Json};

use crate::{Action, Plan, ResourceInstanceChange};

fn stamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
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

/// Version line, one `planned_change` per change, the `change_summary` and `outputs`.
pub fn plan_events(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    out.push(msg(
        "info",
        "Terraform 1.11.4".into(),
        "version",
        json!({"terraform": "1.11.4", "ui": "1.2"}),
    ));
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
        json!({"changes": {"add": s.add, "change": s.change, "import": s.import, "remove": s.destroy, "operation": if plan.mode == crate::PlanMode::Destroy { "destroy" } else { "plan" }}}),
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
