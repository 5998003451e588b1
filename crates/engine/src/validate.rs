//! `validate`: every expression of the configuration evaluated with unknown values for
//! variables and resources, so type errors, bad references, invalid block structure, bad
//! count/for_each values and cycles are all reported at once, without state or credentials.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

use addrs::Mode;
use config::{Config, Expr};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use lang::{Reference, ResourceRef};
use value::{Type, Value};

use crate::graph::{self, NodeKind};
use crate::model::Mods;
use crate::ProviderFactory;

struct VData<'a> {
    mods: &'a Mods<'a>,
    m: usize,
    /// What validation knows: resource types and local values.
    types: &'a Known,
    counted: bool,
    each: bool,
    /// Whether `self` is available (postconditions; provisioners are not evaluated here).
    self_ok: bool,
}

impl lang::Data for VData<'_> {
    fn get(&self, r: &Reference, range: &SourceRange) -> Result<Value, Diagnostic> {
        let cfg = self.mods.get(self.m).cfg;
        Ok(match r {
            Reference::Var(n) => match cfg.variables.get(n) {
                Some(v) => Value::unknown(v.type_constraint.without_optional_deep()),
                None => Value::dynamic_unknown(),
            },
            Reference::Resource(ResourceRef {
                mode,
                type_name,
                name,
            }) => {
                let key = format!("{type_name}.{name}");
                let res = match mode {
                    Mode::Managed => cfg.managed_resources.get(&key),
                    Mode::Data => cfg.data_resources.get(&key),
                };
                match res {
                    Some(res) if res.count.is_none() && res.for_each.is_none() => self
                        .types
                        .resources
                        .get(&(*mode, type_name.clone()))
                        .map(|t| Value::unknown(t.clone()))
                        .unwrap_or_else(Value::dynamic_unknown),
                    _ => Value::dynamic_unknown(),
                }
            }
            Reference::CountIndex => {
                if !self.counted {
                    return Err(Diagnostic::error(
                        "Reference to \"count\" in non-counted context",
                        "The \"count\" object can only be used in \"module\", \"resource\", and \"data\" blocks, and only when the \"count\" argument is set.",
                    )
                    .with_subject(range.clone()));
                }
                Value::unknown(Type::Number)
            }
            Reference::EachKey | Reference::EachValue => {
                if !self.each {
                    return Err(Diagnostic::error(
                        "Reference to \"each\" in context without for_each",
                        "The \"each\" object can be used only in \"module\" or \"resource\" blocks, and only when the \"for_each\" argument is set.",
                    )
                    .with_subject(range.clone()));
                }
                if matches!(r, Reference::EachKey) {
                    Value::unknown(Type::String)
                } else {
                    Value::dynamic_unknown()
                }
            }
            // Terraform validates with the values of local values it can know.
            Reference::Local(n) => self
                .types
                .locals
                .get(&(self.m, n.clone()))
                .cloned()
                .unwrap_or_else(Value::dynamic_unknown),
            // Terraform knows these while validating (`file("${path.module}/x")` is read).
            Reference::Path(what) => crate::eval::path_attr(
                what,
                &cfg.dir,
                &self.types.root_dir,
                &self.types.cwd,
                range,
            )?,
            Reference::Terraform(what) => {
                crate::eval::terraform_attr(what, &self.types.workspace, range)?
            }
            Reference::SelfRef if !self.self_ok => {
                return Err(Diagnostic::error(
                    "Invalid \"self\" reference",
                    "The \"self\" object is not available in this context. This object can be used only in resource provisioner, connection, and postcondition blocks.",
                )
                .with_subject(range.clone()))
            }
            _ => Value::dynamic_unknown(),
        })
    }
}

