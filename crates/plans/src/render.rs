//! Terraform's human plan output: the action legend, one `# addr will be …` block per resource
//! instance with `+ / - / ~ / -/+ / +/-` markers and aligned attributes (nested values, lists
//! with line diffs, heredoc strings, `(known after apply)`, `(sensitive value)`, hidden
//! unchanged attributes), the summary line and "Changes to Outputs".

use std::collections::BTreeSet;

use providers::schema::{Block, NestingMode};
use value::{PathStep, Value};

use crate::{Action, ActionReason, Plan, PlanMode, ResourceInstanceChange};

#[derive(Clone, Copy, Debug, Default)]
pub struct RenderOptions {
    pub color: bool,
}

/// Looks up the schema block of (provider source, mode, type).
pub type SchemaLookup<'a> = dyn Fn(&str, &str, &str) -> Option<&'a Block> + 'a;

const GREEN: &str = "\x1b[32m";
const RED: &str = "\x1b[31m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const BOLD: &str = "\x1b[1m";
const RESET: &str = "\x1b[0m";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Create,
    Delete,
    Update,
    Same,
}

impl Op {
    fn sym(self) -> &'static str {
        match self {
            Op::Create => "+",
            Op::Delete => "-",
            Op::Update => "~",
            Op::Same => " ",
        }
    }
}

struct Ctx {
    color: bool,
    replace_paths: Vec<Vec<PathStep>>,
    /// Inside a schema only the legacy SDK could have produced: empty strings count as null,
    /// because that SDK cannot tell them apart (Terraform's renderer does the same).
    legacy: std::cell::Cell<bool>,
    /// The value being rendered sits in an object or a collection element, where a removal
    /// shows no ` -> null`.
    no_null: std::cell::Cell<bool>,
    /// Inside an attribute Terraform always shows in full (`id`, `name`, `tags`): unchanged
    /// members and elements are listed, not counted as hidden.
    show_unchanged: std::cell::Cell<bool>,
    /// A value Terraform renders from its JSON alone (an output, or an attribute of dynamic
    /// type): null members of objects and maps are members, shown and counted like any other.
    json: std::cell::Cell<bool>,
}

