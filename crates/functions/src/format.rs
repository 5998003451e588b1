//! `format` and `formatlist`: Go `fmt` verbs as cty implements them (`%v %#v %t %b %d %o %x %X
//! %e %E %f %g %G %s %q`, flags `+ - # 0 space`, width, precision, `[n]` argument indexes).

use crate::encoding::go_json;
use crate::framework::{arg_err, call_err, func, p, Args, Fail, Function, R};
use num_bigint::BigInt;
use unicode_segmentation::UnicodeSegmentation;
use value::{Number, Refinements, Type, Unknown, Value};

pub(crate) fn register(fs: &mut Vec<Function>) {
    let args = || p("args", Type::Dynamic).null().unknown();
    fs.push(
        func("format", vec![p("format", Type::String)])
            .var(args())
            .ret(Type::String)
            .imp(format_impl)
            .build(),
    );
    fs.push(
        func("formatlist", vec![p("format", Type::String)])
            .var(args())
            .ret(Type::list(Type::String))
            .imp(formatlist_impl)
            .build(),
    );
}

fn format_impl(a: &Args) -> R<Value> {
    let f = a.str(0);
    if a.vals[1..].iter().any(|v| !v.is_wholly_known()) {
        let mut r = Refinements {
            not_null: true,
            ..Refinements::default()
        };
        if let Some(i) = f.find('%') {
            if i > 0 {
                r.string_prefix = Some(f[..i].to_string());
            }
        }
        return Ok(Value::Unknown(Box::new(Unknown {
            ty: Type::String,
            refinements: r,
        })));
    }
    format_str(f, &a.vals[1..]).map(Value::String)
}

fn formatlist_impl(a: &Args) -> R<Value> {
    let f = a.str(0);
    let args = &a.vals[1..];
    if args.is_empty() {
        return Ok(Value::list_of(
            Type::String,
            vec![Value::String(format_str(f, args)?)],
        ));
    }
    let mut iter_len: Option<(usize, usize)> = None;
    let mut unknown = false;
    for (i, v) in args.iter().enumerate() {
        let ty = v.ty();
        let seq = matches!(ty, Type::List(_) | Type::Set(_) | Type::Tuple(_)) && !v.is_null();
        if seq {
            let Some(len) = v.length() else {
                unknown = true;
                continue;
            };
            match iter_len {
                None => iter_len = Some((len, i)),
                Some((l, c)) if l != len => {
                    return Err(arg_err(
                        i + 1,
                        format!(
                            "argument {} has length {len}, which is inconsistent with argument {} of length {l}",
                            i + 1,
                            c + 1
                        ),
                    ))
                }
                _ => {}
            }
            if !v.is_known() {
                unknown = true;
            }
        } else if !v.is_known() && ty == Type::Dynamic {
            unknown = true;
        }
    }
    if unknown {
        return Ok(Value::unknown(Type::list(Type::String)));
    }
    let n = iter_len.map(|(l, _)| l).unwrap_or(1);
    let mut out = Vec::with_capacity(n);
    'results: for k in 0..n {
        let mut fargs = Vec::with_capacity(args.len());
        for v in args {
            let e = match v.unmarked() {
                Value::List(_, vs) | Value::Set(_, vs) | Value::Tuple(vs) => vs[k].clone(),
                _ => v.clone(),
            };
            if !e.is_wholly_known() {
                out.push(Value::Unknown(Box::new(Unknown {
                    ty: Type::String,
                    refinements: Refinements {
                        not_null: true,
                        ..Refinements::default()
                    },
                })));
                continue 'results;
            }
            fargs.push(e);
        }
        match format_str(f, &fargs) {
            Ok(s) => out.push(Value::String(s)),
            Err(Fail::Call(m)) | Err(Fail::Arg(_, m)) => {
                return Err(call_err(format!("error on format iteration {k}: {m}")))
            }
        }
    }
    Ok(Value::list_of(Type::String, out))
}

#[derive(Default, Debug)]
struct Verb {
    raw: String,
    offset: usize,
    arg: usize,
    mode: char,
    zero: bool,
    sharp: bool,
    plus: bool,
    minus: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
    /// A width or precision Go's `fmt` gives up on (see [`go_parsenum`]).
    too_large: bool,
}

