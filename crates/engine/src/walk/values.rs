//! The value nodes of a walk: input variables, locals, outputs (and the root outputs as plan
//! changes), module calls and their expansion, `count`/`for_each`, and condition rules.

use super::*;

use std::collections::HashSet;

use addrs::{InstanceKey, ModuleInstance};
use config::Expr;
use diagnostics::{Diagnostic, Diagnostics};
use plans::{Action, OutputChange, PlanMode};
use value::{Marks, Type, Value};

use crate::eval::{Expansion, NodeData};
use crate::graph::NodeKind;

impl<'a> Walker<'a> {
    pub(super) fn var_node(&self, m: usize, name: &str) -> bool {
        let info = self.mods.get(m);
        let decl = &info.cfg.variables[name];
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            let raw = if m == 0 {
                self.opts.variables.get(name).cloned()
            } else {
                // Evaluated in the parent module instance, with the call's repetition data.
                let parent_mi = ModuleInstance(mi.0[..mi.0.len() - 1].to_vec());
                let call = info.call.expect("child module has a call");
                match call.config.attributes.get(name) {
                    Some(a) => {
                        let mut nd = self.node_data(info.parent.unwrap_or(0), parent_mi);
                        if let Some((k, ev)) = self.store.call_each.read().expect("store").get(&mi)
                        {
                            if let Some(InstanceKey::Int(i)) = k {
                                nd.count_index = Some(*i);
                            }
                            if let (Some(InstanceKey::Str(s)), Some(v)) = (k, ev) {
                                nd.each = Some((s.to_string(), v.clone()));
                            }
                        }
                        let (v, ds) = self
                            .scope(&nd, info.parent.unwrap_or(0))
                            .eval(&a.expr, &Type::Dynamic);
                        if self.extend(ds) {
                            ok = false;
                            continue;
                        }
                        Some(crate::InputValue {
                            value: v,
                            range: Some(a.expr.range.clone()),
                        })
                    }
                    None => None,
                }
            };
            match crate::vars::finalize(self, m, &mi, decl, raw) {
                Ok(v) => {
                    self.store
                        .vars
                        .write()
                        .expect("store")
                        .insert((mi.clone(), name.to_string()), v);
                }
                Err(ds) => {
                    self.extend(ds);
                    ok = false;
                }
            }
        }
        ok
    }

    pub fn eval_in(
        &self,
        m: usize,
        mi: &ModuleInstance,
        e: &Expr,
        want: &Type,
    ) -> (Value, Diagnostics) {
        let nd = self.node_data(m, mi.clone());
        self.scope(&nd, m).eval(e, want)
    }

    pub(super) fn local_node(&self, m: usize, name: &str) -> bool {
        let l = &self.mods.get(m).cfg.locals[name];
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            let (v, ds) = self.eval_in(m, &mi, &l.expr, &Type::Dynamic);
            if self.extend(ds) {
                ok = false;
            }
            self.store
                .locals
                .write()
                .expect("store")
                .insert((mi, name.to_string()), v);
        }
        ok
    }

    pub(super) fn output_node(&self, m: usize, name: &str) -> bool {
        let o = &self.mods.get(m).cfg.outputs[name];
        let mut ok = true;
        for mi in self.store.instances_of(m) {
            if self.opts.mode == PlanMode::Destroy && m == 0 {
                continue;
            }
            for c in &o.preconditions {
                if !self.check_rule(m, &mi, None, c, "Module output value precondition failed") {
                    ok = false;
                }
            }
            let (v, ds) = self.eval_in(m, &mi, &o.expr, &Type::Dynamic);
            if self.extend(ds) {
                ok = false;
                continue;
            }
            if m == 0 && !o.sensitive && v.is_sensitive_deep() {
                self.diag(
                    Diagnostic::error(
                        "Output refers to sensitive values",
                        "To reduce the risk of accidentally exporting sensitive data that was intended to be only internal, Terraform requires that any root module output containing sensitive data be explicitly marked as sensitive, to confirm your intent.\n\nIf you do intend to export this data, annotate the output value as sensitive by adding the following argument:\n    sensitive = true",
                    )
                    .with_subject(o.decl_range.clone()),
                );
                ok = false;
                continue;
            }
            let v = if o.sensitive {
                v.mark(Marks::SENSITIVE)
            } else {
                v
            };
            self.store
                .outputs
                .write()
                .expect("store")
                .insert((mi, name.to_string()), v);
        }
        ok
    }

    /// Evaluates a precondition/postcondition/validation rule; false if it failed.
    pub fn check_rule(
        &self,
        m: usize,
        mi: &ModuleInstance,
        nd: Option<&NodeData>,
        rule: &config::CheckRule,
        summary: &str,
    ) -> bool {
        let own;
        let nd = match nd {
            Some(nd) => nd,
            None => {
                own = self.node_data(m, mi.clone());
                &own
            }
        };
        let scope = self.scope(nd, m);
        let (cond, ds) = scope.eval(&rule.condition, &Type::Bool);
        if self.extend(ds) {
            return false;
        }
        if !cond.is_known() {
            return true; // checked again at apply time
        }
        if cond.unmarked().as_bool() == Some(true) {
            return true;
        }
        let (msg, ds) = scope.eval(&rule.error_message, &Type::String);
        self.extend(ds);
        let msg = if msg.marks().is_sensitive() {
            "The error message included a sensitive value, so it will not be displayed.".to_string()
        } else {
            msg.unmarked().as_str().unwrap_or("").to_string()
        };
        let values = lang::expression_values(&scope, &rule.condition);
        self.diag(
            Diagnostic::error(summary, msg)
                .with_subject(rule.condition.range.clone())
                .with_expression_values(values),
        );
        false
    }

    pub(super) fn call_node(&self, m: usize, name: &str) -> bool {
        let call = &self.mods.get(m).cfg.module_calls[name];
        let Some(&child) = self.mods.get(m).children.get(name) else {
            return true;
        };
        let mut ok = true;
        let mut instances = Vec::new();
        for mi in self.store.instances_of(m) {
            let nd = self.node_data(m, mi.clone());
            match self.expand(&nd, m, call.count.as_ref(), call.for_each.as_ref()) {
                Ok(exp) => {
                    for k in exp.keys() {
                        let ci = mi.child(name, k.clone());
                        let ev = k.as_ref().and_then(|k| exp.each_value(k));
                        self.store
                            .call_each
                            .write()
                            .expect("store")
                            .insert(ci.clone(), (k, ev));
                        instances.push(ci);
                    }
                    self.store
                        .call_expansions
                        .write()
                        .expect("store")
                        .insert((mi.clone(), name.to_string()), exp);
                }
                Err(ds) => {
                    self.extend(ds);
                    ok = false;
                }
            }
        }
        self.store
            .module_instances
            .write()
            .expect("store")
            .insert(child, instances);
        ok
    }

    /// Evaluates count/for_each.
    pub fn expand(
        &self,
        nd: &NodeData,
        m: usize,
        count: Option<&Expr>,
        for_each: Option<&Expr>,
    ) -> Result<Expansion, Diagnostics> {
        let scope = self.scope(nd, m);
        if let Some(c) = count {
            let (v, ds) = scope.eval(c, &Type::Number);
            if ds.has_errors() {
                return Err(ds);
            }
            let bad = |s: &str, d: &str| {
                let mut ds = Diagnostics::new();
                ds.push(Diagnostic::error(s, d).with_subject(c.range.clone()));
                Err(ds)
            };
            if !v.is_known() {
                return bad("Invalid count argument", "The \"count\" value depends on resource attributes that cannot be determined until apply, so Terraform cannot predict how many instances will be created. To work around this, use the -target argument to first apply only the resources that the count depends on.");
            }
            if v.is_null() {
                return bad(
                    "Invalid count argument",
                    "The given \"count\" argument value is null. An integer is required.",
                );
            }
            let n = v.unmarked().as_number().and_then(|n| n.to_i64());
            return match n {
                Some(n) if n >= 0 => Ok(Expansion::Count(n as usize)),
                Some(_) => bad("Invalid count argument", "The given \"count\" argument value is unsuitable: must be greater than or equal to zero."),
                None => bad("Invalid count argument", "The given \"count\" argument value is unsuitable: value must be a whole number."),
            };
        }
        if let Some(fe) = for_each {
            let (v, ds) = scope.eval(fe, &Type::Dynamic);
            if ds.has_errors() {
                return Err(ds);
            }
            return crate::vars::for_each_keys(&v, &fe.range);
        }
        Ok(Expansion::Single)
    }

    /// Under `-target`, the root outputs a plan leaves alone: as in Terraform, an output is
    /// planned only when every resource it depends on is targeted (or a dependency of a
    /// target), and it depends on at least one.
    pub fn untargeted_outputs(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        if self.opts.targets.is_empty() {
            return out;
        }
        let targeted = |n: usize| -> bool {
            let NodeKind::Resource { m, mode, key } = &self.graph.nodes[n] else {
                return false;
            };
            if self.target_deps.contains_key(&(*m, *mode, key.clone())) {
                return true;
            }
            self.opts.targets.iter().any(|t| {
                let (module, resource) = match t {
                    addrs::Target::Module(mi) => (mi, None),
                    addrs::Target::Resource(r) => (&r.module, Some(&r.resource)),
                    addrs::Target::Instance(i) => (&i.module, Some(&i.resource)),
                };
                let names: Vec<&str> = module.0.iter().map(|s| &*s.name).collect();
                module_index(self.mods, &names).is_some_and(|tm| match resource {
                    Some(r) => {
                        tm == *m && r.mode == *mode && format!("{}.{}", r.type_name, r.name) == *key
                    }
                    None => module_under(self.mods, *m, tm),
                })
            })
        };
        for name in self.mods.get(0).cfg.outputs.keys() {
            let Some(n) = self.graph.node(&NodeKind::Output {
                m: 0,
                name: name.clone(),
            }) else {
                continue;
            };
            let deps = self.graph.resource_ancestors(n);
            if deps.is_empty() || !deps.iter().all(|&d| targeted(d)) {
                out.insert(name.clone());
            }
        }
        out
    }

    /// Root outputs as plan changes.
    pub fn output_changes(&self) -> Vec<OutputChange> {
        let root = self.mods.get(0).cfg;
        let outs = crate::eval::root_outputs(&self.store);
        let mut changes = Vec::new();
        let mut names: Vec<&String> = root.outputs.keys().collect();
        for n in self.prior.outputs.keys() {
            if !root.outputs.contains_key(n) {
                names.push(n);
            }
        }
        names.sort();
        names.dedup();
        let untargeted = self.untargeted_outputs();
        for name in names {
            if untargeted.contains(name) {
                continue;
            }
            let before = self.prior.outputs.get(name).map(|o| {
                let ty =
                    value::json::type_from_json(&o.type_json.to_value()).unwrap_or(Type::Dynamic);
                let v = value::json::from_json(&o.value.to_value(), &ty)
                    .unwrap_or_else(|_| Value::null(ty));
                if o.sensitive {
                    v.mark(Marks::SENSITIVE)
                } else {
                    v
                }
            });
            let decl = root.outputs.get(name);
            let sensitive = decl.is_some_and(|d| d.sensitive)
                || self.prior.outputs.get(name).is_some_and(|o| o.sensitive);
            let after = if self.opts.mode == PlanMode::Destroy {
                None
            } else {
                outs.get(name).cloned()
            };
            let (action, before_v, after_v) = match (before, after) {
                (None, None) => continue,
                // Terraform keeps no null outputs in state, so a null one stays as it was.
                (None, Some(a)) if a.is_null() => (Action::NoOp, Value::null(Type::Dynamic), a),
                (None, Some(a)) => (Action::Create, Value::null(Type::Dynamic), a),
                (Some(b), None) => (Action::Delete, b, Value::null(Type::Dynamic)),
                (Some(b), Some(a)) => {
                    let same = a.is_wholly_known() && b.unmarked().raw_equals(a.unmarked()) && {
                        let (bu, _) = b.clone().unmark_deep();
                        let (au, _) = a.clone().unmark_deep();
                        bu.raw_equals(&au)
                    };
                    (if same { Action::NoOp } else { Action::Update }, b, a)
                }
            };
            changes.push(OutputChange {
                name: name.clone(),
                action,
                before: before_v,
                after: after_v,
                sensitive,
            });
        }
        changes
    }
}
