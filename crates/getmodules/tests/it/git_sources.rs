//! Git sources: branch, tag and commit refs, `depth`, `//subdir`, local paths inside a
//! downloaded package, git over smart HTTP, errors, reuse of installed modules, and the cache.
//! Terraform's answers for the same configuration are recorded in `tests/golden/` (and
//! re-checked live where `terraform` is installed).

use std::path::Path;
use std::sync::Arc;

use crate::fixtures::*;
use crate::server::{git_http_backend, Server};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

fn refs_config(repo: &Repo) -> String {
    let url = repo.url();
    let c2 = &repo.commits["c2"];
    format!(
        r#"module "tag" {{
  source = "git::{url}?ref=v1.0.0"
}}
module "branch" {{
  source = "git::{url}?ref=feature"
}}
module "commit" {{
  source = "git::{url}?ref={c2}"
}}
module "short" {{
  source = "git::{url}?ref={short}"
}}
module "head" {{
  source = "git::{url}"
}}
module "shallow" {{
  source = "git::{url}?depth=1&ref=v2.0.0"
}}
module "net" {{
  source = "git::{url}//modules/net?ref=v2.0.0"
}}
"#,
        short = &c2[..10]
    )
}

/// Runs `terraform init` in `dir` (a private CLI config, no network needed) and returns the
/// module lines of its output; `None` when terraform is not installed.
pub fn terraform_init(dir: &Path, extra_env: &[(&str, &str)]) -> Option<(bool, String)> {
    if std::process::Command::new("terraform")
        .arg("version")
        .output()
        .is_err()
    {
        return None;
    }
    let rc = dir.join(".tfrc-test");
    if !rc.exists() {
        std::fs::write(&rc, "").unwrap();
    }
    let mut cmd = std::process::Command::new("terraform");
    cmd.args(["init", "-no-color", "-input=false", "-backend=false"])
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", &rc)
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.success(), text))
}

/// The lines between "Initializing modules..." and the next section.
pub fn module_lines(init_output: &str) -> Vec<String> {
    init_output
        .lines()
        .skip_while(|l| !l.starts_with("Initializing modules..."))
        .skip(1)
        .take_while(|l| !l.is_empty() && !l.starts_with("Initializing "))
        .map(str::to_string)
        .collect()
}

/// Compares `actual` (weir's) with the recorded golden `name`, after replacing
/// run-specific strings. With `WEIR_RECORD_GOLDEN=1` the golden is written from `terraform`
/// (which must then be installed) instead.
fn golden_check(name: &str, actual: &str, terraform: Option<&str>, subst: &[(&str, &str)]) {
    let norm = |s: &str| {
        subst
            .iter()
            .fold(s.to_string(), |acc, (from, to)| acc.replace(from, to))
    };
    let path = format!("{GOLDEN}/{name}");
    if std::env::var_os("WEIR_RECORD_GOLDEN").is_some() {
        let tf = terraform.expect("recording goldens needs terraform installed");
        std::fs::create_dir_all(GOLDEN).unwrap();
        std::fs::write(&path, norm(tf)).unwrap();
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(norm(actual), want, "differs from Terraform's {name}");
}

#[test]
fn git_refs_depth_subdir_and_nested_local_paths_match_terraform() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path(), "repo");
    let root = tmp.path().join("cfg");
    write(&root, "main.tf", &refs_config(&repo));
    let (r, lines) = install(&root, &setup(None), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    let m = ".terraform/modules";
    assert!(read(&root, &format!("{m}/tag/main.tf")).contains("c1"));
    assert!(read(&root, &format!("{m}/branch/main.tf")).contains("c3"));
    assert!(read(&root, &format!("{m}/commit/main.tf")).contains("c2"));
    assert!(read(&root, &format!("{m}/short/main.tf")).contains("c2"));
    assert!(read(&root, &format!("{m}/head/main.tf")).contains("c4"));
    assert!(read(&root, &format!("{m}/shallow/main.tf")).contains("c2"));
    assert!(read(&root, &format!("{m}/net/modules/common/main.tf")).contains("common"));
    // depth=1 gives a one-commit history; so does the fast path for a tag.
    assert_eq!(
        git(
            &root.join(format!("{m}/shallow")),
            &["rev-list", "--count", "HEAD"]
        ),
        "1"
    );
    assert_eq!(
        git(
            &root.join(format!("{m}/tag")),
            &["rev-list", "--count", "HEAD"]
        ),
        "1"
    );

    // The same configuration through the real Terraform, where it is installed.
    let tfdir = tmp.path().join("tf");
    write(&tfdir, "main.tf", &refs_config(&repo));
    let tf = terraform_init(&tfdir, &[]);
    let (tf_manifest, tf_lines) = match &tf {
        None => {
            eprintln!("terraform not installed: compared with the recorded golden only");
            (None, None)
        }
        Some((ok, out)) => {
            assert!(ok, "{out}");
            (
                Some(manifest(&tfdir)),
                Some(module_lines(out).join("\n") + "\n"),
            )
        }
    };
    let repo_path = repo.dir.display().to_string();
    let c2 = repo.commits["c2"].clone();
    let subst = [
        (repo_path.as_str(), "{REPO}"),
        (c2.as_str(), "{C2}"),
        (&c2[..10], "{C2SHORT}"),
    ];
    golden_check(
        "git.modules.json",
        &manifest(&root),
        tf_manifest.as_deref(),
        &subst,
    );
    golden_check(
        "git.init.txt",
        &(lines.join("\n") + "\n"),
        tf_lines.as_deref(),
        &subst,
    );
    if tf.is_some() {
        assert_eq!(tf_manifest.unwrap(), manifest(&root));
        for key in ["tag", "branch", "commit", "short", "head", "shallow", "net"] {
            let a = read(&root, &format!("{m}/{key}/main.tf"));
            let b = read(&tfdir, &format!("{m}/{key}/main.tf"));
            assert_eq!(a, b, "{key}");
        }
    }
}

