//! The function framework (cty's `function.Spec` and HCL's call checks): arity, argument
//! conversion to parameter types, null/unknown/dynamic/mark handling, and the error texts
//! Terraform shows for each failure.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use value::{Marks, Refinements, Type, Unknown, Value};

/// Renders a template source with variables: `(source, filename, vars)`. The evaluator (`lang`)
/// provides it, because templates are HCL expressions.
pub type TemplateRenderer<'a> =
    &'a dyn Fn(&str, &str, &BTreeMap<String, Value>) -> Result<Value, String>;

/// What functions may need from their surroundings.
#[derive(Clone, Default)]
pub struct FuncContext<'a> {
    /// The module directory; relative paths in file functions resolve against it.
    pub base_dir: PathBuf,
    /// The home directory for `pathexpand`; `$HOME` when `None`.
    pub home_dir: Option<PathBuf>,
    /// The time `plantimestamp()` returns; the current time when `None`.
    pub plan_timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// Renders templates for `templatefile` and `templatestring`.
    pub render_template: Option<TemplateRenderer<'a>>,
}

/// A failed call, as Terraform reports it: a diagnostic summary and detail, and which argument
/// (0-based, counting variadic arguments) the diagnostic points at, if any.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{summary}: {detail}")]
pub struct FuncError {
    pub arg_index: Option<usize>,
    pub summary: String,
    pub detail: String,
}

impl FuncError {
    /// An error about argument `index` (parameter `param`), worded as cty words it.
    pub fn arg(index: usize, param: &str, msg: &str) -> FuncError {
        FuncError {
            arg_index: Some(index),
            summary: "Invalid function argument".into(),
            detail: format!("Invalid value for \"{param}\" parameter: {msg}."),
        }
    }
}

/// An error raised inside a function: about one argument, or about the call as a whole.
#[derive(Debug)]
pub(crate) enum Fail {
    Arg(usize, String),
    Call(String),
}

pub(crate) type R<T> = Result<T, Fail>;

pub(crate) fn call_err(msg: impl Into<String>) -> Fail {
    Fail::Call(msg.into())
}

pub(crate) fn arg_err(i: usize, msg: impl Into<String>) -> Fail {
    Fail::Arg(i, msg.into())
}

/// A parameter of a function (cty `function.Parameter`).
#[derive(Clone, Debug)]
pub struct Param {
    pub name: &'static str,
    pub ty: Type,
    pub allow_null: bool,
    pub allow_unknown: bool,
    pub allow_dynamic_type: bool,
    pub allow_marked: bool,
}

impl Param {
    pub(crate) fn new(name: &'static str, ty: Type) -> Param {
        Param {
            name,
            ty,
            allow_null: false,
            allow_unknown: false,
            allow_dynamic_type: false,
            allow_marked: false,
        }
    }
    pub(crate) fn null(mut self) -> Param {
        self.allow_null = true;
        self
    }
    pub(crate) fn unknown(mut self) -> Param {
        self.allow_unknown = true;
        self
    }
    pub(crate) fn dynamic(mut self) -> Param {
        self.allow_dynamic_type = true;
        self
    }
    pub(crate) fn marked(mut self) -> Param {
        self.allow_marked = true;
        self
    }
}

pub(crate) fn p(name: &'static str, ty: Type) -> Param {
    Param::new(name, ty)
}

pub(crate) type TypeFn = fn(&[Value]) -> R<Type>;
pub(crate) type ImplFn = fn(&Args) -> R<Value>;

pub(crate) enum RetType {
    Static(Type),
    Computed(TypeFn),
}

/// What a function implementation receives: converted, unmarked (unless the parameter allows
/// marks) arguments, the return type its type function chose, and the context.
pub(crate) struct Args<'a, 'c> {
    pub vals: Vec<Value>,
    pub ret: Type,
    pub ctx: &'a FuncContext<'c>,
}

impl Args<'_, '_> {
    pub fn str(&self, i: usize) -> &str {
        self.vals[i].as_str().unwrap_or("")
    }
    pub fn num(&self, i: usize) -> value::Number {
        self.vals[i]
            .as_number()
            .cloned()
            .unwrap_or_else(value::Number::zero)
    }
}

/// A built-in function: its signature and implementation.
pub struct Function {
    pub name: &'static str,
    pub params: Vec<Param>,
    pub variadic: Option<Param>,
    pub(crate) ret: RetType,
    pub(crate) imp: ImplFn,
    /// cty's `RefineResult: refineNonNull`: unknown results are known not to be null.
    pub(crate) refine_not_null: bool,
    /// `try` and `can`: listed, but evaluated by the expression evaluator.
    pub special: bool,
}

pub(crate) struct Builder(Function);

pub(crate) fn func(name: &'static str, params: Vec<Param>) -> Builder {
    Builder(Function {
        name,
        params,
        variadic: None,
        ret: RetType::Static(Type::Dynamic),
        imp: |_| Err(call_err("not implemented")),
        refine_not_null: true,
        special: false,
    })
}

