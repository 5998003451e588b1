//! Acceptance against reality: the platform stack (`tests/aws/main.tf`) driven through the real
//! AWS provider 5.100.0 against a moto server on 127.0.0.1 — plan and apply, change counts,
//! dynamic blocks and default tags, a no-change re-plan, an `import` block, destroy — with
//! Terraform as the oracle where it is installed (its plans on the same state must equal
//! weir's, and each tool must read the other's state and plan no changes).
//!
//! `tests/aws/create_plan.golden` is `terraform plan` of the fresh stack (progress lines and
//! the saved-plan footer removed); it is re-checked against the live binary when present.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{assert_json_eq, json, which};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/aws");

/// The provider binary: `$WEIR_TEST_AWS_PROVIDER`, or the machine's filesystem mirror.
pub(crate) fn aws_provider() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("WEIR_TEST_AWS_PROVIDER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let known = Path::new("/opt/tf-plugins/registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64/terraform-provider-aws_v5.100.0_x5");
    known.is_file().then(|| known.to_path_buf())
}

/// A moto server on a free port, killed on drop.
pub(crate) struct Moto {
    child: Child,
    port: u16,
}

impl Moto {
    pub(crate) fn start(exe: &Path) -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(exe)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates an S3 bucket behind weir's back (moto does not check signatures).
    fn create_bucket(&self, name: &str) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        assert!(resp.starts_with("HTTP/1.1 200"), "create bucket: {resp}");
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A working directory for one tool: the stack, its variables and a CLI config naming the
/// machine's mirror (the one in the environment may not exist).
struct Stack {
    dir: PathBuf,
    cli_config: PathBuf,
}

impl Stack {
    fn new(root: &Path, name: &str, mirror: &Path, endpoint: &str) -> Stack {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(Path::new(FIXTURE).join("main.tf"), dir.join("main.tf")).unwrap();
        let cli_config = root.join(format!("{name}.tfrc"));
        std::fs::write(
            &cli_config,
            format!(
                "provider_installation {{\n  filesystem_mirror {{\n    path    = {:?}\n    include = [\"registry.terraform.io/*/*\"]\n  }}\n}}\n",
                mirror.display().to_string()
            ),
        )
        .unwrap();
        let s = Stack { dir, cli_config };
        s.vars(endpoint, 2, "[80, 443]", "platform");
        s
    }

    fn vars(&self, endpoint: &str, subnets: u32, ports: &str, team: &str) {
        std::fs::write(
            self.dir.join("terraform.tfvars"),
            format!("endpoint = {endpoint:?}\nsubnet_count = {subnets}\ningress_ports = {ports}\nteam = {team:?}\n"),
        )
        .unwrap();
    }

