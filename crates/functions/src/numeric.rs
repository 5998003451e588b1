//! Numeric functions: abs, ceil, floor, log, max, min, parseint, pow, signum.

use crate::framework::{arg_err, call_err, func, p, Args, Function, R};
use num_bigint::BigInt;
use num_traits::Num;
use value::{Number, Type, Value};

pub(crate) fn register(fs: &mut Vec<Function>) {
    let num1 = || vec![p("num", Type::Number)];
    fs.push(
        func("abs", num1())
            .ret(Type::Number)
            .imp(|a| Ok(Value::Number(a.num(0).abs())))
            .build(),
    );
    fs.push(
        func("ceil", num1())
            .ret(Type::Number)
            .imp(|a| Ok(Value::Number(a.num(0).ceil())))
            .build(),
    );
    fs.push(
        func("floor", num1())
            .ret(Type::Number)
            .imp(|a| Ok(Value::Number(a.num(0).floor())))
            .build(),
    );
    fs.push(
        func("signum", num1())
            .ret(Type::Number)
            .imp(|a| Ok(Value::Number(Number::from(a.num(0).signum()))))
            .build(),
    );
    fs.push(
        func("log", vec![p("num", Type::Number), p("base", Type::Number)])
            .ret(Type::Number)
            .imp(|a| float_result(a.num(0).to_f64().ln() / a.num(1).to_f64().ln()))
            .build(),
    );
    fs.push(
        func(
            "pow",
            vec![p("num", Type::Number), p("power", Type::Number)],
        )
        .ret(Type::Number)
        .imp(|a| float_result(go_pow(a.num(0).to_f64(), a.num(1).to_f64())))
        .build(),
    );
    fs.push(
        func("max", vec![])
            .var(p("numbers", Type::Number).dynamic())
            .ret(Type::Number)
            .imp(|a| extreme(a, std::cmp::Ordering::Greater))
            .build(),
    );
    fs.push(
        func("min", vec![])
            .var(p("numbers", Type::Number).dynamic())
            .ret(Type::Number)
            .imp(|a| extreme(a, std::cmp::Ordering::Less))
            .build(),
    );
    fs.push(
        func(
            "parseint",
            vec![p("number", Type::Dynamic), p("base", Type::Number)],
        )
        .ret_fn(|args| {
            let t = args[0].ty();
            if t != Type::String {
                return Err(arg_err(
                    0,
                    format!("first argument must be a string, not {}", t.friendly_name()),
                ));
            }
            Ok(Type::Number)
        })
        .imp(parseint)
        .build(),
    );
}

fn float_result(f: f64) -> R<Value> {
    match Number::from_f64(f) {
        Some(n) => Ok(Value::Number(n)),
        None => Err(call_err("result is not a number")),
    }
}

/// Go's `math.Pow` special cases where Rust's `powf` differs (`pow(-1, ±Inf)` is 1 in Go too;
/// NaN inputs cannot occur here).
fn go_pow(x: f64, y: f64) -> f64 {
    x.powf(y)
}

fn extreme(a: &Args, want: std::cmp::Ordering) -> R<Value> {
    if a.vals.is_empty() {
        return Err(call_err("must pass at least one number"));
    }
    let mut best: Option<&Number> = None;
    for v in &a.vals {
        let n = v
            .as_number()
            .ok_or_else(|| call_err("must pass at least one number"))?;
        match best {
            Some(b) if n.cmp_value(b) != want => {}
            _ => best = Some(n),
        }
    }
    Ok(Value::Number(best.cloned().unwrap_or_else(Number::zero)))
}

/// Converts an argument to a Go `int`, with gocty's error text.
pub(crate) fn to_int(n: &Number) -> Result<i64, String> {
    n.to_i64().filter(|_| n.is_integer()).ok_or_else(|| {
        "value must be a whole number, between -9223372036854775808 and 9223372036854775807".into()
    })
}

fn parseint(a: &Args) -> R<Value> {
    let s = a.str(0);
    let base = to_int(&a.num(1)).map_err(|e| arg_err(1, e))?;
    if !(2..=62).contains(&base) {
        return Err(arg_err(
            1,
            "base must be a whole number between 2 and 62 inclusive",
        ));
    }
    let bad = || {
        arg_err(
            0,
            format!(
                "cannot parse {} as a base {base} integer",
                value::ops::go_quote(s)
            ),
        )
    };
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() {
        return Err(bad());
    }
    let mut n = BigInt::from(0);
    for c in digits.chars() {
        let d = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'a'..='z' => c as u32 - 'a' as u32 + 10,
            'A'..='Z' if base <= 36 => c as u32 - 'A' as u32 + 10,
            'A'..='Z' => c as u32 - 'A' as u32 + 36,
            _ => return Err(bad()),
        };
        if i64::from(d) >= base {
            return Err(bad());
        }
        n = n * base + d;
    }
    if neg {
        n = -n;
    }
    let _ = BigInt::from_str_radix;
    Ok(Value::Number(Number::from_bigint(&n)))
}
