//! Collection functions: length, lookups, merging, set algebra, slicing, sorting, flattening
//! and friends, with cty's typing of results (lists, tuples, maps and objects).

use std::collections::BTreeMap;

use value::{Type, Value};

use crate::framework::{arg_err, call_err, func, p, Args, Function, R};

/// An unknown list with length bounds, as a refined unknown (a known list of unknown elements
/// when the length is exact).
fn refined_list(elem: Type, lower: Option<u64>, upper: Option<u64>) -> Value {
    let mut u = value::Unknown {
        ty: Type::list(elem),
        refinements: value::Refinements::default(),
    };
    u.refinements.not_null = true;
    u.refinements.length_lower = lower.filter(|l| *l > 0);
    u.refinements.length_upper = upper;
    u.into_value()
}

/// A length between `lower` and `upper`: known when they meet.
fn unknown_length(lower: Option<u64>, upper: Option<u64>) -> Value {
    let lo = lower.unwrap_or(0);
    if upper == Some(lo) {
        return Value::number(lo as i64);
    }
    let mut u = value::Unknown {
        ty: Type::Number,
        refinements: value::Refinements::default(),
    };
    u.refinements.not_null = true;
    u.refinements.number_lower = Some((value::Number::from(lo), true));
    u.refinements.number_upper = upper.map(|hi| (value::Number::from(hi), true));
    Value::Unknown(Box::new(u))
}

/// The most elements `setproduct` builds.
const MAX_PRODUCT: usize = 1_000_000;

fn dynp(name: &'static str) -> crate::framework::Param {
    p(name, Type::Dynamic)
}

/// Elements of a list, set or tuple.
pub(crate) fn elems(v: &Value) -> Option<Vec<Value>> {
    match v.unmarked() {
        Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => Some(es.clone()),
        _ => None,
    }
}

fn entries(v: &Value) -> Option<BTreeMap<String, Value>> {
    match v.unmarked() {
        Value::Map(_, m) | Value::Object(m) => Some(m.clone()),
        _ => None,
    }
}

/// A value of the same collection kind as `like` holding `vals`.
fn same_kind(like: &Value, vals: Vec<Value>) -> Value {
    match like.unmarked() {
        Value::List(t, _) => Value::list_of(t.clone(), vals),
        Value::Set(t, _) => Value::set_of(t.clone(), vals),
        _ => Value::Tuple(vals),
    }
}

