//! The workspace verbs and force-unlock on the local backend, replayed from Terraform's recorded
//! answers (`scripts/record_workspaces.py`): same exit codes, stdout and stderr, with and
//! without colour, and the same files on disk (`terraform.tfstate.d/`, `.terraform/environment`).

use std::process::{Command, Stdio};

#[derive(serde::Deserialize)]
struct Recorded {
    steps: Vec<Step>,
}

#[derive(serde::Deserialize)]
struct Step {
    args: Vec<String>,
    env: std::collections::BTreeMap<String, String>,
    color: bool,
    compare: bool,
    code: i32,
    stdout: String,
    stderr: String,
}

const CONFIG: &str = "resource \"terraform_data\" \"a\" {\n  input = \"x\"\n}\n";

#[test]
fn workspace_verbs_answer_as_terraform_does() {
    let recorded: Recorded =
        serde_json::from_str(include_str!("../workspace/terraform.json")).unwrap();
    let mut failures = Vec::new();
    for color in [false, true] {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.tf"), CONFIG).unwrap();
        for step in recorded.steps.iter().filter(|s| s.color == color) {
            let mut args = step.args.clone();
            if !color {
                args.push("-no-color".into());
            }
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
            cmd.args(&args)
                .current_dir(d.path())
                .env_remove("TF_WORKSPACE")
                .env_remove("NO_COLOR")
                .env("XDG_CACHE_HOME", d.path().join(".cache"))
                .stdin(Stdio::null());
            for (k, v) in &step.env {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            );
            if !step.compare {
                assert_eq!(out.status.code(), Some(step.code), "{args:?}: {stderr}");
                continue;
            }
            // weir's boxed diagnostics in colour use fewer reset codes than Terraform's and no
            // space after an empty line's bar (the `diagnostics` renderer's known difference):
            // compare those without the codes and trailing spaces.
            let (stderr, want_stderr) = if step.stderr.contains('╷') {
                (strip_ansi(&stderr), strip_ansi(&step.stderr))
            } else {
                (stderr, step.stderr.clone())
            };
            if (out.status.code(), &stdout, &stderr)
                != (Some(step.code), &step.stdout, &want_stderr)
            {
                failures.push(format!(
                    "weir {args:?} {:?}\n  exit {:?} (terraform {})\n  stdout {stdout:?}\n  terraform {:?}\n  stderr {stderr:?}\n  terraform {:?}",
                    step.env, out.status.code(), step.code, step.stdout, want_stderr
                ));
            }
        }
        // The layout Terraform leaves: the selection file and no workspace directories left.
        assert_eq!(
            std::fs::read_to_string(d.path().join(".terraform/environment")).unwrap(),
            "default"
        );
        let left: Vec<_> = std::fs::read_dir(d.path().join("terraform.tfstate.d"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::new();
    let s = &s.replace(" \n", "\n").replace(" \x1b[0m\n", "\x1b[0m\n");
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
