//! Installing a configuration's modules into `.terraform/modules` as `terraform init` does:
//! the same keys, directories, `modules.json` records, progress lines and diagnostics, but with
//! downloads running in parallel, each package fetched once per run, and a cache shared
//! between working directories.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use addrs::{ModuleSource, RegistrySource, RemoteSource};
use config::modmanifest::{Manifest, Record};
use config::{Module, ModuleCall};
use diagnostics::{Diagnostic, Diagnostics, Sources};
use getproviders::{Constraints, Version};

use crate::fsutil::{copy_tree, eval_symlinks, expand_subdir_glob, remove_any, replace_with_copy};
use crate::getter::{getter_name, Getter, TerraformDst};
use crate::registry::{Registry, VersionsError};

/// What one `init`/`get` run does.
#[derive(Clone, Debug)]
pub struct InstallOptions {
    /// The working directory (`Dir` entries in `modules.json` are relative to it).
    pub root_dir: PathBuf,
    /// The modules directory relative to `root_dir` (Terraform's `.terraform/modules`).
    pub modules_dir: String,
    /// `init -upgrade` / `get -update`: fetch everything again.
    pub upgrade: bool,
    /// How many packages are fetched at once.
    pub parallelism: usize,
}

/// The result of an install: everything that went wrong, and the module sources read (for
/// diagnostic snippets).
#[derive(Default)]
pub struct Installed {
    pub diagnostics: Diagnostics,
    pub sources: Sources,
    pub manifest: Manifest,
}

/// Fetches packages for the installer: the getters, the registry client and the cache.
pub struct Installer {
    pub getter: Getter,
    pub registry: Registry,
    /// Packages by normalised address, shared between working directories.
    pub cache_dir: Option<PathBuf>,
}

/// A module call found in a loaded module, waiting to be installed.
struct Node {
    key: String,
    call: ModuleCall,
    /// The calling node (none for calls in the root module).
    parent: Option<usize>,
    /// The directory of the package the caller belongs to, relative to the working directory.
    parent_dir: String,
    children: Vec<usize>,
    lines: Vec<String>,
    finished: bool,
    emitted: bool,
}

/// A remote or registry call whose package must be fetched.
struct Job {
    node: usize,
    source: ModuleSource,
}

struct JobResult {
    lines: Vec<String>,
    diags: Vec<Diagnostic>,
    record: Option<Record>,
}

type PackageCell = Arc<OnceLock<Result<PathBuf, String>>>;

/// Answers computed once per run and shared by the fetching threads.
type Memo<K, V> = Mutex<HashMap<K, Arc<OnceLock<V>>>>;

/// State shared by the fetching threads of one run.
struct Run<'a> {
    installer: &'a Installer,
    opts: &'a InstallOptions,
    packages: Mutex<HashMap<String, PackageCell>>,
    versions: Memo<String, Result<Vec<String>, VersionsError>>,
    locations: Memo<(String, String), Result<String, String>>,
    scratch: PathBuf,
}

fn call_line(call: &ModuleCall) -> (String, u32) {
    (
        call.decl_range.filename.to_string(),
        call.decl_range.start.line,
    )
}

