//! The module registry protocol against a registry served over HTTPS on 127.0.0.1 with a
//! self-signed certificate (trusted through `SSL_CERT_FILE` for Terraform, `TlsRoots` for
//! weir): service discovery, version selection, relative and git download locations,
//! credentials, and the errors for a missing module, an unsatisfiable constraint and an
//! unreachable host.

use std::sync::Arc;

use getmodules::http::TlsRoots;
use getmodules::Setup;

use crate::fixtures::*;
use crate::git_sources::{module_lines, terraform_init};
use crate::server::{self_signed, Reply, Server};

const TOKEN: &str = "s3cr3t-token";

struct Registry {
    server: Server,
    host: String,
    ca_file: std::path::PathBuf,
}

fn registry(tmp: &std::path::Path, repo_url: String) -> Registry {
    let tls = self_signed(tmp);
    let archive = tar_gz(&[
        ("main.tf", &rev_module("registry-1.2.0")),
        ("modules/sub/main.tf", &rev_module("registry-sub")),
    ]);
    let server = Server::start(
        Arc::new(move |req| {
            let authed = req.header("authorization") == Some(&format!("Bearer {TOKEN}"));
            match req.path() {
                "/.well-known/terraform.json" => {
                    Reply::new(200, "{\"modules.v1\":\"/api/modules/v1/\"}")
                        .header("Content-Type", "application/json")
                }
                // Archives are fetched without the registry's credentials, as Terraform does.
                p if p.starts_with("/api/modules/v1/") && !authed && !p.ends_with(".tar.gz") => {
                    Reply::new(401, "no")
                }
                "/api/modules/v1/acme/net/aws/versions" => Reply::new(
                    200,
                    r#"{"modules":[{"versions":[{"version":"1.0.0"},{"version":"1.2.0"},{"version":"2.0.0"},{"version":"2.1.0-beta1"}]}]}"#,
                ),
                "/api/modules/v1/acme/net/aws/1.2.0/download" => {
                    Reply::new(204, "").header("X-Terraform-Get", "./archive.tar.gz")
                }
                "/api/modules/v1/acme/net/aws/1.2.0/archive.tar.gz" => {
                    Reply::new(200, archive.clone())
                }
                "/api/modules/v1/acme/net/aws/2.0.0/download" => Reply::new(204, "")
                    .header("X-Terraform-Get", &format!("git::{repo_url}?ref=v2.0.0")),
                _ => Reply::new(404, "not found"),
            }
        }),
        Some(tls.config.clone()),
    );
    let host = format!("127.0.0.1:{}", server.port);
    Registry {
        server,
        host,
        ca_file: tls.ca_file,
    }
}

fn reg_setup(r: &Registry) -> Setup {
    let mut env = process_env();
    env.set(&format!("TF_TOKEN_127_0_0_1:{}", r.server.port), TOKEN);
    Setup {
        env,
        tls: TlsRoots {
            cert_file: Some(r.ca_file.clone()),
            cert_dirs: Vec::new(),
        },
        ..Default::default()
    }
}

