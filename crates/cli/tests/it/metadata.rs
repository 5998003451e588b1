//! `weir metadata functions -json` against `terraform metadata functions -json`
//! (`tests/metadata/functions.json`): every built-in function and its `core::` alias with the
//! same parameters, nullability, variadic parameter and return type. Terraform's prose
//! descriptions are its documentation text and are not reproduced.

use std::path::Path;
use std::process::Command;

use crate::common::{weir, which};

fn without_descriptions(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(sigs) = v["function_signatures"].as_object_mut() {
        for sig in sigs.values_mut() {
            let Some(sig) = sig.as_object_mut() else {
                continue;
            };
            sig.remove("description");
            if let Some(ps) = sig.get_mut("parameters").and_then(|p| p.as_array_mut()) {
                for p in ps {
                    p.as_object_mut().map(|p| p.remove("description"));
                }
            }
            if let Some(p) = sig
                .get_mut("variadic_parameter")
                .and_then(|p| p.as_object_mut())
            {
                p.remove("description");
            }
        }
    }
    v
}

fn check(want: serde_json::Value) {
    let out = weir(Path::new("."), &["metadata", "functions", "-json"]);
    assert!(out.status.success());
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (got, want) = (without_descriptions(got), without_descriptions(want));
    assert_eq!(got["format_version"], want["format_version"]);
    let (g, w) = (
        got["function_signatures"].as_object().unwrap(),
        want["function_signatures"].as_object().unwrap(),
    );
    let mut diffs: Vec<String> = w
        .iter()
        .filter(|(name, sig)| g.get(*name) != Some(sig))
        .map(|(name, sig)| format!("{name}: terraform {sig}, weir {:?}", g.get(name)))
        .collect();
    diffs.extend(
        g.keys()
            .filter(|k| !w.contains_key(*k))
            .map(|k| format!("{k}: not a Terraform function")),
    );
    assert!(
        diffs.is_empty(),
        "signature differences:\n{}",
        diffs.join("\n")
    );
    assert_eq!(g.len(), 236, "118 functions, each also as core::NAME");
}

#[test]
fn function_signatures_match_terraform() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/metadata/functions.json");
    check(serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap());
}

#[test]
fn function_signatures_match_live_terraform() {
    let Some(tf) = which("terraform") else {
        eprintln!("terraform not installed: the recorded signatures were checked instead");
        return;
    };
    let out = Command::new(tf)
        .args(["metadata", "functions", "-json"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    assert!(out.status.success());
    check(serde_json::from_slice(&out.stdout).unwrap());
}

#[test]
fn metadata_functions_requires_json() {
    let out = weir(Path::new("."), &["metadata", "functions"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("requires the `-json` flag"), "{err}");
}
