//! The msgpack codec of Terraform's plugin wire format (`DynamicValue.msgpack`), as cty's
//! `msgpack` package writes and reads it.
//!
//! Wire rules (all of them matter to providers):
//! - an object is a map holding **every** attribute of its type, in sorted order; absent ones
//!   are nil;
//! - where the type says `dynamic` and the value has a concrete type, the value is wrapped as
//!   `[type JSON as bin, value]`;
//! - an unknown is extension 0 (`d4 00 00`); a refined unknown is extension 12 whose payload is
//!   a map of refinements (1: nullness, 2: string prefix, 3/4: number bounds as
//!   `[number, inclusive]`, 5/6: collection length bounds);
//! - a number is an int when it is an exact 64-bit integer, a float64 when exactly
//!   representable, and otherwise its decimal text.
//!
//! Marks are not representable on the wire and are stripped.

use crate::number::Number;
use crate::types::{ObjectType, Type};
use crate::value::{Refinements, Unknown, Value};
use rmpv::Value as Mp;
use std::collections::BTreeMap;

/// Extension type of an unknown without refinements.
const EXT_UNKNOWN: i8 = 0;
/// Extension type of an unknown whose payload is a refinement map.
const EXT_REFINED_UNKNOWN: i8 = 12;

const RFN_NULLNESS: i64 = 1;
const RFN_STRING_PREFIX: i64 = 2;
const RFN_NUMBER_MIN: i64 = 3;
const RFN_NUMBER_MAX: i64 = 4;
const RFN_LENGTH_MIN: i64 = 5;
const RFN_LENGTH_MAX: i64 = 6;

/// cty drops refinements whose encoding would exceed this, and refuses larger ones on decode.
const MAX_REFINEMENT_BYTES: usize = 1024;

/// An encoding or decoding failure, with the path (in Terraform's `.a[0]["k"]` notation) where
/// it happened.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
pub struct MsgpackError {
    pub path: String,
    pub message: String,
}

fn err(path: &Path, message: impl Into<String>) -> MsgpackError {
    MsgpackError {
        path: path.render(),
        message: message.into(),
    }
}

/// A cheap breadcrumb trail used only for error messages.
#[derive(Default)]
struct Path(Vec<String>);

impl Path {
    fn with<T>(&mut self, step: String, f: impl FnOnce(&mut Path) -> T) -> T {
        self.0.push(step);
        let r = f(self);
        self.0.pop();
        r
    }
    fn render(&self) -> String {
        self.0.concat()
    }
}

