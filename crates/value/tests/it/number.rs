//! Number arithmetic and formatting checked against `terraform console` goldens
//! (tests/data/number_golden.txt, recorded by tests/data/record.sh).

use value::Number;

/// Evaluates the tiny expression language of the golden file: `A`, or `A op B` with one of
/// `+ - * / %` between literals.
fn eval(expr: &str) -> String {
    for op in [" + ", " - ", " * ", " / ", " % "] {
        if let Some((a, b)) = expr.split_once(op) {
            let a = Number::parse(a).unwrap_or_else(|| panic!("literal {a}"));
            let b = Number::parse(b).unwrap_or_else(|| panic!("literal {b}"));
            let r = match op.trim() {
                "+" => a.checked_add(&b),
                "-" => a.checked_sub(&b),
                "*" => a.checked_mul(&b),
                "/" => a.div(&b),
                _ => a.rem(&b),
            };
            return r.map_or_else(|| "error".to_string(), |n| n.to_string());
        }
    }
    Number::parse(expr).expect("literal").to_string()
}

#[test]
fn arithmetic_matches_terraform() {
    let golden = include_str!("../data/number_golden.txt");
    let mut failures = Vec::new();
    for line in golden.lines() {
        let (expr, want) = line.split_once('\t').expect("tab-separated line");
        let got = eval(expr);
        if got != want {
            failures.push(format!("{expr}\n  want {want}\n  got  {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
