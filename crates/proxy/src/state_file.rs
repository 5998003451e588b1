//! The state file: every service's spec, so a restarted proxy resumes with the same services,
//! weights and targets. Written to a temporary file in the same directory, synced, then renamed
//! over the old one, so a crash leaves either the old file or the new one, never half of one.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::StateFileError;
use crate::spec::ServiceSpec;

const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateDoc {
    format_version: u32,
    services: BTreeMap<String, ServiceSpec>,
}

/// Reads the services from `path`; a missing file is an empty proxy.
pub fn load(path: &Path) -> Result<BTreeMap<String, ServiceSpec>, StateFileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let invalid = |message: String| StateFileError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let doc: StateDoc = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if doc.format_version != FORMAT_VERSION {
        return Err(invalid(format!(
            "format_version {} is not supported (expected {FORMAT_VERSION})",
            doc.format_version
        )));
    }
    for (name, spec) in &doc.services {
        spec.validate()
            .map_err(|e| invalid(format!("service {name:?}: {e}")))?;
    }
    Ok(doc.services)
}

/// Replaces `path` with the given services atomically.
pub fn save(path: &Path, services: &BTreeMap<String, ServiceSpec>) -> Result<(), StateFileError> {
    let err = |source| StateFileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let doc = StateDoc {
        format_version: FORMAT_VERSION,
        services: services.clone(),
    };
    let mut text = serde_json::to_vec_pretty(&doc).expect("specs serialize");
    text.push(b'\n');
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "state".into());
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself must reach the disk too.
        std::fs::File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.json");
        assert!(load(&path).unwrap().is_empty());
        let spec: ServiceSpec = serde_json::from_str(
            r#"{"versions":[{"name":"v1","weight":100,"targets":["127.0.0.1:80"]}]}"#,
        )
        .unwrap();
        let services = BTreeMap::from([("web".to_string(), spec)]);
        save(&path, &services).unwrap();
        assert_eq!(load(&path).unwrap(), services);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1);
    }

    #[test]
    fn a_broken_file_is_reported_with_its_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("proxy.json");
        std::fs::write(
            &path,
            "{\"format_version\": 1,\n \"services\": {\"web\": 3}}",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("proxy.json is not valid"), "{e}");
        assert!(e.contains("line 2 column"), "{e}");
    }
}
