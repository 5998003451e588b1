//! Evaluator tests: a property test that no expression, well-formed or not, makes the evaluator
//! panic. Expressions are generated from the grammar (operators, calls to every built-in
//! function, conditionals, `for`, splats, indexing, templates, references to known, unknown,
//! null and sensitive values), so they get past the parser and into evaluation.

use std::collections::HashMap;

use proptest::prelude::*;
use value::{Marks, Type, Value};

use crate::{MapData, Reference, Scope};

/// Functions left out: they are slow by design (`bcrypt`'s cost factor) or can build huge
/// numbers from small ones (`pow`), which only measures patience.
const SKIPPED: [&str; 2] = ["bcrypt", "pow"];

fn function_names() -> Vec<String> {
    functions::names()
        .filter(|n| !SKIPPED.contains(n))
        .map(str::to_string)
        .collect()
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        (0i64..100).prop_map(|n| n.to_string()),
        (0u32..100, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
        "[a-z ,.]{0,6}".prop_map(|s| format!("\"{s}\"")),
        Just("[]".to_string()),
        Just("{}".to_string()),
        prop::sample::select(vec![
            "var.s",
            "var.n",
            "var.l",
            "var.m",
            "var.u",
            "var.z",
            "var.secret",
            "var.nope",
            "local.nope",
            "each.key",
            "count.index",
            "self",
            "path.module",
            "x",
        ])
        .prop_map(str::to_string),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    let names = function_names();
    let ops = vec![
        "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
    ];
    leaf().prop_recursive(4, 48, 4, move |inner| {
        prop_oneof![
            (
                inner.clone(),
                prop::sample::select(ops.clone()),
                inner.clone()
            )
                .prop_map(|(a, o, b)| format!("({a} {o} {b})")),
            (
                prop::sample::select(names.clone()),
                prop::collection::vec(inner.clone(), 0..4),
                any::<bool>()
            )
                .prop_map(|(f, args, expand)| format!(
                    "{f}({}{})",
                    args.join(", "),
                    if expand && !args.is_empty() {
                        "..."
                    } else {
                        ""
                    }
                )),
            (inner.clone(), inner.clone(), inner.clone())
                .prop_map(|(c, t, f)| format!("({c} ? {t} : {f})")),
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
            prop::collection::vec(("[a-c]", inner.clone()), 0..3).prop_map(|v| {
                let items: Vec<String> = v.into_iter().map(|(k, e)| format!("{k} = {e}")).collect();
                format!("{{{}}}", items.join(", "))
            }),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a}[{b}]")),
            (inner.clone(), "[a-c]").prop_map(|(a, k)| format!("{a}.{k}")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("[for x in {a} : {b} if x != null]")),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| format!("{{for k, v in {a} : k => {b}...}}")),
            inner.clone().prop_map(|a| format!("{a}[*].a")),
            inner
                .clone()
                .prop_map(|a| format!("\"p-${{{a}}}-%{{ if {a} }}y%{{ endif }}\"")),
            inner.clone().prop_map(|a| format!("!{a}")),
            inner.clone().prop_map(|a| format!("-{a}")),
            inner.clone().prop_map(|a| format!("try({a}, \"d\")")),
            inner.clone().prop_map(|a| format!("can({a})")),
        ]
    })
}

