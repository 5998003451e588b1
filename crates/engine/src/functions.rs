//! Provider-defined functions (`provider::NS::NAME(…)`): the calling module's required
//! providers name the provider, one unconfigured instance per provider serves every call (as in
//! Terraform, functions need no provider configuration), and arguments are checked against the
//! function's signature the way HCL checks built-in functions.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use functions::FuncError;
use providers::{FunctionSignature, Provider};
use value::{Marks, Value};

use crate::ProviderFactory;

/// A started provider, or why it did not start.
type Started = Result<Arc<dyn Provider>, String>;

/// Provider instances for function calls, started on first use.
pub struct FunctionProviders<'a> {
    factory: &'a dyn ProviderFactory,
    started: Mutex<HashMap<String, Started>>,
}

impl<'a> FunctionProviders<'a> {
    pub fn new(factory: &'a dyn ProviderFactory) -> Self {
        FunctionProviders {
            factory,
            started: Mutex::default(),
        }
    }

    fn provider(&self, source: &str) -> Result<Arc<dyn Provider>, String> {
        let mut started = self.started.lock().expect("function providers");
        started
            .entry(source.to_string())
            .or_insert_with(|| self.factory.start(source))
            .clone()
    }

    /// Calls `provider::local::name` for a module whose provider `local` has `source`.
    pub fn call(
        &self,
        source: &str,
        local: &str,
        name: &str,
        args: Vec<Value>,
    ) -> Result<Value, FuncError> {
        let full = format!("provider::{local}::{name}");
        let call_failed = |detail: String| FuncError {
            arg_index: None,
            summary: "Error in function call".into(),
            detail: format!("Call to function \"{full}\" failed: {detail}."),
        };
        let provider = self.provider(source).map_err(call_failed)?;
        let (schema, _) = provider
            .get_schema()
            .map_err(|e| call_failed(e.to_string()))?;
        let Some(sig) = schema.functions.get(name) else {
            return Err(FuncError {
                arg_index: None,
                summary: "Unknown provider function".into(),
                detail: format!(
                    "The function \"{name}\" is not available from the provider \"{local}\"."
                ),
            });
        };
        let (args, marks, unknown) = check_args(&full, sig, args)?;
        if unknown {
            return Ok(Value::unknown(sig.return_type.clone()).mark(marks));
        }
        match provider.call_function(name, args) {
            Ok(Ok(v)) => Ok(v.mark(marks)),
            Ok(Err(e)) => Err(match e.argument {
                Some(i) => invalid_arg(sig, i, &e.text),
                None => call_failed(e.text),
            }),
            Err(e) => Err(call_failed(e.to_string())),
        }
    }

    /// Ends the function providers' processes.
    pub fn close(&self) {
        for p in self
            .started
            .lock()
            .expect("function providers")
            .values()
            .flatten()
        {
            p.close();
        }
    }
}

fn param(sig: &FunctionSignature, i: usize) -> Option<&providers::FunctionParam> {
    sig.params.get(i).or(sig.variadic.as_ref())
}

fn invalid_arg(sig: &FunctionSignature, i: usize, msg: &str) -> FuncError {
    let name = param(sig, i).map(|p| p.name.as_str()).unwrap_or("");
    FuncError {
        arg_index: Some(i),
        summary: "Invalid function argument".into(),
        detail: format!("Invalid value for \"{name}\" parameter: {msg}."),
    }
}

/// Arity, conversion and null checks; the arguments come back converted and unmarked, with
/// their marks and whether any is unknown where the function does not take unknowns.
fn check_args(
    full: &str,
    sig: &FunctionSignature,
    args: Vec<Value>,
) -> Result<(Vec<Value>, Marks, bool), FuncError> {
    let n = sig.params.len();
    if args.len() < n {
        let at_least = if sig.variadic.is_some() {
            "at least "
        } else {
            ""
        };
        return Err(FuncError {
            arg_index: None,
            summary: "Not enough function arguments".into(),
            detail: format!(
                "Function \"{full}\" expects {at_least}{n} argument(s). Missing value for \"{}\".",
                sig.params[args.len()].name
            ),
        });
    }
    if args.len() > n && sig.variadic.is_none() {
        return Err(FuncError {
            arg_index: Some(n),
            summary: "Too many function arguments".into(),
            detail: format!("Function \"{full}\" expects only {n} argument(s)."),
        });
    }
    let mut marks = Marks::NONE;
    let mut unknown = false;
    let mut out = Vec::with_capacity(args.len());
    for (i, a) in args.into_iter().enumerate() {
        let p = param(sig, i).expect("arity checked");
        let (plain, m) = a.unmark_deep();
        marks |= m;
        let v =
            value::convert::convert(&plain, &p.ty).map_err(|e| invalid_arg(sig, i, &e.message))?;
        if v.is_null() && !p.allow_null {
            return Err(invalid_arg(sig, i, "argument must not be null"));
        }
        if !v.is_wholly_known() && !p.allow_unknown {
            unknown = true;
        }
        out.push(v);
    }
    Ok((out, marks, unknown))
}
