//! Type conversion and unification with Terraform's (cty's) rules and error messages.
//!
//! The structure follows cty's `convert` package: a type-level decision of whether a
//! conversion exists (`conversion_exists`), run-time conversion of values that may still fail
//! (e.g. `"x"` to number), and `unify`, which picks the type a set of types all convert to.
//! "Unsafe" conversions are the ones that can fail at run time (string to number or bool,
//! list to set, map to object); `convert` allows them, as `convert.Convert` does.

use crate::value::{Refinements, Unknown};
use crate::{Number, ObjectType, PathStep, Type, Value};
use std::collections::BTreeMap;

/// Why a conversion failed. `path` locates the failing element; `message` is cty's text, e.g.
/// "a number is required" or "attribute \"a\" is required".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConvertError {
    pub path: Vec<PathStep>,
    pub message: String,
}

impl ConvertError {
    fn at(path: &[PathStep], message: impl Into<String>) -> ConvertError {
        ConvertError {
            path: path.to_vec(),
            message: message.into(),
        }
    }
}

/// Converts `v` to type `ty` (which may contain `Dynamic` and optional attributes), as cty's
/// `convert.Convert` does (safe and unsafe conversions both allowed). Marks are preserved.
pub fn convert(v: &Value, ty: &Type) -> Result<Value, ConvertError> {
    convert_with(v, ty, true)
}

/// As [`convert`], but only with safe conversions (cty `GetConversion`): fails with the
/// mismatch message where only an unsafe conversion would do.
pub fn convert_safe(v: &Value, ty: &Type) -> Result<Value, ConvertError> {
    convert_with(v, ty, false)
}

fn convert_with(v: &Value, ty: &Type, unsafe_: bool) -> Result<Value, ConvertError> {
    let in_ty = v.ty();
    if in_ty == ty.without_optional_deep() {
        return Ok(v.clone());
    }
    if !conversion_exists(&in_ty, ty, unsafe_) {
        return Err(ConvertError::at(&[], mismatch_message(&in_ty, ty)));
    }
    let mut path = Vec::new();
    run(v, ty, unsafe_, &mut path)
}

/// Whether a conversion from `from` to `to` exists at the type level (cty `GetConversion` /
/// `GetConversionUnsafe` returning non-nil). Run-time failures are still possible.
pub fn conversion_exists(from: &Type, to: &Type, unsafe_: bool) -> bool {
    crate::depth::guard(|| {
        if from == to {
            return true;
        }
        match (from, to) {
            (_, Type::Dynamic) => true,
            (Type::Dynamic, _) => unsafe_,
            (a, b) if a.is_primitive() && b.is_primitive() => {
                matches!((a, b), (Type::Number | Type::Bool, Type::String))
                    || unsafe_ && matches!(b, Type::Number | Type::Bool) && *a == Type::String
            }
            (Type::Object(i), Type::Object(o)) => {
                o.attrs.iter().all(|(name, oty)| match i.attrs.get(name) {
                    None => o.optional.contains(name),
                    Some(ity) => conversion_exists(ity, oty, unsafe_),
                })
            }
            (Type::Tuple(i), Type::Tuple(o)) => {
                i.len() == o.len()
                    && i.iter()
                        .zip(o)
                        .all(|(a, b)| conversion_exists(a, b, unsafe_))
            }
            (Type::List(ie) | Type::Set(ie), Type::List(oe)) => conversion_exists(ie, oe, unsafe_),
            (Type::List(_), Type::Set(_)) if !unsafe_ => false,
            (Type::List(ie) | Type::Set(ie), Type::Set(oe)) => conversion_exists(ie, oe, unsafe_),
            (Type::Map(ie), Type::Map(oe)) => conversion_exists(ie, oe, unsafe_),
            (Type::Tuple(ts), Type::List(oe) | Type::Set(oe)) => {
                tuple_collection_ety(ts, oe, unsafe_).is_some()
            }
            (Type::Object(o), Type::Map(oe)) => object_map_ety(o, oe, unsafe_).is_some(),
            (Type::Map(me), Type::Object(o)) => {
                unsafe_
                    && o.attrs.iter().all(|(name, aty)| {
                        conversion_exists(me, aty, unsafe_) || o.optional.contains(name)
                    })
            }
            _ => false,
        }
    })
}

/// The element type a tuple converts to for a list/set of `ety`, or `None` if it cannot.
fn tuple_collection_ety(etys: &[Type], ety: &Type, unsafe_: bool) -> Option<Type> {
    if etys.is_empty() {
        return Some(ety.clone());
    }
    let mut ety = ety.clone();
    if ety == Type::Dynamic {
        ety = unify_with(etys, unsafe_)?;
        if ety == Type::Dynamic && etys.iter().any(|t| *t != Type::Dynamic) {
            return None;
        }
    }
    etys.iter()
        .all(|t| conversion_exists(t, &ety, unsafe_))
        .then_some(ety)
}

/// The element type an object converts to for a map of `ety`, or `None` if it cannot.
fn object_map_ety(o: &ObjectType, ety: &Type, unsafe_: bool) -> Option<Type> {
    if o.attrs.is_empty() {
        return Some(ety.clone());
    }
    let mut ety = ety.clone();
    if ety == Type::Dynamic {
        let atys: Vec<Type> = o.attrs.values().cloned().collect();
        ety = unify_with(&atys, unsafe_)?;
    }
    o.attrs
        .values()
        .all(|t| conversion_exists(t, &ety, unsafe_))
        .then_some(ety)
}

