//! `show` of a state and `state show ADDR`: resources and outputs in Terraform's layout.

use super::*;

use std::collections::BTreeSet;

use value::Value;

/// `terraform show` of a state: every resource instance, then outputs.
pub fn render_state(state: &states::State, schemas: &SchemaLookup, opts: RenderOptions) -> String {
    let mut out = String::new();
    for (saddr, res) in state.resources() {
        let source = provider_source(&res.provider);
        for (k, _) in res.objects() {
            if let Some(text) = instance_text(state, saddr, &source, k, schemas, opts) {
                out.push_str(&text);
                out.push_str("\n\n");
            }
        }
    }
    if !state.outputs.is_empty() {
        out.push_str("\nOutputs:\n\n");
        for (name, o) in &state.outputs {
            if o.sensitive {
                out.push_str(&format!("{name} = (sensitive value)\n"));
                continue;
            }
            let ty = value::json::type_from_json(&o.type_json.to_value())
                .unwrap_or(value::Type::Dynamic);
            let v = value::json::from_json(&o.value.to_value(), &ty)
                .unwrap_or_else(|_| Value::null(ty));
            out.push_str(&format!("{name} = {}\n", state_value(&v, 0)));
        }
    }
    out
}

pub(super) fn provider_source(p: &str) -> String {
    let start = p.find("provider[\"").map(|i| i + 10).unwrap_or(0);
    let rest = &p[start..];
    rest.split('"').next().unwrap_or(rest).to_string()
}

/// A value in `state show` style (4-space indents, unquoted object keys).
pub(super) fn state_value(v: &Value, indent: usize) -> String {
    if v.marks().is_sensitive() {
        return "(sensitive value)".into();
    }
    if is_primitive(v) {
        if let Some(s) = multiline(v) {
            let mut t = String::from("<<-EOT\n");
            for l in s.trim_end_matches('\n').split('\n') {
                t.push_str(&format!("{}{}\n", pad(indent + 4), l));
            }
            t.push_str(&format!("{}EOT", pad(indent)));
            return t;
        }
        return primitive(v);
    }
    if let Some(es) = entries(v) {
        if es.is_empty() {
            return "{}".into();
        }
        let map = is_map(v);
        let keys: Vec<String> = es
            .iter()
            .map(|(k, _)| {
                if map {
                    value::ops::go_quote(k)
                } else {
                    k.clone()
                }
            })
            .collect();
        let w = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        let mut s = String::from("{\n");
        for (k, (_, e)) in keys.iter().zip(es.iter()) {
            s.push_str(&format!(
                "{}{:<w$} = {}\n",
                pad(indent + 4),
                k,
                state_value(e, indent + 4),
                w = w
            ));
        }
        s.push_str(&format!("{}}}", pad(indent)));
        return s;
    }
    if let Some(es) = elements(v) {
        if es.is_empty() {
            return "[]".into();
        }
        let mut s = String::from("[\n");
        for e in es {
            s.push_str(&format!(
                "{}{},\n",
                pad(indent + 4),
                state_value(&e, indent + 4)
            ));
        }
        s.push_str(&format!("{}]", pad(indent)));
        return s;
    }
    primitive(v)
}

pub(super) fn instance_text(
    state: &states::State,
    saddr: &states::ResourceAddr,
    source: &str,
    key: &states::ObjectKey,
    schemas: &SchemaLookup,
    _opts: RenderOptions,
) -> Option<String> {
    let obj = state.object(saddr, key)?;
    let mode = saddr.mode.as_str();
    let schema = schemas(source, mode, &saddr.type_name);
    let json = obj.attributes.as_ref()?.to_value();
    let ty = schema
        .map(|s| s.implied_type())
        .unwrap_or_else(|| value::json::implied_type(&json));
    let v = value::json::from_json(&json, &ty).ok()?;
    let mut addr = saddr.to_string();
    if let Some(k) = &key.key {
        addr.push_str(&k.to_string());
    }
    let kind = if mode == "data" { "data" } else { "resource" };
    let mut s = match &key.deposed {
        Some(d) => format!("# {addr}: (deposed object {d})\n"),
        None => format!(
            "# {addr}:{}\n",
            if obj.status == states::ObjectStatus::Tainted {
                " (tainted)"
            } else {
                ""
            }
        ),
    };
    s.push_str(&format!(
        "{kind} \"{}\" \"{}\" {{\n",
        saddr.type_name, saddr.name
    ));
    let sensitive_paths = obj
        .sensitive_attributes
        .as_ref()
        .map(|r| r.to_value())
        .unwrap_or(serde_json::Value::Null);
    let attrs: Vec<(String, Value)> = entries(&v).unwrap_or_default();
    let blocks: BTreeSet<String> = schema
        .map(|s| s.block_types.keys().cloned().collect())
        .unwrap_or_default();
    let shown: Vec<&(String, Value)> = attrs
        .iter()
        .filter(|(k, v)| !v.is_null() && !blocks.contains(k))
        .collect();
    let w = shown
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in &shown {
        let sens = sensitive_paths.as_array().is_some_and(|ps| {
            ps.iter().any(|p| {
                p.as_array().is_some_and(|steps| {
                    steps.len() == 1 && steps[0].get("value").and_then(|x| x.as_str()) == Some(k)
                })
            })
        });
        let text = if sens {
            "(sensitive value)".to_string()
        } else {
            state_value(v, 4)
        };
        s.push_str(&format!("    {:<w$} = {}\n", k, text, w = w));
    }
    for (k, v) in &attrs {
        if !blocks.contains(k) || v.is_null() {
            continue;
        }
        let items = elements(v).unwrap_or_else(|| vec![v.clone()]);
        for it in items {
            s.push_str(&format!("\n    {k} {{\n"));
            let es = entries(&it).unwrap_or_default();
            let shown: Vec<&(String, Value)> = es.iter().filter(|(_, v)| !v.is_null()).collect();
            let w = shown
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (ik, iv) in shown {
                s.push_str(&format!(
                    "        {:<w$} = {}\n",
                    ik,
                    state_value(iv, 8),
                    w = w
                ));
            }
            s.push_str("    }\n");
        }
    }
    s.push('}');
    Some(s)
}

/// `terraform state show ADDR`: one instance (None if the address matches none).
pub fn render_state_instance(
    state: &states::State,
    target: &addrs::Target,
    schemas: &SchemaLookup,
    opts: RenderOptions,
) -> Option<String> {
    let want = target.to_string();
    for (saddr, res) in state.resources() {
        for (k, _) in res.objects() {
            if k.deposed.is_some() {
                continue;
            }
            let mut addr = saddr.to_string();
            if let Some(key) = &k.key {
                addr.push_str(&key.to_string());
            }
            if addr == want {
                return instance_text(
                    state,
                    saddr,
                    &provider_source(&res.provider),
                    k,
                    schemas,
                    opts,
                )
                .map(|s| format!("{s}\n"));
            }
        }
    }
    None
}