fn int_arg(a: &Args, i: usize) -> R<i64> {
    let n = a.num(i);
    if !n.is_integer() {
        return Err(arg_err(i, "must be a whole number"));
    }
    n.to_i64().ok_or_else(|| arg_err(i, "number out of range"))
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func("length", vec![dynp("value").unknown().dynamic()])
            .ret(Type::Number)
            .imp(|a| {
                let v = &a.vals[0];
                // Structural types know their length even when the value is unknown; an
                // unknown collection may know bounds of its length (cty's Value.Length).
                match v.ty() {
                    Type::Tuple(ts) => return Ok(Value::number(ts.len() as i64)),
                    Type::Object(o) => return Ok(Value::number(o.attrs.len() as i64)),
                    _ => {}
                }
                if let Value::Unknown(u) = v.unmarked() {
                    return Ok(unknown_length(
                        u.refinements.length_lower,
                        u.refinements.length_upper,
                    ));
                }
                match v.unmarked() {
                    Value::String(s) => Ok(Value::number(
                        unicode_segmentation::UnicodeSegmentation::graphemes(s.as_str(), true)
                            .count() as i64,
                    )),
                    Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => {
                        if matches!(v.unmarked(), Value::Set(..)) && !v.is_wholly_known() {
                            // Unknown elements may turn out equal to others.
                            let n = es.len() as u64;
                            return Ok(unknown_length(Some(n.min(1)), Some(n)));
                        }
                        Ok(Value::number(es.len() as i64))
                    }
                    Value::Map(_, m) | Value::Object(m) => Ok(Value::number(m.len() as i64)),
                    _ => Err(arg_err(
                        0,
                        "argument must be a string, a collection type, or a structural type",
                    )),
                }
            })
            .build(),
    );
    fs.push(
        func("alltrue", vec![p("list", Type::list(Type::Bool))])
            .ret(Type::Bool)
            .imp(|a| {
                let es = elems(&a.vals[0]).unwrap_or_default();
                let mut unknown = false;
                for e in &es {
                    match e.unmarked() {
                        Value::Bool(false) => return Ok(Value::Bool(false)),
                        Value::Null(_) => return Ok(Value::Bool(false)),
                        Value::Bool(true) => {}
                        _ => unknown = true,
                    }
                }
                Ok(if unknown {
                    Value::unknown(Type::Bool)
                } else {
                    Value::Bool(true)
                })
            })
            .build(),
    );
    fs.push(
        func("anytrue", vec![p("list", Type::list(Type::Bool))])
            .ret(Type::Bool)
            .imp(|a| {
                let es = elems(&a.vals[0]).unwrap_or_default();
                let mut unknown = false;
                for e in &es {
                    match e.unmarked() {
                        Value::Bool(true) => return Ok(Value::Bool(true)),
                        Value::Bool(false) | Value::Null(_) => {}
                        _ => unknown = true,
                    }
                }
                Ok(if unknown {
                    Value::unknown(Type::Bool)
                } else {
                    Value::Bool(false)
                })
            })
            .build(),
    );
    fs.push(
        func(
            "chunklist",
            vec![
                p("list", Type::list(Type::Dynamic)),
                p("size", Type::Number),
            ],
        )
        .ret_fn(|args| Ok(Type::list(args[0].ty())))
        .imp(|a| {
            let size = int_arg(a, 1)?;
            if size < 0 {
                return Err(arg_err(1, "the size argument must be positive"));
            }
            let es = elems(&a.vals[0]).unwrap_or_default();
            let lty = a.vals[0].ty();
            if size == 0 {
                return Ok(Value::list_of(lty, vec![a.vals[0].clone()]));
            }
            let chunks = es
                .chunks(size as usize)
                .map(|c| same_kind(&a.vals[0], c.to_vec()))
                .collect();
            Ok(Value::list_of(lty, chunks))
        })
        .build(),
    );
    fs.push(
        func("coalesce", vec![])
            .var(dynp("vals").null().unknown().dynamic())
            .ret_fn(|args| {
                let tys: Vec<Type> = args.iter().map(|v| v.ty()).collect();
                value::convert::unify(&tys)
                    .ok_or_else(|| call_err("all arguments must have the same type"))
            })
            .imp(|a| {
                for v in &a.vals {
                    if !v.is_known() {
                        return Ok(Value::unknown(a.ret.clone()));
                    }
                    if v.is_null() {
                        continue;
                    }
                    let c = value::convert::convert(v, &a.ret).map_err(|e| call_err(e.message))?;
                    if c.as_str() == Some("") {
                        continue;
                    }
                    return Ok(c);
                }
                Err(call_err("no non-null, non-empty-string arguments"))
            })
            .build(),
    );
    fs.push(
        func("coalescelist", vec![])
            .var(dynp("vals").null().unknown().dynamic())
            .ret_fn(|args| {
                // As cty's: an unknown argument leaves the type open; anything but a list or
                // tuple (a null too) is refused.
                if args.is_empty() {
                    return Err(call_err("at least one argument is required"));
                }
                if args.iter().any(|v| !v.is_known()) {
                    return Ok(Type::Dynamic);
                }
                if !args
                    .iter()
                    .all(|v| matches!(v.ty(), Type::List(_) | Type::Tuple(_)))
                {
                    return Err(call_err("coalescelist arguments must be lists or tuples"));
                }
                let tys: Vec<Type> = args.iter().map(|v| v.ty()).collect();
                Ok(value::convert::unify(&tys).unwrap_or(Type::Dynamic))
            })
            .imp(|a| {
                for (i, v) in a.vals.iter().enumerate() {
                    if !v.is_known() {
                        return Ok(Value::dynamic_unknown());
                    }
                    if v.is_null() {
                        continue;
                    }
                    match elems(v) {
                        Some(es) if es.is_empty() => continue,
                        Some(_) => return Ok(v.clone()),
                        None => return Err(arg_err(i, "a list or tuple is required")),
                    }
                }
                Err(call_err("no non-null arguments"))
            })
            .build(),
    );
    fs.push(
        func("compact", vec![p("list", Type::list(Type::String))])
            .ret(Type::list(Type::String))
            .imp(|a| {
                if !a.vals[0].is_wholly_known() {
                    return Ok(Value::unknown(Type::list(Type::String)));
                }
                let es: Vec<Value> = elems(&a.vals[0])
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|e| !e.is_null() && e.as_str() != Some(""))
                    .collect();
                Ok(Value::list_of(Type::String, es))
            })
            .build(),
    );
    fs.push(
        func("concat", vec![])
            .var(dynp("seqs"))
            .ret_fn(|args| {
                if args.is_empty() {
                    return Err(call_err("at least one argument is required"));
                }
                let mut elem_tys = Vec::new();
                let mut tuple = false;
                for (i, v) in args.iter().enumerate() {
                    match v.ty() {
                        Type::List(t) | Type::Set(t) => elem_tys.push(*t),
                        Type::Tuple(ts) => {
                            tuple = true;
                            elem_tys.extend(ts)
                        }
                        Type::Dynamic => return Ok(Type::Dynamic),
                        _ => {
                            return Err(arg_err(
                                i,
                                "all arguments must be lists or tuples; got string",
                            ))
                        }
                    }
                }
                if tuple {
                    let mut ts = Vec::new();
                    for v in args {
                        match v.ty() {
                            Type::Tuple(t) => ts.extend(t),
                            _ => match elems(v) {
                                Some(es) => ts.extend(es.iter().map(|e| e.ty())),
                                None => return Ok(Type::Dynamic),
                            },
                        }
                    }
                    return Ok(Type::Tuple(ts));
                }
                Ok(Type::list(value::convert::unify(&elem_tys).ok_or_else(
                    || call_err("all arguments must have the same element type"),
                )?))
            })
            .imp(|a| {
                let mut out = Vec::new();
                for v in &a.vals {
                    if !v.is_known() {
                        return Ok(Value::unknown(a.ret.clone()));
                    }
                    out.extend(elems(v).unwrap_or_default());
                }
                match &a.ret {
                    Type::List(t) => Ok(Value::list_of(
                        (**t).clone(),
                        out.into_iter()
                            .map(|e| value::convert::convert(&e, t).unwrap_or(e))
                            .collect(),
                    )),
                    _ => Ok(Value::Tuple(out)),
                }
            })
            .build(),
    );
    fs.push(
        func("contains", vec![dynp("list"), dynp("value")])
            .ret(Type::Bool)
            .imp(|a| {
                let Some(es) = elems(&a.vals[0]) else {
                    return Err(arg_err(0, "argument must be list, tuple, or set"));
                };
                let mut unknown = false;
                for e in &es {
                    match e.equals(&a.vals[1]) {
                        Value::Bool(true) => return Ok(Value::Bool(true)),
                        Value::Bool(false) => {}
                        _ => unknown = true,
                    }
                }
                Ok(if unknown {
                    Value::unknown(Type::Bool)
                } else {
                    Value::Bool(false)
                })
            })
            .build(),
    );
    fs.push(
        func("distinct", vec![p("list", Type::list(Type::Dynamic))])
            .ret_fn(|args| Ok(args[0].ty()))
            .imp(|a| {
                if !a.vals[0].is_wholly_known() {
                    // Duplicates may yet be removed: at most as long as the input (cty).
                    let n = elems(&a.vals[0]).map_or(0, |es| es.len() as u64);
                    let ety = match &a.ret {
                        Type::List(t) => (**t).clone(),
                        _ => Type::Dynamic,
                    };
                    return Ok(refined_list(ety, None, Some(n)));
                }
                let mut out: Vec<Value> = Vec::new();
                for e in elems(&a.vals[0]).unwrap_or_default() {
                    if !out.iter().any(|o| o.raw_equals(&e)) {
                        out.push(e);
                    }
                }
                Ok(same_kind(&a.vals[0], out))
            })
            .build(),
    );
    fs.push(
        func("element", vec![dynp("list"), p("index", Type::Number)])
            .ret_fn(|args| match args[0].ty() {
                Type::List(t) => Ok(*t),
                Type::Tuple(_) | Type::Dynamic => Ok(Type::Dynamic),
                other => Err(call_err(format!(
                    "cannot read elements from {}",
                    other.friendly_name()
                ))),
            })
            .imp(|a| {
                let es = elems(&a.vals[0])
                    .ok_or_else(|| arg_err(0, "cannot read elements from this value"))?;
                let i = int_arg(a, 1)?;
                if es.is_empty() {
                    return Err(call_err("cannot use element function with an empty list"));
                }
                if i < 0 {
                    return Err(call_err(
                        "cannot use element function with a negative index",
                    ));
                }
                Ok(es[(i as usize) % es.len()].clone())
            })
            .build(),
    );
    fs.push(
        func("flatten", vec![dynp("list")])
            .ret_fn(|args| match args[0].ty() {
                Type::Dynamic => Ok(Type::Dynamic),
                Type::List(_) | Type::Set(_) | Type::Tuple(_) => {
                    if !args[0].is_wholly_known() {
                        return Ok(Type::Dynamic);
                    }
                    let mut out = Vec::new();
                    flatten(&args[0], &mut out);
                    Ok(Type::Tuple(out.iter().map(|v| v.ty()).collect()))
                }
                _ => Err(arg_err(0, "can only flatten lists, sets and tuples")),
            })
            .imp(|a| {
                if !a.vals[0].is_wholly_known() {
                    return Ok(Value::dynamic_unknown());
                }
                let mut out = Vec::new();
                flatten(&a.vals[0], &mut out);
                Ok(Value::Tuple(out))
            })
            .build(),
    );
    fs.push(
        func("index", vec![dynp("list"), dynp("value")])
            .ret(Type::Number)
            .imp(|a| {
                let es = elems(&a.vals[0])
                    .ok_or_else(|| arg_err(0, "argument must be a list or tuple"))?;
                for (i, e) in es.iter().enumerate() {
                    match e.equals(&a.vals[1]) {
                        Value::Bool(true) => return Ok(Value::number(i as i64)),
                        Value::Bool(false) => {}
                        _ => return Ok(Value::unknown(Type::Number)),
                    }
                }
                Err(call_err("item not found"))
            })
            .build(),
    );
    fs.push(
        func("keys", vec![dynp("inputMap")])
            .ret_fn(|args| match args[0].ty() {
                Type::Map(_) => Ok(Type::list(Type::String)),
                Type::Object(ot) => Ok(Type::Tuple(vec![Type::String; ot.attrs.len()])),
                Type::Dynamic => Ok(Type::Dynamic),
                _ => Err(arg_err(0, "must have map or object type")),
            })
            .imp(|a| {
                let m = entries(&a.vals[0]).unwrap_or_default();
                let ks: Vec<Value> = m.keys().map(|k| Value::string(k.clone())).collect();
                Ok(match a.ret {
                    Type::List(_) => Value::list_of(Type::String, ks),
                    _ => Value::Tuple(ks),
                })
            })
            .build(),
    );
    fs.push(
        func("values", vec![dynp("mapping")])
            .ret_fn(|args| match args[0].ty() {
                Type::Map(t) => Ok(Type::list(*t)),
                Type::Object(ot) => Ok(Type::Tuple(ot.attrs.values().cloned().collect())),
                Type::Dynamic => Ok(Type::Dynamic),
                _ => Err(arg_err(0, "must have map or object type")),
            })
            .imp(|a| {
                let m = entries(&a.vals[0]).unwrap_or_default();
                let vs: Vec<Value> = m.into_values().collect();
                Ok(match &a.ret {
                    Type::List(t) => Value::list_of((**t).clone(), vs),
                    _ => Value::Tuple(vs),
                })
            })
            .build(),
    );
    fs.push(
        func("lookup", vec![dynp("inputMap"), p("key", Type::String)])
            .var(dynp("default").null().unknown().dynamic().marked())
            .ret_fn(|args| {
                if args.len() > 3 {
                    return Err(call_err("lookup() takes no more than three arguments"));
                }
                match args[0].ty() {
                    Type::Map(t) => {
                        if let Some(d) = args.get(2) {
                            return Ok(
                                value::convert::unify(&[*t, d.ty()]).unwrap_or(Type::Dynamic)
                            );
                        }
                        Ok(*t)
                    }
                    Type::Object(ot) => {
                        if let Some(k) = args[1].as_str() {
                            if let Some(t) = ot.attrs.get(k) {
                                return Ok(t.clone());
                            }
                            if let Some(d) = args.get(2) {
                                return Ok(d.ty());
                            }
                            return Err(arg_err(
                                0,
                                format!(
                                    "the given object has no attribute {}",
                                    value::ops::go_quote(k)
                                ),
                            ));
                        }
                        Ok(Type::Dynamic)
                    }
                    _ => Ok(Type::Dynamic),
                }
            })
            .imp(|a| {
                let m = entries(&a.vals[0])
                    .ok_or_else(|| arg_err(0, "the given value must be a map or object"))?;
                let k = a.str(1);
                match m.get(k) {
                    Some(v) => Ok(value::convert::convert(v, &a.ret).unwrap_or_else(|_| v.clone())),
                    None => match a.vals.get(2) {
                        Some(d) => {
                            Ok(value::convert::convert(d, &a.ret).unwrap_or_else(|_| d.clone()))
                        }
                        None => Err(call_err(format!(
                            "lookup failed to find key {}",
                            value::ops::go_quote(k)
                        ))),
                    },
                }
            })
            .build(),
    );
    fs.push(
        func(
            "matchkeys",
            vec![
                p("values", Type::list(Type::Dynamic)),
                p("keys", Type::list(Type::Dynamic)),
                p("searchset", Type::list(Type::Dynamic)),
            ],
        )
        .ret_fn(|args| Ok(args[0].ty()))
        .imp(|a| {
            let vs = elems(&a.vals[0]).unwrap_or_default();
            let ks = elems(&a.vals[1]).unwrap_or_default();
            let ss = elems(&a.vals[2]).unwrap_or_default();
            if vs.len() != ks.len() {
                return Err(call_err("length of keys and values should be equal"));
            }
            let mut out = Vec::new();
            for (v, k) in vs.iter().zip(ks.iter()) {
                if ss.iter().any(|s| s.raw_equals(k)) {
                    out.push(v.clone());
                }
            }
            Ok(same_kind(&a.vals[0], out))
        })
        .build(),
    );
    fs.push(
        func("merge", vec![])
            .var(dynp("maps").null().unknown().dynamic())
            .ret(Type::Dynamic)
            .imp(|a| {
                let mut out: BTreeMap<String, Value> = BTreeMap::new();
                let mut all_maps = true;
                let mut any_map = false;
                let mut any_unknown = false;
                for (i, v) in a.vals.iter().enumerate() {
                    if v.is_null() {
                        continue;
                    }
                    if !v.is_known() {
                        any_unknown = true;
                        continue;
                    }
                    match v.unmarked() {
                        Value::Map(..) => any_map = true,
                        Value::Object(..) => all_maps = false,
                        _ => {
                            return Err(arg_err(
                                i,
                                "arguments must be maps or objects, got \"string\"",
                            ))
                        }
                    }
                    for (k, e) in entries(v).unwrap_or_default() {
                        out.insert(k, e);
                    }
                }
                if any_unknown {
                    return Ok(Value::dynamic_unknown());
                }
                if all_maps && !out.is_empty() {
                    let tys: Vec<Type> = out.values().map(|v| v.ty()).collect();
                    if let Some(t) = value::convert::unify(&tys) {
                        let conv: Option<BTreeMap<String, Value>> = out
                            .iter()
                            .map(|(k, v)| {
                                value::convert::convert(v, &t).ok().map(|c| (k.clone(), c))
                            })
                            .collect();
                        if let Some(c) = conv {
                            return Ok(Value::map_of(t, c));
                        }
                    }
                }
                // Only null arguments: cty's merge has no map type to go by, so an object.
                if all_maps && any_map && out.is_empty() {
                    return Ok(Value::map_of(Type::Dynamic, out));
                }
                Ok(Value::Object(out))
            })
            .build(),
    );
    fs.push(
        func("one", vec![dynp("list")])
            .ret_fn(|args| match args[0].ty() {
                Type::List(t) | Type::Set(t) => Ok(*t),
                Type::Tuple(ts) => match ts.len() {
                    0 => Ok(Type::Dynamic),
                    1 => Ok(ts[0].clone()),
                    _ => Err(arg_err(
                        0,
                        "must be a list, set, or tuple value with either zero or one elements",
                    )),
                },
                Type::Dynamic => Ok(Type::Dynamic),
                _ => Err(arg_err(
                    0,
                    "must be a list, set, or tuple value with either zero or one elements",
                )),
            })
            .no_refine()
            .imp(|a| {
                let es = elems(&a.vals[0]).unwrap_or_default();
                match es.len() {
                    0 => Ok(Value::null(a.ret.clone())),
                    1 => Ok(es[0].clone()),
                    _ => Err(arg_err(
                        0,
                        "must be a list, set, or tuple value with either zero or one elements",
                    )),
                }
            })
            .build(),
    );
    fs.push(
        func("range", vec![])
            .var(p("params", Type::Number))
            .ret(Type::list(Type::Number))
            .imp(|a| {
                let (start, end, step) = match a.vals.len() {
                    1 => (value::Number::zero(), a.num(0), None),
                    2 => (a.num(0), a.num(1), None),
                    3 => (a.num(0), a.num(1), Some(a.num(2))),
                    0 => return Err(call_err("must have one, two, or three arguments")),
                    _ => return Err(call_err("must have one, two, or three arguments")),
                };
                let step = step.unwrap_or_else(|| {
                    if end.cmp_value(&start).is_lt() {
                        value::Number::from(-1i64)
                    } else {
                        value::Number::from(1i64)
                    }
                });
                if step.is_zero() {
                    return Err(call_err("step must not be zero"));
                }
                let down = step.is_negative();
                if down && start.cmp_value(&end).is_lt() {
                    return Err(arg_err(0, "end must be less than start when step is negative"));
                }
                if !down && start.cmp_value(&end).is_gt() {
                    return Err(arg_err(0, "end must be greater than start when step is positive"));
                }
                let mut out = Vec::new();
                let mut i = start;
                while if down { i.cmp_value(&end).is_gt() } else { i.cmp_value(&end).is_lt() } {
                    out.push(Value::Number(i.clone()));
                    if out.len() > 1024 {
                        return Err(call_err("more than 1024 values were generated; either decrease the difference between start and end or use a smaller step"));
                    }
                    i = i.add(&step);
                }
                Ok(Value::list_of(Type::Number, out))
            })
            .build(),
    );
    fs.push(
        func("reverse", vec![dynp("list")])
            .ret_fn(|args| match args[0].ty() {
                Type::List(_) | Type::Tuple(_) | Type::Dynamic => Ok(match args[0].ty() {
                    Type::Tuple(mut ts) => {
                        ts.reverse();
                        Type::Tuple(ts)
                    }
                    t => t,
                }),
                Type::Set(t) => Ok(Type::list(*t)),
                _ => Err(arg_err(0, "can only reverse list or tuple values")),
            })
            .imp(|a| {
                let mut es = elems(&a.vals[0]).unwrap_or_default();
                es.reverse();
                Ok(match &a.ret {
                    Type::List(t) => Value::list_of((**t).clone(), es),
                    _ => Value::Tuple(es),
                })
            })
            .build(),
    );
    for (name, op) in [
        ("setintersection", 0u8),
        ("setsubtract", 1),
        ("setunion", 2),
    ] {
        let mut b = func(name, vec![p("first_set", Type::set(Type::Dynamic))]);
        b = if name == "setsubtract" {
            func(
                name,
                vec![
                    p("a", Type::set(Type::Dynamic)),
                    p("b", Type::set(Type::Dynamic)),
                ],
            )
        } else {
            b.var(p("other_sets", Type::set(Type::Dynamic)))
        };
        let imp: crate::framework::ImplFn = match op {
            0 => |a| set_op(a, 0),
            1 => |a| set_op(a, 1),
            _ => |a| set_op(a, 2),
        };
        fs.push(
            b.ret_fn(|args| {
                let tys: Vec<Type> = args
                    .iter()
                    .map(|v| v.ty().element_type().cloned().unwrap_or(Type::Dynamic))
                    .collect();
                Ok(Type::set(value::convert::unify(&tys).ok_or_else(|| {
                    call_err("given sets must all have compatible element types")
                })?))
            })
            .imp(imp)
            .build(),
        );
    }
    fs.push(
        func("setproduct", vec![])
            .var(dynp("sets"))
            .ret(Type::Dynamic)
            .imp(|a| {
                if a.vals.is_empty() {
                    return Err(call_err("at least two arguments are required"));
                }
                let lists: Vec<Vec<Value>> = a
                    .vals
                    .iter()
                    .enumerate()
                    .map(|(i, v)| elems(v).ok_or_else(|| arg_err(i, "a set or a list is required")))
                    .collect::<R<_>>()?;
                // The product grows multiplicatively; refuse one too large to build rather
                // than run out of memory (Terraform runs until it does).
                let total = lists
                    .iter()
                    .try_fold(1usize, |n, l| n.checked_mul(l.len()))
                    .filter(|n| *n <= MAX_PRODUCT);
                if total.is_none() {
                    return Err(call_err(format!(
                        "the product would have more than {MAX_PRODUCT} elements, which weir does not support"
                    )));
                }
                let mut out: Vec<Vec<Value>> = vec![Vec::new()];
                for l in &lists {
                    let mut next = Vec::new();
                    for prefix in &out {
                        for e in l {
                            let mut p = prefix.clone();
                            p.push(e.clone());
                            next.push(p);
                        }
                    }
                    out = next;
                }
                // Each row is a tuple of one element per argument, typed by that argument's
                // (unified) element type.
                let etys: Vec<Type> = a
                    .vals
                    .iter()
                    .map(|v| match v.ty() {
                        Type::List(t) | Type::Set(t) => *t,
                        Type::Tuple(ts) => value::convert::unify(&ts).unwrap_or(Type::Dynamic),
                        _ => Type::Dynamic,
                    })
                    .collect();
                let row_ty = Type::Tuple(etys.clone());
                let rows: Vec<Value> = out
                    .into_iter()
                    .map(|r| {
                        Value::Tuple(
                            r.into_iter()
                                .zip(&etys)
                                .map(|(e, t)| value::convert::convert(&e, t).unwrap_or(e))
                                .collect(),
                        )
                    })
                    .collect();
                let all_sets = a
                    .vals
                    .iter()
                    .all(|v| matches!(v.unmarked(), Value::Set(..)));
                if all_sets {
                    return Ok(Value::set_of(row_ty, rows));
                }
                Ok(Value::list_of(row_ty, rows))
            })
            .build(),
    );
    fs.push(
        func(
            "slice",
            vec![
                dynp("list"),
                p("start_index", Type::Number),
                p("end_index", Type::Number),
            ],
        )
        .ret_fn(|args| match args[0].ty() {
            Type::List(t) => Ok(Type::list(*t)),
            Type::Tuple(_) | Type::Dynamic => Ok(Type::Dynamic),
            _ => Err(arg_err(0, "must be a list or tuple value")),
        })
        .imp(|a| {
            let es =
                elems(&a.vals[0]).ok_or_else(|| arg_err(0, "must be a list or tuple value"))?;
            let s = int_arg(a, 1)?;
            let e = int_arg(a, 2)?;
            if s < 0 {
                return Err(arg_err(1, "start index must not be less than zero"));
            }
            if s > es.len() as i64 {
                return Err(arg_err(
                    1,
                    "start index must not be greater than the length of the list",
                ));
            }
            if e > es.len() as i64 {
                return Err(arg_err(
                    2,
                    "end index must not be greater than the length of the list",
                ));
            }
            if s > e {
                return Err(call_err("start index must not be greater than end index"));
            }
            let part = es[s as usize..e as usize].to_vec();
            Ok(match &a.ret {
                Type::List(t) => Value::list_of((**t).clone(), part),
                _ => Value::Tuple(part),
            })
        })
        .build(),
    );
    fs.push(
        func("sort", vec![p("list", Type::list(Type::String))])
            .ret(Type::list(Type::String))
            .imp(|a| {
                if !a.vals[0].is_wholly_known() {
                    // The order is not known yet, but the length cannot change (cty).
                    let n = elems(&a.vals[0]).map_or(0, |es| es.len() as u64);
                    return Ok(refined_list(Type::String, Some(n), Some(n)));
                }
                let mut ss: Vec<String> = Vec::new();
                for e in elems(&a.vals[0]).unwrap_or_default() {
                    match e.as_str() {
                        Some(s) => ss.push(s.to_string()),
                        None => {
                            return Err(arg_err(
                                0,
                                "given list element 0 is null; a null string cannot be sorted",
                            ))
                        }
                    }
                }
                ss.sort();
                Ok(Value::list_of(
                    Type::String,
                    ss.into_iter().map(Value::String).collect(),
                ))
            })
            .build(),
    );
    fs.push(
        func("sum", vec![dynp("list")])
            .ret(Type::Number)
            .imp(|a| {
                let es = elems(&a.vals[0]).ok_or_else(|| arg_err(0, "argument must be list, set, or tuple. Received string"))?;
                if es.is_empty() {
                    return Err(arg_err(0, "cannot sum an empty list"));
                }
                let mut total = value::Number::zero();
                for (i, e) in es.iter().enumerate() {
                    if e.is_null() {
                        return Err(arg_err(0, format!("argument must be list, set, or tuple of number values; element {i} is null")));
                    }
                    match value::convert::convert(e, &Type::Number) {
                        Ok(Value::Number(n)) => total = total.add(&n),
                        Ok(_) => return Ok(Value::unknown(Type::Number)),
                        Err(_) => return Err(call_err("argument must be list, set, or tuple of number values")),
                    }
                }
                Ok(Value::Number(total))
            })
            .build(),
    );
    fs.push(
        func(
            "transpose",
            vec![p("values", Type::map(Type::list(Type::String)))],
        )
        .ret(Type::map(Type::list(Type::String)))
        .imp(|a| {
            let m = entries(&a.vals[0]).unwrap_or_default();
            let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (k, l) in m {
                for e in elems(&l).unwrap_or_default() {
                    let Some(s) = e.as_str() else {
                        return Err(call_err("input must not contain null list elements"));
                    };
                    out.entry(s.to_string())
                        .or_default()
                        .push(Value::string(k.clone()));
                }
            }
            Ok(Value::map_of(
                Type::list(Type::String),
                out.into_iter()
                    .map(|(k, v)| (k, Value::list_of(Type::String, v)))
                    .collect(),
            ))
        })
        .build(),
    );
    fs.push(
        func(
            "zipmap",
            vec![p("keys", Type::list(Type::String)), dynp("values")],
        )
        .ret_fn(|args| match args[1].ty() {
            Type::List(t) => Ok(Type::map(*t)),
            _ => Ok(Type::Dynamic),
        })
        .imp(|a| {
            let ks = elems(&a.vals[0]).unwrap_or_default();
            let vs =
                elems(&a.vals[1]).ok_or_else(|| arg_err(1, "must be a list or tuple value"))?;
            if ks.len() != vs.len() {
                return Err(call_err(format!(
                    "number of keys ({}) does not match number of values ({})",
                    ks.len(),
                    vs.len()
                )));
            }
            let mut m = BTreeMap::new();
            for (k, v) in ks.iter().zip(vs) {
                let Some(k) = k.as_str() else {
                    return Err(arg_err(0, "keys must not be null"));
                };
                m.insert(k.to_string(), v);
            }
            Ok(match &a.ret {
                Type::Map(t) => Value::map_of((**t).clone(), m),
                _ => Value::Object(m),
            })
        })
        .build(),
    );
}

