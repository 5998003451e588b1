//! The declarative shape of a service as the admin API takes it and the state file keeps it:
//! versions with weights and targets, the health check, timeouts. Validation happens here, once,
//! so the data plane only ever sees a consistent service.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::SpecError;

/// One service: the hosts it answers for and its versions. Weights of all versions sum to 100.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// `Host` header values (without port, case-insensitive) routed to this service.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Serve requests whose `Host` matches no service. At most one service is the default.
    #[serde(default)]
    pub default: bool,
    /// The versions in order (stable first, by convention).
    pub versions: Vec<VersionSpec>,
    /// Active health check; without one, targets take traffic at once and a target that refuses
    /// connections sits out [`PASSIVE_COOLDOWN`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(default)]
    pub timeouts: Timeouts,
    /// Name of a cookie that pins a client to the version that served it first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticky_cookie: Option<String>,
}

/// A version (digest, release number…) with its share of traffic and its targets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VersionSpec {
    pub name: String,
    pub weight: u32,
    /// `host:port` of each target.
    pub targets: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct HealthCheck {
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_interval", with = "duration_text")]
    pub interval: Duration,
    #[serde(default = "default_check_timeout", with = "duration_text")]
    pub timeout: Duration,
    /// Consecutive passes before a target takes traffic.
    #[serde(default = "one")]
    pub healthy_threshold: u32,
    /// Consecutive failures before a healthy target stops taking traffic.
    #[serde(default = "two")]
    pub unhealthy_threshold: u32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Connecting to a target.
    #[serde(default = "default_connect", with = "duration_text")]
    pub connect: Duration,
    /// From sending the request to receiving the response headers (504 after).
    #[serde(default = "default_response", with = "duration_text")]
    pub response: Duration,
    /// How long a deploy waits for new targets to pass their health check.
    #[serde(default = "default_deploy", with = "duration_text")]
    pub deploy: Duration,
    /// How long removed targets get to finish in-flight requests.
    #[serde(default = "default_drain", with = "duration_text")]
    pub drain: Duration,
}

/// How long a target that refused a connection is skipped when the service has no health check.
pub const PASSIVE_COOLDOWN: Duration = Duration::from_secs(2);

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: default_connect(),
            response: default_response(),
            deploy: default_deploy(),
            drain: default_drain(),
        }
    }
}

fn default_path() -> String {
    "/".into()
}
fn default_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_check_timeout() -> Duration {
    Duration::from_secs(1)
}
fn one() -> u32 {
    1
}
fn two() -> u32 {
    2
}
fn default_connect() -> Duration {
    Duration::from_secs(2)
}
fn default_response() -> Duration {
    Duration::from_secs(30)
}
fn default_deploy() -> Duration {
    Duration::from_secs(30)
}
fn default_drain() -> Duration {
    Duration::from_secs(30)
}

impl ServiceSpec {
    /// Checks everything the data plane relies on; the first problem found is reported.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.versions.is_empty() {
            return Err(SpecError::NoVersions);
        }
        let mut names = BTreeSet::new();
        for v in &self.versions {
            if v.name.is_empty() || v.name.len() > 128 || v.name.chars().any(|c| c.is_control()) {
                return Err(SpecError::BadVersionName(v.name.clone()));
            }
            if !names.insert(v.name.as_str()) {
                return Err(SpecError::DuplicateVersion(v.name.clone()));
            }
            if v.targets.is_empty() {
                return Err(SpecError::NoTargets(v.name.clone()));
            }
            let mut seen = BTreeSet::new();
            for t in &v.targets {
                check_target(t)?;
                if !seen.insert(t.as_str()) {
                    return Err(SpecError::DuplicateTarget(t.clone()));
                }
            }
        }
        check_weights(self.versions.iter().map(|v| v.weight))?;
        for h in &self.hosts {
            if h.is_empty() || h.contains(|c: char| c.is_whitespace() || c == '/' || c == ':') {
                return Err(SpecError::BadHost(h.clone()));
            }
        }
        if let Some(hc) = &self.health_check {
            if !hc.path.starts_with('/') || hc.path.parse::<http::uri::PathAndQuery>().is_err() {
                return Err(SpecError::BadHealthPath(hc.path.clone()));
            }
            if hc.interval.is_zero() || hc.timeout.is_zero() {
                return Err(SpecError::ZeroDuration("health_check interval and timeout"));
            }
            if hc.healthy_threshold == 0 || hc.unhealthy_threshold == 0 {
                return Err(SpecError::ZeroThreshold);
            }
        }
        let t = &self.timeouts;
        if t.connect.is_zero() || t.response.is_zero() {
            return Err(SpecError::ZeroDuration("timeouts connect and response"));
        }
        if let Some(c) = &self.sticky_cookie {
            let token = |ch: char| ch.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(ch);
            if c.is_empty() || !c.chars().all(token) {
                return Err(SpecError::BadCookieName(c.clone()));
            }
        }
        Ok(())
    }

    /// The spec with the given weights, which must name exactly this service's versions.
    pub fn with_weights(&self, weights: &BTreeMap<String, u32>) -> Result<ServiceSpec, SpecError> {
        for name in weights.keys() {
            if !self.versions.iter().any(|v| &v.name == name) {
                return Err(SpecError::UnknownVersion(name.clone()));
            }
        }
        let mut out = self.clone();
        for v in &mut out.versions {
            v.weight = *weights
                .get(&v.name)
                .ok_or_else(|| SpecError::MissingWeight(v.name.clone()))?;
        }
        check_weights(out.versions.iter().map(|v| v.weight))?;
        Ok(out)
    }
}