/// The conversion wrapper every conversion goes through: marks are set aside and restored,
/// `dynamic` targets pass the value through, and nulls and unknowns only change type.
fn run(
    v: &Value,
    out: &Type,
    unsafe_: bool,
    path: &mut Vec<PathStep>,
) -> Result<Value, ConvertError> {
    crate::depth::guard(|| {
        if let Value::Marked(inner, marks) = v {
            return Ok(run(inner, out, unsafe_, path)?.mark(*marks));
        }
        if *out == Type::Dynamic {
            return Ok(v.clone());
        }
        match v {
            Value::Unknown(u) => {
                let target = dynamic_replace(&u.ty, &out.without_optional_deep());
                return Ok(prepare_unknown_result(u, target));
            }
            Value::Null(t) => {
                return Ok(Value::Null(dynamic_replace(
                    t,
                    &out.without_optional_deep(),
                )));
            }
            _ => {}
        }
        let in_ty = v.ty();
        if in_ty == *out {
            return Ok(v.clone());
        }
        convert_known(v, &in_ty, out, unsafe_, path)
    })
}

/// Runs the conversion of an element whose type may already match.
fn run_elem(
    v: &Value,
    out: &Type,
    unsafe_: bool,
    path: &mut Vec<PathStep>,
    step: PathStep,
) -> Result<Value, ConvertError> {
    path.push(step);
    let r = run(v, out, unsafe_, path);
    path.pop();
    r
}

fn null_without_optional(v: Value) -> Value {
    if let Value::Null(t) = v.unmarked() {
        let t = t.without_optional_deep();
        let (_, marks) = v.unmark();
        return Value::Null(t).mark(marks);
    }
    v
}

fn idx(i: usize) -> PathStep {
    PathStep::Index(Value::Number(Number::from(i as u64)))
}

fn convert_known(
    v: &Value,
    in_ty: &Type,
    out: &Type,
    unsafe_: bool,
    path: &mut Vec<PathStep>,
) -> Result<Value, ConvertError> {
    match (v, out) {
        (_, Type::Dynamic) => Ok(v.clone()),
        (Value::Number(n), Type::String) => Ok(Value::String(n.to_string())),
        (Value::Bool(b), Type::String) => Ok(Value::String(b.to_string())),
        (Value::String(s), Type::Number) => Number::parse(s)
            .map(Value::Number)
            .ok_or_else(|| ConvertError::at(path, "a number is required")),
        (Value::String(s), Type::Bool) => match s.as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(ConvertError::at(
                path,
                match s.to_lowercase().as_str() {
                    "true" => "a bool is required; to convert from string, use lowercase \"true\"",
                    "false" => {
                        "a bool is required; to convert from string, use lowercase \"false\""
                    }
                    _ => "a bool is required",
                },
            )),
        },
        (Value::Object(attrs), Type::Object(o)) => {
            let mut out_attrs = BTreeMap::new();
            for (name, av) in attrs {
                let Some(aty) = o.attrs.get(name) else {
                    continue;
                };
                let cv = run_elem(av, aty, unsafe_, path, PathStep::Attr(name.clone()))?;
                out_attrs.insert(name.clone(), null_without_optional(cv));
            }
            for name in &o.optional {
                if !out_attrs.contains_key(name) {
                    if let Some(aty) = o.attrs.get(name) {
                        out_attrs.insert(name.clone(), Value::Null(aty.without_optional_deep()));
                    }
                }
            }
            Ok(Value::Object(out_attrs))
        }
        (Value::Tuple(elems), Type::Tuple(etys)) => {
            let mut out_elems = Vec::with_capacity(elems.len());
            for (i, (e, ety)) in elems.iter().zip(etys).enumerate() {
                out_elems.push(run_elem(e, ety, unsafe_, path, idx(i))?);
            }
            Ok(Value::Tuple(out_elems))
        }
        (
            Value::List(in_ety, elems) | Value::Set(in_ety, elems),
            Type::List(ety) | Type::Set(ety),
        ) => {
            let to_list = matches!(out, Type::List(_));
            if to_list && matches!(v, Value::Set(..)) && elems.len() > 1 && !v.is_wholly_known() {
                // cty: the length of a set with unknown elements is unknown, and so is the list.
                return Ok(Value::unknown(Type::list(in_ety.clone())));
            }
            let mut out_elems = Vec::with_capacity(elems.len());
            for (i, e) in elems.iter().enumerate() {
                let cv = run_elem(e, ety, unsafe_, path, idx(i))?;
                out_elems.push(null_without_optional(cv));
            }
            let empty_ety = if **ety == Type::Dynamic {
                in_ety.clone()
            } else {
                ety.without_optional_deep()
            };
            build_collection(out_elems, to_list, empty_ety, path)
        }
        (Value::Map(in_ety, entries), Type::Map(ety)) => {
            let mut out_entries = BTreeMap::new();
            for (k, e) in entries {
                let cv = run_elem(
                    e,
                    ety,
                    unsafe_,
                    path,
                    PathStep::Index(Value::String(k.clone())),
                )?;
                out_entries.insert(k.clone(), cv);
            }
            if out_entries.is_empty() {
                let t = if **ety == Type::Dynamic {
                    in_ety.clone()
                } else {
                    ety.without_optional_deep()
                };
                return Ok(Value::Map(t, BTreeMap::new()));
            }
            if ety.is_collection() || matches!(**ety, Type::Object(_)) {
                out_entries = unify_map_elements(out_entries, false, path)?;
            }
            build_map(
                out_entries,
                path,
                "element types must all match for conversion to map",
            )
        }
        (Value::Tuple(elems), Type::List(ety) | Type::Set(ety)) => {
            let to_list = matches!(out, Type::List(_));
            let Type::Tuple(etys) = in_ty else {
                return Err(ConvertError::at(path, mismatch_message(in_ty, out)));
            };
            if elems.is_empty() {
                let t = ety.without_optional_deep();
                return Ok(if to_list {
                    Value::List(t, Vec::new())
                } else {
                    Value::Set(t, Vec::new())
                });
            }
            let ety = tuple_collection_ety(etys, ety, unsafe_)
                .ok_or_else(|| ConvertError::at(path, mismatch_message(in_ty, out)))?;
            let mut out_elems = Vec::with_capacity(elems.len());
            for (i, e) in elems.iter().enumerate() {
                let cv = run_elem(e, &ety, unsafe_, path, idx(i))?;
                out_elems.push(if to_list {
                    cv
                } else {
                    null_without_optional(cv)
                });
            }
            if to_list {
                out_elems = unify_list_elements(out_elems, unsafe_, path)?;
            }
            build_collection(out_elems, to_list, ety.without_optional_deep(), path)
        }
        (Value::Object(attrs), Type::Map(ety)) => {
            let Type::Object(o) = in_ty else {
                return Err(ConvertError::at(path, mismatch_message(in_ty, out)));
            };
            if attrs.is_empty() {
                return Ok(Value::Map(ety.without_optional_deep(), BTreeMap::new()));
            }
            let ety = object_map_ety(o, ety, unsafe_)
                .ok_or_else(|| ConvertError::at(path, mismatch_message(in_ty, out)))?;
            let mut out_entries = BTreeMap::new();
            for (k, e) in attrs {
                let cv = run_elem(
                    e,
                    &ety,
                    unsafe_,
                    path,
                    PathStep::Index(Value::String(k.clone())),
                )?;
                out_entries.insert(k.clone(), cv);
            }
            if ety.is_collection() || matches!(ety, Type::Object(_)) {
                out_entries = unify_map_elements(out_entries, unsafe_, path)?;
            }
            build_map(
                out_entries,
                path,
                "attribute types must all match for conversion to map",
            )
        }
        (Value::Map(me, entries), Type::Object(o)) => {
            let mut out_attrs = BTreeMap::new();
            for (k, e) in entries {
                let Some(aty) = o.attrs.get(k) else {
                    continue;
                };
                let cv = if conversion_exists(me, aty, unsafe_) {
                    run_elem(
                        e,
                        aty,
                        unsafe_,
                        path,
                        PathStep::Index(Value::String(k.clone())),
                    )?
                } else {
                    return Err(ConvertError::at(
                        path,
                        format!(
                            "map element type is incompatible with attribute {k:?}: {}",
                            mismatch_message(me, aty)
                        ),
                    ));
                };
                out_attrs.insert(k.clone(), null_without_optional(cv));
            }
            for (name, aty) in &o.attrs {
                if !out_attrs.contains_key(name) {
                    if o.optional.contains(name) {
                        out_attrs.insert(name.clone(), Value::Null(aty.clone()));
                    } else {
                        return Err(ConvertError::at(
                            path,
                            format!("map has no element for required attribute {name:?}"),
                        ));
                    }
                }
            }
            Ok(Value::Object(out_attrs))
        }
        _ => Err(ConvertError::at(path, mismatch_message(in_ty, out))),
    }
}

