//! `apply -json` and `destroy -json` against Terraform's machine-readable stream: the same
//! events (version, planned changes, summaries, apply hooks, outputs) in the same order, with
//! timestamps, object ids and durations normalised. Compared with `tests/apply_json.golden`
//! and, where installed, with the live binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::which;

fn normalise(line: &str) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
    let m = v.as_object_mut().unwrap();
    m.remove("@timestamp");
    if let Some(h) = m.get_mut("hook").and_then(|h| h.as_object_mut()) {
        if h.contains_key("id_value") {
            h.insert("id_value".into(), "ID".into());
        }
        if h.contains_key("elapsed_seconds") {
            h.insert("elapsed_seconds".into(), 0.into());
        }
    }
    if let Some(msg) = m.get("@message").and_then(|x| x.as_str()) {
        let mut s = msg.to_string();
        if let Some(i) = s.find("[id=") {
            s.replace_range(i.., "[id=ID]");
        }
        if let Some(i) = s.find(" after ") {
            let end = s[i..].find('s').map_or(s.len(), |p| i + p + 1);
            s.replace_range(i..end, " after Ns");
        }
        m.insert("@message".into(), s.into());
    }
    sorted(&v).to_string()
}

/// The value with object keys in sorted order (the stream's key order is not part of it).
fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let b: std::collections::BTreeMap<&String, serde_json::Value> =
                m.iter().map(|(k, v)| (k, sorted(v))).collect();
            serde_json::to_value(b).unwrap()
        }
        serde_json::Value::Array(a) => a.iter().map(sorted).collect(),
        other => other.clone(),
    }
}

/// Create, change and destroy a small stack with `program`, collecting the normalised stream.
fn transcript(program: &Path) -> String {
    let dir = tempfile::tempdir().unwrap();
    let write = |input: &str| {
        std::fs::write(
            dir.path().join("main.tf"),
            format!(
                "resource \"terraform_data\" \"a\" {{\n  input = \"{input}\"\n}}\n\nresource \"terraform_data\" \"b\" {{\n  input = terraform_data.a.output\n}}\n\noutput \"o\" {{\n  value = terraform_data.b.output\n}}\n"
            ),
        )
        .unwrap();
    };
    let run = |args: &[&str]| {
        let o = Command::new(program)
            .args(args)
            .current_dir(dir.path())
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    run(&["init", "-input=false"]);
    let mut t = String::new();
    for (step, input, args) in [
        ("create", "x", &["apply", "-auto-approve", "-json"][..]),
        ("change", "y", &["apply", "-auto-approve", "-json"]),
        ("no-op", "y", &["apply", "-auto-approve", "-json"]),
        ("destroy", "y", &["destroy", "-auto-approve", "-json"]),
    ] {
        write(input);
        t.push_str(&format!("# {step}\n"));
        // Terraform lists planned changes in the order its concurrent walk produced them;
        // a run of them is compared as a set.
        let mut run_of_changes: Vec<String> = Vec::new();
        for l in run(args).lines() {
            let n = normalise(l);
            if n.contains("\"type\":\"planned_change\"") {
                run_of_changes.push(n);
                continue;
            }
            run_of_changes.sort();
            for c in run_of_changes.drain(..) {
                t.push_str(&c);
                t.push('\n');
            }
            t.push_str(&n);
            t.push('\n');
        }
    }
    t
}

fn golden_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/apply_json.golden")
}

/// `WEIR_RECORD_APPLY_JSON=1` re-records the golden from the installed Terraform.
#[test]
fn apply_json_stream_matches_terraform() {
    if std::env::var_os("WEIR_RECORD_APPLY_JSON").is_some() {
        let tf = which("terraform").expect("terraform to record with");
        std::fs::write(golden_path(), transcript(&tf)).unwrap();
    }
    let golden = std::fs::read_to_string(golden_path()).unwrap();
    let got = transcript(Path::new(env!("CARGO_BIN_EXE_weir")));
    for (i, (g, w)) in golden.lines().zip(got.lines()).enumerate() {
        assert_eq!(w, g, "line {} of the stream differs", i + 1);
    }
    assert_eq!(got.lines().count(), golden.lines().count(), "{got}");
    if let Some(tf) = which("terraform") {
        assert_eq!(
            transcript(&tf),
            golden,
            "apply_json.golden against live terraform"
        );
    }
}
