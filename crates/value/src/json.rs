//! JSON codec: values to and from JSON given a type (state and plan files), and the JSON
//! encoding of types themselves (`"string"`, `["list","number"]`), following cty's `json`
//! package: numbers keep their full precision, `dynamic` positions carry a
//! `{"value":…,"type":…}` wrapper, and absent object attributes decode as null.

use crate::number::Number;
use crate::types::ObjectType;
use crate::{PathStep, Type, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(pub String);

fn err_at(path: &[PathStep], msg: impl Into<String>) -> JsonError {
    let msg = msg.into();
    if path.is_empty() {
        JsonError(msg)
    } else {
        JsonError(format!("{}: {msg}", format_path(path)))
    }
}

/// A path in Terraform's `.a[0]["k"]` notation, for error messages.
pub fn format_path(path: &[PathStep]) -> String {
    let mut s = String::new();
    for step in path {
        match step {
            PathStep::Attr(a) => {
                s.push('.');
                s.push_str(a);
            }
            PathStep::Index(v) => match v.unmarked() {
                Value::String(k) => s.push_str(&format!("[{k:?}]")),
                Value::Number(n) => s.push_str(&format!("[{n}]")),
                _ => s.push_str("[...]"),
            },
        }
    }
    s
}

/// Decodes JSON as a value of type `ty` (cty `ctyjson.Unmarshal`).
pub fn from_json(json: &serde_json::Value, ty: &Type) -> Result<Value, JsonError> {
    let mut path = Vec::new();
    decode(json, ty, &mut path)
}

fn decode(j: &serde_json::Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<Value, JsonError> {
    crate::depth::guard(|| {
        use serde_json::Value as J;
        if j.is_null() {
            return Ok(Value::Null(ty.clone()));
        }
        match ty {
            Type::Dynamic => decode_dynamic(j, path),
            Type::Bool => match j {
                J::Bool(b) => Ok(Value::Bool(*b)),
                J::String(s) => match s.as_str() {
                    "true" | "1" => Ok(Value::Bool(true)),
                    "false" | "0" => Ok(Value::Bool(false)),
                    _ => Err(err_at(path, "a bool is required")),
                },
                _ => Err(err_at(path, "bool is required")),
            },
            Type::Number => {
                let text = match j {
                    J::Number(n) => n.to_string(),
                    J::String(s) => s.clone(),
                    _ => return Err(err_at(path, "number is required")),
                };
                Number::parse(&text)
                    .map(Value::Number)
                    .ok_or_else(|| err_at(path, "a number is required"))
            }
            Type::String => match j {
                J::String(s) => Ok(Value::String(s.clone())),
                J::Number(n) => Ok(Value::String(n.to_string())),
                J::Bool(b) => Ok(Value::String(b.to_string())),
                _ => Err(err_at(path, "string is required")),
            },
            Type::List(ety) | Type::Set(ety) => {
                let J::Array(items) = j else {
                    return Err(err_at(path, "missing expected ["));
                };
                let mut elems = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    path.push(PathStep::Index(Value::from(i as i64)));
                    elems.push(decode(item, ety, path)?);
                    path.pop();
                }
                Ok(if matches!(ty, Type::List(_)) {
                    Value::list_of((**ety).clone(), elems)
                } else {
                    Value::set_of((**ety).clone(), elems)
                })
            }
            Type::Map(ety) => {
                let J::Object(entries) = j else {
                    return Err(err_at(path, "missing expected {"));
                };
                let mut m = BTreeMap::new();
                for (k, item) in entries {
                    path.push(PathStep::Index(Value::String(k.clone())));
                    m.insert(k.clone(), decode(item, ety, path)?);
                    path.pop();
                }
                Ok(Value::map_of((**ety).clone(), m))
            }
            Type::Tuple(etys) => {
                let J::Array(items) = j else {
                    return Err(err_at(path, "missing expected ["));
                };
                if items.len() > etys.len() {
                    return Err(err_at(
                        path,
                        format!("too many tuple elements (need {})", etys.len()),
                    ));
                }
                if items.len() < etys.len() {
                    return Err(err_at(
                        path,
                        format!("not enough tuple elements (need {})", etys.len()),
                    ));
                }
                let mut elems = Vec::with_capacity(items.len());
                for (i, (item, ety)) in items.iter().zip(etys).enumerate() {
                    path.push(PathStep::Index(Value::from(i as i64)));
                    elems.push(decode(item, ety, path)?);
                    path.pop();
                }
                Ok(Value::Tuple(elems))
            }
            Type::Object(o) => {
                let J::Object(entries) = j else {
                    return Err(err_at(path, "missing expected {"));
                };
                let mut m = BTreeMap::new();
                for (k, item) in entries {
                    let Some(aty) = o.attrs.get(k) else {
                        path.push(PathStep::Attr(k.clone()));
                        let e = err_at(path, format!("unsupported attribute {k:?}"));
                        path.pop();
                        return Err(e);
                    };
                    path.push(PathStep::Attr(k.clone()));
                    m.insert(k.clone(), decode(item, aty, path)?);
                    path.pop();
                }
                for (k, aty) in &o.attrs {
                    m.entry(k.clone())
                        .or_insert_with(|| Value::Null(aty.clone()));
                }
                Ok(Value::Object(m))
            }
        }
    })
}

fn decode_dynamic(j: &serde_json::Value, path: &mut Vec<PathStep>) -> Result<Value, JsonError> {
    let serde_json::Value::Object(entries) = j else {
        return Err(err_at(path, "missing expected {"));
    };
    let mut ty = None;
    let mut value = None;
    for (k, v) in entries {
        match k.as_str() {
            "type" => {
                ty = Some(type_from_json(v).map_err(|e| {
                    err_at(
                        path,
                        format!("failed to decode type for dynamic value: {e}"),
                    )
                })?)
            }
            "value" => value = Some(v),
            _ => {
                return Err(err_at(
                    path,
                    format!("invalid key {k:?} in dynamically-typed value"),
                ))
            }
        }
    }
    let ty = ty.ok_or_else(|| err_at(path, "missing type in dynamically-typed value"))?;
    let value = value.ok_or_else(|| err_at(path, "missing value in dynamically-typed value"))?;
    decode(value, &ty, path)
}

/// Encodes a wholly known value as JSON with its own type (cty `ctyjson.Marshal` with
/// `v.ty()`; marks are ignored). Unknown values and infinities cannot be encoded.
pub fn to_json(v: &Value) -> Result<serde_json::Value, JsonError> {
    let ty = v.ty();
    to_json_typed(v, &ty)
}

/// Encodes `v` as the JSON of type `ty` (cty `ctyjson.Marshal(v, ty)`): where `ty` has
/// `dynamic`, the value is wrapped as `{"value":…,"type":…}`.
pub fn to_json_typed(v: &Value, ty: &Type) -> Result<serde_json::Value, JsonError> {
    let mut path = Vec::new();
    encode(v, ty, &mut path)
}

fn encode(v: &Value, ty: &Type, path: &mut Vec<PathStep>) -> Result<serde_json::Value, JsonError> {
    crate::depth::guard(|| {
        use serde_json::Value as J;
        let v = v.unmarked();
        if let Value::Unknown(_) = v {
            return Err(err_at(path, "value is not known"));
        }
        if let Type::Dynamic = ty {
            let actual = v.ty();
            // A null of unknown type is written bare, as cty does (and recursing would never end).
            if actual == Type::Dynamic {
                return Ok(J::Null);
            }
            let inner = encode(v, &actual, path)?;
            let mut m = serde_json::Map::new();
            m.insert("value".into(), inner);
            m.insert("type".into(), type_to_json(&actual));
            return Ok(J::Object(m));
        }
        match v {
            Value::Null(_) => Ok(J::Null),
            Value::Unknown(_) => Err(err_at(path, "value is not known")),
            Value::Bool(b) => Ok(J::Bool(*b)),
            Value::String(s) => Ok(J::String(s.clone())),
            Value::Number(n) => number_to_json(n).ok_or_else(|| {
                err_at(
                    path,
                    format!("cannot encode the infinite number {n} as JSON"),
                )
            }),
            Value::List(_, elems) | Value::Set(_, elems) => {
                let ety = ty.element_type().cloned().unwrap_or(Type::Dynamic);
                let mut out = Vec::with_capacity(elems.len());
                for (i, e) in elems.iter().enumerate() {
                    path.push(PathStep::Index(Value::from(i as i64)));
                    out.push(encode(e, &ety, path)?);
                    path.pop();
                }
                Ok(J::Array(out))
            }
            Value::Tuple(elems) => {
                let etys = match ty {
                    Type::Tuple(ts) => ts.clone(),
                    _ => elems.iter().map(Value::ty).collect(),
                };
                let mut out = Vec::with_capacity(elems.len());
                for (i, e) in elems.iter().enumerate() {
                    path.push(PathStep::Index(Value::from(i as i64)));
                    out.push(encode(e, etys.get(i).unwrap_or(&Type::Dynamic), path)?);
                    path.pop();
                }
                Ok(J::Array(out))
            }
            Value::Map(_, m) => {
                let ety = ty.element_type().cloned().unwrap_or(Type::Dynamic);
                let mut out = serde_json::Map::new();
                for (k, e) in m {
                    path.push(PathStep::Index(Value::String(k.clone())));
                    out.insert(k.clone(), encode(e, &ety, path)?);
                    path.pop();
                }
                Ok(J::Object(out))
            }
            Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, e) in m {
                    let aty = match ty {
                        Type::Object(o) => o.attrs.get(k).cloned().unwrap_or_else(|| e.ty()),
                        _ => e.ty(),
                    };
                    path.push(PathStep::Attr(k.clone()));
                    out.insert(k.clone(), encode(e, &aty, path)?);
                    path.pop();
                }
                Ok(J::Object(out))
            }
            Value::Marked(..) => unreachable!("unmarked above"),
        }
    })
}

