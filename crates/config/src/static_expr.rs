//! Expressions that must be constant because they are read before anything is evaluated
//! (`provider_meta` arguments): HCL evaluates them without a context, so every variable
//! reference and function call is an error, reported where HCL reports it.

use diagnostics::{Diagnostic, Diagnostics, SourceRange};

use crate::body::Block;
use crate::expr::{Expr, ExprKind, ObjectKey, TemplatePart};
use crate::model::ProviderMeta;

/// Decodes a `provider_meta "NAME"` block of the `terraform` block: arguments only, each a
/// constant. `None` (with diagnostics) when the block is not usable.
pub(crate) fn provider_meta(b: &Block, diags: &mut Diagnostics) -> Option<ProviderMeta> {
    if !crate::decode::labels(b, 1, "provider_meta", "provider", diags) {
        return None;
    }
    // HCL's JustAttributes: nested blocks make the body unusable.
    if let Some(nested) = b.body.blocks.first() {
        diags.push(
            Diagnostic::error(
                format!("Unexpected {:?} block", nested.type_name),
                "Blocks are not allowed here.",
            )
            .with_subject(nested.type_range.clone()),
        );
        return None;
    }
    for a in b.body.attributes.values() {
        constant_only(&a.expr, diags);
    }
    Some(ProviderMeta {
        name: b.labels[0].clone(),
        config: b.body.clone(),
        name_range: b.label_ranges[0].clone(),
        decl_range: b.def_range.clone(),
    })
}

/// Reports what HCL cannot evaluate without a context: variables (at the root name) and
/// function calls (the whole call, whose arguments it then does not look at).
fn constant_only(e: &Expr, diags: &mut Diagnostics) {
    match &e.kind {
        ExprKind::ScopeTraversal { root, .. } => diags.push(
            Diagnostic::error("Variables not allowed", "Variables may not be used here.")
                .with_subject(root_range(&e.range, root)),
        ),
        ExprKind::FunctionCall { .. } => diags.push(
            Diagnostic::error(
                "Function calls not allowed",
                "Functions may not be called here.",
            )
            .with_subject(e.range.clone()),
        ),
        ExprKind::Literal(_) | ExprKind::AnonSymbol => {}
        ExprKind::Template(parts) => parts_constant_only(parts, diags),
        ExprKind::TemplateWrap(x) | ExprKind::Parens(x) => constant_only(x, diags),
        ExprKind::Tuple(es) => es.iter().for_each(|x| constant_only(x, diags)),
        ExprKind::Object(items) => {
            for (k, v) in items {
                if let ObjectKey::Expr(k) = k {
                    constant_only(k, diags);
                }
                constant_only(v, diags);
            }
        }
        ExprKind::RelativeTraversal { source, .. } => constant_only(source, diags),
        ExprKind::Index { collection, key } => {
            constant_only(collection, diags);
            constant_only(key, diags);
        }
        ExprKind::Splat { source, .. } => constant_only(source, diags),
        ExprKind::Conditional {
            condition,
            true_result,
            false_result,
        } => {
            constant_only(condition, diags);
            constant_only(true_result, diags);
            constant_only(false_result, diags);
        }
        ExprKind::Unary { operand, .. } => constant_only(operand, diags),
        ExprKind::Binary { lhs, rhs, .. } => {
            constant_only(lhs, diags);
            constant_only(rhs, diags);
        }
        // The body is evaluated per element, which a collection that fails never has.
        ExprKind::For { collection, .. } => constant_only(collection, diags),
    }
}

fn parts_constant_only(parts: &[TemplatePart], diags: &mut Diagnostics) {
    for p in parts {
        match p {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(e) => constant_only(e, diags),
            TemplatePart::If {
                condition,
                then_parts,
                else_parts,
                ..
            } => {
                constant_only(condition, diags);
                parts_constant_only(then_parts, diags);
                parts_constant_only(else_parts, diags);
            }
            TemplatePart::For { collection, .. } => constant_only(collection, diags),
        }
    }
}

/// The range of a traversal's root name (`var` of `var.x`), which HCL's error points at.
fn root_range(range: &SourceRange, root: &str) -> SourceRange {
    let mut r = range.clone();
    if r.start.line == r.end.line && r.end.byte >= r.start.byte + root.len() as u32 {
        r.end.byte = r.start.byte + root.len() as u32;
        r.end.column = r.start.column + root.chars().count() as u32;
    }
    r
}

#[cfg(test)]
mod tests {
    fn load(text: &str) -> (Option<crate::model::Module>, Diagnostics) {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.tf"), text).unwrap();
        let (m, ds, _) = crate::load::load_module(d.path(), "");
        (m, ds)
    }

    use super::*;

    #[test]
    fn provider_meta_blocks_are_kept_by_provider_name() {
        let (m, ds) =
            load("terraform {\n  provider_meta \"aws\" {\n    module_name = \"x\"\n  }\n}\n");
        assert!(ds.0.is_empty(), "{ds:?}");
        let m = m.unwrap();
        let pm = &m.provider_metas["aws"];
        assert!(pm.config.attributes.contains_key("module_name"));
        assert_eq!(pm.name_range.start.column, 17);
    }

    #[test]
    fn provider_meta_arguments_must_be_constant() {
        let (_, ds) = load(
            "terraform {\n  provider_meta \"aws\" {\n    a = var.x\n    b = upper(var.y)\n    c = \"${local.z}\"\n  }\n}\n",
        );
        let got: Vec<(String, u32, u32)> =
            ds.0.iter()
                .map(|d| {
                    let r = d.subject.as_ref().unwrap();
                    (d.summary.clone(), r.start.column, r.end.column)
                })
                .collect();
        assert_eq!(
            got,
            vec![
                ("Variables not allowed".to_string(), 9, 12),
                ("Function calls not allowed".to_string(), 9, 21),
                ("Variables not allowed".to_string(), 12, 17),
            ]
        );
    }

    #[test]
    fn provider_meta_takes_no_blocks() {
        let (m, ds) = load("terraform {\n  provider_meta \"aws\" {\n    nested {}\n  }\n}\n");
        assert_eq!(ds.0.len(), 1);
        assert_eq!(ds.0[0].summary, "Unexpected \"nested\" block");
        assert!(m.unwrap().provider_metas.is_empty());
    }
}
