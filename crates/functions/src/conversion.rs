//! Type conversion functions (`tostring`, `tonumber`, `tobool`, `tolist`, `toset`, `tomap`):
//! cty's safe-and-unsafe conversion with Terraform's error wording.

use value::{Type, Value};

use crate::framework::{arg_err, func, p, Function, R};

fn convert_to(v: &Value, ty: &Type) -> R<Value> {
    if !v.is_known() {
        return Ok(Value::unknown(ty.clone()));
    }
    value::convert::convert(v, ty).map_err(|e| {
        let msg = match (ty, v.unmarked()) {
            // Terraform's words, which do not quote the value.
            (Type::Number | Type::Bool, Value::String(_)) if v.is_sensitive_deep() => format!(
                "cannot convert this sensitive string to {}",
                ty.friendly_name()
            ),
            (Type::Number, Value::String(s)) => format!("cannot convert {} to number; given string must be a decimal representation of a number", value::ops::go_quote(s)),
            (Type::Bool, Value::String(s)) => format!("cannot convert {} to bool; only the strings \"true\" or \"false\" are allowed", value::ops::go_quote(s)),
            (Type::String | Type::Number | Type::Bool, other) if !other.ty().is_primitive() => {
                format!("cannot convert {} to {}", other.ty().friendly_name(), ty.friendly_name())
            }
            _ => e.message,
        };
        arg_err(0, msg)
    })
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    let prims: [(&'static str, Type); 3] = [
        ("tostring", Type::String),
        ("tonumber", Type::Number),
        ("tobool", Type::Bool),
    ];
    for (name, ty) in prims {
        let imp: crate::framework::ImplFn = match name {
            "tostring" => |a| convert_to(&a.vals[0], &Type::String),
            "tonumber" => |a| convert_to(&a.vals[0], &Type::Number),
            _ => |a| convert_to(&a.vals[0], &Type::Bool),
        };
        fs.push(
            func(
                name,
                vec![p("v", Type::Dynamic).null().unknown().dynamic().marked()],
            )
            .ret(ty)
            .no_refine()
            .imp(imp)
            .build(),
        );
    }
    let colls: [&'static str; 3] = ["tolist", "toset", "tomap"];
    for name in colls {
        let (ret_fn, imp): (crate::framework::TypeFn, crate::framework::ImplFn) = match name {
            "tolist" => (
                |args| coll_type(&args[0], 'l'),
                |a| convert_to(&a.vals[0], &a.ret),
            ),
            "toset" => (
                |args| coll_type(&args[0], 's'),
                |a| convert_to(&a.vals[0], &a.ret),
            ),
            _ => (
                |args| coll_type(&args[0], 'm'),
                |a| convert_to(&a.vals[0], &a.ret),
            ),
        };
        fs.push(
            func(name, vec![p("v", Type::Dynamic).null().unknown().dynamic()])
                .ret_fn(ret_fn)
                .no_refine()
                .imp(imp)
                .build(),
        );
    }
}

/// The collection type `v` converts to (element type unified from its contents).
fn coll_type(v: &Value, kind: char) -> R<Type> {
    let wrap = |t: Type| match kind {
        'l' => Type::list(t),
        's' => Type::set(t),
        _ => Type::map(t),
    };
    let elem_tys: Vec<Type> = match v.ty() {
        Type::List(t) | Type::Set(t) | Type::Map(t) => vec![*t],
        Type::Tuple(ts) => ts,
        Type::Object(ot) => ot.attrs.values().cloned().collect(),
        Type::Dynamic => return Ok(wrap(Type::Dynamic)),
        other => {
            let what = match kind {
                'l' => "list",
                's' => "set",
                _ => "map",
            };
            return Err(arg_err(
                0,
                format!(
                    "cannot convert {} to {what} of any single type",
                    other.friendly_name()
                ),
            ));
        }
    };
    if elem_tys.is_empty() {
        return Ok(wrap(Type::Dynamic));
    }
    match value::convert::unify_safe(&elem_tys).or_else(|| value::convert::unify(&elem_tys)) {
        Some(t) => Ok(wrap(t)),
        None => {
            let what = match kind {
                'l' => "list",
                's' => "set",
                _ => "map",
            };
            Err(arg_err(
                0,
                format!(
                    "cannot convert {} to {what} of any single type",
                    v.ty().friendly_name()
                ),
            ))
        }
    }
}