/// The widest padding weir produces for the verbs cty pads itself (`%s`, `%q`, `%v`): a
/// configuration asking for more is an error rather than gigabytes of spaces.
const MAX_PAD: usize = crate::MAX_STRING_BYTES;

/// Go's `fmt` `parsenum`: digits from `i`; `None` once the number, before its next digit,
/// exceeds a million ("crazy long number"), after which Go treats the rest of the verb as
/// consumed. Returns the position after the digits.
fn go_parsenum(b: &[u8], mut i: usize) -> (Option<usize>, usize) {
    let mut n = 0usize;
    let mut overflow = false;
    while let Some(d @ b'0'..=b'9') = b.get(i) {
        if n > 1_000_000 {
            overflow = true;
        }
        n = n.saturating_mul(10).saturating_add((d - b'0') as usize);
        i += 1;
    }
    ((!overflow).then_some(n), i)
}

/// Formats `f` with `args` (all known), as cty's `formatFSM`.
pub(crate) fn format_str(f: &str, args: &[Value]) -> R<String> {
    let b = f.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(f.len());
    let mut next_arg = 1usize;
    let mut highest = 0usize;
    let mut i = 0;
    let bad_char = |p: usize| {
        let r = f[p..].chars().next().unwrap_or('\u{fffd}');
        call_err(format!(
            "unrecognized format character {} at offset {p}",
            go_quote_rune(r)
        ))
    };
    let unterminated = |p: usize| call_err(format!("invalid format string starting at offset {p}"));
    while i < b.len() {
        if b[i] != b'%' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        if b.get(i + 1) == Some(&b'%') {
            out.push(b'%');
            i += 2;
            continue;
        }
        let start = i;
        let mut v = Verb {
            arg: next_arg,
            offset: start,
            ..Verb::default()
        };
        i += 1;
        while let Some(&c) = b.get(i) {
            match c {
                b'0' => v.zero = true,
                b'#' => v.sharp = true,
                b'-' => v.minus = true,
                b'+' => v.plus = true,
                b' ' => v.space = true,
                _ => break,
            }
            i += 1;
        }
        if matches!(b.get(i), Some(b'1'..=b'9')) {
            let (w, next) = go_parsenum(b, i);
            i = next;
            v.too_large |= w.is_none();
            v.width = Some(w.unwrap_or(usize::MAX));
        }
        if b.get(i) == Some(&b'.') {
            let (pr, next) = go_parsenum(b, i + 1);
            i = next;
            v.too_large |= pr.is_none();
            v.prec = Some(pr.unwrap_or(usize::MAX));
        }
        if b.get(i) == Some(&b'[') {
            i += 1;
            match b.get(i) {
                Some(b'1'..=b'9') => {}
                None => return Err(unterminated(i)),
                _ => return Err(bad_char(i)),
            }
            let mut n = 0usize;
            while let Some(d @ b'0'..=b'9') = b.get(i) {
                n = n.saturating_mul(10).saturating_add((d - b'0') as usize);
                i += 1;
            }
            match b.get(i) {
                Some(b']') => i += 1,
                None => return Err(unterminated(i)),
                _ => return Err(bad_char(i)),
            }
            v.arg = n;
        }
        match b.get(i) {
            Some(c) if c.is_ascii_alphabetic() => {
                v.mode = *c as char;
                i += 1;
            }
            None => return Err(unterminated(i)),
            _ => return Err(bad_char(i)),
        }
        v.raw = f[start..i].to_string();
        highest = highest.max(v.arg);
        append_verb(&v, &mut out, args)?;
        next_arg = v.arg + 1;
    }
    let s = String::from_utf8(out).unwrap_or_default();
    if highest < args.len() {
        let first_bad = highest + 1;
        if highest == 0 {
            return Err(arg_err(
                first_bad,
                "too many arguments; no verbs in format string",
            ));
        }
        return Err(arg_err(
            first_bad,
            format!("too many arguments; only {highest} used by format string"),
        ));
    }
    Ok(s)
}