/// Encodes `v` as a value of type `ty` in Terraform's msgpack wire format.
///
/// Primitive values are converted as cty's conversion would (a number where a string is
/// expected is sent as its decimal text, and so on); structural mismatches are errors.
pub fn to_msgpack(v: &Value, ty: &Type) -> Result<Vec<u8>, MsgpackError> {
    let mp = encode(v, ty, &mut Path::default())?;
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    rmpv::encode::write_value(&mut out, &mp).map_err(|e| MsgpackError {
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(out)
}

/// Decodes Terraform's msgpack wire format as a value of type `ty`.
pub fn from_msgpack(bytes: &[u8], ty: &Type) -> Result<Value, MsgpackError> {
    let mut rd = bytes;
    let mp = rmpv::decode::read_value(&mut rd).map_err(|e| MsgpackError {
        path: String::new(),
        message: format!("invalid msgpack: {e}"),
    })?;
    decode(&mp, ty, &mut Path::default())
}

fn encode(v: &Value, ty: &Type, path: &mut Path) -> Result<Mp, MsgpackError> {
    crate::depth::guard(|| {
        let v = v.unmarked();
        if *ty == Type::Dynamic {
            // Only a value whose own type is dynamic (an untyped null or unknown) goes bare;
            // everything else carries its type so the receiver can decode it.
            let vty = v.ty();
            if vty != Type::Dynamic {
                let type_json = type_to_json_bytes(&vty);
                let inner = encode(v, &vty, path)?;
                return Ok(Mp::Array(vec![Mp::Binary(type_json), inner]));
            }
        }
        match v {
            Value::Unknown(u) => return Ok(encode_unknown(u, ty, path)),
            Value::Null(_) => return Ok(Mp::Nil),
            _ => {}
        }
        match ty {
            Type::Dynamic => Err(err(path, "a known value must have a concrete type")),
            Type::String => match v {
                Value::String(s) => Ok(Mp::from(s.as_str())),
                Value::Number(n) => Ok(Mp::from(n.to_string())),
                Value::Bool(b) => Ok(Mp::from(if *b { "true" } else { "false" })),
                other => Err(mismatch(path, ty, other)),
            },
            Type::Number => match v {
                Value::Number(n) => Ok(encode_number(n)),
                Value::String(s) => Number::parse(s.trim())
                    .map(|n| encode_number(&n))
                    .ok_or_else(|| err(path, format!("a number is required, not {s:?}"))),
                other => Err(mismatch(path, ty, other)),
            },
            Type::Bool => match v {
                Value::Bool(b) => Ok(Mp::Boolean(*b)),
                Value::String(s) if s == "true" => Ok(Mp::Boolean(true)),
                Value::String(s) if s == "false" => Ok(Mp::Boolean(false)),
                other => Err(mismatch(path, ty, other)),
            },
            Type::List(ety) | Type::Set(ety) => match v {
                Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                    let mut out = Vec::with_capacity(vs.len());
                    for (i, e) in vs.iter().enumerate() {
                        out.push(path.with(format!("[{i}]"), |p| encode(e, ety, p))?);
                    }
                    Ok(Mp::Array(out))
                }
                other => Err(mismatch(path, ty, other)),
            },
            Type::Map(ety) => match v {
                Value::Map(_, m) | Value::Object(m) => {
                    let mut out = Vec::with_capacity(m.len());
                    for (k, e) in m {
                        let ev = path.with(format!("[{k:?}]"), |p| encode(e, ety, p))?;
                        out.push((Mp::from(k.as_str()), ev));
                    }
                    Ok(Mp::Map(out))
                }
                other => Err(mismatch(path, ty, other)),
            },
            Type::Tuple(etys) => match v {
                Value::Tuple(vs) | Value::List(_, vs) => {
                    if vs.len() != etys.len() {
                        return Err(err(
                            path,
                            format!(
                                "a tuple of {} elements is required, got {}",
                                etys.len(),
                                vs.len()
                            ),
                        ));
                    }
                    let mut out = Vec::with_capacity(vs.len());
                    for (i, (e, ety)) in vs.iter().zip(etys).enumerate() {
                        out.push(path.with(format!("[{i}]"), |p| encode(e, ety, p))?);
                    }
                    Ok(Mp::Array(out))
                }
                other => Err(mismatch(path, ty, other)),
            },
            Type::Object(ObjectType { attrs, .. }) => match v {
                Value::Object(m) | Value::Map(_, m) => {
                    if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                        return Err(err(path, format!("unsupported attribute {extra:?}")));
                    }
                    // BTreeMap iteration is sorted by bytes, as cty sorts attribute names.
                    let mut out = Vec::with_capacity(attrs.len());
                    for (name, aty) in attrs {
                        let av = match m.get(name) {
                            Some(av) => path.with(format!(".{name}"), |p| encode(av, aty, p))?,
                            None => Mp::Nil,
                        };
                        out.push((Mp::from(name.as_str()), av));
                    }
                    Ok(Mp::Map(out))
                }
                other => Err(mismatch(path, ty, other)),
            },
        }
    })
}

fn mismatch(path: &Path, want: &Type, got: &Value) -> MsgpackError {
    err(
        path,
        format!(
            "{} required, got {}",
            want.friendly_name(),
            got.ty().friendly_name()
        ),
    )
}

