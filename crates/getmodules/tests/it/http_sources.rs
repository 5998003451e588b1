//! HTTP sources: archives (tar.gz, zip, tar.bz2, `?archive=`), `X-Terraform-Get` headers and
//! `<meta name="terraform-get">` pages, and their failures (404, corrupt archive, no source,
//! relative redirect), compared with Terraform where it is installed.

use std::sync::Arc;

use crate::fixtures::*;
use crate::git_sources::{module_lines, terraform_init};
use crate::server::{Reply, Server};

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
    std::io::Write::write_all(&mut e, data).unwrap();
    e.finish().unwrap()
}

fn plain_tar(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (p, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, p, text.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

fn archive_server(repo_url: String) -> Server {
    let files = [
        ("main.tf", rev_module("archive").leak() as &str),
        (
            "sub/main.tf",
            "module \"leaf\" {\n  source = \"../leaf\"\n}\n",
        ),
        ("leaf/main.tf", "variable \"x\" {\n  default = 1\n}\n"),
    ];
    let targz = tar_gz(&files);
    let zipped = zip(&files);
    let tbz = bz2(&plain_tar(&files));
    let port_cell: Arc<std::sync::OnceLock<u16>> = Arc::new(std::sync::OnceLock::new());
    let pc = port_cell.clone();
    let server = Server::start(
        Arc::new(move |req| {
            let port = pc.get().copied().unwrap_or(0);
            let base = format!("http://127.0.0.1:{port}");
            match req.path() {
                "/a/mod.tar.gz" | "/a/pkg" => Reply::new(200, targz.clone()),
                "/a/mod.zip" => Reply::new(200, zipped.clone()),
                "/a/mod.tar.bz2" => Reply::new(200, tbz.clone()),
                "/corrupt.tgz" => Reply::new(200, b"this is not gzip".to_vec()),
                "/redirect" => Reply::new(200, "").header(
                    "X-Terraform-Get",
                    &format!("{base}/a/mod.tar.gz"),
                ),
                "/meta" => Reply::new(
                    200,
                    format!("<html><head><meta name=\"terraform-get\" content=\"{base}/a/mod.zip//leaf\"></head><body></body></html>"),
                ),
                "/meta-sub" => Reply::new(
                    200,
                    format!("<html><head><meta name=\"terraform-get\" content=\"{base}/a/mod.zip//sub\"></head><body></body></html>"),
                ),
                "/to-git" => Reply::new(200, "")
                    .header("X-Terraform-Get", &format!("git::{repo_url}?ref=v1.0.0")),
                "/noget" => Reply::new(200, "<html><head></head><body>nothing</body></html>"),
                "/relative" => Reply::new(200, "").header("X-Terraform-Get", "./a/mod.tar.gz"),
                _ => Reply::new(404, "not found"),
            }
        }),
        None,
    );
    port_cell.set(server.port).unwrap();
    server
}

fn config(base: &str) -> String {
    format!(
        r#"module "targz" {{
  source = "{base}/a/mod.tar.gz"
}}
module "zipped" {{
  source = "{base}/a/mod.zip//sub"
}}
module "bz" {{
  source = "{base}/a/mod.tar.bz2"
}}
module "param" {{
  source = "{base}/a/pkg?archive=tar.gz"
}}
module "header" {{
  source = "{base}/redirect"
}}
module "meta" {{
  source = "{base}/meta"
}}
module "togit" {{
  source = "{base}/to-git"
}}
"#
    )
}

