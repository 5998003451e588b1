//! Terraform and weir taking turns in one directory, live against Terraform 1.11.4 where it is
//! installed (skipped with a message otherwise): each reads the other's state and plans no
//! changes, sees the other's lock and names its holder, and uses the other's workspaces.

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{ok, weir, which};

const CONFIG: &str = r#"
variable "v" {
  default = "one"
}
resource "terraform_data" "a" {
  input = var.v
}
resource "terraform_data" "b" {
  count = 2
  input = terraform_data.a.output
}
output "ws" {
  value = terraform.workspace
}
"#;

fn terraform() -> Option<std::path::PathBuf> {
    let tf = which("terraform");
    if tf.is_none() {
        eprintln!("skipped: terraform is not installed");
    }
    tf
}

fn tf_cmd(tf: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(tf);
    c.args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_IN_AUTOMATION", "1")
        .env_remove("TF_WORKSPACE");
    c
}

fn tf(tf: &Path, dir: &Path, args: &[&str]) -> Output {
    tf_cmd(tf, dir, args).output().unwrap()
}

fn code_of(out: &Output) -> (Option<i32>, String) {
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn setup(tf_bin: &Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("main.tf"), CONFIG).unwrap();
    assert!(tf(tf_bin, d.path(), &["init", "-no-color"])
        .status
        .success());
    d
}

/// A process waiting at its confirmation prompt, holding the lock, stdin a pipe we hold.
struct Prompting {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Prompting {
    fn start(mut cmd: Command) -> Prompting {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let out = out.clone();
            // Raw chunks, not lines: a prompt has no newline after it.
            std::thread::spawn(move || {
                let mut stream = stream;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    let mut o = out.lock().unwrap_or_else(|e| e.into_inner());
                    o.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            });
        }
        Prompting { child, out }
    }

    /// Waits until its output contains `text` (partial lines count once complete).
    fn wait_for(&mut self, text: &str, also: impl Fn() -> bool) {
        let start = Instant::now();
        loop {
            if self
                .out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(text)
                && also()
            {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "ended ({status}) before {text:?}:\n{}",
                    self.out.lock().unwrap_or_else(|e| e.into_inner())
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "no {text:?} in:\n{}",
                self.out.lock().unwrap_or_else(|e| e.into_inner())
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answer(mut self, text: &str) -> (Option<i32>, String) {
        let mut stdin = self.child.stdin.take().unwrap();
        let _ = stdin.write_all(text.as_bytes());
        drop(stdin);
        let status = self.child.wait().unwrap();
        // Let the reader threads drain.
        std::thread::sleep(Duration::from_millis(50));
        (
            status.code(),
            self.out.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        )
    }
}

fn lock_id(dir: &Path) -> String {
    let text = std::fs::read(dir.join(".terraform.tfstate.lock.info")).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&text).unwrap();
    v["ID"].as_str().unwrap().to_owned()
}

#[test]
fn terraform_and_weir_take_turns_in_one_directory() {
    let Some(tf_bin) = terraform() else { return };
    let d = setup(&tf_bin);
    let dir = d.path();
    assert!(tf(&tf_bin, dir, &["apply", "-auto-approve", "-no-color"])
        .status
        .success());
    let terraforms = std::fs::read(dir.join("terraform.tfstate")).unwrap();
    // weir reads Terraform's state where Terraform left it: nothing to do.
    let (code, out) = code_of(&weir(dir, &["plan", "-detailed-exitcode"]));
    assert_eq!(code, Some(0), "{out}");
    // ... and records it in its history as found there.
    let hist = ok(dir, &["state", "history"]);
    assert!(hist.contains("external"), "{hist}");

    // weir applies a change; Terraform reads weir's state: nothing to do.
    ok(dir, &["apply", "-auto-approve", "-var", "v=two"]);
    let (code, out) = code_of(&tf(
        &tf_bin,
        dir,
        &["plan", "-detailed-exitcode", "-no-color", "-var", "v=two"],
    ));
    assert_eq!(code, Some(0), "{out}");
    // Terraform's backup rule held: the backup is the state before weir's change.
    assert_eq!(
        std::fs::read(dir.join("terraform.tfstate.backup")).unwrap(),
        terraforms
    );

    // Terraform applies again; weir rolls back to the version weir wrote; Terraform reads it.
    assert!(tf(
        &tf_bin,
        dir,
        &["apply", "-auto-approve", "-no-color", "-var", "v=three"]
    )
    .status
    .success());
    let (code, out) = code_of(&weir(
        dir,
        &["plan", "-detailed-exitcode", "-var", "v=three"],
    ));
    assert_eq!(code, Some(0), "{out}");
    let hist = ok(dir, &["state", "history"]);
    let weirs = hist
        .lines()
        .find(|l| l.contains(" apply "))
        .and_then(|l| l.split_whitespace().find(|w| w.parse::<u64>().is_ok()))
        .unwrap()
        .to_owned();
    ok(dir, &["state", "rollback", &weirs]);
    let (code, out) = code_of(&tf(
        &tf_bin,
        dir,
        &["plan", "-detailed-exitcode", "-no-color", "-var", "v=two"],
    ));
    assert_eq!(code, Some(0), "{out}");
    let (code, out) = code_of(&tf(
        &tf_bin,
        dir,
        &["plan", "-detailed-exitcode", "-no-color", "-var", "v=three"],
    ));
    assert_eq!(code, Some(2), "{out}");
}

#[test]
fn each_sees_the_others_lock_and_names_the_holder() {
    let Some(tf_bin) = terraform() else { return };
    let d = setup(&tf_bin);
    let dir = d.path();
    ok(dir, &["apply", "-auto-approve"]);
    let info = dir.join(".terraform.tfstate.lock.info");

    // Terraform waits at its prompt, holding the lock: weir plan fails with its lock error.
    let mut cmd = tf_cmd(&tf_bin, dir, &["apply", "-no-color", "-var", "v=two"]);
    cmd.env_remove("TF_IN_AUTOMATION");
    let mut held = Prompting::start(cmd);
    held.wait_for("Enter a value:", || info.exists());
    let id = lock_id(dir);
    let (code, out) = code_of(&weir(dir, &["plan", "-no-color"]));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Error: Error acquiring the state lock"),
        "{out}"
    );
    assert!(out.contains(&format!("  ID:        {id}\n")), "{out}");
    assert!(out.contains("  Path:      terraform.tfstate\n"), "{out}");
    assert!(out.contains("  Operation: OperationTypeApply\n"), "{out}");
    assert!(out.contains("  Version:   1.11.4\n"), "{out}");
    let (code, out) = held.answer("no\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(!info.exists());

    // The reverse: weir waits at its prompt; Terraform's plan fails naming weir's lock.
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_weir"));
    cmd.args(["apply", "-no-color", "-var", "v=two"])
        .current_dir(dir)
        .env("WEIR_FORCE_PROMPT", "1")
        .env_remove("TF_WORKSPACE");
    let mut held = Prompting::start(cmd);
    held.wait_for("Enter a value:", || info.exists());
    let id = lock_id(dir);
    let (code, out) = code_of(&tf(&tf_bin, dir, &["plan", "-no-color"]));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Error: Error acquiring the state lock"),
        "{out}"
    );
    assert!(out.contains(&format!("  ID:        {id}\n")), "{out}");
    assert!(out.contains("  Operation: OperationTypeApply\n"), "{out}");

    // A Terraform that waits for weir's lock (-lock-timeout) holds the old file open; weir
    // replaces it, and that Terraform must fail loudly rather than write where nobody looks.
    let waiting = Prompting::start(tf_cmd(
        &tf_bin,
        dir,
        &[
            "apply",
            "-auto-approve",
            "-no-color",
            "-lock-timeout=120s",
            "-var",
            "v=three",
        ],
    ));
    let mut waiting = waiting;
    waiting.wait_for("Acquiring state lock", || true);
    let (code, out) = held.answer("yes\n");
    assert_eq!(code, Some(0), "{out}");
    let weirs = std::fs::read(dir.join("terraform.tfstate")).unwrap();
    let (code, out) = waiting.answer("");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("Error: Unsupported state file format"),
        "{out}"
    );
    assert!(out.contains("run-the-command-again"), "{out}");
    assert_eq!(std::fs::read(dir.join("terraform.tfstate")).unwrap(), weirs);
    // Run again, it reads weir's state.
    let (code, out) = code_of(&tf(
        &tf_bin,
        dir,
        &["plan", "-detailed-exitcode", "-no-color", "-var", "v=two"],
    ));
    assert_eq!(code, Some(0), "{out}");
}

