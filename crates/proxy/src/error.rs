//! Error types at the crate's boundaries: a rejected service spec, a refused change, a proxy that
//! cannot start. Messages are what an operator reads; none carries the admin token.

use std::path::PathBuf;

/// Why a service spec (or a weight change) is not accepted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SpecError {
    #[error("a service needs at least one version")]
    NoVersions,
    #[error("invalid version name {0:?}: 1 to 128 characters, no control characters")]
    BadVersionName(String),
    #[error("version {0:?} appears twice")]
    DuplicateVersion(String),
    #[error("version {0:?} has no targets")]
    NoTargets(String),
    #[error("invalid target {0:?}: expected host:port")]
    BadTarget(String),
    #[error("target {0:?} appears twice in one version")]
    DuplicateTarget(String),
    #[error("weights must sum to 100, not {0}")]
    WeightSum(u64),
    #[error("invalid host {0:?}: a host name without port or path")]
    BadHost(String),
    #[error("invalid health check path {0:?}: an absolute path such as /up")]
    BadHealthPath(String),
    #[error("{0} must be more than zero")]
    ZeroDuration(&'static str),
    #[error("health check thresholds must be at least 1")]
    ZeroThreshold,
    #[error("invalid sticky cookie name {0:?}")]
    BadCookieName(String),
    #[error("no version {0:?} in this service")]
    UnknownVersion(String),
    #[error("no weight given for version {0:?}")]
    MissingWeight(String),
    #[error("host {host:?} is already served by service {service:?}")]
    HostTaken { host: String, service: String },
    #[error("service {0:?} is already the default service")]
    DefaultTaken(String),
    #[error("invalid service name {0:?}: letters, digits, '-', '_' and '.', at most 128")]
    BadServiceName(String),
}

/// Why a change through the admin API was refused. The running configuration is unchanged in
/// every case.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("no service {0:?}")]
    NotFound(String),
    #[error("deploy of {service:?} abandoned: targets not healthy after {waited}: {targets}")]
    Unhealthy {
        service: String,
        waited: String,
        targets: String,
    },
    #[error(transparent)]
    Persist(#[from] StateFileError),
}

/// Reading or writing the state file.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    #[error("reading state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("writing state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why the proxy could not start.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error("listening on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    StateFile(#[from] StateFileError),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the admin token is empty")]
    EmptyToken,
    #[error("starting the data-plane threads: {0}")]
    Spawn(std::io::Error),
}
