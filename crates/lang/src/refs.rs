//! Static reference analysis: which variables, locals, resources and other objects an
//! expression or body refers to, with Terraform's errors for malformed references.

use config::{Body, Expr, Traverser};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};

use crate::{Reference, ResourceRef};

fn invalid(detail: impl Into<String>, range: &SourceRange) -> Diagnostic {
    Diagnostic::error("Invalid reference", detail).with_subject(range.clone())
}

fn attr(steps: &[Traverser], i: usize) -> Option<&str> {
    match steps.get(i) {
        Some(Traverser::Attr { name, .. }) => Some(name),
        _ => None,
    }
}

/// The reference a traversal (root name and static steps) makes, and how many steps it used.
pub(crate) fn parse_ref(
    root: &str,
    steps: &[Traverser],
    range: &SourceRange,
) -> Result<(Reference, usize), Diagnostic> {
    let need_attr = |what: &str| -> Result<&str, Diagnostic> {
        match steps.first() {
            Some(Traverser::Attr { name, .. }) => Ok(name),
            None => Err(invalid(
                format!("The \"{what}\" object cannot be accessed directly. Instead, access one of its attributes."),
                range,
            )),
            Some(_) => Err(invalid(
                format!("The \"{what}\" object does not support this operation."),
                range,
            )),
        }
    };
    Ok(match root {
        "var" => (Reference::Var(need_attr("var")?.to_string()), 1),
        "local" => (Reference::Local(need_attr("local")?.to_string()), 1),
        "module" => (Reference::Module(need_attr("module")?.to_string()), 1),
        "path" => match need_attr("path")? {
            name @ ("module" | "root" | "cwd") => (Reference::Path(name.to_string()), 1),
            other => {
                return Err(Diagnostic::error(
                    "Invalid \"path\" attribute",
                    format!("The \"path\" object does not have an attribute named {other:?}."),
                )
                .with_subject(range.clone()))
            }
        },
        "terraform" => match need_attr("terraform")? {
            name @ ("workspace" | "applying") => (Reference::Terraform(name.to_string()), 1),
            other => {
                return Err(Diagnostic::error(
                    "Invalid \"terraform\" attribute",
                    format!("The \"terraform\" object does not have an attribute named {other:?}. The only supported attributes are terraform.workspace, the name of the currently-selected workspace, and terraform.applying, a boolean which is true only during apply."),
                )
                .with_subject(range.clone()))
            }
        },
        "self" => (Reference::SelfRef, 0),
        "count" => match need_attr("count")? {
            "index" => (Reference::CountIndex, 1),
            other => {
                return Err(Diagnostic::error(
                    "Invalid \"count\" attribute",
                    format!("The \"count\" object does not have an attribute named {other:?}. The only supported attribute is count.index, which is the index of each instance of a resource block that has the \"count\" argument set."),
                )
                .with_subject(range.clone()))
            }
        },
        "each" => match need_attr("each")? {
            "key" => (Reference::EachKey, 1),
            "value" => (Reference::EachValue, 1),
            other => {
                return Err(Diagnostic::error(
                    "Invalid \"each\" attribute",
                    format!("The \"each\" object does not have an attribute named {other:?}. The supported attributes are each.key and each.value, the current key and value pair of the \"for_each\" attribute set."),
                )
                .with_subject(range.clone()))
            }
        },
        "data" => {
            let (Some(t), Some(n)) = (attr(steps, 0), attr(steps, 1)) else {
                return Err(invalid(
                    "The \"data\" object must be followed by two attribute names: the data source type and the resource name.",
                    range,
                ));
            };
            (
                Reference::Resource(ResourceRef {
                    mode: addrs::Mode::Data,
                    type_name: t.to_string(),
                    name: n.to_string(),
                }),
                2,
            )
        }
        _ => {
            let Some(n) = attr(steps, 0) else {
                return Err(invalid(
                    "A reference to a resource type must be followed by at least one attribute access, specifying the resource name.",
                    range,
                ));
            };
            (
                Reference::Resource(ResourceRef {
                    mode: addrs::Mode::Managed,
                    type_name: root.to_string(),
                    name: n.to_string(),
                }),
                1,
            )
        }
    })
}

