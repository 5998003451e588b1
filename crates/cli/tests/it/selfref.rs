//! References from a resource's configuration to the resource itself, which Terraform rejects
//! while planning (weir used to plan them and fail during apply): inside nested blocks of a
//! real provider's resource, compared with Terraform's diagnostics recorded in
//! `tests/aws/self_reference.golden` (and live where installed), and the cycle between the
//! instances of a counted resource that refer to the resource as a whole.
//! (The attribute, keyed and `count` cases are in the scenario corpus: `self-reference`.)

use std::path::Path;
use std::process::{Command, Output};

use crate::aws::aws_provider;
use crate::common::which;

const NESTED: &str = r#"provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

resource "aws_security_group" "web" {
  name = "web"

  ingress {
    description = "from ${aws_security_group.web.name}"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
  }

  dynamic "egress" {
    for_each = [80]
    content {
      from_port       = egress.value
      to_port         = egress.value
      protocol        = "tcp"
      security_groups = [aws_security_group.web.id]
    }
  }
}
"#;

fn run(program: &Path, dir: &Path, cli_config: &Path, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .env("CHECKPOINT_DISABLE", "1")
        .env("NO_COLOR", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_WORKSPACE")
        .output()
        .unwrap()
}

/// `program plan` of the nested-block configuration in a fresh directory: its exit code and
/// diagnostics.
fn nested_plan(program: &Path, mirror: &Path) -> (Option<i32>, String) {
    aws_plan(program, mirror, NESTED)
}

/// `program plan` of an AWS provider configuration (from the filesystem mirror) in a fresh
/// directory: its exit code and diagnostics.
pub(crate) fn aws_plan(program: &Path, mirror: &Path, config: &str) -> (Option<i32>, String) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("stack");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("main.tf"), config).unwrap();
    let cli_config = root.path().join("cli.tfrc");
    std::fs::write(
        &cli_config,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
            mirror.display().to_string()
        ),
    )
    .unwrap();
    let init = run(
        program,
        &dir,
        &cli_config,
        &["init", "-input=false", "-no-color"],
    );
    assert!(
        init.status.success(),
        "init: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = run(
        program,
        &dir,
        &cli_config,
        &["plan", "-input=false", "-no-color"],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `WEIR_RECORD_SELF_REFERENCE=1` re-records the golden from the installed Terraform.
#[test]
fn self_references_in_nested_blocks_fail_the_plan() {
    let Some(provider) = aws_provider() else {
        eprintln!("SKIPPED: the AWS provider 5.100.0 is not installed (looked in /opt/tf-plugins and $WEIR_TEST_AWS_PROVIDER)");
        return;
    };
    let mirror = provider.ancestors().nth(6).unwrap().to_path_buf();
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/aws/self_reference.golden");
    if std::env::var_os("WEIR_RECORD_SELF_REFERENCE").is_some() {
        let tf = which("terraform").expect("terraform to record with");
        let (code, err) = nested_plan(&tf, &mirror);
        assert_eq!(code, Some(1), "{err}");
        std::fs::write(&golden, err).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    let (code, got) = nested_plan(Path::new(env!("CARGO_BIN_EXE_weir")), &mirror);
    assert_eq!(code, Some(1), "the plan must fail:\n{got}");
    assert_eq!(got, want, "diagnostics differ from Terraform's");
    if let Some(tf) = which("terraform") {
        let (code, live) = nested_plan(&tf, &mirror);
        assert_eq!(
            (code, live),
            (Some(1), want),
            "golden against live terraform"
        );
    }
}

/// The members of the `Error: Cycle: …` line of a plan, sorted (Terraform's order varies from
/// run to run).
fn cycle_members(stderr: &str) -> Vec<String> {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Error: Cycle: "))
        .unwrap_or_else(|| panic!("no cycle reported:\n{stderr}"));
    let mut m: Vec<String> = line.split(", ").map(String::from).collect();
    m.sort();
    m
}

#[test]
fn instances_referring_to_their_resource_are_a_cycle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("main.tf"),
        "resource \"terraform_data\" \"chain\" {\n  count = 3\n  input = count.index == 0 ? \"first\" : terraform_data.chain[count.index - 1].output\n}\n",
    )
    .unwrap();
    let weir = Path::new(env!("CARGO_BIN_EXE_weir"));
    let out = run(
        weir,
        dir.path(),
        Path::new("/dev/null"),
        &["plan", "-no-color"],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let want = [
        "terraform_data.chain[0]",
        "terraform_data.chain[1]",
        "terraform_data.chain[2]",
    ];
    assert_eq!(cycle_members(&err), want);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Plan:"),
        "nothing is planned"
    );
    if let Some(tf) = which("terraform") {
        let t = tempfile::tempdir().unwrap();
        std::fs::copy(dir.path().join("main.tf"), t.path().join("main.tf")).unwrap();
        let tfo = run(
            &tf,
            t.path(),
            Path::new("/dev/null"),
            &["plan", "-no-color"],
        );
        assert_eq!(tfo.status.code(), Some(1));
        assert_eq!(
            cycle_members(&String::from_utf8_lossy(&tfo.stderr)),
            want,
            "live terraform"
        );
    }
}