impl Ctx {
    fn sym(&self, op: Op) -> String {
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
    fn dim(&self, s: &str) -> String {
        if self.color {
            format!("\x1b[90m{s}{RESET}")
        } else {
            s.to_string()
        }
    }
}

fn is_sensitive(v: Option<&Value>) -> bool {
    v.is_some_and(|v| v.marks().is_sensitive())
}

/// A value rendered as a primitive literal (strings quoted as HCL).
fn primitive(v: &Value) -> String {
    match v.unmarked() {
        Value::Null(_) => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_text(),
        Value::String(s) => value::ops::go_quote(s),
        Value::Unknown(_) => "(known after apply)".into(),
        _ => String::new(),
    }
}

fn is_primitive(v: &Value) -> bool {
    matches!(
        v.unmarked(),
        Value::Null(_) | Value::Bool(_) | Value::Number(_) | Value::String(_)
    )
}

fn entries(v: &Value) -> Option<Vec<(String, Value)>> {
    match v.unmarked() {
        Value::Object(m) | Value::Map(_, m) => {
            Some(m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        }
        _ => None,
    }
}

fn elements(v: &Value) -> Option<Vec<Value>> {
    match v.unmarked() {
        Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => Some(es.clone()),
        _ => None,
    }
}

fn is_map(v: &Value) -> bool {
    matches!(v.unmarked(), Value::Map(..))
}

fn eq(a: &Value, b: &Value) -> bool {
    if !a.is_wholly_known() || !b.is_wholly_known() {
        return false;
    }
    let (a, am) = a.clone().unmark_deep();
    let (b, bm) = b.clone().unmark_deep();
    am.is_sensitive() == bm.is_sensitive() && a.raw_equals(&b)
}

/// The decoded content of a string that holds a JSON object or array, as `jsondecode` would
/// give it; `None` for anything else.
fn json_string(v: &Value) -> Option<Value> {
    let Value::String(s) = v.unmarked() else {
        return None;
    };
    if !(s.starts_with('{') || s.starts_with('[')) {
        return None;
    }
    let j: serde_json::Value = serde_json::from_str(s).ok()?;
    value::json::from_json(&j, &value::json::implied_type(&j)).ok()
}

fn multiline(v: &Value) -> Option<&str> {
    match v.unmarked() {
        Value::String(s) if s.contains('\n') => Some(s),
        _ => None,
    }
}

fn pad(n: usize) -> String {
    " ".repeat(n)
}

/// Longest common subsequence alignment of two sequences: pairs of (Some(i), Some(j)) for
/// matches and (Some(i), None)/(None, Some(j)) for deletions/insertions.
fn lcs<T>(a: &[T], b: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<(Option<usize>, Option<usize>)> {
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
fn value_change(
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
fn children<T>(ctx: &Ctx, no_null: bool, f: impl FnOnce() -> T) -> T {
    let saved = ctx.no_null.replace(no_null);
    let out = f();
    ctx.no_null.set(saved);
    out
}

/// Renders the change of one value. `before`/`after` are None when absent (create/delete).
/// Returns the text that follows `name = ` (may span lines; continuation lines indented by
/// `indent`) and the operation.
fn value_change_inner(
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
        return (format!("{s}{forces}"), op);
    }
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
            return (format!("{s}{forces}"), op);
        }
    }
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
        return (format!("{s}{forces}"), op);
    }
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
            return (format!("{s}{forces}"), op);
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
        return (format!("{s}{forces}"), op);
    }
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

/// Attributes always shown in updates, as Terraform does, to identify the object.
fn important(name: &str) -> bool {
    matches!(name, "id" | "name" | "tags")
}

/// Renders the body of a resource (attributes and nested blocks) at `indent`.
fn body(
    ctx: &Ctx,
    schema: Option<&Block>,
    before: &Value,
    after: &Value,
    op: Op,
    indent: usize,
    path: &mut Vec<PathStep>,
) -> String {
    let get = |v: &Value, k: &str| -> Option<Value> {
        match v.unmarked() {
            Value::Object(m) => m.get(k).cloned(),
            _ => None,
        }
    };
    let attr_names: Vec<String> = match schema {
        Some(s) => s.attributes.keys().cloned().collect(),
        None => {
            let mut ks: BTreeSet<String> = BTreeSet::new();
            for v in [before, after] {
                if let Some(es) = entries(v) {
                    ks.extend(es.into_iter().map(|(k, _)| k));
                }
            }
            ks.into_iter().collect()
        }
    };
    let block_names: Vec<(String, NestingMode, &Block)> = schema
        .map(|s| {
            s.block_types
                .iter()
                .map(|(k, nb)| (k.clone(), nb.nesting, &nb.block))
                .collect()
        })
        .unwrap_or_default();
    let outer_legacy = ctx.legacy.get();
    // A block's own attributes show ` -> null` when removed, wherever the block sits.
    let outer_no_null = ctx.no_null.replace(false);
    if schema.is_some_and(non_legacy) {
        ctx.legacy.set(false);
    }
    let mut lines: Vec<(Op, String, String)> = Vec::new();
    let mut hidden = 0;
    // Names align over every attribute in the diff, hidden unchanged ones included.
    let mut w = 0;
    for name in &attr_names {
        let bv = get(before, name).filter(|v| !v.is_null() || !v.is_known());
        let av = get(after, name).filter(|v| !v.is_null() || !v.is_known());
        let (bv, av) = match op {
            Op::Create => (None, av),
            Op::Delete => (bv, None),
            _ => (bv, av),
        };
        if bv.is_none() && av.is_none() {
            continue;
        }
        w = w.max(name.chars().count());
        path.push(PathStep::Attr(name.clone()));
        let saved = ctx
            .show_unchanged
            .replace(ctx.show_unchanged.get() || important(name));
        let dynamic = schema
            .and_then(|s| s.attributes.get(name))
            .is_some_and(|a| a.nested.is_none() && a.ty == value::Type::Dynamic);
        let saved_json = ctx.json.replace(ctx.json.get() || dynamic);
        let (text, aop) = value_change(ctx, bv.as_ref(), av.as_ref(), indent, path);
        ctx.json.set(saved_json);
        ctx.show_unchanged.set(saved);
        path.pop();
        if aop == Op::Same && op != Op::Same && !(important(name) && op != Op::Create) {
            hidden += 1;
            continue;
        }
        if aop == Op::Same && op == Op::Same && !important(name) {
            hidden += 1;
            continue;
        }
        lines.push((aop, name.clone(), text));
    }
    let mut s = String::new();
    for (aop, k, text) in &lines {
        s.push_str(&format!(
            "{}{} {:<w$} = {}\n",
            pad(indent),
            ctx.sym(*aop),
            k,
            text,
            w = w
        ));
    }
    if hidden > 0 {
        s.push_str(&format!(
            "{}{}\n",
            pad(indent + 2),
            ctx.dim(&format!(
                "# ({hidden} unchanged attribute{} hidden)",
                if hidden == 1 { "" } else { "s" }
            ))
        ));
    }
    let mut hidden_blocks = 0;
    for (name, nesting, bschema) in &block_names {
        let bv = get(before, name);
        let av = get(after, name);
        if op != Op::Delete && av.as_ref().is_some_and(|v| !v.is_known()) {
            let had = bv
                .as_ref()
                .is_some_and(|v| !v.is_null() && elements(v).is_none_or(|e| !e.is_empty()));
            let bop = if had { Op::Update } else { Op::Create };
            s.push_str(&format!(
                "\n{}{} {} (known after apply)\n",
                pad(indent),
                ctx.sym(bop),
                name
            ));
            continue;
        }
        let list = |v: &Option<Value>| -> Vec<Value> {
            match v {
                Some(v) if !v.is_null() => match nesting {
                    NestingMode::Single | NestingMode::Group => vec![v.clone()],
                    _ => elements(v)
                        .or_else(|| entries(v).map(|e| e.into_iter().map(|(_, x)| x).collect()))
                        .unwrap_or_default(),
                },
                _ => Vec::new(),
            }
        };
        let (bl, al) = match op {
            Op::Create => (Vec::new(), list(&av)),
            Op::Delete => (list(&bv), Vec::new()),
            _ => (list(&bv), list(&av)),
        };
        let aligned: Vec<(Option<usize>, Option<usize>)> = if matches!(nesting, NestingMode::Set) {
            lcs(&bl, &al, eq)
        } else {
            let n = bl.len().max(al.len());
            (0..n)
                .map(|i| ((i < bl.len()).then_some(i), (i < al.len()).then_some(i)))
                .collect()
        };
        for (i, j) in aligned {
            let (b, a) = (i.map(|i| &bl[i]), j.map(|j| &al[j]));
            let bop = match (b, a) {
                (None, Some(_)) => Op::Create,
                (Some(_), None) => Op::Delete,
                (Some(x), Some(y)) if eq(x, y) => Op::Same,
                _ => Op::Update,
            };
            if bop == Op::Same && op != Op::Same {
                hidden_blocks += 1;
                continue;
            }
            let null = Value::null(value::Type::Dynamic);
            path.push(PathStep::Attr(name.clone()));
            let inner = body(
                ctx,
                Some(bschema),
                b.unwrap_or(&null),
                a.unwrap_or(&null),
                bop,
                indent + 4,
                path,
            );
            path.pop();
            s.push_str(&format!(
                "\n{}{} {} {{\n{}{}}}\n",
                pad(indent),
                ctx.sym(bop),
                name,
                inner,
                pad(indent + 2)
            ));
        }
    }
    if hidden_blocks > 0 {
        s.push_str(&format!(
            "\n{}{}\n",
            pad(indent + 2),
            ctx.dim(&format!(
                "# ({hidden_blocks} unchanged block{} hidden)",
                if hidden_blocks == 1 { "" } else { "s" }
            ))
        ));
    }
    ctx.legacy.set(outer_legacy);
    ctx.no_null.set(outer_no_null);
    s
}

/// Whether a block uses something the legacy SDK could not express (map or group nesting,
/// nested attribute types, object, tuple or dynamic types, collections of non-primitive
/// collections); from there down, empty strings are real values.
fn non_legacy(block: &Block) -> bool {
    use value::Type;
    let odd = |t: &Type| -> bool {
        match t {
            Type::Object(_) | Type::Tuple(_) => true,
            Type::List(e) | Type::Set(e) | Type::Map(e) => match e.as_ref() {
                Type::List(x) | Type::Set(x) | Type::Map(x) => !x.is_primitive(),
                _ => false,
            },
            _ => false,
        }
    };
    block
        .block_types
        .values()
        .any(|nb| matches!(nb.nesting, NestingMode::Map | NestingMode::Group))
        || block
            .attributes
            .values()
            .any(|a| a.nested.is_some() || a.ty.has_dynamic() || odd(&a.ty))
}

fn key_text(c: &ResourceInstanceChange) -> String {
    match c.index.as_ref().map(|v| v.unmarked().clone()) {
        Some(Value::String(s)) => format!("[{}]", value::ops::go_quote(&s)),
        Some(Value::Number(n)) => format!("[{}]", n.to_text()),
        _ => String::new(),
    }
}

fn reason_line(c: &ResourceInstanceChange) -> Option<String> {
    let module = c.module_address.clone().unwrap_or_default();
    Some(match c.action_reason? {
        ActionReason::DeleteBecauseNoResourceConfig => {
            format!("# (because {} is not in configuration)", base_addr(c))
        }
        ActionReason::DeleteBecauseNoModule => {
            format!("# (because {module} is not in configuration)")
        }
        ActionReason::DeleteBecauseCountIndex => format!(
            "# (because index {} is out of range for count)",
            key_text(c)
        ),
        ActionReason::DeleteBecauseEachKey => {
            format!("# (because key {} is not in for_each map)", key_text(c))
        }
        ActionReason::DeleteBecauseWrongRepetition => {
            match c.index.as_ref().map(|v| v.unmarked()) {
                None => "# (because resource uses count or for_each)",
                Some(Value::String(_)) => "# (because resource does not use for_each)",
                Some(_) => "# (because resource does not use count)",
            }
            .to_string()
        }
        ActionReason::ReadBecauseConfigUnknown => {
            "# (config refers to values not yet known)".to_string()
        }
        ActionReason::ReadBecauseDependencyPending => {
            "# (depends on a resource or a module with changes pending)".to_string()
        }
        _ => return None,
    })
}

fn base_addr(c: &ResourceInstanceChange) -> String {
    let a = &c.address;
    match a.rfind('[') {
        Some(i) if a.ends_with(']') && c.index.is_some() => a[..i].to_string(),
        _ => a.clone(),
    }
}

/// One change as a `# addr …` block. A `drifted` change is a refreshed object compared with
/// the stored one ("has changed", "has been deleted").
fn resource_block(
    c: &ResourceInstanceChange,
    schema: Option<&Block>,
    opts: RenderOptions,
    drifted: bool,
) -> String {
    let ctx = Ctx {
        color: opts.color,
        replace_paths: c.replace_paths.clone(),
        legacy: std::cell::Cell::new(true),
        no_null: std::cell::Cell::new(false),
        show_unchanged: std::cell::Cell::new(false),
        json: std::cell::Cell::new(false),
    };
    let bold = |s: &str| {
        if opts.color {
            format!("{BOLD}{s}{RESET}")
        } else {
            s.to_string()
        }
    };
    let addr = match &c.deposed {
        Some(d) => format!("{} (deposed object {d})", c.address),
        None => c.address.clone(),
    };
    let (comment, header_sym, op) = match c.action {
        Action::Create => ("will be created".to_string(), "  +".to_string(), Op::Create),
        Action::Delete => (
            if drifted {
                "has been deleted"
            } else {
                "will be destroyed"
            }
            .to_string(),
            "  -".to_string(),
            Op::Delete,
        ),
        Action::Update => (
            if drifted {
                "has changed"
            } else {
                "will be updated in-place"
            }
            .to_string(),
            "  ~".to_string(),
            Op::Update,
        ),
        Action::DeleteThenCreate => (
            "must be replaced".to_string(),
            "-/+".to_string(),
            Op::Update,
        ),
        Action::CreateThenDelete => (
            "must be replaced".to_string(),
            "+/-".to_string(),
            Op::Update,
        ),
        Action::Read => (
            "will be read during apply".to_string(),
            " <=".to_string(),
            Op::Create,
        ),
        Action::NoOp => (String::new(), "   ".to_string(), Op::Same),
        Action::Forget => (String::new(), " .".to_string(), Op::Same),
    };
    let mut s = String::new();
    match c.action {
        Action::NoOp => {
            if let Some(p) = &c.previous_address {
                s.push_str(&format!(
                    "  # {} has moved to {}\n",
                    bold(p),
                    bold(&c.address)
                ));
            } else if c.importing_id.is_some() {
                s.push_str(&format!("  # {} will be imported\n", bold(&addr)));
            }
        }
        Action::Forget => {
            s.push_str(&format!(
                " # {} will no longer be managed by Terraform, but will not be destroyed\n",
                bold(&addr)
            ));
            s.push_str(" # (destroy = false is set in the configuration)\n");
        }
        _ => {
            let reason = match c.action_reason {
                Some(ActionReason::ReplaceBecauseTainted) => {
                    "is tainted, so must be replaced".to_string()
                }
                Some(ActionReason::ReplaceByRequest) => {
                    "will be replaced, as requested".to_string()
                }
                Some(ActionReason::ReplaceByTriggers) => {
                    "will be replaced due to changes in replace_triggered_by".to_string()
                }
                _ => comment,
            };
            s.push_str(&format!("  # {} {reason}\n", bold(&addr)));
            if let Some(p) = &c.previous_address {
                s.push_str(&format!("  # (moved from {p})\n"));
            }
            if let Some(id) = &c.importing_id {
                s.push_str(&format!(
                    "  # (imported from {})\n",
                    value::ops::go_quote(id)
                ));
            }
            if let Some(r) = reason_line(c) {
                s.push_str(&format!("  {r}\n"));
            }
            if c.deposed.is_some() && !drifted {
                s.push_str(
                    "  # (left over from a partially-failed replacement of this instance)\n",
                );
            }
        }
    }
    let header_sym = if opts.color {
        match c.action {
            Action::Create => format!("  {GREEN}+{RESET}"),
            Action::Delete => format!("  {RED}-{RESET}"),
            Action::Update => format!("  {YELLOW}~{RESET}"),
            Action::DeleteThenCreate => format!("{RED}-{RESET}/{GREEN}+{RESET}"),
            Action::CreateThenDelete => format!("{GREEN}+{RESET}/{RED}-{RESET}"),
            Action::Read => format!(" {CYAN}<={RESET}"),
            _ => header_sym,
        }
    } else {
        header_sym
    };
    let kind = if c.mode == "data" { "data" } else { "resource" };
    s.push_str(&format!(
        "{header_sym} {kind} \"{}\" \"{}\" {{\n",
        c.type_name, c.name
    ));
    let null = Value::null(value::Type::Dynamic);
    let (before, after) = match c.action {
        Action::Delete => (&c.before, &null),
        // A forgotten object stays as it is.
        Action::Forget => (&c.before, &c.before),
        Action::Create | Action::Read => (&null, &c.after),
        _ => (&c.before, &c.after),
    };
    let inner = body(&ctx, schema, before, after, op, 6, &mut Vec::new());
    s.push_str(&inner);
    s.push_str("    }\n");
    s
}

/// The full plan text (as `terraform plan` prints it before its trailer, and `show PLANFILE`).
pub fn render_plan(plan: &Plan, schemas: &SchemaLookup, opts: RenderOptions) -> String {
    render_plan_relevant(plan, schemas, opts, &[])
}

/// The drift a normal plan shows: for each drifted object, only the changes to attributes
/// the plan's changes depend on (`relevant`: resource address and top-level attribute, from
/// `relevant_attributes`), as blocks; empty when nothing relevant drifted.
fn relevant_drift(
    plan: &Plan,
    schemas: &SchemaLookup,
    opts: RenderOptions,
    relevant: &[(String, String)],
) -> Vec<String> {
    let mut blocks = Vec::new();
    for c in &plan.drift {
        let attrs: Vec<&str> = relevant
            .iter()
            .filter(|(r, _)| r.is_empty() || *r == c.address)
            .map(|(_, a)| a.as_str())
            .collect();
        if attrs.is_empty() {
            continue;
        }
        let mut shown = c.clone();
        if c.action == Action::Update {
            // Changes to other attributes count as unchanged.
            let (Value::Object(before), Value::Object(after)) =
                (c.before.unmarked(), c.after.unmarked())
            else {
                continue;
            };
            let mut restricted = before.clone();
            for a in &attrs {
                if let Some(v) = after.get(*a) {
                    restricted.insert(a.to_string(), v.clone());
                }
            }
            let restricted = Value::Object(restricted);
            if restricted.raw_equals(c.before.unmarked()) {
                continue;
            }
            shown.after = restricted;
        }
        let schema = schemas(&c.provider_name, c.mode, &c.type_name);
        blocks.push(resource_block(&shown, schema, opts, true));
    }
    blocks
}

/// [`render_plan`], showing drift that matters to the plan (`relevant`, as in
/// [`relevant_drift`]) the way Terraform does before the planned changes.
pub fn render_plan_relevant(
    plan: &Plan,
    schemas: &SchemaLookup,
    opts: RenderOptions,
    relevant: &[(String, String)],
) -> String {
    let mut out = String::new();
    let shown: Vec<&ResourceInstanceChange> = plan
        .resource_changes
        .iter()
        .filter(|c| {
            c.action != Action::NoOp || c.previous_address.is_some() || c.importing_id.is_some()
        })
        .collect();
    let output_changes: Vec<&crate::OutputChange> = plan
        .output_changes
        .iter()
        .filter(|o| o.action != Action::NoOp)
        .collect();
    // Terraform shows the objects that changed outside it: all of them in a refresh-only plan,
    // otherwise what the planned changes depend on, and only when there are changes.
    if plan.mode == PlanMode::RefreshOnly {
        if plan.drift.is_empty() {
            out.push_str("\nNo changes. Your infrastructure still matches the configuration.\n\nTerraform has checked that the real remote objects still match the result of\nyour most recent changes, and found no differences.\n");
            return out;
        }
        out.push_str("\nNote: Objects have changed outside of Terraform\n\nTerraform detected the following changes made outside of Terraform since the\nlast \"terraform apply\" which may have affected this plan:\n");
        for c in &plan.drift {
            out.push('\n');
            let schema = schemas(&c.provider_name, c.mode, &c.type_name);
            out.push_str(&resource_block(c, schema, opts, true));
        }
        out.push_str("\n\nThis is a refresh-only plan, so Terraform will not take any actions to undo\nthese. If you were expecting these changes then you can apply this plan to\nrecord the updated values in the Terraform state without changing any remote\nobjects.\n");
        return out;
    }
    if !shown.is_empty() || !output_changes.is_empty() {
        let drift = relevant_drift(plan, schemas, opts, relevant);
        if !drift.is_empty() {
            out.push_str("\nNote: Objects have changed outside of Terraform\n\nTerraform detected the following changes made outside of Terraform since the\nlast \"terraform apply\" which may have affected this plan:\n");
            for b in drift {
                out.push('\n');
                out.push_str(&b);
            }
            out.push_str("\n\nUnless you have made equivalent changes to your configuration, or ignored the\nrelevant attributes using ignore_changes, the following plan may include\nactions to undo or respond to these changes.\n");
            out.push_str(&format!("\n{}\n", "─".repeat(77)));
        }
    }
    if shown.is_empty() && output_changes.is_empty() {
        out.push_str("\nNo changes. Your infrastructure matches the configuration.\n\n");
        out.push_str(if plan.mode == PlanMode::Destroy {
            "Either you have not created any objects yet or the existing objects were\nalready deleted outside of Terraform.\n"
        } else {
            "Terraform has compared your real infrastructure against your configuration\nand found no differences, so no changes are needed.\n"
        });
        return out;
    }
    let actions: BTreeSet<u8> = shown
        .iter()
        .map(|c| match c.action {
            // Terraform's legend order.
            Action::Create => 0,
            Action::Update => 1,
            Action::Delete => 2,
            Action::DeleteThenCreate => 3,
            Action::CreateThenDelete => 4,
            Action::Read => 5,
            Action::Forget => 6,
            Action::NoOp => 7,
        })
        .collect();
    if !shown.is_empty() {
        if actions.iter().any(|a| *a < 7) {
            out.push_str("\nTerraform used the selected providers to generate the following execution\nplan. Resource actions are indicated with the following symbols:\n");
            let c = |s: &str, col: &str| {
                if opts.color {
                    format!("{col}{s}{RESET}")
                } else {
                    s.to_string()
                }
            };
            for a in &actions {
                match a {
                    0 => out.push_str(&format!("  {} create\n", c("+", GREEN))),
                    1 => out.push_str(&format!("  {} update in-place\n", c("~", YELLOW))),
                    2 => out.push_str(&format!("  {} destroy\n", c("-", RED))),
                    3 => out.push_str(&format!(
                        "{}/{} destroy and then create replacement\n",
                        c("-", RED),
                        c("+", GREEN)
                    )),
                    4 => out.push_str(&format!(
                        "{}/{} create replacement and then destroy\n",
                        c("+", GREEN),
                        c("-", RED)
                    )),
                    5 => out.push_str(&format!(" {} read (data resources)\n", c("<=", CYAN))),
                    _ => {}
                }
            }
        }
        out.push_str("\nTerraform will perform the following actions:\n");
        for c in &shown {
            out.push('\n');
            let schema = schemas(&c.provider_name, c.mode, &c.type_name);
            out.push_str(&resource_block(c, schema, opts, false));
        }
        out.push_str(&format!(
            "\n{}\n",
            if opts.color {
                format!("{BOLD}{}{RESET}", plan.summary())
            } else {
                plan.summary().to_string()
            }
        ));
    }
    if !output_changes.is_empty() {
        out.push_str("\nChanges to Outputs:\n");
        let ctx = Ctx {
            color: opts.color,
            replace_paths: Vec::new(),
            legacy: std::cell::Cell::new(false),
            no_null: std::cell::Cell::new(false),
            show_unchanged: std::cell::Cell::new(false),
            json: std::cell::Cell::new(true),
        };
        // Names align over every output, unchanged ones included, as Terraform's do.
        let w = plan
            .output_changes
            .iter()
            .map(|o| o.name.chars().count())
            .max()
            .unwrap_or(0);
        for o in &output_changes {
            let (b, a) = match o.action {
                Action::Create => (None, Some(&o.after)),
                Action::Delete => (Some(&o.before), None),
                // An output that becomes null is shown as going away, as Terraform does.
                _ if o.after.is_null() => (Some(&o.before), None),
                _ => (Some(&o.before), Some(&o.after)),
            };
            let (text, op) = if o.sensitive {
                (
                    "(sensitive value)".to_string(),
                    match o.action {
                        Action::Create => Op::Create,
                        Action::Delete => Op::Delete,
                        _ => Op::Update,
                    },
                )
            } else {
                value_change(&ctx, b, a, 2, &mut Vec::new())
            };
            out.push_str(&format!(
                "  {} {:<w$} = {}\n",
                ctx.sym(op),
                o.name,
                text,
                w = w
            ));
        }
        if shown.is_empty() {
            out.push_str("\nYou can apply this plan to save these new output values to the Terraform\nstate, without changing any real infrastructure.\n");
        }
    }
    out
}

/// `terraform show` of a state: every resource instance, then outputs.
pub fn render_state(state: &states::State, schemas: &SchemaLookup, opts: RenderOptions) -> String {
    let mut out = String::new();
    for (saddr, res) in state.resources() {
        let source = provider_source(&res.provider);
        for (k, _) in res.objects() {
            if let Some(text) = instance_text(state, saddr, &source, k, schemas, opts) {
                out.push_str(&text);
                out.push_str("\n\n");
            }
        }
    }
    if !state.outputs.is_empty() {
        out.push_str("\nOutputs:\n\n");
        for (name, o) in &state.outputs {
            if o.sensitive {
                out.push_str(&format!("{name} = (sensitive value)\n"));
                continue;
            }
            let ty = value::json::type_from_json(&o.type_json.to_value())
                .unwrap_or(value::Type::Dynamic);
            let v = value::json::from_json(&o.value.to_value(), &ty)
                .unwrap_or_else(|_| Value::null(ty));
            out.push_str(&format!("{name} = {}\n", state_value(&v, 0)));
        }
    }
    out
}

fn provider_source(p: &str) -> String {
    let start = p.find("provider[\"").map(|i| i + 10).unwrap_or(0);
    let rest = &p[start..];
    rest.split('"').next().unwrap_or(rest).to_string()
}

/// A value in `state show` style (4-space indents, unquoted object keys).
fn state_value(v: &Value, indent: usize) -> String {
    if v.marks().is_sensitive() {
        return "(sensitive value)".into();
    }
    if is_primitive(v) {
        if let Some(s) = multiline(v) {
            let mut t = String::from("<<-EOT\n");
            for l in s.trim_end_matches('\n').split('\n') {
                t.push_str(&format!("{}{}\n", pad(indent + 4), l));
            }
            t.push_str(&format!("{}EOT", pad(indent)));
            return t;
        }
        return primitive(v);
    }
    if let Some(es) = entries(v) {
        if es.is_empty() {
            return "{}".into();
        }
        let map = is_map(v);
        let keys: Vec<String> = es
            .iter()
            .map(|(k, _)| {
                if map {
                    value::ops::go_quote(k)
                } else {
                    k.clone()
                }
            })
            .collect();
        let w = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
        let mut s = String::from("{\n");
        for (k, (_, e)) in keys.iter().zip(es.iter()) {
            s.push_str(&format!(
                "{}{:<w$} = {}\n",
                pad(indent + 4),
                k,
                state_value(e, indent + 4),
                w = w
            ));
        }
        s.push_str(&format!("{}}}", pad(indent)));
        return s;
    }
    if let Some(es) = elements(v) {
        if es.is_empty() {
            return "[]".into();
        }
        let mut s = String::from("[\n");
        for e in es {
            s.push_str(&format!(
                "{}{},\n",
                pad(indent + 4),
                state_value(&e, indent + 4)
            ));
        }
        s.push_str(&format!("{}]", pad(indent)));
        return s;
    }
    primitive(v)
}

fn instance_text(
    state: &states::State,
    saddr: &states::ResourceAddr,
    source: &str,
    key: &states::ObjectKey,
    schemas: &SchemaLookup,
    _opts: RenderOptions,
) -> Option<String> {
    let obj = state.object(saddr, key)?;
    let mode = saddr.mode.as_str();
    let schema = schemas(source, mode, &saddr.type_name);
    let json = obj.attributes.as_ref()?.to_value();
    let ty = schema
        .map(|s| s.implied_type())
        .unwrap_or_else(|| value::json::implied_type(&json));
    let v = value::json::from_json(&json, &ty).ok()?;
    let mut addr = saddr.to_string();
    if let Some(k) = &key.key {
        addr.push_str(&k.to_string());
    }
    let kind = if mode == "data" { "data" } else { "resource" };
    let mut s = match &key.deposed {
        Some(d) => format!("# {addr}: (deposed object {d})\n"),
        None => format!(
            "# {addr}:{}\n",
            if obj.status == states::ObjectStatus::Tainted {
                " (tainted)"
            } else {
                ""
            }
        ),
    };
    s.push_str(&format!(
        "{kind} \"{}\" \"{}\" {{\n",
        saddr.type_name, saddr.name
    ));
    let sensitive_paths = obj
        .sensitive_attributes
        .as_ref()
        .map(|r| r.to_value())
        .unwrap_or(serde_json::Value::Null);
    let attrs: Vec<(String, Value)> = entries(&v).unwrap_or_default();
    let blocks: BTreeSet<String> = schema
        .map(|s| s.block_types.keys().cloned().collect())
        .unwrap_or_default();
    let shown: Vec<&(String, Value)> = attrs
        .iter()
        .filter(|(k, v)| !v.is_null() && !blocks.contains(k))
        .collect();
    let w = shown
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in &shown {
        let sens = sensitive_paths.as_array().is_some_and(|ps| {
            ps.iter().any(|p| {
                p.as_array().is_some_and(|steps| {
                    steps.len() == 1 && steps[0].get("value").and_then(|x| x.as_str()) == Some(k)
                })
            })
        });
        let text = if sens {
            "(sensitive value)".to_string()
        } else {
            state_value(v, 4)
        };
        s.push_str(&format!("    {:<w$} = {}\n", k, text, w = w));
    }
    for (k, v) in &attrs {
        if !blocks.contains(k) || v.is_null() {
            continue;
        }
        let items = elements(v).unwrap_or_else(|| vec![v.clone()]);
        for it in items {
            s.push_str(&format!("\n    {k} {{\n"));
            let es = entries(&it).unwrap_or_default();
            let shown: Vec<&(String, Value)> = es.iter().filter(|(_, v)| !v.is_null()).collect();
            let w = shown
                .iter()
                .map(|(k, _)| k.chars().count())
                .max()
                .unwrap_or(0);
            for (ik, iv) in shown {
                s.push_str(&format!(
                    "        {:<w$} = {}\n",
                    ik,
                    state_value(iv, 8),
                    w = w
                ));
            }
            s.push_str("    }\n");
        }
    }
    s.push('}');
    Some(s)
}

/// `terraform state show ADDR`: one instance (None if the address matches none).
pub fn render_state_instance(
    state: &states::State,
    target: &addrs::Target,
    schemas: &SchemaLookup,
    opts: RenderOptions,
) -> Option<String> {
    let want = target.to_string();
    for (saddr, res) in state.resources() {
        for (k, _) in res.objects() {
            if k.deposed.is_some() {
                continue;
            }
            let mut addr = saddr.to_string();
            if let Some(key) = &k.key {
                addr.push_str(&key.to_string());
            }
            if addr == want {
                return instance_text(
                    state,
                    saddr,
                    &provider_source(&res.provider),
                    k,
                    schemas,
                    opts,
                )
                .map(|s| format!("{s}\n"));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(addr: &str, action: Action, before: Value, after: Value) -> ResourceInstanceChange {
        let (ty, name) = addr.split_once('.').unwrap();
        ResourceInstanceChange {
            address: addr.into(),
            previous_address: None,
            module_address: None,
            mode: "managed",
            type_name: ty.into(),
            name: name.into(),
            index: None,
            provider_name: "registry.terraform.io/hashicorp/aws".into(),
            deposed: None,
            action,
            action_reason: None,
            before,
            after,
            replace_paths: Vec::new(),
            importing_id: None,
            private: Vec::new(),
            schema_version: 0,
        }
    }

    fn obj(pairs: &[(&str, &str)]) -> Value {
        Value::object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), Value::string(*v))),
        )
    }

