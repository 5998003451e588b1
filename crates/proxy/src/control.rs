//! Configuration changes: deploy a service (wait for new targets, persist, swap, drain the old
//! ones), change weights, delete. Changes are serialised; each either takes effect whole or not
//! at all, and the state file is written before the new table is swapped in, so what a
//! restarted proxy reads is never behind what it served.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Notify;

use crate::api::{ServiceStatus, TargetStatus};
use crate::error::{ChangeError, SpecError, StateFileError};
use crate::metrics::VersionMetrics;
use crate::spec::{duration_text, ServiceSpec};
use crate::state_file;
use crate::table::{ServiceRt, Table, VersionRt};
use crate::target::Target;

/// Everything the data plane and the admin API share.
pub struct Shared {
    pub table: ArcSwap<Table>,
    changes: tokio::sync::Mutex<()>,
    state_file: Option<PathBuf>,
    health_events: Arc<Notify>,
    draining: Arc<Mutex<Vec<Arc<Target>>>>,
    pub access_log: bool,
    /// Data-plane worker threads: each target keeps a connection pool per worker.
    workers: usize,
}

impl Shared {
    /// A proxy serving the services in `state_file` (if it exists). Targets with a health check
    /// start pending: after a restart they take traffic once they pass again.
    pub fn load(
        state_file: Option<PathBuf>,
        access_log: bool,
        workers: usize,
    ) -> Result<Self, StateFileError> {
        let specs = match &state_file {
            Some(p) => state_file::load(p)?,
            None => BTreeMap::new(),
        };
        let shared = Shared {
            table: ArcSwap::from_pointee(Table::default()),
            changes: tokio::sync::Mutex::new(()),
            state_file,
            health_events: Arc::new(Notify::new()),
            draining: Default::default(),
            access_log,
            workers,
        };
        let services = specs
            .into_iter()
            .map(|(name, spec)| {
                let (rt, _) = shared.build(&name, spec, None);
                (name, Arc::new(rt))
            })
            .collect();
        shared.table.store(Arc::new(Table::new(services)));
        Ok(shared)
    }

    /// Deploys `spec` as service `name`: new targets must pass their health check within the
    /// deploy timeout, then traffic moves and removed targets drain.
    pub async fn put_service(
        &self,
        name: &str,
        spec: ServiceSpec,
    ) -> Result<ServiceStatus, ChangeError> {
        check_name(name)?;
        spec.validate()?;
        let _serial = self.changes.lock().await;
        let table = self.table.load_full();
        for (other, s) in &table.services {
            if other == name {
                continue;
            }
            if let Some(h) = spec
                .hosts
                .iter()
                .find(|h| s.spec.hosts.iter().any(|o| o.eq_ignore_ascii_case(h)))
            {
                return Err(SpecError::HostTaken {
                    host: h.clone(),
                    service: other.clone(),
                }
                .into());
            }
            if spec.default && s.spec.default {
                return Err(SpecError::DefaultTaken(other.clone()).into());
            }
        }
        let old = table.services.get(name).cloned();
        let deploy_timeout = spec.timeouts.deploy;
        let (rt, fresh) = self.build(name, spec, old.as_deref());
        if let Err(e) = self.wait_healthy(name, &fresh, deploy_timeout).await {
            fresh.iter().for_each(|t| t.retire());
            return Err(e);
        }
        let rt = Arc::new(rt);
        let mut services = table.services.clone();
        services.insert(name.to_string(), rt.clone());
        if let Err(e) = self.persist(&services).await {
            fresh.iter().for_each(|t| t.retire());
            return Err(e.into());
        }
        self.table.store(Arc::new(Table::new(services)));
        if let Some(old) = old {
            let kept: Vec<&Arc<Target>> = rt.targets().collect();
            let gone = old
                .targets()
                .filter(|t| !kept.iter().any(|k| Arc::ptr_eq(k, t)))
                .cloned()
                .collect();
            self.drain(gone, rt.spec.timeouts.drain);
        }
        tracing::info!(service = name, "service configured");
        Ok(self.status(&rt))
    }

    /// Moves traffic between the existing versions; no target changes, so nothing waits.
    pub async fn set_weights(
        &self,
        name: &str,
        weights: &BTreeMap<String, u32>,
    ) -> Result<ServiceStatus, ChangeError> {
        let _serial = self.changes.lock().await;
        let table = self.table.load_full();
        let old = table
            .services
            .get(name)
            .ok_or_else(|| ChangeError::NotFound(name.to_string()))?;
        let spec = old.spec.with_weights(weights)?;
        let (rt, fresh) = self.build(name, spec, Some(old));
        debug_assert!(fresh.is_empty());
        let rt = Arc::new(rt);
        let mut services = table.services.clone();
        services.insert(name.to_string(), rt.clone());
        self.persist(&services).await?;
        self.table.store(Arc::new(Table::new(services)));
        tracing::info!(service = name, ?weights, "weights changed");
        Ok(self.status(&rt))
    }

    /// Removes a service; its targets drain.
    pub async fn delete_service(&self, name: &str) -> Result<(), ChangeError> {
        let _serial = self.changes.lock().await;
        let table = self.table.load_full();
        let mut services = table.services.clone();
        let old = services
            .remove(name)
            .ok_or_else(|| ChangeError::NotFound(name.to_string()))?;
        self.persist(&services).await?;
        self.table.store(Arc::new(Table::new(services)));
        self.drain(old.targets().cloned().collect(), old.spec.timeouts.drain);
        tracing::info!(service = name, "service deleted");
        Ok(())
    }

