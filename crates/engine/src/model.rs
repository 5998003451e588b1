//! The configuration as the engine sees it: the module tree flattened into a list (static
//! module paths), and provider resolution (which provider configuration, and which provider
//! source address, each resource uses).

use std::collections::HashMap;

use config::{Config, Module};

/// One static module (a module call path, not yet expanded by count/for_each).
pub struct ModInfo<'c> {
    /// Module call names from the root.
    pub path: Vec<String>,
    pub cfg: &'c Module,
    pub parent: Option<usize>,
    /// The call of this module in its parent.
    pub call: Option<&'c config::ModuleCall>,
    pub children: HashMap<String, usize>,
}

/// All static modules; index 0 is the root.
pub struct Mods<'c> {
    pub list: Vec<ModInfo<'c>>,
}

impl<'c> Mods<'c> {
    pub fn new(root: &'c Config) -> Mods<'c> {
        let mut list = Vec::new();
        fn add<'c>(
            list: &mut Vec<ModInfo<'c>>,
            c: &'c Config,
            parent: Option<usize>,
            call: Option<&'c config::ModuleCall>,
        ) -> usize {
            let idx = list.len();
            list.push(ModInfo {
                path: c.path.clone(),
                cfg: &c.module,
                parent,
                call,
                children: HashMap::new(),
            });
            for (name, child) in &c.children {
                let call = c.module.module_calls.get(name);
                let ci = add(list, child, Some(idx), call);
                list[idx].children.insert(name.clone(), ci);
            }
            idx
        }
        add(&mut list, root, None, None);
        Mods { list }
    }

    pub fn get(&self, m: usize) -> &ModInfo<'c> {
        &self.list[m]
    }

    /// The `module.a.module.b` prefix of a static path, as in messages ("in module.a").
    pub fn display(&self, m: usize) -> String {
        self.list[m]
            .path
            .iter()
            .map(|p| format!("module.{p}"))
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// The source address of a provider local name in a module:
/// `registry.terraform.io/hashicorp/aws`, or the built-in `terraform.io/builtin/terraform`.
pub fn provider_source(module: &Module, local: &str) -> String {
    if let Some(rp) = module.required_providers.get(local) {
        if let Some(src) = &rp.source {
            return normalize_source(src);
        }
    }
    if local == "terraform" {
        return "terraform.io/builtin/terraform".into();
    }
    format!("registry.terraform.io/hashicorp/{local}")
}

/// `hashicorp/aws` → `registry.terraform.io/hashicorp/aws`; lower-cases as Terraform does.
pub fn normalize_source(src: &str) -> String {
    let parts: Vec<&str> = src.split('/').collect();
    match parts.len() {
        1 => format!("registry.terraform.io/hashicorp/{}", src.to_lowercase()),
        2 => format!("registry.terraform.io/{}", src.to_lowercase()),
        _ => src.to_lowercase(),
    }
}

/// The provider a resource type belongs to by default: the prefix before the first `_`.
pub fn implied_provider_local(type_name: &str) -> &str {
    type_name.split('_').next().unwrap_or(type_name)
}

/// Which provider configuration serves a resource: the module where the configuration lives
/// (or would live, for an implied empty one), its key (`aws` or `aws.west`) and source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProviderKey {
    pub module: usize,
    pub local: String,
    pub alias: Option<String>,
    pub source: String,
}

impl ProviderKey {
    /// The config key in the module: `aws` or `aws.west`.
    pub fn config_key(&self) -> String {
        match &self.alias {
            Some(a) => format!("{}.{a}", self.local),
            None => self.local.clone(),
        }
    }

    /// As written in state files: `module.x.provider["registry.terraform.io/hashicorp/aws"].west`.
    pub fn state_string(&self, mods: &Mods) -> String {
        let prefix = mods.display(self.module);
        let mut s = String::new();
        if !prefix.is_empty() {
            s.push_str(&prefix);
            s.push('.');
        }
        s.push_str(&format!("provider[\"{}\"]", self.source));
        if let Some(a) = &self.alias {
            s.push('.');
            s.push_str(a);
        }
        s
    }
}

/// Resolves `local[.alias]` as seen from module `m`: a configuration declared there, one
/// passed in by the module call's `providers` map, or (for default configurations) inherited
/// from the parent. With none anywhere, an empty implied configuration in the root.
pub fn resolve_provider(mods: &Mods, m: usize, local: &str, alias: Option<&str>) -> ProviderKey {
    let info = mods.get(m);
    let key = match alias {
        Some(a) => format!("{local}.{a}"),
        None => local.to_string(),
    };
    let source = provider_source(info.cfg, local);
    if info.cfg.provider_configs.contains_key(&key) {
        return ProviderKey {
            module: m,
            local: local.into(),
            alias: alias.map(String::from),
            source,
        };
    }
    if let (Some(parent), Some(call)) = (info.parent, info.call) {
        if let Some(pp) = call.providers.iter().find(|p| p.in_child == key) {
            let (pl, pa) = split_key(&pp.in_parent);
            return resolve_provider(mods, parent, pl, pa);
        }
        if alias.is_none() {
            // A child's local name may map to another name in the parent: match by source.
            let parent_cfg = mods.get(parent).cfg;
            let parent_local = parent_cfg
                .required_providers
                .iter()
                .find(|(_, rp)| rp.source.as_deref().map(normalize_source) == Some(source.clone()))
                .map(|(n, _)| n.clone())
                .unwrap_or_else(|| local.to_string());
            return resolve_provider(mods, parent, &parent_local, None);
        }
    }
    ProviderKey {
        module: m,
        local: local.into(),
        alias: alias.map(String::from),
        source,
    }
}

fn split_key(k: &str) -> (&str, Option<&str>) {
    match k.split_once('.') {
        Some((l, a)) => (l, Some(a)),
        None => (k, None),
    }
}
