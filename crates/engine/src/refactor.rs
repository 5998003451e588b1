//! `moved` and `removed` blocks: moves are applied to (a copy of) the prior state before
//! planning, so the plan shows `previous_address`; `removed` turns a resource's disappearance
//! into a forget (or, with `destroy = true`, a delete).

use addrs::{AbsResourceInstance, Target};
use config::{Expr, ExprKind, Module, Traverser};
use diagnostics::{Diagnostic, Diagnostics};
use states::{ObjectKey, ResourceAddr, ResourceMode, State};
use value::Value;

/// The address text of a static reference expression (`module.a.aws_s3_bucket.b["k"]`).
pub fn expr_address(e: &Expr) -> Option<String> {
    let ExprKind::ScopeTraversal { root, steps } = &e.kind else {
        return None;
    };
    let mut s = root.clone();
    for t in steps {
        match t {
            Traverser::Attr { name, .. } => {
                s.push('.');
                s.push_str(name);
            }
            Traverser::Index { key, .. } => match key.unmarked() {
                Value::String(k) => s.push_str(&format!("[{}]", value::ops::go_quote(k))),
                Value::Number(n) => s.push_str(&format!("[{}]", n.to_text())),
                _ => return None,
            },
        }
    }
    Some(s)
}

fn parse(e: &Expr, diags: &mut Diagnostics) -> Option<Target> {
    let Some(text) = expr_address(e) else {
        diags.push(
            Diagnostic::error(
                "Invalid expression",
                "A static reference to a resource, resource instance or module is required here.",
            )
            .with_subject(e.range.clone()),
        );
        return None;
    };
    match addrs::parse_target(&text) {
        Ok(t) => Some(t),
        Err(err) => {
            diags.push(
                Diagnostic::error(err.summary.clone(), err.detail.clone())
                    .with_subject(e.range.clone()),
            );
            None
        }
    }
}

fn state_addr(i: &AbsResourceInstance) -> ResourceAddr {
    ResourceAddr::new(
        i.module.to_string(),
        if i.resource.mode == addrs::Mode::Data {
            ResourceMode::Data
        } else {
            ResourceMode::Managed
        },
        i.resource.type_name.to_string(),
        i.resource.name.to_string(),
    )
}

/// Rewrites an instance address from `from` to `to` (resource→resource keeps the key,
/// module→module keeps the rest of the path).
fn retarget(inst: &AbsResourceInstance, from: &Target, to: &Target) -> Option<AbsResourceInstance> {
    if !from.contains(inst) {
        return None;
    }
    match (from, to) {
        (Target::Instance(_), Target::Instance(t)) => Some(t.clone()),
        (Target::Resource(_), Target::Resource(t)) => Some(t.instance(inst.key.clone())),
        (Target::Module(f), Target::Module(t)) => {
            let mut steps = t.0.clone();
            steps.extend_from_slice(&inst.module.0[f.0.len()..]);
            Some(AbsResourceInstance {
                module: addrs::ModuleInstance(steps),
                resource: inst.resource.clone(),
                key: inst.key.clone(),
            })
        }
        _ => None,
    }
}

/// One move that happened: old instance address, new instance address.
pub type Move = (AbsResourceInstance, AbsResourceInstance);

/// Applies the root module's `moved` blocks (in order, chained) to `state`.
pub fn apply_moves(module: &Module, state: &mut State) -> (Vec<Move>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut moves = Vec::new();
    for mv in &module.moved {
        let (Some(from), Some(to)) = (parse(&mv.from, &mut diags), parse(&mv.to, &mut diags))
        else {
            continue;
        };
        let mut todo: Vec<(
            ResourceAddr,
            ObjectKey,
            AbsResourceInstance,
            AbsResourceInstance,
        )> = Vec::new();
        for (saddr, res) in state.resources() {
            for (k, _) in res.objects() {
                let inst = crate::walk::state_instance(saddr, &k.key);
                if let Some(new) = retarget(&inst, &from, &to) {
                    todo.push((saddr.clone(), k.clone(), inst, new));
                }
            }
        }
        for (saddr, k, old, new) in todo {
            let new_saddr = state_addr(&new);
            let new_key = ObjectKey {
                key: crate::walk::state_key(&new.key),
                deposed: k.deposed.clone(),
            };
            if state.object(&new_saddr, &new_key).is_some() {
                // Something already lives there: Terraform keeps both and ignores the move.
                continue;
            }
            let Some(res) = state.resource_mut(&saddr) else {
                continue;
            };
            let provider = res.provider.clone();
            let Some(obj) = res.remove_object(&k) else {
                continue;
            };
            if res.is_empty() {
                state.remove_resource(&saddr);
            }
            if state.resource(&new_saddr).is_none() {
                state.set_resource(new_saddr.clone(), states::Resource::new(provider));
            }
            if let Some(r) = state.resource_mut(&new_saddr) {
                r.set_object(new_key, obj);
            }
            if k.deposed.is_none() {
                // Chained moves keep the first address.
                let first = moves
                    .iter()
                    .position(|(_, n): &Move| n == &old)
                    .map(|i| moves.remove(i).0)
                    .unwrap_or(old);
                moves.push((first, new));
            }
        }
    }
    (moves, diags)
}

/// What a `removed` block says about an instance no longer in config: `Some(true)` destroy,
/// `Some(false)` forget, `None` no block covers it.
pub fn removed_policy(module: &Module, inst: &AbsResourceInstance) -> Option<bool> {
    for r in &module.removed {
        let Some(text) = expr_address(&r.from) else {
            continue;
        };
        let Ok(t) = addrs::parse_target(&text) else {
            continue;
        };
        if t.contains(inst) {
            return Some(r.destroy);
        }
    }
    None
}
