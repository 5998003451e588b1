//! The admin API's JSON documents, shared by the server and [`crate::client`] so both sides
//! always agree on the shape.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::spec::ServiceSpec;

/// `GET /v1/services/{name}`: the configuration and what the proxy makes of it right now.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ServiceStatus {
    pub name: String,
    pub spec: ServiceSpec,
    pub versions: Vec<VersionStatus>,
    /// Targets removed by a change that are finishing their in-flight requests.
    #[serde(default)]
    pub draining: Vec<TargetStatus>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VersionStatus {
    pub name: String,
    /// Configured weight (percent).
    pub weight: u32,
    /// Share of traffic (percent) the version gets now: 0 without a healthy target, more than
    /// its weight when another version has none.
    pub effective_weight: f64,
    pub healthy_targets: usize,
    pub targets: Vec<TargetStatus>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TargetStatus {
    pub address: String,
    pub version: String,
    pub health: Health,
    pub in_flight: usize,
}

/// Whether a target takes traffic. `pending` targets have not passed their first health check.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    Pending,
    Healthy,
    Unhealthy,
}

/// `GET /v1/services`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ServiceList {
    pub services: Vec<ServiceStatus>,
}

/// `GET /v1/services/{name}/metrics?window=30s`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ServiceMetrics {
    pub service: String,
    pub window_seconds: u64,
    pub versions: Vec<VersionMetricsReport>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VersionMetricsReport {
    pub version: String,
    pub weight: u32,
    /// The last `window_seconds`.
    pub window: Stats,
    /// Since the version was configured (or the proxy started).
    pub cumulative: Stats,
    pub connect_failures: u64,
    /// Prometheus-style cumulative latency buckets (seconds), `+Inf` last.
    pub latency_buckets: Vec<Bucket>,
    pub latency_sum_seconds: f64,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Stats {
    pub requests: u64,
    /// 5xx answers, unreachable targets and responses cut off.
    pub errors: u64,
    pub error_rate: f64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// Requests by status code (cumulative only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub codes: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Bucket {
    pub le: String,
    pub count: u64,
}

/// `POST /v1/services/{name}/weights`: a weight for every version, summing to 100.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WeightsRequest {
    pub weights: BTreeMap<String, u32>,
}

/// The body of every error answer.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
}
