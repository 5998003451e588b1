//! Loading module directories: `*.tf` and `*.tf.json` files, override files merged by
//! Terraform's rules, child modules (local paths, or where `init` installed them according to
//! `modules.json`), and `.tfvars` files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use diagnostics::{Diagnostic, Diagnostics, Sources};
use indexmap::IndexMap;
use value::Value;

use crate::body::{Attribute, Block, Body};
use crate::expr::{Expr, ExprKind};
use crate::model::{Config, Module, ModuleCall};
use crate::modmanifest::{Manifest, MODULES_DIR};
use crate::native;
use addrs::{ModuleSource, ModuleSourceError};

/// Parses a native-syntax file into a body.
pub fn parse_file(text: &str, filename: &str, diags: &mut Diagnostics) -> Option<Body> {
    match native::parse_body(text, filename, diags) {
        Ok(b) => Some(b),
        Err(d) => {
            diags.push(d);
            None
        }
    }
}

fn is_override(name: &str) -> bool {
    let stem = name
        .strip_suffix(".tf.json")
        .or_else(|| name.strip_suffix(".tf"))
        .unwrap_or(name);
    stem == "override" || stem.ends_with("_override")
}

fn config_files(dir: &Path) -> std::io::Result<(Vec<String>, Vec<String>)> {
    let mut primary = Vec::new();
    let mut overrides = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        if !e.file_type()?.is_file() && !e.path().is_file() {
            continue;
        }
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.')
            || name.starts_with('#')
            || name.ends_with('~')
            || name.ends_with('#')
        {
            continue;
        }
        if !(name.ends_with(".tf") || name.ends_with(".tf.json")) {
            continue;
        }
        if is_override(&name) {
            overrides.push(name);
        } else {
            primary.push(name);
        }
    }
    primary.sort();
    overrides.sort();
    Ok((primary, overrides))
}

/// Whether `dir` holds any Terraform configuration file (`.tf` or `.tf.json`, overrides
/// included), as Terraform's `IsConfigDir` decides before planning.
pub fn is_config_dir(dir: &Path) -> bool {
    config_files(dir)
        .map(|(primary, overrides)| !primary.is_empty() || !overrides.is_empty())
        .unwrap_or(false)
}

fn block_key(b: &Block) -> (String, Vec<String>) {
    (b.type_name.clone(), b.labels.clone())
}

/// Merges an override block into a primary one: attributes replace, nested blocks of a type
/// replace all primary blocks of that type (lifecycle merges attribute-wise).
fn merge_block(primary: &mut Block, over: &Block) {
    for (k, a) in &over.body.attributes {
        primary.body.attributes.insert(k.clone(), a.clone());
    }
    let mut types: Vec<&str> = over
        .body
        .blocks
        .iter()
        .map(|b| b.type_name.as_str())
        .collect();
    types.dedup();
    for t in types {
        if t == "lifecycle" {
            let ob: Vec<&Block> = over.body.blocks_of("lifecycle").collect();
            match primary
                .body
                .blocks
                .iter_mut()
                .find(|b| b.type_name == "lifecycle")
            {
                Some(pl) => {
                    for o in ob {
                        merge_block(pl, o);
                    }
                }
                None => primary.body.blocks.extend(ob.into_iter().cloned()),
            }
            continue;
        }
        primary.body.blocks.retain(|b| b.type_name != t);
        primary.body.blocks.extend(over.body.blocks_of(t).cloned());
    }
}