impl Installer {
    /// Installs every module the root module in `opts.root_dir` calls, recursively, and
    /// writes `modules.json`. Progress lines go to `say` in Terraform's order.
    pub fn install(&self, opts: &InstallOptions, say: &mut dyn FnMut(&str)) -> Installed {
        let mut out = Installed::default();
        let modules_abs = opts.root_dir.join(&opts.modules_dir);
        let mut manifest = match Manifest::read(&modules_abs) {
            Ok(m) => m,
            Err(e) => {
                out.diagnostics.push(Diagnostic::error(
                    "Failed to read modules manifest file",
                    format!("Error reading manifest for {}: {e}.", opts.modules_dir),
                ));
                return out;
            }
        };
        if let Err(e) = std::fs::create_dir_all(&modules_abs) {
            out.diagnostics.push(Diagnostic::error(
                "Failed to create local modules directory",
                format!("failed to create local modules directory: {e}"),
            ));
            return out;
        }
        let (root, d, s) = config::load_module(&opts.root_dir, "");
        out.sources.merge(&s);
        let Some(root) = root else {
            out.diagnostics.extend(d.0);
            return out;
        };
        manifest.records.insert(
            String::new(),
            Record {
                key: String::new(),
                source: String::new(),
                version: None,
                dir: ".".into(),
            },
        );
        let run = Run {
            installer: self,
            opts,
            packages: Mutex::new(HashMap::new()),
            versions: Mutex::new(HashMap::new()),
            locations: Mutex::new(HashMap::new()),
            scratch: modules_abs.join(".weir-fetch"),
        };
        let mut nodes: Vec<Node> = Vec::new();
        let mut roots: Vec<usize> = Vec::new();
        let mut frontier = expand(&mut nodes, &root, None, "", ".", &mut roots);
        while !frontier.is_empty() {
            let mut jobs = Vec::new();
            let mut next = Vec::new();
            for idx in frontier {
                match self.visit(&run, &mut nodes, idx, &mut manifest, &mut out) {
                    Visit::Loaded(m, dir) => {
                        let key = nodes[idx].key.clone();
                        let mut kids = Vec::new();
                        next.extend(expand(&mut nodes, &m, Some(idx), &key, &dir, &mut kids));
                        nodes[idx].children = kids;
                        nodes[idx].finished = true;
                    }
                    Visit::Failed => nodes[idx].finished = true,
                    Visit::Fetch(source) => jobs.push(Job { node: idx, source }),
                }
            }
            let results = run.fetch_all(&nodes, &jobs);
            for (job, res) in jobs.iter().zip(results) {
                let idx = job.node;
                nodes[idx].lines.extend(res.lines);
                out.diagnostics.extend(res.diags);
                nodes[idx].finished = true;
                let Some(rec) = res.record else { continue };
                let shown = rec.dir.clone();
                let (m, d, s) = config::load_module(&opts.root_dir.join(&rec.dir), &shown);
                out.sources.merge(&s);
                out.diagnostics.extend(d.0);
                manifest.records.insert(rec.key.clone(), rec.clone());
                if let Some(m) = m {
                    let mut kids = Vec::new();
                    next.extend(expand(
                        &mut nodes,
                        &m,
                        Some(idx),
                        &rec.key,
                        &rec.dir,
                        &mut kids,
                    ));
                    nodes[idx].children = kids;
                }
            }
            emit(&mut nodes, &roots, say);
            frontier = next;
        }
        emit(&mut nodes, &roots, say);
        let _ = std::fs::remove_dir_all(&run.scratch);
        if let Err(e) = manifest.write(&modules_abs) {
            out.diagnostics.push(Diagnostic::error(
                "Failed to update module manifest",
                format!("Unable to write the module manifest file: {e}"),
            ));
        }
        out.manifest = manifest;
        out
    }