fn encode_number(n: &Number) -> Mp {
    if let Some(i) = n.to_i64() {
        return Mp::from(i);
    }
    let f = n.to_f64();
    if Number::from_f64(f).as_ref() == Some(n) {
        return Mp::F64(f);
    }
    Mp::from(n.to_string())
}

fn encode_unknown(u: &Unknown, ty: &Type, _path: &Path) -> Mp {
    let plain = Mp::Ext(EXT_UNKNOWN, vec![0]);
    // The wire type decides which refinements are meaningful, as in cty.
    if *ty == Type::Dynamic {
        return plain;
    }
    let r = &u.refinements;
    let mut entries: Vec<(Mp, Mp)> = Vec::new();
    if r.not_null {
        // cty writes "is null: false" for a value known not to be null.
        entries.push((Mp::from(RFN_NULLNESS), Mp::Boolean(false)));
    }
    match ty {
        Type::String => {
            if let Some(p) = r.string_prefix.as_deref().filter(|p| !p.is_empty()) {
                entries.push((Mp::from(RFN_STRING_PREFIX), Mp::from(p)));
            }
        }
        Type::Number => {
            if let Some((n, inc)) = &r.number_lower {
                entries.push((
                    Mp::from(RFN_NUMBER_MIN),
                    Mp::Array(vec![encode_number(n), Mp::Boolean(*inc)]),
                ));
            }
            if let Some((n, inc)) = &r.number_upper {
                entries.push((
                    Mp::from(RFN_NUMBER_MAX),
                    Mp::Array(vec![encode_number(n), Mp::Boolean(*inc)]),
                ));
            }
        }
        Type::List(_) | Type::Set(_) | Type::Map(_) => {
            if let Some(l) = r.length_lower.filter(|l| *l != 0) {
                entries.push((Mp::from(RFN_LENGTH_MIN), Mp::from(l)));
            }
            if let Some(l) = r.length_upper {
                entries.push((Mp::from(RFN_LENGTH_MAX), Mp::from(l)));
            }
        }
        _ => {}
    }
    if entries.is_empty() {
        return plain;
    }
    let mut payload = Vec::new();
    if rmpv::encode::write_value(&mut payload, &Mp::Map(entries)).is_err()
        || payload.len() > MAX_REFINEMENT_BYTES
    {
        return plain;
    }
    Mp::Ext(EXT_REFINED_UNKNOWN, payload)
}

