//! The `provider_config` section of the configuration representation, keyed and inherited as
//! Terraform's jsonconfig does: one entry per provider configuration block, required
//! provider and provider a module's resources imply (`module.a:aws` in a child module), where
//! a child's implied or required default provider that its parent also has is the parent's
//! entry (its resources name the parent's key, and the child's entry is dropped), as is a
//! configuration passed in by a module call.

use std::collections::BTreeMap;
use std::sync::Arc;

use config::Config;
use providers::schema::ProviderSchema;
use serde_json::{json, Map, Value as Json};

struct Entry {
    json: Map<String, Json>,
    full_name: String,
    /// The key of the entry this one stands for (the parent module's configuration).
    parent: Option<String>,
}

pub(super) struct ProviderConfigs {
    entries: BTreeMap<String, Entry>,
}

/// `module.a.module.b`, or empty for the root.
pub(super) fn module_path(c: &Config) -> String {
    c.path
        .iter()
        .map(|p| format!("module.{p}"))
        .collect::<Vec<_>>()
        .join(".")
}

/// Terraform's opaque provider key: the local key, prefixed by the module path.
pub(super) fn opaque_key(local_key: &str, module_path: &str) -> String {
    if module_path.is_empty() {
        local_key.to_string()
    } else {
        format!("{module_path}:{local_key}")
    }
}

/// The type of a provider source address: its last segment.
fn provider_type(source: &str) -> &str {
    source.rsplit('/').next().unwrap_or(source)
}

impl ProviderConfigs {
    pub(super) fn build(c: &Config, schemas: &BTreeMap<String, Arc<ProviderSchema>>) -> Self {
        let mut pcs = ProviderConfigs {
            entries: BTreeMap::new(),
        };
        pcs.visit(c, None, schemas);
        pcs
    }

    /// The topmost entry in the chain from `start` whose provider is `full_name`, as
    /// Terraform's `findSourceProviderKey` finds it.
    fn source_key(&self, start: &str, full_name: &str) -> Option<String> {
        let mut found = None;
        let mut key = Some(start.to_string());
        while let Some(k) = key {
            match self.entries.get(&k) {
                Some(e) if e.full_name == full_name => {
                    key = e.parent.clone();
                    found = Some(k);
                }
                _ => break,
            }
        }
        found
    }

    fn entry(&self, name: &str, full_name: &str, path: &str) -> Entry {
        let mut json = Map::new();
        json.insert("name".into(), json!(name));
        json.insert("full_name".into(), json!(full_name));
        if !path.is_empty() {
            json.insert("module_address".into(), json!(path));
        }
        Entry {
            json,
            full_name: full_name.to_string(),
            parent: None,
        }
    }

    fn visit(
        &mut self,
        c: &Config,
        parent: Option<&Config>,
        schemas: &BTreeMap<String, Arc<ProviderSchema>>,
    ) {
        let m = &c.module;
        let path = module_path(c);
        let parent_path = parent.map(module_path);
        let version = |source: &str| -> Option<String> {
            m.required_providers
                .values()
                .find(|rp| {
                    engine::model::provider_source(m, &rp.name) == source && rp.version.is_some()
                })
                .and_then(|rp| rp.version.clone())
        };
        // Provider configuration blocks.
        for (key, pc) in &m.provider_configs {
            let source = engine::model::provider_source(m, &pc.name);
            let mut e = self.entry(&pc.name, &source, &path);
            if let Some(a) = &pc.alias {
                e.json.insert("alias".into(), json!(a));
            }
            if let Some(v) = version(&source) {
                e.json.insert("version_constraint".into(), json!(v));
            }
            let schema = schemas.get(&source).map(|s| &s.provider);
            let ex = super::body_expressions(&pc.config, schema, &m.dir);
            if ex.as_object().is_some_and(|x| !x.is_empty()) {
                e.json.insert("expressions".into(), ex);
            }
            self.entries.insert(opaque_key(key, &path), e);
        }
        // Required providers without a configuration block, and the default providers the
        // module's resources imply, inherited from the parent where it has them.
        let mut implied: Vec<(String, String)> = m
            .required_providers
            .values()
            .map(|rp| (rp.name.clone(), engine::model::provider_source(m, &rp.name)))
            .collect();
        let mut required: Vec<String> = Vec::new();
        for r in m
            .managed_resources
            .values()
            .chain(m.data_resources.values())
        {
            let local = r
                .provider
                .as_ref()
                .map(|p| p.name.as_str())
                .unwrap_or_else(|| engine::model::implied_provider_local(&r.type_name));
            required.push(engine::model::provider_source(m, local));
        }
        for pc in m.provider_configs.values() {
            required.push(engine::model::provider_source(m, &pc.name));
        }
        for rp in m.required_providers.values() {
            required.push(engine::model::provider_source(m, &rp.name));
        }
        required.sort();
        required.dedup();
        implied.extend(
            required
                .into_iter()
                .map(|src| (provider_type(&src).to_string(), src)),
        );
        for (name, source) in implied {
            let key = opaque_key(&name, &path);
            if self.entries.contains_key(&key) {
                continue;
            }
            let mut e = self.entry(&name, &source, &path);
            if let Some(v) = version(&source) {
                e.json.insert("version_constraint".into(), json!(v));
            }
            if let Some(pp) = &parent_path {
                e.parent = self.source_key(&opaque_key(&name, pp), &source);
            }
            self.entries.insert(key, e);
        }
        for (name, call) in &m.module_calls {
            let Some(child) = c.children.get(name) else {
                continue;
            };
            let child_path = module_path(child);
            for pp in &call.providers {
                let local = pp.in_child.split('.').next().unwrap_or(&pp.in_child);
                let source = engine::model::provider_source(&child.module, local);
                let mut e = self.entry(&pp.in_child, &source, &child_path);
                e.parent = self.source_key(&opaque_key(&pp.in_parent, &path), &source);
                self.entries
                    .insert(opaque_key(&pp.in_child, &child_path), e);
            }
            self.visit(child, Some(c), schemas);
        }
    }

    /// The key a resource of the module at `module_path` names, given its own local key
    /// (`aws`, `aws.west`): the inherited configuration's where there is one.
    pub(super) fn resource_key(&self, local_key: &str, module_path: &str) -> String {
        let key = opaque_key(local_key, module_path);
        match self.entries.get(&key).and_then(|e| e.parent.as_ref()) {
            Some(p) if self.entries.contains_key(p) => p.clone(),
            _ => key,
        }
    }

    /// The `provider_config` object: the entries that stand for themselves.
    pub(super) fn into_json(self) -> Json {
        Json::Object(
            self.entries
                .into_iter()
                .filter(|(_, e)| e.parent.is_none())
                .map(|(k, e)| (k, Json::Object(e.json)))
                .collect(),
        )
    }
}