#[test]
fn installed_modules_are_reused_and_upgrade_fetches_again() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path(), "repo");
    let root = tmp.path().join("cfg");
    write(
        &root,
        "main.tf",
        &format!(
            "module \"m\" {{\n  source = \"git::{}?ref=feature\"\n}}\n",
            repo.url()
        ),
    );
    let (r, _) = install(&root, &setup(None), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    // Move the branch on, then remove the repository: a second init must not need it.
    git(&repo.dir, &["checkout", "-q", "feature"]);
    write(&repo.dir, "main.tf", &rev_module("c5"));
    git(&repo.dir, &["commit", "-qam", "c5"]);
    let moved = tmp.path().join("moved");
    std::fs::rename(&repo.dir, &moved).unwrap();
    let (r, lines) = install(&root, &setup(None), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert!(
        lines.is_empty(),
        "already installed modules print nothing: {lines:?}"
    );
    std::fs::rename(&moved, &repo.dir).unwrap();
    let (r, lines) = install(&root, &setup(None), true);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(read(&root, ".terraform/modules/m/main.tf").contains("c5"));
}

#[test]
fn the_cache_serves_a_second_directory_and_notices_moved_refs() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let srv = tmp.path().join("srv");
    let repo = make_repo(&srv, "r.git");
    let root_dir = srv.clone();
    let server = Server::start(Arc::new(move |req| git_http_backend(&root_dir, req)), None);
    let url = format!("http://127.0.0.1:{}/git/r.git", server.port);
    // A pack is sent only for a fetch command (protocol v2) or a want line (v0) posted to
    // git-upload-pack; listing refs is a POST too, but without either.
    let downloads = || {
        server
            .requests()
            .iter()
            .filter(|r| {
                let body = String::from_utf8_lossy(&r.body);
                r.method == "POST"
                    && r.path().ends_with("/git-upload-pack")
                    && (body.contains("command=fetch") || body.contains("want "))
            })
            .count()
    };
    let cache = tmp.path().join("cache");
    let cfg = |calls: &[(&str, &str)]| {
        calls
            .iter()
            .map(|(n, r)| format!("module \"{n}\" {{\n  source = \"git::{url}?ref={r}\"\n}}\n"))
            .collect::<String>()
    };
    let one = tmp.path().join("one");
    write(
        &one,
        "main.tf",
        &cfg(&[("a", "v1.0.0"), ("b", "v1.0.0"), ("f", "feature")]),
    );
    let (r, _) = install(&one, &setup(Some(&cache)), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    // Two calls of one package: fetched once.
    assert_eq!(downloads(), 2);

    // Another directory: both packages come from the cache; only refs are compared.
    let two = tmp.path().join("two");
    write(&two, "main.tf", &cfg(&[("a", "v1.0.0"), ("f", "feature")]));
    let (r, _) = install(&two, &setup(Some(&cache)), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(downloads(), 2);
    assert!(read(&two, ".terraform/modules/a/main.tf").contains("c1"));
    assert!(read(&two, ".terraform/modules/f/main.tf").contains("c3"));

    // A branch that moved on and a tag that was moved are fetched again.
    git(&repo.dir, &["checkout", "-q", "feature"]);
    write(&repo.dir, "main.tf", &rev_module("c5"));
    git(&repo.dir, &["commit", "-qam", "c5"]);
    git(&repo.dir, &["tag", "-f", "v1.0.0"]);
    let three = tmp.path().join("three");
    write(
        &three,
        "main.tf",
        &cfg(&[("a", "v1.0.0"), ("f", "feature")]),
    );
    let (r, _) = install(&three, &setup(Some(&cache)), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert_eq!(downloads(), 4);
    assert!(read(&three, ".terraform/modules/a/main.tf").contains("c5"));
    assert!(read(&three, ".terraform/modules/f/main.tf").contains("c5"));
}

#[test]
fn bad_ref_and_missing_repository_fail_with_terraforms_wording() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path(), "repo");
    let root = tmp.path().join("cfg");
    let gone = tmp.path().join("gone");
    write(
        &root,
        "main.tf",
        &format!(
            "module \"bad\" {{\n  source = \"git::{u}?ref=nope\"\n}}\n\nmodule \"gone\" {{\n  source = \"git::file://{g}\"\n}}\n\nmodule \"deep\" {{\n  source = \"git::{u}?depth=1&ref={c}\"\n}}\n",
            u = repo.url(),
            g = gone.display(),
            c = repo.commits["c2"]
        ),
    );
    let (r, lines) = install(&root, &setup(None), false);
    let errs = errors(&r);
    assert_eq!(errs.len(), 3, "{errs:?}");
    let git_path = which_git();
    let bad = errs.iter().find(|(_, d)| d.contains("\"bad\"")).unwrap();
    assert_eq!(bad.0, "Failed to download module");
    assert_eq!(
        bad.1,
        format!("Could not download module \"bad\" (main.tf:1) source code from \"git::{u}?ref=nope\": error downloading '{u}?ref=nope': {git_path} exited with 1: error: pathspec 'nope' did not match any file(s) known to git\n", u = repo.url())
    );
    let gone_d = errs.iter().find(|(_, d)| d.contains("\"gone\"")).unwrap();
    assert!(
        gone_d.1.starts_with(&format!("Could not download module \"gone\" (main.tf:5) source code from \"git::file://{g}\": error downloading 'file://{g}': {git_path} exited with 128: Cloning into '.terraform/modules/gone'...\nfatal: ", g = gone.display())),
        "{}",
        gone_d.1
    );
    let deep = errs.iter().find(|(_, d)| d.contains("\"deep\"")).unwrap();
    assert!(
        deep.1
            .ends_with("(note that setting 'depth' requires 'ref' to be a branch or tag name)"),
        "{}",
        deep.1
    );
    assert_eq!(lines.len(), 3, "{lines:?}");

    // Terraform says the same.
    let tfdir = tmp.path().join("tf");
    write(&tfdir, "main.tf", &read(&root, "main.tf"));
    if let Some((ok, out)) = terraform_init(&tfdir, &[]) {
        assert!(!ok);
        assert_eq!(module_lines(&out), lines);
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        for (_, d) in &errs {
            let first = d
                .lines()
                .next()
                .unwrap()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            assert!(flat.contains(&first), "terraform said:\n{out}\nweir: {d}");
        }
    }
}

fn which_git() -> String {
    std::env::var("PATH")
        .unwrap()
        .split(':')
        .map(|d| Path::new(d).join("git"))
        .find(|p| p.is_file())
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn git_over_smart_http_through_http_backend() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repos = tmp.path().join("srv");
    let repo = make_repo(&repos, "net.git");
    let root_dir = repos.clone();
    let server = Server::start(Arc::new(move |req| git_http_backend(&root_dir, req)), None);
    let url = format!("http://127.0.0.1:{}/git/net.git", server.port);
    let root = tmp.path().join("cfg");
    write(
        &root,
        "main.tf",
        &format!("module \"tag\" {{\n  source = \"git::{url}?ref=v2.0.0\"\n}}\nmodule \"sub\" {{\n  source = \"git::{url}//modules/net?ref=main\"\n}}\n"),
    );
    let (r, lines) = install(&root, &setup(None), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    assert!(read(&root, ".terraform/modules/tag/main.tf").contains("c2"));
    assert!(read(&root, ".terraform/modules/sub/modules/common/main.tf").contains("common"));
    assert_eq!(
        lines,
        vec![
            format!("Downloading git::{url}//modules/net?ref=main for sub...")
                .replace("//modules/net", ""),
            "- sub in .terraform/modules/sub/modules/net".to_string(),
            "- sub.common in .terraform/modules/sub/modules/common".to_string(),
            format!("Downloading git::{url}?ref=v2.0.0 for tag..."),
            "- tag in .terraform/modules/tag".to_string(),
        ]
    );
    let _ = repo;
}
