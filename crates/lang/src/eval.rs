//! The expression evaluator (HCL's native semantics over cty values): templates, collections,
//! traversals and splats, `for`, conditionals, operators and function calls, with unknowns and
//! marks propagating and HCL's diagnostics.

use std::collections::BTreeMap;

use config::{Expr, ExprKind, ObjectKey, TemplatePart, Traverser};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use value::{Marks, Type, Value};

use crate::call::is_reference_diag;
use crate::refs::parse_ref;
use crate::{Reference, Scope};

pub(crate) struct Evaluator<'s, 'a> {
    pub(crate) scope: &'s Scope<'a>,
    /// Variables bound by `for` expressions and splats (innermost last).
    pub(crate) locals: Vec<(String, Value)>,
    anon: Vec<Value>,
}

pub(crate) fn err(
    summary: impl Into<String>,
    detail: impl Into<String>,
    range: &SourceRange,
) -> Diagnostic {
    Diagnostic::error(summary, detail).with_subject(range.clone())
}

/// Renders a value as `terraform console` does.
pub(crate) fn console_render(v: &Value) -> String {
    value::render::console_value(v)
}

pub(crate) fn unknown_dyn() -> Value {
    Value::dynamic_unknown()
}

impl<'s, 'a> Evaluator<'s, 'a> {
    pub(crate) fn new(scope: &'s Scope<'a>) -> Self {
        Evaluator {
            scope,
            locals: Vec::new(),
            anon: Vec::new(),
        }
    }

    /// Evaluates with extra variables bound (dynamic block iterators).
    pub(crate) fn eval_bound(
        &mut self,
        e: &Expr,
        bindings: &[(String, Value)],
        diags: &mut Diagnostics,
    ) -> Value {
        let n = self.locals.len();
        self.locals.extend(bindings.iter().cloned());
        let v = self.eval(e, diags);
        self.locals.truncate(n);
        v
    }

    pub(crate) fn eval(&mut self, e: &Expr, diags: &mut Diagnostics) -> Value {
        value::depth::guard(|| self.eval_guarded(e, diags))
    }

    fn eval_guarded(&mut self, e: &Expr, diags: &mut Diagnostics) -> Value {
        let traversal = matches!(
            e.kind,
            ExprKind::ScopeTraversal { .. }
                | ExprKind::RelativeTraversal { .. }
                | ExprKind::Index { .. }
        );
        if !traversal {
            return self.eval_kind(e, diags);
        }
        let before = diags.0.len();
        let v = self.eval_kind(e, diags);
        // As HCL does, an error in a traversal shows what its references evaluated to
        // (outside `for` bodies, whose variables a fresh evaluation cannot see).
        if diags.0.len() > before && self.locals.is_empty() {
            let values = crate::expression_values(self.scope, e);
            for d in &mut diags.0[before..] {
                if d.is_error() && d.expression_values.is_empty() {
                    d.expression_values = values.clone();
                }
            }
        }
        v
    }

