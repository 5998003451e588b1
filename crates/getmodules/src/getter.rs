//! Fetching one module package by its go-getter address, as Terraform's go-getter client does:
//! the forced getter or URL scheme picks git, http(s) or file; `archive=` or the path's
//! extension picks an unpacker; `X-Terraform-Get` (header or `<meta name="terraform-get">`)
//! redirects an http page to the real package. Errors carry go-getter's texts.

use std::path::{Path, PathBuf};

use addrs::module_source::{encode_query, parse_query, split_package_subdir};

use crate::archive;
use crate::fsutil::{copy_tree, expand_subdir_glob};
use crate::git::{Git, GitSource};
use crate::http::Http;

/// go-getter's limit on chained `X-Terraform-Get` pages in Terraform.
const X_TERRAFORM_GET_LIMIT: usize = 10;

/// The getters Terraform registers.
const TERRAFORM_GETTERS: &[&str] = &["http", "https", "gcs", "s3", "git", "hg", "file"];

/// Where Terraform itself would have put the package: lets a git fallback run git exactly as
/// Terraform does, so git's messages (which name the directory) read the same.
#[derive(Clone, Debug)]
pub struct TerraformDst {
    pub cwd: PathBuf,
    pub rel: String,
}

pub struct Getter {
    pub http: Http,
    pub git: Option<Git>,
}

/// A package address taken apart: getter, URL without `archive`/`checksum`, unpacker.
struct Parsed {
    getter: String,
    url: String,
    archive: Option<String>,
    checksum: Option<String>,
}

/// `^([A-Za-z0-9]+)::(.+)$`
fn forced(src: &str) -> (Option<&str>, &str) {
    if let Some(i) = src.find("::") {
        let f = &src[..i];
        if !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric()) && src.len() > i + 2 {
            return (Some(f), &src[i + 2..]);
        }
    }
    (None, src)
}

fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let start = rest.find('/').unwrap_or(rest.len());
    let p = &rest[start..];
    &p[..p.find(['?', '#']).unwrap_or(p.len())]
}

fn parse(package: &str) -> Result<Parsed, String> {
    let (force, rest) = forced(package);
    let (base, query) = match rest.split_once('?') {
        Some((b, q)) => (b, q),
        None => (rest, ""),
    };
    let scheme = base.split(':').next().unwrap_or("").to_ascii_lowercase();
    let getter = force.map(str::to_string).unwrap_or(scheme);
    let mut pairs = parse_query(query)?;
    let take = |pairs: &mut Vec<(String, String)>, k: &str| {
        let v = pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        pairs.retain(|(n, _)| n != k);
        v
    };
    let mut archive = take(&mut pairs, "archive").filter(|a| !a.is_empty());
    if let Some(a) = &archive {
        if matches!(a.as_str(), "false" | "0" | "f" | "F" | "FALSE" | "False") {
            archive = Some("-".into());
        }
    }
    let checksum = take(&mut pairs, "checksum").filter(|a| !a.is_empty());
    let q = encode_query(&pairs);
    let url = if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    };
    if archive.is_none() {
        archive = archive::by_extension(url_path(&url)).map(str::to_string);
    }
    Ok(Parsed {
        getter,
        url,
        archive: archive.filter(|a| a == "-" || archive::is_known(a)),
        checksum,
    })
}

/// The getter a package address uses (`git`, `https`, `file`, …).
pub fn getter_name(package: &str) -> String {
    parse(package).map(|p| p.getter).unwrap_or_default()
}

fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((ui, host)) if ui.contains(':') => format!(
            "{scheme}://{}:redacted@{host}{}",
            ui.split(':').next().unwrap_or(""),
            &rest[end..]
        ),
        _ => url.to_string(),
    }
}

fn file_path(url: &str) -> String {
    url.strip_prefix("file://").unwrap_or(url).to_string()
}

impl Getter {
    /// Fetches `package` (no subdirectory part) into `dst`, which must not exist yet.
    pub fn fetch(
        &self,
        package: &str,
        dst: &Path,
        tf: Option<&TerraformDst>,
    ) -> Result<(), String> {
        self.fetch_depth(package, dst, tf, 1)
    }

