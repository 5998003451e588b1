//! Root module variable values from outside the configuration, with Terraform's precedence:
//! `TF_VAR_*`, then `terraform.tfvars(.json)`, then `*.auto.tfvars(.json)` in lexical order,
//! then `-var` and `-var-file` in command-line order (later wins).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use config::Config;
use diagnostics::{Diagnostic, Diagnostics, Sources};
use engine::InputValue;
use value::{Type, Value};

/// A `-var` or `-var-file` argument, in command-line order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VarArg {
    Var(String),
    VarFile(PathBuf),
}

/// Whether a raw string is taken literally (primitive or unconstrained types) or parsed as
/// an HCL expression (collections and structures), as Terraform decides for -var and env.
fn literal(ty: &Type) -> bool {
    ty.is_primitive() || *ty == Type::Dynamic
}

fn eval_const(expr: &config::Expr, dir: &Path) -> (Value, Diagnostics) {
    let data = lang::MapData::default();
    lang::Scope::new(&data, dir.to_path_buf()).eval(expr, &Type::Dynamic)
}

fn raw_value(
    cfg: &Config,
    name: &str,
    raw: &str,
    origin: &str,
    dir: &Path,
    sources: &mut Sources,
) -> Result<Value, Diagnostics> {
    let ty = cfg
        .module
        .variables
        .get(name)
        .map(|v| v.type_constraint.clone())
        .unwrap_or(Type::Dynamic);
    if literal(&ty) {
        return Ok(Value::string(raw));
    }
    let filename = format!("<value for var.{name}>");
    sources.add(filename.clone(), raw.to_string());
    let expr = config::parse_expression(raw, &filename)?;
    let (v, ds) = eval_const(&expr, dir);
    if ds.has_errors() {
        return Err(ds);
    }
    let _ = origin;
    Ok(v)
}

#[allow(clippy::too_many_arguments)] // the collector's accumulators, threaded through each file
fn load_file(
    cfg: &Config,
    path: &Path,
    display: &str,
    dir: &Path,
    out: &mut BTreeMap<String, InputValue>,
    diags: &mut Diagnostics,
    sources: &mut Sources,
    explicit: bool,
) {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            let (summary, detail) = if explicit {
                (
                    "Failed to read variables file",
                    format!("Given variables file {display} does not exist."),
                )
            } else {
                (
                    "Failed to read variables file",
                    format!("Error reading {display}: {e}."),
                )
            };
            let _ = e;
            diags.push(Diagnostic::error(summary, detail));
            return;
        }
    };
    sources.add(display.to_string(), text.clone());
    let (attrs, ds) = config::parse_tfvars(&text, display);
    let had_errors = ds.has_errors();
    diags.extend(ds.0);
    if had_errors {
        return;
    }
    for (name, expr) in attrs {
        if !cfg.module.variables.contains_key(&name) {
            diags.push(
                Diagnostic::warning(
                    "Value for undeclared variable",
                    format!("The root module does not declare a variable named \"{name}\" but a value was found in file \"{display}\". If you meant to use this value, add a \"variable\" block to the configuration.\n\nTo silence these warnings, use TF_VAR_... environment variables to provide certain \"global\" settings to all configurations in your organization. To reduce the verbosity of these warnings, use the -compact-warnings option."),
                )
                .with_subject(expr.range.clone()),
            );
            continue;
        }
        let (v, ds) = eval_const(&expr, dir);
        let bad = ds.has_errors();
        diags.extend(ds.0);
        if !bad {
            out.insert(
                name,
                InputValue {
                    value: v,
                    range: Some(expr.range.clone()),
                },
            );
        }
    }
}

/// Collects the root module's variable values. Undeclared values in files are warnings; on
/// the command line they are errors, as in Terraform.
pub fn collect(
    cfg: &Config,
    dir: &Path,
    args: &[VarArg],
) -> (BTreeMap<String, InputValue>, Diagnostics, Sources) {
    let mut out = BTreeMap::new();
    let mut diags = Diagnostics::new();
    let mut sources = Sources::new();

    let mut env: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| k.strip_prefix("TF_VAR_").map(|n| (n.to_string(), v)))
        .collect();
    env.sort();
    for (name, raw) in env {
        if !cfg.module.variables.contains_key(&name) {
            continue;
        }
        match raw_value(cfg, &name, &raw, "environment", dir, &mut sources) {
            Ok(v) => {
                out.insert(
                    name,
                    InputValue {
                        value: v,
                        range: None,
                    },
                );
            }
            Err(ds) => diags.extend(ds.0),
        }
    }

    for f in ["terraform.tfvars", "terraform.tfvars.json"] {
        let p = dir.join(f);
        if p.is_file() {
            load_file(cfg, &p, f, dir, &mut out, &mut diags, &mut sources, false);
        }
    }
    let mut autos: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json"))
                .collect()
        })
        .unwrap_or_default();
    autos.sort();
    for f in autos {
        let p = dir.join(&f);
        load_file(cfg, &p, &f, dir, &mut out, &mut diags, &mut sources, false);
    }

    for a in args {
        match a {
            VarArg::Var(s) => {
                let Some((name, raw)) = s.split_once('=') else {
                    diags.push(Diagnostic::error(
                        "Invalid -var option",
                        format!("The given -var option {s:?} is not correctly specified. Must be a variable name and value separated by an equals sign, like -var=\"key=value\"."),
                    ));
                    continue;
                };
                let name = name.trim();
                if !cfg.module.variables.contains_key(name) {
                    diags.push(Diagnostic::error(
                        "Value for undeclared variable",
                        format!("A variable named \"{name}\" was assigned on the command line, but the root module does not declare a variable of that name. To use this value, add a \"variable\" block to the configuration."),
                    ));
                    continue;
                }
                match raw_value(cfg, name, raw, "-var", dir, &mut sources) {
                    Ok(v) => {
                        out.insert(
                            name.to_string(),
                            InputValue {
                                value: v,
                                range: None,
                            },
                        );
                    }
                    Err(ds) => diags.extend(ds.0),
                }
            }
            VarArg::VarFile(p) => {
                let display = p.display().to_string();
                let full = if p.is_absolute() {
                    p.clone()
                } else {
                    dir.join(p)
                };
                load_file(
                    cfg,
                    &full,
                    &display,
                    dir,
                    &mut out,
                    &mut diags,
                    &mut sources,
                    true,
                );
            }
        }
    }
    (out, diags, sources)
}