    fn eval_kind(&mut self, e: &Expr, diags: &mut Diagnostics) -> Value {
        match &e.kind {
            ExprKind::Literal(v) => v.clone(),
            ExprKind::TemplateWrap(inner) => self.eval(inner, diags),
            ExprKind::Parens(inner) => self.eval(inner, diags),
            ExprKind::Template(parts) => self.template(parts, diags),
            ExprKind::Tuple(es) => Value::Tuple(es.iter().map(|x| self.eval(x, diags)).collect()),
            ExprKind::Object(items) => self.object(items, diags),
            ExprKind::ScopeTraversal { root, steps } => {
                self.scope_traversal(root, steps, &e.range, diags)
            }
            ExprKind::RelativeTraversal { source, steps } => {
                let mut v = self.eval(source, diags);
                for s in steps {
                    v = self.step(v, s, diags);
                }
                v
            }
            ExprKind::Index { collection, key } => {
                // Fast path: one instance of a counted/for_each resource.
                if let ExprKind::ScopeTraversal { root, steps } = &collection.kind {
                    if let Some(v) = self.resource_instance(root, steps, key, &e.range, diags) {
                        return v;
                    }
                }
                let c = self.eval(collection, diags);
                let k = self.eval(key, diags);
                match index(&c, &k) {
                    Ok(v) => v,
                    Err((s, d)) => {
                        diags.push(err(s, d, &e.range));
                        unknown_dyn()
                    }
                }
            }
            ExprKind::Splat { source, each, .. } => self.splat(source, each, &e.range, diags),
            ExprKind::AnonSymbol => self.anon.last().cloned().unwrap_or_else(unknown_dyn),
            ExprKind::FunctionCall {
                name,
                args,
                expand_final,
            } => self.call(name, args, *expand_final, &e.range, diags),
            ExprKind::Conditional {
                condition,
                true_result,
                false_result,
            } => self.conditional(condition, true_result, false_result, diags),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand, diags);
                match crate::ops::unary(*op, v) {
                    Ok(v) => v,
                    Err((s, d)) => {
                        diags.push(err(s, d, &e.range));
                        unknown_dyn()
                    }
                }
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let before = diags.len();
                let l = self.eval(lhs, diags);
                let r = self.eval(rhs, diags);
                if errors_since(diags, before) {
                    return unknown_dyn();
                }
                match crate::ops::binary(*op, l, r) {
                    Ok(v) => v,
                    Err((s, d)) => {
                        let range = if d.contains("left operand") {
                            &lhs.range
                        } else if d.contains("right operand") {
                            &rhs.range
                        } else {
                            &e.range
                        };
                        diags.push(err(s, d, range).with_context(e.range.clone()));
                        unknown_dyn()
                    }
                }
            }
            ExprKind::For {
                key_var,
                value_var,
                collection,
                key_expr,
                value_expr,
                condition,
                grouping,
            } => self.for_expr(
                key_var.as_deref(),
                value_var,
                collection,
                key_expr.as_deref(),
                value_expr,
                condition.as_deref(),
                *grouping,
                &e.range,
                diags,
            ),
        }
    }

    fn template(&mut self, parts: &[TemplatePart], diags: &mut Diagnostics) -> Value {
        let mut s = String::new();
        let mut marks = Marks::default();
        let mut known = true;
        self.template_parts(parts, &mut s, &mut marks, &mut known, diags);
        if !known {
            let mut u = value::Unknown {
                ty: Type::String,
                refinements: Default::default(),
            };
            u.refinements.not_null = true;
            if !s.is_empty() {
                u.refinements.string_prefix = Some(s);
            }
            return Value::Unknown(Box::new(u)).mark(marks);
        }
        Value::String(s).mark(marks)
    }

    fn template_parts(
        &mut self,
        parts: &[TemplatePart],
        out: &mut String,
        marks: &mut Marks,
        known: &mut bool,
        diags: &mut Diagnostics,
    ) {
        value::depth::guard(|| {
            for p in parts {
                if !*known {
                    // Nothing after the first unknown part is part of the known prefix.
                    let mut scratch = String::new();
                    let mut k = true;
                    if let TemplatePart::Literal(_) = p {
                        continue;
                    }
                    self.template_parts(
                        std::slice::from_ref(p),
                        &mut scratch,
                        marks,
                        &mut k,
                        diags,
                    );
                    continue;
                }
                match p {
                    TemplatePart::Literal(s) => out.push_str(s),
                    TemplatePart::Interpolation(e) => {
                        let v = self.eval(e, diags);
                        *marks |= v.marks();
                        let (u, _) = v.unmark_deep();
                        if u.is_null() {
                            diags.push(err(
                            "Invalid template interpolation value",
                            "The expression result is null. Cannot include a null value in a string template.",
                            &e.range,
                        ));
                            continue;
                        }
                        if !u.is_known() {
                            *known = false;
                            continue;
                        }
                        match value::convert::convert(&u, &Type::String) {
                        Ok(Value::String(s)) => out.push_str(&s),
                        Ok(_) => *known = false,
                        Err(_) => diags.push(err(
                            "Invalid template interpolation value",
                            format!(
                                "Cannot include the given value in a string template: string required, but have {}.",
                                u.ty().friendly_name()
                            ),
                            &e.range,
                        )),
                    }
                    }
                    TemplatePart::If {
                        condition,
                        then_parts,
                        else_parts,
                        ..
                    } => {
                        let c = self.eval(condition, diags);
                        *marks |= c.marks();
                        let (c, _) = c.unmark();
                        if !c.is_known() {
                            *known = false;
                            continue;
                        }
                        match value::convert::convert(&c, &Type::Bool) {
                            Ok(Value::Bool(true)) => {
                                self.template_parts(then_parts, out, marks, known, diags)
                            }
                            Ok(Value::Bool(false)) => {
                                self.template_parts(else_parts, out, marks, known, diags)
                            }
                            _ => diags.push(err(
                                "Invalid template directive",
                                "The condition value is not a valid bool: a bool is required.",
                                &condition.range,
                            )),
                        }
                    }
                    TemplatePart::For {
                        key_var,
                        value_var,
                        collection,
                        body,
                        ..
                    } => {
                        let c = self.eval(collection, diags);
                        *marks |= c.marks();
                        let (c, _) = c.unmark();
                        if !c.is_known() {
                            *known = false;
                            continue;
                        }
                        let Some(items) = iterate(&c) else {
                            diags.push(err(
                            "Invalid template for directive",
                            format!("A for directive can iterate only over a list, set, map, or object value, not {}.", c.ty().friendly_name()),
                            &collection.range,
                        ));
                            continue;
                        };
                        for (k, v) in items {
                            let n = self.locals.len();
                            if let Some(kv) = key_var {
                                self.locals.push((kv.clone(), k));
                            }
                            self.locals.push((value_var.clone(), v));
                            self.template_parts(body, out, marks, known, diags);
                            self.locals.truncate(n);
                        }
                    }
                }
            }
        })
    }

    fn object(&mut self, items: &[(ObjectKey, Expr)], diags: &mut Diagnostics) -> Value {
        let mut m = BTreeMap::new();
        let mut unknown = false;
        let mut marks = Marks::default();
        for (k, ve) in items {
            let key = match k {
                ObjectKey::Ident(s, _) => s.clone(),
                ObjectKey::Expr(ke) => {
                    let kv = self.eval(ke, diags);
                    marks |= kv.marks();
                    let (kv, _) = kv.unmark();
                    if kv.is_null() {
                        diags.push(err(
                            "Invalid object key",
                            "Key expression in object constructor must not be null.",
                            &ke.range,
                        ));
                        continue;
                    }
                    if !kv.is_known() {
                        unknown = true;
                        let _ = self.eval(ve, diags);
                        continue;
                    }
                    match value::convert::convert(&kv, &Type::String) {
                        Ok(Value::String(s)) => s,
                        _ => {
                            diags.push(err(
                                "Incorrect key type",
                                "Can't use this value as a key: string required.",
                                &ke.range,
                            ));
                            continue;
                        }
                    }
                }
            };
            let v = self.eval(ve, diags);
            m.insert(key, v);
        }
        if unknown {
            return unknown_dyn().mark(marks);
        }
        Value::Object(m).mark(marks)
    }

    pub(crate) fn local(&self, name: &str) -> Option<Value> {
        self.locals
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    fn scope_traversal(
        &mut self,
        root: &str,
        steps: &[Traverser],
        range: &SourceRange,
        diags: &mut Diagnostics,
    ) -> Value {
        if let Some(v) = self.local(root) {
            let mut v = v;
            for s in steps {
                v = self.step(v, s, diags);
            }
            return v;
        }
        let (r, used) = match parse_ref(root, steps, range) {
            Ok(x) => x,
            Err(d) => {
                diags.push(d);
                return unknown_dyn();
            }
        };
        // `type.name[key]` with a literal key: ask for the one instance.
        if let (Reference::Resource(rr), Some(Traverser::Index { key, .. })) = (&r, steps.get(used))
        {
            if let Some(k) = instance_key(key) {
                if let Some(res) = self.scope.data.get_resource_instance(rr, &k, range) {
                    return match res {
                        Ok(mut v) => {
                            for s in &steps[used + 1..] {
                                v = self.step(v, s, diags);
                            }
                            v
                        }
                        Err(d) => {
                            diags.push(d);
                            unknown_dyn()
                        }
                    };
                }
            }
        }
        let subject = crate::refs::ref_range(&r, root, steps, used, range);
        let mut v = match self.scope.data.get(&r, &subject) {
            Ok(v) => v,
            Err(d) => {
                diags.push(d);
                return unknown_dyn();
            }
        };
        for s in &steps[used..] {
            v = self.step(v, s, diags);
        }
        v
    }

    /// `type.name[expr]` where the key is computed: one instance when the data source can.
    fn resource_instance(
        &mut self,
        root: &str,
        steps: &[Traverser],
        key: &Expr,
        range: &SourceRange,
        diags: &mut Diagnostics,
    ) -> Option<Value> {
        if self.local(root).is_some() {
            return None;
        }
        let Ok((Reference::Resource(rr), used)) = parse_ref(root, steps, range) else {
            return None;
        };
        if used != steps.len() {
            return None;
        }
        let mut kd = Diagnostics::new();
        let kv = self.eval(key, &mut kd);
        if kd.has_errors() || !kv.is_known() || kv.marks().is_sensitive() {
            return None;
        }
        let k = instance_key(kv.unmarked())?;
        match self.scope.data.get_resource_instance(&rr, &k, range)? {
            Ok(v) => Some(v),
            Err(d) => {
                diags.push(d);
                Some(unknown_dyn())
            }
        }
    }

    fn step(&mut self, v: Value, s: &Traverser, diags: &mut Diagnostics) -> Value {
        match s {
            Traverser::Attr { name, range } => match get_attr(&v, name) {
                Ok(v) => v,
                Err((sm, d)) => {
                    diags.push(err(sm, d, range));
                    unknown_dyn()
                }
            },
            Traverser::Index { key, range } => match index(&v, key) {
                Ok(v) => v,
                Err((sm, d)) => {
                    diags.push(err(sm, d, range));
                    unknown_dyn()
                }
            },
        }
    }

    fn splat(
        &mut self,
        source: &Expr,
        each: &Expr,
        range: &SourceRange,
        diags: &mut Diagnostics,
    ) -> Value {
        let src = self.eval(source, diags);
        let (u, marks) = src.unmark();
        if u.is_null() {
            return Value::Tuple(Vec::new()).mark(marks);
        }
        if !u.is_known() {
            return unknown_dyn().mark(marks);
        }
        let (elems, kind) = match &u {
            Value::List(_, es) => (es.clone(), 'l'),
            Value::Set(_, es) => (es.clone(), 'l'),
            Value::Tuple(es) => (es.clone(), 't'),
            other => (vec![other.clone()], 't'),
        };
        let mut out = Vec::new();
        for e in elems {
            self.anon.push(e);
            out.push(self.eval(each, diags));
            self.anon.pop();
        }
        let _ = range;
        let v = if kind == 'l' {
            match value::convert::unify(&out.iter().map(|v| v.ty()).collect::<Vec<_>>()) {
                Some(t) if !out.is_empty() => {
                    let conv: Option<Vec<Value>> = out
                        .iter()
                        .map(|v| value::convert::convert(v, &t).ok())
                        .collect();
                    match conv {
                        Some(c) => Value::list_of(t, c),
                        None => Value::Tuple(out),
                    }
                }
                _ if out.is_empty() => {
                    let ety = match &u {
                        Value::List(t, _) | Value::Set(t, _) => t.clone(),
                        _ => Type::Dynamic,
                    };
                    let _ = ety;
                    Value::list_of(Type::Dynamic, vec![])
                }
                _ => Value::Tuple(out),
            }
        } else {
            Value::Tuple(out)
        };
        v.mark(marks)
    }

    fn conditional(&mut self, c: &Expr, t: &Expr, f: &Expr, diags: &mut Diagnostics) -> Value {
        let before = diags.len();
        let cv = self.eval(c, diags);
        let (mut td, mut fd) = (Diagnostics::new(), Diagnostics::new());
        let tv = self.eval(t, &mut td);
        let fv = self.eval(f, &mut fd);
        // As in HCL, a known condition reports only its own branch's problems; Terraform still
        // checks every reference statically, so those of the other branch stand.
        let chosen = match cv.unmarked() {
            Value::Bool(b) => Some(*b),
            _ => None,
        };
        for (ds, selected) in [(td, chosen != Some(false)), (fd, chosen != Some(true))] {
            if selected {
                diags.extend(ds.0);
            } else {
                diags.extend(ds.0.into_iter().filter(is_reference_diag));
            }
        }
        if errors_since(diags, before) {
            return unknown_dyn();
        }
        let (cu, cm) = cv.unmark();
        // Result type: unify, where null on either side takes the other's type.
        let tt = if tv.is_null() && tv.ty() == Type::Dynamic {
            fv.ty()
        } else {
            tv.ty()
        };
        let ft = if fv.is_null() && fv.ty() == Type::Dynamic {
            tv.ty()
        } else {
            fv.ty()
        };
        let Some(rt) = value::convert::unify(&[tt.clone(), ft.clone()]) else {
            diags.push(err(
                "Inconsistent conditional result types",
                format!(
                    "The true and false result expressions must have consistent types. {}",
                    mismatch_detail(&tt, &ft)
                ),
                &t.range.to(&f.range),
            ));
            return unknown_dyn();
        };
        if cu.is_null() {
            diags.push(err(
                "Null condition",
                "The condition value is null. Conditions must either be true or false.",
                &c.range,
            ));
            return unknown_dyn();
        }
        if !cu.is_known() {
            return Value::unknown(rt).mark(cm);
        }
        let b = match value::convert::convert(&cu, &Type::Bool) {
            Ok(Value::Bool(b)) => b,
            _ => {
                diags.push(err(
                    "Incorrect condition type",
                    "The condition expression must be of type bool.",
                    &c.range,
                ));
                return unknown_dyn();
            }
        };
        let chosen = if b { tv } else { fv };
        match value::convert::convert(&chosen, &rt) {
            Ok(v) => v.mark(cm),
            Err(e) => {
                diags.push(err(
                    "Inconsistent conditional result types",
                    format!(
                        "The true and false result expressions must have consistent types. {e}."
                    ),
                    if b { &t.range } else { &f.range },
                ));
                unknown_dyn()
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn for_expr(
        &mut self,
        key_var: Option<&str>,
        value_var: &str,
        collection: &Expr,
        key_expr: Option<&Expr>,
        value_expr: &Expr,
        condition: Option<&Expr>,
        grouping: bool,
        range: &SourceRange,
        diags: &mut Diagnostics,
    ) -> Value {
        let c = self.eval(collection, diags);
        let (cu, cmarks) = c.unmark();
        if cu.is_null() {
            diags.push(err(
                "Iteration over null value",
                "A null value cannot be used as the collection in a 'for' expression.",
                &collection.range,
            ));
            return unknown_dyn();
        }
        if !cu.is_known() {
            return unknown_dyn().mark(cmarks);
        }
        let Some(items) = iterate(&cu) else {
            diags.push(err(
                "Iteration over non-iterable value",
                format!(
                    "A value of type {} cannot be used as the collection in a 'for' expression.",
                    cu.ty().friendly_name()
                ),
                &collection.range,
            ));
            return unknown_dyn();
        };
        let mut tuple = Vec::new();
        let mut obj: BTreeMap<String, Value> = BTreeMap::new();
        let mut groups: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        let mut marks = cmarks;
        let mut unknown = false;
        for (k, v) in items {
            let n = self.locals.len();
            if let Some(kv) = key_var {
                self.locals.push((kv.to_string(), k.clone()));
            }
            self.locals.push((value_var.to_string(), v));
            let keep = match condition {
                Some(ce) => {
                    let cv = self.eval(ce, diags);
                    marks |= cv.marks();
                    let (cv, _) = cv.unmark();
                    if cv.is_null() {
                        diags.push(err(
                            "Condition is null",
                            "The value of the 'if' clause must not be null.",
                            &ce.range,
                        ));
                        false
                    } else if !cv.is_known() {
                        unknown = true;
                        false
                    } else {
                        match value::convert::convert(&cv, &Type::Bool) {
                            Ok(Value::Bool(b)) => b,
                            _ => {
                                diags.push(err(
                                    "Invalid 'for' condition",
                                    "The 'if' clause value is invalid: bool required.",
                                    &ce.range,
                                ));
                                false
                            }
                        }
                    }
                }
                None => true,
            };
            if keep {
                match key_expr {
                    Some(ke) => {
                        let kv = self.eval(ke, diags);
                        let val = self.eval(value_expr, diags);
                        marks |= kv.marks();
                        let (kv, key_marks) = kv.unmark();
                        if kv.is_null() {
                            diags.push(err(
                                "Invalid object key",
                                "Key expression in 'for' expression must not produce a null value.",
                                &ke.range,
                            ));
                        } else if !kv.is_known() {
                            unknown = true;
                        } else {
                            match value::convert::convert(&kv, &Type::String) {
                                Ok(Value::String(ks)) => {
                                    if grouping {
                                        groups.entry(ks).or_default().push(val);
                                    } else {
                                        match obj.entry(ks) {
                                            std::collections::btree_map::Entry::Occupied(o) => diags.push(err(
                                                "Duplicate object key",
                                                format!("Two different items produced the key {} in this 'for' expression. If duplicates are expected, use the ellipsis (...) after the value expression to enable grouping by key.", if key_marks.is_sensitive() { value::redact::SENSITIVE.to_string() } else { format!("{:?}", o.key()) }),
                                                &ke.range,
                                            )),
                                            std::collections::btree_map::Entry::Vacant(v) => {
                                                v.insert(val);
                                            }
                                        }
                                    }
                                }
                                _ => diags.push(err("Invalid object key", "The key expression produced an invalid result: string required.", &ke.range)),
                            }
                        }
                    }
                    None => tuple.push(self.eval(value_expr, diags)),
                }
            }
            self.locals.truncate(n);
        }
        let _ = range;
        if unknown {
            return unknown_dyn().mark(marks);
        }
        let v = if key_expr.is_some() {
            if grouping {
                Value::Object(
                    groups
                        .into_iter()
                        .map(|(k, vs)| (k, Value::Tuple(vs)))
                        .collect(),
                )
            } else {
                Value::Object(obj)
            }
        } else {
            Value::Tuple(tuple)
        };
        v.mark(marks)
    }
}

/// A resource instance key from a literal index value.
pub fn instance_key(v: &Value) -> Option<addrs::InstanceKey> {
    match v {
        Value::String(s) => Some(addrs::InstanceKey::Str(s.as_str().into())),
        Value::Number(n) => n.to_i64().map(addrs::InstanceKey::Int),
        _ => None,
    }
}

/// Whether diagnostics added after the first `before` include an error: an expression fails
/// on its own operands' errors, not on those of unrelated expressions evaluated earlier.
pub(crate) fn errors_since(diags: &Diagnostics, before: usize) -> bool {
    diags.iter().skip(before).any(|d| d.is_error())
}

fn mismatch_detail(t: &Type, f: &Type) -> String {
    format!(
        "The 'true' value is {}, but the 'false' value is {}.",
        t.friendly_name(),
        f.friendly_name()
    )
}

/// Items of a collection for `for`: (key, value) with list indexes as numbers.
pub(crate) fn iterate(v: &Value) -> Option<Vec<(Value, Value)>> {
    let (u, marks) = v.clone().unmark();
    let items: Vec<(Value, Value)> = match u {
        Value::List(_, es) | Value::Tuple(es) => es
            .into_iter()
            .enumerate()
            .map(|(i, e)| (Value::number(i as i64), e))
            .collect(),
        Value::Set(_, es) => es.into_iter().map(|e| (e.clone(), e)).collect(),
        Value::Map(_, m) | Value::Object(m) => {
            m.into_iter().map(|(k, e)| (Value::string(k), e)).collect()
        }
        _ => return None,
    };
    Some(
        items
            .into_iter()
            .map(|(k, e)| (k.mark(marks), e.mark(marks)))
            .collect(),
    )
}

type StepErr = (String, String);

pub(crate) fn get_attr(v: &Value, name: &str) -> Result<Value, StepErr> {
    let (u, marks) = v.clone().unmark();
    if !u.is_known() {
        let ty = match u.ty() {
            Type::Object(ot) => match ot.attrs.get(name) {
                Some(t) => t.clone(),
                None => {
                    return Err((
                        "Unsupported attribute".into(),
                        format!("This object does not have an attribute named {name:?}."),
                    ))
                }
            },
            Type::Map(et) => *et,
            _ => Type::Dynamic,
        };
        return Ok(Value::unknown(ty).mark(marks));
    }
    if u.is_null() {
        return Err((
            "Attempt to get attribute from null value".into(),
            "This value is null, so it does not have any attributes.".into(),
        ));
    }
    match &u {
        Value::Object(m) => match m.get(name) {
            Some(x) => Ok(x.clone().mark(marks)),
            None => Err((
                "Unsupported attribute".into(),
                format!("This object does not have an attribute named {name:?}."),
            )),
        },
        Value::Map(_, m) => match m.get(name) {
            Some(x) => Ok(x.clone().mark(marks)),
            None => Err((
                "Missing map element".into(),
                format!("This map does not have an element with the key {name:?}."),
            )),
        },
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Err((
            "Unsupported attribute".into(),
            format!(
                "Can't access attributes on a primitive-typed value ({}).",
                u.ty().friendly_name()
            ),
        )),
        _ => Err((
            "Unsupported attribute".into(),
            "This value does not have any attributes.".into(),
        )),
    }
}

pub(crate) fn index(c: &Value, k: &Value) -> Result<Value, StepErr> {
    let (cu, cm) = c.clone().unmark();
    let (ku, km) = k.clone().unmark();
    let marks = cm | km;
    let invalid = |d: &str| -> StepErr {
        (
            "Invalid index".into(),
            if d.is_empty() {
                "The given key does not identify an element in this collection value.".into()
            } else {
                format!("The given key does not identify an element in this collection value: {d}.")
            },
        )
    };
    if cu.is_null() {
        return Err((
            "Attempt to index null value".into(),
            "This value is null, so it does not have any indices.".into(),
        ));
    }
    if ku.is_null() {
        return Err((
            "Invalid index".into(),
            "Can't use a null value as an indexing key.".into(),
        ));
    }
    let elem_ty = |ty: &Type, kk: &Value| -> Type {
        match ty {
            Type::List(e) | Type::Map(e) | Type::Set(e) => (**e).clone(),
            Type::Tuple(ts) => kk
                .as_number()
                .and_then(|n| n.to_i64())
                .and_then(|i| ts.get(i as usize).cloned())
                .unwrap_or(Type::Dynamic),
            Type::Object(ot) => kk
                .as_str()
                .and_then(|s| ot.attrs.get(s).cloned())
                .unwrap_or(Type::Dynamic),
            _ => Type::Dynamic,
        }
    };
    if !cu.is_known() || !ku.is_known() {
        return Ok(Value::unknown(elem_ty(&cu.ty(), &ku)).mark(marks));
    }
    match &cu {
        Value::List(_, es) | Value::Tuple(es) => {
            let n = match value::convert::convert(&ku, &Type::Number) {
                Ok(Value::Number(n)) => n,
                _ => return Err(invalid("a number is required")),
            };
            if !n.is_integer() {
                return Err(invalid("indexes must be integers"));
            }
            let Some(i) = n.to_i64() else { return Err(invalid("")) };
            if i < 0 {
                return Err(invalid("a negative number is not a valid index for a sequence"));
            }
            match es.get(i as usize) {
                Some(v) => Ok(v.clone().mark(marks)),
                None => Err(invalid("")),
            }
        }
        Value::Map(_, m) | Value::Object(m) => {
            let s = match value::convert::convert(&ku, &Type::String) {
                Ok(Value::String(s)) => s,
                _ => return Err(invalid("a string is required")),
            };
            match m.get(&s) {
                Some(v) => Ok(v.clone().mark(marks)),
                None => Err(invalid("")),
            }
        }
        Value::Set(..) => Err((
            "Invalid index".into(),
            "Elements of a set are identified only by their value and don't have any separate index or key to select with, so it's only possible to perform operations across all elements of the set.".into(),
        )),
        _ => Err(("Invalid index".into(), "This value does not have any indices.".into())),
    }
}