/// The element type cty's `ListVal`/`SetVal` would pick: the first element type that is not
/// `dynamic`. `None` when element types disagree.
fn common_element_type(elems: &[Value]) -> Option<Type> {
    let mut ety = Type::Dynamic;
    for e in elems {
        let t = e.ty();
        if ety == Type::Dynamic {
            ety = t;
        } else if t != Type::Dynamic && t != ety {
            return None;
        }
    }
    Some(ety)
}

fn build_collection(
    elems: Vec<Value>,
    to_list: bool,
    empty_ety: Type,
    path: &[PathStep],
) -> Result<Value, ConvertError> {
    if elems.is_empty() {
        return Ok(if to_list {
            Value::List(empty_ety, elems)
        } else {
            Value::Set(empty_ety, elems)
        });
    }
    let kind = if to_list { "list" } else { "set" };
    let ety = common_element_type(&elems).ok_or_else(|| {
        ConvertError::at(
            path,
            format!("element types must all match for conversion to {kind}"),
        )
    })?;
    Ok(if to_list {
        Value::list_of(ety, elems)
    } else {
        Value::set_of(ety, elems)
    })
}

fn build_map(
    entries: BTreeMap<String, Value>,
    path: &[PathStep],
    msg: &str,
) -> Result<Value, ConvertError> {
    let vals: Vec<Value> = entries.values().cloned().collect();
    let ety = common_element_type(&vals).ok_or_else(|| ConvertError::at(path, msg))?;
    Ok(Value::map_of(ety, entries))
}

fn unify_list_elements(
    elems: Vec<Value>,
    unsafe_: bool,
    path: &mut Vec<PathStep>,
) -> Result<Vec<Value>, ConvertError> {
    let types: Vec<Type> = elems.iter().map(Value::ty).collect();
    let ty = unify_with(&types, unsafe_)
        .ok_or_else(|| ConvertError::at(path, "cannot find a common base type for all elements"))?;
    elems
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if e.ty() == ty {
                Ok(e.clone())
            } else {
                run_elem(e, &ty, unsafe_, path, idx(i))
            }
        })
        .collect()
}

