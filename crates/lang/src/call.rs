//! Function calls in expressions: built-in and provider functions with HCL's argument
//! handling and diagnostics, `try`/`can` (which see unevaluated arguments), the console's
//! `type`, and the template renderer `templatefile`/`templatestring` use.

use std::collections::BTreeMap;

use config::{Expr, ExprKind};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use value::{Type, Value};

use crate::eval::{err, errors_since, unknown_dyn, Evaluator};
use crate::refs::parse_ref;
use crate::Scope;

impl Evaluator<'_, '_> {
    pub(crate) fn call(
        &mut self,
        name: &str,
        args: &[Expr],
        expand_final: bool,
        range: &SourceRange,
        diags: &mut Diagnostics,
    ) -> Value {
        if !self.scope.functions {
            return unknown_dyn();
        }
        match name {
            "try" | "core::try" => return self.try_fn(args, range, diags),
            "can" | "core::can" => return self.can_fn(args, range, diags),
            "type" if self.scope.console => {
                if args.len() != 1 {
                    diags.push(err(
                        "Invalid function argument",
                        "The type function expects one argument.",
                        range,
                    ));
                    return unknown_dyn();
                }
                let v = self.eval(&args[0], diags);
                // The console renders this string as-is (see console_eval).
                return Value::String(format!(
                    "\u{0}type:{}",
                    value::render::console_type(&v.ty())
                ));
            }
            _ => {}
        }
        let template_fn = name.strip_prefix("core::").unwrap_or(name);
        if self.scope.in_template && matches!(template_fn, "templatefile" | "templatestring") {
            let e = functions::FuncError {
                arg_index: None,
                summary: "Error in function call".into(),
                detail: format!("Call to function \"{name}\" failed: cannot recursively call {template_fn} from inside another template function."),
            };
            self.function_error(name, e, args, range, diags);
            return unknown_dyn();
        }
        let template_string =
            matches!(name, "templatestring" | "core::templatestring") && args.len() == 2;
        if template_string && !expand_final {
            // Terraform checks the references of the whole call before anything else.
            let mut bad_refs = false;
            for a in args {
                let (_, ds) = crate::refs::references(a);
                bad_refs |= ds.has_errors();
                diags.extend(ds);
            }
            if bad_refs {
                return unknown_dyn();
            }
            // The template argument is taken unevaluated, and must be a plain reference.
            if let Err(msg) = template_string_source(&args[0]) {
                let e = functions::FuncError::arg(0, "template", &msg);
                self.function_error(name, e, args, range, diags);
                return Value::unknown(Type::String);
            }
        }
        let before = diags.len();
        let mut vals: Vec<Value> = Vec::with_capacity(args.len());
        for a in args {
            vals.push(self.eval(a, diags));
        }
        if errors_since(diags, before) {
            return unknown_dyn();
        }
        if template_string && !expand_final {
            // Exactly a string: a number or bool would make a useless template.
            let (t, _) = vals[0].clone().unmark();
            if t.is_known() && (t.ty() != Type::String || t.is_null()) {
                let e = functions::FuncError::arg(
                    0,
                    "template",
                    "invalid template value: a string is required",
                );
                self.function_error(name, e, args, range, diags);
                return Value::unknown(Type::String);
            }
        }
        if expand_final {
            if let Some(last) = vals.pop() {
                let (u, marks) = last.unmark();
                if u.is_null() {
                    diags.push(err(
                        "Invalid expanding argument value",
                        "The expanding argument (indicated by ...) must not be null.",
                        &args[args.len() - 1].range,
                    ));
                    return unknown_dyn();
                }
                if !u.is_known() {
                    return unknown_dyn().mark(marks);
                }
                match u {
                    Value::List(_, es) | Value::Set(_, es) | Value::Tuple(es) => {
                        vals.extend(es.into_iter().map(|e| e.mark(marks)));
                    }
                    other => {
                        diags.push(err(
                            "Invalid expanding argument value",
                            format!("The expanding argument (indicated by ...) must be of a tuple, list, or set type, not {}.", other.ty().friendly_name()),
                            &args[args.len() - 1].range,
                        ));
                        return unknown_dyn();
                    }
                }
            }
        }
        if let Some(rest) = name.strip_prefix("provider::") {
            let (provider, fname) = rest.split_once("::").unwrap_or((rest, ""));
            // A provider's error may quote an argument; sensitive ones must not show.
            let secrets = value::redact::sensitive_texts(&vals);
            return match self
                .scope
                .data
                .call_provider_function(provider, fname, vals)
            {
                Some(Ok(v)) => v,
                Some(Err(mut e)) => {
                    if !secrets.is_empty() {
                        e.detail = value::redact::redact(&e.detail, &secrets);
                    }
                    let subject = call_subject(name, &e, args, range);
                    diags.push(err(e.summary, e.detail, &subject).with_context(range.clone()));
                    unknown_dyn()
                }
                None => {
                    diags.push(err(
                        "Unknown provider function",
                        format!("There is no function named \"{name}\". Ensure that provider name \"{provider}\" is declared in this module's required_providers block, and that this provider offers a function named \"{fname}\"."),
                        range,
                    ));
                    unknown_dyn()
                }
            };
        }
        if self.scope.console && matches!(name, "plantimestamp" | "core::plantimestamp") {
            // Terraform's console has no plan, so it does not offer plantimestamp().
            diags.push(err(
                "Call to unknown function",
                format!("There is no function named \"{name}\"."),
                range,
            ));
            return unknown_dyn();
        }
        if self.scope.pure_only
            && matches!(
                name,
                "timestamp" | "uuid" | "bcrypt" | "core::timestamp" | "core::uuid" | "core::bcrypt"
            )
        {
            // Impure functions are only known at apply time.
            return Value::unknown(Type::String);
        }
        let render =
            |src: &str, filename: &str, vars: &BTreeMap<String, Value>| -> Result<Value, String> {
                let expr = config::parse_template(src, filename).map_err(|ds| {
                    // HCL's one-line form of a diagnostic: "RANGE: SUMMARY; DETAIL".
                    let d = ds.iter().next();
                    let text = d
                        .map(|d| match &d.subject {
                            Some(r) => format!("{}: {}; {}", r.compact(), d.summary, d.detail),
                            None => format!("{}; {}", d.summary, d.detail),
                        })
                        .unwrap_or_default();
                    format!("{}{text}", functions::INVALID_TEMPLATE)
                })?;
                // Terraform checks every reference against the variables before rendering.
                for (root, _, r) in expr.references() {
                    if !vars.contains_key(root) {
                        return Err(format!(
                            "{}{}, referenced at {}",
                            functions::MISSING_TEMPLATE_VAR,
                            value::ops::go_quote(root),
                            r.compact(),
                        ));
                    }
                }
                let data = crate::MapData::default();
                let scope = Scope {
                    in_template: true,
                    pure_only: self.scope.pure_only,
                    plan_timestamp: self.scope.plan_timestamp,
                    ..Scope::new(&data, self.scope.base_dir.clone())
                };
                let mut ev = Evaluator::new(&scope);
                for (k, v) in vars {
                    ev.locals.push((k.clone(), v.clone()));
                }
                let mut ds = Diagnostics::new();
                let v = ev.eval(&expr, &mut ds);
                let errors: Vec<&Diagnostic> = ds.iter().filter(|d| d.is_error()).collect();
                if let Some(d) = errors.first() {
                    // HCL's text of its diagnostics: the first as "RANGE: SUMMARY; DETAIL".
                    let mut text = match &d.subject {
                        Some(r) => format!("{}: {}; {}", r.compact(), d.summary, d.detail),
                        None => format!("{}; {}", d.summary, d.detail),
                    };
                    if errors.len() > 1 {
                        text.push_str(&format!(", and {} other diagnostic(s)", errors.len() - 1));
                    }
                    return Err(text);
                }
                Ok(v)
            };
        let ctx = functions::FuncContext {
            base_dir: self.scope.base_dir.clone(),
            home_dir: None,
            plan_timestamp: self.scope.plan_timestamp,
            render_template: Some(&render),
        };
        match functions::call(name, vals, &ctx) {
            Ok(v) => v,
            Err(e) => {
                self.function_error(name, e, args, range, diags);
                unknown_dyn()
            }
        }
    }

