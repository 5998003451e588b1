//! Filesystem functions, with relative paths resolved against the module directory:
//! `file`, `filebase64`, `fileexists`, `fileset`, `templatefile`, and path manipulation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use value::{Type, Value};

use crate::framework::{arg_err, call_err, func, p, Args, Fail, Function, R};

pub(crate) fn resolve(a: &Args, path: &str) -> PathBuf {
    let expanded = expand_home(path, a.ctx.home_dir.as_deref());
    let p = Path::new(&expanded);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        a.ctx.base_dir.join(p)
    }
}

fn expand_home(path: &str, home: Option<&Path>) -> String {
    if path == "~" || path.starts_with("~/") {
        let h = home
            .map(|h| h.to_string_lossy().to_string())
            .or_else(|| std::env::var("HOME").ok())
            .unwrap_or_default();
        return format!("{h}{}", &path[1..]);
    }
    path.to_string()
}

pub(crate) fn read_file(a: &Args, i: usize) -> R<Vec<u8>> {
    let path = a.str(i);
    let full = resolve(a, path);
    std::fs::read(&full).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            arg_err(i, format!("no file exists at {}; this function works only with files that are distributed as part of the configuration source code, so if this file will be created by a resource in this configuration you must instead obtain this result from an attribute of that resource", value::ops::go_quote(path)))
        } else {
            arg_err(i, format!("failed to read file: {e}"))
        }
    })
}

fn glob_match(pat: &[&str], parts: &[&str]) -> bool {
    match (pat.first(), parts.first()) {
        (None, None) => true,
        (Some(&"**"), _) => {
            glob_match(&pat[1..], parts) || (!parts.is_empty() && glob_match(pat, &parts[1..]))
        }
        (Some(p), Some(s)) => {
            seg_match(p.as_bytes(), s.as_bytes()) && glob_match(&pat[1..], &parts[1..])
        }
        _ => false,
    }
}

fn seg_match(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => seg_match(&p[1..], s) || (!s.is_empty() && seg_match(p, &s[1..])),
        (Some(b'?'), Some(_)) => seg_match(&p[1..], &s[1..]),
        (Some(b'['), Some(c)) => {
            let Some(end) = p.iter().position(|b| *b == b']') else {
                return false;
            };
            let class = &p[1..end];
            let (neg, class) = match class.first() {
                Some(b'^') | Some(b'!') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != neg && seg_match(&p[end + 1..], &s[1..])
        }
        (Some(x), Some(y)) if x == y => seg_match(&p[1..], &s[1..]),
        _ => false,
    }
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let path = e.path();
        if path.is_dir() {
            walk(&path, &r, out);
        } else {
            out.push(r);
        }
    }
}