fn unify_map_elements(
    entries: BTreeMap<String, Value>,
    unsafe_: bool,
    path: &mut Vec<PathStep>,
) -> Result<BTreeMap<String, Value>, ConvertError> {
    let types: Vec<Type> = entries.values().map(Value::ty).collect();
    let ty = unify_with(&types, unsafe_)
        .ok_or_else(|| ConvertError::at(path, "cannot find a common base type for all elements"))?;
    let mut out = BTreeMap::new();
    for (k, e) in entries {
        let cv = if e.ty() == ty {
            e
        } else {
            run_elem(
                &e,
                &ty,
                unsafe_,
                path,
                PathStep::Index(Value::String(k.clone())),
            )?
        };
        out.insert(k, cv);
    }
    Ok(out)
}

/// cty's `dynamicReplace`: the type a null or unknown of type `from` gets when converted to
/// `to`, keeping what `from` knows where `to` has `dynamic`.
fn dynamic_replace(from: &Type, to: &Type) -> Type {
    crate::depth::guard(|| {
        if *from == Type::Dynamic {
            return to.clone();
        }
        match to {
            Type::Dynamic => from.clone(),
            Type::String | Type::Number | Type::Bool => to.clone(),
            Type::Map(oe) => match from {
                Type::Map(ie) => Type::map(dynamic_replace(ie, oe)),
                Type::Object(o) => {
                    let atys: Vec<Type> = o.attrs.values().cloned().collect();
                    let u = unify_with(&atys, true).unwrap_or(Type::Dynamic);
                    Type::map(dynamic_replace(&u, oe))
                }
                _ => to.clone(),
            },
            Type::Object(oo) => {
                let mut attrs = BTreeMap::new();
                match from {
                    Type::Map(ie) => {
                        for (k, t) in &oo.attrs {
                            attrs.insert(k.clone(), dynamic_replace(ie, t));
                        }
                    }
                    Type::Object(io) => {
                        for (k, t) in &oo.attrs {
                            let r = match io.attrs.get(k) {
                                Some(it) => dynamic_replace(it, t),
                                None => t.clone(),
                            };
                            attrs.insert(k.clone(), r);
                        }
                    }
                    _ => {}
                }
                Type::object(attrs)
            }
            Type::Set(oe) | Type::List(oe) => {
                let inner = match from {
                    Type::Set(ie) | Type::List(ie) => dynamic_replace(ie, oe),
                    Type::Tuple(ts) => {
                        let u = unify_with(ts, true).unwrap_or(Type::Dynamic);
                        dynamic_replace(&u, oe)
                    }
                    _ => return to.clone(),
                };
                if matches!(to, Type::Set(_)) {
                    Type::set(inner)
                } else {
                    Type::list(inner)
                }
            }
            Type::Tuple(ots) => {
                let its: &[Type] = match from {
                    Type::Tuple(ts) => ts,
                    _ => &[],
                };
                Type::Tuple(
                    ots.iter()
                        .enumerate()
                        .map(|(i, t)| dynamic_replace(its.get(i).unwrap_or(&Type::Dynamic), t))
                        .collect(),
                )
            }
        }
    })
}

/// cty's `prepareUnknownResult`: the converted unknown keeps the not-null refinement and gets
/// the collection length bounds the source implies.
fn prepare_unknown_result(src: &Unknown, target: Type) -> Value {
    let mut r = Refinements {
        not_null: src.refinements.not_null,
        ..Refinements::default()
    };
    match (&src.ty, &target) {
        (Type::Object(o), Type::Map(_)) => {
            r.length_lower = Some(o.attrs.len() as u64);
            r.length_upper = Some(o.attrs.len() as u64);
        }
        (Type::Tuple(ts), Type::List(_)) => {
            r.length_lower = Some(ts.len() as u64);
            r.length_upper = Some(ts.len() as u64);
        }
        (Type::Tuple(ts), Type::Set(_)) => {
            let l = ts.len() as u64;
            if l <= 1 {
                r.length_lower = Some(l);
                r.length_upper = Some(l);
            } else {
                r.length_lower = Some(1);
                r.length_upper = Some(l);
            }
        }
        (s, t) if s.is_collection() && t.is_collection() => {
            let lower = src.refinements.length_lower.unwrap_or(0);
            if matches!(t, Type::Set(_)) {
                if lower > 0 {
                    r.length_lower = Some(1);
                }
            } else if lower > 0 {
                r.length_lower = Some(lower);
            }
            r.length_upper = src.refinements.length_upper;
        }
        _ => {}
    }
    // Only collections carry length refinements.
    if !target.is_collection() {
        r.length_lower = None;
        r.length_upper = None;
    }
    Unknown {
        ty: target,
        refinements: r,
    }
    .into_value()
}

/// The most specific type that all of `types` convert to (cty's `convert.UnifyUnsafe`), or
/// `None` when there is none.
pub fn unify(types: &[Type]) -> Option<Type> {
    unify_with(types, true)
}

/// As [`unify`] with only safe conversions (cty `convert.Unify`).
pub fn unify_safe(types: &[Type]) -> Option<Type> {
    unify_with(types, false)
}

