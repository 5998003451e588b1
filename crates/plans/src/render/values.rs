//! Value diffs as Terraform's renderer prints them: primitives, JSON strings as
//! `jsonencode(…)`, heredocs, objects and maps, lists and sets (aligned by longest common
//! subsequence), with unknown, sensitive and null handling.

use super::*;

use std::collections::BTreeSet;

use value::{PathStep, Value};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Op {
    Create,
    Delete,
    Update,
    Same,
}

impl Op {
    pub(super) fn sym(self) -> &'static str {
        match self {
            Op::Create => "+",
            Op::Delete => "-",
            Op::Update => "~",
            Op::Same => " ",
        }
    }
}

pub(super) struct Ctx {
    pub(super) color: bool,
    pub(super) replace_paths: Vec<Vec<PathStep>>,
    /// Inside a schema only the legacy SDK could have produced: empty strings count as null,
    /// because that SDK cannot tell them apart (Terraform's renderer does the same).
    pub(super) legacy: std::cell::Cell<bool>,
    /// The value being rendered sits in an object or a collection element, where a removal
    /// shows no ` -> null`.
    pub(super) no_null: std::cell::Cell<bool>,
    /// Inside an attribute Terraform always shows in full (`id`, `name`, `tags`): unchanged
    /// members and elements are listed, not counted as hidden.
    pub(super) show_unchanged: std::cell::Cell<bool>,
    /// A value Terraform renders from its JSON alone (an output, or an attribute of dynamic
    /// type): null members of objects and maps are members, shown and counted like any other.
    pub(super) json: std::cell::Cell<bool>,
}

impl Ctx {
    pub(super) fn sym(&self, op: Op) -> String {
        if !self.color {
            return op.sym().to_string();
        }
        match op {
            Op::Create => format!("{GREEN}+{RESET}"),
            Op::Delete => format!("{RED}-{RESET}"),
            Op::Update => format!("{YELLOW}~{RESET}"),
            Op::Same => " ".into(),
        }
    }
    pub(super) fn dim(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[90m{s}{RESET}")
        } else {
            s.to_string()
        }
    }
}

pub(super) fn is_sensitive(v: Option<&Value>) -> bool {
    v.is_some_and(|v| v.marks().is_sensitive())
}