fn decode(mp: &Mp, ty: &Type, path: &mut Path) -> Result<Value, MsgpackError> {
    crate::depth::guard(|| {
        // Extensions are unknowns whatever the type, as in cty; that check comes before the
        // dynamic wrapper, so an unknown of dynamic type is bare.
        if let Mp::Ext(code, payload) = mp {
            return decode_unknown(*code, payload, ty, path);
        }
        if *ty == Type::Dynamic {
            return match mp {
                Mp::Nil => Ok(Value::Null(Type::Dynamic)),
                Mp::Array(items) if items.len() == 2 => {
                    let type_json = match &items[0] {
                        Mp::Binary(b) => b.as_slice(),
                        Mp::String(s) => s.as_bytes(),
                        _ => return Err(err(path, "dynamic value type must be bytes")),
                    };
                    let real = type_from_json_bytes(type_json)
                        .map_err(|e| err(path, format!("invalid dynamic type: {e}")))?;
                    decode(&items[1], &real, path)
                }
                _ => Err(err(
                    path,
                    "dynamic value array must have exactly two elements",
                )),
            };
        }
        if let Mp::Nil = mp {
            return Ok(Value::Null(ty.clone()));
        }
        match ty {
            Type::Dynamic => unreachable!("handled above"),
            Type::Bool => match mp {
                Mp::Boolean(b) => Ok(Value::Bool(*b)),
                _ => Err(err(path, "bool is required")),
            },
            Type::String => match mp {
                Mp::String(s) => s
                    .as_str()
                    .map(Value::string)
                    .ok_or_else(|| err(path, "string is not valid UTF-8")),
                _ => Err(err(path, "string is required")),
            },
            Type::Number => decode_number(mp)
                .map(Value::Number)
                .ok_or_else(|| err(path, "number is required")),
            Type::List(ety) | Type::Set(ety) => {
                let Mp::Array(items) = mp else {
                    return Err(err(path, format!("{} is required", ty.friendly_name())));
                };
                let mut vals = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    vals.push(path.with(format!("[{i}]"), |p| decode(item, ety, p))?);
                }
                let ety = collection_elem_type(ety, vals.iter(), path)?;
                if matches!(ty, Type::Set(_)) {
                    // Providers send set elements in their own order; cty's is the canonical one.
                    Ok(Value::set_of(ety, vals))
                } else {
                    Ok(Value::List(ety, vals))
                }
            }
            Type::Map(ety) => {
                let Mp::Map(entries) = mp else {
                    return Err(err(path, "a map is required"));
                };
                let mut vals = BTreeMap::new();
                for (k, item) in entries {
                    let key = map_key(k, path)?;
                    let v = path.with(format!("[{key:?}]"), |p| decode(item, ety, p))?;
                    vals.insert(key, v);
                }
                let ety = collection_elem_type(ety, vals.values(), path)?;
                Ok(Value::Map(ety, vals))
            }
            Type::Tuple(etys) => {
                let Mp::Array(items) = mp else {
                    return Err(err(path, "a tuple is required"));
                };
                if items.len() != etys.len() {
                    return Err(err(
                        path,
                        format!("a tuple of length {} is required", etys.len()),
                    ));
                }
                let mut vals = Vec::with_capacity(items.len());
                for (i, (item, ety)) in items.iter().zip(etys).enumerate() {
                    vals.push(path.with(format!("[{i}]"), |p| decode(item, ety, p))?);
                }
                Ok(Value::Tuple(vals))
            }
            Type::Object(ObjectType { attrs, .. }) => {
                let Mp::Map(entries) = mp else {
                    return Err(err(path, "an object is required"));
                };
                let mut vals = BTreeMap::new();
                for (k, item) in entries {
                    let key = map_key(k, path)?;
                    let Some(aty) = attrs.get(&key) else {
                        return Err(err(path, format!("unsupported attribute {key:?}")));
                    };
                    let v = path.with(format!(".{key}"), |p| decode(item, aty, p))?;
                    vals.insert(key, v);
                }
                // Encoders must send every attribute; tolerate ones that do not by reading the
                // missing attributes as null rather than failing the whole response.
                for (name, aty) in attrs {
                    vals.entry(name.clone())
                        .or_insert_with(|| Value::Null(aty.clone()));
                }
                Ok(Value::Object(vals))
            }
        }
    })
}

fn map_key(k: &Mp, path: &Path) -> Result<String, MsgpackError> {
    match k {
        Mp::String(s) => s
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| err(path, "map key is not valid UTF-8")),
        _ => Err(err(path, "all keys must be strings")),
    }
}

/// The element type of a decoded collection: the declared one, unless it contains `dynamic`,
/// in which case the elements' concrete types decide (they must agree, as cty requires).
fn collection_elem_type<'a>(
    declared: &Type,
    vals: impl Iterator<Item = &'a Value>,
    path: &Path,
) -> Result<Type, MsgpackError> {
    if !declared.has_dynamic() {
        return Ok(declared.clone());
    }
    let mut found: Option<Type> = None;
    for v in vals {
        let t = v.ty();
        if t == Type::Dynamic {
            continue;
        }
        match &found {
            None => found = Some(t),
            Some(f) if *f == t => {}
            Some(_) => return Err(err(path, "collection elements must all have the same type")),
        }
    }
    Ok(found.unwrap_or_else(|| declared.clone()))
}

fn decode_number(mp: &Mp) -> Option<Number> {
    match mp {
        Mp::Integer(i) => match i.as_i64() {
            Some(v) => Some(Number::from(v)),
            None => i.as_u64().map(Number::from),
        },
        Mp::F64(f) => Number::from_f64(*f),
        Mp::F32(f) => Number::from_f64(f64::from(*f)),
        Mp::String(s) => s.as_str().and_then(Number::parse),
        _ => None,
    }
}