    /// Reports a failed call of the built-in `name` as HCL does.
    fn function_error(
        &self,
        name: &str,
        e: functions::FuncError,
        args: &[Expr],
        range: &SourceRange,
        diags: &mut Diagnostics,
    ) {
        let subject = call_subject(name, &e, args, range);
        let detail = if e.summary == "Call to unknown function" {
            match suggest(name) {
                Some(s) => format!("{} Did you mean \"{s}\"?", e.detail),
                None => e.detail,
            }
        } else {
            e.detail
        };
        let mut d = err(e.summary, detail, &subject).with_context(range.clone());
        // HCL's diagnostic about an argument carries that argument's expression, so Terraform
        // shows what its references evaluated to.
        if let Some(arg) = e.arg_index.and_then(|i| args.get(i)) {
            if self.locals.is_empty() {
                d.expression_values = crate::expression_values(self.scope, arg);
            }
        }
        // HCL notes the called function with errors about calling it.
        if let Some(sig) = functions::signature_json(name) {
            d = d.with_function_call(serde_json::json!({"called_as": name, "signature": sig}));
        }
        diags.push(d);
    }

    /// Terraform checks every reference of an expression before evaluating it, so a reference
    /// to something never declared (or `count`/`each` where they are not available) is an
    /// error even inside `try` and `can`, which only catch errors of evaluation. Reports those
    /// and says whether there were any.
    fn static_reference_errors(&mut self, args: &[Expr], diags: &mut Diagnostics) -> bool {
        let before = diags.len();
        for a in args {
            for (root, steps, range) in a.references() {
                if self.local(root).is_some() {
                    continue;
                }
                match parse_ref(root, steps, range) {
                    Err(d) => diags.push(d),
                    Ok((r, used)) => {
                        let subject = crate::refs::ref_range(&r, root, steps, used, range);
                        if let Err(d) = self.scope.data.get(&r, &subject) {
                            if is_reference_diag(&d) {
                                diags.push(d);
                            }
                        }
                    }
                }
            }
        }
        diags.len() > before
    }

