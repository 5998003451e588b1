//! String functions: case, trimming, splitting, joining, searching, regular expressions and
//! grapheme-aware reversal and substrings. `format` and `formatlist` live in `format.rs`.

use crate::framework::{arg_err, call_err, func, p, Args, Function, R};
use crate::numeric::to_int;
use std::collections::BTreeMap;
use unicode_segmentation::UnicodeSegmentation;
use value::{Refinements, Type, Unknown, Value};

fn s(name: &'static str) -> crate::framework::Param {
    p(name, Type::String)
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    let str1: [(&'static str, crate::framework::ImplFn); 6] = [
        ("upper", |a| Ok(Value::String(go_upper(a.str(0))))),
        ("lower", |a| Ok(Value::String(go_lower(a.str(0))))),
        ("title", |a| Ok(Value::String(go_title(a.str(0))))),
        ("strrev", |a| {
            Ok(Value::String(a.str(0).graphemes(true).rev().collect()))
        }),
        ("chomp", |a| Ok(Value::String(chomp(a.str(0))))),
        ("trimspace", |a| {
            Ok(Value::string(a.str(0).trim_matches(char::is_whitespace)))
        }),
    ];
    for (name, imp) in str1 {
        fs.push(
            func(name, vec![s("str")])
                .ret(Type::String)
                .imp(imp)
                .build(),
        );
    }
    fs.push(
        func("endswith", vec![s("str"), s("suffix")])
            .ret(Type::Bool)
            .imp(|a| Ok(Value::Bool(a.str(0).ends_with(a.str(1)))))
            .build(),
    );
    fs.push(
        func("startswith", vec![s("str"), s("prefix")])
            .ret(Type::Bool)
            .imp(|a| Ok(Value::Bool(a.str(0).starts_with(a.str(1)))))
            .build(),
    );
    fs.push(
        func("strcontains", vec![s("str"), s("substr")])
            .ret(Type::Bool)
            .imp(|a| Ok(Value::Bool(a.str(0).contains(a.str(1)))))
            .build(),
    );
    fs.push(
        func("trim", vec![s("str"), s("cutset")])
            .ret(Type::String)
            .imp(|a| {
                let cut: Vec<char> = a.str(1).chars().collect();
                Ok(Value::String(
                    a.str(0).trim_matches(|c| cut.contains(&c)).to_string(),
                ))
            })
            .build(),
    );
    fs.push(
        func("trimprefix", vec![s("str"), s("prefix")])
            .ret(Type::String)
            .imp(|a| {
                let (x, pre) = (a.str(0), a.str(1));
                Ok(Value::string(x.strip_prefix(pre).unwrap_or(x)))
            })
            .build(),
    );
    fs.push(
        func("trimsuffix", vec![s("str"), s("suffix")])
            .ret(Type::String)
            .imp(|a| {
                let (x, suf) = (a.str(0), a.str(1));
                Ok(Value::string(x.strip_suffix(suf).unwrap_or(x)))
            })
            .build(),
    );
    fs.push(
        func("indent", vec![p("spaces", Type::Number), s("str")])
            .ret(Type::String)
            .imp(|a| {
                let n = to_int(&a.num(0)).map_err(call_err)?;
                if n < 0 {
                    return Err(call_err("strings: negative Repeat count"));
                }
                let lines = a.str(1).matches('\n').count();
                let size = (n as u128) * (lines as u128) + a.str(1).len() as u128;
                if size > crate::MAX_STRING_BYTES as u128 {
                    return Err(call_err(format!(
                        "the result would be longer than {} bytes, which weir does not support",
                        crate::MAX_STRING_BYTES
                    )));
                }
                let pad = " ".repeat(n as usize);
                Ok(Value::String(a.str(1).replace('\n', &format!("\n{pad}"))))
            })
            .build(),
    );
    fs.push(
        func("join", vec![s("separator")])
            .var(p("lists", Type::list(Type::String)))
            .ret(Type::String)
            .imp(join)
            .build(),
    );
    fs.push(
        func("split", vec![s("separator"), s("str")])
            .ret(Type::list(Type::String))
            .imp(|a| {
                let (sep, x) = (a.str(0), a.str(1));
                let parts: Vec<Value> = if sep.is_empty() {
                    x.chars().map(|c| Value::String(c.to_string())).collect()
                } else {
                    x.split(sep).map(Value::string).collect()
                };
                Ok(Value::list_of(Type::String, parts))
            })
            .build(),
    );
    fs.push(
        func("replace", vec![s("str"), s("substr"), s("replace")])
            .ret(Type::String)
            .imp(|a| {
                let (x, sub, rep) = (a.str(0), a.str(1), a.str(2));
                if sub.len() > 1 && sub.starts_with('/') && sub.ends_with('/') {
                    let re = compile_go_regex(&sub[1..sub.len() - 1])
                        .map_err(|e| call_err(format!("error parsing regexp: {e}")))?;
                    return Ok(Value::String(re.replace_all(x, rep).into_owned()));
                }
                Ok(Value::String(x.replace(sub, rep)))
            })
            .build(),
    );
    fs.push(
        func(
            "substr",
            vec![
                s("str").dynamic(),
                p("offset", Type::Number).dynamic(),
                p("length", Type::Number).dynamic(),
            ],
        )
        .ret(Type::String)
        .imp(substr)
        .build(),
    );
    fs.push(
        func("regex", vec![s("pattern"), s("string")])
            .ret_fn(|args| {
                if !args[0].is_known() {
                    return Ok(Type::Dynamic);
                }
                regex_result_type(args[0].as_str().unwrap_or("")).map_err(|e| arg_err(0, e))
            })
            .imp(|a| {
                if a.ret == Type::Dynamic {
                    return Ok(Value::dynamic_unknown());
                }
                let re = compile_go_regex(a.str(0))
                    .map_err(|e| arg_err(0, format!("error parsing pattern: {e}")))?;
                let caps = re.captures(a.str(1)).ok_or_else(|| {
                    call_err("pattern did not match any part of the given string")
                })?;
                Ok(regex_result(&re, &caps, &a.ret))
            })
            .build(),
    );
    fs.push(
        func("regexall", vec![s("pattern"), s("string")])
            .ret_fn(|args| {
                if !args[0].is_known() {
                    return Ok(Type::list(Type::Dynamic));
                }
                regex_result_type(args[0].as_str().unwrap_or(""))
                    .map(Type::list)
                    .map_err(|e| arg_err(0, e))
            })
            .imp(|a| {
                let ety = a.ret.element_type().cloned().unwrap_or(Type::Dynamic);
                if ety == Type::Dynamic {
                    return Ok(Value::dynamic_unknown());
                }
                let re = compile_go_regex(a.str(0))
                    .map_err(|e| arg_err(0, format!("error parsing pattern: {e}")))?;
                let elems: Vec<Value> = re
                    .captures_iter(a.str(1))
                    .map(|c| regex_result(&re, &c, &ety))
                    .collect();
                Ok(Value::list_of(ety, elems))
            })
            .build(),
    );
}

fn join(a: &Args) -> R<Value> {
    let sep = a.str(0);
    let lists = &a.vals[1..];
    if lists.is_empty() {
        return Err(call_err("at least one list is required"));
    }
    if lists.iter().any(|l| !l.is_wholly_known()) {
        return Ok(Value::Unknown(Box::new(Unknown {
            ty: Type::String,
            refinements: Refinements::default(),
        })));
    }
    let mut items = Vec::new();
    for (ai, l) in lists.iter().enumerate() {
        if let Value::List(_, vs) = l {
            for (ei, v) in vs.iter().enumerate() {
                match v.as_str() {
                    Some(x) => items.push(x.to_string()),
                    None if lists.len() > 1 => {
                        return Err(arg_err(
                            ai + 1,
                            format!(
                                "element {ei} of list {} is null; cannot concatenate null values",
                                ai + 1
                            ),
                        ))
                    }
                    None => {
                        return Err(arg_err(
                            ai + 1,
                            format!("element {ei} is null; cannot concatenate null values"),
                        ))
                    }
                }
            }
        }
    }
    Ok(Value::String(items.join(sep)))
}

fn substr(a: &Args) -> R<Value> {
    let x = a.str(0);
    let mut offset = to_int(&a.num(1)).map_err(call_err)?;
    let length = to_int(&a.num(2)).map_err(call_err)?;
    let gs: Vec<&str> = x.graphemes(true).collect();
    if offset < 0 {
        offset += gs.len() as i64;
    } else if length == 0 {
        return Ok(Value::string(""));
    }
    // cty walks forward `offset` clusters but always consumes at least one when offset > 0,
    // and a negative offset that stays negative behaves as zero.
    let start = if offset > 0 {
        if offset as usize > gs.len() {
            return Ok(Value::string(""));
        }
        offset as usize
    } else {
        0
    };
    let rest = &gs[start..];
    if length < 0 {
        return Ok(Value::String(rest.concat()));
    }
    let take = if length == 0 { 1 } else { length as usize };
    Ok(Value::String(rest.iter().take(take).copied().collect()))
}

fn chomp(x: &str) -> String {
    let mut end = x.len();
    let b = x.as_bytes();
    loop {
        if end >= 2 && &b[end - 2..end] == b"\r\n" {
            end -= 2;
        } else if end >= 1 && (b[end - 1] == b'\n' || b[end - 1] == b'\r') {
            end -= 1;
        } else {
            break;
        }
    }
    x[..end].to_string()
}

/// Go's `unicode.ToUpper` per rune: only one-to-one mappings apply.
pub(crate) fn go_upper(x: &str) -> String {
    x.chars().map(simple_upper).collect()
}

fn simple_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

pub(crate) fn go_lower(x: &str) -> String {
    x.chars()
        .map(|c| {
            let mut it = c.to_lowercase();
            match (it.next(), it.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.Title`: the first letter of each word to title case, where words are separated
/// by anything but letters, digits, underscores and (non-ASCII) non-space runes.
fn go_title(x: &str) -> String {
    let is_sep = |c: char| {
        if c.is_ascii() {
            !(c.is_ascii_alphanumeric() || c == '_')
        } else if c.is_alphanumeric() {
            false
        } else {
            c.is_whitespace()
        }
    };
    let mut prev = ' ';
    x.chars()
        .map(|c| {
            let out = if is_sep(prev) { simple_upper(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// Compiles a Go (RE2) regular expression: Go's error messages, and Perl classes (`\d`, `\w`,
/// `\s`, `\b`) that are ASCII-only as in Go.
pub(crate) fn compile_go_regex(pattern: &str) -> Result<regex::Regex, String> {
    if let Err(e) = regex_syntax::ast::parse::Parser::new().parse(pattern) {
        return Err(go_regex_error(pattern, &e));
    }
    let rewritten = asciify_perl_classes(pattern);
    regex::Regex::new(&rewritten).map_err(|e| match e {
        regex::Error::CompiledTooBig(_) => "expression too large".to_string(),
        e => {
            let msg = e.to_string();
            let first = msg.lines().last().unwrap_or("").trim().to_string();
            format!("invalid or unsupported Perl syntax: `{first}`")
        }
    })
}

fn go_regex_error(pattern: &str, e: &regex_syntax::ast::Error) -> String {
    use regex_syntax::ast::ErrorKind as K;
    let span = e.span();
    let text = pattern
        .get(span.start.offset..span.end.offset)
        .unwrap_or("");
    let (code, expr) = match e.kind() {
        K::GroupUnclosed => ("missing closing )", pattern.to_string()),
        K::GroupUnopened => ("unexpected )", pattern.to_string()),
        K::ClassUnclosed => (
            "missing closing ]",
            pattern.get(span.start.offset..).unwrap_or("").to_string(),
        ),
        K::EscapeUnrecognized
        | K::UnsupportedBackreference
        | K::EscapeHexInvalid
        | K::EscapeHexInvalidDigit
        | K::EscapeHexEmpty
        | K::UnicodeClassInvalid => ("invalid escape sequence", text.to_string()),
        K::EscapeUnexpectedEof => ("trailing backslash at end of expression", String::new()),
        K::RepetitionMissing => ("missing argument to repetition operator", text.to_string()),
        K::ClassRangeInvalid => ("invalid character class range", text.to_string()),
        K::RepetitionCountInvalid | K::RepetitionCountDecimalEmpty | K::RepetitionCountUnclosed => {
            ("invalid repeat count", text.to_string())
        }
        K::GroupNameInvalid
        | K::GroupNameDuplicate { .. }
        | K::GroupNameEmpty
        | K::GroupNameUnexpectedEof => ("invalid named capture", text.to_string()),
        K::NestLimitExceeded(_) => ("expression nests too deeply", text.to_string()),
        _ => ("invalid or unsupported Perl syntax", text.to_string()),
    };
    format!("{code}: `{expr}`")
}

/// Rewrites `\d \D \w \W \s \S` to their ASCII classes (Go's meaning) and `\b \B` to ASCII
/// word boundaries.
fn asciify_perl_classes(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 16);
    let mut in_class = 0usize;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match (n, in_class > 0) {
                    ('d', false) => "[0-9]",
                    ('D', false) => "[^0-9]",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('W', false) => "[^0-9A-Za-z_]",
                    ('s', false) => "[\\t\\n\\f\\r ]",
                    ('S', false) => "[^\\t\\n\\f\\r ]",
                    ('d', true) => "0-9",
                    ('w', true) => "0-9A-Za-z_",
                    ('s', true) => "\\t\\n\\f\\r ",
                    ('b', false) => "(?-u:\\b)",
                    ('B', false) => "(?-u:\\B)",
                    _ => {
                        out.push('\\');
                        out.push(n);
                        continue;
                    }
                };
                out.push_str(rep);
            }
            '[' => {
                if in_class > 0 && chars.peek() == Some(&':') {
                    // A POSIX class like [:alpha:] inside a bracket expression.
                    out.push('[');
                    for c2 in chars.by_ref() {
                        out.push(c2);
                        if c2 == ']' {
                            break;
                        }
                    }
                    continue;
                }
                in_class += 1;
                out.push('[');
                // A leading ']' (or '^]') is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class > 0 => {
                in_class -= 1;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

fn regex_result_type(pattern: &str) -> Result<Type, String> {
    let re = match regex_syntax::ast::parse::Parser::new().parse(pattern) {
        Err(e) => {
            return Err(format!("invalid regexp pattern: {}", {
                let m = go_regex_error(pattern, &e);
                match m.split_once(": ") {
                    Some((code, expr)) => format!("{code} in {}", expr.trim_matches('`')),
                    None => m,
                }
            }))
        }
        Ok(_) => compile_go_regex(pattern).map_err(|e| format!("error parsing pattern: {e}"))?,
    };
    let names: Vec<Option<&str>> = re.capture_names().skip(1).collect();
    let unnamed = names.iter().filter(|n| n.is_none()).count();
    let named: Vec<&str> = names.iter().flatten().copied().collect();
    Ok(match (unnamed, named.len()) {
        (0, 0) => Type::String,
        (u, n) if u > 0 && n > 0 => {
            return Err(
                "invalid regexp pattern: cannot mix both named and unnamed capture groups".into(),
            )
        }
        (u, _) if u > 0 => Type::Tuple(vec![Type::String; u]),
        _ => Type::object(named.iter().map(|n| (n.to_string(), Type::String))),
    })
}

fn regex_result(re: &regex::Regex, caps: &regex::Captures, ty: &Type) -> Value {
    let get = |i: usize| match caps.get(i) {
        Some(m) => Value::string(m.as_str()),
        None => Value::Null(Type::String),
    };
    match ty {
        Type::Tuple(ts) => Value::Tuple((1..=ts.len()).map(get).collect()),
        Type::Object(_) => {
            let mut m = BTreeMap::new();
            for (i, n) in re.capture_names().enumerate().skip(1) {
                if let Some(n) = n {
                    m.insert(n.to_string(), get(i));
                }
            }
            Value::Object(m)
        }
        _ => get(0),
    }
}
