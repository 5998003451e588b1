//! `terraform modules`: the module calls of a configuration with the versions installed for
//! them, as JSON (`-json`, Terraform 1.11's document) or as a tree.

use config::modmanifest::{go_json_string, Manifest};
use config::Config;

/// One declared and installed module call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The call's name (not its full path).
    pub key: String,
    pub source: String,
    pub version: Option<String>,
    pub constraints: Option<String>,
    pub children: Vec<Entry>,
}

/// The installed module calls of `cfg`, nested as Terraform's `moduleref` resolver nests them.
pub fn entries(cfg: &Config, manifest: &Manifest) -> Vec<Entry> {
    fn walk(cfg: &Config, manifest: &Manifest, out: &mut Vec<Entry>) {
        for (name, child) in &cfg.children {
            let call = &cfg.module.module_calls[name];
            let key = child.path.join(".");
            let source = config::parse_call_source(call)
                .map(|s| s.to_string())
                .unwrap_or_default();
            let mut e = Entry {
                key: name.clone(),
                source,
                version: None,
                constraints: call.version.clone(),
                children: Vec::new(),
            };
            let Some(rec) = manifest.records.get(&key) else {
                continue;
            };
            e.version = rec.version.clone();
            walk(child, manifest, &mut e.children);
            out.push(e);
        }
    }
    let mut out = Vec::new();
    walk(cfg, manifest, &mut out);
    out
}

/// `terraform modules -json` (one line).
pub fn render_json(entries: &[Entry]) -> String {
    fn flat(es: &[Entry], out: &mut Vec<String>) {
        for e in es {
            let mut s = String::from("{\"key\":");
            go_json_string(&e.key, &mut s);
            s.push_str(",\"source\":");
            go_json_string(&e.source, &mut s);
            s.push_str(",\"version\":");
            go_json_string(e.version.as_deref().unwrap_or(""), &mut s);
            s.push('}');
            out.push(s);
            flat(&e.children, out);
        }
    }
    let mut items = Vec::new();
    flat(entries, &mut items);
    let modules = if items.is_empty() {
        "null".to_string()
    } else {
        format!("[{}]", items.join(","))
    };
    format!("{{\"format_version\":\"1.0\",\"modules\":{modules}}}")
}

/// `terraform modules` (human form): a tree under "Modules declared by configuration:".
pub fn render_human(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "No modules found in configuration.".into();
    }
    fn item(e: &Entry) -> String {
        let mut s = format!("\"{}\"[{}]", e.key, e.source);
        if let Some(v) = &e.version {
            s.push_str(&format!(" {v}"));
            if let Some(c) = e.constraints.as_ref().filter(|c| c.as_str() != v) {
                s.push_str(&format!(" ({c})"));
            }
        }
        s
    }
    fn tree(es: &[Entry], prefix: &str, out: &mut String) {
        for (i, e) in es.iter().enumerate() {
            let last = i + 1 == es.len();
            out.push_str(prefix);
            out.push_str(if last { "└── " } else { "├── " });
            out.push_str(&item(e));
            out.push('\n');
            let deeper = format!("{prefix}{}", if last { "    " } else { "│   " });
            tree(&e.children, &deeper, out);
        }
    }
    let mut out = String::from("\nModules declared by configuration:\n.\n");
    tree(entries, "", &mut out);
    out
}