    /// Decides what a call needs: already installed, a local directory, or a fetch.
    fn visit(
        &self,
        run: &Run,
        nodes: &mut [Node],
        idx: usize,
        manifest: &mut Manifest,
        out: &mut Installed,
    ) -> Visit {
        let opts = run.opts;
        let node = &nodes[idx];
        let call = node.call.clone();
        let key = node.key.clone();
        // Invalid sources and names are reported when the configuration is loaded.
        let Ok(source) = config::parse_call_source(&call) else {
            return Visit::Failed;
        };
        if call.name.is_empty() || !is_identifier(&call.name) {
            return Visit::Failed;
        }
        let inst_rel = format!("{}/{key}", opts.modules_dir);
        let mut replace = opts.upgrade;
        if !replace {
            replace = match manifest.records.get(&key) {
                None => true,
                Some(r) if r.source != source.to_string() => true,
                Some(r) => match (&r.version, &call.version) {
                    (Some(v), Some(c)) => !constraint_allows(c, v),
                    _ => false,
                },
            };
        }
        if replace {
            let prefix = format!("{key}.");
            manifest
                .records
                .retain(|k, _| k != &key && !k.starts_with(&prefix));
        }
        if let Some(rec) = manifest.records.get(&key) {
            let dir = opts.root_dir.join(&rec.dir);
            if dir.is_dir() {
                let (m, d, s) = config::load_module(&dir, &rec.dir);
                out.sources.merge(&s);
                out.diagnostics.extend(d.0);
                return match m {
                    Some(m) => Visit::Loaded(Box::new(m), rec.dir.clone()),
                    None => Visit::Failed,
                };
            }
        } else if let Err(e) = remove_any(&opts.root_dir.join(&inst_rel)) {
            out.diagnostics.push(Diagnostic::error(
                "Failed to remove local module cache",
                format!("Terraform tried to remove {inst_rel} in order to reinstall this module, but encountered an error: {e}"),
            ));
            return Visit::Failed;
        }
        let ModuleSource::Local(rel) = &source else {
            return Visit::Fetch(source);
        };
        let (file, line) = call_line(&call);
        if call.version.is_some() {
            out.diagnostics.push(
                Diagnostic::error(
                    "Invalid version constraint",
                    format!("Cannot apply a version constraint to module {:?} (at {file}:{line}) because it has a relative local path.", call.name),
                )
                .with_subject(call.decl_range.clone()),
            );
        }
        let before = out.diagnostics.len();
        let v = self.install_local(run, nodes, idx, &source, rel, manifest, out);
        if out.diagnostics.errors().count() > 0 && out.diagnostics.len() > before {
            if let Some(d) = escape_error(nodes, idx) {
                let kept: Vec<Diagnostic> = out
                    .diagnostics
                    .iter()
                    .take(before)
                    .cloned()
                    .chain(
                        out.diagnostics
                            .iter()
                            .skip(before)
                            .filter(|d| !d.is_error())
                            .cloned(),
                    )
                    .collect();
                out.diagnostics = Diagnostics::new();
                out.diagnostics.extend(kept);
                out.diagnostics.push(d);
            }
        }
        v
    }

    #[allow(clippy::too_many_arguments)]
    fn install_local(
        &self,
        run: &Run,
        nodes: &mut [Node],
        idx: usize,
        source: &ModuleSource,
        rel: &str,
        manifest: &mut Manifest,
        out: &mut Installed,
    ) -> Visit {
        let opts = run.opts;
        let call = nodes[idx].call.clone();
        let key = nodes[idx].key.clone();
        let (file, line) = call_line(&call);
        let joined = join_rel(&nodes[idx].parent_dir, rel);
        let dir = match eval_symlinks(&opts.root_dir, &joined) {
            Ok(d) => d,
            Err(e) => {
                out.diagnostics.push(Diagnostic::error(
                    "Unreadable module directory",
                    format!(
                        "Unable to evaluate directory symlink: lstat {joined}: {}",
                        crate::getter::go_io(&e)
                    ),
                ));
                // Go's EvalSymlinks answers "" with its error, and Terraform carries on with it.
                String::new()
            }
        };
        let (m, d, s) = config::load_module(&opts.root_dir.join(&dir), &dir);
        out.sources.merge(&s);
        let readable = !dir.is_empty() && opts.root_dir.join(&dir).is_dir();
        let Some(m) = m.filter(|_| readable) else {
            out.diagnostics.push(Diagnostic::error(
                "Unreadable module directory",
                format!(
                    "The directory {dir} could not be read for module {:?} at {file}:{line}.",
                    call.name
                ),
            ));
            manifest
                .records
                .insert(key.clone(), record(&key, source, None, &dir));
            nodes[idx]
                .lines
                .push(format!("- {key} in {dir}").trim_end().to_string());
            return Visit::Failed;
        };
        out.diagnostics.extend(d.0);
        manifest
            .records
            .insert(key.clone(), record(&key, source, None, &dir));
        nodes[idx].lines.push(format!("- {key} in {dir}"));
        Visit::Loaded(Box::new(m), dir)
    }
}