fn go_quote_rune(r: char) -> String {
    match r {
        '\'' => "'\\''".into(),
        c => {
            let q = value::ops::go_quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1].replace("\\\"", "\""))
        }
    }
}

fn append_verb(v: &Verb, out: &mut Vec<u8>, args: &[Value]) -> R<()> {
    let Some(arg) = args.get(v.arg.wrapping_sub(1)).filter(|_| v.arg >= 1) else {
        return Err(call_err(format!(
            "not enough arguments for {} at {}: need index {} but have {} total",
            value::ops::go_quote(&v.raw),
            v.offset,
            v.arg,
            args.len()
        )));
    };
    let unsupported = |m: &str| {
        call_err(format!(
            "unsupported value for {} at {}: {m}",
            value::ops::go_quote(&v.raw),
            v.offset
        ))
    };
    if v.mode != 'v' && arg.is_null() {
        return Err(unsupported("null value cannot be formatted"));
    }
    if v.too_large
        && matches!(
            v.mode,
            'b' | 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'g' | 'G'
        )
    {
        // cty hands these verbs to Go's fmt, which gives up on the verb and reports the
        // argument it did not use.
        out.extend_from_slice(go_noverb(v.mode, arg).as_bytes());
        return Ok(());
    }
    if matches!(v.mode, 's' | 'q' | 'v') && v.width.is_some_and(|w| w > MAX_PAD) {
        return Err(unsupported(&format!(
            "width greater than {MAX_PAD} is not supported"
        )));
    }
    let s = match v.mode {
        'v' => {
            let plain = if !v.sharp && !arg.is_null() {
                match arg.unmarked() {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(float_text(n, 'g', None)),
                    _ => None,
                }
            } else {
                None
            };
            let s = match plain {
                Some(s) => s,
                None => go_json(arg).map_err(|e| unsupported(&e))?,
            };
            pad_width(v, s)
        }
        't' => {
            let b =
                value::convert::convert(arg, &Type::Bool).map_err(|e| unsupported(&e.message))?;
            if b.as_bool() == Some(true) {
                "true"
            } else {
                "false"
            }
            .to_string()
        }
        'b' | 'd' | 'o' | 'x' | 'X' | 'e' | 'E' | 'f' | 'g' | 'G' => {
            let n =
                value::convert::convert(arg, &Type::Number).map_err(|e| unsupported(&e.message))?;
            let n = n
                .as_number()
                .cloned()
                .ok_or_else(|| unsupported("a number is required"))?;
            if matches!(v.mode, 'b' | 'd' | 'o' | 'x' | 'X') {
                let Some(i) = n.to_bigint() else {
                    return Err(unsupported("an integer is required"));
                };
                format_int(v, &i)
            } else {
                format_float(v, &n)
            }
        }
        's' | 'q' => {
            let sv =
                value::convert::convert(arg, &Type::String).map_err(|e| unsupported(&e.message))?;
            let mut s = sv.as_str().unwrap_or("").to_string();
            if let Some(pr) = v.prec.filter(|p| *p > 0) {
                s = s.graphemes(true).take(pr).collect();
            }
            if v.mode == 'q' {
                s = go_json(&Value::String(s)).map_err(|e| unsupported(&e))?;
            }
            pad_width(v, s)
        }
        m => {
            return Err(call_err(format!(
                "unsupported format verb {} in {} at offset {}",
                go_quote_rune(m),
                value::ops::go_quote(&v.raw),
                v.offset
            )))
        }
    };
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

/// Go's `%!(NOVERB)%!(EXTRA type=value)` for an argument as cty passes it to Go's fmt.
fn go_noverb(mode: char, arg: &Value) -> String {
    let extra = match (mode, arg.unmarked()) {
        (_, Value::Number(n)) if matches!(mode, 'b' | 'd' | 'o' | 'x' | 'X') && n.is_integer() => {
            format!(
                "*big.Int={}",
                n.to_bigint().map(|i| i.to_string()).unwrap_or_default()
            )
        }
        (_, Value::Number(n)) => format!("*big.Float={}", float_text(n, 'g', None)),
        (_, other) => match value::convert::convert(other, &Type::Number) {
            Ok(Value::Number(n)) => format!("*big.Float={}", float_text(&n, 'g', None)),
            _ => String::new(),
        },
    };
    format!("%!(NOVERB)%!(EXTRA {extra})")
}

fn pad_width(v: &Verb, s: String) -> String {
    let Some(w) = v.width else { return s };
    let n = s.graphemes(true).count();
    if n >= w {
        return s;
    }
    let pad = if v.zero { "0" } else { " " }.repeat(w - n);
    if v.minus {
        s + &pad
    } else {
        pad + &s
    }
}

fn format_int(v: &Verb, i: &BigInt) -> String {
    let neg = i.sign() == num_bigint::Sign::Minus;
    let mag = i.magnitude();
    let sign = if neg {
        "-"
    } else if v.plus {
        "+"
    } else if v.space {
        " "
    } else {
        ""
    };
    let prefix = if v.sharp {
        match v.mode {
            'b' => "0b",
            'o' => "0",
            'x' => "0x",
            'X' => "0X",
            _ => "",
        }
    } else {
        ""
    };
    let mut digits = match v.mode {
        'b' => mag.to_str_radix(2),
        'o' => mag.to_str_radix(8),
        'x' => mag.to_str_radix(16),
        'X' => mag.to_str_radix(16).to_uppercase(),
        _ => mag.to_str_radix(10),
    };
    let mut zeros = 0;
    if let Some(pr) = v.prec {
        if digits.len() < pr {
            zeros = pr - digits.len();
        } else if digits == "0" && pr == 0 {
            digits.clear();
            return String::new();
        }
    }
    let len = sign.len() + prefix.len() + zeros + digits.len();
    let (mut left, mut right) = (0, 0);
    if let Some(w) = v.width {
        if len < w {
            let d = w - len;
            if v.minus {
                right = d;
            } else if v.zero && v.prec.is_none() {
                zeros = d;
            } else {
                left = d;
            }
        }
    }
    format!(
        "{}{sign}{prefix}{}{digits}{}",
        " ".repeat(left),
        "0".repeat(zeros),
        " ".repeat(right)
    )
}

/// A finite number's shortest decimal digits (no leading/trailing zeros) and exponent, such
/// that the value is `0.DIGITS × 10^exp` (Go's `decimal` form).
fn decimal_parts(n: &Number) -> (Vec<u8>, i64) {
    let t = n.abs().to_string();
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    let all: String = format!("{int}{frac}");
    let lead = all.bytes().take_while(|c| *c == b'0').count();
    let digits: Vec<u8> = all.bytes().skip(lead).collect();
    let mut digits = digits;
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (digits, 0);
    }
    let exp = int.len() as i64 - lead as i64;
    (digits, exp)
}