    fn plan() -> Plan {
        Plan {
            resource_changes: vec![change(
                "aws_subnet.a",
                Action::Update,
                obj(&[("id", "s-1"), ("vpc_id", "v-1")]),
                obj(&[("id", "s-1"), ("vpc_id", "v-2")]),
            )],
            drift: vec![change(
                "aws_vpc.main",
                Action::Update,
                obj(&[("id", "v-1"), ("cidr_block", "10.0.0.0/16"), ("owner", "a")]),
                obj(&[("id", "v-2"), ("cidr_block", "10.0.0.0/16"), ("owner", "b")]),
            )],
            ..Plan::default()
        }
    }

    #[test]
    fn a_normal_plan_shows_only_drift_its_changes_depend_on() {
        let none = |_: &str, _: &str, _: &str| None;
        let opts = RenderOptions { color: false };
        let relevant = vec![("aws_vpc.main".to_string(), "id".to_string())];
        let text = render_plan_relevant(&plan(), &none, opts, &relevant);
        assert!(
            text.starts_with("\nNote: Objects have changed outside of Terraform\n"),
            "{text}"
        );
        assert!(text.contains("  # aws_vpc.main has changed\n"), "{text}");
        // The relevant attribute's change shows; the irrelevant one counts as unchanged.
        assert!(text.contains("~ id         = \"v-1\" -> \"v-2\""), "{text}");
        assert!(!text.contains("\"a\" -> \"b\""), "{text}");
        assert!(
            text.contains(
                "the following plan may include\nactions to undo or respond to these changes.\n\n─"
            ),
            "{text}"
        );
        assert!(
            text.contains("# aws_subnet.a will be updated in-place"),
            "{text}"
        );
        // Nothing relevant drifted: no note.
        let other = vec![("aws_vpc.main".to_string(), "cidr_block".to_string())];
        let text = render_plan_relevant(&plan(), &none, opts, &other);
        assert!(!text.contains("Objects have changed"), "{text}");
        // Drift alone, with nothing to change, is not shown in a normal plan.
        let mut p = plan();
        p.resource_changes.clear();
        let text = render_plan_relevant(&p, &none, opts, &relevant);
        assert!(!text.contains("Objects have changed"), "{text}");
    }
}
