//! The static dependency graph of a configuration: one node per variable, local, output,
//! resource, module call and provider configuration of every static module, with edges from
//! the references of their expressions, `depends_on` and provider use.

use std::collections::{BTreeSet, HashMap};

use addrs::Mode;
use config::{Expr, Resource};
use diagnostics::{Diagnostic, Diagnostics, SourceRange};
use lang::Reference;

use crate::dag::Graph;
use crate::model::{implied_provider_local, resolve_provider, Mods, ProviderKey};

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeKind {
    Var {
        m: usize,
        name: String,
    },
    Local {
        m: usize,
        name: String,
    },
    Output {
        m: usize,
        name: String,
    },
    Resource {
        m: usize,
        mode: Mode,
        key: String,
    },
    Call {
        m: usize,
        name: String,
    },
    Provider {
        key: ProviderKey,
    },
    /// Deletes of a resource's objects (apply only): replaced, orphaned or destroyed. The
    /// deposed objects a plan deletes (left by an interrupted create_before_destroy) have their
    /// own node, ordered as create_before_destroy always is, whatever the current object does.
    Destroy {
        m: usize,
        mode: Mode,
        key: String,
        deposed: bool,
    },
}

pub struct StaticGraph {
    pub nodes: Vec<NodeKind>,
    pub index: HashMap<NodeKind, usize>,
    pub graph: Graph,
    /// For each resource node: the provider configuration it uses.
    pub resource_provider: HashMap<usize, ProviderKey>,
}

impl StaticGraph {
    fn add(&mut self, k: NodeKind) -> usize {
        if let Some(&i) = self.index.get(&k) {
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(k.clone());
        self.index.insert(k, i);
        self.graph.add_node();
        i
    }

    pub fn node(&self, k: &NodeKind) -> Option<usize> {
        self.index.get(k).copied()
    }

    /// Resource nodes that `n` depends on, directly or through locals, variables, outputs and
    /// module calls (what state files record as `dependencies`).
    pub fn resource_ancestors(&self, n: usize) -> BTreeSet<usize> {
        let mut seen = BTreeSet::new();
        let mut out = BTreeSet::new();
        let mut stack: Vec<usize> = self.graph.deps(n).to_vec();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            match &self.nodes[d] {
                NodeKind::Resource { .. } => {
                    out.insert(d);
                    stack.extend_from_slice(self.graph.deps(d));
                }
                NodeKind::Provider { .. } => {}
                _ => stack.extend_from_slice(self.graph.deps(d)),
            }
        }
        out
    }
}

pub fn resource_key(r: &Resource) -> String {
    format!("{}.{}", r.type_name, r.name)
}

/// The provider configuration a resource uses.
pub fn resource_provider_key(mods: &Mods, m: usize, r: &Resource) -> ProviderKey {
    match &r.provider {
        Some(p) => resolve_provider(mods, m, &p.name, p.alias.as_deref()),
        None => resolve_provider(mods, m, implied_provider_local(&r.type_name), None),
    }
}

