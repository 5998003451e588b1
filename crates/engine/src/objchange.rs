//! Terraform's object-change rules: the proposed new state a provider plans from (config where
//! set, prior state where the provider computes), and schema-driven sensitivity marks.

use std::collections::BTreeMap;

use providers::schema::{Attribute, Block, NestingMode};
use value::{Marks, PathStep, Type, Value};

/// The proposed new state for PlanResourceChange: configured values win; attributes that are
/// computed and left null in config keep their prior value (null on create).
pub fn proposed_new(schema: &Block, prior: &Value, config: &Value) -> Value {
    if config.is_null() || !config.is_known() {
        return config.clone();
    }
    let prior = if prior.is_known() {
        prior.clone()
    } else {
        Value::null(schema.implied_type())
    };
    proposed_block(schema, &prior, config)
}

fn attr_of<'a>(v: &'a Value, name: &str) -> Option<&'a Value> {
    match v.unmarked() {
        Value::Object(m) => m.get(name),
        _ => None,
    }
}

fn proposed_block(schema: &Block, prior: &Value, config: &Value) -> Value {
    let (config_u, config_marks) = config.clone().unmark();
    let prior_null = prior.is_null();
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let cv = attr_of(&config_u, name)
            .cloned()
            .unwrap_or_else(|| Value::null(attr.ty.clone()));
        let pv = if prior_null {
            None
        } else {
            attr_of(prior, name).cloned()
        };
        out.insert(name.clone(), proposed_attr(attr, pv, cv));
    }
    for (name, nb) in &schema.block_types {
        let cv = attr_of(&config_u, name)
            .cloned()
            .unwrap_or_else(|| Value::null(Type::Dynamic));
        let pv = if prior_null {
            Value::null(Type::Dynamic)
        } else {
            attr_of(prior, name)
                .cloned()
                .unwrap_or_else(|| Value::null(Type::Dynamic))
        };
        out.insert(
            name.clone(),
            proposed_nested(nb.nesting, &nb.block, &pv, &cv),
        );
    }
    Value::Object(out).mark(config_marks)
}

fn proposed_attr(attr: &Attribute, prior: Option<Value>, config: Value) -> Value {
    if attr.computed && config.is_null() {
        // The prior value (null on create): the provider decides what becomes unknown.
        // Exception: an optional nested attribute whose prior holds configured
        // (non-computed) values must have been unset in config since, so null it is.
        let prior = prior.unwrap_or_else(|| Value::null(attr.ty.clone()));
        return if optional_value_not_computable(attr, &prior) {
            config
        } else {
            prior
        };
    }
    if let Some((mode, block)) = &attr.nested {
        if config.is_null() || !config.is_known() {
            return config;
        }
        let pv = prior.unwrap_or_else(|| Value::null(Type::Dynamic));
        return proposed_nested(*mode, block, &pv, &config);
    }
    config
}

fn proposed_nested(mode: NestingMode, block: &Block, prior: &Value, config: &Value) -> Value {
    if !config.is_known() {
        return config.clone();
    }
    let (cu, cmarks) = config.clone().unmark();
    let pu = prior.unmarked();
    let v = match (mode, &cu) {
        (NestingMode::Single | NestingMode::Group, _) => {
            if cu.is_null() {
                return cu.mark(cmarks);
            }
            proposed_block(block, pu, &cu)
        }
        (NestingMode::List, Value::List(ety, elems)) => {
            let prior_elems: &[Value] = match pu {
                Value::List(_, p) => p,
                _ => &[],
            };
            let out: Vec<Value> = elems
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    let p = prior_elems
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| Value::null(ety.clone()));
                    proposed_block(block, &p, e)
                })
                .collect();
            Value::list_of(ety.clone(), out)
        }
        (NestingMode::List, Value::Tuple(elems)) => {
            let prior_elems: &[Value] = match pu {
                Value::Tuple(p) | Value::List(_, p) => p,
                _ => &[],
            };
            Value::Tuple(
                elems
                    .iter()
                    .enumerate()
                    .map(|(i, e)| {
                        let p = prior_elems
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| Value::null(Type::Dynamic));
                        proposed_block(block, &p, e)
                    })
                    .collect(),
            )
        }
        (NestingMode::Map, Value::Map(ety, entries)) => {
            let out = entries
                .iter()
                .map(|(k, e)| {
                    let p = match pu {
                        Value::Map(_, m) => m.get(k).cloned(),
                        _ => None,
                    }
                    .unwrap_or_else(|| Value::null(ety.clone()));
                    (k.clone(), proposed_block(block, &p, e))
                })
                .collect();
            Value::map_of(ety.clone(), out)
        }
        (NestingMode::Map, Value::Object(entries)) => Value::Object(
            entries
                .iter()
                .map(|(k, e)| {
                    let p = match pu {
                        Value::Object(m) | Value::Map(_, m) => m.get(k).cloned(),
                        _ => None,
                    }
                    .unwrap_or_else(|| Value::null(Type::Dynamic));
                    (k.clone(), proposed_block(block, &p, e))
                })
                .collect(),
        ),
        (NestingMode::Set, Value::Set(ety, elems)) => {
            // Set elements have no identity: pair each configured element with a prior element
            // whose configurable (non-computed) attributes are equal, so computed attributes
            // of unchanged elements keep their prior values.
            let prior_elems: Vec<Value> = match pu {
                Value::Set(_, p) => p.clone(),
                _ => Vec::new(),
            };
            let mut used = vec![false; prior_elems.len()];
            let out: Vec<Value> = elems
                .iter()
                .map(|e| {
                    let found = prior_elems
                        .iter()
                        .enumerate()
                        .position(|(i, p)| !used[i] && configurable_equal(block, p, e));
                    let p = match found {
                        Some(i) => {
                            used[i] = true;
                            prior_elems[i].clone()
                        }
                        None => Value::null(ety.clone()),
                    };
                    proposed_block(block, &p, e)
                })
                .collect();
            Value::set_of(ety.clone(), out)
        }
        _ => cu.clone(),
    };
    v.mark(cmarks)
}