/// Each `ignore_changes` path must start at something the resource type has.
fn ignore_changes_paths(
    r: &config::model::Resource,
    block: &providers::Block,
    ds: &mut Diagnostics,
) {
    let config::model::IgnoreChanges::Paths(paths) = &r.lifecycle.ignore_changes else {
        return;
    };
    for p in paths {
        let config::ExprKind::ScopeTraversal { root, .. } = &p.kind else {
            continue;
        };
        if block.attributes.contains_key(root) || block.block_types.contains_key(root) {
            continue;
        }
        let mut range = p.range.clone();
        range.end = range.start;
        range.end.byte += root.len() as u32;
        range.end.column += root.chars().count() as u32;
        ds.push(
            Diagnostic::error(
                "Unsupported attribute",
                format!("This object has no argument, nested block, or exported attribute named \"{root}\"."),
            )
            .with_subject(range),
        );
    }
}

/// What validation knows beyond the configuration: the types of resources (from provider
/// schemas) and the values of local values that do not depend on anything unknown.
#[derive(Default)]
struct Known {
    resources: HashMap<(Mode, String), Type>,
    locals: HashMap<(usize, String), Value>,
    workspace: String,
    root_dir: PathBuf,
    cwd: PathBuf,
}

/// Where validation runs: `terraform.workspace` and the directories `path.*` are relative to.
#[derive(Clone, Debug)]
pub struct ValidateEnv {
    pub workspace: String,
    pub root_dir: PathBuf,
    pub cwd: PathBuf,
}

impl ValidateEnv {
    /// The default workspace, run from the root module's directory.
    pub fn for_config(cfg: &Config) -> ValidateEnv {
        ValidateEnv {
            workspace: "default".into(),
            root_dir: cfg.module.dir.clone(),
            cwd: cfg.module.dir.clone(),
        }
    }
}

/// Evaluates local value node `n` after the local values it refers to (its diagnostics are
/// reported by its own node later); `visiting` breaks cycles, which are reported separately.
fn local_value(
    mods: &Mods,
    g: &graph::StaticGraph,
    n: usize,
    known: &mut Known,
    visiting: &mut Vec<usize>,
) {
    let NodeKind::Local { m, name } = &g.nodes[n] else {
        return;
    };
    if known.locals.contains_key(&(*m, name.clone())) || visiting.contains(&n) {
        return;
    }
    visiting.push(n);
    for &d in g.graph.deps(n) {
        local_value(mods, g, d, known, visiting);
    }
    visiting.pop();
    let expr = &mods.get(*m).cfg.locals[name].expr;
    let (v, _) = eval(mods, *m, known, false, false, expr, &Type::Dynamic);
    known.locals.insert((*m, name.clone()), v);
}

/// Each variable default against its type constraint.
fn check_defaults(mods: &Mods, g: &graph::StaticGraph) -> Diagnostics {
    let mut ds = Diagnostics::new();
    let types = Known::default();
    for kind in &g.nodes {
        let NodeKind::Var { m, name } = kind else {
            continue;
        };
        let v = &mods.get(*m).cfg.variables[name];
        let Some(d) = &v.default else {
            continue;
        };
        let (dv, dd) = eval(mods, *m, &types, false, false, d, &Type::Dynamic);
        ds.extend(dd.0);
        let dv = v.apply_defaults(dv);
        if dv.is_known() && !dv.is_null() {
            if let Err(e) = value::convert::convert(&dv, &v.type_constraint) {
                ds.push(
                    Diagnostic::error(
                        "Invalid default value for variable",
                        format!("This default value is not compatible with the variable's type constraint: {e}."),
                    )
                    .with_subject(d.range.clone()),
                );
            }
        }
    }
    ds
}

/// Validates a configuration. Provider schemas come from `providers` (started once each); a
/// provider that cannot be started is reported as Terraform reports a missing provider.
pub fn validate(cfg: &Config, providers: &dyn ProviderFactory) -> Diagnostics {
    validate_in(cfg, providers, &ValidateEnv::for_config(cfg))
}

