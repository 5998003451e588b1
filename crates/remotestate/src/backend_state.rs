//! The backend state file `.terraform/terraform.tfstate` that `terraform init` writes: the
//! backend type, its configuration with every schema attribute (null when unset) and Terraform's
//! `hash` of that configuration, by which Terraform notices a changed `backend` block.

use std::collections::BTreeMap;

use value::Value;

use crate::config::{coerce_none_required, ConfigError};
use crate::Map;

/// The configuration as Terraform records it: every attribute of the backend's schema, values
/// converted to their types, nested attributes as objects.
pub fn config_value(kind: &str, config: &Map) -> Result<Value, ConfigError> {
    let schema =
        crate::schema::schema(kind).ok_or_else(|| ConfigError::UnknownKind(kind.to_owned()))?;
    Ok(Value::Object(coerce_none_required(&schema, config)?.0))
}

/// Terraform's `configs.Backend.Hash`: cty's set hash (CRC-32 of its hash serialization) of
/// the tuple `[type, configuration]`.
pub fn config_hash(kind: &str, config: &Map) -> Result<u64, ConfigError> {
    let obj = config_value(kind, config)?;
    let mut buf = String::from("<");
    hash_bytes(&Value::string(kind), &mut buf);
    buf.push(';');
    hash_bytes(&obj, &mut buf);
    buf.push_str(";>");
    Ok(u64::from(crc32fast::hash(buf.as_bytes())))
}

/// The contents of `.terraform/terraform.tfstate` for this backend, byte for byte as
/// Terraform writes it (two-space indentation, no final newline).
pub fn file_contents(
    kind: &str,
    config: &Map,
    terraform_version: &str,
) -> Result<String, ConfigError> {
    let obj = config_value(kind, config)?;
    let config_json = value::json::to_json(&obj)
        .map_err(|e| ConfigError::Schema(format!("the configuration cannot be recorded: {e}")))?;
    let doc = serde_json::json!({
        "version": 3,
        "terraform_version": terraform_version,
        "backend": {
            "type": kind,
            "config": config_json,
            "hash": config_hash(kind, config)?,
        }
    });
    Ok(serde_json::to_string_pretty(&doc).expect("JSON serializes"))
}

/// cty's `appendSetHashBytes`.
fn hash_bytes(v: &Value, buf: &mut String) {
    let v = v.unmarked();
    if !v.is_known() {
        buf.push('?');
        return;
    }
    match v {
        Value::Null(_) => buf.push('~'),
        Value::Bool(b) => buf.push(if *b { 'T' } else { 'F' }),
        Value::Number(n) => buf.push_str(&go_float_string(n)),
        Value::String(s) => buf.push_str(&go_quote(s)),
        Value::Map(_, m) => {
            buf.push('{');
            for (k, e) in m {
                buf.push_str(&go_quote(k));
                buf.push(':');
                hash_bytes(e, buf);
                buf.push(';');
            }
            buf.push('}');
        }
        Value::List(_, vs) | Value::Set(_, vs) => {
            buf.push('[');
            for e in vs {
                hash_bytes(e, buf);
                buf.push(';');
            }
            buf.push(']');
        }
        Value::Object(m) => {
            buf.push('<');
            let sorted: BTreeMap<&String, &Value> = m.iter().collect();
            for e in sorted.values() {
                hash_bytes(e, buf);
                buf.push(';');
            }
            buf.push('>');
        }
        Value::Tuple(vs) => {
            buf.push('<');
            for e in vs {
                hash_bytes(e, buf);
                buf.push(';');
            }
            buf.push('>');
        }
        Value::Unknown(_) | Value::Marked(..) => buf.push('?'),
    }
}

/// Go's `big.Float.String()` (`%.10g`) for the numbers a backend block holds.
fn go_float_string(n: &value::Number) -> String {
    if let Some(i) = n.to_i64() {
        if i.unsigned_abs() < 10_000_000_000 {
            return i.to_string();
        }
    }
    let f = n.to_f64();
    let s = format!("{f:.9e}");
    // Rust prints 1.500000000e10; Go's %g prints 1.5e+10.
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mant = mant.trim_end_matches('0').trim_end_matches('.');
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..10).contains(&exp) {
        let digits = format!("{f:.*}", (9 - exp).max(0) as usize);
        let digits = if digits.contains('.') {
            digits
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        } else {
            digits
        };
        return digits;
    }
    format!("{mant}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

/// Go's `%q` for a string: printable characters kept, the rest escaped as `strconv.Quote`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32))
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32))
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(go_quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
        assert_eq!(go_float_string(&value::Number::from(5i64)), "5");
        assert_eq!(go_float_string(&value::Number::from(0i64)), "0");
    }
}
