//! `.terraform/modules/modules.json`: where each installed module call lives. The module
//! installer writes it and the config loader reads it; the bytes are Terraform's (Go's
//! `encoding/json` compact form, records sorted by key, HTML characters escaped).

use std::collections::BTreeMap;
use std::path::Path;

/// The modules directory inside a working directory.
pub const MODULES_DIR: &str = ".terraform/modules";
pub const MANIFEST_FILE: &str = "modules.json";

/// One installed module call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The module path joined with dots (`a.b`); empty for the root module.
    pub key: String,
    /// The normalised source address (`addrs::ModuleSource`'s display form).
    pub source: String,
    /// The exact version chosen from a registry.
    pub version: Option<String>,
    /// Where the module's files are, relative to the working directory (forward slashes).
    pub dir: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    pub records: BTreeMap<String, Record>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("error unmarshalling snapshot: {0}")]
    Json(String),
    #[error("snapshot file contains two records for path {0}")]
    Duplicate(String),
}

impl Manifest {
    /// Reads the manifest in `modules_dir`; a missing file is an empty manifest.
    pub fn read(modules_dir: &Path) -> Result<Manifest, ManifestError> {
        match std::fs::read(modules_dir.join(MANIFEST_FILE)) {
            Ok(bytes) => Manifest::parse(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Manifest::default()),
            Err(e) => Err(e.into()),
        }
    }

    pub fn parse(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        if bytes.is_empty() {
            return Ok(m);
        }
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        let empty = Vec::new();
        let list = doc
            .get("Modules")
            .and_then(|v| v.as_array())
            .unwrap_or(&empty);
        for r in list {
            let s = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let mut source = s("Source");
            // Older Terraform wrote sources un-normalised; compare in today's form.
            if !source.is_empty() {
                if let Ok(a) = addrs::parse_module_source(&source) {
                    source = a.to_string();
                }
            }
            let version = Some(s("Version")).filter(|v| !v.is_empty());
            let rec = Record {
                key: s("Key"),
                source,
                version,
                dir: s("Dir"),
            };
            if m.records.contains_key(&rec.key) {
                return Err(ManifestError::Duplicate(rec.key));
            }
            m.records.insert(rec.key.clone(), rec);
        }
        Ok(m)
    }

    /// The file's bytes exactly as Terraform writes them.
    pub fn render(&self) -> String {
        let mut out = String::from("{\"Modules\":[");
        for (i, r) in self.records.values().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"Key\":");
            go_json_string(&r.key, &mut out);
            out.push_str(",\"Source\":");
            go_json_string(&r.source, &mut out);
            if let Some(v) = &r.version {
                out.push_str(",\"Version\":");
                go_json_string(v, &mut out);
            }
            out.push_str(",\"Dir\":");
            go_json_string(&r.dir, &mut out);
            out.push('}');
        }
        out.push_str("]}");
        out
    }

    /// Writes the manifest into `modules_dir` (through a temporary file, so a reader never
    /// sees half of it).
    pub fn write(&self, modules_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(modules_dir)?;
        let tmp = modules_dir.join(format!(".{MANIFEST_FILE}.tmp"));
        std::fs::write(&tmp, self.render())?;
        std::fs::rename(&tmp, modules_dir.join(MANIFEST_FILE))
    }
}

/// A JSON string as Go's `encoding/json` writes it (`<`, `>`, `&`, U+2028 and U+2029 escaped).
pub fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_terraform_bytes() {
        // Written by Terraform 1.11.4 for a root with a local and a git module.
        let tf = r#"{"Modules":[{"Key":"","Source":"","Dir":"."},{"Key":"net","Source":"git::file:///srv/net.git?depth=1\u0026ref=v1","Dir":".terraform/modules/net"},{"Key":"net.sub","Source":"./sub","Dir":".terraform/modules/net/sub"},{"Key":"reg","Source":"registry.terraform.io/a/b/c","Version":"1.2.0","Dir":".terraform/modules/reg"}]}"#;
        let m = Manifest::parse(tf.as_bytes()).unwrap();
        assert_eq!(
            m.records["net"].source,
            "git::file:///srv/net.git?depth=1&ref=v1"
        );
        assert_eq!(m.records["reg"].version.as_deref(), Some("1.2.0"));
        assert_eq!(m.render(), tf);
    }

    #[test]
    fn duplicate_keys_are_rejected() {
        let e = Manifest::parse(br#"{"Modules":[{"Key":"a","Source":"./a","Dir":"a"},{"Key":"a","Source":"./a","Dir":"a"}]}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "snapshot file contains two records for path a"
        );
    }
}