/// Builds the graph. Undeclared references become diagnostics.
pub fn build(mods: &Mods) -> (StaticGraph, Diagnostics) {
    let mut g = StaticGraph {
        nodes: Vec::new(),
        index: HashMap::new(),
        graph: Graph::new(0),
        resource_provider: HashMap::new(),
    };
    let mut diags = Diagnostics::new();

    // Nodes first, so references can find them.
    for (m, info) in mods.list.iter().enumerate() {
        let c = info.cfg;
        for name in c.variables.keys() {
            g.add(NodeKind::Var {
                m,
                name: name.clone(),
            });
        }
        for name in c.locals.keys() {
            g.add(NodeKind::Local {
                m,
                name: name.clone(),
            });
        }
        for name in c.outputs.keys() {
            g.add(NodeKind::Output {
                m,
                name: name.clone(),
            });
        }
        for name in c.module_calls.keys() {
            if info.children.contains_key(name) {
                g.add(NodeKind::Call {
                    m,
                    name: name.clone(),
                });
            }
        }
        for (mode, map) in [
            (Mode::Managed, &c.managed_resources),
            (Mode::Data, &c.data_resources),
        ] {
            for (key, r) in map {
                let n = g.add(NodeKind::Resource {
                    m,
                    mode,
                    key: key.clone(),
                });
                let pk = resource_provider_key(mods, m, r);
                let pn = g.add(NodeKind::Provider { key: pk.clone() });
                g.graph.add_edge(n, pn);
                g.resource_provider.insert(n, pk);
            }
        }
    }

    let refs_of = |e: &Expr, diags: &mut Diagnostics| -> Vec<(Reference, SourceRange)> {
        let (refs, d) = lang::references(e);
        diags.extend(d.0);
        refs
    };

    // Edges.
    let n_nodes = g.nodes.len();
    for n in 0..n_nodes {
        let kind = g.nodes[n].clone();
        let mut refs: Vec<(usize, Reference, SourceRange)> = Vec::new();
        let mut extra_deps: Vec<usize> = Vec::new();
        match &kind {
            NodeKind::Var { m, name } => {
                let info = mods.get(*m);
                let v = &info.cfg.variables[name];
                for rule in &v.validations {
                    for (r, rg) in refs_of(&rule.condition, &mut diags)
                        .into_iter()
                        .chain(refs_of(&rule.error_message, &mut diags))
                    {
                        if !matches!(r, Reference::Var(ref vn) if vn == name) {
                            refs.push((*m, r, rg));
                        }
                    }
                }
                if let (Some(parent), Some(call)) = (info.parent, info.call) {
                    if let Some(call_node) = g.node(&NodeKind::Call {
                        m: parent,
                        name: info.path.last().cloned().unwrap_or_default(),
                    }) {
                        extra_deps.push(call_node);
                    }
                    if let Some(a) = call.config.attributes.get(name) {
                        for (r, rg) in refs_of(&a.expr, &mut diags) {
                            refs.push((parent, r, rg));
                        }
                    }
                }
            }
            NodeKind::Local { m, name } => {
                let l = &mods.get(*m).cfg.locals[name];
                for (r, rg) in refs_of(&l.expr, &mut diags) {
                    refs.push((*m, r, rg));
                }
            }
            NodeKind::Output { m, name } => {
                let o = &mods.get(*m).cfg.outputs[name];
                for (r, rg) in refs_of(&o.expr, &mut diags) {
                    refs.push((*m, r, rg));
                }
                for d in &o.depends_on {
                    for (r, rg) in refs_of(d, &mut diags) {
                        refs.push((*m, r, rg));
                    }
                }
                for c in &o.preconditions {
                    for (r, rg) in refs_of(&c.condition, &mut diags)
                        .into_iter()
                        .chain(refs_of(&c.error_message, &mut diags))
                    {
                        refs.push((*m, r, rg));
                    }
                }
            }
            NodeKind::Call { m, name } => {
                let call = &mods.get(*m).cfg.module_calls[name];
                for e in call.count.iter().chain(call.for_each.iter()) {
                    for (r, rg) in refs_of(e, &mut diags) {
                        refs.push((*m, r, rg));
                    }
                }
                for d in &call.depends_on {
                    for (r, rg) in refs_of(d, &mut diags) {
                        refs.push((*m, r, rg));
                    }
                }
                if let Some(parent_call) = mods.get(*m).parent.and_then(|p| {
                    g.node(&NodeKind::Call {
                        m: p,
                        name: mods.get(*m).path.last().cloned().unwrap_or_default(),
                    })
                }) {
                    extra_deps.push(parent_call);
                }
            }
            NodeKind::Resource { m, mode, key } => {
                let c = mods.get(*m).cfg;
                let r = match mode {
                    Mode::Managed => &c.managed_resources[key],
                    Mode::Data => &c.data_resources[key],
                };
                for e in r.count.iter().chain(r.for_each.iter()) {
                    for (r, rg) in refs_of(e, &mut diags) {
                        refs.push((*m, r, rg));
                    }
                }
                let (brefs, d) = lang::body_references(&r.config, None);
                diags.extend(d.0);
                for (rr, rg) in brefs {
                    refs.push((*m, rr, rg));
                }
                for d in r
                    .depends_on
                    .iter()
                    .chain(r.lifecycle.replace_triggered_by.iter())
                {
                    for (rr, rg) in refs_of(d, &mut diags) {
                        refs.push((*m, rr, rg));
                    }
                }
                for cr in r
                    .lifecycle
                    .preconditions
                    .iter()
                    .chain(r.lifecycle.postconditions.iter())
                {
                    for (rr, rg) in refs_of(&cr.condition, &mut diags)
                        .into_iter()
                        .chain(refs_of(&cr.error_message, &mut diags))
                    {
                        refs.push((*m, rr, rg));
                    }
                }
                if let Some(call) = m_call_node(&g, mods, *m) {
                    extra_deps.push(call);
                }
                if *m == 0 && *mode == Mode::Managed {
                    for imp in &c.imports {
                        let targets_this = imp.to.references().first().is_some_and(|(root, steps, _)| {
                            *root == r.type_name.as_str()
                                && matches!(steps.first(), Some(config::Traverser::Attr { name, .. }) if *name == r.name)
                        });
                        if targets_this {
                            for e in std::iter::once(&imp.id).chain(imp.for_each.iter()) {
                                for (rr, rg) in refs_of(e, &mut diags) {
                                    refs.push((0, rr, rg));
                                }
                            }
                        }
                    }
                }
            }
            NodeKind::Provider { key } => {
                if let Some(pc) = mods
                    .get(key.module)
                    .cfg
                    .provider_configs
                    .get(&key.config_key())
                {
                    let (brefs, d) = lang::body_references(&pc.config, None);
                    diags.extend(d.0);
                    for (rr, rg) in brefs {
                        refs.push((key.module, rr, rg));
                    }
                }
            }
            NodeKind::Destroy { .. } => {}
        }
        if let NodeKind::Local { m, .. } | NodeKind::Output { m, .. } = &kind {
            if let Some(call) = m_call_node(&g, mods, *m) {
                extra_deps.push(call);
            }
        }
        for d in extra_deps {
            if d != n {
                g.graph.add_edge(n, d);
            }
        }
        for (m, r, range) in refs {
            match target_nodes(&g, mods, m, &r, &range) {
                Ok(ts) => {
                    for t in ts {
                        if t != n {
                            g.graph.add_edge(n, t);
                        } else if !matches!(kind, NodeKind::Resource { .. }) {
                            diags.push(self_reference(&kind, &range));
                        }
                    }
                }
                Err(d) => diags.push(d),
            }
        }
    }
    (g, diags)
}