fn check_weights(weights: impl Iterator<Item = u32>) -> Result<(), SpecError> {
    let sum: u64 = weights.map(u64::from).sum();
    if sum != 100 {
        return Err(SpecError::WeightSum(sum));
    }
    Ok(())
}

fn check_target(t: &str) -> Result<(), SpecError> {
    let bad = || SpecError::BadTarget(t.to_string());
    let auth: http::uri::Authority = t.parse().map_err(|_| bad())?;
    if auth.port_u16().is_none() || auth.as_str().contains('@') || auth.host().is_empty() {
        return Err(bad());
    }
    Ok(())
}

/// Durations as Go-style text (`500ms`, `2s`, `1m30s`), the way weir's flags spell them.
pub mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(*d))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid duration {text:?} (use a number with ms, s, m or h, e.g. \"500ms\")"
            ))
        })
    }

    /// `ms` when not a whole number of seconds, otherwise `s`.
    pub fn format(d: Duration) -> String {
        if d.subsec_nanos() == 0 {
            format!("{}s", d.as_secs())
        } else {
            format!("{}ms", d.as_millis())
        }
    }

    /// Parses a sum of `<number><unit>` parts, units ms, s, m, h.
    pub fn parse(s: &str) -> Option<Duration> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if s == "0" {
            return Some(Duration::ZERO);
        }
        let mut total = 0f64;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            let unit_len = rest[num_len..]
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(rest.len() - num_len);
            let n: f64 = rest[..num_len].parse().ok()?;
            let scale = match &rest[num_len..num_len + unit_len] {
                "ms" => 1e-3,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return None,
            };
            total += n * scale;
            rest = &rest[num_len + unit_len..];
        }
        Duration::try_from_secs_f64(total).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> ServiceSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_fill_in_and_round_trip() {
        let s = spec(
            r#"{"hosts":["app.example"],"versions":[{"name":"v1","weight":100,"targets":["127.0.0.1:8080"]}],
                "health_check":{"path":"/up"}}"#,
        );
        s.validate().unwrap();
        let hc = s.health_check.as_ref().unwrap();
        assert_eq!(hc.interval, Duration::from_secs(1));
        assert_eq!(hc.unhealthy_threshold, 2);
        assert_eq!(s.timeouts.response, Duration::from_secs(30));
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains(r#""interval":"1s""#), "{text}");
        assert_eq!(spec(&text), s);
    }

    #[test]
    fn invalid_specs_say_what_is_wrong() {
        let base = r#"{"versions":[{"name":"a","weight":90,"targets":["127.0.0.1:1"]},{"name":"b","weight":5,"targets":["127.0.0.1:2"]}]}"#;
        assert_eq!(spec(base).validate(), Err(SpecError::WeightSum(95)));
        let s = spec(r#"{"versions":[{"name":"a","weight":100,"targets":["nope"]}]}"#);
        assert_eq!(s.validate(), Err(SpecError::BadTarget("nope".into())));
        let s = spec(r#"{"versions":[{"name":"a","weight":100,"targets":[]}]}"#);
        assert_eq!(s.validate(), Err(SpecError::NoTargets("a".into())));
        let s = spec(
            r#"{"versions":[{"name":"a","weight":50,"targets":["h:1"]},{"name":"a","weight":50,"targets":["h:2"]}]}"#,
        );
        assert_eq!(s.validate(), Err(SpecError::DuplicateVersion("a".into())));
        let err = serde_json::from_str::<ServiceSpec>(
            r#"{"versions":[],"health_check":{"interval":"soon"}}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("invalid duration \"soon\""),
            "{err}"
        );
        let err =
            serde_json::from_str::<ServiceSpec>(r#"{"versions":[],"weights":{}}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `weights`"), "{err}");
    }

    #[test]
    fn weights_replace_all_versions() {
        let s = spec(
            r#"{"versions":[{"name":"a","weight":100,"targets":["h:1"]},{"name":"b","weight":0,"targets":["h:2"]}]}"#,
        );
        let w = |pairs: &[(&str, u32)]| -> BTreeMap<String, u32> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        let t = s.with_weights(&w(&[("a", 80), ("b", 20)])).unwrap();
        assert_eq!(t.versions[1].weight, 20);
        assert_eq!(
            s.with_weights(&w(&[("a", 80)])),
            Err(SpecError::MissingWeight("b".into()))
        );
        assert_eq!(
            s.with_weights(&w(&[("a", 80), ("b", 20), ("c", 0)])),
            Err(SpecError::UnknownVersion("c".into()))
        );
        assert_eq!(
            s.with_weights(&w(&[("a", 80), ("b", 30)])),
            Err(SpecError::WeightSum(110))
        );
    }

    #[test]
    fn durations() {
        use duration_text::{format, parse};
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("10"), None);
        assert_eq!(parse("-1s"), None);
        assert_eq!(format(Duration::from_millis(1500)), "1500ms");
        assert_eq!(format(Duration::from_secs(30)), "30s");
    }
}