impl Builder {
    pub fn var(mut self, p: Param) -> Builder {
        self.0.variadic = Some(p);
        self
    }
    pub fn ret(mut self, t: Type) -> Builder {
        self.0.ret = RetType::Static(t);
        self
    }
    pub fn ret_fn(mut self, f: TypeFn) -> Builder {
        self.0.ret = RetType::Computed(f);
        self
    }
    pub fn imp(mut self, f: ImplFn) -> Builder {
        self.0.imp = f;
        self
    }
    pub fn no_refine(mut self) -> Builder {
        self.0.refine_not_null = false;
        self
    }
    pub fn special(mut self) -> Builder {
        self.0.special = true;
        self
    }
    pub fn build(self) -> Function {
        self.0
    }
}

fn table() -> &'static BTreeMap<&'static str, Function> {
    static TABLE: OnceLock<BTreeMap<&'static str, Function>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut fs = Vec::new();
        crate::numeric::register(&mut fs);
        crate::string::register(&mut fs);
        crate::collection::register(&mut fs);
        crate::encoding::register(&mut fs);
        crate::filesystem::register(&mut fs);
        crate::datetime::register(&mut fs);
        crate::crypto::register(&mut fs);
        crate::network::register(&mut fs);
        crate::conversion::register(&mut fs);
        crate::sensitive::register(&mut fs);
        fs.into_iter().map(|f| (f.name, f)).collect()
    })
}

/// The function called `name` (also as `core::name`).
pub fn lookup(name: &str) -> Option<&'static Function> {
    let name = name.strip_prefix("core::").unwrap_or(name);
    table().get(name)
}

/// A function's signature as Terraform's JSON shows it in diagnostics: name, parameters with
/// their types, the variadic parameter, and the return type (`dynamic` when it depends on
/// the arguments).
pub fn signature_json(name: &str) -> Option<serde_json::Value> {
    let f = lookup(name)?;
    let param =
        |p: &Param| serde_json::json!({"name": p.name, "type": value::json::type_to_json(&p.ty)});
    let mut sig = serde_json::json!({"name": f.name});
    if !f.params.is_empty() {
        sig["params"] = f.params.iter().map(param).collect();
    }
    if let Some(v) = &f.variadic {
        sig["variadic_param"] = param(v);
    }
    sig["return_type"] = match &f.ret {
        RetType::Static(t) => value::json::type_to_json(t),
        RetType::Computed(_) => "dynamic".into(),
    };
    Some(sig)
}

/// Every built-in function's signature, under its name and its `core::` alias, in the shape
/// of `terraform metadata functions -json` (without the prose descriptions).
pub fn metadata_json() -> serde_json::Value {
    let param = |p: &Param| {
        let mut j = serde_json::json!({"name": p.name, "type": value::json::type_to_json(&p.ty)});
        if p.allow_null {
            j["is_nullable"] = true.into();
        }
        j
    };
    let mut sigs = serde_json::Map::new();
    for f in table().values() {
        // As Terraform describes it: the return type for unknown arguments of the parameter
        // types (one for the variadic parameter).
        let probe: Vec<Value> = f
            .params
            .iter()
            .chain(&f.variadic)
            .map(|p| unknown_of(p.ty.clone(), false))
            .collect();
        let ret = f.return_type(&probe).unwrap_or(Type::Dynamic);
        let mut sig = serde_json::json!({"return_type": value::json::type_to_json(&ret)});
        if !f.params.is_empty() {
            sig["parameters"] = f.params.iter().map(param).collect();
        }
        if let Some(v) = &f.variadic {
            sig["variadic_parameter"] = param(v);
        }
        sigs.insert(format!("core::{}", f.name), sig.clone());
        sigs.insert(f.name.to_string(), sig);
    }
    serde_json::json!({"format_version": "1.0", "function_signatures": sigs})
}

/// The names of all built-in functions, sorted (without the `core::` aliases).
pub fn names() -> impl Iterator<Item = &'static str> {
    table().keys().copied()
}

/// Calls the function `name` as a Terraform expression would.
pub fn call(name: &str, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
    match lookup(name) {
        Some(f) => f.call(args, ctx),
        None => Err(FuncError {
            arg_index: None,
            summary: "Call to unknown function".into(),
            detail: format!("There is no function named \"{name}\"."),
        }),
    }
}

fn unknown_of(ty: Type, not_null: bool) -> Value {
    let refine = not_null && ty != Type::Dynamic;
    Value::Unknown(Box::new(Unknown {
        ty,
        refinements: Refinements {
            not_null: refine,
            ..Refinements::default()
        },
    }))
}

impl Function {
    fn param(&self, i: usize) -> Option<&Param> {
        self.params.get(i).or(self.variadic.as_ref())
    }

    fn invalid_arg(&self, i: usize, msg: &str) -> FuncError {
        FuncError::arg(i, self.param(i).map(|p| p.name).unwrap_or(""), msg)
    }

