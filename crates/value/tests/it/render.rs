//! Console rendering checked against `terraform console` goldens
//! (tests/data/console_golden.txt, recorded by tests/data/record_console.sh). Each expression
//! of the golden file is built here by hand as the value Terraform would evaluate it to.

use std::collections::BTreeMap;
use value::render::{console_type, console_value};
use value::{Marks, Number, Type, Value};

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
fn map(ety: Type, pairs: &[(&str, Value)]) -> Value {
    Value::map_of(
        ety,
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect::<BTreeMap<_, _>>(),
    )
}

enum Case {
    Value(Value),
    TypeOf(Value),
}

fn cases() -> Vec<(&'static str, Case)> {
    use Case::{TypeOf, Value as V};
    let third = Number::parse("1")
        .unwrap()
        .div(&Number::parse("3").unwrap())
        .unwrap();
    let x1 = obj(&[("x", n("1"))]);
    let x2 = obj(&[("x", n("2"))]);
    vec![
        ("1", V(n("1"))),
        ("-0.5", V(n("-0.5"))),
        ("1/3", V(Value::Number(third))),
        ("true", V(Value::bool(true))),
        ("null", V(Value::Null(Type::Dynamic))),
        (r#""a\"b\\c\td""#, V(s("a\"b\\c\td"))),
        (r#""éé \u0001""#, V(s("éé \u{1}"))),
        (r#""line1\nline2\n""#, V(s("line1\nline2\n"))),
        (r#""line1\nline2""#, V(s("line1\nline2"))),
        (r#""EOT\nx""#, V(s("EOT\nx"))),
        ("{}", V(Value::empty_object())),
        ("[]", V(tup(&[]))),
        ("tolist([])", V(Value::List(Type::Dynamic, vec![]))),
        ("toset([])", V(Value::Set(Type::Dynamic, vec![]))),
        ("tomap({})", V(Value::Map(Type::Dynamic, BTreeMap::new()))),
        (
            r#"{a=1, bb="x", ccc=[1,2]}"#,
            V(obj(&[
                ("a", n("1")),
                ("bb", s("x")),
                ("ccc", tup(&[n("1"), n("2")])),
            ])),
        ),
        (
            r#"[1,"a",true,null]"#,
            V(tup(&[
                n("1"),
                s("a"),
                Value::bool(true),
                Value::Null(Type::Dynamic),
            ])),
        ),
        (
            "tomap({a={x=1}, b={x=2}})",
            V(map(x1.ty(), &[("a", x1), ("b", x2)])),
        ),
        (r#"{a="x\ny"}"#, V(obj(&[("a", s("x\ny"))]))),
        (r#"[["a\nb"]]"#, V(tup(&[tup(&[s("a\nb")])]))),
        ("sensitive(1)", V(n("1").mark(Marks::SENSITIVE))),
        (
            "{a=sensitive(1)}",
            V(obj(&[("a", n("1").mark(Marks::SENSITIVE))])),
        ),
        (
            "{a=null, b=[null]}",
            V(obj(&[
                ("a", Value::Null(Type::Dynamic)),
                ("b", tup(&[Value::Null(Type::Dynamic)])),
            ])),
        ),
        (
            "tolist([tolist([1])])",
            V(Value::list_of(
                Type::list(Type::Number),
                vec![Value::list_of(Type::Number, vec![n("1")])],
            )),
        ),
        (
            "[{a=1,b={c=2}}]",
            V(tup(&[obj(&[("a", n("1")), ("b", obj(&[("c", n("2"))]))])])),
        ),
        ("tostring(null)", V(Value::Null(Type::String))),
        ("tolist(null)", V(Value::Null(Type::list(Type::Dynamic)))),
        (
            r#"toset(["b","a","10","9"])"#,
            V(Value::set_of(
                Type::String,
                vec![s("b"), s("a"), s("10"), s("9")],
            )),
        ),
        (
            "toset([10, 9, 1.5])",
            V(Value::set_of(Type::Number, vec![n("10"), n("9"), n("1.5")])),
        ),
        (
            r#"tomap({"x y"=1, "a\nb"=2})"#,
            V(map(Type::Number, &[("x y", n("1")), ("a\nb", n("2"))])),
        ),
        (
            "{a=tostring(null), b=tonumber(null), c=tobool(null)}",
            V(obj(&[
                ("a", Value::Null(Type::String)),
                ("b", Value::Null(Type::Number)),
                ("c", Value::Null(Type::Bool)),
            ])),
        ),
        ("tomap(null)", V(Value::Null(Type::map(Type::Dynamic)))),
        ("type(1)", TypeOf(n("1"))),
        (
            r#"type({a=1,b=[1,"x"],c={}})"#,
            TypeOf(obj(&[
                ("a", n("1")),
                ("b", tup(&[n("1"), s("x")])),
                ("c", Value::empty_object()),
            ])),
        ),
        (
            "type(tolist([{a=1}]))",
            TypeOf(Value::list(vec![obj(&[("a", n("1"))])]).unwrap()),
        ),
        (
            "type(toset([\"a\"]))",
            TypeOf(Value::set(vec![s("a")]).unwrap()),
        ),
        (
            "type(tomap({a=[1]}))",
            TypeOf(map(
                Type::Tuple(vec![Type::Number]),
                &[("a", tup(&[n("1")]))],
            )),
        ),
        ("type([])", TypeOf(tup(&[]))),
        ("type({})", TypeOf(Value::empty_object())),
        ("type(null)", TypeOf(Value::Null(Type::Dynamic))),
        (
            "type([[1,true]])",
            TypeOf(tup(&[tup(&[n("1"), Value::bool(true)])])),
        ),
        (
            "type(tolist([]))",
            TypeOf(Value::List(Type::Dynamic, vec![])),
        ),
        (
            "type(tomap({a={b=tolist([1])}}))",
            TypeOf(Value::Null(Type::map(Type::object([(
                "b".to_string(),
                Type::list(Type::Number),
            )])))),
        ),
        (
            "type(tolist([{}]))",
            TypeOf(Value::Null(Type::list(Type::empty_object()))),
        ),
        (
            "type(toset([[]]))",
            TypeOf(Value::Null(Type::set(Type::Tuple(vec![])))),
        ),
    ]
}

fn golden() -> BTreeMap<String, String> {
    let text = include_str!("../data/console_golden.txt");
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
fn console_rendering_matches_terraform() {
    let golden = golden();
    let mut failures = Vec::new();
    let cases = cases();
    assert_eq!(
        cases.len(),
        golden.len(),
        "every recorded expression has a case"
    );
    for (expr, case) in cases {
        let want = golden
            .get(expr)
            .unwrap_or_else(|| panic!("no golden for {expr}"));
        let got = match case {
            Case::Value(v) => console_value(&v),
            Case::TypeOf(v) => console_type(&v.ty()),
        };
        if &got != want {
            failures.push(format!("{expr}\n--- want\n{want}\n--- got\n{got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn unknown_renders_as_known_after_apply() {
    assert_eq!(
        console_value(&Value::unknown(Type::String)),
        "(known after apply)"
    );
    let v = obj(&[("a", Value::unknown(Type::Number).mark(Marks::SENSITIVE))]);
    assert_eq!(console_value(&v), "{\n  \"a\" = (known after apply)\n}");
}
