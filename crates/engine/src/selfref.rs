//! Terraform's check that a resource's configuration does not refer to the resource itself:
//! "Self-referential block", reported while planning each instance (before anything is read
//! or planned), and the cycle Terraform's instance graph reports when the instances of an
//! expanded resource refer to the resource as a whole. Without it such a configuration plans
//! an unknown value and fails only when applied.

use addrs::{AbsResourceInstance, InstanceKey, Mode};
use config::{Body, Expr, Traverser};
use diagnostics::{Diagnostic, SourceRange};
use lang::Reference;
use value::Value;

/// A reference a resource's configuration makes to the resource itself: to one instance
/// (a constant key) or to the resource as a whole (no key, or a key only known when
/// evaluated).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SelfRef {
    pub key: Option<InstanceKey>,
    pub range: SourceRange,
}

/// The references to the resource `r` in its own body (nested and `dynamic` blocks included).
pub(crate) fn in_body(body: &Body, r: &addrs::Resource) -> Vec<SelfRef> {
    let (refs, _) = lang::body_references(body, None);
    let mut exprs = Vec::new();
    collect_exprs(body, &mut exprs);
    matching(refs, &exprs, r)
}

/// The references to the resource `r` in one of its expressions (`count`, `for_each`).
pub(crate) fn in_expr(e: &Expr, r: &addrs::Resource) -> Vec<SelfRef> {
    let (refs, _) = lang::references(e);
    matching(refs, &[e], r)
}

fn collect_exprs<'b>(body: &'b Body, out: &mut Vec<&'b Expr>) {
    out.extend(body.attributes.values().map(|a| &a.expr));
    for b in &body.blocks {
        collect_exprs(&b.body, out);
    }
}

fn matching(
    refs: Vec<(Reference, SourceRange)>,
    exprs: &[&Expr],
    r: &addrs::Resource,
) -> Vec<SelfRef> {
    refs.into_iter()
        .filter_map(|(reference, range)| {
            let Reference::Resource(rr) = reference else {
                return None;
            };
            if rr.mode != r.mode || *rr.type_name != *r.type_name || *rr.name != *r.name {
                return None;
            }
            Some(SelfRef {
                key: constant_key(exprs, &range, r.mode),
                range,
            })
        })
        .collect()
}

/// The constant instance key that follows the reference starting where `range` starts
/// (`aws_x.a[0]`, `aws_x.a["k"]`); none when the traversal has no such step.
fn constant_key(exprs: &[&Expr], range: &SourceRange, mode: Mode) -> Option<InstanceKey> {
    // `type.name` is one step after the root; `data.type.name` two.
    let used = if mode == Mode::Data { 2 } else { 1 };
    exprs
        .iter()
        .flat_map(|e| e.references())
        .find(|(_, _, r)| r.filename == range.filename && r.start.byte == range.start.byte)
        .and_then(|(_, steps, _)| match steps.get(used) {
            Some(Traverser::Index { key, .. }) => match key.unmarked() {
                Value::String(s) => Some(InstanceKey::Str(s.as_str().into())),
                Value::Number(n) => n.to_i64().map(InstanceKey::Int),
                _ => None,
            },
            _ => None,
        })
}

/// Terraform's diagnostic for a reference to `what` inside its own configuration.
pub(crate) fn diagnostic(what: &str, range: &SourceRange) -> Diagnostic {
    Diagnostic::error(
        "Self-referential block",
        format!("Configuration for {what} may not refer to itself."),
    )
    .with_subject(range.clone())
}

/// The diagnostics for one instance, as Terraform's `validateSelfRef` makes them: each
/// reference is compared with the instance's address and with the resource's (both without
/// the module path), so an unexpanded resource reports each reference twice.
pub(crate) fn instance_diagnostics(
    refs: &[SelfRef],
    inst: &AbsResourceInstance,
) -> Vec<Diagnostic> {
    let resource = inst.resource.to_string();
    let instance = match &inst.key {
        Some(k) => format!("{resource}{k}"),
        None => resource.clone(),
    };
    let mut out = Vec::new();
    for r in refs {
        let subject = match &r.key {
            Some(k) => format!("{resource}{k}"),
            None => resource.clone(),
        };
        for candidate in [&instance, &resource] {
            if subject == *candidate {
                out.push(diagnostic(candidate, &r.range));
            }
        }
    }
    out
}

