//! The CLI configuration file (`TF_CLI_CONFIG_FILE`, else `~/.terraformrc`): where providers
//! may be installed from (`provider_installation` mirrors, or the implied local mirror
//! directories), `plugin_cache_dir`, and `credentials "HOST" { token = … }` blocks.

use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Body, Structure};

/// A place providers are installed from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    FilesystemMirror {
        path: PathBuf,
        include: Vec<String>,
        exclude: Vec<String>,
    },
    /// The origin registry (weir has no network access to it; listed for messages).
    Direct {
        include: Vec<String>,
        exclude: Vec<String>,
    },
    NetworkMirror {
        url: String,
    },
}

#[derive(Clone, Debug, Default)]
pub struct CliConfig {
    pub sources: Vec<Source>,
    pub plugin_cache_dir: Option<PathBuf>,
    /// API tokens by hostname, as written in `credentials` blocks (not yet normalised).
    pub credentials: std::collections::BTreeMap<String, String>,
    /// Problems reading the file (Terraform warns and carries on).
    pub warnings: Vec<String>,
}

fn strings(e: &Expression) -> Vec<String> {
    match e {
        Expression::Array(a) => a
            .iter()
            .filter_map(|x| match x {
                Expression::String(s) => Some(s.value().to_string()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn string(e: &Expression) -> Option<String> {
    match e {
        Expression::String(s) => Some(s.value().to_string()),
        _ => None,
    }
}

/// Looks up an environment variable; the caller decides where the environment comes from.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn home(env: EnvLookup) -> Option<PathBuf> {
    env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// The implied local mirror directories Terraform searches on Unix when no
/// `provider_installation` block is given.
pub fn implied_mirrors() -> Vec<PathBuf> {
    implied_mirrors_in(&process_env)
}

fn implied_mirrors_in(env: EnvLookup) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(h) = home(env) {
        v.push(h.join(".terraform.d").join("plugins"));
    }
    let data_home = env("XDG_DATA_HOME")
        .filter(|x| !x.is_empty())
        .map(PathBuf::from)
        .or_else(|| home(env).map(|h| h.join(".local").join("share")));
    if let Some(d) = data_home {
        v.push(d.join("terraform").join("plugins"));
    }
    let dirs = env("XDG_DATA_DIRS").unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    for d in dirs.split(':').filter(|d| !d.is_empty()) {
        v.push(Path::new(d).join("terraform").join("plugins"));
    }
    v
}

impl CliConfig {
    /// Loads the CLI configuration the way Terraform finds it.
    pub fn load() -> CliConfig {
        CliConfig::load_with(&process_env)
    }

    /// [`CliConfig::load`] with the environment given by the caller.
    pub fn load_with(env: EnvLookup) -> CliConfig {
        let explicit = env("TF_CLI_CONFIG_FILE").filter(|p| !p.is_empty());
        let path = match &explicit {
            Some(p) => Some(PathBuf::from(p)),
            None => home(env).map(|h| h.join(".terraformrc")),
        };
        let mut c = CliConfig::default();
        if let Some(p) = &path {
            match std::fs::read_to_string(p) {
                Ok(text) => c = CliConfig::parse(&text, &p.display().to_string()),
                Err(_) if explicit.is_some() => c.warnings.push(format!(
                    "The CLI configuration file at {:?} does not exist.",
                    p.display().to_string()
                )),
                Err(_) => {}
            }
        }
        if c.sources.is_empty() {
            for m in implied_mirrors_in(env) {
                if m.is_dir() {
                    c.sources.push(Source::FilesystemMirror {
                        path: m,
                        include: Vec::new(),
                        exclude: Vec::new(),
                    });
                }
            }
            c.sources.push(Source::Direct {
                include: Vec::new(),
                exclude: Vec::new(),
            });
        }
        c
    }

    pub fn parse(text: &str, name: &str) -> CliConfig {
        let mut c = CliConfig::default();
        let body: Body = match hcl_edit::parser::parse_body(text) {
            Ok(b) => b,
            Err(e) => {
                c.warnings.push(format!(
                    "The CLI configuration file {name} is invalid: {}",
                    e.message()
                ));
                return c;
            }
        };
        for s in body.iter() {
            match s {
                Structure::Attribute(a) if a.key.value().as_str() == "plugin_cache_dir" => {
                    c.plugin_cache_dir = string(&a.value).map(PathBuf::from);
                }
                Structure::Block(b) if b.ident.value().as_str() == "credentials" => {
                    let host = b.labels.first().map(|l| l.as_str().to_string());
                    let token = b.body.iter().find_map(|x| match x {
                        Structure::Attribute(a) if a.key.value().as_str() == "token" => {
                            string(&a.value)
                        }
                        _ => None,
                    });
                    if let (Some(h), Some(t)) = (host, token) {
                        c.credentials.insert(h, t);
                    }
                }
                Structure::Block(b) if b.ident.value().as_str() == "provider_installation" => {
                    for inner in b.body.iter() {
                        let Structure::Block(m) = inner else { continue };
                        let attr = |n: &str| {
                            m.body.iter().find_map(|x| match x {
                                Structure::Attribute(a) if a.key.value().as_str() == n => {
                                    Some(a.value.clone())
                                }
                                _ => None,
                            })
                        };
                        let include = attr("include").map(|e| strings(&e)).unwrap_or_default();
                        let exclude = attr("exclude").map(|e| strings(&e)).unwrap_or_default();
                        match m.ident.value().as_str() {
                            "filesystem_mirror" => {
                                if let Some(p) = attr("path").and_then(|e| string(&e)) {
                                    c.sources.push(Source::FilesystemMirror {
                                        path: PathBuf::from(p),
                                        include,
                                        exclude,
                                    });
                                }
                            }
                            "direct" => c.sources.push(Source::Direct { include, exclude }),
                            "network_mirror" => {
                                if let Some(u) = attr("url").and_then(|e| string(&e)) {
                                    c.sources.push(Source::NetworkMirror { url: u });
                                }
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        c
    }
}

/// Whether an `include`/`exclude` pattern list admits a provider address
/// (`registry.terraform.io/hashicorp/*` style, with `*` wildcards per segment).
pub fn admits(include: &[String], exclude: &[String], addr: &str) -> bool {
    let matches = |pat: &str| {
        let pat = if pat.matches('/').count() == 1 {
            format!("registry.terraform.io/{pat}")
        } else {
            pat.to_string()
        };
        let ps: Vec<&str> = pat.split('/').collect();
        let as_: Vec<&str> = addr.split('/').collect();
        ps.len() == as_.len()
            && ps
                .iter()
                .zip(&as_)
                .all(|(p, a)| *p == "*" || p.eq_ignore_ascii_case(a))
    };
    (include.is_empty() || include.iter().any(|p| matches(p)))
        && !exclude.iter().any(|p| matches(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_and_patterns() {
        let c = CliConfig::parse(
            "plugin_cache_dir = \"/tmp/cache\"\nprovider_installation {\n  filesystem_mirror {\n    path = \"/opt/m\"\n    include = [\"hashicorp/*\"]\n  }\n  direct {\n    exclude = [\"hashicorp/*\"]\n  }\n}\n",
            "t",
        );
        assert_eq!(c.plugin_cache_dir, Some(PathBuf::from("/tmp/cache")));
        assert_eq!(c.sources.len(), 2);
        let c = CliConfig::parse(
            "credentials \"app.example.com\" {\n  token = \"abc\"\n}\n",
            "t",
        );
        assert_eq!(c.credentials["app.example.com"], "abc");
        assert!(admits(
            &["hashicorp/*".into()],
            &[],
            "registry.terraform.io/hashicorp/aws"
        ));
        assert!(!admits(
            &[],
            &["hashicorp/*".into()],
            "registry.terraform.io/hashicorp/aws"
        ));
        assert!(admits(
            &[],
            &["hashicorp/*".into()],
            "registry.terraform.io/other/x"
        ));
    }
}