    fn try_fn(&mut self, args: &[Expr], range: &SourceRange, diags: &mut Diagnostics) -> Value {
        if self.static_reference_errors(args, diags) {
            return unknown_dyn();
        }
        if args.is_empty() {
            diags.push(err(
                "Error in function call",
                "Call to function \"try\" failed: at least one argument is required.",
                range,
            ));
            return unknown_dyn();
        }
        let mut failures = String::new();
        for a in args {
            let mut ds = Diagnostics::new();
            let v = self.eval(a, &mut ds);
            if ds.has_errors() {
                // Terraform lists every error, each with its range in HCL's compact form.
                for d in ds
                    .iter()
                    .filter(|d| d.severity == diagnostics::Severity::Error)
                {
                    failures.push_str(&format!("\n- {}", d.summary));
                    if let Some(r) = &d.subject {
                        failures.push_str(&format!(" (at {})", r.compact()));
                    }
                    failures.push_str(&format!("\n  {}", d.detail));
                }
                continue;
            }
            if !v.is_wholly_known() {
                // An unknown result might yet fail; the whole call is unknown.
                return unknown_dyn();
            }
            return v;
        }
        diags.push(err(
            "Error in function call",
            format!("Call to function \"try\" failed: no expression succeeded:{failures}\n\nAt least one expression must produce a successful result."),
            range,
        ));
        unknown_dyn()
    }