fn apply_override(primaries: &mut [Body], over: &Body, diags: &mut Diagnostics) {
    for ob in &over.blocks {
        if ob.type_name == "locals" {
            for (name, a) in &ob.body.attributes {
                let found = primaries
                    .iter_mut()
                    .flat_map(|p| p.blocks.iter_mut())
                    .find(|b| b.type_name == "locals" && b.body.attributes.contains_key(name));
                match found {
                    Some(b) => {
                        b.body.attributes.insert(name.clone(), a.clone());
                    }
                    None => diags.push(
                        Diagnostic::error(
                            "Missing base local value definition to override",
                            format!("There is no local value named \"{name}\". An override file can only override a local value that was already defined in a primary configuration file."),
                        )
                        .with_subject(a.range.clone()),
                    ),
                }
            }
            continue;
        }
        if ob.type_name == "terraform" {
            match primaries
                .iter_mut()
                .flat_map(|p| p.blocks.iter_mut())
                .find(|b| b.type_name == "terraform")
            {
                Some(b) => merge_block(b, ob),
                None => {
                    if let Some(p) = primaries.first_mut() {
                        p.blocks.push(ob.clone());
                    }
                }
            }
            continue;
        }
        let key = block_key(ob);
        let found = primaries
            .iter_mut()
            .flat_map(|p| p.blocks.iter_mut())
            .find(|b| block_key(b) == key);
        match found {
            Some(b) => merge_block(b, ob),
            None => {
                let what = match ob.type_name.as_str() {
                    "resource" => "resource",
                    "data" => "data resource",
                    "variable" => "variable",
                    "output" => "output",
                    "module" => "module call",
                    "provider" => "provider configuration",
                    other => other,
                };
                diags.push(
                    Diagnostic::error(
                        format!("Missing {what} to override"),
                        format!("There is no {what} named \"{}\". An override file can only override a {what} that was already defined in a primary configuration file.", ob.labels.last().cloned().unwrap_or_default()),
                    )
                    .with_subject(ob.def_range.clone()),
                );
            }
        }
    }
}

/// Loads one module directory. `display_dir` is how paths appear in diagnostics ("" for the
/// working directory).
pub fn load_module(dir: &Path, display_dir: &str) -> (Option<Module>, Diagnostics, Sources) {
    let mut diags = Diagnostics::new();
    let mut sources = Sources::new();
    let (primary, overrides) = match config_files(dir) {
        Ok(f) => f,
        Err(e) => {
            diags.push(Diagnostic::error(
                "Failed to read module directory",
                format!(
                    "Module directory {} does not exist or cannot be read: {e}.",
                    dir.display()
                ),
            ));
            return (None, diags, sources);
        }
    };
    let display = |n: &str| -> String {
        if display_dir.is_empty() || display_dir == "." {
            n.to_string()
        } else {
            format!("{display_dir}/{n}")
        }
    };
    let mut read = |name: &str, diags: &mut Diagnostics| -> Option<Body> {
        let path = dir.join(name);
        let shown = display(name);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                diags.push(Diagnostic::error(
                    "Failed to read file",
                    format!("The file {shown:?} could not be read: {e}."),
                ));
                return None;
            }
        };
        sources.add(shown.clone(), text.clone());
        if name.ends_with(".json") {
            crate::json::parse_file(&text, &shown, diags)
        } else {
            parse_file(&text, &shown, diags)
        }
    };
    let mut bodies: Vec<Body> = primary.iter().filter_map(|n| read(n, &mut diags)).collect();
    let over: Vec<Body> = overrides
        .iter()
        .filter_map(|n| read(n, &mut diags))
        .collect();
    for o in &over {
        apply_override(&mut bodies, o, &mut diags);
    }
    let mut m = Module {
        dir: dir.to_path_buf(),
        files: primary
            .iter()
            .chain(overrides.iter())
            .map(|n| display(n))
            .collect(),
        ..Default::default()
    };
    for b in &bodies {
        crate::decode::decode_file(b, &mut m, &mut diags);
    }
    (Some(m), diags, sources)
}

/// Where child modules are found: the installed-modules manifest, relative to the working
/// directory that `modules.json`'s `Dir` entries are relative to.
struct Installed {
    root_dir: PathBuf,
    manifest: Manifest,
}

