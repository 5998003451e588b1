//! `weir proxy`: the reverse proxy in front of each service on each host during canary rollouts.
//!
//! It routes requests by `Host` to a service, splits them between the service's versions by
//! weight (smooth weighted round-robin, see [`balance`]), sends them to healthy targets only
//! (active health checks gate every target), and measures each version (see [`metrics`]) so the
//! rollout controller can decide to promote or roll back. The controller changes services
//! through the admin API ([`admin`], typed client in [`client`]); changes are swapped in whole
//! and persisted to a state file.

pub mod admin;
pub mod api;
pub mod balance;
pub mod client;
pub mod control;
pub mod error;
pub mod forward;
pub mod metrics;
pub mod server;
pub mod spec;
pub mod state_file;
pub mod table;
pub mod target;
pub mod tls;

pub use error::{ChangeError, ProxyError, SpecError, StateFileError};
pub use server::{Config, Proxy, TlsFiles};
pub use spec::{HealthCheck, ServiceSpec, Timeouts, VersionSpec};