    pub fn service_status(&self, name: &str) -> Option<ServiceStatus> {
        let table = self.table.load();
        table.services.get(name).map(|s| self.status(s))
    }

    pub fn status(&self, s: &ServiceRt) -> ServiceStatus {
        ServiceStatus {
            name: s.name.clone(),
            spec: s.spec.clone(),
            versions: s.status(),
            draining: self.draining_of(s),
        }
    }

    fn draining_of(&self, s: &ServiceRt) -> Vec<TargetStatus> {
        let draining = self.draining.lock().unwrap_or_else(|e| e.into_inner());
        draining
            .iter()
            .filter(|t| t.service == s.name)
            .map(|t| t.status())
            .collect()
    }

    /// The runtime form of `spec`, reusing the targets (health, pool) and metrics of `old` where
    /// they are unchanged. Returns the targets that are new.
    fn build(
        &self,
        name: &str,
        spec: ServiceSpec,
        old: Option<&ServiceRt>,
    ) -> (ServiceRt, Vec<Arc<Target>>) {
        // Targets are reused only when the way they are checked and reached is the same.
        let reusable = old.filter(|o| {
            o.spec.health_check == spec.health_check
                && o.spec.timeouts.connect == spec.timeouts.connect
        });
        let old_targets: HashMap<(&str, &str), &Arc<Target>> = reusable
            .into_iter()
            .flat_map(|o| o.targets())
            .map(|t| ((t.version.as_str(), t.addr.as_str()), t))
            .collect();
        let mut fresh = Vec::new();
        let versions = spec
            .versions
            .iter()
            .map(|v| {
                let targets = v
                    .targets
                    .iter()
                    .map(
                        |addr| match old_targets.get(&(v.name.as_str(), addr.as_str())) {
                            Some(t) => Arc::clone(t),
                            None => {
                                let t = Target::new(
                                    name,
                                    addr,
                                    &v.name,
                                    spec.timeouts.connect,
                                    spec.health_check.as_ref(),
                                    self.health_events.clone(),
                                    self.workers,
                                );
                                fresh.push(t.clone());
                                t
                            }
                        },
                    )
                    .collect();
                let metrics = old
                    .and_then(|o| o.versions.iter().find(|ov| ov.name == v.name))
                    .map(|ov| ov.metrics.clone())
                    .unwrap_or_else(|| Arc::new(VersionMetrics::new()));
                VersionRt::new(v.name.clone(), v.weight, targets, metrics)
            })
            .collect();
        (ServiceRt::new(name.to_string(), spec, versions), fresh)
    }

    /// Waits until every target in `fresh` passed its health check.
    async fn wait_healthy(
        &self,
        service: &str,
        fresh: &[Arc<Target>],
        timeout: Duration,
    ) -> Result<(), ChangeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.health_events.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let waiting: Vec<&Arc<Target>> = fresh.iter().filter(|t| !t.available()).collect();
            if waiting.is_empty() {
                return Ok(());
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                let waiting: Vec<&str> = fresh
                    .iter()
                    .filter(|t| !t.available())
                    .map(|t| t.addr.as_str())
                    .collect();
                if waiting.is_empty() {
                    return Ok(());
                }
                return Err(ChangeError::Unhealthy {
                    service: service.to_string(),
                    waited: duration_text::format(timeout),
                    targets: waiting.join(", "),
                });
            }
        }
    }

    async fn persist(
        &self,
        services: &BTreeMap<String, Arc<ServiceRt>>,
    ) -> Result<(), StateFileError> {
        let Some(path) = self.state_file.clone() else {
            return Ok(());
        };
        let specs: BTreeMap<String, ServiceSpec> = services
            .iter()
            .map(|(n, s)| (n.clone(), s.spec.clone()))
            .collect();
        tokio::task::spawn_blocking(move || state_file::save(&path, &specs))
            .await
            .expect("state file writer panicked")
    }

    /// Lets removed targets finish their in-flight requests (up to `timeout`), then drops them,
    /// which closes their idle keep-alive connections.
    fn drain(&self, targets: Vec<Arc<Target>>, timeout: Duration) {
        if targets.is_empty() {
            return;
        }
        for t in &targets {
            t.retire();
        }
        self.draining
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(targets.iter().cloned());
        let list = self.draining.clone();
        tokio::spawn(async move {
            let deadline = tokio::time::Instant::now() + timeout;
            while targets.iter().any(|t| t.in_flight() > 0)
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            for t in targets.iter().filter(|t| t.in_flight() > 0) {
                tracing::warn!(target = %t.addr, in_flight = t.in_flight(), "drain timeout; dropping target with requests still in flight");
            }
            let mut list = list.lock().unwrap_or_else(|e| e.into_inner());
            list.retain(|d| !targets.iter().any(|t| Arc::ptr_eq(t, d)));
        });
    }
}

/// Service names appear in URLs, metric labels and logs: keep them plain.
fn check_name(name: &str) -> Result<(), SpecError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SpecError::BadServiceName(name.to_string()))
    }
}