/// Whether two block objects agree on every attribute the configuration sets.
fn configurable_equal(block: &Block, prior: &Value, config: &Value) -> bool {
    for (name, attr) in &block.attributes {
        let c = attr_of(config, name);
        if attr.computed && c.is_none_or(|c| c.is_null()) {
            continue;
        }
        let p = attr_of(prior, name);
        match (p, c) {
            (Some(p), Some(c)) => {
                if !p.unmarked().raw_equals(c.unmarked()) {
                    return false;
                }
            }
            (None, None) => {}
            _ => return false,
        }
    }
    for name in block.block_types.keys() {
        let (p, c) = (attr_of(prior, name), attr_of(config, name));
        match (p, c) {
            (Some(p), Some(c)) if p.unmarked().raw_equals(c.unmarked()) => {}
            (None, None) => {}
            _ => return false,
        }
    }
    true
}

/// Marks every attribute the schema declares sensitive (what Terraform does when a resource's
/// value is read for references and for the plan's `after_sensitive`).
pub fn mark_schema_sensitive(schema: &Block, v: Value) -> Value {
    if !schema_has_sensitive(schema) {
        return v;
    }
    let (u, marks) = v.unmark();
    let out = match u {
        Value::Object(mut m) => {
            for (name, attr) in &schema.attributes {
                if let Some(slot) = m.get_mut(name) {
                    let inner = std::mem::replace(slot, Value::null(Type::Dynamic));
                    let inner = if let Some((mode, b)) = &attr.nested {
                        mark_nested(*mode, b, inner)
                    } else {
                        inner
                    };
                    *slot = if attr.sensitive {
                        inner.mark(Marks::SENSITIVE)
                    } else {
                        inner
                    };
                }
            }
            for (name, nb) in &schema.block_types {
                if let Some(slot) = m.get_mut(name) {
                    let inner = std::mem::replace(slot, Value::null(Type::Dynamic));
                    *slot = mark_nested(nb.nesting, &nb.block, inner);
                }
            }
            Value::Object(m)
        }
        other => other,
    };
    out.mark(marks)
}

fn mark_nested(mode: NestingMode, block: &Block, v: Value) -> Value {
    if !schema_has_sensitive(block) {
        return v;
    }
    let (u, marks) = v.unmark();
    let out = match (mode, u) {
        (NestingMode::Single | NestingMode::Group, o) => mark_schema_sensitive(block, o),
        (_, Value::List(t, es)) => Value::List(
            t,
            es.into_iter()
                .map(|e| mark_schema_sensitive(block, e))
                .collect(),
        ),
        (_, Value::Set(t, es)) => Value::Set(
            t,
            es.into_iter()
                .map(|e| mark_schema_sensitive(block, e))
                .collect(),
        ),
        (_, Value::Tuple(es)) => Value::Tuple(
            es.into_iter()
                .map(|e| mark_schema_sensitive(block, e))
                .collect(),
        ),
        (_, Value::Map(t, es)) => Value::Map(
            t,
            es.into_iter()
                .map(|(k, e)| (k, mark_schema_sensitive(block, e)))
                .collect(),
        ),
        (_, Value::Object(es)) => Value::Object(
            es.into_iter()
                .map(|(k, e)| (k, mark_schema_sensitive(block, e)))
                .collect(),
        ),
        (_, other) => other,
    };
    out.mark(marks)
}

