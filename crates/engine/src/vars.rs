//! Input variables (type conversion, defaults, nullability, sensitivity, validation),
//! `for_each` key rules and `ignore_changes`, each with Terraform's diagnostics.

use std::collections::BTreeMap;

use addrs::ModuleInstance;
use config::{ExprKind, IgnoreChanges, Traverser, Variable};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use value::{Marks, PathStep, Type, Value};

use crate::eval::Expansion;
use crate::walk::Walker;
use crate::InputValue;

fn one(d: Diagnostic) -> Diagnostics {
    let mut ds = Diagnostics::new();
    ds.push(d);
    ds
}

/// The final value of a variable in one module instance.
pub fn finalize(
    w: &Walker,
    m: usize,
    mi: &ModuleInstance,
    decl: &Variable,
    raw: Option<InputValue>,
) -> Result<Value, Diagnostics> {
    let name = &decl.name;
    let default = match &decl.default {
        Some(e) => {
            let (v, ds) = w.eval_in(m, mi, e, &Type::Dynamic);
            if ds.has_errors() {
                return Err(ds);
            }
            Some(v)
        }
        None => None,
    };
    let (mut v, range) = match raw {
        Some(iv) => (iv.value, iv.range),
        None => match &default {
            Some(d) => (d.clone(), None),
            None => {
                let detail = if m == 0 {
                    format!("The root module input variable \"{name}\" is not set, and has no default value. Use a -var or -var-file command line argument to provide a value for this variable.")
                } else {
                    format!("The module input variable \"{name}\" is not set, and has no default value.")
                };
                return Err(one(Diagnostic::error(
                    "No value for required variable",
                    detail,
                )
                .with_subject(decl.decl_range.clone())));
            }
        },
    };
    if v.is_null() && !decl.nullable {
        match &default {
            Some(d) if !d.is_null() => v = d.clone(),
            _ => {
                return Err(one(
                    Diagnostic::error(
                        "Required variable not set",
                        format!("Unsuitable value for var.{name} set from outside of the configuration: required variable may not be set to null."),
                    )
                    .with_subject_opt(range.or(Some(decl.decl_range.clone()))),
                ))
            }
        }
    }
    let v = decl.apply_defaults(v);
    let converted = match value::convert::convert(&v, &decl.type_constraint) {
        Ok(c) => c,
        Err(e) => {
            let decl_at = format!(
                "{}:{},{}-{}",
                decl.decl_range.filename,
                decl.decl_range.start.line,
                decl.decl_range.start.column,
                decl.decl_range.end.column
            );
            return Err(one(Diagnostic::error(
                "Invalid value for input variable",
                format!(
                    "The given value is not suitable for var.{name} declared at {decl_at}: {e}."
                ),
            )
            .with_subject_opt(range.or(Some(decl.decl_range.clone())))));
        }
    };
    let converted = if decl.sensitive {
        converted.mark(Marks::SENSITIVE)
    } else {
        converted
    };
    if !decl.validations.is_empty() {
        // Validation rules see the variable itself.
        w.store
            .vars
            .write()
            .expect("store")
            .insert((mi.clone(), name.clone()), converted.clone());
        let mut ok = true;
        for rule in &decl.validations {
            if !w.check_rule(m, mi, None, rule, "Invalid value for variable") {
                ok = false;
            }
        }
        if !ok {
            return Err(Diagnostics::new());
        }
    }
    Ok(converted)
}

