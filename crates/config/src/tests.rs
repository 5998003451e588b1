//! Parser and loader tests: expression shapes, templates, module decoding and diagnostics.

use super::*;
use value::Value;

fn lit(e: &Expr) -> Option<&Value> {
    match &e.kind {
        ExprKind::Literal(v) => Some(v),
        _ => None,
    }
}

#[test]
fn numbers_keep_their_exact_text() {
    let e = parse_expression("0.1", "t").unwrap();
    assert_eq!(lit(&e).unwrap().as_number().unwrap().to_text(), "0.1");
    let e = parse_expression("123456789012345678901234567890", "t").unwrap();
    assert_eq!(
        lit(&e).unwrap().as_number().unwrap().to_text(),
        "123456789012345678901234567890"
    );
}

#[test]
fn traversals_keep_static_steps() {
    let e = parse_expression("aws_instance.a[0].id", "t").unwrap();
    match &e.kind {
        ExprKind::ScopeTraversal { root, steps } => {
            assert_eq!(root, "aws_instance");
            assert_eq!(steps.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    let e = parse_expression("terraform_data.x[count.index].output", "t").unwrap();
    assert!(
        matches!(e.kind, ExprKind::RelativeTraversal { .. }),
        "{:?}",
        e.kind
    );
    let e = parse_expression("var.list[*].id", "t").unwrap();
    assert!(matches!(e.kind, ExprKind::Splat { legacy: false, .. }));
}

#[test]
fn templates_apply_strip_markers() {
    let e = parse_expression("\"a  ${~ \"b\" ~}  c\"", "t").unwrap();
    match &e.kind {
        ExprKind::Template(parts) => {
            assert_eq!(parts.len(), 3);
            assert_eq!(parts[0], TemplatePart::Literal("a".into()));
            assert_eq!(parts[2], TemplatePart::Literal("c".into()));
        }
        other => panic!("{other:?}"),
    }
    let e = parse_expression("\"${var.x}\"", "t").unwrap();
    assert!(matches!(e.kind, ExprKind::TemplateWrap(_)));
    let e = parse_expression("<<-EOT\n    a\n      b\n    EOT\n", "t").unwrap();
    assert_eq!(lit(&e).unwrap().as_str(), Some("a\n  b\n"));
}

#[test]
fn ranges_point_at_the_source() {
    let e = parse_expression("1 + foo.bar", "t").unwrap();
    match &e.kind {
        ExprKind::Binary { rhs, .. } => {
            assert_eq!(rhs.range.start.column, 5);
            assert_eq!(rhs.range.end.column, 12);
        }
        other => panic!("{other:?}"),
    }
}

fn load(text: &str) -> (Option<Module>, diagnostics::Diagnostics) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("main.tf"), text).unwrap();
    let (m, ds, _) = load_module(d.path(), "");
    (m, ds)
}

#[test]
fn modules_decode_every_block() {
    let (m, ds) = load(
        r#"
terraform {
  required_version = ">= 1.0"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
  backend "local" {}
}
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
variable "v" {
  type = object({ a = optional(string, "x"), b = list(number) })
  validation {
    condition     = length(var.v.b) > 0
    error_message = "b must not be empty."
  }
}
locals { x = 1 }
resource "aws_s3_bucket" "b" {
  count    = 2
  provider = aws.west
  bucket   = "b-${count.index}"
  dynamic "tag" {
    for_each = {}
    content {}
  }
  lifecycle {
    create_before_destroy = true
    ignore_changes        = [tags]
  }
}
data "aws_caller_identity" "me" {}
output "o" {
  value     = local.x
  sensitive = true
}
moved {
  from = aws_s3_bucket.a
  to   = aws_s3_bucket.b
}
import {
  to = aws_s3_bucket.b[0]
  id = "x"
}
removed {
  from = aws_s3_bucket.c
  lifecycle {
    destroy = false
  }
}
"#,
    );
    assert!(ds.is_empty(), "{ds:?}");
    let m = m.unwrap();
    assert_eq!(
        m.required_providers["aws"].source.as_deref(),
        Some("hashicorp/aws")
    );
    assert!(m.provider_configs.contains_key("aws.west"));
    let v = &m.variables["v"];
    assert_eq!(v.type_defaults.defaults["a"].as_str(), Some("x"));
    let r = &m.managed_resources["aws_s3_bucket.b"];
    assert!(r.count.is_some());
    assert_eq!(r.provider.as_ref().unwrap().alias.as_deref(), Some("west"));
    assert_eq!(r.lifecycle.create_before_destroy, Some(true));
    assert!(matches!(r.lifecycle.ignore_changes, IgnoreChanges::Paths(ref p) if p.len() == 1));
    assert_eq!(r.config.blocks.len(), 1);
    assert!(m.data_resources.contains_key("aws_caller_identity.me"));
    assert!(m.outputs["o"].sensitive);
    assert_eq!(m.moved.len(), 1);
    assert_eq!(m.imports.len(), 1);
    assert!(!m.removed[0].destroy);
}

#[test]
fn structural_errors_match_terraform() {
    // Summaries and positions as `terraform validate -json` reports them.
    let (_, ds) = load(
        "resource \"terraform_data\" \"a\" {}\nresource \"terraform_data\" \"a\" {}\nvariable \"x\" {}\nvariable \"x\" {}\nlocals { a = 1 }\nlocals { a = 2 }\noutput \"o\" { value = 1 }\noutput \"o\" { value = 1 }\noutput \"p\" {}\nfoo {}\nbar = 1\nresource \"terraform_data\" \"1bad\" {}\nresource \"terraform_data\" {}\n",
    );
    let got: Vec<(String, u32, u32)> = ds
        .iter()
        .map(|d| {
            let r = d.subject.as_ref().unwrap();
            (d.summary.clone(), r.start.line, r.start.column)
        })
        .collect();
    for want in [
        ("Missing name for resource", 13, 27),
        ("Unsupported argument", 11, 1),
        ("Unsupported block type", 10, 1),
        ("Missing required argument", 9, 12),
        ("Invalid resource name", 12, 27),
        ("Duplicate variable declaration", 4, 1),
        ("Duplicate local value definition", 6, 10),
        ("Duplicate output definition", 8, 1),
        ("Duplicate resource \"terraform_data\" configuration", 2, 1),
    ] {
        assert!(
            got.contains(&(want.0.to_string(), want.1, want.2)),
            "missing {want:?} in {got:?}"
        );
    }
    let dup = ds
        .iter()
        .find(|d| d.summary.starts_with("Duplicate resource"))
        .unwrap();
    assert_eq!(dup.detail, "A terraform_data resource named \"a\" was already declared at main.tf:1,1-30. Resource names must be unique per type in each module.");
}

proptest::proptest! {
    #[test]
    fn the_parser_never_panics(s in "\\PC{0,80}") {
        let _ = parse_expression(&s, "fuzz");
        let mut ds = diagnostics::Diagnostics::new();
        let _ = load::parse_file(&s, "fuzz.tf", &mut ds);
    }
}
