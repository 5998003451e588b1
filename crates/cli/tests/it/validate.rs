//! `weir validate -json` against the corpus recorded from `terraform validate -json`
//! (`tests/validate/<case>/main.tf` → `golden.json`, by `scripts/record_validate.py`): validity,
//! counts, exit code and every diagnostic (summary, detail, range, snippet) compared exactly,
//! and the goldens re-checked against the live binary where Terraform is installed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{assert_json_eq, which};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/validate")
}

fn cases() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("main.tf").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn known_differences() -> BTreeSet<String> {
    std::fs::read_to_string(corpus_dir().join("known_differences.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Runs `validate -json` on a scratch copy of a case; the answer with the exit code added.
fn answer(program: &Path, case: &str, init: bool) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        corpus_dir().join(case).join("main.tf"),
        dir.path().join("main.tf"),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(dir.path())
            .env("TF_CLI_CONFIG_FILE", "/dev/null")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_WORKSPACE")
            .output()
            .unwrap()
    };
    if init {
        run(&["init", "-input=false", "-backend=false"]);
    }
    let o = run(&["validate", "-json"]);
    let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{case}: validate -json printed invalid JSON ({e}):\n{}",
            String::from_utf8_lossy(&o.stdout)
        )
    });
    v["exit_code"] = o.status.code().unwrap_or(-1).into();
    v
}

fn golden(case: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(corpus_dir().join(case).join("golden.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// What the comparison covers: everything but the format version. Terraform lists a cycle's
/// members in an order that varies between runs, so they are compared as a set.
fn comparable(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(m) = v.as_object_mut() {
        m.remove("format_version");
    }
    for d in v["diagnostics"].as_array_mut().into_iter().flatten() {
        if let Some(names) = d["summary"]
            .as_str()
            .and_then(|s| s.strip_prefix("Cycle: "))
        {
            let mut names: Vec<&str> = names.split(", ").collect();
            names.sort_unstable();
            d["summary"] = format!("Cycle: {}", names.join(", ")).into();
        }
    }
    v
}

#[test]
fn validate_answers_match_terraform() {
    let known = known_differences();
    let weir = PathBuf::from(env!("CARGO_BIN_EXE_weir"));
    let mut still_differ = BTreeSet::new();
    for case in cases() {
        let (got, want) = (
            comparable(answer(&weir, &case, false)),
            comparable(golden(&case)),
        );
        if known.contains(&case) {
            if got != want {
                still_differ.insert(case);
            }
            continue;
        }
        assert_json_eq(&format!("validate {case}"), &got, &want);
    }
    let fixed: Vec<&String> = known.difference(&still_differ).collect();
    assert!(
        fixed.is_empty(),
        "these cases now match Terraform; remove them from known_differences.txt: {fixed:?}"
    );
}

#[test]
fn validate_goldens_match_live_terraform() {
    let Some(tf) = which("terraform") else {
        eprintln!("SKIPPED: terraform is not installed; the recorded goldens stand");
        return;
    };
    for case in cases() {
        let live = comparable(answer(&tf, &case, true));
        assert_json_eq(
            &format!("golden of {case} (re-record with scripts/record_validate.py)"),
            &comparable(golden(&case)),
            &live,
        );
    }
}
