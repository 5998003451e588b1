//! A resource change as a `# addr will be …` block: the header and reason lines, then the
//! body of attributes and nested blocks by schema, unchanged ones counted as hidden.

use super::*;

use std::collections::BTreeSet;

use providers::schema::{Block, NestingMode};
use value::{PathStep, Value};

use crate::{Action, ActionReason, ResourceInstanceChange};

/// Attributes always shown in updates, as Terraform does, to identify the object.
pub(super) fn important(name: &str) -> bool {
    matches!(name, "id" | "name" | "tags")
}

/// Renders the body of a resource (attributes and nested blocks) at `indent`.
pub(super) fn body(
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
pub(super) fn non_legacy(block: &Block) -> bool {
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

pub(super) fn key_text(c: &ResourceInstanceChange) -> String {
    match c.index.as_ref().map(|v| v.unmarked().clone()) {
        Some(Value::String(s)) => format!("[{}]", value::ops::go_quote(&s)),
        Some(Value::Number(n)) => format!("[{}]", n.to_text()),
        _ => String::new(),
    }
}

pub(super) fn reason_line(c: &ResourceInstanceChange) -> Option<String> {
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

pub(super) fn base_addr(c: &ResourceInstanceChange) -> String {
    let a = &c.address;
    match a.rfind('[') {
        Some(i) if a.ends_with(']') && c.index.is_some() => a[..i].to_string(),
        _ => a.clone(),
    }
}

/// One change as a `# addr …` block. A `drifted` change is a refreshed object compared with
/// the stored one ("has changed", "has been deleted").
pub(super) fn resource_block(
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
