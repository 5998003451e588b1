//! Git packages through the system `git` binary, as Terraform's go-getter does. A fast path
//! fetches only what the module needs (a shallow clone of the named branch or tag, or of the
//! one commit); when it cannot, go-getter's exact command sequence runs, so results and error
//! texts are Terraform's.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use crate::env::Env;

/// A `git::` package address split as go-getter's git getter reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitSource {
    /// The URL git is given (the `ref`, `depth` and `sshkey` parameters removed).
    pub url: String,
    pub reference: Option<String>,
    pub depth: u32,
    pub ssh_key: Option<String>,
    /// The URL as go-getter shows it in errors (query re-encoded, `sshkey` redacted).
    pub shown: String,
}

impl GitSource {
    /// `url` is the package address without its `git::` prefix.
    pub fn parse(url: &str) -> Result<GitSource, String> {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        check_port(base)?;
        let pairs = addrs::module_source::parse_query(query)?;
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let reference = get("ref").filter(|r| !r.is_empty());
        let ssh_key = get("sshkey").filter(|r| !r.is_empty());
        let depth = get("depth").and_then(|d| d.parse().ok()).unwrap_or(0);
        let rest: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "ref" && k != "sshkey" && k != "depth")
            .cloned()
            .collect();
        let with_query = |pairs: &[(String, String)]| {
            let q = addrs::module_source::encode_query(pairs);
            if q.is_empty() {
                base.to_string()
            } else {
                format!("{base}?{q}")
            }
        };
        let shown_pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| {
                if k == "sshkey" {
                    (k.clone(), "redacted".to_string())
                } else {
                    (k.clone(), v.clone())
                }
            })
            .collect();
        Ok(GitSource {
            url: with_query(&rest),
            reference,
            depth,
            ssh_key,
            shown: redact_password(&with_query(&shown_pairs)),
        })
    }
}

fn check_port(base: &str) -> Result<(), String> {
    let Some((_, rest)) = base.split_once("://") else {
        return Ok(());
    };
    let auth = rest.split('/').next().unwrap_or("");
    let host = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
    if let Some((_, port)) = host.rsplit_once(':') {
        if !host.starts_with('[') && port.parse::<u16>().is_err() {
            return Err(format!("invalid port number {port:?}; if using the \"scp-like\" git address scheme where a colon introduces the path instead, remove the ssh:// portion and use just the git:: prefix"));
        }
    }
    Ok(())
}

fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let auth = &rest[..auth_end];
    match auth.rsplit_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:redacted@{host}{}", &rest[auth_end..])
        }
        _ => url.to_string(),
    }
}

/// `git ls-remote` output by repository URL, each computed once.
type RefsByUrl = Mutex<HashMap<String, Arc<OnceLock<Result<String, String>>>>>;

/// The `git` program and the environment it runs with.
#[derive(Clone, Debug)]
pub struct Git {
    program: PathBuf,
    env: Vec<(String, String)>,
    /// `git ls-remote` answers by URL for this run: several packages often share a repository.
    refs: Arc<RefsByUrl>,
}