/// A value rendered as a primitive literal (strings quoted as HCL).
pub(super) fn primitive(v: &Value) -> String {
    match v.unmarked() {
        Value::Null(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_text(),
        Value::String(s) => value::ops::go_quote(s),
        Value::Unknown(_) => "(known after apply)".into(),
        _ => String::new(),
    }
}

pub(super) fn is_primitive(v: &Value) -> bool {
    matches!(
        v.unmarked(),
        Value::Null(_) | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

pub(super) fn entries(v: &Value) -> Option<Vec<(String, Value)>> {
    match v.unmarked() {
        Value::Object(m) | Value::Map(_, m) => {
            Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        _ => None,
    }
}

pub(super) fn elements(v: &Value) -> Option<Vec<Value>> {
    match v.unmarked() {
        Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => Some(es.clone()),
        _ => None,
    }
}

pub(super) fn is_map(v: &Value) -> bool {
    matches!(v.unmarked(), Value::Map(..))
}

pub(super) fn eq(a: &Value, b: &Value) -> bool {
    if !a.is_wholly_known() || !b.is_wholly_known() {
        return false;
    }
    let (a, am) = a.clone().unmark_deep();
    let (b, bm) = b.clone().unmark_deep();
    am.is_sensitive() == bm.is_sensitive() && a.raw_equals(&b)
}

/// The decoded content of a string that holds a JSON object or array, as `jsondecode` would
/// give it; `None` for anything else.
pub(super) fn json_string(v: &Value) -> Option<Value> {
    let Value::String(s) = v.unmarked() else {
        return None;
    };
    if !(s.starts_with('{') || s.starts_with('[')) {
        return None;
    }
    let j: serde_json::Value = serde_json::from_str(s).ok()?;
    value::json::from_json(&j, &value::json::implied_type(&j)).ok()
}

pub(super) fn multiline(v: &Value) -> Option<&str> {
    match v.unmarked() {
        Value::String(s) if s.contains('\n') => Some(s),
        _ => None,
    }
}

pub(super) fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// Longest common subsequence alignment of two sequences: pairs of (Some(i), Some(j)) for
/// matches and (Some(i), None)/(None, Some(j)) for deletions/insertions.
pub(super) fn lcs<T>(
    a: &[T],
    b: &[T],
    same: impl Fn(&T, &T) -> bool,
) -> Vec<(Option<usize>, Option<usize>)> {
    let (n, m) = (a.len(), b.len());
    let mut t = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            t[i][j] = if same(&a[i], &b[j]) {
                t[i + 1][j + 1] + 1
            } else {
                t[i + 1][j].max(t[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < n || j < m {
        if i < n && j < m && same(&a[i], &b[j]) {
            out.push((Some(i), Some(j)));
            i += 1;
            j += 1;
        } else if j < m && (i == n || t[i][j + 1] >= t[i + 1][j]) {
            if i < n && t[i][j + 1] == t[i + 1][j] {
                out.push((Some(i), None));
                i += 1;
            } else {
                out.push((None, Some(j)));
                j += 1;
            }
        } else {
            out.push((Some(i), None));
            i += 1;
        }
    }
    out
}

/// A value's change, as [`value_change_inner`] renders it, without the ` -> null` of a
/// removal where Terraform leaves it out: inside objects and collection elements.
pub(super) fn value_change(
    ctx: &Ctx,
    before: Option<&Value>,
    after: Option<&Value>,
    indent: usize,
    path: &mut Vec<PathStep>,
) -> (String, Op) {
    let (text, op) = value_change_inner(ctx, before, after, indent, path);
    match text.strip_suffix(" -> null") {
        Some(t) if ctx.no_null.get() && op == Op::Delete => (t.to_string(), op),
        _ => (text, op),
    }
}

/// Runs `f` with the null-suffix rule for children set to `no_null`.
pub(super) fn children<T>(ctx: &Ctx, no_null: bool, f: impl FnOnce() -> T) -> T {
    let saved = ctx.no_null.replace(no_null);
    let out = f();
    ctx.no_null.set(saved);
    out
}

/// Renders the change of one value. `before`/`after` are None when absent (create/delete).
/// Returns the text that follows `name = ` (may span lines; continuation lines indented by
/// `indent`) and the operation.
pub(super) fn value_change_inner(
    ctx: &Ctx,
    before: Option<&Value>,
    after: Option<&Value>,
    indent: usize,
    path: &mut Vec<PathStep>,
) -> (String, Op) {
    let empty = |v: Option<&Value>| {
        ctx.legacy.get()
            && v.is_some_and(|v| matches!(v.unmarked(), Value::String(s) if s.is_empty()))
    };
    let (before, after) = (
        before.filter(|_| !empty(before)),
        after.filter(|_| !empty(after)),
    );
    let op = match (before, after) {
        (None, None) => Op::Same,
        (None, Some(_)) => Op::Create,
        (Some(_), None) => Op::Delete,
        (Some(b), Some(a)) if eq(b, a) => Op::Same,
        _ => Op::Update,
    };
    // Terraform renders values it reads from JSON alone without replacement annotations.
    let forces = if op != Op::Same && !ctx.json.get() && ctx.replace_paths.iter().any(|p| p == path)
    {
        ctx.dim(" # forces replacement")
    } else {
        String::new()
    };
    // Sensitive values are never shown.
    if is_sensitive(before) || is_sensitive(after) {
        let s = match op {
            Op::Update if is_sensitive(before) && is_sensitive(after) => {
                "(sensitive value)".to_string()
            }
            Op::Update => "(sensitive value)".to_string(),
            Op::Delete => "(sensitive value) -> null".to_string(),
            _ => "(sensitive value)".to_string(),
        };
        return (format!("{s}{forces}"), op);
    }
    let b = before.filter(|v| !v.is_null() || op == Op::Same);
    let a = after.filter(|v| !v.is_null() || op == Op::Same);
    // Unknown after.
    if let Some(av) = after {
        if !av.is_known() {
            return match before {
                Some(bv) if !bv.is_null() => {
                    let (bt, _) = value_change(ctx, Some(bv), None, indent, path);
                    let bt = bt.trim_end_matches(" -> null").to_string();
                    (format!("{bt} -> (known after apply){forces}"), Op::Update)
                }
                _ => (
                    format!("(known after apply){forces}"),
                    if before.is_some() {
                        Op::Update
                    } else {
                        Op::Create
                    },
                ),
            };
        }
    }
    if let Some(r) = json_string_change(ctx, b, a, op, &forces, indent, path)
        .or_else(|| heredoc_change(ctx, b, a, op, &forces, indent))
        .or_else(|| primitive_change(b, a, op, &forces))
        .or_else(|| object_change(ctx, b, a, op, &forces, indent, path))
    {
        return r;
    }
    list_change(ctx, b, a, op, &forces, indent, path)
}

/// Strings holding a JSON object or array, as `jsonencode(…)` of their content.
fn json_string_change(
    ctx: &Ctx,
    b: Option<&Value>,
    a: Option<&Value>,
    op: Op,
    forces: &str,
    indent: usize,
    path: &mut Vec<PathStep>,
) -> Option<(String, Op)> {
    // Strings holding a JSON object or array render as `jsonencode(...)` of their content.
    let bj = b.map(json_string);
    let aj = a.map(json_string);
    let json_ok = |j: &Option<Option<Value>>| j.as_ref().is_none_or(|x| x.is_some());
    if (bj.is_some() || aj.is_some())
        && json_ok(&bj)
        && json_ok(&aj)
        && !(b.is_none() && a.is_none())
    {
        let (jb, ja) = (bj.flatten(), aj.flatten());
        let (jb, ja) = match op {
            Op::Same => (jb.clone(), jb),
            _ => (jb, ja),
        };
        let (text, _) = value_change(ctx, jb.as_ref(), ja.as_ref(), indent + 4, path);
        let text = text.trim_end_matches(" -> null");
        let sym = match op {
            Op::Update => Op::Update,
            _ => Op::Same,
        };
        let null = if op == Op::Delete { " -> null" } else { "" };
        let s = if text.contains('\n') {
            format!(
                "jsonencode(\n{}{} {}\n{}){null}",
                pad(indent + 4),
                ctx.sym(sym),
                text,
                pad(indent + 2)
            )
        } else {
            format!("jsonencode({text}){null}")
        };
        return Some((format!("{s}{forces}"), op));
    }
    None
}

/// Multi-line strings, as heredocs diffed line by line.
fn heredoc_change(
    ctx: &Ctx,
    b: Option<&Value>,
    a: Option<&Value>,
    op: Op,
    forces: &str,
    indent: usize,
) -> Option<(String, Op)> {
    // Multi-line strings as heredocs.
    let bm = b.and_then(multiline);
    let am = a.and_then(multiline);
    if bm.is_some() || am.is_some() {
        let bl: Vec<&str> = bm
            .map(|s| s.trim_end_matches('\n').split('\n').collect())
            .unwrap_or_default();
        let al: Vec<&str> = am
            .map(|s| s.trim_end_matches('\n').split('\n').collect())
            .unwrap_or_default();
        if (b.is_none() || bm.is_some()) && (a.is_none() || am.is_some()) {
            let mut s = String::from("<<-EOT\n");
            for (i, j) in lcs(&bl, &al, |x, y| x == y) {
                let (sym, line) = match (i, j) {
                    (Some(i), Some(_)) => (
                        if op == Op::Create || op == Op::Delete {
                            op
                        } else {
                            Op::Same
                        },
                        bl[i],
                    ),
                    (Some(i), None) => (Op::Delete, bl[i]),
                    (None, Some(j)) => (Op::Create, al[j]),
                    _ => continue,
                };
                let sym = if matches!(op, Op::Create | Op::Delete) {
                    Op::Same
                } else {
                    sym
                };
                s.push_str(
                    format!("{}{} {}\n", pad(indent + 4), ctx.sym(sym), line).trim_end_matches(' '),
                );
                if !s.ends_with('\n') {
                    s.push('\n');
                }
            }
            s.push_str(&format!("{}EOT", pad(indent + 4)));
            if op == Op::Delete {
                s.push_str(" -> null");
            }
            return Some((format!("{s}{forces}"), op));
        }
    }
    None
}

/// Primitives (and a null or absent side).
fn primitive_change(
    b: Option<&Value>,
    a: Option<&Value>,
    op: Op,
    forces: &str,
) -> Option<(String, Op)> {
    // Primitives.
    let prim_b = b.is_none_or(is_primitive);
    let prim_a = a.is_none_or(is_primitive);
    if prim_b && prim_a {
        let s = match (op, b, a) {
            (Op::Create, _, Some(a)) => primitive(a),
            (Op::Delete, Some(b), _) => format!("{} -> null", primitive(b)),
            (Op::Same, Some(b), _) => primitive(b),
            (Op::Update, Some(b), Some(a)) => format!("{} -> {}", primitive(b), primitive(a)),
            (Op::Update, None, Some(a)) => format!("null -> {}", primitive(a)),
            (Op::Update, Some(b), None) => format!("{} -> null", primitive(b)),
            (_, Some(v), _) | (_, _, Some(v)) => primitive(v),
            _ => "null".into(),
        };
        return Some((format!("{s}{forces}"), op));
    }
    None
}

/// Objects and maps: a member per line, unchanged ones counted as hidden.
fn object_change(
    ctx: &Ctx,
    b: Option<&Value>,
    a: Option<&Value>,
    op: Op,
    forces: &str,
    indent: usize,
    path: &mut Vec<PathStep>,
) -> Option<(String, Op)> {
    // Collections: objects and maps.
    let be = b.and_then(entries);
    let ae = a.and_then(entries);
    if be.is_some() || ae.is_some() {
        // JSON has no maps, only objects: a value rendered from it shows map keys as names.
        let map = !ctx.json.get() && (b.is_some_and(is_map) || a.is_some_and(is_map));
        let bm: std::collections::BTreeMap<String, Value> =
            be.unwrap_or_default().into_iter().collect();
        let am: std::collections::BTreeMap<String, Value> =
            ae.unwrap_or_default().into_iter().collect();
        let keys: BTreeSet<&String> = bm.keys().chain(am.keys()).collect();
        let mut lines: Vec<(Op, String, String)> = Vec::new();
        let mut hidden = 0;
        let mut w = 0;
        for k in keys {
            // Null members are absent ones (null on both sides is not shown or counted),
            // except in a value rendered from its JSON.
            let present = |v: &&Value| ctx.json.get() || !v.is_null() || !v.is_known();
            let (bv, av) = (bm.get(k).filter(present), am.get(k).filter(present));
            let (bv, av) = match op {
                Op::Create => (None, av),
                Op::Delete => (bv, None),
                _ => (bv, av),
            };
            if bv.is_none() && av.is_none() {
                continue;
            }
            path.push(if map {
                PathStep::Index(Value::string(k.clone()))
            } else {
                PathStep::Attr(k.clone())
            });
            let shown_key = if map || !value::ops::is_identifier(k) {
                value::ops::go_quote(k)
            } else {
                k.clone()
            };
            if bv.is_some() || av.is_some() {
                w = w.max(shown_key.chars().count());
            }
            let (text, eop) = children(ctx, !map || op == Op::Delete, || {
                value_change(ctx, bv, av, indent + 4, path)
            });
            path.pop();
            if eop == Op::Same && op != Op::Same && !ctx.show_unchanged.get() {
                hidden += 1;
                continue;
            }
            let key = if map || !value::ops::is_identifier(k) {
                value::ops::go_quote(k)
            } else {
                k.clone()
            };
            lines.push((eop, key, text));
        }
        if lines.is_empty() && hidden == 0 {
            let s = match op {
                Op::Delete => "{} -> null".to_string(),
                _ => "{}".to_string(),
            };
            return Some((format!("{s}{forces}"), op));
        }
        let mut s = String::from("{\n");
        for (eop, k, text) in &lines {
            s.push_str(&format!(
                "{}{} {:<w$} = {}\n",
                pad(indent + 4),
                ctx.sym(*eop),
                k,
                text,
                w = w
            ));
        }
        if hidden > 0 {
            let what = if map { "element" } else { "attribute" };
            s.push_str(&format!(
                "{}{}\n",
                pad(indent + 6),
                ctx.dim(&format!(
                    "# ({hidden} unchanged {what}{} hidden)",
                    if hidden == 1 { "" } else { "s" }
                ))
            ));
        }
        s.push_str(&format!("{}}}", pad(indent + 2)));
        if op == Op::Delete {
            s.push_str(" -> null");
        }
        return Some((format!("{s}{forces}"), op));
    }
    None
}

/// Lists, sets and tuples: elements aligned as Terraform aligns them, unchanged ones hidden
/// (with context around changes for lists).
fn list_change(
    ctx: &Ctx,
    b: Option<&Value>,
    a: Option<&Value>,
    op: Op,
    forces: &str,
    indent: usize,
    path: &mut Vec<PathStep>,
) -> (String, Op) {
    // Lists, sets and tuples.
    let bl = b.and_then(elements).unwrap_or_default();
    let al = a.and_then(elements).unwrap_or_default();
    if bl.is_empty() && al.is_empty() {
        let s = match op {
            Op::Delete => "[] -> null".to_string(),
            _ => "[]".to_string(),
        };
        return (format!("{s}{forces}"), op);
    }
    let mut items: Vec<(Op, String)> = Vec::new();
    let saved_no_null = ctx.no_null.replace(true);
    // A removed element reads without the ` -> null` its own rendering ends with.
    let removed = |e: &Value, path: &mut Vec<PathStep>| {
        value_change(ctx, Some(e), None, indent + 4, path)
            .0
            .trim_end_matches(" -> null")
            .to_string()
    };
    // Terraform diffs a set element by element: the old ones in order, each kept or removed,
    // then the new ones; unchanged elements are never shown for context.
    let is_set = [b, a]
        .into_iter()
        .flatten()
        .any(|v| matches!(v.unmarked(), Value::Set(..)));
    match op {
        Op::Update if is_set => {
            let mut used = vec![false; al.len()];
            for e in &bl {
                match (0..al.len()).find(|&j| !used[j] && eq(e, &al[j])) {
                    Some(j) => {
                        used[j] = true;
                        items.push((
                            Op::Same,
                            value_change(ctx, Some(e), Some(e), indent + 4, path).0,
                        ));
                    }
                    None => items.push((Op::Delete, removed(e, path))),
                }
            }
            for (e, _) in al.iter().zip(&used).filter(|(_, u)| !**u) {
                items.push((
                    Op::Create,
                    value_change(ctx, None, Some(e), indent + 4, path).0,
                ));
            }
        }
        Op::Create => {
            for e in &al {
                items.push((
                    Op::Create,
                    value_change(ctx, None, Some(e), indent + 4, path).0,
                ));
            }
        }
        Op::Delete => {
            for e in &bl {
                items.push((Op::Delete, removed(e, path)));
            }
        }
        _ => {
            let aligned = lcs(&bl, &al, eq);
            // A deletion directly followed by an insertion of primitives reads as an update.
            let mut i = 0;
            while i < aligned.len() {
                match aligned[i] {
                    (Some(x), Some(_)) => items.push((
                        Op::Same,
                        value_change(ctx, Some(&bl[x]), Some(&bl[x]), indent + 4, path).0,
                    )),
                    (Some(x), None) => {
                        if let Some((None, Some(y))) = aligned.get(i + 1) {
                            if is_primitive(&bl[x]) && is_primitive(&al[*y]) {
                                items.push((
                                    Op::Update,
                                    value_change(
                                        ctx,
                                        Some(&bl[x]),
                                        Some(&al[*y]),
                                        indent + 4,
                                        path,
                                    )
                                    .0,
                                ));
                                i += 2;
                                continue;
                            }
                        }
                        items.push((Op::Delete, removed(&bl[x], path)));
                    }
                    (None, Some(y)) => items.push((
                        Op::Create,
                        value_change(ctx, None, Some(&al[y]), indent + 4, path).0,
                    )),
                    _ => {}
                }
                i += 1;
            }
        }
    }
    ctx.no_null.set(saved_no_null);
    let mut s = String::from("[\n");
    let mut hidden = 0;
    let n = items.len();
    for (idx, (eop, text)) in items.iter().enumerate() {
        if *eop == Op::Same && op == Op::Update && !ctx.show_unchanged.get() {
            let near = !is_set
                && ((idx > 0 && items[idx - 1].0 != Op::Same)
                    || (idx + 1 < n && items[idx + 1].0 != Op::Same));
            if !near {
                hidden += 1;
                continue;
            }
        }
        // A set's hidden elements are counted once, at the end.
        if hidden > 0 && !is_set {
            s.push_str(&format!(
                "{}{}\n",
                pad(indent + 6),
                ctx.dim(&format!(
                    "# ({hidden} unchanged element{} hidden)",
                    if hidden == 1 { "" } else { "s" }
                ))
            ));
            hidden = 0;
        }
        s.push_str(&format!("{}{} {},\n", pad(indent + 4), ctx.sym(*eop), text));
    }
    if hidden > 0 {
        s.push_str(&format!(
            "{}{}\n",
            pad(indent + 6),
            ctx.dim(&format!(
                "# ({hidden} unchanged element{} hidden)",
                if hidden == 1 { "" } else { "s" }
            ))
        ));
    }
    s.push_str(&format!("{}]", pad(indent + 2)));
    if op == Op::Delete {
        s.push_str(" -> null");
    }
    (format!("{s}{forces}"), op)
}