/// Terraform's cycle among the instances of a resource whose configuration refers to the
/// resource as a whole (each instance then depends on every other): named from the last
/// instance to the first, as Terraform most often lists them.
pub(crate) fn instance_cycle(
    refs: &[SelfRef],
    instances: &[AbsResourceInstance],
) -> Option<Diagnostic> {
    if instances.len() < 2 || !refs.iter().any(|r| r.key.is_none()) {
        return None;
    }
    let names: Vec<String> = instances.iter().rev().map(|i| i.to_string()).collect();
    Some(Diagnostic::error(
        format!("Cycle: {}", names.join(", ")),
        "",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource_body(src: &str) -> Body {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.tf"), src).unwrap();
        let (module, diags, _) = config::load_module(d.path(), "");
        assert!(!diags.has_errors(), "{diags:?}");
        let module = module.expect("module");
        let r = module
            .managed_resources
            .values()
            .next()
            .expect("a resource");
        r.config.clone()
    }

    fn res(name: &str) -> addrs::Resource {
        addrs::Resource {
            mode: Mode::Managed,
            type_name: "terraform_data".into(),
            name: name.into(),
        }
    }

    fn inst(name: &str, key: Option<InstanceKey>) -> AbsResourceInstance {
        AbsResourceInstance {
            module: addrs::ModuleInstance::root(),
            resource: res(name),
            key,
        }
    }

    #[test]
    fn references_to_itself_are_found_with_their_constant_keys() {
        let body = resource_body(
            "resource \"terraform_data\" \"a\" {\n  input = [terraform_data.a.id, terraform_data.a[0].id, terraform_data.a[\"k\"], terraform_data.a[count.index], terraform_data.b.id]\n  nested {\n    x = terraform_data.a.output\n  }\n}\n",
        );
        let refs = in_body(&body, &res("a"));
        let keys: Vec<Option<InstanceKey>> = refs.iter().map(|r| r.key.clone()).collect();
        assert_eq!(
            keys,
            vec![
                None,
                Some(InstanceKey::Int(0)),
                Some(InstanceKey::Str("k".into())),
                None,
                None
            ]
        );
        // The range is the reference's subject: `terraform_data.a`, `terraform_data.a[0]`.
        assert_eq!(refs[0].range.end.byte - refs[0].range.start.byte, 16);
        assert_eq!(refs[1].range.end.byte - refs[1].range.start.byte, 19);
    }

    #[test]
    fn an_unexpanded_resource_reports_each_reference_twice() {
        let body = resource_body(
            "resource \"terraform_data\" \"a\" {\n  input = terraform_data.a.id\n}\n",
        );
        let refs = in_body(&body, &res("a"));
        let ds = instance_diagnostics(&refs, &inst("a", None));
        assert_eq!(ds.len(), 2);
        assert_eq!(ds[0].summary, "Self-referential block");
        assert_eq!(
            ds[0].detail,
            "Configuration for terraform_data.a may not refer to itself."
        );
    }

    #[test]
    fn an_instance_reports_references_to_itself_only() {
        let body = resource_body(
            "resource \"terraform_data\" \"a\" {\n  count = 2\n  input = terraform_data.a[0].id\n}\n",
        );
        let refs = in_body(&body, &res("a"));
        let first = instance_diagnostics(&refs, &inst("a", Some(InstanceKey::Int(0))));
        assert_eq!(first.len(), 1);
        assert_eq!(
            first[0].detail,
            "Configuration for terraform_data.a[0] may not refer to itself."
        );
        assert!(instance_diagnostics(&refs, &inst("a", Some(InstanceKey::Int(1)))).is_empty());
        let all = [
            inst("a", Some(InstanceKey::Int(0))),
            inst("a", Some(InstanceKey::Int(1))),
        ];
        assert!(instance_cycle(&refs, &all).is_none());
    }

    #[test]
    fn whole_resource_references_between_instances_are_a_cycle() {
        let body = resource_body(
            "resource \"terraform_data\" \"a\" {\n  count = 2\n  input = terraform_data.a[count.index].id\n}\n",
        );
        let refs = in_body(&body, &res("a"));
        let all = [
            inst("a", Some(InstanceKey::Int(0))),
            inst("a", Some(InstanceKey::Int(1))),
        ];
        let d = instance_cycle(&refs, &all).expect("a cycle");
        assert_eq!(d.summary, "Cycle: terraform_data.a[1], terraform_data.a[0]");
        // With one instance it is that instance's own reference to the resource.
        let one = instance_diagnostics(&refs, &all[0]);
        assert_eq!(one.len(), 1);
        assert_eq!(
            one[0].detail,
            "Configuration for terraform_data.a may not refer to itself."
        );
    }
}