pub(crate) fn register(fs: &mut Vec<Function>) {
    fs.push(
        func("file", vec![p("path", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                let b = read_file(a, 0)?;
                String::from_utf8(b).map(Value::String).map_err(|_| {
                    call_err(format!("contents of {} are not valid UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other file functions (e.g. filemd5, filesha256) to obtain file hashing results instead", value::ops::go_quote(a.str(0))))
                })
            })
            .build(),
    );
    fs.push(
        func("filebase64", vec![p("path", Type::String)])
            .ret(Type::String)
            .imp(|a| Ok(Value::String(crate::encoding::b64(&read_file(a, 0)?))))
            .build(),
    );
    fs.push(
        func("fileexists", vec![p("path", Type::String)])
            .ret(Type::Bool)
            .imp(|a| {
                let full = resolve(a, a.str(0));
                match std::fs::metadata(&full) {
                    Ok(m) if m.is_file() => Ok(Value::Bool(true)),
                    Ok(m) if m.is_dir() => Err(call_err(format!(
                        "{} is a directory, not a file",
                        value::ops::go_quote(a.str(0))
                    ))),
                    Ok(_) => Err(call_err(format!(
                        "{} is not a regular file, but \"{}\"",
                        value::ops::go_quote(a.str(0)),
                        "irregular"
                    ))),
                    Err(_) => Ok(Value::Bool(false)),
                }
            })
            .build(),
    );
    fs.push(
        func(
            "fileset",
            vec![p("path", Type::String), p("pattern", Type::String)],
        )
        .ret(Type::set(Type::String))
        .imp(|a| {
            let base = resolve(a, a.str(0));
            let pat: Vec<&str> = a.str(1).split('/').filter(|s| !s.is_empty()).collect();
            let mut files = Vec::new();
            walk(&base, "", &mut files);
            let mut out: Vec<Value> = files
                .into_iter()
                .filter(|f| glob_match(&pat, &f.split('/').collect::<Vec<_>>()))
                .map(Value::String)
                .collect();
            out.sort_by(|x, y| x.as_str().cmp(&y.as_str()));
            Ok(Value::set_of(Type::String, out))
        })
        .build(),
    );
    fs.push(
        func(
            "templatefile",
            vec![p("path", Type::String), p("vars", Type::Dynamic)],
        )
        .ret(Type::Dynamic)
        .imp(|a| {
            let src = String::from_utf8(read_file(a, 0)?)
                .map_err(|_| call_err("the template file is not valid UTF-8"))?;
            let vars = template_vars(&a.vals[1])?;
            let Some(render) = a.ctx.render_template else {
                return Err(call_err("templates cannot be rendered here"));
            };
            render(&src, a.str(0), &vars).map_err(|e| match template_error(e) {
                // A template file's syntax errors are about the call, not an argument.
                Err(syntax) => call_err(syntax),
                Ok(f) => f,
            })
        })
        .build(),
    );
    fs.push(
        func(
            "templatestring",
            vec![
                p("template", Type::String),
                p("vars", Type::Dynamic).dynamic(),
            ],
        )
        .ret(Type::String)
        .imp(|a| {
            let vars = template_vars(&a.vals[1])?;
            let Some(render) = a.ctx.render_template else {
                return Err(call_err("templates cannot be rendered here"));
            };
            let v = render(a.str(0), "<templatestring argument>", &vars).map_err(|e| {
                match template_error(e) {
                    Err(syntax) => arg_err(0, format!("{}{syntax}", crate::INVALID_TEMPLATE)),
                    Ok(f) => f,
                }
            })?;
            value::convert::convert(&v, &Type::String)
                .map_err(|e| call_err(format!("invalid template result: {e}")))
        })
        .build(),
    );
    fs.push(
        func("abspath", vec![p("path", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                let p = Path::new(a.str(0));
                let abs = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    std::env::current_dir().unwrap_or_default().join(p)
                };
                Ok(Value::String(clean(&abs.to_string_lossy())))
            })
            .build(),
    );
    fs.push(
        func("basename", vec![p("path", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                let s = a.str(0);
                if s.is_empty() {
                    return Ok(Value::string("."));
                }
                let t = s.trim_end_matches('/');
                if t.is_empty() {
                    return Ok(Value::string("/"));
                }
                Ok(Value::string(t.rsplit('/').next().unwrap_or(t)))
            })
            .build(),
    );
    fs.push(
        func("dirname", vec![p("path", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                let s = a.str(0);
                let dir = match s.rfind('/') {
                    Some(i) => &s[..=i],
                    None => "",
                };
                Ok(Value::String(clean(dir)))
            })
            .build(),
    );
    fs.push(
        func("pathexpand", vec![p("path", Type::String)])
            .ret(Type::String)
            .imp(|a| {
                Ok(Value::String(expand_home(
                    a.str(0),
                    a.ctx.home_dir.as_deref(),
                )))
            })
            .build(),
    );
}

/// Go's `filepath.Clean`.
pub(crate) fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            x => out.push(x),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// The `vars` argument of `templatefile`/`templatestring`: a map or object whose keys are
/// valid identifiers (anything else could not be referenced from the template).
fn template_vars(v: &Value) -> R<BTreeMap<String, Value>> {
    let vars = match v.unmarked() {
        Value::Object(m) | Value::Map(_, m) => m.clone(),
        _ => return Err(arg_err(1, "invalid vars value: must be a map")),
    };
    for name in vars.keys() {
        if !value::ops::is_identifier(name) {
            return Err(arg_err(
                1,
                format!(
                    "invalid template variable name {}: must start with a letter, followed by zero or more letters, digits, and underscores",
                    value::ops::go_quote(name)
                ),
            ));
        }
    }
    Ok(vars)
}

/// Sorts a renderer error: a missing variable is about `vars`; a syntax error is returned
/// as `Err(text)` for the caller to attribute.
fn template_error(e: String) -> Result<Fail, String> {
    if let Some(rest) = e.strip_prefix(crate::MISSING_TEMPLATE_VAR) {
        return Ok(arg_err(1, format!("vars map does not contain key {rest}")));
    }
    match e.strip_prefix(crate::INVALID_TEMPLATE) {
        Some(syntax) => Err(syntax.to_string()),
        None => Ok(call_err(e)),
    }
}