fn flatten(v: &Value, out: &mut Vec<Value>) {
    value::depth::guard(|| match elems(v) {
        Some(es) if !v.is_null() => {
            for e in es {
                if elems(&e).is_some() && !e.is_null() {
                    flatten(&e, out);
                } else {
                    out.push(e);
                }
            }
        }
        _ => out.push(v.clone()),
    })
}

fn set_op(a: &Args, op: u8) -> R<Value> {
    let ety = a.ret.element_type().cloned().unwrap_or(Type::Dynamic);
    let sets: Vec<Vec<Value>> = a
        .vals
        .iter()
        .map(|v| {
            elems(v)
                .unwrap_or_default()
                .into_iter()
                .map(|e| value::convert::convert(&e, &ety).unwrap_or(e))
                .collect()
        })
        .collect();
    let contains = |s: &Vec<Value>, e: &Value| s.iter().any(|x| x.raw_equals(e));
    let mut out: Vec<Value> = Vec::new();
    match op {
        0 => {
            for e in &sets[0] {
                if sets[1..].iter().all(|s| contains(s, e)) {
                    out.push(e.clone());
                }
            }
        }
        1 => {
            for e in &sets[0] {
                if !contains(&sets[1], e) {
                    out.push(e.clone());
                }
            }
        }
        _ => {
            for s in &sets {
                for e in s {
                    if !contains(&out, e) {
                        out.push(e.clone());
                    }
                }
            }
        }
    }
    Ok(Value::set_of(ety, out))
}