/// Rounds decimal digits to `n` digits, half to even on exact ties (Go's `decimal.round`).
fn round_digits(d: &mut Vec<u8>, exp: &mut i64, n: i64) {
    if n < 0 || n as usize >= d.len() {
        return;
    }
    let n = n as usize;
    let up = match d[n] {
        b'5' if n + 1 == d.len() => n > 0 && (d[n - 1] - b'0') % 2 == 1,
        c => c >= b'5',
    };
    d.truncate(n);
    if up {
        let mut k = n;
        loop {
            if k == 0 {
                d.insert(0, b'1');
                *exp += 1;
                break;
            }
            k -= 1;
            if d[k] < b'9' {
                d[k] += 1;
                break;
            }
            d[k] = b'0';
        }
    }
    while d.last() == Some(&b'0') {
        d.pop();
    }
}

/// Go's big.Float `Append(format, prec)` for finite and infinite values, without sign padding.
pub(crate) fn float_text(n: &Number, fmt: char, prec: Option<usize>) -> String {
    let neg = n.is_negative();
    if n.is_infinite() {
        return if neg { "-Inf" } else { "+Inf" }.into();
    }
    let (mut d, mut exp) = decimal_parts(n);
    let shortest = prec.is_none();
    let mut prec = prec.map(|p| p as i64).unwrap_or(0);
    if shortest {
        prec = match fmt {
            'e' | 'E' => d.len() as i64 - 1,
            'f' => (d.len() as i64 - exp).max(0),
            _ => d.len() as i64,
        };
    } else {
        match fmt {
            'e' | 'E' => round_digits(&mut d, &mut exp, 1 + prec),
            'f' => {
                let target = exp + prec;
                round_digits(&mut d, &mut exp, target)
            }
            _ => {
                if prec == 0 {
                    prec = 1;
                }
                round_digits(&mut d, &mut exp, prec)
            }
        }
    }
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    match fmt {
        'e' | 'E' => fmt_e(&mut out, fmt, prec, &d, exp),
        'f' => fmt_f(&mut out, prec, &d, exp),
        _ => {
            let mut eprec = prec;
            if eprec > d.len() as i64 && d.len() as i64 >= exp {
                eprec = d.len() as i64;
            }
            if shortest {
                eprec = 6;
            }
            let e = exp - 1;
            let efmt = if fmt == 'G' { 'E' } else { 'e' };
            if d.is_empty() {
                // Zero: Go's decimal has exp 0, so %g prints "0".
                fmt_f(&mut out, 0, &d, 0);
            } else if e < -4 || e >= eprec {
                if prec > d.len() as i64 {
                    prec = d.len() as i64;
                }
                fmt_e(&mut out, efmt, prec - 1, &d, exp);
            } else {
                if prec > exp {
                    prec = d.len() as i64;
                }
                fmt_f(&mut out, (prec - exp).max(0), &d, exp);
            }
        }
    }
    out
}