/// Terraform's `maybeImproveLocalInstallError`: a failed local module whose `../` path leaves
/// the package its remote ancestor was fetched as gets that explained instead.
fn escape_error(nodes: &[Node], idx: usize) -> Option<Diagnostic> {
    let mut locals = Vec::new();
    let mut cur = Some(idx);
    let definer = loop {
        let i = cur?;
        match config::parse_call_source(&nodes[i].call).ok()? {
            ModuleSource::Local(rel) => locals.push((i, rel)),
            other => break other,
        }
        cur = nodes[i].parent;
    };
    locals.reverse();
    let (package, start) = match &definer {
        ModuleSource::Registry(r) => {
            let mut bare = r.clone();
            bare.subdir.clear();
            (bare.to_string(), r.subdir.clone())
        }
        ModuleSource::Remote(r) => (r.package.clone(), r.subdir.clone()),
        ModuleSource::Local(_) => return None,
    };
    let clean = addrs::module_source::clean_path;
    let mut current = clean(&format!("*/{start}"));
    for (i, rel) in locals {
        let next = clean(&format!("{current}/{rel}"));
        if !next.starts_with("*/") {
            let path = nodes[i]
                .key
                .split('.')
                .map(|n| format!("module.{n}"))
                .collect::<Vec<_>>()
                .join(".");
            let suggestion = if package.starts_with('/') {
                "\n\nTerraform treats absolute filesystem paths as external modules which establish a new module package. To treat this directory as part of the same package as its caller, use a local path starting with either \"./\" or \"../\"."
            } else {
                ""
            };
            return Some(Diagnostic::error(
                "Local module path escapes module package",
                format!("The given source directory for {path} would be outside of its containing package {package:?}. Local source addresses starting with \"../\" must stay within the same package that the calling module belongs to.{suggestion}"),
            ));
        }
        current = next;
    }
    None
}

enum Visit {
    Loaded(Box<Module>, String),
    Failed,
    Fetch(ModuleSource),
}

fn record(key: &str, source: &ModuleSource, version: Option<String>, dir: &str) -> Record {
    Record {
        key: key.into(),
        source: source.to_string(),
        version,
        dir: dir.into(),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(f) if f.is_alphabetic() || f == '_')
        && c.all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '-')
}

/// `filepath.Join(parent, rel)` for the relative paths of `modules.json`.
fn join_rel(parent: &str, rel: &str) -> String {
    let joined = if parent == "." || parent.is_empty() {
        rel.to_string()
    } else {
        format!("{parent}/{rel}")
    };
    addrs::module_source::clean_path(&joined)
}

fn constraint_allows(constraint: &str, version: &str) -> bool {
    match (Constraints::parse(constraint), Version::parse(version)) {
        (Ok(c), Some(v)) => c.allows(&v),
        _ => false,
    }
}

/// Adds a node per module call of `m` (sorted by name, as Terraform walks them).
fn expand(
    nodes: &mut Vec<Node>,
    m: &Module,
    parent: Option<usize>,
    parent_key: &str,
    parent_dir: &str,
    kids: &mut Vec<usize>,
) -> Vec<usize> {
    // A module that (indirectly) calls itself would never end; config loading reports it.
    if parent_key.split('.').count() > 64 {
        return Vec::new();
    }
    let mut names: Vec<&String> = m.module_calls.keys().collect();
    names.sort();
    for name in names {
        let key = if parent_key.is_empty() {
            name.clone()
        } else {
            format!("{parent_key}.{name}")
        };
        nodes.push(Node {
            key,
            call: m.module_calls[name].clone(),
            parent,
            parent_dir: parent_dir.to_string(),
            children: Vec::new(),
            lines: Vec::new(),
            finished: false,
            emitted: false,
        });
        kids.push(nodes.len() - 1);
    }
    kids.clone()
}