#[test]
fn workspaces_made_by_one_are_listed_and_used_by_the_other() {
    let Some(tf_bin) = terraform() else { return };
    let d = setup(&tf_bin);
    let dir = d.path();
    assert!(tf(&tf_bin, dir, &["workspace", "new", "tfws", "-no-color"])
        .status
        .success());
    assert!(tf(&tf_bin, dir, &["apply", "-auto-approve", "-no-color"])
        .status
        .success());
    // weir sees Terraform's selection and workspace, and its state there.
    assert_eq!(ok(dir, &["workspace", "show"]), "tfws\n");
    assert_eq!(ok(dir, &["workspace", "list"]), "  default\n* tfws\n\n");
    assert_eq!(ok(dir, &["output", "-raw", "ws"]), "tfws");
    let (code, out) = code_of(&weir(dir, &["plan", "-detailed-exitcode"]));
    assert_eq!(code, Some(0), "{out}");

    // weir makes one; Terraform lists it, selects it (weir's selection) and plans weir's state.
    ok(dir, &["workspace", "new", "weirws"]);
    ok(dir, &["apply", "-auto-approve"]);
    let out = tf(&tf_bin, dir, &["workspace", "list", "-no-color"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "  default\n  tfws\n* weirws\n\n"
    );
    let (code, out) = code_of(&tf(
        &tf_bin,
        dir,
        &["plan", "-detailed-exitcode", "-no-color"],
    ));
    assert_eq!(code, Some(0), "{out}");
    let out = tf(&tf_bin, dir, &["output", "-raw", "ws"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "weirws");
    // And Terraform deletes the workspace weir made, after switching away.
    assert!(tf(&tf_bin, dir, &["workspace", "select", "default"])
        .status
        .success());
    assert!(
        tf(&tf_bin, dir, &["workspace", "delete", "-force", "weirws"])
            .status
            .success()
    );
    assert_eq!(ok(dir, &["workspace", "list"]), "* default\n  tfws\n\n");
}