/// A number as a JSON number with every digit of its canonical text; `None` for infinities.
pub fn number_to_json(n: &Number) -> Option<serde_json::Value> {
    if let Some(i) = n.to_i64() {
        if !(i == 0 && n.is_negative()) {
            return Some(serde_json::Value::from(i));
        }
    }
    if n.is_infinite() {
        return None;
    }
    serde_json::from_str::<serde_json::Number>(&n.to_string())
        .ok()
        .map(serde_json::Value::Number)
}

/// The JSON form of a type (`"string"`, `["object",{"a":"number"}]`, with a third element
/// listing optional attributes when there are any).
pub fn type_to_json(ty: &Type) -> serde_json::Value {
    crate::depth::guard(|| {
        use serde_json::Value as J;
        match ty {
            Type::Dynamic => J::String("dynamic".into()),
            Type::String => J::String("string".into()),
            Type::Number => J::String("number".into()),
            Type::Bool => J::String("bool".into()),
            Type::List(t) => J::Array(vec![J::String("list".into()), type_to_json(t)]),
            Type::Set(t) => J::Array(vec![J::String("set".into()), type_to_json(t)]),
            Type::Map(t) => J::Array(vec![J::String("map".into()), type_to_json(t)]),
            Type::Tuple(ts) => J::Array(vec![
                J::String("tuple".into()),
                J::Array(ts.iter().map(type_to_json).collect()),
            ]),
            Type::Object(o) => {
                let attrs: serde_json::Map<String, J> = o
                    .attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), type_to_json(t)))
                    .collect();
                let mut parts = vec![J::String("object".into()), J::Object(attrs)];
                if !o.optional.is_empty() {
                    parts.push(J::Array(
                        o.optional.iter().map(|k| J::String(k.clone())).collect(),
                    ));
                }
                J::Array(parts)
            }
        }
    })
}

