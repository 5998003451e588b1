//! Decoding a body against a provider schema: attributes converted to their types, nested
//! blocks gathered by nesting mode, `dynamic` blocks expanded, and every schema violation
//! reported with Terraform's wording.

use std::collections::BTreeMap;

use config::{Block as CBlock, Body};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use providers::schema::{Block, NestingMode};
use value::{Type, Value};

use crate::eval::{iterate, Evaluator};
use crate::Scope;

fn err(summary: impl Into<String>, detail: impl Into<String>, r: &SourceRange) -> Diagnostic {
    Diagnostic::error(summary, detail).with_subject(r.clone())
}

fn at(r: &SourceRange) -> String {
    format!(
        "{}:{},{}-{}",
        r.filename, r.start.line, r.start.column, r.end.column
    )
}

/// A nested block instance ready to decode: its body, labels, range, and the iterator bindings
/// in force (from enclosing `dynamic` blocks).
struct Item<'b> {
    body: &'b Body,
    labels: Vec<String>,
    range: SourceRange,
    bindings: Vec<(String, Value)>,
}

pub(crate) fn decode(scope: &Scope, body: &Body, schema: &Block, diags: &mut Diagnostics) -> Value {
    let mut ev = Evaluator::new(scope);
    decode_body(&mut ev, body, schema, &body.range, &[], diags)
}

