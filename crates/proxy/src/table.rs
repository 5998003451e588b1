//! The routing table the data plane reads: services by host, their versions and targets. A table
//! is immutable once built; a change builds a new one and swaps it in whole (`arc-swap`), so a
//! request sees either the old configuration or the new one, never a mix.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::api::{Health, VersionStatus};
use crate::balance::Swrr;
use crate::metrics::VersionMetrics;
use crate::spec::ServiceSpec;
use crate::target::Target;

pub struct VersionRt {
    pub name: String,
    pub weight: u32,
    pub targets: Vec<Arc<Target>>,
    pub metrics: Arc<VersionMetrics>,
    rr: AtomicUsize,
}

pub struct ServiceRt {
    pub name: String,
    pub spec: ServiceSpec,
    pub versions: Vec<VersionRt>,
    swrr: Mutex<Swrr>,
}

/// What a request is sent to.
pub struct Pick {
    pub version: usize,
    pub target: Arc<Target>,
}

impl VersionRt {
    pub fn new(
        name: String,
        weight: u32,
        targets: Vec<Arc<Target>>,
        metrics: Arc<VersionMetrics>,
    ) -> Self {
        VersionRt {
            name,
            weight,
            targets,
            metrics,
            rr: AtomicUsize::new(0),
        }
    }

    fn has_available(&self) -> bool {
        self.targets.iter().any(|t| t.available())
    }

    /// Round-robin over the available targets, skipping `except` (the one that just failed).
    pub fn pick_target(&self, except: Option<&Target>) -> Option<Arc<Target>> {
        let n = self.targets.len();
        let start = self.rr.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|i| &self.targets[(start + i) % n])
            .find(|t| t.available() && !except.is_some_and(|e| std::ptr::eq(e, t.as_ref())))
            .cloned()
    }

    pub fn healthy_targets(&self) -> usize {
        self.targets
            .iter()
            .filter(|t| t.health() == Health::Healthy)
            .count()
    }
}

impl ServiceRt {
    pub fn new(name: String, spec: ServiceSpec, versions: Vec<VersionRt>) -> Self {
        let n = versions.len();
        ServiceRt {
            name,
            spec,
            versions,
            swrr: Mutex::new(Swrr::new(n)),
        }
    }

    /// Weights with versions that have no available target set to zero.
    fn effective(&self) -> Vec<u32> {
        self.versions
            .iter()
            .map(|v| if v.has_available() { v.weight } else { 0 })
            .collect()
    }

    /// Picks a version by weight (or the sticky one, while it still has weight and a healthy
    /// target) and a target within it. `None` when no version can take the request.
    pub fn pick(&self, sticky: Option<&str>) -> Option<Pick> {
        if let Some(name) = sticky {
            if let Some(i) = self.versions.iter().position(|v| v.name == name) {
                if self.versions[i].weight > 0 {
                    if let Some(target) = self.versions[i].pick_target(None) {
                        return Some(Pick { version: i, target });
                    }
                }
            }
        }
        // On the stack for the usual handful of versions: this runs for every request.
        let mut buf = [0u32; 8];
        let heap;
        let weights: &[u32] = if self.versions.len() <= buf.len() {
            for (w, v) in buf.iter_mut().zip(&self.versions) {
                *w = if v.has_available() { v.weight } else { 0 };
            }
            &buf[..self.versions.len()]
        } else {
            heap = self.effective();
            &heap
        };
        // A target can fail between the availability check and the pick; try the next choice.
        for _ in 0..self.versions.len() {
            let i = self
                .swrr
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pick(weights)?;
            if let Some(target) = self.versions[i].pick_target(None) {
                return Some(Pick { version: i, target });
            }
        }
        None
    }

    pub fn status(&self) -> Vec<VersionStatus> {
        let weights = self.effective();
        let total: u32 = weights.iter().sum();
        self.versions
            .iter()
            .zip(&weights)
            .map(|(v, &w)| VersionStatus {
                name: v.name.clone(),
                weight: v.weight,
                effective_weight: if total == 0 {
                    0.0
                } else {
                    (f64::from(w) * 10000.0 / f64::from(total)).round() / 100.0
                },
                healthy_targets: v.healthy_targets(),
                targets: v.targets.iter().map(|t| t.status()).collect(),
            })
            .collect()
    }

    /// Every target of every version.
    pub fn targets(&self) -> impl Iterator<Item = &Arc<Target>> {
        self.versions.iter().flat_map(|v| v.targets.iter())
    }
}

/// Services by name and by host.
#[derive(Default)]
pub struct Table {
    pub services: BTreeMap<String, Arc<ServiceRt>>,
    by_host: HashMap<String, Arc<ServiceRt>>,
    default: Option<Arc<ServiceRt>>,
}

impl Table {
    pub fn new(services: BTreeMap<String, Arc<ServiceRt>>) -> Self {
        let mut by_host = HashMap::new();
        let mut default = None;
        for s in services.values() {
            for h in &s.spec.hosts {
                by_host.insert(h.to_ascii_lowercase(), s.clone());
            }
            if s.spec.default {
                default = Some(s.clone());
            }
        }
        Table {
            services,
            by_host,
            default,
        }
    }

    /// The service for a `Host` value (port ignored), else the default service.
    pub fn route(&self, host: Option<&str>) -> Option<&Arc<ServiceRt>> {
        let found = host.and_then(|h| {
            let name = strip_port(h);
            self.by_host.get(name).or_else(|| {
                name.bytes()
                    .any(|b| b.is_ascii_uppercase())
                    .then(|| self.by_host.get(&name.to_ascii_lowercase()))
                    .flatten()
            })
        });
        found.or(self.default.as_ref())
    }
}

fn strip_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_route_without_port_or_case() {
        assert_eq!(strip_port("app.example:8080"), "app.example");
        assert_eq!(strip_port("[::1]:80"), "::1");
        assert_eq!(strip_port("app"), "app");
        let spec: ServiceSpec = serde_json::from_str(
            r#"{"hosts":["app.example"],"versions":[{"name":"v","weight":100,"targets":["h:1"]}]}"#,
        )
        .unwrap();
        let svc = Arc::new(ServiceRt::new("app".into(), spec, Vec::new()));
        let table = Table::new(BTreeMap::from([("app".to_string(), svc)]));
        assert!(table.route(Some("App.Example:80")).is_some());
        assert!(table.route(Some("other")).is_none());
        assert!(table.route(None).is_none());
    }
}
