//! `.terraform.lock.hcl`: the provider versions and hashes selected by `init`, written
//! byte-identical to Terraform's file.

use std::collections::BTreeMap;

use hcl_edit::expr::Expression;
use hcl_edit::structure::Structure;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockedProvider {
    pub version: String,
    pub constraints: Option<String>,
    pub hashes: Vec<String>,
}

/// Locked providers by full source address.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockFile {
    pub providers: BTreeMap<String, LockedProvider>,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockFileError(pub String);

impl LockFile {
    pub fn parse(text: &str) -> Result<LockFile, LockFileError> {
        let body = hcl_edit::parser::parse_body(text).map_err(|e| {
            LockFileError(format!(
                "Failed to read dependency lock file: {}",
                e.message()
            ))
        })?;
        let mut lf = LockFile::default();
        for s in body.iter() {
            let Structure::Block(b) = s else { continue };
            if b.ident.value().as_str() != "provider" {
                continue;
            }
            let Some(addr) = b.labels.first().map(|l| l.as_str().to_string()) else {
                continue;
            };
            let mut p = LockedProvider {
                version: String::new(),
                constraints: None,
                hashes: Vec::new(),
            };
            for a in b.body.iter() {
                let Structure::Attribute(a) = a else { continue };
                match (a.key.value().as_str(), &a.value) {
                    ("version", Expression::String(s)) => p.version = s.value().to_string(),
                    ("constraints", Expression::String(s)) => {
                        p.constraints = Some(s.value().to_string())
                    }
                    ("hashes", Expression::Array(arr)) => {
                        p.hashes = arr
                            .iter()
                            .filter_map(|e| match e {
                                Expression::String(s) => Some(s.value().to_string()),
                                _ => None,
                            })
                            .collect()
                    }
                    _ => {}
                }
            }
            lf.providers.insert(addr, p);
        }
        Ok(lf)
    }

    /// Terraform's exact layout.
    pub fn render(&self) -> String {
        let mut s = String::from("# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n");
        for (addr, p) in &self.providers {
            s.push_str(&format!("\nprovider \"{addr}\" {{\n"));
            match &p.constraints {
                Some(c) => {
                    s.push_str(&format!("  version     = \"{}\"\n", p.version));
                    s.push_str(&format!("  constraints = \"{c}\"\n"));
                }
                None => s.push_str(&format!("  version = \"{}\"\n", p.version)),
            }
            s.push_str("  hashes = [\n");
            let mut hs = p.hashes.clone();
            hs.sort();
            hs.dedup();
            for h in hs {
                s.push_str(&format!("    \"{h}\",\n"));
            }
            s.push_str("  ]\n}\n");
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written by terraform 1.11.4 `init` against the AWS provider mirror.
    const TERRAFORM: &str = "# This file is maintained automatically by \"terraform init\".\n# Manual edits may be lost in future updates.\n\nprovider \"registry.terraform.io/hashicorp/aws\" {\n  version     = \"5.100.0\"\n  constraints = \"~> 5.0\"\n  hashes = [\n    \"h1:edXOJWE4ORX8Fm+dpVpICzMZJat4AX0VRCAy/xkcOc0=\",\n  ]\n}\n";

    #[test]
    fn round_trips_terraforms_file() {
        let lf = LockFile::parse(TERRAFORM).unwrap();
        assert_eq!(
            lf.providers["registry.terraform.io/hashicorp/aws"].version,
            "5.100.0"
        );
        assert_eq!(lf.render(), TERRAFORM);
    }
}
