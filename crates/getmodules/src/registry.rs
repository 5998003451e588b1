//! The module registry protocol: service discovery (`/.well-known/terraform.json`, `modules.v1`),
//! the versions list and the download location, with the CLI configuration's credentials sent
//! as `Authorization: Bearer`. Error texts are those of Terraform's registry client.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use addrs::RegistryPackage;

use crate::env::Env;
use crate::http::{Http, Response};
use crate::url::resolve_reference;

/// The Terraform version weir's registry requests announce (`X-Terraform-Version`).
pub const TERRAFORM_VERSION: &str = "1.11.4";

/// API tokens by normalised hostname: `TF_TOKEN_…` variables win over `credentials` blocks.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    tokens: BTreeMap<String, String>,
}

impl Credentials {
    /// From the CLI configuration's `credentials` blocks and the `TF_TOKEN_<host>` variables
    /// (dots written as `_`, hyphens as `__`).
    pub fn new(configured: &BTreeMap<String, String>, env: &Env) -> Credentials {
        let mut tokens = BTreeMap::new();
        for (host, token) in configured {
            if let Ok(h) = addrs::module_source::hostname_for_comparison(host) {
                tokens.insert(h, token.clone());
            }
        }
        for (name, value) in env.vars() {
            let Some(raw) = name.strip_prefix("TF_TOKEN_") else {
                continue;
            };
            let raw = raw.replace("__", "-").replace('_', ".");
            if let Ok(h) = addrs::module_source::hostname_for_comparison(&raw) {
                tokens.insert(h, value.to_string());
            }
        }
        Credentials { tokens }
    }

    pub fn token(&self, host: &str) -> Option<&str> {
        self.tokens.get(host).map(String::as_str)
    }
}

/// Why listing a module's versions failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionsError {
    NotFound,
    /// The answer listed no module at all.
    Empty,
    Other(String),
}

pub struct Registry {
    http: Http,
    credentials: Credentials,
    /// Discovered `modules.v1` base URLs by host (a failure is remembered too).
    services: Mutex<HashMap<String, Result<String, String>>>,
}

impl Registry {
    pub fn new(http: Http, credentials: Credentials) -> Registry {
        Registry {
            http,
            credentials,
            services: Mutex::new(HashMap::new()),
        }
    }

    fn auth(&self, host: &str) -> Vec<(&'static str, String)> {
        self.credentials
            .token(host)
            .map(|t| vec![("Authorization", format!("Bearer {t}"))])
            .unwrap_or_default()
    }

    /// The `modules.v1` base URL of `host`, ending in `/`.
    pub fn discover(&self, host: &str) -> Result<String, String> {
        if let Some(r) = self.services.lock().map_err(|e| e.to_string())?.get(host) {
            return r.clone();
        }
        let r = self.discover_uncached(host);
        if let Ok(mut m) = self.services.lock() {
            m.insert(host.to_string(), r.clone());
        }
        r
    }

