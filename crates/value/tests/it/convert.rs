//! Conversion and unification checked against `terraform console` goldens
//! (tests/data/convert_golden.txt, recorded by tests/data/record_convert.sh): `tolist`-style
//! conversions render as Terraform prints them, and conditionals (`c ? a : b`) take the type
//! that unification of both sides gives.

use std::collections::BTreeMap;
use value::convert::{convert, unify};
use value::render::{console_type, console_value};
use value::{Number, Type, Value};

fn n(s: &str) -> Value {
    Value::Number(Number::parse(s).unwrap())
}
fn s(x: &str) -> Value {
    Value::from(x)
}
fn obj(pairs: &[(&str, Value)]) -> Value {
    Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
}
fn tup(vs: &[Value]) -> Value {
    Value::Tuple(vs.to_vec())
}

enum Case {
    /// Render `convert(v, ty)`.
    Convert(Value, Type),
    /// Render the type of `a` converted to the unification of both types.
    Conditional(Value, Value),
}

fn cases() -> Vec<(&'static str, Case)> {
    use Case::{Conditional, Convert};
    let any_list = Type::list(Type::Dynamic);
    let any_map = Type::map(Type::Dynamic);
    let any_set = Type::set(Type::Dynamic);
    vec![
        (
            r#"tolist([1,"a",true])"#,
            Convert(tup(&[n("1"), s("a"), Value::bool(true)]), any_list.clone()),
        ),
        (
            r#"tomap({a=1,b="x"})"#,
            Convert(obj(&[("a", n("1")), ("b", s("x"))]), any_map.clone()),
        ),
        (
            r#"tolist([[1],["a"]])"#,
            Convert(tup(&[tup(&[n("1")]), tup(&[s("a")])]), any_list.clone()),
        ),
        (
            "toset([2,1,2])",
            Convert(tup(&[n("2"), n("1"), n("2")]), any_set.clone()),
        ),
        (
            r#"tolist(toset(["b","a"]))"#,
            Convert(
                Value::set_of(Type::String, vec![s("b"), s("a")]),
                any_list.clone(),
            ),
        ),
        (
            r#"tomap({a={x=1}, b={x="s", y=2}})"#,
            Convert(
                obj(&[
                    ("a", obj(&[("x", n("1"))])),
                    ("b", obj(&[("x", s("s")), ("y", n("2"))])),
                ]),
                any_map.clone(),
            ),
        ),
        (
            "type(true ? {a=1} : {b=2})",
            Conditional(obj(&[("a", n("1"))]), obj(&[("b", n("2"))])),
        ),
        (
            r#"type(true ? {a=1} : {a="x"})"#,
            Conditional(obj(&[("a", n("1"))]), obj(&[("a", s("x"))])),
        ),
        (
            r#"type(true ? [1] : ["a"])"#,
            Conditional(tup(&[n("1")]), tup(&[s("a")])),
        ),
        (r#"type(true ? 1 : "a")"#, Conditional(n("1"), s("a"))),
        (
            r#"type(true ? tolist([1]) : ["a", "b"])"#,
            Conditional(
                Value::list_of(Type::Number, vec![n("1")]),
                tup(&[s("a"), s("b")]),
            ),
        ),
        (
            r#"type(true ? {a=[1]} : {a=tolist(["x"])})"#,
            Conditional(
                obj(&[("a", tup(&[n("1")]))]),
                obj(&[("a", Value::list_of(Type::String, vec![s("x")]))]),
            ),
        ),
        (
            r#"type(true ? tomap({a=1}) : {b="x"})"#,
            Conditional(
                Value::map_of(Type::Number, BTreeMap::from([("a".to_string(), n("1"))])),
                obj(&[("b", s("x"))]),
            ),
        ),
        (
            r#"type(tolist([{a=1}, {a="x"}]))"#,
            Convert(
                tup(&[obj(&[("a", n("1"))]), obj(&[("a", s("x"))])]),
                any_list.clone(),
            ),
        ),
        (
            "type(tolist([{a=1}, {b=1}]))",
            Convert(
                tup(&[obj(&[("a", n("1"))]), obj(&[("b", n("1"))])]),
                any_list,
            ),
        ),
        (
            r#"type(toset([[1],["a","b"]]))"#,
            Convert(tup(&[tup(&[n("1")]), tup(&[s("a"), s("b")])]), any_set),
        ),
    ]
}

fn golden() -> BTreeMap<String, String> {
    let text = include_str!("../data/convert_golden.txt");
    let mut out = BTreeMap::new();
    let mut current: Option<(String, Vec<&str>)> = None;
    for line in text.lines() {
        if let Some(expr) = line.strip_prefix("### ") {
            if let Some((e, lines)) = current.take() {
                out.insert(e, lines.join("\n"));
            }
            current = Some((expr.to_string(), Vec::new()));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((e, lines)) = current {
        out.insert(e, lines.join("\n"));
    }
    out
}

#[test]
fn conversions_match_terraform() {
    let golden = golden();
    let cases = cases();
    assert_eq!(
        cases.len(),
        golden.len(),
        "every recorded expression has a case"
    );
    let mut failures = Vec::new();
    for (expr, case) in cases {
        let want = golden
            .get(expr)
            .unwrap_or_else(|| panic!("no golden for {expr}"));
        let got = match case {
            Case::Convert(v, ty) => match convert(&v, &ty) {
                Ok(r) if expr.starts_with("type(") => console_type(&r.ty()),
                Ok(r) => console_value(&r),
                Err(e) => format!("error: {e}"),
            },
            Case::Conditional(a, b) => match unify(&[a.ty(), b.ty()]) {
                Some(t) => match convert(&a, &t) {
                    Ok(r) => console_type(&r.ty()),
                    Err(e) => format!("error: {e}"),
                },
                None => "no common type".to_string(),
            },
        };
        if &got != want {
            failures.push(format!("{expr}\n--- want\n{want}\n--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
