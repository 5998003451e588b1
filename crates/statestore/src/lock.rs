//! Lock holder information, in Terraform's JSON shape and rendering.

use chrono::{DateTime, Timelike, Utc};

/// Who holds (or wants) a state lock. Field names in JSON are Terraform's (`ID`, `Who`, …).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockInfo {
    #[serde(rename = "ID")]
    pub id: String,
    /// E.g. `OperationTypeApply`, `OperationTypePlan`, `OperationTypeInvalid`.
    #[serde(rename = "Operation")]
    pub operation: String,
    #[serde(rename = "Info", default)]
    pub info: String,
    #[serde(rename = "Who")]
    pub who: String,
    #[serde(rename = "Version")]
    pub version: String,
    /// Written as Go's `time.Time` JSON (RFC 3339, fraction without trailing zeros).
    #[serde(rename = "Created", serialize_with = "go_time_json")]
    pub created: DateTime<Utc>,
    #[serde(rename = "Path", default)]
    pub path: String,
}

impl LockInfo {
    /// A new lock request with a fresh ID, the current `user@host` and time.
    pub fn new(
        operation: impl Into<String>,
        version: impl Into<String>,
        path: impl Into<String>,
    ) -> LockInfo {
        LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            operation: operation.into(),
            info: String::new(),
            who: crate::who(),
            version: version.into(),
            created: Utc::now(),
            path: path.into(),
        }
    }

    /// The `Lock Info:` block exactly as Terraform prints it.
    pub fn render(&self) -> String {
        format!(
            "Lock Info:\n  ID:        {}\n  Path:      {}\n  Operation: {}\n  Who:       {}\n  Version:   {}\n  Created:   {}\n  Info:      {}\n",
            self.id,
            self.path,
            self.operation,
            self.who,
            self.version,
            go_time_string(&self.created),
            self.info
        )
    }
}

/// Go's `time.Time.MarshalJSON` for a UTC time (RFC 3339 with up to nine fraction digits,
/// trailing zeros dropped), so a lock info file weir writes has the bytes Terraform's would.
fn go_time_json<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        out.push('.');
        out.push_str(format!("{nanos:09}").trim_end_matches('0'));
    }
    out.push('Z');
    s.serialize_str(&out)
}

/// Go's `time.Time.String()` for a UTC time: `2006-01-02 15:04:05.999999999 +0000 UTC`
/// (fraction without trailing zeros, none at all when zero).
pub fn go_time_string(t: &DateTime<Utc>) -> String {
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = t.nanosecond() % 1_000_000_000;
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s.push_str(" +0000 UTC");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_terraform() {
        // Recorded from terraform 1.11.4 (plan while an apply held the lock).
        let json = r#"{"ID":"3fca3c56-6bb8-4e68-8390-ab3416d8bb5d","Operation":"OperationTypeApply","Info":"","Who":"root@vm","Version":"1.11.4","Created":"2026-11-24T19:41:04.196255187Z","Path":"terraform.tfstate"}"#;
        let info: LockInfo = serde_json::from_str(json).unwrap();
        let want = "Lock Info:\n  ID:        3fca3c56-6bb8-4e68-8390-ab3416d8bb5d\n  Path:      terraform.tfstate\n  Operation: OperationTypeApply\n  Who:       root@vm\n  Version:   1.11.4\n  Created:   2026-11-24 19:41:04.196255187 +0000 UTC\n  Info:      \n";
        assert_eq!(info.render(), want);
        // Serialised back byte for byte as Terraform wrote it.
        assert_eq!(serde_json::to_string(&info).unwrap(), json);
        let t: DateTime<Utc> = "2026-01-02T03:04:05.120Z".parse().unwrap();
        assert_eq!(go_time_string(&t), "2026-01-02 03:04:05.12 +0000 UTC");
        let t: DateTime<Utc> = "2026-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(go_time_string(&t), "2026-01-02 03:04:05 +0000 UTC");
    }
}