fn decode_body(
    ev: &mut Evaluator,
    body: &Body,
    schema: &Block,
    open: &SourceRange,
    bindings: &[(String, Value)],
    diags: &mut Diagnostics,
) -> Value {
    value::depth::guard(|| {
        let mut out: BTreeMap<String, Value> = BTreeMap::new();
        for (name, a) in &body.attributes {
            match schema.attributes.get(name) {
                Some(attr) => {
                    if attr.computed && !attr.optional && !attr.required {
                        diags.push(err(
                        "Value for unconfigurable attribute",
                        format!("Can't configure a value for {name:?}: its value will be decided automatically based on the result of applying this configuration."),
                        &a.name_range,
                    ));
                        continue;
                    }
                    let v = ev.eval_bound(&a.expr, bindings, diags);
                    match value::convert::convert(&v, &attr.ty) {
                        Ok(c) => {
                            out.insert(name.clone(), c);
                        }
                        Err(e) => diags.push(err(
                            "Incorrect attribute value type",
                            format!("Inappropriate value for attribute {name:?}: {e}."),
                            &a.expr.range,
                        )),
                    }
                }
                None => {
                    let detail = if schema.block_types.contains_key(name) {
                        format!("An argument named {name:?} is not expected here. Did you mean to define a block of type {name:?}?")
                    } else {
                        match similar(name, schema.attributes.keys()) {
                            Some(s) => format!(
                            "An argument named {name:?} is not expected here. Did you mean {s:?}?"
                        ),
                            None => format!("An argument named {name:?} is not expected here."),
                        }
                    };
                    diags.push(err("Unsupported argument", detail, &a.name_range));
                }
            }
        }
        for (name, attr) in &schema.attributes {
            if !out.contains_key(name) {
                if attr.required && !body.attributes.contains_key(name) {
                    diags.push(err(
                        "Missing required argument",
                        format!("The argument {name:?} is required, but no definition was found."),
                        open,
                    ));
                }
                out.insert(name.clone(), Value::null(attr.ty.clone()));
            }
        }
        // Nested blocks, with `dynamic` ones expanded. Blocks may also stand for a list- or
        // set-of-objects attribute that the body does not assign (Terraform's "attributes as
        // blocks" mode, which legacy SDK providers such as aws_security_group.ingress rely on).
        let as_attr = |name: &str| {
            !body.attributes.contains_key(name)
                && schema
                    .attributes
                    .get(name)
                    .and_then(attr_as_blocks)
                    .is_some()
        };
        let mut items: BTreeMap<String, Vec<Item>> = BTreeMap::new();
        let mut unknown_types: Vec<String> = Vec::new();
        for b in &body.blocks {
            if b.type_name == "dynamic" {
                expand_dynamic(
                    ev,
                    b,
                    (schema, &as_attr),
                    bindings,
                    (&mut items, &mut unknown_types),
                    diags,
                );
                continue;
            }
            if !schema.block_types.contains_key(&b.type_name) && !as_attr(&b.type_name) {
                unsupported_block(b, schema, diags);
                continue;
            }
            items.entry(b.type_name.clone()).or_default().push(Item {
                body: &b.body,
                labels: b.labels.clone(),
                range: b.def_range.clone(),
                bindings: bindings.to_vec(),
            });
        }
        for (name, nb) in &schema.block_types {
            let ety = nb.block.implied_type();
            let its = items.remove(name).unwrap_or_default();
            if unknown_types.contains(name) {
                // A `dynamic` block of this type has an unknown for_each, so the whole set of
                // blocks is unknown; static blocks beside it are still checked.
                for it in &its {
                    let open = it.body.range.clone();
                    decode_body(ev, it.body, &nb.block, &open, &it.bindings, diags);
                }
                let ty = match nb.nesting {
                    NestingMode::List => Type::list(ety),
                    NestingMode::Set => Type::set(ety),
                    NestingMode::Map => Type::map(ety),
                    _ => ety,
                };
                out.insert(name.clone(), Value::unknown(ty));
                continue;
            }
            let n = its.len() as u64;
            if nb.min_items > 0 && n < nb.min_items {
                diags.push(err(
                    format!("Insufficient {name} blocks"),
                    format!("At least {} \"{name}\" blocks are required.", nb.min_items),
                    open,
                ));
            }
            if nb.max_items > 0
                && n > nb.max_items
                && !matches!(nb.nesting, NestingMode::Single | NestingMode::Group)
            {
                diags.push(err(
                    format!("Too many {name} blocks"),
                    format!(
                        "No more than {} \"{name}\" blocks are allowed",
                        nb.max_items
                    ),
                    &its[nb.max_items as usize].range,
                ));
            }
            let decode_item = |ev: &mut Evaluator, it: &Item, diags: &mut Diagnostics| -> Value {
                let open = it.body.range.clone();
                decode_body(ev, it.body, &nb.block, &open, &it.bindings, diags)
            };
            let v = match nb.nesting {
                NestingMode::Single | NestingMode::Group => {
                    if its.len() > 1 {
                        diags.push(err(
                            format!("Duplicate {name} block"),
                            format!(
                                "Only one {name:?} block is allowed. Another was defined at {}.",
                                at(&its[0].range)
                            ),
                            &its[1].range,
                        ));
                    }
                    match its.first() {
                        Some(it) => decode_item(ev, it, diags),
                        None if nb.nesting == NestingMode::Group => decode_body(
                            ev,
                            &Body::default(),
                            &nb.block,
                            open,
                            bindings,
                            &mut Diagnostics::new(),
                        ),
                        None => Value::null(ety.clone()),
                    }
                }
                NestingMode::List => {
                    let vs: Vec<Value> = its.iter().map(|it| decode_item(ev, it, diags)).collect();
                    if ety.has_dynamic() {
                        Value::Tuple(vs)
                    } else {
                        Value::list_of(
                            ety.clone(),
                            vs.into_iter()
                                .map(|v| value::convert::convert(&v, &ety).unwrap_or(v))
                                .collect(),
                        )
                    }
                }
                NestingMode::Set => {
                    let vs: Vec<Value> = its
                        .iter()
                        .map(|it| decode_item(ev, it, diags))
                        .map(|v| value::convert::convert(&v, &ety).unwrap_or(v))
                        .collect();
                    Value::set_of(ety.clone(), vs)
                }
                NestingMode::Map => {
                    let mut m = BTreeMap::new();
                    for it in &its {
                        let Some(label) = it.labels.first() else {
                            diags.push(err(
                                format!("Missing {name} label"),
                                format!("A {name} block requires one label."),
                                &it.range,
                            ));
                            continue;
                        };
                        let v = decode_item(ev, it, diags);
                        if m.insert(label.clone(), v).is_some() {
                            diags.push(err(
                                format!("Duplicate {name} block"),
                                format!(
                                    "A {name} block with the label {label:?} was already defined."
                                ),
                                &it.range,
                            ));
                        }
                    }
                    if ety.has_dynamic() {
                        Value::Object(m)
                    } else {
                        Value::map_of(
                            ety.clone(),
                            m.into_iter()
                                .map(|(k, v)| (k, value::convert::convert(&v, &ety).unwrap_or(v)))
                                .collect(),
                        )
                    }
                }
            };
            out.insert(name.clone(), v);
        }
        // What is left are blocks standing for attributes.
        for (name, its) in items {
            let Some((obj, set)) = schema.attributes.get(&name).and_then(attr_as_blocks) else {
                continue;
            };
            let synthetic = Block {
                attributes: obj
                    .attrs
                    .iter()
                    .map(|(k, t)| {
                        let a = providers::schema::Attribute {
                            ty: t.clone(),
                            optional: true,
                            ..Default::default()
                        };
                        (k.clone(), a)
                    })
                    .collect(),
                ..Default::default()
            };
            let ety = Type::Object(obj.clone());
            let vs: Vec<Value> = its
                .iter()
                .map(|it| {
                    let v =
                        decode_body(ev, it.body, &synthetic, &it.body.range, &it.bindings, diags);
                    value::convert::convert(&v, &ety).unwrap_or(v)
                })
                .collect();
            if unknown_types.contains(&name) {
                continue;
            }
            let v = if set {
                Value::set_of(ety, vs)
            } else {
                Value::list_of(ety, vs)
            };
            out.insert(name, v);
        }
        for name in unknown_types {
            if let Some(attr) = schema.attributes.get(&name) {
                out.insert(name, Value::unknown(attr.ty.clone()));
            }
        }
        Value::Object(out)
    })
}