    fn fetch_depth(
        &self,
        package: &str,
        dst: &Path,
        tf: Option<&TerraformDst>,
        depth: usize,
    ) -> Result<(), String> {
        let p = parse(package)?;
        if !TERRAFORM_GETTERS.contains(&p.getter.as_str()) {
            return Err(format!("download not supported for scheme '{}'", p.getter));
        }
        if let Some(kind) = p.archive.as_deref().filter(|k| *k != "-") {
            return self.fetch_archive(&p, kind, dst);
        }
        if p.checksum.is_some() {
            return Err("checksum cannot be specified for directory download".into());
        }
        let shown = redact(&p.url);
        let r = match p.getter.as_str() {
            "git" => self.fetch_git(&p.url, dst, tf),
            "http" | "https" => self.fetch_http_dir(&p.url, dst, depth),
            "file" => link_dir(&file_path(&p.url), dst),
            other => Err(format!(
                "weir cannot fetch {other} packages (supported: git, http, https, file)"
            )),
        };
        r.map_err(|e| format!("error downloading '{shown}': {e}"))
    }

    fn fetch_git(&self, url: &str, dst: &Path, tf: Option<&TerraformDst>) -> Result<(), String> {
        let Some(git) = &self.git else {
            return Err("git must be available and on the PATH".into());
        };
        let src = GitSource::parse(url)?;
        if git.fetch_fast(&src, dst).is_ok() {
            return Ok(());
        }
        let _ = std::fs::remove_dir_all(dst);
        match tf {
            Some(t) => {
                let abs = t.cwd.join(&t.rel);
                let _ = std::fs::remove_dir_all(&abs);
                if let Some(parent) = abs.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
                }
                git.fetch_exact(&src, &t.cwd, &t.rel)?;
                if abs != dst {
                    copy_tree(&abs, dst).map_err(|e| e.to_string())?;
                }
                Ok(())
            }
            None => {
                let parent = dst.parent().unwrap_or(Path::new("."));
                let name = dst
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                git.fetch_exact(&src, parent, &name)
            }
        }
    }

    fn fetch_archive(&self, p: &Parsed, kind: &str, dst: &Path) -> Result<(), String> {
        let td = tempfile::Builder::new()
            .prefix("getter")
            .tempdir()
            .map_err(|e| format!("Error creating temporary directory for archive: {e}"))?;
        let file = td.path().join("archive");
        match p.getter.as_str() {
            "http" | "https" => self.http.download(&p.url, &file)?,
            "file" => {
                std::fs::copy(file_path(&p.url), &file).map_err(|e| e.to_string())?;
            }
            other => {
                return Err(format!(
                    "weir cannot fetch archives through the {other} getter"
                ))
            }
        }
        if let Some(c) = &p.checksum {
            verify_checksum(&file, c)?;
        }
        archive::unpack(kind, &file, dst)
    }

    /// go-getter's `HttpGetter.Get`: the page names the real package.
    fn fetch_http_dir(&self, url: &str, dst: &Path, depth: usize) -> Result<(), String> {
        if depth > X_TERRAFORM_GET_LIMIT {
            return Err(format!("too many X-Terraform-Get redirects: {depth}"));
        }
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let mut pairs = parse_query(query)?;
        pairs.push(("terraform-get".into(), "1".into()));
        let req = format!("{base}?{}", encode_query(&pairs));
        let resp = self.http.get(&req, &[])?;
        if !(200..300).contains(&resp.status) {
            return Err(format!("bad response code: {}", resp.status));
        }
        let source = match resp.header("x-terraform-get") {
            Some(v) if !v.is_empty() => v.to_string(),
            _ => meta_terraform_get(&String::from_utf8_lossy(&resp.body)),
        };
        if source.is_empty() {
            return Err("no source URL was returned".into());
        }
        let (source, subdir) = split_package_subdir(&source);
        let (_, bare) = forced(&source);
        let (bare, _) = split_package_subdir(bare);
        if !bare.contains("://") && !has_scheme(&bare) {
            return Err(format!("invalid source string: {source}"));
        }
        let relative =
            source.starts_with('/') || source.starts_with("./") || source.starts_with("../");
        if !relative {
            let protocol = source.split(':').next().unwrap_or("");
            if !TERRAFORM_GETTERS.contains(&protocol) {
                return Err(format!(
                    "no getter available for X-Terraform-Get source protocol: {protocol:?}"
                ));
            }
        }
        if subdir.is_empty() {
            return self.fetch_depth(&source, dst, None, depth + 1);
        }
        let td = tempfile::Builder::new()
            .prefix("getter")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let whole = td.path().join("pkg");
        self.fetch_depth(&source, &whole, None, depth + 1)?;
        let from = expand_subdir_glob(&whole, &subdir)?;
        copy_tree(&from, dst).map_err(|e| e.to_string())
    }
}

fn has_scheme(s: &str) -> bool {
    match s.find(':') {
        Some(i) if i > 0 => {
            s.as_bytes()[0].is_ascii_alphabetic()
                && s[..i]
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        }
        _ => false,
    }
}

