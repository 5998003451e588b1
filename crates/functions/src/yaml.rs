//! `yamldecode` (via yaml-rust2, with YAML 1.1 booleans as go-yaml resolves them) and
//! `yamlencode` (go-yaml's block style: quoted keys and strings, literal blocks for
//! multi-line strings).

use std::collections::BTreeMap;

use value::{Number, Type, Value};
use yaml_rust2::{Yaml, YamlLoader};

use crate::framework::{call_err, func, p, Function, R};

fn to_value(y: &Yaml) -> R<Value> {
    Ok(match y {
        Yaml::Null | Yaml::BadValue => Value::null(Type::Dynamic),
        Yaml::Boolean(b) => Value::Bool(*b),
        Yaml::Integer(i) => Value::number(*i),
        Yaml::Real(r) => {
            Value::Number(Number::parse(r).ok_or_else(|| call_err(format!("invalid number {r}")))?)
        }
        Yaml::String(s) => match s.to_ascii_lowercase().as_str() {
            "yes" | "on" | "y" => Value::Bool(true),
            "no" | "off" | "n" => Value::Bool(false),
            _ => Value::String(s.clone()),
        },
        Yaml::Array(a) => Value::Tuple(a.iter().map(to_value).collect::<R<_>>()?),
        Yaml::Hash(h) => {
            let mut m = BTreeMap::new();
            for (k, v) in h {
                let key = match k {
                    Yaml::String(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Real(r) => r.clone(),
                    Yaml::Boolean(b) => b.to_string(),
                    Yaml::Null => "null".into(),
                    _ => {
                        return Err(call_err(
                            "on line 1, column 1: only string keys are supported",
                        ))
                    }
                };
                m.insert(key, to_value(v)?);
            }
            Value::Object(m)
        }
        Yaml::Alias(_) => return Err(call_err("aliases are not supported")),
    })
}

fn quote(s: &str) -> String {
    value::ops::go_quote(s)
}

fn scalar(v: &Value) -> Option<String> {
    Some(match v.unmarked() {
        Value::Null(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_text(),
        Value::String(s) if s.contains('\n') => return None,
        Value::String(s) => quote(s),
        _ => return None,
    })
}

fn entries(v: &Value) -> Option<Vec<(String, Value)>> {
    match v.unmarked() {
        Value::Object(m) | Value::Map(_, m) => {
            Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        _ => None,
    }
}

fn items(v: &Value) -> Option<Vec<Value>> {
    match v.unmarked() {
        Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => Some(es.clone()),
        _ => None,
    }
}

fn literal(s: &str, indent: usize) -> String {
    let chomp = if s.ends_with('\n') { "|" } else { "|-" };
    let mut out = chomp.to_string();
    out.push('\n');
    for l in s.trim_end_matches('\n').split('\n') {
        out.push_str(&" ".repeat(indent));
        out.push_str(l);
        out.push('\n');
    }
    out
}

/// Emits `v` as the value of a key/sequence item at `indent`; returns text starting after
/// "key:" (including the leading space or newline).
fn emit(v: &Value, indent: usize, out: &mut String, in_seq: bool) {
    if let Some(s) = scalar(v) {
        out.push(' ');
        out.push_str(&s);
        out.push('\n');
        return;
    }
    if let Value::String(s) = v.unmarked() {
        out.push(' ');
        out.push_str(&literal(s, indent + 2));
        return;
    }
    if let Some(es) = entries(v) {
        if es.is_empty() {
            out.push_str(" {}\n");
            return;
        }
        if in_seq {
            // "- " then the first key on the same line.
            let mut first = true;
            for (k, e) in es {
                if !first {
                    out.push_str(&" ".repeat(indent + 2));
                }
                first = false;
                out.push_str(&format!("{}:", quote(&k)));
                emit(&e, indent + 2, out, false);
            }
            return;
        }
        out.push('\n');
        for (k, e) in es {
            out.push_str(&" ".repeat(indent + 2));
            out.push_str(&format!("{}:", quote(&k)));
            emit(&e, indent + 2, out, false);
        }
        return;
    }
    if let Some(es) = items(v) {
        if es.is_empty() {
            out.push_str(" []\n");
            return;
        }
        out.push('\n');
        for e in es {
            out.push_str(&" ".repeat(indent));
            out.push('-');
            emit(&e, indent, out, true);
        }
    }
}

fn encode(v: &Value) -> String {
    if let Some(s) = scalar(v) {
        return match v.unmarked() {
            Value::String(_) => format!("{s}\n"),
            _ => format!("{s}\n...\n"),
        };
    }
    if let Value::String(s) = v.unmarked() {
        return literal(s, 2);
    }
    let mut out = String::new();
    if let Some(es) = entries(v) {
        if es.is_empty() {
            return "{}\n".into();
        }
        for (k, e) in es {
            out.push_str(&format!("{}:", quote(&k)));
            emit(&e, 0, &mut out, false);
        }
        return out;
    }
    if let Some(es) = items(v) {
        if es.is_empty() {
            return "[]\n".into();
        }
        for e in es {
            out.push('-');
            emit(&e, 0, &mut out, true);
        }
    }
    out
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func("yamldecode", vec![p("src", Type::String)])
            .ret(Type::Dynamic)
            .imp(|a| {
                let docs = YamlLoader::load_from_str(a.str(0)).map_err(|e| {
                    call_err(format!(
                        "on line {}, column {}: {}",
                        e.marker().line(),
                        e.marker().col() + 1,
                        e.info()
                    ))
                })?;
                match docs.len() {
                    0 => Ok(Value::null(Type::Dynamic)),
                    1 => to_value(&docs[0]),
                    _ => Err(call_err(
                        "on line 1, column 1: unexpected extra content after value",
                    )),
                }
            })
            .build(),
    );
    fs.push(
        func("yamlencode", vec![p("value", Type::Dynamic).null()])
            .ret(Type::String)
            .imp(|a| {
                if !a.vals[0].is_wholly_known() {
                    return Ok(Value::unknown(Type::String));
                }
                Ok(Value::String(encode(&a.vals[0])))
            })
            .build(),
    );
}