fn unify_with(types: &[Type], unsafe_: bool) -> Option<Type> {
    if types.is_empty() {
        return None;
    }
    let count = |f: fn(&Type) -> bool| types.iter().filter(|t| f(t)).count();
    let maps = count(|t| matches!(t, Type::Map(_)));
    let lists = count(|t| matches!(t, Type::List(_)));
    let sets = count(|t| matches!(t, Type::Set(_)));
    let objects = count(|t| matches!(t, Type::Object(_)));
    let tuples = count(|t| matches!(t, Type::Tuple(_)));
    let dynamics = count(|t| *t == Type::Dynamic);
    let n = types.len();
    if maps > 0 && maps + dynamics == n {
        return unify_collections(types, unsafe_, dynamics > 0, Type::map);
    }
    if maps > 0 && maps + objects + dynamics == n {
        if let Some(t) = unify_objects_as_maps(types, unsafe_) {
            return Some(t);
        }
    } else if lists > 0 && lists + dynamics == n {
        return unify_collections(types, unsafe_, dynamics > 0, Type::list);
    } else if lists > 0 && lists + tuples + dynamics == n {
        if let Some(t) = unify_tuples_as_list(types, unsafe_) {
            return Some(t);
        }
    } else if sets > 0 && sets + dynamics == n {
        return unify_collections(types, unsafe_, dynamics > 0, Type::set);
    } else if objects > 0 && objects + dynamics == n {
        return unify_object_types(types, unsafe_, dynamics > 0);
    } else if tuples > 0 && tuples + dynamics == n {
        return unify_tuple_types(types, unsafe_, dynamics > 0);
    } else if objects > 0 && tuples > 0 {
        return None;
    }
    'preferences: for want_idx in sort_types(types) {
        let want = &types[want_idx];
        for (i, t) in types.iter().enumerate() {
            if i == want_idx || t == want {
                continue;
            }
            if !conversion_exists(t, want, unsafe_) {
                continue 'preferences;
            }
        }
        return Some(want.clone());
    }
    None
}

fn all_convert(types: &[Type], to: &Type, unsafe_: bool) -> bool {
    types
        .iter()
        .all(|t| t == to || conversion_exists(t, to, unsafe_))
}

fn unify_collections(
    types: &[Type],
    unsafe_: bool,
    has_dynamic: bool,
    make: fn(Type) -> Type,
) -> Option<Type> {
    if has_dynamic {
        return Some(Type::Dynamic);
    }
    let etys: Vec<Type> = types
        .iter()
        .filter_map(|t| t.element_type().cloned())
        .collect();
    let ret = make(unify_with(&etys, unsafe_)?);
    all_convert(types, &ret, unsafe_).then_some(ret)
}

fn unify_objects_as_maps(types: &[Type], unsafe_: bool) -> Option<Type> {
    let objs: Vec<Type> = types
        .iter()
        .filter(|t| matches!(t, Type::Object(_)))
        .cloned()
        .collect();
    let map_ty = unify_object_types_to_map(&objs, unsafe_)?;
    let mapped: Vec<Type> = types
        .iter()
        .map(|t| {
            if matches!(t, Type::Object(_)) {
                map_ty.clone()
            } else {
                t.clone()
            }
        })
        .collect();
    unify_with(&mapped, unsafe_).filter(|t| matches!(t, Type::Map(_)))
}

fn unify_tuples_as_list(types: &[Type], unsafe_: bool) -> Option<Type> {
    let tuples: Vec<Type> = types
        .iter()
        .filter(|t| matches!(t, Type::Tuple(_)))
        .cloned()
        .collect();
    let list_ty = unify_tuple_types_to_list(&tuples, unsafe_)?;
    let listed: Vec<Type> = types
        .iter()
        .map(|t| {
            if matches!(t, Type::Tuple(_)) {
                list_ty.clone()
            } else {
                t.clone()
            }
        })
        .collect();
    unify_with(&listed, unsafe_).filter(|t| matches!(t, Type::List(_)))
}

fn unify_object_types(types: &[Type], unsafe_: bool, has_dynamic: bool) -> Option<Type> {
    if has_dynamic {
        return Some(Type::Dynamic);
    }
    let attrs_of = |t: &Type| match t {
        Type::Object(o) => o.attrs.clone(),
        _ => BTreeMap::new(),
    };
    let first = attrs_of(&types[0]);
    for t in &types[1..] {
        let these = attrs_of(t);
        if these.len() != first.len() || these.keys().any(|k| !first.contains_key(k)) {
            return unify_object_types_to_map(types, unsafe_);
        }
    }
    let mut ret = BTreeMap::new();
    for name in first.keys() {
        let across: Vec<Type> = types
            .iter()
            .map(|t| attrs_of(t).get(name).cloned().unwrap_or(Type::Dynamic))
            .collect();
        ret.insert(name.clone(), unify_with(&across, unsafe_)?);
    }
    let ret = Type::object(ret);
    if all_convert(types, &ret, unsafe_) {
        Some(ret)
    } else {
        unify_object_types_to_map(types, unsafe_)
    }
}

fn unify_object_types_to_map(types: &[Type], unsafe_: bool) -> Option<Type> {
    let atys: Vec<Type> = types
        .iter()
        .flat_map(|t| match t {
            Type::Object(o) => o.attrs.values().cloned().collect(),
            _ => Vec::new(),
        })
        .collect();
    let ret = Type::map(unify_with(&atys, unsafe_)?);
    all_convert(types, &ret, unsafe_).then_some(ret)
}

fn unify_tuple_types(types: &[Type], unsafe_: bool, has_dynamic: bool) -> Option<Type> {
    if has_dynamic {
        return Some(Type::Dynamic);
    }
    let etys_of = |t: &Type| match t {
        Type::Tuple(ts) => ts.clone(),
        _ => Vec::new(),
    };
    let first = etys_of(&types[0]);
    if types[1..].iter().any(|t| etys_of(t).len() != first.len()) {
        return unify_tuple_types_to_list(types, unsafe_);
    }
    let mut ret = Vec::with_capacity(first.len());
    for i in 0..first.len() {
        let across: Vec<Type> = types.iter().map(|t| etys_of(t)[i].clone()).collect();
        ret.push(unify_with(&across, unsafe_)?);
    }
    let ret = Type::Tuple(ret);
    if all_convert(types, &ret, unsafe_) {
        Some(ret)
    } else {
        unify_tuple_types_to_list(types, unsafe_)
    }
}