fn m_call_node(g: &StaticGraph, mods: &Mods, m: usize) -> Option<usize> {
    let info = mods.get(m);
    let parent = info.parent?;
    g.node(&NodeKind::Call {
        m: parent,
        name: info.path.last()?.clone(),
    })
}

fn self_reference(kind: &NodeKind, range: &SourceRange) -> Diagnostic {
    let what = match kind {
        NodeKind::Local { name, .. } => format!("local.{name}"),
        NodeKind::Var { name, .. } => format!("var.{name}"),
        NodeKind::Output { name, .. } => format!("output.{name}"),
        _ => "this object".into(),
    };
    Diagnostic::error(
        "Self-referencing object",
        format!("{what} cannot refer to itself."),
    )
    .with_subject(range.clone())
}

pub(crate) fn module_phrase(mods: &Mods, m: usize) -> String {
    if m == 0 {
        "the root module".into()
    } else {
        mods.display(m)
    }
}

/// The nodes a reference from module `m` depends on.
fn target_nodes(
    g: &StaticGraph,
    mods: &Mods,
    m: usize,
    r: &Reference,
    range: &SourceRange,
) -> Result<Vec<usize>, Diagnostic> {
    let c = mods.get(m).cfg;
    let err = |s: &str, d: String| Err(Diagnostic::error(s, d).with_subject(range.clone()));
    match r {
        Reference::Var(n) => match g.node(&NodeKind::Var { m, name: n.clone() }) {
            Some(i) => Ok(vec![i]),
            None => Err(lang::undeclared_named(
                r,
                range,
                c.variables.keys().map(String::as_str),
            )),
        },
        Reference::Local(n) => match g.node(&NodeKind::Local { m, name: n.clone() }) {
            Some(i) => Ok(vec![i]),
            None => Err(lang::undeclared_named(
                r,
                range,
                c.locals.keys().map(String::as_str),
            )),
        },
        Reference::Resource(rr) => {
            let key = format!("{}.{}", rr.type_name, rr.name);
            match g.node(&NodeKind::Resource {
                m,
                mode: rr.mode,
                key: key.clone(),
            }) {
                Some(i) => Ok(vec![i]),
                None => {
                    let what = match rr.mode {
                        Mode::Managed => "managed resource",
                        Mode::Data => "data resource",
                    };
                    let _ = c;
                    err(
                        "Reference to undeclared resource",
                        format!(
                            "A {what} \"{}\" \"{}\" has not been declared in {}.",
                            rr.type_name,
                            rr.name,
                            module_phrase(mods, m)
                        ),
                    )
                }
            }
        }
        Reference::Module(name) => {
            let Some(&child) = mods.get(m).children.get(name) else {
                return Err(lang::undeclared_module(
                    name,
                    range,
                    c.module_calls.keys().map(String::as_str),
                    &module_phrase(mods, m),
                ));
            };
            let mut out = Vec::new();
            if let Some(i) = g.node(&NodeKind::Call {
                m,
                name: name.clone(),
            }) {
                out.push(i);
            }
            for o in mods.get(child).cfg.outputs.keys() {
                if let Some(i) = g.node(&NodeKind::Output {
                    m: child,
                    name: o.clone(),
                }) {
                    out.push(i);
                }
            }
            Ok(out)
        }
        _ => Ok(Vec::new()),
    }
}
