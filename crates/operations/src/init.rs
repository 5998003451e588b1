//! `init`: gathers provider requirements from the configuration, selects versions from the
//! CLI configuration's filesystem mirrors (honouring `.terraform.lock.hcl`), links packages
//! into `.terraform/providers` as Terraform does, and writes the lock file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use getproviders::cliconfig::{admits, Source};
use getproviders::{Constraints, LockFile, LockedProvider, Version};

use crate::Failure;

const BUILTIN: &str = "terraform.io/builtin/terraform";

fn short(source: &str) -> &str {
    source
        .strip_prefix("registry.terraform.io/")
        .unwrap_or(source)
}

/// Provider source → combined version constraints, across all modules.
fn requirements(cfg: &config::Config, out: &mut BTreeMap<String, Vec<String>>) {
    let m = &cfg.module;
    for (local, rp) in &m.required_providers {
        let src = engine::model::provider_source(m, local);
        let e = out.entry(src).or_default();
        if let Some(v) = &rp.version {
            e.push(v.clone());
        }
    }
    let mut implied = |local: &str| {
        let src = engine::model::provider_source(m, local);
        out.entry(src).or_default();
    };
    for pc in m.provider_configs.values() {
        implied(&pc.name);
    }
    for r in m
        .managed_resources
        .values()
        .chain(m.data_resources.values())
    {
        let local = r
            .provider
            .as_ref()
            .map(|p| p.name.clone())
            .unwrap_or_else(|| engine::model::implied_provider_local(&r.type_name).to_string());
        implied(&local);
    }
    for c in cfg.children.values() {
        requirements(c, out);
    }
}

/// Available versions of a provider in a filesystem mirror (unpacked layout).
fn mirror_versions(root: &Path, source: &str) -> Vec<(Version, PathBuf)> {
    let dir = root.join(source);
    let platform = getproviders::platform();
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let Some(v) = Version::parse(&name) else {
                continue;
            };
            let pkg = e.path().join(&platform);
            if pkg.is_dir() {
                out.push((v, pkg));
            }
        }
    }
    out.sort_by(|a, b| b.0.cmp(&a.0));
    out
}

fn fail(summary: &str, detail: String) -> Failure {
    Failure::new(summary, detail)
}

/// What `init` needs besides the directory: module installation settings and flags.
pub struct InitOptions<'a> {
    /// `-upgrade`: newest allowed module and provider versions, modules fetched again.
    pub upgrade: bool,
    /// `-get=false` skips module installation.
    pub get: bool,
    pub color: bool,
    pub modules: &'a getmodules::Setup,
}

/// Installs the configuration's modules (`weir get`, and the module step of `init`), printing
/// Terraform's progress lines through `say`. Returns the diagnostics (errors and warnings).
pub fn install_modules(
    dir: &Path,
    upgrade: bool,
    setup: &getmodules::Setup,
    say: &mut dyn FnMut(&str),
) -> getmodules::Installed {
    let installer = getmodules::Installer::new(setup);
    let opts = getmodules::InstallOptions {
        root_dir: dir.to_path_buf(),
        modules_dir: config::modmanifest::MODULES_DIR.to_string(),
        upgrade,
        // Fetches wait on the network and on git far more than on the CPU.
        parallelism: 16,
    };
    installer.install(&opts, say)
}

