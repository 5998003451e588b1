//! The "├── var.n is 3" lines under a diagnostic: what each reference in the failing
//! expression evaluated to, described as compactly as Terraform does.

use config::{Expr, Traverser};
use value::Value;

use crate::Scope;

/// The Go `%g` rendering with ten significant digits that Terraform uses for numbers here.
fn number_g10(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.9e}", x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mant = mant.trim_end_matches('0').trim_end_matches('.');
    if !(-4..10).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let neg = x < 0.0;
    let point = exp + 1;
    let mut s = String::new();
    if point <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-point) as usize));
        s.push_str(&digits);
    } else if (point as usize) >= digits.len() {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        s.push_str(&digits[..point as usize]);
        s.push('.');
        s.push_str(&digits[point as usize..]);
    }
    if neg {
        format!("-{s}")
    } else {
        s
    }
}

/// Terraform's compact description of a known, non-sensitive value.
pub fn compact_value(v: &Value) -> String {
    let ty = v.ty();
    match v.unmarked() {
        Value::Null(_) => "null".into(),
        Value::Unknown(_) => "(not yet known)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number_g10(n.to_f64()),
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        Value::Object(attrs) => match attrs.len() {
            0 => "object with no attributes".into(),
            1 => format!(
                "object with 1 attribute {}",
                serde_json::to_string(attrs.keys().next().map(|k| k.as_str()).unwrap_or(""))
                    .unwrap_or_default()
            ),
            n => format!("object with {n} attributes"),
        },
        Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => match es.len() {
            0 => format!("empty {}", ty.friendly_name()),
            1 => format!("{} with 1 element", ty.friendly_name()),
            n => format!("{} with {n} elements", ty.friendly_name()),
        },
        Value::Map(_, es) => match es.len() {
            0 => format!("empty {}", ty.friendly_name()),
            1 => format!("{} with 1 element", ty.friendly_name()),
            n => format!("{} with {n} elements", ty.friendly_name()),
        },
        _ => ty.friendly_name(),
    }
}

fn traversal_source(root: &str, steps: &[Traverser]) -> Option<String> {
    let mut s = root.to_string();
    for st in steps {
        match st {
            Traverser::Attr { name, .. } => {
                s.push('.');
                s.push_str(name);
            }
            Traverser::Index { key, .. } => {
                s.push('[');
                match key {
                    Value::String(k) => s.push_str(&serde_json::to_string(k).ok()?),
                    Value::Number(n) => s.push_str(&n.to_string()),
                    _ => return None,
                }
                s.push(']');
            }
        }
    }
    Some(s)
}

/// For each reference in `expr`, the longest prefix that evaluates and what it evaluated to,
/// sorted by reference text. Unknown and sensitive values are left out, as Terraform does for
/// diagnostics not caused by them.
pub fn expression_values(scope: &Scope, expr: &Expr) -> Vec<(String, String)> {
    thread_local! {
        // Set while evaluating references for a diagnostic, whose own errors need no values.
        static ACTIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    if ACTIVE.with(|a| a.replace(true)) {
        return Vec::new();
    }
    let out = reference_values(scope, expr);
    ACTIVE.with(|a| a.set(false));
    out
}

fn reference_values(scope: &Scope, expr: &Expr) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (root, steps, range) in expr.references() {
        // The reference itself, then one step at a time while steps succeed: linear in the
        // length of the traversal.
        let Ok((r, used)) = crate::refs::parse_ref(root, steps, range) else {
            continue;
        };
        let Ok(mut v) = scope.data.get(&r, range) else {
            continue;
        };
        let mut len = used;
        for step in &steps[used..] {
            let next = match step {
                Traverser::Attr { name, .. } => crate::eval::get_attr(&v, name),
                Traverser::Index { key, .. } => crate::eval::index(&v, key),
            };
            match next {
                Ok(n) => {
                    v = n;
                    len += 1;
                }
                Err(_) => break,
            }
        }
        let Some(text) = traversal_source(root, &steps[..len]) else {
            continue;
        };
        if !out.iter().any(|(t, _)| *t == text) && !v.marks().is_sensitive() && v.is_known() {
            out.push((text, format!("is {}", compact_value(&v))));
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::number_g10;

    #[test]
    fn numbers_use_ten_significant_digits() {
        assert_eq!(number_g10(3.0), "3");
        assert_eq!(number_g10(0.5), "0.5");
        assert_eq!(number_g10(-2.25), "-2.25");
        assert_eq!(number_g10(12345678901.0), "1.23456789e+10");
        assert_eq!(number_g10(0.00001), "1e-05");
        assert_eq!(number_g10(1234.5), "1234.5");
    }
}