#[test]
fn archives_and_terraform_get_redirects_install_as_terraform_does() {
    if !have_git() {
        eprintln!("skipping: git is not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = make_repo(tmp.path(), "repo");
    let server = archive_server(repo.url());
    let base = format!("http://127.0.0.1:{}", server.port);
    let root = tmp.path().join("cfg");
    write(&root, "main.tf", &config(&base));
    let (r, lines) = install(&root, &setup(None), false);
    assert!(errors(&r).is_empty(), "{:?}", errors(&r));
    let m = ".terraform/modules";
    for key in ["targz", "bz", "param", "header"] {
        assert!(
            read(&root, &format!("{m}/{key}/main.tf")).contains("archive"),
            "{key}"
        );
    }
    assert!(read(&root, &format!("{m}/zipped/sub/main.tf")).contains("leaf"));
    assert!(read(&root, &format!("{m}/zipped/leaf/main.tf")).contains("default"));
    // A meta page naming `…zip//leaf` installs just that subdirectory.
    assert!(read(&root, &format!("{m}/meta/main.tf")).contains("default"));
    assert!(read(&root, &format!("{m}/togit/main.tf")).contains("c1"));
    let text = manifest(&root);
    assert!(text.contains(&format!(
        "{{\"Key\":\"zipped\",\"Source\":\"{base}/a/mod.zip//sub\",\"Dir\":\".terraform/modules/zipped/sub\"}},{{\"Key\":\"zipped.leaf\",\"Source\":\"../leaf\",\"Dir\":\".terraform/modules/zipped/leaf\"}}"
    )), "{text}");

    let tfdir = tmp.path().join("tf");
    write(&tfdir, "main.tf", &config(&base));
    if let Some((ok, out)) = terraform_init(&tfdir, &[]) {
        assert!(ok, "{out}");
        assert_eq!(module_lines(&out), lines);
        assert_eq!(manifest(&tfdir), manifest(&root));
    } else {
        eprintln!("terraform not installed: live comparison skipped");
    }
}

#[test]
fn http_failures_use_go_getters_messages() {
    let tmp = tempfile::tempdir().unwrap();
    let server = archive_server(String::new());
    let base = format!("http://127.0.0.1:{}", server.port);
    let root = tmp.path().join("cfg");
    let cfg = format!(
        "module \"missing\" {{\n  source = \"{base}/missing.tar.gz\"\n}}\n\nmodule \"corrupt\" {{\n  source = \"{base}/corrupt.tgz\"\n}}\n\nmodule \"noget\" {{\n  source = \"{base}/noget\"\n}}\n\nmodule \"relative\" {{\n  source = \"{base}/relative\"\n}}\n\nmodule \"page404\" {{\n  source = \"{base}/nothing-here\"\n}}\n\nmodule \"escape\" {{\n  source = \"{base}/meta-sub\"\n}}\n"
    );
    write(&root, "main.tf", &cfg);
    let (r, lines) = install(&root, &setup(None), false);
    let errs = errors(&r);
    assert_eq!(errs.len(), 6, "{errs:?}");
    let find = |name: &str| {
        errs.iter()
            .find(|(_, d)| d.contains(&format!("module \"{name}\"")))
            .unwrap_or_else(|| panic!("{name}: {errs:?}"))
            .1
            .clone()
    };
    assert_eq!(
        find("missing"),
        format!("Could not download module \"missing\" (main.tf:1) source code from \"{base}/missing.tar.gz\": bad response code: 404")
    );
    let corrupt = find("corrupt");
    assert!(
        corrupt.starts_with(&format!("Could not download module \"corrupt\" (main.tf:5) source code from \"{base}/corrupt.tgz\": Error opening a gzip reader for "))
            && corrupt.ends_with("/archive: gzip: invalid header"),
        "{corrupt}"
    );
    assert_eq!(
        find("noget"),
        format!("Could not download module \"noget\" (main.tf:9) source code from \"{base}/noget\": error downloading '{base}/noget': no source URL was returned")
    );
    assert_eq!(
        find("relative"),
        format!("Could not download module \"relative\" (main.tf:13) source code from \"{base}/relative\": error downloading '{base}/relative': invalid source string: ./a/mod.tar.gz")
    );
    assert_eq!(
        find("page404"),
        format!("Could not download module \"page404\" (main.tf:17) source code from \"{base}/nothing-here\": error downloading '{base}/nothing-here': bad response code: 404")
    );

    // Only a subdirectory was fetched, so its `../leaf` leaves the package.
    assert!(errs.contains(&(
        "Local module path escapes module package".to_string(),
        format!("The given source directory for module.escape.module.leaf would be outside of its containing package \"{base}/meta-sub\". Local source addresses starting with \"../\" must stay within the same package that the calling module belongs to.")
    )), "{errs:?}");

    let tfdir = tmp.path().join("tf");
    write(&tfdir, "main.tf", &cfg);
    if let Some((ok, out)) = terraform_init(&tfdir, &[]) {
        assert!(!ok);
        assert!(
            out.contains("Local module path escapes module package"),
            "{out}"
        );
        assert_eq!(module_lines(&out), lines);
        let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
        for name in ["missing", "noget", "relative", "page404"] {
            let d = find(name).split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(&d), "terraform said:\n{out}\nweir: {d}");
        }
        assert!(flat.contains("gzip: invalid header"), "{out}");
    }
}