fn decode_unknown(code: i8, payload: &[u8], ty: &Type, path: &Path) -> Result<Value, MsgpackError> {
    // Zero- or one-byte payloads are plain unknowns whatever the code.
    if payload.len() <= 1 {
        return Ok(Value::unknown(ty.clone()));
    }
    if code != EXT_REFINED_UNKNOWN {
        return Err(err(
            path,
            format!(
                "unsupported extension type 0x{code:02x} with len {}",
                payload.len()
            ),
        ));
    }
    if payload.len() > MAX_REFINEMENT_BYTES {
        return Err(err(path, "oversize unknown value refinement"));
    }
    let mut rd = payload;
    let Ok(Mp::Map(entries)) = rmpv::decode::read_value(&mut rd) else {
        return Err(err(path, "unknown value refinements are not a map"));
    };
    if *ty == Type::Dynamic {
        return Ok(Value::unknown(Type::Dynamic));
    }
    let bad = |what: &str| err(path, format!("invalid unknown value refinement: {what}"));
    let mut r = Refinements::default();
    for (k, v) in &entries {
        let Some(key) = k.as_i64() else {
            return Err(bad("non-integer key"));
        };
        match key {
            RFN_NULLNESS => match v {
                // "Definitely null" collapses to a known null, as cty's refinement builder does.
                Mp::Boolean(true) => return Ok(Value::Null(ty.clone())),
                Mp::Boolean(false) => r.not_null = true,
                _ => return Err(bad("nullness is not a bool")),
            },
            RFN_STRING_PREFIX => {
                if *ty != Type::String {
                    return Err(bad("string prefix for a non-string type"));
                }
                match v {
                    Mp::String(s) => match s.as_str() {
                        Some(s) if !s.is_empty() => r.string_prefix = Some(s.to_string()),
                        Some(_) => {}
                        None => return Err(bad("string prefix is not valid UTF-8")),
                    },
                    _ => return Err(bad("string prefix is not a string")),
                }
            }
            RFN_NUMBER_MIN | RFN_NUMBER_MAX => {
                if *ty != Type::Number {
                    return Err(bad("number bound for a non-number type"));
                }
                let (bound, inc) = match v {
                    Mp::Array(items) if items.len() == 2 => match &items[1] {
                        Mp::Boolean(inc) => (&items[0], *inc),
                        _ => return Err(bad("number bound must be [number, bool]")),
                    },
                    _ => return Err(bad("number bound must be [number, bool]")),
                };
                // Infinite bounds (which cty may write for "unbounded") mean no bound here.
                let infinite = matches!(bound, Mp::F64(f) if f.is_infinite())
                    || matches!(bound, Mp::F32(f) if f.is_infinite());
                if infinite {
                    continue;
                }
                let n = decode_number(bound).ok_or_else(|| bad("number bound is not a number"))?;
                if key == RFN_NUMBER_MIN {
                    r.number_lower = Some((n, inc));
                } else {
                    r.number_upper = Some((n, inc));
                }
            }
            RFN_LENGTH_MIN | RFN_LENGTH_MAX => {
                if !ty.is_collection() {
                    return Err(bad("length bound for a non-collection type"));
                }
                let n = v
                    .as_u64()
                    .ok_or_else(|| bad("length bound is not a non-negative integer"))?;
                if key == RFN_LENGTH_MIN {
                    r.length_lower = (n != 0).then_some(n);
                } else {
                    r.length_upper = Some(n);
                }
            }
            // Unknown keys are reserved for future refinements and ignored, as cty does.
            _ => {}
        }
    }
    Ok(Unknown {
        ty: ty.clone(),
        refinements: r,
    }
    .into_value())
}

/// cty's JSON type encoding, compact, with object attributes in sorted order.
fn type_to_json_bytes(ty: &Type) -> Vec<u8> {
    let mut out = Vec::new();
    write_type_json(ty, &mut out);
    out
}