#[test]
fn registry_versions_locations_and_credentials() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path(), "repo");
    let r = registry(tmp.path(), repo.url());
    let h = &r.host;
    let cfg = format!(
        r#"module "pinned" {{
  source  = "{h}/acme/net/aws"
  version = "~> 1.0"
}}
module "newest" {{
  source  = "{h}/acme/net/aws"
  version = ">= 1.0.0, < 3.0.0"
}}
module "sub" {{
  source  = "{h}/acme/net/aws//modules/net"
  version = "2.0.0"
}}
module "again" {{
  source  = "{h}/acme/net/aws//modules/sub"
  version = "1.2.0"
}}
"#
    );
    let root = tmp.path().join("cfg");
    write(&root, "main.tf", &cfg);
    let (res, lines) = install(&root, &reg_setup(&r), false);
    assert!(errors(&res).is_empty(), "{:?}", errors(&res));
    let m = ".terraform/modules";
    assert!(read(&root, &format!("{m}/pinned/main.tf")).contains("registry-1.2.0"));
    // The pre-release 2.1.0-beta1 is not chosen without being asked for exactly.
    assert!(read(&root, &format!("{m}/newest/main.tf")).contains("c2"));
    assert!(read(&root, &format!("{m}/sub/modules/common/main.tf")).contains("common"));
    assert!(read(&root, &format!("{m}/again/modules/sub/main.tf")).contains("registry-sub"));
    assert_eq!(
        lines,
        vec![
            format!("Downloading {h}/acme/net/aws 1.2.0 for again..."),
            format!("- again in {m}/again/modules/sub"),
            format!("Downloading {h}/acme/net/aws 2.0.0 for newest..."),
            format!("- newest in {m}/newest"),
            format!("Downloading {h}/acme/net/aws 1.2.0 for pinned..."),
            format!("- pinned in {m}/pinned"),
            format!("Downloading {h}/acme/net/aws 2.0.0 for sub..."),
            format!("- sub in {m}/sub/modules/net"),
            format!("- sub.common in {m}/sub/modules/common"),
        ]
    );
    let manifest_text = manifest(&root);
    assert!(manifest_text.contains(&format!(
        "{{\"Key\":\"pinned\",\"Source\":\"{h}/acme/net/aws\",\"Version\":\"1.2.0\",\"Dir\":\".terraform/modules/pinned\"}}"
    )), "{manifest_text}");
    // The versions list is asked for once per package; every API call carries the token.
    let reqs = r.server.requests();
    let api: Vec<_> = reqs
        .iter()
        .filter(|q| q.path().starts_with("/api/"))
        .collect();
    assert_eq!(
        api.iter()
            .filter(|q| q.path().ends_with("/versions"))
            .count(),
        1
    );
    assert!(api
        .iter()
        .filter(|q| !q.path().ends_with(".tar.gz"))
        .all(|q| q.header("authorization") == Some(&format!("Bearer {TOKEN}"))));
    assert!(api.iter().all(
        |q| q.header("x-terraform-version") == Some("1.11.4") || q.path().ends_with(".tar.gz")
    ));

    // Terraform, trusting the same certificate and given the token in a credentials block.
    let tfdir = tmp.path().join("tf");
    write(&tfdir, "main.tf", &cfg);
    write(
        &tfdir,
        ".tfrc-test",
        &format!("credentials \"{h}\" {{\n  token = \"{TOKEN}\"\n}}\n"),
    );
    let ca = r.ca_file.display().to_string();
    match terraform_init(&tfdir, &[("SSL_CERT_FILE", &ca)]) {
        None => eprintln!("terraform not installed: live comparison skipped"),
        Some((ok, out)) => {
            assert!(ok, "{out}");
            assert_eq!(module_lines(&out), lines);
            assert_eq!(manifest(&tfdir), manifest_text);
        }
    }
}

#[test]
fn registry_errors_match_terraform() {
    let tmp = tempfile::tempdir().unwrap();
    let r = registry(tmp.path(), String::new());
    let h = &r.host;
    let cfg = format!(
        "module \"missing\" {{\n  source  = \"{h}/acme/nope/aws\"\n  version = \"1.0.0\"\n}}\n\nmodule \"tight\" {{\n  source  = \"{h}/acme/net/aws\"\n  version = \"~> 3.0\"\n}}\n\nmodule \"down\" {{\n  source = \"127.0.0.1:1/acme/net/aws\"\n}}\n"
    );
    let root = tmp.path().join("cfg");
    write(&root, "main.tf", &cfg);
    let (res, _) = install(&root, &reg_setup(&r), false);
    let errs = errors(&res);
    assert_eq!(
        errs,
        vec![
            (
                "Error accessing remote module registry".to_string(),
                "Failed to retrieve available versions for module \"down\" (main.tf:11) from 127.0.0.1:1: failed to request discovery document: Get \"https://127.0.0.1:1/.well-known/terraform.json\": dial tcp 127.0.0.1:1: connect: connection refused.".to_string()
            ),
            (
                "Module not found".to_string(),
                format!("Module \"missing\" (from main.tf:1) cannot be found in the module registry at {h}.")
            ),
            (
                "Unresolvable module version constraint".to_string(),
                format!("There is no available version of module \"{h}/acme/net/aws\" (main.tf:6) which matches the given version constraint. The newest available version is 2.0.0.")
            ),
        ]
    );
    let tfdir = tmp.path().join("tf");
    write(&tfdir, "main.tf", &cfg);
    write(
        &tfdir,
        ".tfrc-test",
        &format!("credentials \"{h}\" {{\n  token = \"{TOKEN}\"\n}}\n"),
    );
    let ca = r.ca_file.display().to_string();
    if let Some((ok, out)) = terraform_init(&tfdir, &[("SSL_CERT_FILE", &ca)]) {
        assert!(!ok);
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        for (s, d) in &errs {
            let d = d.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains(s) && flat.contains(&d),
                "terraform said:\n{out}\nweir: {d}"
            );
        }
    }
}

#[test]
fn the_public_registry_unreachable_is_reported_as_terraform_does() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("cfg");
    write(
        &root,
        "main.tf",
        "module \"consul\" {\n  source  = \"hashicorp/consul/aws\"\n  version = \"0.1.0\"\n}\n",
    );
    let (res, _) = install(&root, &setup(None), false);
    let errs = errors(&res);
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, "Error accessing remote module registry");
    assert!(
        errs[0].1.starts_with("Failed to retrieve available versions for module \"consul\" (main.tf:1) from registry.terraform.io: failed to request discovery document: Get \"https://registry.terraform.io/.well-known/terraform.json\": "),
        "{}",
        errs[0].1
    );
}