/// [`validate`] in a given workspace and working directory.
pub fn validate_in(
    cfg: &Config,
    providers: &dyn ProviderFactory,
    env: &ValidateEnv,
) -> Diagnostics {
    let mods = Mods::new(cfg);
    let (g, mut diags) = graph::build(&mods);
    // Terraform checks variable defaults while loading the configuration, and a configuration
    // that does not load is not validated further.
    let defaults = check_defaults(&mods, &g);
    if defaults.has_errors() {
        return defaults;
    }
    let cycles = g.graph.cycles();
    for c in &cycles {
        diags.push(crate::cycle_error(&g, c));
    }
    // Provider schemas.
    let mut schemas = HashMap::new();
    let mut types = Known {
        workspace: env.workspace.clone(),
        root_dir: env.root_dir.clone(),
        cwd: env.cwd.clone(),
        ..Known::default()
    };
    let sources: Vec<String> = {
        let mut v: Vec<String> = g
            .resource_provider
            .values()
            .map(|p| p.source.clone())
            .collect();
        v.sort();
        v.dedup();
        v
    };
    for src in sources {
        match providers.start(&src) {
            Ok(p) => match p.get_schema() {
                Ok((s, _)) => {
                    schemas.insert(src.clone(), (p, s));
                }
                Err(e) => diags.push(Diagnostic::error(
                    "Failed to load plugin schemas",
                    format!("Error while loading schemas for plugin components: {e}."),
                )),
            },
            Err(e) => diags.push(Diagnostic::error("Missing required provider", e)),
        }
    }
    // The types of the resources the configuration declares (references to them are typed).
    for (n, pk) in &g.resource_provider {
        let (NodeKind::Resource { m, mode, key }, Some((_, s))) =
            (&g.nodes[*n], schemas.get(&pk.source))
        else {
            continue;
        };
        let c = &mods.get(*m).cfg;
        let (type_name, schema) = match mode {
            Mode::Managed => {
                let t = &c.managed_resources[key].type_name;
                (t, s.resource_types.get(t))
            }
            Mode::Data => {
                let t = &c.data_resources[key].type_name;
                (t, s.data_sources.get(t))
            }
        };
        if let Some(schema) = schema {
            types
                .resources
                .entry((*mode, type_name.clone()))
                .or_insert_with(|| schema.block.implied_type());
        }
    }
    for n in 0..g.nodes.len() {
        local_value(&mods, &g, n, &mut types, &mut Vec::new());
    }
    let out = Mutex::new(Diagnostics::new());
    for (n, kind) in g.nodes.iter().enumerate() {
        let mut ds = Diagnostics::new();
        match kind {
            // Checked with the configuration itself, before this walk.
            NodeKind::Var { .. } => {}
            NodeKind::Local { m, name } => {
                let l = &mods.get(*m).cfg.locals[name];
                ds.extend(
                    eval(&mods, *m, &types, false, false, &l.expr, &Type::Dynamic)
                        .1
                         .0,
                );
            }
            NodeKind::Output { m, name } => {
                let o = &mods.get(*m).cfg.outputs[name];
                ds.extend(
                    eval(&mods, *m, &types, false, false, &o.expr, &Type::Dynamic)
                        .1
                         .0,
                );
            }
            NodeKind::Call { m, name } => {
                let c = &mods.get(*m).cfg.module_calls[name];
                check_repetition(
                    &mods,
                    *m,
                    &types,
                    c.count.as_ref(),
                    c.for_each.as_ref(),
                    &mut ds,
                );
                for a in c.config.attributes.values() {
                    ds.extend(
                        eval(
                            &mods,
                            *m,
                            &types,
                            c.count.is_some(),
                            c.for_each.is_some(),
                            &a.expr,
                            &Type::Dynamic,
                        )
                        .1
                         .0,
                    );
                }
                if let Some(&child) = mods.get(*m).children.get(name) {
                    let ccfg = mods.get(child).cfg;
                    for a in c.config.attributes.values() {
                        if !ccfg.variables.contains_key(&a.name) {
                            ds.push(
                                Diagnostic::error(
                                    "Unsupported argument",
                                    format!(
                                        "An argument named \"{}\" is not expected here.",
                                        a.name
                                    ),
                                )
                                .with_subject(a.name_range.clone()),
                            );
                        }
                    }
                    for (vn, v) in &ccfg.variables {
                        if v.default.is_none() && !c.config.attributes.contains_key(vn) {
                            ds.push(
                                Diagnostic::error(
                                    "Missing required argument",
                                    format!("The argument \"{vn}\" is required, but no definition was found."),
                                )
                                .with_subject(c.decl_range.clone()),
                            );
                        }
                    }
                }
            }
            NodeKind::Resource { m, mode, key } => {
                let c = mods.get(*m).cfg;
                let r = match mode {
                    Mode::Managed => &c.managed_resources[key],
                    Mode::Data => &c.data_resources[key],
                };
                check_repetition(
                    &mods,
                    *m,
                    &types,
                    r.count.as_ref(),
                    r.for_each.as_ref(),
                    &mut ds,
                );
                let pk = &g.resource_provider[&n];
                if let Some((p, s)) = schemas.get(&pk.source) {
                    let schema = match mode {
                        Mode::Managed => s.resource_types.get(&r.type_name),
                        Mode::Data => s.data_sources.get(&r.type_name),
                    };
                    match schema {
                        None => {
                            let (summary, what) = match mode {
                                Mode::Managed => ("Invalid resource type", "resource type"),
                                Mode::Data => ("Invalid data source", "data source"),
                            };
                            ds.push(
                                Diagnostic::error(
                                    summary,
                                    format!(
                                        "The provider {} does not support {what} \"{}\".",
                                        pk.source
                                            .strip_prefix("registry.terraform.io/")
                                            .unwrap_or(&pk.source),
                                        r.type_name
                                    ),
                                )
                                .with_subject(r.type_range.clone()),
                            );
                        }
                        Some(schema) => {
                            ignore_changes_paths(r, &schema.block, &mut ds);
                            let data = VData {
                                mods: &mods,
                                m: *m,
                                types: &types,
                                counted: r.count.is_some(),
                                each: r.for_each.is_some(),
                                self_ok: false,
                            };
                            let scope = lang::Scope::new(&data, mods.get(*m).cfg.dir.clone())
                                .pure_only(true);
                            let (v, bd) = scope.eval_block(&r.config, &schema.block);
                            let had = bd.has_errors();
                            ds.extend(bd.0);
                            if !had {
                                let (plain, _) = v.unmark_deep();
                                let res = match mode {
                                    Mode::Managed => {
                                        p.validate_resource_config(&r.type_name, &plain)
                                    }
                                    Mode::Data => {
                                        p.validate_data_resource_config(&r.type_name, &plain)
                                    }
                                };
                                if let Ok(pd) = res {
                                    for d in pd {
                                        let subject = d
                                            .attribute
                                            .as_ref()
                                            .and_then(|path| {
                                                crate::walk::range_for_path(&r.config, path)
                                            })
                                            .unwrap_or_else(|| r.decl_range.clone());
                                        ds.push(
                                            match d.severity {
                                                providers::Severity::Error => {
                                                    Diagnostic::error(d.summary, d.detail)
                                                }
                                                providers::Severity::Warning => {
                                                    Diagnostic::warning(d.summary, d.detail)
                                                }
                                            }
                                            .with_subject(subject),
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
                let pre = r.lifecycle.preconditions.iter().map(|c| (c, false));
                let post = r.lifecycle.postconditions.iter().map(|c| (c, true));
                for (cr, self_ok) in pre.chain(post) {
                    let flags = (r.count.is_some(), r.for_each.is_some(), self_ok);
                    ds.extend(
                        eval_in(&mods, *m, &types, flags, &cr.condition, &Type::Bool)
                            .1
                             .0,
                    );
                }
            }
            NodeKind::Provider { key } => {
                if let (Some(pc), Some((_, s))) = (
                    mods.get(key.module)
                        .cfg
                        .provider_configs
                        .get(&key.config_key()),
                    schemas.get(&key.source),
                ) {
                    let data = VData {
                        mods: &mods,
                        m: key.module,
                        types: &types,
                        counted: false,
                        each: false,
                        self_ok: false,
                    };
                    let scope = lang::Scope::new(&data, mods.get(key.module).cfg.dir.clone())
                        .pure_only(true);
                    ds.extend(scope.eval_block(&pc.config, &s.provider).1 .0);
                }
            }
            NodeKind::Destroy { .. } => {}
        }
        out.lock().expect("diags").extend(ds.0);
    }
    for (p, _) in schemas.values() {
        p.close();
    }
    diags.extend(out.into_inner().expect("diags").0);
    diags
}

fn eval(
    mods: &Mods,
    m: usize,
    types: &Known,
    counted: bool,
    each: bool,
    e: &Expr,
    want: &Type,
) -> (Value, Diagnostics) {
    eval_in(mods, m, types, (counted, each, false), e, want)
}

/// [`eval`] where `self` may be available: `(counted, each, self_ok)`.
fn eval_in(
    mods: &Mods,
    m: usize,
    types: &Known,
    (counted, each, self_ok): (bool, bool, bool),
    e: &Expr,
    want: &Type,
) -> (Value, Diagnostics) {
    let data = VData {
        mods,
        m,
        types,
        counted,
        each,
        self_ok,
    };
    let scope = lang::Scope::new(&data, mods.get(m).cfg.dir.clone()).pure_only(true);
    scope.eval(e, want)
}

fn check_repetition(
    mods: &Mods,
    m: usize,
    types: &Known,
    count: Option<&Expr>,
    for_each: Option<&Expr>,
    ds: &mut Diagnostics,
) {
    if let Some(c) = count {
        let (v, d) = eval(mods, m, types, false, false, c, &Type::Number);
        ds.extend(d.0);
        if v.is_known() && !v.is_null() {
            if let Some(n) = v.unmarked().as_number() {
                if n.is_negative() {
                    ds.push(Diagnostic::error("Invalid count argument", "The given \"count\" argument value is unsuitable: must be greater than or equal to zero.").with_subject(c.range.clone()));
                } else if !n.is_integer() {
                    ds.push(Diagnostic::error("Invalid count argument", "The given \"count\" argument value is unsuitable: value must be a whole number.").with_subject(c.range.clone()));
                }
            }
        }
    }
    if let Some(fe) = for_each {
        let (v, d) = eval(mods, m, types, false, false, fe, &Type::Dynamic);
        let had = d.has_errors();
        ds.extend(d.0);
        if !had && v.is_known() {
            if let Err(d) = crate::vars::for_each_keys(&v, &fe.range) {
                ds.extend(d.0);
            }
        }
    }
}

/// The dependency graph as Graphviz DOT, as `terraform graph` prints it.
pub fn graph_dot(cfg: &Config) -> String {
    let mods = Mods::new(cfg);
    let (g, _) = graph::build(&mods);
    let mut lines = Vec::new();
    let name = |n: usize| -> String {
        let k = &g.nodes[n];
        let prefix = match k {
            NodeKind::Var { m, .. }
            | NodeKind::Local { m, .. }
            | NodeKind::Output { m, .. }
            | NodeKind::Resource { m, .. }
            | NodeKind::Call { m, .. }
            | NodeKind::Destroy { m, .. } => mods.display(*m),
            NodeKind::Provider { key } => mods.display(key.module),
        };
        let base = crate::node_name(k);
        if prefix.is_empty() {
            base
        } else {
            format!("{prefix}.{base}")
        }
    };
    let mut nodes: Vec<usize> = (0..g.nodes.len())
        .filter(|&n| matches!(g.nodes[n], NodeKind::Resource { .. }))
        .collect();
    nodes.sort_by_key(|&n| name(n));
    for &n in &nodes {
        let nn = name(n);
        let label = nn.clone();
        lines.push(format!("\t\t\"{nn}\" [label=\"{label}\"];"));
    }
    let mut edges = Vec::new();
    for &n in &nodes {
        for a in g.resource_ancestors(n) {
            edges.push(format!("\t\t\"{}\" -> \"{}\";", name(n), name(a)));
        }
    }
    edges.sort();
    let mut s = String::from(
        "digraph G {\n  rankdir = \"RL\";\n  node [shape = rect, fontname = \"sans-serif\"];\n",
    );
    for l in lines {
        s.push_str(&l.replacen("\t\t", "  ", 1));
        s.push('\n');
    }
    for e in edges {
        s.push_str(&e.replacen("\t\t", "  ", 1));
        s.push('\n');
    }
    s.push_str("}\n");
    let _ = PathBuf::new();
    s
}