fn write_type_json(ty: &Type, out: &mut Vec<u8>) {
    crate::depth::guard(|| {
        match ty {
            Type::Dynamic => out.extend_from_slice(b"\"dynamic\""),
            Type::String => out.extend_from_slice(b"\"string\""),
            Type::Number => out.extend_from_slice(b"\"number\""),
            Type::Bool => out.extend_from_slice(b"\"bool\""),
            Type::List(t) | Type::Set(t) | Type::Map(t) => {
                let kind: &[u8] = match ty {
                    Type::List(_) => b"[\"list\",",
                    Type::Set(_) => b"[\"set\",",
                    _ => b"[\"map\",",
                };
                out.extend_from_slice(kind);
                write_type_json(t, out);
                out.push(b']');
            }
            Type::Object(o) => {
                out.extend_from_slice(b"[\"object\",{");
                for (i, (k, t)) in o.attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    // serde_json escapes exactly as a JSON string needs; it cannot fail for &str.
                    out.extend_from_slice(
                        serde_json::to_string(k)
                            .unwrap_or_else(|_| "\"\"".into())
                            .as_bytes(),
                    );
                    out.push(b':');
                    write_type_json(t, out);
                }
                out.push(b'}');
                if !o.optional.is_empty() {
                    out.push(b',');
                    let names: Vec<&String> = o.optional.iter().collect();
                    out.extend_from_slice(
                        serde_json::to_string(&names)
                            .unwrap_or_else(|_| "[]".into())
                            .as_bytes(),
                    );
                }
                out.push(b']');
            }
            Type::Tuple(ts) => {
                out.extend_from_slice(b"[\"tuple\",[");
                for (i, t) in ts.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_type_json(t, out);
                }
                out.extend_from_slice(b"]]");
            }
        }
    })
}

fn type_from_json_bytes(bytes: &[u8]) -> Result<Type, String> {
    let j: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    type_from_json(&j)
}