    fn discover_uncached(&self, host: &str) -> Result<String, String> {
        let url = format!("https://{host}/.well-known/terraform.json");
        let mut headers = self.auth(host);
        headers.push(("Accept", "application/json".into()));
        let resp = self
            .http
            .get(&url, &headers)
            .map_err(|e| format!("failed to request discovery document: {e}"))?;
        let not_provided = || format!("host {host} does not provide a modules service");
        if resp.status == 404 {
            return Err(not_provided());
        }
        if resp.status != 200 {
            return Err(format!(
                "failed to request discovery document: {}",
                resp.status_line()
            ));
        }
        let ct = resp.header("content-type").unwrap_or("");
        let media = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if media.is_empty() && !ct.is_empty() {
            return Err(format!("discovery URL has a malformed Content-Type {ct:?}"));
        }
        if media != "application/json" {
            return Err(format!(
                "discovery URL returned an unsupported Content-Type {media:?}"
            ));
        }
        let doc: serde_json::Value = serde_json::from_slice(&resp.body)
            .map_err(|e| format!("failed to decode discovery document as a JSON object: {e}"))?;
        let Some(services) = doc.as_object() else {
            return Err(
                "failed to decode discovery document as a JSON object: not an object".into(),
            );
        };
        let Some(raw) = services.get("modules.v1").and_then(|v| v.as_str()) else {
            if services.keys().any(|k| k.starts_with("modules.")) {
                return Err(format!("host {host} does not support modules version v1"));
            }
            return Err(not_provided());
        };
        let mut u = resolve_reference(&resp.final_url, raw);
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            let scheme = u.split(':').next().unwrap_or("");
            return Err(format!(
                "Failed to parse service URL: unsupported scheme {scheme}"
            ));
        }
        if let Some(i) = u.find('#') {
            u.truncate(i);
        }
        let (path, query) = match u.split_once('?') {
            Some((p, q)) => (p.to_string(), format!("?{q}")),
            None => (u.clone(), String::new()),
        };
        let path = if path.ends_with('/') {
            path
        } else {
            format!("{path}/")
        };
        Ok(format!("{path}{query}"))
    }

    /// One request with Terraform's retry policy (one retry on a connection error or a 5xx
    /// answer) and its error wording when both attempts fail.
    fn get_retrying(&self, host: &str, url: &str) -> Result<Response, String> {
        let mut headers = self.auth(host);
        headers.push(("X-Terraform-Version", TERRAFORM_VERSION.into()));
        let mut last = String::new();
        for attempt in 0..2 {
            if attempt > 0 {
                std::thread::sleep(Duration::from_secs(1));
            }
            match self.http.get(url, &headers) {
                Ok(r) if r.status == 429 || (r.status >= 500 && r.status != 501) => {
                    last = format!(": {} returned from {url}", r.status_line());
                }
                Ok(r) => return Ok(r),
                Err(e) => last = format!(": {e}"),
            }
        }
        Err(format!(
            "the request failed after 2 attempts, please try again later{last}"
        ))
    }

    /// The versions the registry offers for `pkg`.
    pub fn versions(&self, pkg: &RegistryPackage) -> Result<Vec<String>, VersionsError> {
        let base = self.discover(&pkg.host).map_err(VersionsError::Other)?;
        let url = resolve_reference(&base, &format!("{}/versions", pkg.for_registry_protocol()));
        let resp = self
            .get_retrying(&pkg.host, &url)
            .map_err(VersionsError::Other)?;
        match resp.status {
            200 => {}
            404 => return Err(VersionsError::NotFound),
            _ => {
                return Err(VersionsError::Other(format!(
                    "error looking up module versions: {}",
                    resp.status_line()
                )))
            }
        }
        let doc: serde_json::Value =
            serde_json::from_slice(&resp.body).map_err(|e| VersionsError::Other(e.to_string()))?;
        let Some(first) = doc
            .get("modules")
            .and_then(|m| m.as_array())
            .and_then(|m| m.first())
        else {
            return Err(VersionsError::Empty);
        };
        Ok(first
            .get("versions")
            .and_then(|v| v.as_array())
            .map(|vs| {
                vs.iter()
                    .filter_map(|v| v.get("version").and_then(|s| s.as_str()))
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Where version `version` of `pkg` is downloaded from (the `X-Terraform-Get` answer,
    /// resolved against the download URL when relative).
    pub fn location(&self, pkg: &RegistryPackage, version: &str) -> Result<String, String> {
        let base = self.discover(&pkg.host)?;
        let download = resolve_reference(
            &base,
            &format!("{}/{version}/download", pkg.for_registry_protocol()),
        );
        let resp = self.get_retrying(&pkg.host, &download)?;
        let body = String::from_utf8_lossy(&resp.body).into_owned();
        match resp.status {
            200 | 204 => {}
            404 => {
                return Err(format!(
                    "module {:?} version {version:?} not found",
                    pkg.to_string()
                ))
            }
            _ => {
                return Err(format!(
                    "error getting download location for {:?}: {} resp:{body}",
                    pkg.to_string(),
                    resp.status_line()
                ))
            }
        }
        let Some(location) = resp.header("x-terraform-get").filter(|l| !l.is_empty()) else {
            return Err(format!(
                "failed to get download URL for {:?}: {} resp:{body}",
                pkg.to_string(),
                resp.status_line()
            ));
        };
        if location.starts_with('/') || location.starts_with("./") || location.starts_with("../") {
            return Ok(resolve_reference(&download, location));
        }
        Ok(location.to_string())
    }
}