/// The element object type of an attribute that may be written as blocks, and whether the
/// attribute is a set: a list or set of objects without a protocol-6 nested type.
fn attr_as_blocks(attr: &providers::schema::Attribute) -> Option<(&value::ObjectType, bool)> {
    if attr.nested.is_some() {
        return None;
    }
    match &attr.ty {
        Type::List(e) => match e.as_ref() {
            Type::Object(o) => Some((o, false)),
            _ => None,
        },
        Type::Set(e) => match e.as_ref() {
            Type::Object(o) => Some((o, true)),
            _ => None,
        },
        _ => None,
    }
}

fn unsupported_block(b: &CBlock, schema: &Block, diags: &mut Diagnostics) {
    let name = &b.type_name;
    let detail = if schema.attributes.contains_key(name) {
        format!("Blocks of type {name:?} are not expected here. Did you mean to define argument {name:?}? If so, use the equals sign to assign it a value.")
    } else {
        format!("Blocks of type {name:?} are not expected here.")
    };
    diags.push(err("Unsupported block type", detail, &b.type_range));
}

fn expand_dynamic<'b>(
    ev: &mut Evaluator,
    b: &'b CBlock,
    (schema, as_attr): (&Block, &dyn Fn(&str) -> bool),
    bindings: &[(String, Value)],
    (items, unknown_types): (&mut BTreeMap<String, Vec<Item<'b>>>, &mut Vec<String>),
    diags: &mut Diagnostics,
) {
    let Some(ty) = b.labels.first() else {
        diags.push(err(
            "Missing dynamic block type",
            "A dynamic block requires one label: the type of the blocks it generates.",
            &b.def_range,
        ));
        return;
    };
    if !schema.block_types.contains_key(ty) && !as_attr(ty) {
        let fake = CBlock {
            type_name: ty.clone(),
            type_range: b
                .label_ranges
                .first()
                .cloned()
                .unwrap_or_else(|| b.type_range.clone()),
            ..b.clone()
        };
        unsupported_block(&fake, schema, diags);
        return;
    }
    let Some(fe) = b.body.attributes.get("for_each") else {
        diags.push(err(
            "Missing required argument",
            "The argument \"for_each\" is required, but no definition was found.",
            &b.open_range,
        ));
        return;
    };
    let iterator = b
        .body
        .attributes
        .get("iterator")
        .and_then(|a| config::traversal_text(&a.expr))
        .unwrap_or_else(|| ty.clone());
    let Some(content) = b.body.blocks_of("content").next() else {
        diags.push(err("Missing content block", "A dynamic block must have a nested block of type \"content\" to describe the body of each generated block.", &b.open_range));
        return;
    };
    let coll = ev.eval_bound(&fe.expr, bindings, diags);
    let (cu, marks) = coll.unmark();
    if !cu.is_known() {
        unknown_types.push(ty.clone());
        return;
    }
    if cu.is_null() {
        diags.push(err(
            "Invalid dynamic for_each value",
            "Cannot use a null value in for_each.",
            &fe.expr.range,
        ));
        return;
    }
    let Some(elems) = iterate(&cu) else {
        diags.push(err(
            "Invalid dynamic for_each value",
            format!(
                "Cannot use a {} value in for_each. An iterable collection is required.",
                cu.ty().friendly_name()
            ),
            &fe.expr.range,
        ));
        return;
    };
    for (k, v) in elems {
        let it = Value::object([
            ("key".to_string(), k.mark(marks)),
            ("value".to_string(), v.mark(marks)),
        ]);
        let mut bs = bindings.to_vec();
        bs.push((iterator.clone(), it));
        let labels = match b.body.attributes.get("labels") {
            Some(l) => {
                let lv = ev.eval_bound(&l.expr, &bs, diags);
                match lv.unmarked() {
                    Value::Tuple(ls) | Value::List(_, ls) => ls
                        .iter()
                        .filter_map(|x| x.unmarked().as_str().map(String::from))
                        .collect(),
                    _ => Vec::new(),
                }
            }
            None => Vec::new(),
        };
        items.entry(ty.clone()).or_default().push(Item {
            body: &content.body,
            labels,
            range: b.def_range.clone(),
            bindings: bs,
        });
    }
}

