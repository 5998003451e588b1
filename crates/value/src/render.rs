//! Renders values and types as `terraform console` does: `tolist([...])`, `{ "a" = 1 }`
//! layout, heredocs for multi-line strings, `(sensitive value)`, `(known after apply)`, typed
//! nulls, and the `type()` output.

use crate::ops::go_quote;
use crate::{Type, Value};

/// The console rendering of a value.
pub fn console_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(v, 0, &mut out);
    out
}

fn write_value(v: &Value, indent: usize, out: &mut String) {
    crate::depth::guard(|| {
        if !v.is_known() {
            out.push_str("(known after apply)");
            return;
        }
        if v.marks().is_sensitive() {
            out.push_str("(sensitive value)");
            return;
        }
        match v.unmarked() {
            Value::Null(ty) => out.push_str(&null_text(ty)),
            Value::String(s) => write_string(s, indent, out),
            Value::Number(n) => out.push_str(&n.to_string()),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Object(m) => write_mapping(m, indent, out),
            Value::Tuple(vs) => write_sequence(vs, indent, out),
            Value::List(_, vs) => {
                out.push_str("tolist(");
                write_sequence(vs, indent, out);
                out.push(')');
            }
            Value::Set(_, vs) => {
                out.push_str("toset(");
                write_sequence(vs, indent, out);
                out.push(')');
            }
            Value::Map(_, m) => {
                out.push_str("tomap(");
                write_mapping(m, indent, out);
                out.push(')');
            }
            Value::Unknown(_) | Value::Marked(..) => {}
        }
    })
}

fn null_text(ty: &Type) -> String {
    match ty {
        Type::Dynamic => "null".into(),
        Type::String => "tostring(null)".into(),
        Type::Number => "tonumber(null)".into(),
        Type::Bool => "tobool(null)".into(),
        Type::List(e) => format!("tolist(null) /* of {} */", e.friendly_name()),
        Type::Set(e) => format!("toset(null) /* of {} */", e.friendly_name()),
        Type::Map(e) => format!("tomap(null) /* of {} */", e.friendly_name()),
        t => format!("null /* {} */", t.friendly_name()),
    }
}

fn write_string(s: &str, indent: usize, out: &mut String) {
    let lines: Vec<&str> = s.split('\n').collect();
    if lines.len() < 2 {
        out.push_str(&go_quote(s));
        return;
    }
    // Heredoc, with a delimiter that no line (trimmed) equals.
    let mut delim = String::from("EOT");
    while lines.iter().any(|l| l.trim() == delim) {
        delim.push('_');
    }
    out.push_str(if indent > 0 { "<<-" } else { "<<" });
    out.push_str(&delim);
    let pad = " ".repeat(indent);
    for line in &lines {
        out.push('\n');
        out.push_str(&pad);
        out.push_str(line);
    }
    out.push('\n');
    out.push_str(&pad);
    out.push_str(&delim);
}

fn write_mapping(m: &std::collections::BTreeMap<String, Value>, indent: usize, out: &mut String) {
    out.push('{');
    let inner = indent + 2;
    for (k, v) in m {
        out.push('\n');
        out.push_str(&" ".repeat(inner));
        write_string(k, inner, out);
        out.push_str(" = ");
        write_value(v, inner, out);
    }
    if !m.is_empty() {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
    }
    out.push('}');
}

fn write_sequence(vs: &[Value], indent: usize, out: &mut String) {
    out.push('[');
    let inner = indent + 2;
    for v in vs {
        out.push('\n');
        out.push_str(&" ".repeat(inner));
        write_value(v, inner, out);
        out.push(',');
    }
    if !vs.is_empty() {
        out.push('\n');
        out.push_str(&" ".repeat(indent));
    }
    out.push(']');
}

/// The console rendering of a type, as printed by `type(x)` in the console.
pub fn console_type(ty: &Type) -> String {
    let mut out = String::new();
    write_type(ty, 0, &mut out);
    out
}

fn spaces(level: usize) -> String {
    "    ".repeat(level)
}

fn write_type(ty: &Type, indent: usize, out: &mut String) {
    match ty {
        Type::Object(o) => {
            if o.attrs.is_empty() {
                out.push_str("object({})");
                return;
            }
            out.push_str("object({\n");
            for (name, aty) in &o.attrs {
                out.push_str(&spaces(indent + 1));
                out.push_str(name);
                out.push_str(": ");
                write_type(aty, indent + 1, out);
                out.push_str(",\n");
            }
            out.push_str(&spaces(indent));
            out.push_str("})");
        }
        Type::Tuple(ts) => {
            if ts.is_empty() {
                out.push_str("tuple([])");
                return;
            }
            out.push_str("tuple([\n");
            for t in ts {
                out.push_str(&spaces(indent + 1));
                write_type(t, indent + 1, out);
                out.push_str(",\n");
            }
            out.push_str(&spaces(indent));
            out.push_str("])");
        }
        Type::List(e) | Type::Set(e) | Type::Map(e) => {
            out.push_str(match ty {
                Type::List(_) => "list(",
                Type::Set(_) => "set(",
                _ => "map(",
            });
            // A collection of a structural type gets its own indented line, as Terraform does.
            let complex = matches!(**e, Type::Object(_) | Type::Tuple(_));
            let level = if complex { indent + 1 } else { indent };
            if complex {
                out.push('\n');
                out.push_str(&spaces(level));
            }
            write_type(e, level, out);
            if complex {
                out.push_str(",\n");
                out.push_str(&spaces(indent));
            }
            out.push(')');
        }
        t => out.push_str(&t.friendly_name()),
    }
}