    fn can_fn(&mut self, args: &[Expr], range: &SourceRange, diags: &mut Diagnostics) -> Value {
        if args.len() != 1 {
            diags.push(err(
                if args.is_empty() {
                    "Not enough function arguments"
                } else {
                    "Too many function arguments"
                },
                "Function \"can\" expects 1 argument(s).",
                range,
            ));
            return unknown_dyn();
        }
        if self.static_reference_errors(args, diags) {
            return unknown_dyn();
        }
        let mut ds = Diagnostics::new();
        let v = self.eval(&args[0], &mut ds);
        if ds.has_errors() {
            return Value::Bool(false);
        }
        if !v.is_wholly_known() {
            return Value::unknown(Type::Bool);
        }
        Value::Bool(true)
    }
}

/// Where HCL points a failed call's diagnostic: the argument it is about, the name of a
/// function it does not know, the closing parenthesis when arguments are missing, and
/// otherwise the call's start (`name(`).
fn call_subject(
    name: &str,
    e: &functions::FuncError,
    args: &[Expr],
    range: &SourceRange,
) -> SourceRange {
    if let Some(arg) = e.arg_index.and_then(|i| args.get(i)) {
        return arg.start_range();
    }
    let mut r = range.clone();
    if e.summary == "Not enough function arguments" {
        r.start = r.end;
        r.start.byte = r.start.byte.saturating_sub(1);
        r.start.column = r.start.column.saturating_sub(1);
        return r;
    }
    // The name, and for anything but an unknown function the parenthesis after it.
    let paren = u32::from(e.summary != "Call to unknown function");
    r.end = r.start;
    r.end.byte += name.len() as u32 + paren;
    r.end.column += name.chars().count() as u32 + paren;
    r
}

/// The closest function name for "Did you mean" (edit distance below 3).
fn suggest(name: &str) -> Option<&'static str> {
    let mut best: Option<(usize, &'static str)> = None;
    for n in functions::names() {
        let d = strsim::levenshtein(name, n);
        if d < 3 && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, n));
        }
    }
    best.map(|(_, n)| n)
}

/// Whether a diagnostic is one Terraform finds by checking references before evaluating.
pub(crate) fn is_reference_diag(d: &diagnostics::Diagnostic) -> bool {
    d.summary.starts_with("Reference to ")
        || d.summary == "Invalid reference"
        || d.summary == "Invalid \"self\" reference"
        || d.summary == "Invalid \"path\" attribute"
}

/// Checks a `templatestring` template argument as Terraform does: a reference to a string
/// defined elsewhere (through attributes, indexes and splats), not an inline template.
fn template_string_source(e: &Expr) -> Result<(), String> {
    const PREFIX: &str = "invalid template expression: templatestring is only for rendering templates retrieved dynamically from elsewhere";
    match &e.kind {
        ExprKind::TemplateWrap(_) => Err(format!("{PREFIX}; to treat the inner expression as template syntax, write the reference expression directly without any template interpolation syntax")),
        // A quoted string without interpolations is a template of one literal part.
        ExprKind::Literal(Value::String(_)) => Err(format!("{PREFIX}, and so does not support providing a literal template; consider using a template string expression instead")),
        ExprKind::Template(_) => Err(format!("{PREFIX}; to render an inline template, consider using a plain template string expression")),
        _ if valid_template_reference(e) => Ok(()),
        _ => Err("invalid template expression: must be a direct reference to a single string from elsewhere, containing valid Terraform template syntax".into()),
    }
}

fn valid_template_reference(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::ScopeTraversal { .. } => true,
        ExprKind::RelativeTraversal { source, .. } | ExprKind::Splat { source, .. } => {
            valid_template_reference(source)
        }
        ExprKind::Index { collection, .. } => valid_template_reference(collection),
        _ => false,
    }
}
