//! Terraform's JSON configuration syntax (`.tf.json`, `.tfvars.json`): block types nest their
//! labels as object keys, strings in configuration are templates, `"//"` keys are comments.
//! Positions are approximate (serde_json keeps no spans): diagnostics point at the file.

use diagnostics::{Diagnostic, Diagnostics, LineIndex, SourceRange};
use serde_json::Value as Json;
use value::{Number, Value};

use crate::body::{Attribute, Block, Body};
use crate::expr::{Expr, ExprKind, ObjectKey};

/// Label counts of top-level block types.
fn top_labels(t: &str) -> Option<usize> {
    Some(match t {
        "resource" | "data" => 2,
        "variable" | "output" | "module" | "provider" | "check" => 1,
        "locals" | "terraform" | "moved" | "import" | "removed" => 0,
        _ => return None,
    })
}

/// Nested block types Terraform itself decodes (resource schema blocks are decoded later).
fn nested_labels(t: &str) -> Option<usize> {
    Some(match t {
        "lifecycle" | "connection" | "validation" | "precondition" | "postcondition"
        | "required_providers" | "cloud" | "assert" => 0,
        "provisioner" | "backend" | "dynamic" => 1,
        _ => return None,
    })
}

struct Cx<'a> {
    range: SourceRange,
    idx: &'a LineIndex,
    template_strings: bool,
}

fn value_expr(j: &Json, cx: &Cx, diags: &mut Diagnostics) -> Expr {
    let kind = match j {
        Json::Null => ExprKind::Literal(Value::null(value::Type::Dynamic)),
        Json::Bool(b) => ExprKind::Literal(Value::bool(*b)),
        Json::Number(n) => ExprKind::Literal(Value::Number(
            Number::parse(&n.to_string()).unwrap_or_else(Number::zero),
        )),
        Json::String(s) => {
            if cx.template_strings && (s.contains("${") || s.contains("%{")) {
                match crate::parse_template(s, &cx.range.filename) {
                    Ok(mut e) => {
                        e.range = cx.range.clone();
                        return e;
                    }
                    Err(ds) => {
                        diags.extend(ds.0);
                        ExprKind::Literal(Value::string(s.clone()))
                    }
                }
            } else {
                ExprKind::Literal(Value::string(s.clone()))
            }
        }
        Json::Array(a) => ExprKind::Tuple(a.iter().map(|e| value_expr(e, cx, diags)).collect()),
        Json::Object(m) => ExprKind::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "//")
                .map(|(k, v)| {
                    (
                        ObjectKey::Ident(k.clone(), cx.range.clone()),
                        value_expr(v, cx, diags),
                    )
                })
                .collect(),
        ),
    };
    let _ = cx.idx;
    Expr {
        kind,
        range: cx.range.clone(),
    }
}

fn body(obj: &serde_json::Map<String, Json>, top: bool, cx: &Cx, diags: &mut Diagnostics) -> Body {
    let mut b = Body {
        range: cx.range.clone(),
        ..Default::default()
    };
    for (k, v) in obj {
        if k == "//" {
            continue;
        }
        let labels = if top { top_labels(k) } else { nested_labels(k) };
        match labels {
            Some(n) => blocks(k, v, n, Vec::new(), &mut b, cx, diags),
            None => {
                b.attributes.insert(
                    k.clone(),
                    Attribute {
                        name: k.clone(),
                        expr: value_expr(v, cx, diags),
                        range: cx.range.clone(),
                        name_range: cx.range.clone(),
                    },
                );
            }
        }
    }
    b
}

fn blocks(
    ty: &str,
    v: &Json,
    remaining: usize,
    labels: Vec<String>,
    out: &mut Body,
    cx: &Cx,
    diags: &mut Diagnostics,
) {
    match v {
        Json::Array(items) => {
            for i in items {
                blocks(ty, i, remaining, labels.clone(), out, cx, diags);
            }
        }
        Json::Object(m) if remaining > 0 => {
            for (k, inner) in m {
                if k == "//" {
                    continue;
                }
                let mut l = labels.clone();
                l.push(k.clone());
                blocks(ty, inner, remaining - 1, l, out, cx, diags);
            }
        }
        Json::Object(m) => {
            let n = labels.len();
            out.blocks.push(Block {
                type_name: ty.to_string(),
                labels,
                label_ranges: vec![cx.range.clone(); n],
                body: body(m, false, cx, diags),
                type_range: cx.range.clone(),
                range: cx.range.clone(),
                def_range: cx.range.clone(),
                open_range: cx.range.clone(),
            });
        }
        _ => diags.push(
            Diagnostic::error(
                "Incorrect JSON value type",
                format!(
                    "A JSON object is required here, to define the content of a \"{ty}\" block."
                ),
            )
            .with_subject(cx.range.clone()),
        ),
    }
}

/// Parses a JSON configuration or variables file into a body.
pub fn parse_file(text: &str, filename: &str, diags: &mut Diagnostics) -> Option<Body> {
    let idx = LineIndex::new(filename, text);
    let j: Json = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            let line = e.line();
            let col = e.column();
            let byte: usize = text
                .split_inclusive('\n')
                .take(line.saturating_sub(1))
                .map(|l| l.len())
                .sum::<usize>()
                + col.saturating_sub(1);
            diags.push(
                Diagnostic::error("Invalid JSON", format!("{e}."))
                    .with_subject(idx.range(byte.min(text.len())..(byte + 1).min(text.len()))),
            );
            return None;
        }
    };
    let Json::Object(m) = &j else {
        diags.push(
            Diagnostic::error(
                "Invalid JSON",
                "The root of a JSON configuration file must be an object.",
            )
            .with_subject(idx.range(0..1.min(text.len()))),
        );
        return None;
    };
    let tfvars = filename.ends_with(".tfvars.json");
    let cx = Cx {
        range: idx.range(0..1.min(text.len())),
        idx: &idx,
        template_strings: !tfvars,
    };
    if tfvars {
        let mut b = Body::default();
        for (k, v) in m {
            b.attributes.insert(
                k.clone(),
                Attribute {
                    name: k.clone(),
                    expr: value_expr(v, &cx, diags),
                    range: cx.range.clone(),
                    name_range: cx.range.clone(),
                },
            );
        }
        return Some(b);
    }
    Some(body(m, true, &cx, diags))
}