#[allow(clippy::too_many_arguments)]
fn load_tree(
    dir: &Path,
    display_dir: &str,
    path: Vec<String>,
    installed: &Installed,
    diags: &mut Diagnostics,
    sources: &mut Sources,
    depth: usize,
) -> Option<Config> {
    let (m, d, s) = load_module(dir, display_dir);
    let module_failed = d.has_errors();
    diags.extend(d.0);
    sources.merge(&s);
    let m = m?;
    let mut children = BTreeMap::new();
    if depth == 0 {
        // Terraform decodes every source address with the root module and builds no module
        // tree at all when the root module has errors.
        let bad: Vec<Diagnostic> = m
            .module_calls
            .values()
            .filter_map(|c| parse_call_source(c).err())
            .collect();
        if module_failed || !bad.is_empty() {
            diags.extend(bad);
            return Some(Config {
                module: m,
                path,
                children,
            });
        }
    }
    if depth > 64 {
        diags.push(Diagnostic::error(
            "Module nesting too deep",
            "Modules are nested more than 64 levels deep; is a module calling itself?",
        ));
        return None;
    }
    for (name, call) in &m.module_calls {
        let mut p = path.clone();
        p.push(name.clone());
        let Some((child_dir, child_display)) =
            resolve_child(dir, display_dir, &p, call, installed, diags)
        else {
            continue;
        };
        if let Some(c) = load_tree(
            &child_dir,
            &child_display,
            p,
            installed,
            diags,
            sources,
            depth + 1,
        ) {
            children.insert(name.clone(), c);
        }
    }
    Some(Config {
        module: m,
        path,
        children,
    })
}

/// Parses a module call's `source` as Terraform's config decoder does, with its diagnostics
/// (a `version` argument means the source must be a registry address).
pub fn parse_call_source(call: &ModuleCall) -> Result<ModuleSource, Diagnostic> {
    let parsed = if call.version.is_some() {
        addrs::parse_module_source_registry(&call.source).map(ModuleSource::Registry)
    } else {
        addrs::parse_module_source(&call.source)
    };
    parsed.map_err(|e| {
        let d = match (&e, call.version.is_some()) {
            (ModuleSourceError::MaybeRelativePath(a), false) => Diagnostic::error(
                "Invalid module source address",
                format!("Terraform failed to determine your intended installation method for remote module package {a:?}.\n\nIf you intended this as a path relative to the current module, use \"./{a}\" instead. The \"./\" prefix indicates that the address is a relative filesystem path."),
            ),
            (_, true) => Diagnostic::error(
                "Invalid registry module source address",
                format!("Failed to parse module registry address: {e}.\n\nTerraform assumed that you intended a module registry source address because you also set the argument \"version\", which applies only to registry modules."),
            ),
            (_, false) => Diagnostic::error(
                "Invalid module source address",
                format!("Failed to parse module source address: {e}."),
            ),
        };
        d.with_subject(call.source_range.clone())
    })
}

/// Finds a child module's directory: through `modules.json` when it records the call, else
/// (for a local path only) relative to the calling module's directory.
fn resolve_child(
    dir: &Path,
    display_dir: &str,
    path: &[String],
    call: &ModuleCall,
    installed: &Installed,
    diags: &mut Diagnostics,
) -> Option<(PathBuf, String)> {
    let source = match parse_call_source(call) {
        Ok(s) => s,
        Err(d) => {
            diags.push(d);
            return None;
        }
    };
    let key = path.join(".");
    let not_installed = |detail: String| {
        Diagnostic::error("Module not installed", detail).with_subject(call.decl_range.clone())
    };
    if let Some(rec) = installed.manifest.records.get(&key) {
        if rec.source != source.to_string() {
            diags.push(
                Diagnostic::error(
                    "Module source has changed",
                    "The source address was changed since this module was installed. Run \"terraform init\" to install all modules required by this configuration.",
                )
                .with_subject(call.source_range.clone()),
            );
        }
        let child_dir = installed.root_dir.join(&rec.dir);
        if rec.dir.is_empty() || !child_dir.is_dir() {
            diags.push(not_installed(format!("This module's local cache directory {} could not be read. Run \"terraform init\" to install all modules required by this configuration.", rec.dir)));
            return None;
        }
        return Some((child_dir, normalize(Path::new(&rec.dir))));
    }
    let ModuleSource::Local(rel) = &source else {
        diags.push(not_installed("This module is not yet installed. Run \"terraform init\" to install all modules required by this configuration.".into()));
        return None;
    };
    let child_dir = dir.join(rel);
    let child_display = {
        let joined = if display_dir.is_empty() {
            PathBuf::from(rel)
        } else {
            Path::new(display_dir).join(rel)
        };
        normalize(&joined)
    };
    if !child_dir.is_dir() {
        diags.push(
            Diagnostic::error(
                "Unreadable module directory",
                format!(
                    "The directory {} does not exist or cannot be read.",
                    child_display
                ),
            )
            .with_subject(call.source_range.clone()),
        );
        return None;
    }
    Some((child_dir, child_display))
}

