//! Starts providers for the engine: the built-in `terraform.io/builtin/terraform`, and plugin
//! binaries installed by `weir init` under `.terraform/providers`, with the on-disk schema
//! cache shared by every run.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use providers::Provider;

pub struct Factory {
    dir: PathBuf,
    cache: Option<plugin::SchemaCache>,
}

impl Factory {
    pub fn new(dir: &Path) -> Factory {
        let cache = plugin::SchemaCache::default_dir().map(plugin::SchemaCache::new);
        Factory {
            dir: dir.to_path_buf(),
            cache,
        }
    }

    /// The installed executable of a provider, if `weir init` installed one.
    pub fn locate(&self, source: &str) -> Option<PathBuf> {
        let base = self.dir.join(".terraform").join("providers").join(source);
        let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(&base)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().to_string();
                let parts: Option<Vec<u64>> = v.split('.').map(|p| p.parse().ok()).collect();
                Some((parts?, e.path()))
            })
            .collect();
        versions.sort();
        let (_, vdir) = versions.pop()?;
        let platform = vdir.join(format!("{}_{}", std::env::consts::OS, go_arch()));
        let ty = source.rsplit('/').next()?;
        std::fs::read_dir(&platform)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .map(|n| {
                        n.to_string_lossy()
                            .starts_with(&format!("terraform-provider-{ty}"))
                    })
                    .unwrap_or(false)
            })
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

impl engine::ProviderFactory for Factory {
    fn start(&self, source: &str) -> Result<Arc<dyn Provider>, String> {
        if source == "terraform.io/builtin/terraform" {
            // terraform_remote_state resolves relative `local` paths against the working
            // directory. TODO(lead): pass the CLI's environment too, for backend credentials.
            return Ok(Arc::new(providers::builtin::TerraformProviderAt::new(
                providers::builtin::RemoteStateContext {
                    working_dir: self.dir.clone(),
                    env: Default::default(),
                },
            )));
        }
        let Some(bin) = self.locate(source) else {
            let short = source
                .strip_prefix("registry.terraform.io/")
                .unwrap_or(source);
            return Err(format!(
                "The provider {short} is not installed in {}. Run \"weir init\" to install all providers required by the configuration.",
                self.dir.join(".terraform").join("providers").display()
            ));
        };
        let mut opts = plugin::PluginOptions::new(bin);
        opts.schema_cache = self.cache.clone();
        let p = plugin::PluginProvider::start(opts)
            .map_err(|e| format!("failed to start provider {source}: {e}"))?;
        Ok(Arc::new(p))
    }
}