fn schema_has_sensitive(b: &Block) -> bool {
    b.attributes.values().any(|a| {
        a.sensitive
            || a.nested
                .as_ref()
                .is_some_and(|(_, nb)| schema_has_sensitive(nb))
    }) || b
        .block_types
        .values()
        .any(|nb| schema_has_sensitive(&nb.block))
}

/// The paths of every marked value inside `v` (for `sensitive_attributes` in state and
/// `after_sensitive` in plans).
pub fn marked_paths(v: &Value) -> Vec<Vec<PathStep>> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    collect_marked(v, &mut path, &mut out);
    out
}

fn collect_marked(v: &Value, path: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    if let Value::Marked(inner, m) = v {
        if m.is_sensitive() {
            out.push(path.clone());
        }
        collect_marked(inner, path, out);
        return;
    }
    match v {
        Value::Object(m) => {
            for (k, e) in m {
                path.push(PathStep::Attr(k.clone()));
                collect_marked(e, path, out);
                path.pop();
            }
        }
        Value::Map(_, m) => {
            for (k, e) in m {
                path.push(PathStep::Index(Value::string(k.clone())));
                collect_marked(e, path, out);
                path.pop();
            }
        }
        Value::List(_, es) | Value::Tuple(es) => {
            for (i, e) in es.iter().enumerate() {
                path.push(PathStep::Index(Value::number(i as i64)));
                collect_marked(e, path, out);
                path.pop();
            }
        }
        Value::Set(_, es) => {
            for e in es {
                path.push(PathStep::Index(e.unmarked().clone()));
                collect_marked(e, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Re-applies the sensitive mark at each of `paths` (the inverse of [`marked_paths`]).
pub fn apply_marked_paths(v: Value, paths: &[Vec<PathStep>]) -> Value {
    let mut v = v;
    for p in paths {
        v = mark_at(v, p);
    }
    v
}

fn mark_at(v: Value, path: &[PathStep]) -> Value {
    let Some((first, rest)) = path.split_first() else {
        return v.mark(Marks::SENSITIVE);
    };
    let (u, marks) = v.unmark();
    let out = match (u, first) {
        (Value::Object(mut m), PathStep::Attr(a)) => {
            if let Some(slot) = m.get_mut(a) {
                let inner = std::mem::replace(slot, Value::null(Type::Dynamic));
                *slot = mark_at(inner, rest);
            }
            Value::Object(m)
        }
        (Value::Map(t, mut m), PathStep::Index(k)) => {
            if let Some(slot) = k.as_str().and_then(|k| m.get_mut(k)) {
                let inner = std::mem::replace(slot, Value::null(Type::Dynamic));
                *slot = mark_at(inner, rest);
            }
            Value::Map(t, m)
        }
        (Value::List(t, mut es), PathStep::Index(k)) => {
            if let Some(slot) = index_of(k).and_then(|i| es.get_mut(i)) {
                let inner = std::mem::replace(slot, Value::null(Type::Dynamic));
                *slot = mark_at(inner, rest);
            }
            Value::List(t, es)
        }
        (Value::Tuple(mut es), PathStep::Index(k)) => {
            if let Some(slot) = index_of(k).and_then(|i| es.get_mut(i)) {
                let inner = std::mem::replace(slot, Value::null(Type::Dynamic));
                *slot = mark_at(inner, rest);
            }
            Value::Tuple(es)
        }
        (Value::Set(t, es), PathStep::Index(k)) => Value::Set(
            t,
            es.into_iter()
                .map(|e| {
                    if e.unmarked().raw_equals(k) {
                        mark_at(e, rest)
                    } else {
                        e
                    }
                })
                .collect(),
        ),
        (other, _) => other,
    };
    out.mark(marks)
}

fn index_of(k: &Value) -> Option<usize> {
    k.as_number()
        .and_then(|n| n.to_i64())
        .and_then(|i| usize::try_from(i).ok())
}

/// The planned value of a data source whose read waits until apply: the configuration with
/// every computed attribute it leaves null unknown, nested blocks included (Terraform's
/// `PlannedDataResourceObject`).
pub fn planned_data_object(schema: &Block, config: &Value) -> Value {
    let (cu, marks) = config.clone().unmark();
    let Value::Object(m) = cu else {
        return config.clone();
    };
    let mut out = BTreeMap::new();
    for (name, attr) in &schema.attributes {
        let v = m
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::null(attr.ty.clone()));
        let v = if attr.computed && v.is_null() {
            Value::unknown(attr.ty.clone())
        } else {
            match &attr.nested {
                Some((_, b)) if v.is_known() && !v.is_null() => {
                    map_elements(&v, |e| planned_data_object(b, e))
                }
                _ => v,
            }
        };
        out.insert(name.clone(), v);
    }
    for (name, nb) in &schema.block_types {
        let v = m
            .get(name)
            .cloned()
            .unwrap_or_else(|| Value::null(nb.block.implied_type()));
        let v = if v.is_known() && !v.is_null() {
            map_elements(&v, |e| planned_data_object(&nb.block, e))
        } else {
            v
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out).mark(marks)
}

/// Applies `f` to an object, or to each element of a collection of objects.
fn map_elements(v: &Value, f: impl Fn(&Value) -> Value) -> Value {
    let (u, marks) = v.clone().unmark();
    let out = match u {
        Value::Object(_) => f(&u),
        Value::List(t, vs) => Value::List(t, vs.iter().map(&f).collect()),
        Value::Set(t, vs) => Value::set_of(t, vs.iter().map(&f).collect()),
        Value::Tuple(vs) => Value::Tuple(vs.iter().map(&f).collect()),
        Value::Map(t, m) => Value::Map(t, m.iter().map(|(k, e)| (k.clone(), f(e))).collect()),
        other => other,
    };
    out.mark(marks)
}

/// Whether a prior value of an optional nested attribute holds a non-null value of a
/// non-computed nested attribute, which only configuration can have set.
fn optional_value_not_computable(attr: &Attribute, prior: &Value) -> bool {
    if !attr.optional || prior.is_null() {
        return false;
    }
    let Some((_, block)) = &attr.nested else {
        return false;
    };
    fn holds_configured(block: &Block, v: &Value) -> bool {
        match v.unmarked() {
            Value::Object(m) => block.attributes.iter().any(|(name, a)| {
                let Some(x) = m.get(name) else { return false };
                if x.is_null() {
                    return false;
                }
                if !a.computed {
                    return true;
                }
                match &a.nested {
                    Some((_, b)) => holds_configured(b, x),
                    None => false,
                }
            }),
            Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => {
                vs.iter().any(|e| holds_configured(block, e))
            }
            Value::Map(_, m) => m.values().any(|e| holds_configured(block, e)),
            _ => false,
        }
    }
    holds_configured(block, prior)
}

#[cfg(test)]
mod tests {
    use super::*;
    use providers::schema::Attribute;

    fn schema() -> Block {
        let mut b = Block::default();
        b.attributes.insert(
            "id".into(),
            Attribute {
                ty: Type::String,
                computed: true,
                ..Default::default()
            },
        );
        b.attributes.insert(
            "name".into(),
            Attribute {
                ty: Type::String,
                optional: true,
                ..Default::default()
            },
        );
        b.attributes.insert(
            "secret".into(),
            Attribute {
                ty: Type::String,
                optional: true,
                sensitive: true,
                ..Default::default()
            },
        );
        b
    }

    fn obj(id: Value, name: &str) -> Value {
        Value::object([
            ("id".to_string(), id),
            ("name".to_string(), Value::string(name)),
            ("secret".to_string(), Value::null(Type::String)),
        ])
    }

    #[test]
    fn create_leaves_computed_null_and_update_keeps_prior() {
        let s = schema();
        let config = obj(Value::null(Type::String), "a");
        let created = proposed_new(&s, &Value::null(s.implied_type()), &config);
        // As in Terraform: the provider, not the proposal, makes it unknown.
        assert!(created.get_attr("id").unwrap().is_null());
        assert_eq!(created.get_attr("name").unwrap().as_str(), Some("a"));

        let prior = obj(Value::string("x1"), "a");
        let updated = proposed_new(&s, &prior, &obj(Value::null(Type::String), "b"));
        assert_eq!(updated.get_attr("id").unwrap().as_str(), Some("x1"));
        assert_eq!(updated.get_attr("name").unwrap().as_str(), Some("b"));
    }

    #[test]
    fn sensitive_marks_round_trip_through_paths() {
        let s = schema();
        let v = mark_schema_sensitive(&s, obj(Value::string("i"), "n"));
        let paths = marked_paths(&v);
        assert_eq!(paths, vec![vec![PathStep::Attr("secret".into())]]);
        let (plain, _) = v.unmark_deep();
        let again = apply_marked_paths(plain, &paths);
        assert_eq!(marked_paths(&again), paths);
    }
}