pub fn type_from_json(json: &serde_json::Value) -> Result<Type, JsonError> {
    crate::depth::guard(|| {
        use serde_json::Value as J;
        let bad = || JsonError(format!("invalid type specification: {json}"));
        match json {
            J::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(JsonError(format!("invalid primitive type name {other:?}"))),
            },
            J::Array(items) => {
                let kind = items.first().and_then(J::as_str).ok_or_else(bad)?;
                match (kind, items.len()) {
                    ("list", 2) => Ok(Type::list(type_from_json(&items[1])?)),
                    ("set", 2) => Ok(Type::set(type_from_json(&items[1])?)),
                    ("map", 2) => Ok(Type::map(type_from_json(&items[1])?)),
                    ("tuple", 2) => {
                        let J::Array(ts) = &items[1] else {
                            return Err(bad());
                        };
                        Ok(Type::Tuple(
                            ts.iter().map(type_from_json).collect::<Result<_, _>>()?,
                        ))
                    }
                    ("object", 2 | 3) => {
                        let J::Object(attrs) = &items[1] else {
                            return Err(bad());
                        };
                        let attrs = attrs
                            .iter()
                            .map(|(k, t)| Ok((k.clone(), type_from_json(t)?)))
                            .collect::<Result<BTreeMap<_, _>, JsonError>>()?;
                        let mut optional = BTreeSet::new();
                        if let Some(J::Array(opts)) = items.get(2) {
                            for o in opts {
                                let name = o.as_str().ok_or_else(bad)?;
                                if !attrs.contains_key(name) {
                                    return Err(JsonError(format!(
                                    "optional attribute {name:?} is not an attribute of the object type"
                                )));
                                }
                                optional.insert(name.to_string());
                            }
                        } else if items.len() == 3 {
                            return Err(bad());
                        }
                        Ok(Type::Object(ObjectType { attrs, optional }))
                    }
                    _ => Err(bad()),
                }
            }
            _ => Err(bad()),
        }
    })
}