    fn run(&self, exe: &Path, args: &[&str]) -> Output {
        Command::new(exe)
            .args(args)
            .current_dir(&self.dir)
            .env("TF_CLI_CONFIG_FILE", &self.cli_config)
            .env("XDG_CACHE_HOME", self.dir.join(".cache"))
            .env("CHECKPOINT_DISABLE", "1")
            .env("NO_COLOR", "1")
            .env_remove("TF_LOG")
            .env_remove("TF_WORKSPACE")
            .output()
            .expect("run")
    }
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn weir_exe() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_weir"))
}

fn must(tool: &str, args: &[&str], o: Output) -> String {
    assert!(o.status.success(), "{tool} {args:?} failed: {}", text(&o));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn weir(s: &Stack, args: &[&str]) -> String {
    must("weir", args, s.run(&weir_exe(), args))
}

/// The plan text without progress lines (their order follows the parallel walk) and without
/// the footer that names the tool.
fn plan_body(out: &str) -> String {
    let kept: Vec<&str> = out
        .lines()
        .filter(|l| {
            !(l.contains(": Reading...")
                || l.contains(": Read complete after")
                || l.contains(": Refreshing state..."))
        })
        .collect();
    let mut t = kept.join("\n");
    if let Some(i) = t.find("\n─────") {
        t.truncate(i);
    }
    if let Some(i) = t.find("\nSaved the plan to:") {
        t.truncate(i);
    }
    t.trim_end().to_string() + "\n"
}

/// Asserts that `tool` (weir or terraform) plans no changes in `s`.
fn no_changes(s: &Stack, tool: &Path, what: &str) {
    let o = s.run(tool, &["plan", "-input=false", "-detailed-exitcode"]);
    assert_eq!(o.status.code(), Some(0), "{what}: {}", text(&o));
}

/// A Terraform working directory holding weir's current state, with the changed variables,
/// initialised.
fn terraform_on_weir_state(
    w: &Stack,
    tf: &Path,
    root: &Path,
    name: &str,
    mirror: &Path,
    endpoint: &str,
) -> Stack {
    let t = Stack::new(root, name, mirror, endpoint);
    t.vars(endpoint, 3, "[80, 443, 8443]", "platform-eng");
    std::fs::write(t.dir.join("terraform.tfstate"), weir(w, &["state", "pull"])).unwrap();
    must("terraform", &["init"], t.run(tf, &["init", "-input=false"]));
    t
}

/// Asserts equal texts, showing only the lines that differ.
fn same_text(what: &str, weir: &str, terraform: &str) {
    if weir == terraform {
        return;
    }
    let (w, t): (Vec<&str>, Vec<&str>) = (weir.lines().collect(), terraform.lines().collect());
    let mut diffs = Vec::new();
    for i in 0..w.len().max(t.len()) {
        let (a, b) = (w.get(i).copied(), t.get(i).copied());
        if a != b {
            diffs.push(format!(
                "line {}:\n  weir:      {a:?}\n  terraform: {b:?}",
                i + 1
            ));
        }
    }
    diffs.truncate(20);
    panic!("{what} differs from Terraform's:\n{}", diffs.join("\n"));
}

/// `(address, actions)` of a saved plan's resource changes, sorted.
fn actions(show_json: &str) -> Vec<(String, Vec<String>)> {
    let v = json(show_json);
    let mut out: Vec<(String, Vec<String>)> = v["resource_changes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|rc| {
                    let acts = rc["change"]["actions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_str().unwrap().to_string())
                        .collect();
                    (rc["address"].as_str().unwrap().to_string(), acts)
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn platform_stack_against_moto() {
    let Some(provider) = aws_provider() else {
        eprintln!("SKIPPED: the AWS provider 5.100.0 is not installed (looked in /opt/tf-plugins and $WEIR_TEST_AWS_PROVIDER)");
        return;
    };
    let Some(moto_exe) = which("moto_server") else {
        eprintln!("SKIPPED: moto_server is not on PATH (scripts/install-test-deps.sh installs moto[server])");
        return;
    };
    // …/<mirror>/registry.terraform.io/hashicorp/aws/<version>/<os_arch>/<binary>
    let mirror = provider.ancestors().nth(6).unwrap().to_path_buf();
    let terraform = which("terraform");
    if terraform.is_none() {
        eprintln!("NOTE: terraform is not installed; comparing with the recorded golden only");
    }
    let moto = Moto::start(&moto_exe);
    let root = tempfile::tempdir().unwrap();
    let w = Stack::new(root.path(), "weir", &mirror, &moto.url());

    // 1. Plan and apply the fresh stack; the plan reads as Terraform's.
    weir(&w, &["init", "-input=false"]);
    let out = weir(&w, &["plan", "-input=false", "-out=create.plan"]);
    let golden = std::fs::read_to_string(Path::new(FIXTURE).join("create_plan.golden")).unwrap();
    same_text(
        "create plan (recorded Terraform)",
        &plan_body(&out),
        &plan_body(&golden),
    );
    if let Some(tf) = &terraform {
        let t = Stack::new(root.path(), "tf-fresh", &mirror, &moto.url());
        must("terraform", &["init"], t.run(tf, &["init", "-input=false"]));
        let tout = must(
            "terraform",
            &["plan"],
            t.run(tf, &["plan", "-input=false", "-no-color"]),
        );
        same_text(
            "create plan (live Terraform)",
            &plan_body(&out),
            &plan_body(&tout),
        );
    }
    let applied = weir(&w, &["apply", "-input=false", "create.plan"]);
    assert!(
        applied.contains("Apply complete! Resources: 13 added, 0 changed, 0 destroyed."),
        "{applied}"
    );
    let outputs = json(&weir(&w, &["output", "-json"]));
    assert!(
        outputs["vpc_id"]["value"]
            .as_str()
            .unwrap()
            .starts_with("vpc-"),
        "{outputs}"
    );
    assert_eq!(outputs["subnet_ids"]["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        outputs["bucket_arn"]["value"],
        "arn:aws:s3:::weir-artifacts"
    );

    // 2. Re-plan at once: nothing to do.
    no_changes(&w, &weir_exe(), "fresh stack re-plan");

    // 3. Change counts, dynamic blocks and default tags.
    w.vars(&moto.url(), 3, "[80, 443, 8443]", "platform-eng");
    let o = w.run(
        &weir_exe(),
        &[
            "plan",
            "-input=false",
            "-detailed-exitcode",
            "-out=change.plan",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "change plan: {}", text(&o));
    let change_out = String::from_utf8_lossy(&o.stdout).into_owned();
    let change_json = weir(&w, &["show", "-json", "change.plan"]);
    let got = actions(&change_json);
    assert!(
        got.contains(&("aws_subnet.private[2]".into(), vec!["create".into()])),
        "{got:?}"
    );
    assert!(
        got.contains(&("aws_security_group.web".into(), vec!["update".into()])),
        "{got:?}"
    );
    assert!(
        got.contains(&("aws_kms_key.main".into(), vec!["update".into()])),
        "tags_all follows default_tags: {got:?}"
    );
    if let Some(tf) = &terraform {
        // Terraform plans the same change from weir's state.
        let t = terraform_on_weir_state(&w, tf, root.path(), "tf-change", &mirror, &moto.url());
        let tout = must(
            "terraform",
            &["plan"],
            t.run(
                tf,
                &["plan", "-input=false", "-no-color", "-out=change.plan"],
            ),
        );
        same_text("change plan", &plan_body(&change_out), &plan_body(&tout));
        let tjson = must(
            "terraform",
            &["show"],
            t.run(tf, &["show", "-json", "change.plan"]),
        );
        assert_eq!(
            got,
            actions(&tjson),
            "change actions differ from Terraform's"
        );
        // The rest of the document too: the refreshed prior state (data sources read while
        // planning included), the drift refresh found (the provider reads `tags = {}` back
        // where its apply answered null), planned values and changes.
        let (wj, tj) = (json(&change_json), json(&tjson));
        for key in [
            "prior_state",
            "resource_drift",
            "planned_values",
            "resource_changes",
            "output_changes",
        ] {
            assert_json_eq(&format!("show -json {key}"), &wj[key], &tj[key]);
        }
        // A refresh-only plan shows that drift as Terraform does.
        let wout = weir(&w, &["plan", "-refresh-only", "-input=false", "-no-color"]);
        let tout = must(
            "terraform",
            &["plan", "-refresh-only"],
            t.run(tf, &["plan", "-refresh-only", "-input=false", "-no-color"]),
        );
        assert!(wout.contains("has changed"), "{wout}");
        same_text("refresh-only plan", &plan_body(&wout), &plan_body(&tout));
    }
    let applied = weir(&w, &["apply", "-input=false", "change.plan"]);
    assert!(applied.contains("Apply complete!"), "{applied}");

    // 4. After the change, a plan finds nothing to do. The applied plan recorded what refresh
    //    had found, so a refresh-only plan shows only what the provider reads back differently
    //    from what it answered at apply, exactly as Terraform shows it from the same state.
    no_changes(&w, &weir_exe(), "re-plan after change");
    let ro = weir(&w, &["plan", "-refresh-only", "-input=false", "-no-color"]);
    assert!(!ro.contains("aws_kms_key.main has changed"), "{ro}");
    if let Some(tf) = &terraform {
        let t = terraform_on_weir_state(&w, tf, root.path(), "tf-ro", &mirror, &moto.url());
        let tout = must(
            "terraform",
            &["plan", "-refresh-only"],
            t.run(tf, &["plan", "-refresh-only", "-input=false", "-no-color"]),
        );
        same_text(
            "refresh-only plan after apply",
            &plan_body(&ro),
            &plan_body(&tout),
        );
    }

    // 5. Terraform reads weir's state and plans no changes, and weir reads Terraform's.
    if let Some(tf) = &terraform {
        let t = terraform_on_weir_state(&w, tf, root.path(), "tf-cross", &mirror, &moto.url());
        no_changes(&t, tf, "terraform on weir's state");
        // Terraform applies a tag change; weir takes its state and agrees nothing is left.
        t.vars(&moto.url(), 3, "[80, 443, 8443]", "platform-sre");
        must(
            "terraform",
            &["apply"],
            t.run(tf, &["apply", "-input=false", "-auto-approve"]),
        );
        w.vars(&moto.url(), 3, "[80, 443, 8443]", "platform-sre");
        let pushed = w.run(
            &weir_exe(),
            &["state", "push", "../tf-cross/terraform.tfstate"],
        );
        assert!(pushed.status.success(), "state push: {}", text(&pushed));
        no_changes(&w, &weir_exe(), "weir on Terraform's state");
    }

    // 6. Adopt a bucket created outside weir with an `import` block.
    moto.create_bucket("weir-imported");
    let mut cfg = std::fs::read_to_string(w.dir.join("main.tf")).unwrap();
    cfg.push_str("\nimport {\n  to = aws_s3_bucket.imported\n  id = \"weir-imported\"\n}\n\nresource \"aws_s3_bucket\" \"imported\" {\n  bucket = \"weir-imported\"\n}\n");
    std::fs::write(w.dir.join("main.tf"), cfg).unwrap();
    let out = weir(&w, &["plan", "-input=false", "-out=import.plan"]);
    // As in Terraform, the import also sets force_destroy, which AWS cannot report back.
    assert!(out.contains("# (imported from \"weir-imported\")"), "{out}");
    assert!(
        out.contains("Plan: 1 to import, 0 to add, 1 to change, 0 to destroy."),
        "{out}"
    );
    let applied = weir(&w, &["apply", "-input=false", "import.plan"]);
    assert!(applied.contains("1 imported"), "{applied}");
    assert!(weir(&w, &["state", "list"])
        .lines()
        .any(|l| l == "aws_s3_bucket.imported"));
    no_changes(&w, &weir_exe(), "re-plan after import");

    // 7. Destroy everything.
    let out = weir(&w, &["destroy", "-input=false", "-auto-approve"]);
    assert!(
        out.contains("Destroy complete! Resources: 15 destroyed."),
        "{out}"
    );
    assert_eq!(weir(&w, &["state", "list"]).trim(), "");
}

/// Runs `expr` through `tool console` in `s`, as the golden records it: the output and the
/// exit code.
fn console_answer(s: &Stack, tool: &Path, expr: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(tool)
        .args(["console", "-no-color"])
        .current_dir(&s.dir)
        .env("TF_CLI_CONFIG_FILE", &s.cli_config)
        .env("XDG_CACHE_HOME", s.dir.join(".cache"))
        .env("CHECKPOINT_DISABLE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("console");
    writeln!(child.stdin.take().unwrap(), "{expr}").unwrap();
    let o = child.wait_with_output().unwrap();
    format!(
        "{}{}exit {}\n",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
        o.status.code().unwrap_or(-1)
    )
}

/// Provider-defined functions of the real AWS provider, called from `weir console`: results
/// and every failure (unknown function, undeclared provider, arity, null, type, the provider's
/// own error) read as Terraform's, recorded in `functions.golden` (live Terraform too, where
/// installed). A plan with the function in an output equals Terraform's.
#[test]
fn provider_functions_against_terraform() {
    let Some(provider) = aws_provider() else {
        eprintln!("SKIPPED: the AWS provider 5.100.0 is not installed (looked in /opt/tf-plugins and $WEIR_TEST_AWS_PROVIDER)");
        return;
    };
    let mirror = provider.ancestors().nth(6).unwrap().to_path_buf();
    let root = tempfile::tempdir().unwrap();
    // Functions need no provider configuration: no endpoint, no moto.
    let s = Stack::new(root.path(), "functions", &mirror, "http://127.0.0.1:9");
    std::fs::write(
        s.dir.join("main.tf"),
        "terraform {\n  required_providers {\n    aws = {\n      source = \"hashicorp/aws\"\n    }\n  }\n}\n\noutput \"parsed\" {\n  value = provider::aws::arn_parse(\"arn:aws:s3:::weir-artifacts\")\n}\n",
    )
    .unwrap();
    std::fs::remove_file(s.dir.join("terraform.tfvars")).unwrap();
    weir(&s, &["init", "-input=false"]);
    let exprs = std::fs::read_to_string(Path::new(FIXTURE).join("functions.txt")).unwrap();
    let mut got = String::new();
    for e in exprs.lines().filter(|l| !l.trim().is_empty()) {
        got.push_str(&format!("== {e}\n"));
        got.push_str(&console_answer(&s, &weir_exe(), e));
    }
    let golden = std::fs::read_to_string(Path::new(FIXTURE).join("functions.golden")).unwrap();
    same_text("provider function answers", &got, &golden);
    let plan = weir(&s, &["plan", "-input=false", "-no-color"]);
    assert!(plan.contains("+ service    = \"s3\""), "{plan}");
    if let Some(tf) = which("terraform") {
        must(
            "terraform",
            &["init"],
            s.run(&tf, &["init", "-input=false"]),
        );
        let mut live = String::new();
        for e in exprs.lines().filter(|l| !l.trim().is_empty()) {
            live.push_str(&format!("== {e}\n"));
            live.push_str(&console_answer(&s, &tf, e));
        }
        same_text("provider function answers (live terraform)", &got, &live);
        let tplan = must(
            "terraform",
            &["plan"],
            s.run(&tf, &["plan", "-input=false", "-no-color"]),
        );
        same_text("plan with a provider function", &plan, &tplan);
    }
}