fn unify_tuple_types_to_list(types: &[Type], unsafe_: bool) -> Option<Type> {
    let etys: Vec<Type> = types
        .iter()
        .flat_map(|t| match t {
            Type::Tuple(ts) => ts.clone(),
            _ => Vec::new(),
        })
        .collect();
    let ret = Type::list(unify_with(&etys, unsafe_)?);
    all_convert(types, &ret, unsafe_).then_some(ret)
}

/// cty's `sortTypes`: indices in preference order (most general first), by a topological sort
/// of the "more general than" relation.
fn sort_types(types: &[Type]) -> Vec<usize> {
    let l = types.len();
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); l];
    for i in 0..l.saturating_sub(1) {
        for j in i + 1..l {
            match compare_types(&types[i], &types[j]) {
                c if c < 0 => edges[i].push(j),
                c if c > 0 => edges[j].push(i),
                _ => {}
            }
        }
    }
    let mut in_degree = vec![0usize; l];
    for outs in &edges {
        for &j in outs {
            in_degree[j] += 1;
        }
    }
    let mut result: Vec<usize> = (0..l).filter(|&i| in_degree[i] == 0).collect();
    let mut head = 0;
    while head < result.len() {
        let i = result[head];
        head += 1;
        for &j in &edges[i] {
            in_degree[j] -= 1;
            if in_degree[j] == 0 {
                result.push(j);
            }
        }
    }
    result
}

/// cty's `compareTypes`: negative when `a` is preferred (more general) over `b`.
fn compare_types(a: &Type, b: &Type) -> i32 {
    crate::depth::guard(|| {
        if *a == Type::Dynamic || *b == Type::Dynamic {
            return match (*a == Type::Dynamic, *b == Type::Dynamic) {
                (false, true) => -1,
                (true, false) => 1,
                _ => 0,
            };
        }
        if a.is_primitive() && b.is_primitive() && (*a == Type::String || *b == Type::String) {
            return match (*a == Type::String, *b == Type::String) {
                (false, true) => 1,
                (true, false) => -1,
                _ => 0,
            };
        }
        match (a, b) {
            (Type::List(x), Type::List(y))
            | (Type::Set(x), Type::Set(y))
            | (Type::Map(x), Type::Map(y)) => return compare_types(x, y),
            _ => {}
        }
        let (a, b, swap) = match (a, b) {
            (Type::Tuple(_), Type::List(_))
            | (Type::Object(_), Type::Map(_))
            | (Type::Set(_), Type::Tuple(_))
            | (Type::Set(_), Type::List(_)) => (b, a, -1),
            _ => (a, b, 1),
        };
        match (a, b) {
            (Type::Tuple(_) | Type::List(_), Type::Set(_)) => -swap,
            (Type::List(_), Type::Tuple(_)) => -swap,
            (Type::Map(_), Type::Object(_)) => -swap,
            (Type::Object(x), Type::Object(y)) => {
                if x.attrs.len() != y.attrs.len() {
                    return 0;
                }
                let (mut a_super, mut b_super) = (false, false);
                for (k, at) in &x.attrs {
                    let Some(bt) = y.attrs.get(k) else {
                        return 0;
                    };
                    let c = compare_types(at, bt);
                    a_super |= c < 0;
                    b_super |= c > 0;
                }
                super_result(a_super, b_super, swap)
            }
            (Type::Tuple(x), Type::Tuple(y)) => {
                if x.len() != y.len() {
                    return 0;
                }
                let (mut a_super, mut b_super) = (false, false);
                for (at, bt) in x.iter().zip(y) {
                    let c = compare_types(at, bt);
                    a_super |= c < 0;
                    b_super |= c > 0;
                }
                super_result(a_super, b_super, swap)
            }
            _ => 0,
        }
    })
}

fn super_result(a_super: bool, b_super: bool, swap: i32) -> i32 {
    match (a_super, b_super) {
        (true, false) => -swap,
        (false, true) => swap,
        _ => 0,
    }
}

/// cty's `MismatchMessage`: why `got` does not conform to `want`, in Terraform's words
/// ("attribute \"a\" is required", "incorrect list element type: number required", ...).
pub fn mismatch_message(got: &Type, want: &Type) -> String {
    match (got, want) {
        (Type::Object(g), Type::Object(w)) => mismatch_objects(g, w),
        (Type::Tuple(_), Type::List(e)) if **e == Type::Dynamic => {
            "all list elements must have the same type".into()
        }
        (Type::Tuple(_), Type::Set(e)) if **e == Type::Dynamic => {
            "all set elements must have the same type".into()
        }
        (Type::Object(_), Type::Map(e)) if **e == Type::Dynamic => {
            "all map elements must have the same type".into()
        }
        (Type::Tuple(_) | Type::Object(_), w) if w.is_collection() => {
            mismatch_from_structural(got, want)
        }
        (g, w) if g.is_collection() && w.is_collection() => mismatch_collections(got, want),
        _ => format!("{} required", want.friendly_name_for_constraint()),
    }
}