fn type_from_json(j: &serde_json::Value) -> Result<Type, String> {
    crate::depth::guard(|| {
        use serde_json::Value as J;
        match j {
            J::String(s) => match s.as_str() {
                "string" => Ok(Type::String),
                "number" => Ok(Type::Number),
                "bool" => Ok(Type::Bool),
                "dynamic" => Ok(Type::Dynamic),
                other => Err(format!("unknown primitive type {other:?}")),
            },
            J::Array(items) => {
                let kind = items.first().and_then(J::as_str).unwrap_or("");
                match (kind, items.len()) {
                    ("list", 2) => Ok(Type::list(type_from_json(&items[1])?)),
                    ("set", 2) => Ok(Type::set(type_from_json(&items[1])?)),
                    ("map", 2) => Ok(Type::map(type_from_json(&items[1])?)),
                    ("tuple", 2) => {
                        let J::Array(ts) = &items[1] else {
                            return Err("tuple element types must be an array".into());
                        };
                        Ok(Type::Tuple(
                            ts.iter().map(type_from_json).collect::<Result<_, _>>()?,
                        ))
                    }
                    ("object", 2 | 3) => {
                        let J::Object(attrs) = &items[1] else {
                            return Err("object attribute types must be an object".into());
                        };
                        let mut ot = ObjectType::default();
                        for (k, t) in attrs {
                            ot.attrs.insert(k.clone(), type_from_json(t)?);
                        }
                        if let Some(J::Array(opt)) = items.get(2) {
                            for o in opt {
                                let name = o
                                    .as_str()
                                    .ok_or("optional attribute names must be strings")?;
                                ot.optional.insert(name.to_string());
                            }
                        }
                        Ok(Type::Object(ot))
                    }
                    _ => Err(format!("invalid type specification {j}")),
                }
            }
            _ => Err(format!("invalid type specification {j}")),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Marks;
    use proptest::prelude::*;

    fn obj(attrs: &[(&str, Type)]) -> Type {
        Type::object(attrs.iter().map(|(k, t)| (k.to_string(), t.clone())))
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn enc(v: &Value, ty: &Type) -> String {
        hex(&to_msgpack(v, ty).unwrap())
    }

    #[test]
    fn unknown_is_ext0() {
        assert_eq!(enc(&Value::unknown(Type::String), &Type::String), "d40000");
        assert_eq!(enc(&Value::dynamic_unknown(), &Type::Dynamic), "d40000");
    }

    #[test]
    fn object_sends_every_attribute_sorted() {
        let ty = obj(&[("b", Type::String), ("a", Type::Number)]);
        let v = Value::object([("b".to_string(), Value::string("x"))]);
        // {"a": nil, "b": "x"}
        assert_eq!(enc(&v, &ty), "82a161c0a162a178");
    }

    #[test]
    fn numbers_int_float_string() {
        assert_eq!(enc(&Value::from(1i64), &Type::Number), "01");
        assert_eq!(enc(&Value::from(-1i64), &Type::Number), "ff");
        assert_eq!(enc(&Value::from(300i64), &Type::Number), "cd012c");
        let half = Value::Number(Number::from_f64(0.5).unwrap());
        assert_eq!(enc(&half, &Type::Number), "cb3fe0000000000000");
        // Decoding accepts all three forms.
        let s = Mp::from("12.5");
        let mut b = Vec::new();
        rmpv::encode::write_value(&mut b, &s).unwrap();
        assert_eq!(
            from_msgpack(&b, &Type::Number).unwrap(),
            Value::Number(Number::parse("12.5").unwrap())
        );
    }

    #[test]
    fn dynamic_wraps_with_type_json() {
        let v = Value::List(Type::Number, vec![Value::from(1i64)]);
        let bytes = to_msgpack(&v, &Type::Dynamic).unwrap();
        // [bin(["list","number"]), [1]]
        let mut expect = vec![0x92, 0xc4, 17];
        expect.extend_from_slice(br#"["list","number"]"#);
        expect.extend_from_slice(&[0x91, 0x01]);
        assert_eq!(bytes, expect);
        assert_eq!(from_msgpack(&bytes, &Type::Dynamic).unwrap(), v);
        // A null of a concrete type is wrapped too; an untyped null is bare nil.
        assert_eq!(
            hex(&to_msgpack(&Value::Null(Type::Dynamic), &Type::Dynamic).unwrap()),
            "c0"
        );
    }

    #[test]
    fn refined_unknown_round_trip_and_bytes() {
        let mut u = Unknown {
            ty: Type::String,
            refinements: Refinements::default(),
        };
        u.refinements.not_null = true;
        u.refinements.string_prefix = Some("ab".into());
        let v = Value::Unknown(Box::new(u));
        let bytes = to_msgpack(&v, &Type::String).unwrap();
        // ext8 len 7 type 12: {1: false, 2: "ab"}
        assert_eq!(hex(&bytes), "c7070c8201c202a26162");
        assert_eq!(from_msgpack(&bytes, &Type::String).unwrap(), v);
        // cty's "definitely null" refinement collapses to null.
        let null_rfn = [0xc7, 0x03, 0x0c, 0x81, 0x01, 0xc3];
        assert_eq!(
            from_msgpack(&null_rfn, &Type::String).unwrap(),
            Value::Null(Type::String)
        );
    }

    #[test]
    fn marks_are_stripped() {
        let v = Value::string("s").mark(Marks::SENSITIVE);
        assert_eq!(enc(&v, &Type::String), "a173");
    }

    #[test]
    fn errors_name_the_path() {
        let ty = obj(&[("a", Type::list(Type::Bool))]);
        let v = Value::object([(
            "a".to_string(),
            Value::List(Type::Bool, vec![Value::string("nope")]),
        )]);
        let e = to_msgpack(&v, &ty).unwrap_err();
        assert_eq!(e.path, ".a[0]");
        let e = from_msgpack(&[0x81, 0xa1, 0x7a, 0x01], &ty).unwrap_err();
        assert!(e.message.contains("unsupported attribute"), "{e}");
    }

    #[test]
    fn set_decoding_is_canonical() {
        // ["b", "a", "b"] as a set of string
        let bytes = [0x93, 0xa1, 0x62, 0xa1, 0x61, 0xa1, 0x62];
        assert_eq!(
            from_msgpack(&bytes, &Type::set(Type::String)).unwrap(),
            Value::Set(Type::String, vec![Value::string("a"), Value::string("b")])
        );
    }

    fn arb_type() -> impl Strategy<Value = Type> {
        let leaf = prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                inner.clone().prop_map(Type::list),
                inner.clone().prop_map(Type::set),
                inner.clone().prop_map(Type::map),
                prop::collection::btree_map("[a-c]{1,2}", inner.clone(), 0..3)
                    .prop_map(Type::object),
                prop::collection::vec(inner, 0..3).prop_map(Type::Tuple),
            ]
        })
    }

    fn arb_value(ty: Type) -> BoxedStrategy<Value> {
        let special = prop_oneof![
            Just(Value::Null(ty.clone())),
            Just(Value::unknown(ty.clone())),
        ];
        let known: BoxedStrategy<Value> = match &ty {
            Type::String => ".{0,6}".prop_map(Value::String).boxed(),
            Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            Type::Number => prop_oneof![
                any::<i64>().prop_map(Value::from),
                (-1e6f64..1e6).prop_map(|f| Value::Number(Number::from_f64(f).unwrap())),
            ]
            .boxed(),
            Type::List(e) => {
                let e2 = (**e).clone();
                prop::collection::vec(arb_value((**e).clone()), 0..3)
                    .prop_map(move |vs| Value::List(e2.clone(), vs))
                    .boxed()
            }
            Type::Set(e) => {
                let e2 = (**e).clone();
                prop::collection::vec(arb_value((**e).clone()), 0..3)
                    .prop_map(move |vs| Value::set_of(e2.clone(), vs))
                    .boxed()
            }
            Type::Map(e) => {
                let e2 = (**e).clone();
                prop::collection::btree_map("[a-z]{0,3}", arb_value((**e).clone()), 0..3)
                    .prop_map(move |m| Value::Map(e2.clone(), m))
                    .boxed()
            }
            Type::Object(o) => {
                let parts: Vec<_> = o
                    .attrs
                    .iter()
                    .map(|(k, t)| (Just(k.clone()), arb_value(t.clone())))
                    .collect();
                parts
                    .prop_map(|kvs| Value::Object(kvs.into_iter().collect()))
                    .boxed()
            }
            Type::Tuple(ts) => {
                let parts: Vec<_> = ts.iter().map(|t| arb_value(t.clone())).collect();
                parts.prop_map(Value::Tuple).boxed()
            }
            Type::Dynamic => Just(Value::dynamic_unknown()).boxed(),
        };
        prop_oneof![1 => special, 4 => known].boxed()
    }

    proptest! {
        #[test]
        fn round_trip((ty, v) in arb_type().prop_flat_map(|t| (Just(t.clone()), arb_value(t)))) {
            let bytes = to_msgpack(&v, &ty).unwrap();
            let back = from_msgpack(&bytes, &ty).unwrap();
            prop_assert_eq!(&back, &v);
            // Through a dynamic wire type the value comes back with its own type.
            let bytes = to_msgpack(&v, &Type::Dynamic).unwrap();
            let back = from_msgpack(&bytes, &Type::Dynamic).unwrap();
            prop_assert_eq!(back.ty(), v.ty());
        }

        #[test]
        fn type_json_round_trip(ty in arb_type()) {
            let j = type_to_json_bytes(&ty);
            prop_assert_eq!(type_from_json_bytes(&j).unwrap(), ty);
        }

        #[test]
        fn decoding_garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), ty in arb_type()) {
            let _ = from_msgpack(&bytes, &ty);
        }
    }
}