/// go-getter's `FileGetter.Get`: the module directory is linked, not copied.
fn link_dir(path: &str, dst: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Err(e) => return Err(format!("source path error: stat {path}: {}", go_io(&e))),
        Ok(m) if !m.is_dir() => return Err("source path must be a directory".into()),
        Ok(_) => {}
    }
    if let Some(parent) = dst.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::os::unix::fs::symlink(path, dst).map_err(|e| e.to_string())
}

/// Go's wording of common I/O errors.
pub fn go_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn verify_checksum(file: &Path, spec: &str) -> Result<(), String> {
    use sha2::Digest;
    let (kind, want) = spec
        .split_once(':')
        .ok_or_else(|| format!("invalid checksum: invalid checksum format {spec:?}"))?;
    let data = std::fs::read(file).map_err(|e| e.to_string())?;
    let got = match kind {
        "sha256" => hex::encode(sha2::Sha256::digest(&data)),
        "sha512" => hex::encode(sha2::Sha512::digest(&data)),
        other => {
            return Err(format!(
                "invalid checksum: unsupported checksum type: {other}"
            ))
        }
    };
    if !got.eq_ignore_ascii_case(want) {
        return Err(format!(
            "Checksums did not match for {}.\nExpected: {want}\nGot: {got}\n{kind}",
            file.display()
        ));
    }
    Ok(())
}

/// The first `<meta name="terraform-get" content="…">` before `<body>` or `</head>`.
pub fn meta_terraform_get(html: &str) -> String {
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while let Some(off) = lower[i..].find('<') {
        let start = i + off + 1;
        let end = match lower[start..].find('>') {
            Some(e) => start + e,
            None => break,
        };
        let tag = &html[start..end];
        let tag_l = &lower[start..end];
        i = end + 1;
        let name: String = tag_l
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != '/')
            .collect();
        match name.as_str() {
            "body" => return String::new(),
            "" if tag_l.starts_with("/head") => return String::new(),
            "meta" => {
                let attrs = parse_attrs(&tag[4..]);
                let get = |k: &str| {
                    attrs
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.clone())
                };
                if get("name").as_deref() == Some("terraform-get") {
                    if let Some(c) = get("content").filter(|c| !c.is_empty()) {
                        return c;
                    }
                }
            }
            _ => {}
        }
    }
    String::new()
}

fn parse_attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i].is_whitespace() || b[i] == '/') {
            i += 1;
        }
        let ks = i;
        while i < b.len() && !b[i].is_whitespace() && b[i] != '=' && b[i] != '/' {
            i += 1;
        }
        let key: String = b[ks..i].iter().collect();
        if key.is_empty() {
            break;
        }
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        let mut val = String::new();
        if i < b.len() && b[i] == '=' {
            i += 1;
            while i < b.len() && b[i].is_whitespace() {
                i += 1;
            }
            if i < b.len() && (b[i] == '"' || b[i] == '\'') {
                let q = b[i];
                i += 1;
                let vs = i;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                val = b[vs..i.min(b.len())].iter().collect();
                i += 1;
            } else {
                let vs = i;
                while i < b.len() && !b[i].is_whitespace() {
                    i += 1;
                }
                val = b[vs..i].iter().collect();
            }
        }
        out.push((key, unescape_entities(&val)));
    }
    out
}

fn unescape_entities(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_and_checksum_come_out_of_the_url() {
        let p = parse("https://h/m?archive=tar.gz&b=2&a=1").unwrap();
        assert_eq!(p.getter, "https");
        assert_eq!(p.url, "https://h/m?a=1&b=2");
        assert_eq!(p.archive.as_deref(), Some("tar.gz"));
        let p = parse("git::https://h/r.git?ref=v1").unwrap();
        assert_eq!(
            (p.getter.as_str(), p.url.as_str()),
            ("git", "https://h/r.git?ref=v1")
        );
        assert_eq!(p.archive, None);
        let p = parse("https://h/m.zip").unwrap();
        assert_eq!(p.archive.as_deref(), Some("zip"));
        let p = parse("https://h/m.zip?archive=false").unwrap();
        assert_eq!(p.archive.as_deref(), Some("-"));
    }

    #[test]
    fn meta_tag_is_found_in_head_only() {
        assert_eq!(
            meta_terraform_get("<html><head><meta name=\"terraform-get\" content=\"git::https://h/r.git?ref=v1&amp;depth=1\"></head></html>"),
            "git::https://h/r.git?ref=v1&depth=1"
        );
        assert_eq!(
            meta_terraform_get("<html><body><meta name=\"terraform-get\" content=\"x\"></body>"),
            ""
        );
        assert_eq!(
            meta_terraform_get("<META NAME='terraform-get' CONTENT='https://h/a.zip' />"),
            "https://h/a.zip"
        );
    }
}