fn mismatch_objects(got: &ObjectType, want: &ObjectType) -> String {
    let mut missing = Vec::new();
    let mut unsafe_mismatch: Option<String> = None;
    let mut safe_mismatch: Option<String> = None;
    for (name, wty) in &want.attrs {
        let Some(gty) = got.attrs.get(name) else {
            if !want.optional.contains(name) {
                missing.push(name.clone());
            }
            continue;
        };
        if gty == wty || unsafe_mismatch.is_some() {
            continue;
        }
        if !conversion_exists(gty, wty, true) {
            unsafe_mismatch = Some(format!(
                "attribute {name:?}: {}",
                mismatch_message(gty, wty)
            ));
        }
        if safe_mismatch.is_some() {
            continue;
        }
        if !conversion_exists(gty, wty, false) {
            safe_mismatch = Some(format!(
                "attribute {name:?}: {}",
                mismatch_message(gty, wty)
            ));
        }
    }
    match missing.len() {
        0 => unsafe_mismatch
            .or(safe_mismatch)
            .unwrap_or_else(|| "incorrect object attributes".into()),
        1 => format!("attribute {:?} is required", missing[0]),
        2 => format!(
            "attributes {:?} and {:?} are required",
            missing[0], missing[1]
        ),
        _ => {
            let (last, rest) = missing.split_last().expect("three or more");
            let list: Vec<String> = rest.iter().map(|m| format!("{m:?}, ")).collect();
            format!("attributes {}and {last:?} are required", list.concat())
        }
    }
}

fn mismatch_from_structural(got: &Type, want: &Type) -> String {
    let required = || format!("{} required", want.friendly_name_for_constraint());
    let Some(wety) = want.element_type() else {
        return required();
    };
    match (got, want) {
        (Type::Tuple(ts), Type::List(_) | Type::Set(_)) => {
            for (i, t) in ts.iter().enumerate() {
                if t != wety && !conversion_exists(t, wety, true) {
                    return format!("element {i}: {}", mismatch_message(t, wety));
                }
            }
            format!(
                "all elements must be {}",
                wety.friendly_name_for_constraint()
            )
        }
        (Type::Object(o), Type::Map(_)) => {
            for (name, t) in &o.attrs {
                if t != wety && !conversion_exists(t, wety, true) {
                    return format!("element {name:?}: {}", mismatch_message(t, wety));
                }
            }
            format!(
                "all elements must be {}",
                wety.friendly_name_for_constraint()
            )
        }
        _ => required(),
    }
}