/// The instance keys of a for_each value.
pub fn for_each_keys(v: &Value, range: &SourceRange) -> Result<Expansion, Diagnostics> {
    let bad = |detail: String| {
        Err(one(
            Diagnostic::error("Invalid for_each argument", detail).with_subject(range.clone())
        ))
    };
    if v.is_sensitive_deep() && v.marks().is_sensitive() {
        return bad("Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. If used, the sensitive value could be exposed as a resource instance key.".into());
    }
    if !v.is_known() {
        return bad(unknown_for_each_detail(matches!(v.ty(), Type::Set(_))));
    }
    if v.is_null() {
        return bad("The given \"for_each\" argument value is unsuitable: the given \"for_each\" argument value is null. A map, or set of strings is allowed.".into());
    }
    match v.unmarked() {
        Value::Map(_, m) => Ok(Expansion::ForEach(
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )),
        Value::Object(m) => Ok(Expansion::ForEach(
            m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        )),
        Value::Set(ety, elems) => {
            if *ety != Type::String {
                return bad(format!("The given \"for_each\" argument value is unsuitable: \"for_each\" supports maps and sets of strings, but you have provided a set containing type {}.", ety.friendly_name()));
            }
            let mut out = Vec::new();
            for e in elems {
                if !e.is_known() {
                    return bad(unknown_for_each_detail(true));
                }
                match e.unmarked() {
                    Value::String(s) => out.push((s.clone(), e.clone())),
                    _ => return bad("The given \"for_each\" argument value is unsuitable: \"for_each\" sets must not contain null values.".into()),
                }
            }
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Expansion::ForEach(out))
        }
        other => bad(format!("The given \"for_each\" argument value is unsuitable: the \"for_each\" argument must be a map, or set of strings, and you have provided a value of type {}.", other.ty().friendly_name())),
    }
}

fn unknown_for_each_detail(set: bool) -> String {
    let what = if set {
        "set includes values"
    } else {
        "map includes keys"
    };
    format!("The \"for_each\" {what} derived from resource attributes that cannot be determined until apply, and so Terraform cannot determine the full set of keys that will identify the instances of this resource.\n\nWhen working with unknown values in for_each, it's better to define the map keys statically in your configuration and place apply-time results only in the map values.\n\nAlternatively, you could use the -target planning option to first apply only the resources that the for_each value depends on, and then apply a second time to fully converge.")
}

/// Replaces ignored attributes of the configuration with their prior values.
pub fn apply_ignore_changes(ignore: &IgnoreChanges, prior: &Value, config: Value) -> Value {
    if prior.is_null() || !prior.is_known() {
        return config;
    }
    match ignore {
        IgnoreChanges::None => config,
        IgnoreChanges::All => {
            let (p, _) = prior.clone().unmark_deep();
            p
        }
        IgnoreChanges::Paths(exprs) => {
            let (prior, _) = prior.clone().unmark_deep();
            let mut config = config;
            for e in exprs {
                if let Some(path) = expr_path(e) {
                    let pv = get_path(&prior, &path);
                    config = set_path(config, &path, pv);
                }
            }
            config
        }
    }
}

fn expr_path(e: &config::Expr) -> Option<Vec<PathStep>> {
    match &e.kind {
        ExprKind::ScopeTraversal { root, steps } => {
            let mut out = vec![PathStep::Attr(root.clone())];
            for s in steps {
                out.push(match s {
                    Traverser::Attr { name, .. } => PathStep::Attr(name.clone()),
                    Traverser::Index { key, .. } => PathStep::Index(key.clone()),
                });
            }
            Some(out)
        }
        ExprKind::Literal(Value::String(s)) => Some(vec![PathStep::Attr(s.clone())]),
        _ => None,
    }
}

fn get_path(v: &Value, path: &[PathStep]) -> Option<Value> {
    let mut cur = v.clone();
    for s in path {
        cur = match s {
            PathStep::Attr(a) => cur.get_attr(a)?,
            PathStep::Index(k) => cur.index(k)?,
        };
    }
    Some(cur)
}

fn set_path(v: Value, path: &[PathStep], new: Option<Value>) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return new.unwrap_or(v);
    };
    let (u, marks) = v.unmark();
    let out = match (u, first) {
        (Value::Object(mut m), PathStep::Attr(a)) => {
            if let Some(slot) = m.remove(a) {
                m.insert(a.clone(), set_path(slot, rest, new));
            }
            Value::Object(m)
        }
        (Value::Map(t, mut m), PathStep::Index(Value::String(k))) => {
            match m.remove(k) {
                Some(slot) => {
                    m.insert(k.clone(), set_path(slot, rest, new));
                }
                None if rest.is_empty() => {
                    if let Some(n) = new {
                        m.insert(k.clone(), n);
                    }
                }
                None => {}
            }
            Value::Map(t, m)
        }
        (other, _) => other,
    };
    out.mark(marks)
}

/// Root module variable values given from outside (by the operations layer), converted later.
pub type RootValues = BTreeMap<String, InputValue>;