fn fmt_e(out: &mut String, fmt: char, prec: i64, d: &[u8], exp: i64) {
    let first = d.first().copied().unwrap_or(b'0');
    out.push(first as char);
    if prec > 0 {
        out.push('.');
        let mut i = 1usize;
        let m = d.len().min(prec as usize + 1);
        if i < m {
            out.push_str(std::str::from_utf8(&d[i..m]).unwrap_or(""));
            i = m;
        }
        for _ in i..=prec as usize {
            out.push('0');
        }
    }
    out.push(fmt);
    let e = if d.is_empty() { 0 } else { exp - 1 };
    if e < 0 {
        out.push('-');
    } else {
        out.push('+');
    }
    let ea = e.unsigned_abs();
    if ea < 10 {
        out.push('0');
    }
    out.push_str(&ea.to_string());
}

fn fmt_f(out: &mut String, prec: i64, d: &[u8], exp: i64) {
    if exp > 0 {
        let m = (exp as usize).min(d.len());
        out.push_str(std::str::from_utf8(&d[..m]).unwrap_or(""));
        for _ in m..exp as usize {
            out.push('0');
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            let idx = exp + i - 1;
            let c = if idx >= 0 && (idx as usize) < d.len() {
                d[idx as usize]
            } else {
                b'0'
            };
            out.push(c as char);
        }
    }
}

fn format_float(v: &Verb, n: &Number) -> String {
    let fmt = match v.mode {
        'e' | 'E' | 'f' | 'g' | 'G' => v.mode,
        _ => 'g',
    };
    let prec = match fmt {
        'g' | 'G' => v.prec,
        _ => Some(v.prec.unwrap_or(6)),
    };
    let mut buf = float_text(n, fmt, prec);
    let inf = n.is_infinite();
    let sign = if let Some(rest) = buf.strip_prefix('-') {
        buf = rest.to_string();
        "-"
    } else if let Some(rest) = buf.strip_prefix('+') {
        buf = rest.to_string();
        if v.space {
            " "
        } else {
            "+"
        }
    } else if v.plus {
        "+"
    } else if v.space {
        " "
    } else {
        ""
    };
    let padding = match v.width {
        Some(w) if w > sign.len() + buf.len() => w - sign.len() - buf.len(),
        _ => 0,
    };
    if v.zero && !inf {
        format!("{sign}{}{buf}", "0".repeat(padding))
    } else if v.minus {
        format!("{sign}{buf}{}", " ".repeat(padding))
    } else {
        format!("{}{sign}{buf}", " ".repeat(padding))
    }
}