    fn fail(&self, f: Fail) -> FuncError {
        match f {
            Fail::Arg(i, msg) => self.invalid_arg(i, &msg),
            Fail::Call(msg) => FuncError {
                arg_index: None,
                summary: "Error in function call".into(),
                detail: format!("Call to function \"{}\" failed: {msg}.", self.name),
            },
        }
    }

    /// The return type for these argument values (unknowns allowed), as cty's
    /// `ReturnTypeForValues`; arguments must already have their parameters' types.
    pub fn return_type(&self, args: &[Value]) -> Result<Type, FuncError> {
        self.return_type_inner(args).map(|(t, _)| t)
    }

    fn return_type_inner(&self, args: &[Value]) -> Result<(Type, bool), FuncError> {
        let mut unmarked = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            let Some(spec) = self.param(i) else { break };
            let v = if spec.allow_marked {
                a.clone()
            } else {
                a.clone().unmark_deep().0
            };
            if v.is_null() && !spec.allow_null {
                return Err(self.invalid_arg(i, "argument must not be null"));
            }
            if v.ty() == Type::Dynamic && !spec.allow_dynamic_type {
                return Ok((Type::Dynamic, true));
            }
            unmarked.push(v);
        }
        let ty = match &self.ret {
            RetType::Static(t) => t.clone(),
            RetType::Computed(f) => f(&unmarked).map_err(|e| self.fail(e))?,
        };
        Ok((ty, false))
    }

    /// Calls the function: arity and conversion checks as HCL does them, then cty's `Call`.
    /// An error never quotes a sensitive argument: such text becomes "(sensitive value)".
    pub fn call(&self, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
        let secrets = if args.iter().any(Value::is_sensitive_deep) {
            value::redact::sensitive_texts(&args)
        } else {
            Vec::new()
        };
        self.call_unredacted(args, ctx).map_err(|mut e| {
            if !secrets.is_empty() {
                e.detail = value::redact::redact(&e.detail, &secrets);
            }
            e
        })
    }

    fn call_unredacted(&self, args: Vec<Value>, ctx: &FuncContext) -> Result<Value, FuncError> {
        if self.special {
            return Err(FuncError {
                arg_index: None,
                summary: "Error in function call".into(),
                detail: format!(
                    "Call to function \"{}\" failed: this function is evaluated by the expression evaluator.",
                    self.name
                ),
            });
        }
        let n = self.params.len();
        if args.len() < n {
            let detail =
                if self.variadic.is_some() {
                    format!(
                    "Function \"{}\" expects at least {} argument(s). Missing value for \"{}\".",
                    self.name, n, self.params[args.len()].name
                )
                } else {
                    format!(
                        "Function \"{}\" expects {} argument(s). Missing value for \"{}\".",
                        self.name,
                        n,
                        self.params[args.len()].name
                    )
                };
            return Err(FuncError {
                arg_index: None,
                summary: "Not enough function arguments".into(),
                detail,
            });
        }
        if args.len() > n && self.variadic.is_none() {
            return Err(FuncError {
                arg_index: Some(n),
                summary: "Too many function arguments".into(),
                detail: format!("Function \"{}\" expects only {} argument(s).", self.name, n),
            });
        }
        let mut converted = Vec::with_capacity(args.len());
        for (i, a) in args.into_iter().enumerate() {
            let spec = self.param(i).expect("arity checked");
            match value::convert::convert(&a, &spec.ty) {
                Ok(v) => converted.push(v),
                Err(e) => return Err(self.invalid_arg(i, &e.message)),
            }
        }
        let (ret, dyn_args) = self.return_type_inner(&converted)?;
        let mut marks = Marks::NONE;
        let mut return_unknown = dyn_args;
        let mut vals = Vec::with_capacity(converted.len());
        for (i, a) in converted.into_iter().enumerate() {
            let spec = self.param(i).expect("arity checked");
            let v = if spec.allow_marked {
                a
            } else {
                let (v, m) = a.unmark_deep();
                marks |= m;
                v
            };
            if !v.is_known() && !spec.allow_unknown {
                return_unknown = true;
            }
            vals.push(v);
        }
        if return_unknown {
            let refine = self.refine_not_null && !dyn_args;
            return Ok(unknown_of(ret, refine).mark(marks));
        }
        let out = (self.imp)(&Args { vals, ret, ctx }).map_err(|e| self.fail(e))?;
        let out = if self.refine_not_null {
            refine_not_null(out)
        } else {
            out
        };
        Ok(out.mark(marks))
    }
}

fn refine_not_null(v: Value) -> Value {
    let (inner, m) = v.unmark();
    let inner = match inner {
        Value::Unknown(mut u) if u.ty != Type::Dynamic => {
            u.refinements.not_null = true;
            u.into_value()
        }
        Value::Unknown(u) => u.into_value(),
        other => other,
    };
    inner.mark(m)
}