/// The type JSON implies when no type is given (jsondecode): objects, tuples, numbers...
/// `null` implies `dynamic`.
pub fn implied_type(json: &serde_json::Value) -> Type {
    crate::depth::guard(|| {
        use serde_json::Value as J;
        match json {
            J::Null => Type::Dynamic,
            J::Bool(_) => Type::Bool,
            J::Number(_) => Type::Number,
            J::String(_) => Type::String,
            J::Array(items) => Type::Tuple(items.iter().map(implied_type).collect()),
            J::Object(m) => Type::object(m.iter().map(|(k, v)| (k.clone(), implied_type(v)))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_keep_precision() {
        let j: serde_json::Value = serde_json::from_str(
            r#"{"a": 0.1000000000000000000000000001, "b": 12345678901234567890123}"#,
        )
        .unwrap();
        let ty = implied_type(&j);
        let v = from_json(&j, &ty).unwrap();
        assert_eq!(
            serde_json::to_string(&to_json(&v).unwrap()).unwrap(),
            r#"{"a":0.1000000000000000000000000001,"b":12345678901234567890123}"#
        );
    }

    #[test]
    fn dynamic_wrapper_and_nulls() {
        let ty = Type::object([
            ("d".to_string(), Type::Dynamic),
            ("s".to_string(), Type::String),
        ]);
        let j = json!({"d": {"value": ["a", 1], "type": ["tuple", ["string", "number"]]}});
        let v = from_json(&j, &ty).unwrap();
        assert_eq!(
            v,
            Value::object([
                (
                    "d".to_string(),
                    Value::Tuple(vec![Value::string("a"), Value::from(1i64)])
                ),
                ("s".to_string(), Value::Null(Type::String)),
            ])
        );
        let back = to_json_typed(&v, &ty).unwrap();
        assert_eq!(
            back,
            json!({"d": {"value": ["a", 1], "type": ["tuple", ["string", "number"]]}, "s": null})
        );
        assert!(from_json(&json!({"x": 1}), &ty)
            .unwrap_err()
            .0
            .contains("unsupported attribute \"x\""));
    }

    #[test]
    fn primitive_leniency() {
        assert_eq!(
            from_json(&json!("12"), &Type::Number).unwrap(),
            Value::from(12i64)
        );
        assert_eq!(
            from_json(&json!(true), &Type::String).unwrap(),
            Value::string("true")
        );
        assert_eq!(
            from_json(&json!("1"), &Type::Bool).unwrap(),
            Value::bool(true)
        );
        assert!(from_json(&json!([]), &Type::String).is_err());
    }

    #[test]
    fn type_json_round_trip() {
        let mut o = ObjectType::default();
        o.attrs.insert("a".into(), Type::list(Type::Number));
        o.attrs
            .insert("b".into(), Type::Tuple(vec![Type::Bool, Type::Dynamic]));
        o.optional.insert("b".into());
        let ty = Type::Object(o);
        let j = type_to_json(&ty);
        assert_eq!(
            j,
            json!(["object", {"a": ["list", "number"], "b": ["tuple", ["bool", "dynamic"]]}, ["b"]])
        );
        assert_eq!(type_from_json(&j).unwrap(), ty);
        assert!(type_from_json(&json!("strin")).is_err());
    }
}