/// Prints the lines of finished nodes in depth-first order, stopping at the first node still
/// being fetched, so the output reads as Terraform's sequential walk does.
fn emit(nodes: &mut [Node], list: &[usize], say: &mut dyn FnMut(&str)) -> bool {
    for &i in list {
        if !nodes[i].finished {
            return false;
        }
        if !nodes[i].emitted {
            for l in std::mem::take(&mut nodes[i].lines) {
                say(&l);
            }
            nodes[i].emitted = true;
        }
        let kids = nodes[i].children.clone();
        if !emit(nodes, &kids, say) {
            return false;
        }
    }
    true
}

impl Run<'_> {
    /// Runs the fetch jobs on up to `parallelism` threads; results come back in job order.
    fn fetch_all(&self, nodes: &[Node], jobs: &[Job]) -> Vec<JobResult> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let next = Mutex::new(0usize);
        let results: Vec<Mutex<Option<JobResult>>> =
            jobs.iter().map(|_| Mutex::new(None)).collect();
        let workers = self.opts.parallelism.clamp(1, jobs.len());
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| loop {
                    let i = {
                        let Ok(mut n) = next.lock() else { return };
                        let i = *n;
                        *n += 1;
                        i
                    };
                    let Some(job) = jobs.get(i) else { return };
                    let node = &nodes[job.node];
                    let r = match &job.source {
                        ModuleSource::Registry(r) => self.install_registry(node, r),
                        ModuleSource::Remote(r) => self.install_remote(node, r),
                        ModuleSource::Local(_) => JobResult {
                            lines: Vec::new(),
                            diags: Vec::new(),
                            record: None,
                        },
                    };
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(r);
                    }
                });
            }
        });
        results
            .into_iter()
            .map(|m| {
                m.into_inner().ok().flatten().unwrap_or(JobResult {
                    lines: Vec::new(),
                    diags: vec![Diagnostic::error(
                        "Module installation failed",
                        "A download thread stopped unexpectedly.",
                    )],
                    record: None,
                })
            })
            .collect()
    }

    fn inst_rel(&self, key: &str) -> String {
        format!("{}/{key}", self.opts.modules_dir)
    }

    /// The package's files, fetched once per run (and once per cache).
    fn package(&self, package: &str, key: &str) -> Result<PathBuf, String> {
        let cell = {
            let mut m = self.packages.lock().map_err(|e| e.to_string())?;
            m.entry(package.to_string()).or_default().clone()
        };
        cell.get_or_init(|| self.obtain(package, key)).clone()
    }

    fn obtain(&self, package: &str, key: &str) -> Result<PathBuf, String> {
        let tf = TerraformDst {
            cwd: self.opts.root_dir.clone(),
            rel: self.inst_rel(key),
        };
        let inst = &self.installer;
        let Some(cache) = &inst.cache_dir else {
            let dst = self.scratch.join(crate::cache::entry_name(package));
            let _ = remove_any(&dst);
            std::fs::create_dir_all(&self.scratch).map_err(|e| e.to_string())?;
            inst.getter.fetch(package, &dst, Some(&tf))?;
            return Ok(dst);
        };
        crate::cache::obtain(cache, package, self.opts.upgrade, &inst.getter, &tf)
    }

    /// Places a fetched package at the call's install directory and returns the module's
    /// directory inside it.
    fn place(&self, package: &str, key: &str, subdir: &str, glob: bool) -> Result<String, String> {
        let inst_rel = self.inst_rel(key);
        let inst_abs = self.opts.root_dir.join(&inst_rel);
        if getter_name(package) == "file" {
            // Terraform links local directories rather than copying them.
            let _ = remove_any(&inst_abs);
            self.installer.getter.fetch(package, &inst_abs, None)?;
        } else {
            let from = self.package(package, key)?;
            if from != inst_abs {
                replace_with_copy(&from, &inst_abs).map_err(|e| e.to_string())?;
            }
        }
        if subdir.is_empty() {
            return Ok(inst_rel);
        }
        if glob {
            let p = expand_subdir_glob(&inst_abs, subdir)?;
            let rel = p
                .strip_prefix(&self.opts.root_dir)
                .map(|r| r.to_string_lossy().to_string())
                .unwrap_or_else(|_| p.to_string_lossy().to_string());
            return Ok(rel);
        }
        Ok(format!("{inst_rel}/{subdir}"))
    }

    fn install_remote(&self, node: &Node, addr: &RemoteSource) -> JobResult {
        let call = &node.call;
        let (file, line) = call_line(call);
        let mut res = JobResult {
            lines: vec![format!("Downloading {} for {}...", addr.package, node.key)],
            diags: Vec::new(),
            record: None,
        };
        if call.version.is_some() {
            res.diags.push(
                Diagnostic::error(
                    "Invalid version constraint",
                    format!("Cannot apply a version constraint to module {:?} (at {file}:{line}) because it doesn't come from a module registry.", call.name),
                )
                .with_subject(call.decl_range.clone()),
            );
            return res;
        }
        match self.place(&addr.package, &node.key, &addr.subdir, true) {
            Ok(dir) => {
                res.lines.push(format!("- {} in {dir}", node.key));
                res.record = Some(Record {
                    key: node.key.clone(),
                    source: ModuleSource::Remote(addr.clone()).to_string(),
                    version: None,
                    dir,
                });
            }
            Err(e) if e.starts_with("subdir ") => res
                .diags
                .push(Diagnostic::error("Failed to expand subdir globs", e)),
            Err(e) => res.diags.push(
                Diagnostic::error(
                    "Failed to download module",
                    format!(
                        "Could not download module {:?} ({file}:{line}) source code from {:?}: {e}",
                        call.name, addr.package
                    ),
                )
                .with_subject(call.decl_range.clone()),
            ),
        }
        res
    }

    fn versions(&self, pkg: &addrs::RegistryPackage) -> Result<Vec<String>, VersionsError> {
        let cell = {
            let Ok(mut m) = self.versions.lock() else {
                return Err(VersionsError::Other("lock poisoned".into()));
            };
            m.entry(pkg.to_string()).or_default().clone()
        };
        cell.get_or_init(|| self.installer.registry.versions(pkg))
            .clone()
    }

    fn location(&self, pkg: &addrs::RegistryPackage, version: &str) -> Result<String, String> {
        let cell = {
            let mut m = self.locations.lock().map_err(|e| e.to_string())?;
            m.entry((pkg.to_string(), version.to_string()))
                .or_default()
                .clone()
        };
        cell.get_or_init(|| self.installer.registry.location(pkg, version))
            .clone()
    }

    fn install_registry(&self, node: &Node, addr: &RegistrySource) -> JobResult {
        let call = &node.call;
        let (file, line) = call_line(call);
        let host = addr.package.host.clone();
        let mut res = JobResult {
            lines: Vec::new(),
            diags: Vec::new(),
            record: None,
        };
        let subject = call.decl_range.clone();
        let err = |summary: &str, detail: String| {
            Diagnostic::error(summary, detail).with_subject(subject.clone())
        };
        let available = match self.versions(&addr.package) {
            Ok(v) => v,
            Err(VersionsError::NotFound) => {
                res.diags.push(err(
                    "Module not found",
                    format!("Module {:?} (from {file}:{line}) cannot be found in the module registry at {host}.", call.name),
                ));
                return res;
            }
            Err(VersionsError::Empty) => {
                res.diags.push(err(
                    "Invalid response from remote module registry",
                    format!("The registry at {host} returned an invalid response when Terraform requested available versions for module {:?} ({file}:{line}).", call.name),
                ));
                return res;
            }
            Err(VersionsError::Other(e)) => {
                res.diags.push(err(
                    "Error accessing remote module registry",
                    format!("Failed to retrieve available versions for module {:?} ({file}:{line}) from {host}: {e}.", call.name),
                ));
                return res;
            }
        };
        let constraints = match call.version.as_deref().map(Constraints::parse) {
            Some(Ok(c)) => c,
            Some(Err(_)) => {
                res.diags.push(err(
                    "Invalid version constraint",
                    "This string does not use correct version constraint syntax.".into(),
                ));
                return res;
            }
            None => Constraints::default(),
        };
        let mut latest: Option<Version> = None;
        let mut latest_match: Option<Version> = None;
        for raw in &available {
            let Some(v) = Version::parse(raw) else {
                res.diags.push(Diagnostic::warning(
                    "Invalid response from remote module registry",
                    format!("The registry at {host} returned an invalid version string {raw:?} for module {:?} ({file}:{line}), which Terraform ignored.", call.name),
                ).with_subject(subject.clone()));
                continue;
            };
            // A pre-release counts only when the constraints name it exactly.
            if !v.pre.is_empty() && !constraints.allows(&v) {
                continue;
            }
            if latest.as_ref().is_none_or(|l| v > *l) {
                latest = Some(v.clone());
            }
            if constraints.allows(&v) && latest_match.as_ref().is_none_or(|l| v > *l) {
                latest_match = Some(v);
            }
        }
        let Some(latest) = latest else {
            res.diags.push(err(
                "Module has no versions",
                format!(
                    "Module {:?} ({file}:{line}) has no versions available on {host}.",
                    addr.to_string()
                ),
            ));
            return res;
        };
        let Some(chosen) = latest_match else {
            res.diags.push(err(
                "Unresolvable module version constraint",
                format!("There is no available version of module {:?} ({file}:{line}) which matches the given version constraint. The newest available version is {latest}.", addr.to_string()),
            ));
            return res;
        };
        let version = chosen.to_string();
        res.lines.push(format!(
            "Downloading {} {version} for {}...",
            addr.package, node.key
        ));
        let raw = match self.location(&addr.package, &version) {
            Ok(l) => l,
            Err(e) => {
                res.diags.push(Diagnostic::error(
                    "Error accessing remote module registry",
                    format!(
                        "Failed to retrieve a download URL for {addr} {version} from {host}: {e}"
                    ),
                ));
                return res;
            }
        };
        let real = match addrs::parse_module_source(&raw) {
            Ok(ModuleSource::Remote(r)) => r,
            Ok(_) => {
                res.diags.push(Diagnostic::error(
                    "Invalid package location from module registry",
                    format!("Module registry {host} returned invalid source location {raw:?} for {addr} {version}: must be a direct remote package address."),
                ));
                return res;
            }
            Err(e) => {
                res.diags.push(Diagnostic::error(
                    "Invalid package location from module registry",
                    format!("Module registry {host} returned invalid source location {raw:?} for {addr} {version}: {e}."),
                ));
                return res;
            }
        };
        let fin = real.from_registry(addr);
        match self.place(&real.package, &node.key, &fin.subdir, false) {
            Ok(dir) => {
                if !self.opts.root_dir.join(&dir).is_dir() {
                    let inst = self.inst_rel(&node.key);
                    res.diags.push(Diagnostic::error(
                        "Unreadable module subdirectory",
                        format!("The directory {dir} does not exist. The target submodule {} does not exist within the target module.", fin.subdir),
                    ));
                    let _ = inst;
                    return res;
                }
                res.lines.push(format!("- {} in {dir}", node.key));
                res.record = Some(Record {
                    key: node.key.clone(),
                    source: addr.to_string(),
                    version: Some(version),
                    dir,
                });
            }
            Err(e) => res.diags.push(err(
                "Failed to download module",
                format!(
                    "Could not download module {:?} ({file}:{line}) source code from {:?}: {e}.",
                    call.name,
                    real.to_string()
                ),
            )),
        }
        res
    }
}

/// Copies an installed tree (exposed for tests and the benchmark's warm-up).
pub fn copy_installed(src: &Path, dst: &Path) -> std::io::Result<()> {
    copy_tree(src, dst)
}
