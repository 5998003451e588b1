//! `weir console` against the corpus recorded from `terraform console`
//! (`tests/console/cases.txt` → `golden.jsonl`, by `scripts/record_console.py`): every
//! built-in function and language feature, with results and errors compared byte for byte.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::copy_dir;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/console")
}

struct Case {
    expr: String,
    stdout: String,
    stderr: String,
    code: i32,
}

fn golden() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus_dir().join("golden.jsonl")).unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            Case {
                expr: v["expr"].as_str().unwrap().to_string(),
                stdout: v["stdout"].as_str().unwrap().to_string(),
                stderr: v["stderr"].as_str().unwrap().to_string(),
                code: v["code"].as_i64().unwrap() as i32,
            }
        })
        .collect()
}

fn run(program: &Path, dir: &Path, expr: &str) -> (String, String, i32) {
    let mut child = Command::new(program)
        .args(["console", "-no-color"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_WORKSPACE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start console");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{expr}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code().unwrap_or(-1),
    )
}

fn known_differences() -> BTreeSet<String> {
    std::fs::read_to_string(corpus_dir().join("known_differences.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

#[test]
fn console_matches_terraform_on_the_corpus() {
    let work = tempfile::tempdir().unwrap();
    copy_dir(&corpus_dir().join("fixture"), work.path());
    let weir = PathBuf::from(env!("CARGO_BIN_EXE_weir"));
    let cases = golden();
    let mut differ = BTreeSet::new();
    let mut report = String::new();
    for c in &cases {
        let (stdout, stderr, code) = run(&weir, work.path(), &c.expr);
        if (stdout.as_str(), stderr.as_str(), code)
            != (c.stdout.as_str(), c.stderr.as_str(), c.code)
        {
            differ.insert(c.expr.clone());
            report.push_str(&format!(
                "--- {}\n weir ({code}): {stdout:?} {stderr:?}\n terraform ({}): {:?} {:?}\n",
                c.expr, c.code, c.stdout, c.stderr
            ));
        }
    }
    let known = known_differences();
    let matched = cases.len() - differ.len();
    eprintln!(
        "console corpus: {matched}/{} cases match Terraform 1.11.4 ({} known differences)",
        cases.len(),
        known.len()
    );
    let new: Vec<&String> = differ.difference(&known).collect();
    let fixed: Vec<&String> = known.difference(&differ).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "new differences: {new:#?}\nknown differences that now match (remove them from known_differences.txt): {fixed:#?}\n{report}"
    );
}

/// Re-checks the recorded answers against the installed `terraform`, so a golden file that no
/// longer matches the oracle is noticed.
#[test]
fn console_golden_matches_live_terraform() {
    let Some(tf) = crate::common::which("terraform") else {
        eprintln!("terraform is not installed: live comparison skipped");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    copy_dir(&corpus_dir().join("fixture"), work.path());
    let mut stale = Vec::new();
    for c in golden() {
        // Results that change from run to run are compared by the weir test only.
        if c.expr.contains("timestamp()") || c.expr.contains("abspath") {
            continue;
        }
        let (stdout, stderr, code) = run(&tf, work.path(), &c.expr);
        if (stdout.as_str(), stderr.as_str(), code)
            != (c.stdout.as_str(), c.stderr.as_str(), c.code)
        {
            stale.push(c.expr);
        }
    }
    assert!(
        stale.is_empty(),
        "golden answers differ from the live terraform: {stale:#?}"
    );
}