fn mismatch_collections(got: &Type, want: &Type) -> String {
    let required = || format!("{} required", want.friendly_name_for_constraint());
    let noun = match (got, want) {
        (Type::List(_) | Type::Set(_), Type::List(_)) => "list element type",
        (Type::List(_) | Type::Set(_), Type::Set(_)) => "set element type",
        (Type::Map(_), Type::Map(_)) => "map element type",
        _ => return required(),
    };
    let (Some(g), Some(w)) = (got.element_type(), want.element_type()) else {
        return required();
    };
    format!("incorrect {noun}: {}", mismatch_message(g, w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Marks;

    fn n(i: i64) -> Value {
        Value::from(i)
    }
    fn s(x: &str) -> Value {
        Value::from(x)
    }
    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }
    fn oty(pairs: &[(&str, Type)], optional: &[&str]) -> Type {
        Type::Object(ObjectType {
            attrs: pairs
                .iter()
                .map(|(k, t)| (k.to_string(), t.clone()))
                .collect(),
            optional: optional.iter().map(|k| k.to_string()).collect(),
        })
    }

    #[test]
    fn primitives() {
        assert_eq!(convert(&n(5), &Type::String).unwrap(), s("5"));
        assert_eq!(
            convert(&Value::bool(true), &Type::String).unwrap(),
            s("true")
        );
        assert_eq!(convert(&s("1"), &Type::Bool).unwrap(), Value::bool(true));
        assert_eq!(
            convert(&s("x"), &Type::Number).unwrap_err().message,
            "a number is required"
        );
        assert_eq!(
            convert(&s("yes"), &Type::Bool).unwrap_err().message,
            "a bool is required"
        );
        assert_eq!(
            convert(&s("TRUE"), &Type::Bool).unwrap_err().message,
            "a bool is required; to convert from string, use lowercase \"true\""
        );
        assert_eq!(
            convert(&Value::bool(true), &Type::Number)
                .unwrap_err()
                .message,
            "number required"
        );
        assert!(convert_safe(&s("1"), &Type::Number).is_err());
    }

    #[test]
    fn objects_with_optional_attributes() {
        let want = oty(
            &[
                ("a", Type::Number),
                ("b", Type::list(Type::Bool)),
                ("c", Type::String),
            ],
            &["c"],
        );
        let v = obj(&[
            ("a", n(1)),
            ("b", Value::Tuple(vec![Value::bool(true)])),
            ("d", n(5)),
        ]);
        let got = convert(&v, &want).unwrap();
        assert_eq!(
            got,
            obj(&[
                ("a", n(1)),
                ("b", Value::List(Type::Bool, vec![Value::bool(true)])),
                ("c", Value::Null(Type::String)),
            ])
        );
        let msg = |v: Value| convert(&v, &want).unwrap_err().message;
        assert_eq!(
            msg(obj(&[("b", Value::Tuple(vec![]))])),
            "attribute \"a\" is required"
        );
        assert_eq!(msg(obj(&[])), "attributes \"a\" and \"b\" are required");
        assert_eq!(
            msg(obj(&[
                ("a", n(1)),
                ("b", Value::Tuple(vec![])),
                ("c", Value::Tuple(vec![]))
            ])),
            "attribute \"c\": string required"
        );
        assert_eq!(msg(Value::Tuple(vec![n(1)])), "object required");
        let e = convert(&obj(&[("a", s("x")), ("b", Value::Tuple(vec![]))]), &want).unwrap_err();
        assert_eq!(e.message, "a number is required");
        assert_eq!(e.path, vec![PathStep::Attr("a".into())]);
        assert_eq!(
            msg(obj(&[("a", n(1)), ("b", obj(&[("x", n(1))]))])),
            "attribute \"b\": list of bool required"
        );
    }

    #[test]
    fn collections() {
        let t = Value::Tuple(vec![n(1), s("a"), Value::bool(true)]);
        assert_eq!(
            convert(&t, &Type::list(Type::Dynamic)).unwrap(),
            Value::List(Type::String, vec![s("1"), s("a"), s("true")])
        );
        assert_eq!(
            convert(&obj(&[("a", n(1))]), &Type::list(Type::Dynamic))
                .unwrap_err()
                .message,
            "list of any single type required"
        );
        assert_eq!(
            convert(
                &Value::Tuple(vec![n(1), obj(&[])]),
                &Type::list(Type::Dynamic)
            )
            .unwrap_err()
            .message,
            "all list elements must have the same type"
        );
        let m = convert(
            &obj(&[("a", n(1)), ("b", s("x"))]),
            &Type::map(Type::Dynamic),
        )
        .unwrap();
        assert_eq!(m.ty(), Type::map(Type::String));
        let nested = Value::Tuple(vec![Value::Tuple(vec![n(1)]), Value::Tuple(vec![s("a")])]);
        let l = convert(&nested, &Type::list(Type::Dynamic)).unwrap();
        // As terraform console shows for tolist([[1],["a"]]): the elements stay tuples.
        assert_eq!(l.ty(), Type::list(Type::Tuple(vec![Type::String])));
        let set = convert(
            &Value::Tuple(vec![n(2), n(1), n(2)]),
            &Type::set(Type::Number),
        )
        .unwrap();
        assert_eq!(set, Value::Set(Type::Number, vec![n(1), n(2)]));
        assert_eq!(
            convert(&Value::Tuple(vec![]), &Type::list(Type::Dynamic)).unwrap(),
            Value::List(Type::Dynamic, vec![])
        );
        assert_eq!(
            convert(&set, &Type::list(Type::String)).unwrap(),
            Value::List(Type::String, vec![s("1"), s("2")])
        );
        let e = convert(&Value::Tuple(vec![n(1), s("x")]), &Type::list(Type::Number)).unwrap_err();
        assert_eq!(e.message, "a number is required");
        assert_eq!(e.path, vec![idx(1)]);
    }

    #[test]
    fn unknowns_nulls_marks() {
        // An unknown tuple's length is known, and a list of known length is a known list of
        // unknown elements (cty's refinements collapse to it).
        let u = Value::unknown(Type::Tuple(vec![Type::Number, Type::Number]));
        let got = convert(&u, &Type::list(Type::Dynamic)).unwrap();
        assert_eq!(
            got,
            Value::List(
                Type::Number,
                vec![Value::unknown(Type::Number), Value::unknown(Type::Number)]
            ),
            "{got:?}"
        );
        let u = Value::unknown(Type::Tuple(vec![Type::Number, Type::String]));
        let got = convert(&u, &Type::set(Type::String)).unwrap();
        let Value::Unknown(gu) = &got else {
            panic!("{got:?}")
        };
        assert_eq!(gu.ty, Type::set(Type::String));
        assert_eq!(
            (gu.refinements.length_lower, gu.refinements.length_upper),
            (Some(1), Some(2))
        );
        assert_eq!(
            convert(&Value::Null(Type::Dynamic), &Type::String).unwrap(),
            Value::Null(Type::String)
        );
        let m = n(1).mark(Marks::SENSITIVE);
        assert_eq!(
            convert(&m, &Type::String).unwrap(),
            s("1").mark(Marks::SENSITIVE)
        );
        let l = Value::Tuple(vec![n(1).mark(Marks::SENSITIVE)]);
        assert_eq!(
            convert(&l, &Type::list(Type::String)).unwrap(),
            Value::List(Type::String, vec![s("1").mark(Marks::SENSITIVE)])
        );
    }

    #[test]
    fn unification() {
        assert_eq!(unify(&[Type::Number, Type::String]), Some(Type::String));
        assert_eq!(unify(&[Type::Number, Type::Bool]), None);
        assert_eq!(unify(&[Type::Number, Type::Dynamic]), Some(Type::Number));
        let a = oty(&[("a", Type::Number)], &[]);
        let b = oty(&[("b", Type::Number)], &[]);
        assert_eq!(unify(&[a.clone(), b]), Some(Type::map(Type::Number)));
        let a2 = oty(&[("a", Type::String)], &[]);
        assert_eq!(unify(&[a.clone(), a2.clone()]), Some(a2));
        assert_eq!(
            unify(&[
                Type::Tuple(vec![Type::Number]),
                Type::Tuple(vec![Type::Bool])
            ]),
            None
        );
        assert_eq!(
            unify(&[
                Type::Tuple(vec![Type::Number]),
                Type::Tuple(vec![Type::Bool, Type::Number])
            ]),
            None
        );
        assert_eq!(
            unify(&[Type::list(Type::Number), Type::Tuple(vec![Type::String])]),
            Some(Type::list(Type::String))
        );
        assert_eq!(unify(&[a, Type::Tuple(vec![])]), None);
    }
}