/// The part of a traversal a reference covers, as Terraform's reference ranges do: the root
/// and the `used` steps, plus an instance key after a resource (`aws_instance.a[0]`), or the
/// output named after a module call.
pub(crate) fn ref_range(
    r: &Reference,
    root: &str,
    steps: &[Traverser],
    used: usize,
    range: &SourceRange,
) -> SourceRange {
    let step_range = |s: &Traverser| match s {
        Traverser::Attr { range, .. } | Traverser::Index { range, .. } => range.clone(),
    };
    let last = match (r, steps.get(used)) {
        (Reference::Resource(_), Some(s @ Traverser::Index { .. })) => Some(step_range(s)),
        // `module.x.out` and `module.x[0].out` name one output of the call.
        (Reference::Module(_), _) => {
            let mut end = used;
            if matches!(steps.get(end), Some(Traverser::Index { .. })) {
                end += 1;
            }
            if matches!(steps.get(end), Some(Traverser::Attr { .. })) {
                end += 1;
            }
            end.checked_sub(1)
                .and_then(|i| steps.get(i))
                .map(step_range)
        }
        _ => used
            .checked_sub(1)
            .and_then(|i| steps.get(i))
            .map(step_range),
    };
    match last {
        Some(l) if l.filename == range.filename => SourceRange {
            filename: range.filename.clone(),
            start: range.start,
            end: l.end,
        },
        Some(_) => range.clone(),
        None => {
            let mut r = range.clone();
            if r.start.line == r.end.line && r.end.byte >= r.start.byte + root.len() as u32 {
                r.end.byte = r.start.byte + root.len() as u32;
                r.end.column = r.start.column + root.chars().count() as u32;
            }
            r
        }
    }
}

/// The references an expression makes (variables bound by `for` are not references).
pub fn references(expr: &Expr) -> (Vec<(Reference, SourceRange)>, Diagnostics) {
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    for (root, steps, range) in expr.references() {
        match parse_ref(root, steps, range) {
            Ok((r, used)) => {
                let rr = ref_range(&r, root, steps, used, range);
                out.push((r, rr));
            }
            Err(d) => diags.push(d),
        }
    }
    (out, diags)
}

fn body_refs(
    body: &Body,
    bound: &mut Vec<String>,
    out: &mut Vec<(Reference, SourceRange)>,
    diags: &mut Diagnostics,
) {
    let add = |e: &Expr,
               bound: &Vec<String>,
               out: &mut Vec<(Reference, SourceRange)>,
               diags: &mut Diagnostics| {
        for (root, steps, range) in e.references() {
            if bound.iter().any(|b| b == root) {
                continue;
            }
            match parse_ref(root, steps, range) {
                Ok((r, used)) => {
                    let rr = ref_range(&r, root, steps, used, range);
                    out.push((r, rr));
                }
                Err(d) => diags.push(d),
            }
        }
    };
    for a in body.attributes.values() {
        add(&a.expr, bound, out, diags);
    }
    for b in &body.blocks {
        if b.type_name == "dynamic" {
            let iterator = b
                .body
                .attributes
                .get("iterator")
                .and_then(|a| config::traversal_text(&a.expr))
                .or_else(|| b.labels.first().cloned())
                .unwrap_or_default();
            if let Some(fe) = b.body.attributes.get("for_each") {
                add(&fe.expr, bound, out, diags);
            }
            bound.push(iterator);
            if let Some(l) = b.body.attributes.get("labels") {
                add(&l.expr, bound, out, diags);
            }
            for c in b.body.blocks_of("content") {
                body_refs(&c.body, bound, out, diags);
            }
            bound.pop();
        } else {
            body_refs(&b.body, bound, out, diags);
        }
    }
}

/// The references of a resource/provider body, including inside `dynamic` blocks (whose
/// iterator variables are not references).
pub fn body_references(
    body: &Body,
    _schema: Option<&providers::schema::Block>,
) -> (Vec<(Reference, SourceRange)>, Diagnostics) {
    let mut out = Vec::new();
    let mut diags = Diagnostics::new();
    body_refs(body, &mut Vec::new(), &mut out, &mut diags);
    (out, diags)
}

