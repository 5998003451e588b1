//! Test fixtures: git repositories with history, archives, and an installer run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use getmodules::{Env, InstallOptions, Installed, Installer, Setup};

pub fn have_git() -> bool {
    Command::new("git").arg("--version").output().is_ok()
}

/// Runs git in `dir` with a fixed identity and dates, so commits are reproducible.
pub fn git(dir: &Path, args: &[&str]) -> String {
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
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A module repository: `main.tf` says which commit it is (`output "rev"`), and from `v2`
/// on, `modules/net` calls its sibling `../common` (a local path inside the package).
pub struct Repo {
    pub dir: PathBuf,
    /// Commit id by label: c1 (tag v1.0.0), c2 (tag v2.0.0), c3 (branch feature), c4 (main).
    pub commits: BTreeMap<&'static str, String>,
}

impl Repo {
    pub fn url(&self) -> String {
        format!("file://{}", self.dir.display())
    }
}

pub fn rev_module(rev: &str) -> String {
    format!("output \"rev\" {{\n  value = \"{rev}\"\n}}\n")
}

pub fn make_repo(parent: &Path, name: &str) -> Repo {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    git(&dir, &["init", "-q", "-b", "main"]);
    let mut commits = BTreeMap::new();
    write(&dir, "main.tf", &rev_module("c1"));
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "c1"]);
    git(&dir, &["tag", "v1.0.0"]);
    commits.insert("c1", git(&dir, &["rev-parse", "HEAD"]));
    write(&dir, "main.tf", &rev_module("c2"));
    write(
        &dir,
        "modules/net/main.tf",
        "module \"common\" {\n  source = \"../common\"\n}\n",
    );
    write(&dir, "modules/common/main.tf", &rev_module("common"));
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "c2"]);
    git(&dir, &["tag", "-a", "v2.0.0", "-m", "v2"]);
    commits.insert("c2", git(&dir, &["rev-parse", "HEAD"]));
    git(&dir, &["checkout", "-q", "-b", "feature"]);
    write(&dir, "main.tf", &rev_module("c3"));
    git(&dir, &["commit", "-qam", "c3"]);
    commits.insert("c3", git(&dir, &["rev-parse", "HEAD"]));
    git(&dir, &["checkout", "-q", "main"]);
    write(&dir, "main.tf", &rev_module("c4"));
    git(&dir, &["commit", "-qam", "c4"]);
    commits.insert("c4", git(&dir, &["rev-parse", "HEAD"]));
    Repo { dir, commits }
}

pub fn process_env() -> Env {
    Env::new(std::env::vars().filter(|(k, _)| !k.starts_with("TF_TOKEN_")))
}

pub fn setup(cache: Option<&Path>) -> Setup {
    Setup {
        env: process_env(),
        cache_dir: cache.map(Path::to_path_buf),
        ..Default::default()
    }
}

/// Installs the modules of the configuration in `root`; returns the result and the lines.
pub fn install(root: &Path, setup: &Setup, upgrade: bool) -> (Installed, Vec<String>) {
    let installer = Installer::new(setup);
    let opts = InstallOptions {
        root_dir: root.to_path_buf(),
        modules_dir: ".terraform/modules".into(),
        upgrade,
        parallelism: 4,
    };
    let mut lines = Vec::new();
    let r = installer.install(&opts, &mut |l: &str| lines.push(l.to_string()));
    (r, lines)
}

pub fn manifest(root: &Path) -> String {
    std::fs::read_to_string(root.join(".terraform/modules/modules.json")).unwrap()
}

pub fn errors(i: &Installed) -> Vec<(String, String)> {
    i.diagnostics
        .errors()
        .map(|d| (d.summary.clone(), d.detail.clone()))
        .collect()
}

pub fn read(root: &Path, rel: &str) -> String {
    std::fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A `.tar.gz` of `files` (path, contents).
pub fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    for (p, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, p, text.as_bytes()).unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

pub fn zip(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (p, text) in files {
        w.start_file(*p, zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut w, text.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}