fn is_full_sha(r: &str) -> bool {
    r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_commit_like(r: &str) -> bool {
    (7..=40).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Git {
    /// Finds `git` on the `PATH` of `env`.
    pub fn find(env: &Env) -> Option<Git> {
        let path = env.get("PATH").unwrap_or("/usr/local/bin:/usr/bin:/bin");
        let program = path
            .split(':')
            .filter(|d| !d.is_empty())
            .map(|d| Path::new(d).join("git"))
            .find(|p| p.is_file())?;
        Some(Git {
            program,
            env: env
                .vars()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            refs: Arc::default(),
        })
    }

    fn command(&self, dir: Option<&Path>, ssh_key_file: Option<&Path>) -> Command {
        let mut c = Command::new(&self.program);
        c.env_clear().envs(self.env.iter().map(|(k, v)| (k, v)));
        c.stdin(Stdio::null());
        if let Some(d) = dir {
            c.current_dir(d);
        }
        if let Some(key) = ssh_key_file {
            let base = self
                .env
                .iter()
                .find(|(k, v)| k == "GIT_SSH_COMMAND" && !v.is_empty())
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| "ssh".into());
            c.env("GIT_SSH_COMMAND", format!("{base} -i {}", key.display()));
        }
        c
    }

    /// Runs git, failing as go-getter's `getRunCommand` words it.
    fn run(&self, mut cmd: Command) -> Result<String, String> {
        let out = cmd
            .output()
            .map_err(|e| format!("error running {}: {e}", self.program.display()))?;
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        if out.status.success() {
            return Ok(text);
        }
        match out.status.code() {
            Some(code) => Err(format!(
                "{} exited with {code}: {text}",
                self.program.display()
            )),
            None => Err(format!("error running {}: {text}", self.program.display())),
        }
    }

    fn git(&self, dir: Option<&Path>, key: Option<&Path>, args: &[&str]) -> Result<String, String> {
        let mut c = self.command(dir, key);
        c.args(args);
        self.run(c)
    }

    /// Writes the `sshkey` parameter to a private temporary file for `GIT_SSH_COMMAND`.
    fn key_file(&self, src: &GitSource) -> Result<Option<tempfile::NamedTempFile>, String> {
        let Some(k) = &src.ssh_key else {
            return Ok(None);
        };
        let raw = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, k)
            .map_err(|e| e.to_string())?;
        let mut f = tempfile::Builder::new()
            .prefix("go-getter")
            .tempfile()
            .map_err(|e| e.to_string())?;
        std::io::Write::write_all(&mut f, &raw).map_err(|e| e.to_string())?;
        Ok(Some(f))
    }

    /// Fetches as little as the module needs into `dst` (which must not exist). Returns
    /// `Err` when this shortcut cannot be taken; the caller then runs [`Git::fetch_exact`].
    pub fn fetch_fast(&self, src: &GitSource, dst: &Path) -> Result<(), String> {
        let key = self.key_file(src)?;
        let key = key.as_ref().map(|k| k.path());
        let dst_s = dst.to_string_lossy().to_string();
        let depth = src.depth.max(1).to_string();
        let mut args = vec!["clone", "--depth", depth.as_str()];
        if let Some(r) = &src.reference {
            args.extend(["--branch", r.as_str()]);
        }
        args.extend(["--", src.url.as_str(), dst_s.as_str()]);
        let cloned = self.git(None, key, &args);
        if cloned.is_err() {
            let _ = std::fs::remove_dir_all(dst);
            let sha = src.reference.as_deref().filter(|r| is_full_sha(r));
            let (Some(sha), 0) = (sha, src.depth) else {
                return cloned.map(|_| ());
            };
            // A commit: fetch just that commit where the server allows it.
            std::fs::create_dir_all(dst).map_err(|e| e.to_string())?;
            self.git(Some(dst), None, &["init", "-q"])?;
            self.git(
                Some(dst),
                None,
                &["remote", "add", "origin", "--", &src.url],
            )?;
            self.git(Some(dst), key, &["fetch", "--depth", "1", "origin", sha])?;
            self.git(Some(dst), None, &["checkout", "-q", "FETCH_HEAD"])?;
        }
        self.submodules(dst, key, src.depth)
    }

    fn submodules(&self, dst: &Path, key: Option<&Path>, depth: u32) -> Result<(), String> {
        if !dst.join(".gitmodules").exists() {
            return Ok(());
        }
        let d = depth.to_string();
        let mut args = vec!["submodule", "update", "--init", "--recursive"];
        if depth > 0 {
            args.extend(["--depth", d.as_str()]);
        }
        self.git(Some(dst), key, &args).map(|_| ())
    }

    /// go-getter's git getter, step for step: `dst` is given relative to `cwd` as Terraform
    /// gives it (so git's own messages, which name it, read the same).
    pub fn fetch_exact(&self, src: &GitSource, cwd: &Path, dst: &str) -> Result<(), String> {
        let key = self.key_file(src)?;
        let key = key.as_ref().map(|k| k.path());
        let mut args: Vec<String> = vec!["clone".into()];
        let depth = src.depth;
        if depth > 0 {
            let branch = match &src.reference {
                Some(r) => r.clone(),
                None => self.remote_default_branch(&src.url),
            };
            args.extend([
                "--depth".into(),
                depth.to_string(),
                "--branch".into(),
                branch,
            ]);
        }
        args.extend(["--".into(), src.url.clone(), dst.into()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let abs = cwd.join(dst);
        if let Err(e) = self.git(Some(cwd), key, &argv) {
            if depth > 0 && src.reference.as_deref().is_some_and(is_commit_like) {
                return Err(format!(
                    "{e} (note that setting 'depth' requires 'ref' to be a branch or tag name)"
                ));
            }
            return Err(e);
        }
        if let Some(r) = &src.reference {
            if depth < 1 {
                self.git(Some(&abs), None, &["checkout", r])?;
            }
            self.git(Some(&abs), None, &["checkout", r])?;
        }
        self.submodules_exact(&abs, key, depth)
    }

    fn submodules_exact(&self, dst: &Path, key: Option<&Path>, depth: u32) -> Result<(), String> {
        let d = depth.to_string();
        let mut args = vec!["submodule", "update", "--init", "--recursive"];
        if depth > 0 {
            args.extend(["--depth", d.as_str()]);
        }
        self.git(Some(dst), key, &args).map(|_| ())
    }

    fn remote_default_branch(&self, url: &str) -> String {
        let out = self.git(None, None, &["ls-remote", "--symref", "--", url, "HEAD"]);
        out.ok()
            .and_then(|o| {
                o.lines().find_map(|l| {
                    l.strip_prefix("ref: refs/heads/")
                        .and_then(|r| r.split_whitespace().next())
                        .map(str::to_string)
                })
            })
            .unwrap_or_else(|| "master".into())
    }

    /// The commit checked out in `dir`, read from `.git` directly when it can be (a fresh
    /// clone keeps HEAD detached or its one branch ref loose), else asked of git.
    pub fn checked_out_commit(&self, dir: &Path) -> Option<String> {
        let head = std::fs::read_to_string(dir.join(".git/HEAD")).ok()?;
        let head = head.trim();
        match head.strip_prefix("ref: ") {
            None if head.len() == 40 => Some(head.to_string()),
            Some(r) => match std::fs::read_to_string(dir.join(".git").join(r)) {
                Ok(c) => Some(c.trim().to_string()),
                Err(_) => self.head_commit(dir),
            },
            None => self.head_commit(dir),
        }
    }

    /// The commit checked out in `dir`.
    pub fn head_commit(&self, dir: &Path) -> Option<String> {
        self.git(Some(dir), None, &["rev-parse", "HEAD"])
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// The commit the reference names on the remote now (`None` for a full commit id, which
    /// cannot move, and for anything that is not a branch or tag name, such as a short id).
    pub fn remote_commit(&self, src: &GitSource) -> Result<Option<String>, String> {
        if src.reference.as_deref().is_some_and(is_full_sha) {
            return Ok(None);
        }
        let name = src.reference.as_deref().unwrap_or("HEAD");
        let cell = {
            let mut m = self.refs.lock().map_err(|e| e.to_string())?;
            m.entry(src.url.clone()).or_default().clone()
        };
        let out = cell
            .get_or_init(|| self.git(None, None, &["ls-remote", "--", &src.url]))
            .clone()?;
        let refs: Vec<(&str, &str)> = out
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(sha, r)| (r, sha))
            .collect();
        let wanted = if src.reference.is_none() {
            vec!["HEAD".to_string()]
        } else {
            vec![
                format!("refs/tags/{name}^{{}}"),
                format!("refs/tags/{name}"),
                format!("refs/heads/{name}"),
            ]
        };
        Ok(wanted.iter().find_map(|w| {
            refs.iter()
                .find(|(r, _)| r == w)
                .map(|(_, c)| c.to_string())
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_taken_out() {
        let s = GitSource::parse("file:///srv/r.git?ref=v1&depth=1&x=y").unwrap();
        assert_eq!(s.url, "file:///srv/r.git?x=y");
        assert_eq!(s.reference.as_deref(), Some("v1"));
        assert_eq!(s.depth, 1);
        assert_eq!(s.shown, "file:///srv/r.git?depth=1&ref=v1&x=y");
        let s = GitSource::parse("https://u:secret@h/r.git?sshkey=abc").unwrap();
        assert_eq!(s.shown, "https://u:redacted@h/r.git?sshkey=redacted");
        assert_eq!(s.url, "https://u:secret@h/r.git");
    }

    #[test]
    fn bad_ports_are_explained() {
        let e = GitSource::parse("ssh://git@example.com:org/repo.git").unwrap_err();
        assert!(e.starts_with("invalid port number \"org\""), "{e}");
    }
}