/// Lexically cleans a relative path (`./a/../b` → `b`).
fn normalize(p: &Path) -> String {
    let mut out: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if out.last().is_some_and(|l| l != "..") {
                    out.pop();
                } else {
                    out.push("..".into());
                }
            }
            other => out.push(other.as_os_str().to_string_lossy().to_string()),
        }
    }
    if out.is_empty() {
        ".".into()
    } else {
        out.join("/")
    }
}

/// Loads the root module in `root_dir` and its child modules: local paths directly, the
/// others from `.terraform/modules` as `init` installed them.
pub fn load_config(root_dir: &Path) -> (Option<Config>, Diagnostics, Sources) {
    load_config_with_modules(root_dir, &root_dir.join(MODULES_DIR))
}

/// [`load_config`] with the installed modules in `modules_dir` (Terraform's `TF_DATA_DIR`
/// moves it); `Dir` entries in its manifest are relative to `root_dir`.
pub fn load_config_with_modules(
    root_dir: &Path,
    modules_dir: &Path,
) -> (Option<Config>, Diagnostics, Sources) {
    let mut diags = Diagnostics::new();
    let mut sources = Sources::new();
    let manifest = match Manifest::read(modules_dir) {
        Ok(m) => m,
        Err(e) => {
            diags.push(Diagnostic::error(
                "Failed to read module manifest",
                format!("Terraform failed to read its manifest of locally-cached modules: {e}."),
            ));
            Manifest::default()
        }
    };
    let installed = Installed {
        root_dir: root_dir.to_path_buf(),
        manifest,
    };
    let c = load_tree(
        root_dir,
        "",
        Vec::new(),
        &installed,
        &mut diags,
        &mut sources,
        0,
    );
    (c, diags, sources)
}

/// Parses a `.tfvars` (or `.tfvars.json`, by extension) file into variable expressions.
pub fn parse_tfvars(src: &str, filename: &str) -> (IndexMap<String, Expr>, Diagnostics) {
    let mut diags = Diagnostics::new();
    let mut out = IndexMap::new();
    let body = if filename.ends_with(".json") {
        crate::json::parse_file(src, filename, &mut diags)
    } else {
        parse_file(src, filename, &mut diags)
    };
    if let Some(b) = body {
        for blk in &b.blocks {
            diags.push(
                Diagnostic::error(
                    "Unexpected block",
                    format!("Blocks are not allowed here; only argument definitions are allowed in a variables file. Found a \"{}\" block.", blk.type_name),
                )
                .with_subject(blk.type_range.clone()),
            );
        }
        for (k, Attribute { expr, .. }) in b.attributes {
            out.insert(k, expr);
        }
    }
    (out, diags)
}

/// `a.b` style traversal text of a static reference expression.
pub fn traversal_text(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::ScopeTraversal { root, steps } => {
            let mut s = root.clone();
            for st in steps {
                match st {
                    crate::Traverser::Attr { name, .. } => {
                        s.push('.');
                        s.push_str(name);
                    }
                    crate::Traverser::Index { .. } => return None,
                }
            }
            Some(s)
        }
        ExprKind::Literal(Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}