/// Runs `init` in `dir`, printing Terraform's progress lines through `say`.
pub fn init(dir: &Path, o: &InitOptions, say: &mut dyn FnMut(&str)) -> Result<(), Failure> {
    let (upgrade, color) = (o.upgrade, o.color);
    let bold = |s: &str| {
        if color {
            format!("\x1b[1m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    };
    let (root, root_diags, root_sources) = config::load_module(dir, "");
    let Some(root) = root else {
        return Err(Failure {
            diagnostics: root_diags,
            sources: root_sources,
        });
    };
    say(&bold("Initializing the backend..."));
    if o.get && !root.module_calls.is_empty() {
        say(&bold(if upgrade {
            "Upgrading modules..."
        } else {
            "Initializing modules..."
        }));
        let installed = install_modules(dir, upgrade, o.modules, say);
        if installed.diagnostics.has_errors() {
            return Err(Failure {
                diagnostics: installed.diagnostics,
                sources: installed.sources,
            });
        }
    }
    let loaded = crate::load_config(dir)?;
    say(&bold("Initializing provider plugins..."));
    let mut reqs = BTreeMap::new();
    requirements(&loaded.config, &mut reqs);
    let cli = getproviders::CliConfig::load();
    let lock_path = dir.join(".terraform.lock.hcl");
    let old_lock = match std::fs::read_to_string(&lock_path) {
        Ok(t) => {
            LockFile::parse(&t).map_err(|e| fail("Failed to read dependency lock file", e.0))?
        }
        Err(_) => LockFile::default(),
    };
    let mut new_lock = LockFile::default();
    let mut computed_locally = Vec::new();
    if reqs.contains_key(BUILTIN) {
        say(&format!("- {BUILTIN} is built in to Terraform"));
    }
    for (source, cs) in &reqs {
        if source == BUILTIN {
            continue;
        }
        let mut constraints = Constraints::default();
        for c in cs {
            constraints.add(c).map_err(|e| {
                fail(
                    "Invalid version constraint",
                    format!("{e} for provider {}.", short(source)),
                )
            })?;
        }
        let locked = old_lock.providers.get(source).filter(|_| !upgrade);
        let mut looked = Vec::new();
        let mut candidates: Vec<(Version, PathBuf)> = Vec::new();
        for s in &cli.sources {
            match s {
                Source::FilesystemMirror {
                    path,
                    include,
                    exclude,
                } => {
                    if admits(include, exclude, source) {
                        looked.push(path.display().to_string());
                        candidates.extend(mirror_versions(path, source));
                    }
                }
                Source::Direct { .. } => looked.push(format!(
                    "the registry at {} (no network access from weir)",
                    source.split('/').next().unwrap_or("")
                )),
                Source::NetworkMirror { url } => {
                    looked.push(format!("the network mirror {url} (not supported by weir)"))
                }
            }
        }
        candidates.sort_by(|a, b| b.0.cmp(&a.0));
        let chosen = match locked {
            Some(l) => {
                say(&format!(
                    "- Reusing previous version of {} from the dependency lock file",
                    short(source)
                ));
                let Some(v) = Version::parse(&l.version) else {
                    return Err(fail(
                        "Invalid dependency lock file",
                        format!(
                            "The version {:?} locked for {} is not valid.",
                            l.version,
                            short(source)
                        ),
                    ));
                };
                if !constraints.allows(&v) {
                    return Err(fail(
                        "Failed to query available provider packages",
                        format!("Could not retrieve the list of available versions for provider {}: locked provider {source} {} does not match configured version constraint {constraints}; must use terraform init -upgrade to allow selection of new versions", short(source), l.version),
                    ));
                }
                candidates.into_iter().find(|(cv, _)| cv == &v).ok_or_else(|| {
                    fail(
                        "Failed to install provider",
                        format!("Error while installing {} v{}: the locked version was not found in any of the search locations\n\n{}", short(source), l.version, looked.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")),
                    )
                })?
            }
            None => {
                if constraints.is_empty() {
                    say(&format!("- Finding latest version of {}...", short(source)));
                } else {
                    say(&format!(
                        "- Finding {} versions matching \"{constraints}\"...",
                        short(source)
                    ));
                }
                candidates.into_iter().find(|(cv, _)| constraints.allows(cv)).ok_or_else(|| {
                    fail(
                        "Failed to query available provider packages",
                        format!(
                            "Could not retrieve the list of available versions for provider {}: provider {source} was not found in any of the search locations\n\n{}",
                            short(source),
                            looked.iter().map(|l| format!("  - {l}")).collect::<Vec<_>>().join("\n")
                        ),
                    )
                })?
            }
        };
        let (version, pkg) = chosen;
        let hash = getproviders::h1_hash(&pkg).map_err(|e| {
            fail(
                "Failed to install provider",
                format!("Error while hashing {} v{version}: {e}.", short(source)),
            )
        })?;
        if let Some(l) = locked {
            if !l.hashes.iter().any(|h| h == &hash) {
                return Err(fail(
                    "Failed to install provider",
                    format!("Error while installing {} v{version}: the local package for {source} {version} doesn't match any of the checksums previously recorded in the dependency lock file (this might be because the available checksums are for packages targeting different platforms); for more information: https://developer.hashicorp.com/terraform/language/files/dependency-lock#checksum-verification", short(source)),
                ));
            }
        }
        let target = dir
            .join(".terraform")
            .join("providers")
            .join(source)
            .join(version.to_string())
            .join(getproviders::platform());
        let already = std::fs::read_link(&target)
            .map(|t| t == pkg)
            .unwrap_or(false);
        if already && locked.is_some() {
            say(&format!(
                "- Using previously-installed {} v{version}",
                short(source)
            ));
        } else {
            say(&format!("- Installing {} v{version}...", short(source)));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| fail("Failed to install provider", format!("{e}")))?;
            }
            let _ = std::fs::remove_file(&target);
            let _ = std::fs::remove_dir_all(&target);
            std::os::unix::fs::symlink(&pkg, &target).map_err(|e| {
                fail(
                    "Failed to install provider",
                    format!("Error while installing {} v{version}: {e}.", short(source)),
                )
            })?;
            say(&format!(
                "- Installed {} v{version} (unauthenticated)",
                short(source)
            ));
        }
        let mut hashes = locked.map(|l| l.hashes.clone()).unwrap_or_default();
        if !hashes.contains(&hash) {
            hashes.push(hash);
            computed_locally.push(short(source).to_string());
        }
        new_lock.providers.insert(
            source.clone(),
            LockedProvider {
                version: version.to_string(),
                constraints: (!constraints.is_empty()).then(|| constraints.to_string()),
                hashes,
            },
        );
    }
    if new_lock != old_lock {
        let created = old_lock.providers.is_empty() && !lock_path.exists();
        let text = new_lock.render();
        let tmp = lock_path.with_extension("hcl.tmp");
        std::fs::write(&tmp, &text)
            .and_then(|_| std::fs::rename(&tmp, &lock_path))
            .map_err(|e| fail("Failed to write dependency lock file", format!("{e}")))?;
        if !new_lock.providers.is_empty() {
            if created {
                say("Terraform has created a lock file .terraform.lock.hcl to record the provider\nselections it made above. Include this file in your version control repository\nso that Terraform can guarantee to make the same selections by default when\nyou run \"terraform init\" in the future.");
            } else {
                say("Terraform has made some changes to the provider dependency selections recorded\nin the .terraform.lock.hcl file. Review those changes and commit them to your\nversion control system if they represent changes you intended to make.");
            }
        }
    }
    if !computed_locally.is_empty() {
        let platform = getproviders::platform();
        say(&format!(
            "\nWarning: Incomplete lock file information for providers\n\nDue to your customized provider installation methods, Terraform was forced to\ncalculate lock file checksums locally for the following providers:\n{}\n\nThe current .terraform.lock.hcl file only includes checksums for {platform},\nso Terraform running on another platform will fail to install these\nproviders.\n\nTo calculate additional checksums for another platform, run:\n  terraform providers lock -platform=linux_amd64\n(where linux_amd64 is the platform to generate)",
            computed_locally.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n")
        ));
    }
    say(&format!(
        "\n{}\n\nYou may now begin working with Terraform. Try running \"terraform plan\" to see\nany changes that are required for your infrastructure. All Terraform commands\nshould now work.\n\nIf you ever set or change modules or backend configuration for Terraform,\nrerun this command to reinitialize your working directory. If you forget, other\ncommands will detect it and remind you to do so if necessary.",
        if color { "\x1b[1m\x1b[32mTerraform has been successfully initialized!\x1b[0m".to_string() } else { "Terraform has been successfully initialized!".to_string() }
    ));
    Ok(())
}