fn data() -> MapData {
    let mut values = HashMap::new();
    let var = |n: &str| Reference::Var(n.to_string());
    values.insert(var("s"), Value::string("text"));
    values.insert(var("n"), Value::number(3));
    values.insert(
        var("l"),
        Value::Tuple(vec![
            Value::number(1),
            Value::string("a"),
            Value::null(Type::String),
        ]),
    );
    values.insert(
        var("m"),
        Value::object([
            ("a".to_string(), Value::number(1)),
            ("b".to_string(), Value::Tuple(vec![Value::bool(true)])),
        ]),
    );
    values.insert(var("u"), Value::dynamic_unknown());
    values.insert(var("z"), Value::null(Type::Dynamic));
    values.insert(
        var("secret"),
        Value::string("hunter2").mark(Marks::SENSITIVE),
    );
    MapData { values }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8192))]

    #[test]
    fn evaluation_never_panics(src in expr()) {
        if let Ok(e) = config::parse_expression(&src, "prop.tf") {
            let data = data();
            let dir = std::env::temp_dir();
            let _ = Scope::new(&data, dir.clone()).eval(&e, &Type::Dynamic);
            let _ = Scope::new(&data, dir).pure_only(true).eval(&e, &Type::String);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(src in "\\PC{0,60}") {
        if let Ok(e) = config::parse_expression(&src, "prop.tf") {
            let data = data();
            let _ = Scope::new(&data, std::env::temp_dir()).eval(&e, &Type::Dynamic);
        }
    }
}

/// Every family of diagnostic that quotes a value: with a sensitive value in play, the
/// diagnostics say "(sensitive value)" and never the secret itself.
#[test]
fn diagnostics_never_show_sensitive_values() {
    let exprs = [
        // Conversions.
        "tonumber(var.secret)",
        "tobool(var.secret)",
        "tolist(var.secret)",
        "tomap(var.secret)",
        "tonumber({a = var.secret})",
        // Files and templates.
        "file(var.secret)",
        "filebase64(var.secret)",
        "filemd5(var.secret)",
        "templatefile(var.secret, {})",
        "file(\"${var.secret}/x\")",
        // Collections.
        "index([\"a\"], var.secret)",
        "lookup({}, var.secret)",
        "lookup({a = 1}, var.secret)",
        "element(var.secret, 1)",
        "{a = 1}[var.secret]",
        "var.secret[0]",
        "var.secret.attr",
        "{for k in [var.secret, var.secret] : k => 1}",
        "keys(var.secret)",
        "coalescelist(var.secret)",
        // Operators and conditions.
        "var.secret ? 1 : 2",
        "var.secret + 1",
        "!var.secret",
        "-var.secret",
        "var.secret && true",
        // Encodings and parsing.
        "jsondecode(var.secret)",
        "yamldecode(\"a: [\")",
        "yamldecode(var.secret)",
        "base64decode(var.secret)",
        "csvdecode(var.secret)",
        "urldecode(\"%zz${var.secret}\")",
        "parseint(var.secret, 10)",
        "cidrhost(var.secret, 1)",
        "cidrsubnet(var.secret, 1, 1)",
        "cidrnetmask(var.secret)",
        "timeadd(var.secret, \"1h\")",
        "timeadd(\"2024-01-01T00:00:00Z\", var.secret)",
        "formatdate(\"YYYY\", var.secret)",
        "formatdate(var.secret, \"2024-01-01T00:00:00Z\")",
        "format(\"%d\", var.secret)",
        "format(var.secret, 1)",
        "regex(var.secret, \"x\")",
        "regex(\"x\", var.secret)",
        "replace(\"a\", \"/(/\", var.secret)",
        "split(var.secret, 1)",
        "substr(var.secret, \"x\", 1)",
        "strrev(var.secret) + 1",
        "upper(var.secret) + 1",
        "abs(var.secret)",
        "pow(var.secret, 2)",
        "range(var.secret)",
        "uuidv5(var.secret, \"x\")",
        "sha256(var.secret) + 1",
        "bcrypt(var.secret, \"x\")",
        "rsadecrypt(var.secret, var.secret)",
        "textdecodebase64(var.secret, \"UTF-8\")",
        "textencodebase64(\"x\", var.secret)",
        "try(tonumber(var.secret))",
        "one(var.secret)",
        "setproduct(var.secret)",
        "zipmap(var.secret, [])",
        "startswith(var.secret, 1)",
        "\"${var.secret}\" + 1",
        "templatestring(var.secret, {})",
    ];
    let data = data();
    for src in exprs {
        let e = config::parse_expression(src, "t.tf").expect(src);
        let (_, ds) = Scope::new(&data, std::env::temp_dir()).eval(&e, &Type::Dynamic);
        for d in ds.iter() {
            let text = format!("{} {} {:?}", d.summary, d.detail, d.expression_values);
            assert!(!text.contains("hunter2"), "{src}: {text}");
        }
    }
}

/// An expression nested `depth` times by one of the constructs that recurse: brackets,
/// parentheses, objects, calls, unary and binary operators, conditionals, templates, `for`,
/// splats and indexes, or a deep `jsondecode`/`yamldecode` document.
fn deep_expr(kind: usize, depth: usize) -> String {
    let n = depth;
    match kind {
        0 => format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        1 => format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        2 => format!("{}1{}", "{a = ".repeat(n), "}".repeat(n)),
        3 => format!("{}-1{}", "abs(".repeat(n), ")".repeat(n)),
        4 => format!("{}1", "-".repeat(n)),
        5 => vec!["1"; n + 1].join(" + "),
        6 => format!("{} 0", "true ? 1 :".repeat(n)),
        7 => format!("{}\"x\"{}", "\"${".repeat(n), "}\"".repeat(n)),
        8 => format!("{}1{}", "[for x in [1] : ".repeat(n), "]".repeat(n)),
        9 => format!("var.l{}", "[*]".repeat(n)),
        10 => format!("var.l{}", "[0]".repeat(n)),
        11 => format!("jsondecode(\"{}{}\")", "[".repeat(n), "]".repeat(n)),
        12 => format!("yamldecode(\"{}{}\")", "[".repeat(n), "]".repeat(n)),
        13 => format!(
            "jsonencode(jsondecode(\"{}1{}\"))",
            "[".repeat(n),
            "]".repeat(n)
        ),
        _ => format!("{}1{}", "tolist([".repeat(n), "])".repeat(n)),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Nesting at, near and far beyond the bound: never a crash or a stack overflow, only a
    /// value or diagnostics (on the test thread's ordinary stack).
    #[test]
    fn deep_nesting_never_crashes(kind in 0usize..15, depth in prop_oneof![1usize..100, 900usize..1100, 5000usize..12000]) {
        let src = deep_expr(kind, depth);
        let data = data();
        match config::parse_expression(&src, "deep.tf") {
            Ok(e) => {
                let (_, ds) = Scope::new(&data, std::env::temp_dir()).eval(&e, &Type::Dynamic);
                if depth > 2 * value::depth::MAX_DEPTH {
                    prop_assert!(ds.has_errors(), "{kind} at {depth} should be refused");
                }
            }
            Err(ds) => prop_assert!(depth > value::depth::MAX_DEPTH / 2, "{kind} at {depth}: {ds:?}"),
        }
    }
}

/// What Terraform accepts well past hcl-edit's former limits is accepted and evaluated.
#[test]
fn moderate_nesting_evaluates() {
    let data = data();
    for kind in 0..15 {
        // Nested conversions cost more per level (each converts everything below it).
        let src = deep_expr(kind, if kind == 14 { 60 } else { 300 });
        let e =
            config::parse_expression(&src, "deep.tf").unwrap_or_else(|d| panic!("{kind}: {d:?}"));
        let (_, ds) = Scope::new(&data, std::env::temp_dir()).eval(&e, &Type::Dynamic);
        // Splatting or indexing a string fails, but as a diagnostic.
        if kind != 9 && kind != 10 {
            assert!(!ds.has_errors(), "{kind}: {ds:?}");
        }
    }
}

/// A 10,000-level JSON document is refused with a clean error, not a stack overflow.
#[test]
fn jsondecode_of_very_deep_documents_is_an_error() {
    let data = data();
    let src = deep_expr(11, 10_000);
    let e = config::parse_expression(&src, "deep.tf").expect("parses");
    let (_, ds) = Scope::new(&data, std::env::temp_dir()).eval(&e, &Type::Dynamic);
    let d = ds.iter().next().expect("an error");
    assert!(d.detail.contains("more than 1000 levels"), "{d:?}");
}

/// Inputs that would build gigabytes or hang are refused (or answered as Go's fmt answers)
/// instead of being computed.
#[test]
fn pathological_sizes_are_refused() {
    let data = data();
    let eval = |src: &str| {
        let e = config::parse_expression(src, "t.tf").expect(src);
        Scope::new(&data, std::env::temp_dir()).eval(&e, &Type::Dynamic)
    };
    for src in [
        "indent(1e9, \"a\\nb\")",
        "setproduct(range(100), range(100), range(100), range(100))",
        "format(\"%999999999s\", \"x\")",
        "range(1e9)",
    ] {
        let (_, ds) = eval(src);
        assert!(ds.has_errors(), "{src}");
    }
    let (v, ds) = eval("format(\"%0999999999d\", 1)");
    assert!(!ds.has_errors(), "{ds:?}");
    assert_eq!(v.as_str(), Some("%!(NOVERB)%!(EXTRA *big.Int=1)"));
}