/// " Did you mean "x"?" when a declared name is close to `given` (Terraform sorts the names).
fn did_you_mean<'a>(given: &str, declared: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut names: Vec<&str> = declared.into_iter().collect();
    names.sort_unstable();
    diagnostics::name_suggestion(given, names).map(|s| format!(" Did you mean \"{s}\"?"))
}

/// Terraform's error for a reference to an undeclared variable, local value or output value,
/// suggesting a close declared name.
pub fn undeclared_named<'a>(
    r: &Reference,
    range: &SourceRange,
    declared: impl IntoIterator<Item = &'a str>,
) -> Diagnostic {
    let (summary, detail) = match r {
        Reference::Var(n) => (
            "Reference to undeclared input variable",
            format!(
                "An input variable with the name \"{n}\" has not been declared.{}",
                did_you_mean(n, declared).unwrap_or_else(|| format!(
                    " This variable can be declared with a variable \"{n}\" {{}} block."
                ))
            ),
        ),
        Reference::Local(n) => (
            "Reference to undeclared local value",
            format!(
                "A local value with the name \"{n}\" has not been declared.{}",
                did_you_mean(n, declared).unwrap_or_default()
            ),
        ),
        Reference::Output(n) => (
            "Reference to undeclared output value",
            format!(
                "An output value with the name \"{n}\" has not been declared.{}",
                did_you_mean(n, declared).unwrap_or_default()
            ),
        ),
        _ => return undeclared(r, range),
    };
    Diagnostic::error(summary, detail).with_subject(range.clone())
}

/// Terraform's error for a reference to an undeclared module call in `module_phrase` ("the root
/// module", "module.app"), suggesting a close declared name.
pub fn undeclared_module<'a>(
    name: &str,
    range: &SourceRange,
    declared: impl IntoIterator<Item = &'a str>,
    module_phrase: &str,
) -> Diagnostic {
    Diagnostic::error(
        "Reference to undeclared module",
        format!(
            "No module call named \"{name}\" is declared in {module_phrase}.{}",
            did_you_mean(name, declared).unwrap_or_default()
        ),
    )
    .with_subject(range.clone())
}

/// The diagnostic for a reference to something not declared.
pub(crate) fn undeclared(r: &Reference, range: &SourceRange) -> Diagnostic {
    let (summary, detail) = match r {
        Reference::Var(_) | Reference::Local(_) | Reference::Output(_) => {
            return undeclared_named(r, range, std::iter::empty())
        }
        Reference::Module(n) => {
            return undeclared_module(n, range, std::iter::empty(), "the root module")
        }
        Reference::Resource(rr) => (
            "Reference to undeclared resource".to_string(),
            format!(
                "A {} resource \"{}\" \"{}\" has not been declared in the root module.",
                if rr.mode == addrs::Mode::Data { "data" } else { "managed" },
                rr.type_name,
                rr.name
            ),
        ),
        Reference::CountIndex => (
            "Reference to \"count\" in non-counted context".to_string(),
            "The \"count\" object can only be used in \"module\", \"resource\", and \"data\" blocks, and only when the \"count\" argument is set.".to_string(),
        ),
        Reference::EachKey | Reference::EachValue => (
            "Reference to \"each\" in context without for_each".to_string(),
            "The \"each\" object can be used only in \"module\" or \"resource\" blocks, and only when the \"for_each\" argument is set.".to_string(),
        ),
        Reference::Path(a) => (
            "Invalid \"path\" attribute".to_string(),
            format!("The \"path\" object does not have an attribute named {a:?}."),
        ),
        Reference::Terraform(a) => (
            "Invalid \"terraform\" attribute".to_string(),
            format!("The \"terraform\" object does not have an attribute named {a:?}."),
        ),
        Reference::SelfRef => (
            "Invalid \"self\" reference".to_string(),
            "The \"self\" object is not available in this context.".to_string(),
        ),
    };
    Diagnostic::error(summary, detail).with_subject(range.clone())
}