/// A similar name for "Did you mean" suggestions.
fn similar<'a>(name: &str, candidates: impl Iterator<Item = &'a String>) -> Option<&'a String> {
    candidates
        .filter(|c| strsim::levenshtein(name, c) <= 2)
        .min_by_key(|c| strsim::levenshtein(name, c))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use providers::schema::{Attribute, Block, NestedBlock, NestingMode};
    use value::{Type, Value};

    use crate::{MapData, Reference, Scope};

    fn schema() -> Block {
        let inner = Block {
            attributes: [(
                "port".to_string(),
                Attribute {
                    ty: Type::Number,
                    optional: true,
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        };
        Block {
            block_types: [(
                "rule".to_string(),
                NestedBlock {
                    nesting: NestingMode::List,
                    block: inner,
                    ..Default::default()
                },
            )]
            .into(),
            ..Default::default()
        }
    }

    fn decode(src: &str) -> (Value, diagnostics::Diagnostics) {
        let mut ds = diagnostics::Diagnostics::new();
        let body = config::load::parse_file(src, "main.tf", &mut ds).expect("parses");
        let mut values = HashMap::new();
        values.insert(Reference::Var("u".into()), Value::dynamic_unknown());
        let data = MapData { values };
        Scope::new(&data, std::env::temp_dir()).eval_block(&body, &schema())
    }

    #[test]
    fn static_and_dynamic_blocks_with_unknown_for_each() {
        let (v, ds) = decode(
            "rule {\n  port = 1\n}\ndynamic \"rule\" {\n  for_each = var.u\n  content {\n    port = rule.value\n  }\n}\n",
        );
        assert!(!ds.has_errors(), "{ds:?}");
        let Value::Object(m) = v else { panic!("{v:?}") };
        assert!(!m["rule"].is_known(), "{:?}", m["rule"]);
    }

    #[test]
    fn static_sibling_of_unknown_dynamic_block_is_still_checked() {
        let (_, ds) = decode(
            "rule {\n  nope = 1\n}\ndynamic \"rule\" {\n  for_each = var.u\n  content {}\n}\n",
        );
        assert!(
            ds.iter().any(|d| d.summary == "Unsupported argument"),
            "{ds:?}"
        );
    }
}
