//! Module installation as `terraform init` does it: module source packages fetched from git
//! (the system `git`), http(s) archives and `X-Terraform-Get` pages, local directories and
//! module registries; installed into `.terraform/modules/<key>` with `modules.json` written as
//! Terraform writes it. Downloads run in parallel and go through a cache shared by working
//! directories.
//!
//! Source addresses themselves are `addrs::module_source` (the config loader needs them too).

pub mod archive;
pub mod cache;
pub mod env;
pub mod fsutil;
pub mod getter;
pub mod git;
pub mod http;
pub mod install;
pub mod registry;
pub mod url;
pub mod view;

pub use addrs::module_source;
pub use env::Env;
pub use install::{InstallOptions, Installed, Installer};
pub use registry::{Credentials, Registry};

use std::path::PathBuf;

/// Everything an [`Installer`] takes from its surroundings.
#[derive(Clone, Debug, Default)]
pub struct Setup {
    /// The process environment (git's environment, `TF_TOKEN_…` credentials).
    pub env: Env,
    /// `credentials "HOST" { token = … }` blocks of the CLI configuration.
    pub configured_credentials: std::collections::BTreeMap<String, String>,
    /// Trusted certificate authorities (Go's `SSL_CERT_FILE` / `SSL_CERT_DIR`).
    pub tls: http::TlsRoots,
    /// The shared package cache (none: every run fetches).
    pub cache_dir: Option<PathBuf>,
    /// Sent as `User-Agent`.
    pub user_agent: String,
}

impl Installer {
    pub fn new(setup: &Setup) -> Installer {
        let ua = if setup.user_agent.is_empty() {
            format!("Terraform/{}", registry::TERRAFORM_VERSION)
        } else {
            setup.user_agent.clone()
        };
        let http = http::Http::new(&setup.tls, &ua);
        Installer {
            getter: getter::Getter {
                http: http.clone(),
                git: git::Git::find(&setup.env),
            },
            registry: Registry::new(
                http,
                Credentials::new(&setup.configured_credentials, &setup.env),
            ),
            cache_dir: setup.cache_dir.clone(),
        }
    }
}
