//! An apply killed half-way through a create_before_destroy replacement: the replacement of
//! `a` is recorded and the old object deposed, and a slow update of a parameter that depends
//! on it is under way when the `weir` process gets SIGKILL. The next plan must destroy the deposed
//! object alongside the remaining changes (the parameter's update, and the replacement of
//! `b`, create_before_destroy too, that depends on the parameter), and the next apply must finish the
//! job (Terraform's recovery) instead of failing with a cycle between the destroys of `a` and
//! `b`.
//!
//! The slow resource is an SSM parameter whose endpoint is a listener that accepts connections and
//! never answers, so the provider waits for as long as the test likes; the recovery points the
//! endpoint at a moto server.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::aws::{aws_provider, Moto};
use crate::common::{json, which};

const CONFIG: &str = r#"
variable "generation" {
  type = string
}

variable "moto" {
  type = string
}

variable "ssm" {
  type = string
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true

  endpoints {
    ssm = var.ssm
    sts = var.moto
  }
}

resource "terraform_data" "a" {
  input            = var.generation
  triggers_replace = var.generation
  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_ssm_parameter" "p" {
  name  = "weir-generation"
  type  = "String"
  value = terraform_data.a.output
}

resource "terraform_data" "b" {
  input            = aws_ssm_parameter.p.value
  triggers_replace = aws_ssm_parameter.p.value
  lifecycle {
    create_before_destroy = true
  }
}
"#;

/// A TCP endpoint that accepts connections and never answers; each accepted connection is
/// reported on the channel and kept open.
fn black_hole() -> (String, mpsc::Receiver<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut held: Vec<TcpStream> = Vec::new();
        for s in l.incoming().flatten() {
            let _ = tx.send(());
            held.push(s);
        }
    });
    (url, rx)
}

fn run(dir: &Path, cli_config: &Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_weir"));
    c.args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_WORKSPACE");
    for (k, v) in vars {
        c.arg(format!("-var={k}={v}"));
    }
    c.output().unwrap()
}

fn must(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({:?}):\n{}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The processes whose parent is `pid` (the provider plugins a killed weir leaves behind).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid …; comm may hold spaces, so read after the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

#[test]
fn apply_killed_during_create_before_destroy_recovers() {
    let Some(provider) = aws_provider() else {
        eprintln!("SKIPPED: the AWS provider 5.100.0 is not installed (looked in /opt/tf-plugins and $WEIR_TEST_AWS_PROVIDER)");
        return;
    };
    let Some(moto_exe) = which("moto_server") else {
        eprintln!("SKIPPED: moto_server is not on PATH (scripts/install-test-deps.sh installs moto[server])");
        return;
    };
    let mirror = provider.ancestors().nth(6).unwrap().to_path_buf();
    let moto = Moto::start(&moto_exe);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("stack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), CONFIG).unwrap();
    let cli_config = root.path().join("cli.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
            mirror.display().to_string()
        ),
    )
    .unwrap();
    must(
        run(&dir, &cli_config, &["init", "-input=false"], &[]),
        "init",
    );
    let moto_url = moto.url();
    let gen1 = [("generation", "1"), ("moto", &moto_url), ("ssm", &moto_url)];
    must(
        run(
            &dir,
            &cli_config,
            &["apply", "-auto-approve", "-input=false"],
            &gen1,
        ),
        "first apply",
    );

    // Replace a and update the parameter against the black hole (no refresh, which would wait
    // there too); kill weir once the provider is waiting for the parameter, i.e. after a's
    // replacement is recorded.
    let (hole, connected) = black_hole();
    let gen2 = [("generation", "2"), ("moto", &moto_url), ("ssm", &hole)];
    let mut child = Command::new(env!("CARGO_BIN_EXE_weir"))
        .args(["apply", "-auto-approve", "-input=false", "-refresh=false"])
        .args(gen2.iter().map(|(k, v)| format!("-var={k}={v}")))
        .current_dir(&dir)
        .env("TF_CLI_CONFIG_FILE", &cli_config)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("NO_COLOR", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_WORKSPACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let waited = connected.recv_timeout(Duration::from_secs(180));
    let plugins = children_of(child.id());
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    for p in plugins {
        let _ = Command::new("kill").args(["-9", &p.to_string()]).status();
    }
    if waited.is_err() {
        let mut out = String::new();
        let _ = child.stdout.take().unwrap().read_to_string(&mut out);
        let mut err = String::new();
        let _ = child.stderr.take().unwrap().read_to_string(&mut err);
        panic!("the parameter's update never reached its endpoint ({status}):\n{out}\n{err}");
    }

    // The killed apply recorded a's replacement and deposed the old object.
    let state = json(&must(
        run(&dir, &cli_config, &["show", "-json"], &[]),
        "show",
    ));
    let objects: Vec<&serde_json::Value> = state["values"]["root_module"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["address"] == "terraform_data.a")
        .collect();
    assert_eq!(objects.len(), 2, "current and deposed a: {state:#}");
    assert!(
        objects
            .iter()
            .any(|r| r["deposed_key"].is_string() && r["values"]["input"] == "1"),
        "the old a is deposed: {state:#}"
    );

    // The next plan destroys the deposed object, updates the parameter and replaces b.
    let gen2_moto = [("generation", "2"), ("moto", &moto_url), ("ssm", &moto_url)];
    let plan = must(
        run(
            &dir,
            &cli_config,
            &["plan", "-input=false", "-no-color"],
            &gen2_moto,
        ),
        "plan after the kill",
    );
    assert!(
        plan.contains("# terraform_data.a (deposed object ")
            && plan.contains("# (left over from a partially-failed replacement of this instance)")
            && plan.contains("# aws_ssm_parameter.p will be updated in-place")
            && plan.contains("# terraform_data.b must be replaced")
            && plan.contains("Plan: 1 to add, 1 to change, 2 to destroy."),
        "{plan}"
    );

    // And the apply finishes the job: no deposed object left, everything at generation 2.
    let applied = must(
        run(
            &dir,
            &cli_config,
            &["apply", "-auto-approve", "-input=false"],
            &gen2_moto,
        ),
        "apply after the kill",
    );
    assert!(
        applied.contains("Apply complete! Resources: 1 added, 1 changed, 2 destroyed."),
        "{applied}"
    );
    let state = json(&must(
        run(&dir, &cli_config, &["show", "-json"], &[]),
        "show",
    ));
    let resources = state["values"]["root_module"]["resources"]
        .as_array()
        .unwrap();
    assert!(
        resources.iter().all(|r| r.get("deposed_key").is_none()),
        "{state:#}"
    );
    let addrs: Vec<&str> = resources
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addrs,
        [
            "aws_ssm_parameter.p",
            "terraform_data.a",
            "terraform_data.b"
        ],
        "{state:#}"
    );
    assert!(
        resources
            .iter()
            .all(|r| r["values"]["input"] == "2" || r["values"]["value"] == "2"),
        "{state:#}"
    );
    let plan = run(
        &dir,
        &cli_config,
        &["plan", "-input=false", "-detailed-exitcode"],
        &gen2_moto,
    );
    assert_eq!(plan.status.code(), Some(0), "nothing left to do");
}
