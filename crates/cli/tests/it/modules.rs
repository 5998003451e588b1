//! `weir init`, `weir get` and `weir modules -json` on a configuration with remote (git) and
//! local modules, compared with Terraform's recorded answers (`tests/modules/`, recorded with
//! `WEIR_RECORD_GOLDEN=1` and terraform installed) and, where terraform is installed, live:
//! the same `modules.json`, the same installed trees, and each tool using the other's install.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{ok, weir};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/modules");

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A repository whose `modules/net` calls `../common` inside the same package.
fn repo(parent: &Path) -> PathBuf {
    let dir = parent.join("netmods");
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    write(
        &dir,
        "modules/net/main.tf",
        "module \"common\" {\n  source = \"../common\"\n}\n\noutput \"cidr\" {\n  value = module.common.cidr\n}\n",
    );
    write(
        &dir,
        "modules/common/main.tf",
        "output \"cidr\" {\n  value = \"10.0.0.0/16\"\n}\n",
    );
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "one"]);
    git(&dir, &["tag", "v1"]);
    dir
}

/// One call per level, so Terraform's `modules -json` order (Go map order) is fixed.
fn config(dir: &Path, repo: &Path) {
    write(
        dir,
        "main.tf",
        "module \"app\" {\n  source = \"./app\"\n}\n\noutput \"cidr\" {\n  value = module.app.cidr\n}\n",
    );
    write(
        dir,
        "app/main.tf",
        &format!("module \"net\" {{\n  source = \"git::file://{}//modules/net?ref=v1\"\n}}\n\noutput \"cidr\" {{\n  value = module.net.cidr\n}}\n", repo.display()),
    );
}

fn have(tool: &str) -> bool {
    Command::new(tool).arg("version").output().is_ok()
}

fn terraform(dir: &Path, args: &[&str]) -> (bool, String) {
    let rc = dir.join(".tfrc-test");
    if !rc.exists() {
        std::fs::write(&rc, "").unwrap();
    }
    let out = Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", &rc)
        .env("CHECKPOINT_DISABLE", "1")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn golden(name: &str, weir_text: &str, terraform_text: Option<&str>, repo: &Path) {
    let norm = |s: &str| s.replace(&repo.display().to_string(), "{REPO}");
    let path = format!("{GOLDEN}/{name}");
    if std::env::var_os("WEIR_RECORD_GOLDEN").is_some() {
        let tf = terraform_text.expect("recording needs terraform installed");
        std::fs::create_dir_all(GOLDEN).unwrap();
        std::fs::write(&path, norm(tf)).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(norm(weir_text), want, "{name} differs from Terraform's");
}

/// Every file under `dir` except git's own directory, with contents.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let mut es: Vec<_> = std::fs::read_dir(d).unwrap().flatten().collect();
        es.sort_by_key(|e| e.file_name());
        for e in es {
            let p = e.path();
            if e.file_name() == ".git" {
                continue;
            }
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn init_get_and_modules_json_match_terraform() {
    if !have("git") {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    let dir = tmp.path().join("w");
    config(&dir, &repo);

    // Before init the remote module is missing, and the error points at its block.
    let out = weir(&dir, &["validate", "-no-color"]);
    assert_eq!(out.status.code(), Some(1));
    let err =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(err.contains("Error: Module not installed"), "{err}");
    assert!(err.contains("on app/main.tf line 1:"), "{err}");
    assert!(
        err.contains("This module is not yet installed. Run \"terraform init\" to install all"),
        "{err}"
    );

    let init = ok(&dir, &["init", "-no-color"]);
    assert!(init.contains(&format!("Initializing modules...\n- app in app\nDownloading git::file://{}?ref=v1 for app.net...\n- app.net in .terraform/modules/app.net/modules/net\n- app.net.common in .terraform/modules/app.net/modules/common\n", repo.display())), "{init}");
    ok(&dir, &["validate", "-no-color"]);
    let mods = ok(&dir, &["modules", "-json"]);
    let manifest = std::fs::read_to_string(dir.join(".terraform/modules/modules.json")).unwrap();

    // Already installed: `get` does nothing; `get -update` fetches again.
    assert_eq!(ok(&dir, &["get", "-no-color"]), "");
    let again = ok(&dir, &["get", "-update", "-no-color"]);
    assert!(again.contains("Downloading git::file://"), "{again}");

    let tfdir = tmp.path().join("tf");
    config(&tfdir, &repo);
    let live = have("terraform").then(|| {
        let (ok_init, out) = terraform(&tfdir, &["init", "-no-color", "-backend=false"]);
        assert!(ok_init, "{out}");
        let (ok_mods, mods) = terraform(&tfdir, &["modules", "-json"]);
        assert!(ok_mods, "{mods}");
        let tf_manifest =
            std::fs::read_to_string(tfdir.join(".terraform/modules/modules.json")).unwrap();
        (mods, tf_manifest)
    });
    if live.is_none() {
        eprintln!("terraform not installed: compared with the recorded goldens only");
    }
    golden(
        "modules.json",
        &manifest,
        live.as_ref().map(|l| l.1.as_str()),
        &repo,
    );
    golden(
        "modules-json.out",
        &mods,
        live.as_ref().map(|l| l.0.as_str()),
        &repo,
    );
    if live.is_some() {
        assert_eq!(
            tree(&dir.join(".terraform/modules/app.net")),
            tree(&tfdir.join(".terraform/modules/app.net"))
        );
    }
}

#[test]
fn each_tool_uses_the_others_installed_modules() {
    if !have("git") || !have("terraform") {
        eprintln!("skipping: needs git and terraform");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = repo(tmp.path());
    let hidden = tmp.path().join("hidden");

    // Installed by Terraform, used by weir with the repository gone.
    let a = tmp.path().join("a");
    config(&a, &repo);
    let (done, out) = terraform(&a, &["init", "-no-color", "-backend=false"]);
    assert!(done, "{out}");
    std::fs::rename(&repo, &hidden).unwrap();
    let init = ok(&a, &["init", "-no-color"]);
    assert!(!init.contains("Downloading"), "{init}");
    ok(&a, &["validate", "-no-color"]);
    std::fs::rename(&hidden, &repo).unwrap();

    // Installed by weir, used by Terraform with the repository gone.
    let b = tmp.path().join("b");
    config(&b, &repo);
    ok(&b, &["init", "-no-color"]);
    std::fs::rename(&repo, &hidden).unwrap();
    let (done, out) = terraform(&b, &["init", "-no-color", "-backend=false"]);
    assert!(done, "{out}");
    assert!(!out.contains("Downloading"), "{out}");
    let (valid, out) = terraform(&b, &["validate", "-no-color"]);
    assert!(valid, "{out}");
    std::fs::rename(&hidden, &repo).unwrap();
}
