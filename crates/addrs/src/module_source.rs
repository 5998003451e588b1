//! Module source addresses (the `source` argument of a `module` block), parsed and normalised
//! as Terraform does: local paths, module registry addresses, and remote package addresses
//! (go-getter strings after Terraform's shorthand detection: `github.com/…`, `git@host:…`,
//! absolute paths, S3 and GCS hosts).
//!
//! The string forms are compared with the `Source` recorded in `.terraform/modules/modules.json`,
//! so `Display` must be byte-for-byte what Terraform writes there.

use std::fmt;

/// The default public registry host for `NAMESPACE/NAME/SYSTEM` addresses.
pub const DEFAULT_MODULE_REGISTRY_HOST: &str = "registry.terraform.io";

/// A parsed `source` argument.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ModuleSource {
    /// A path inside the caller's package (`./x`, `../x`), normalised with Go's `path.Clean`.
    Local(String),
    Registry(RegistrySource),
    Remote(RemoteSource),
}

/// `HOST/NAMESPACE/NAME/SYSTEM`: what a module registry translates into a remote package.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegistryPackage {
    /// Lower-cased, with a non-default port kept (`127.0.0.1:8443`).
    pub host: String,
    pub namespace: String,
    pub name: String,
    pub system: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RegistrySource {
    pub package: RegistryPackage,
    pub subdir: String,
}

/// A go-getter package address (`git::https://…?ref=v1`, `https://…/m.zip`, `file:///…`) and
/// the sub-directory of the package that holds the module.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RemoteSource {
    pub package: String,
    pub subdir: String,
}

/// Why a source address was rejected. The messages are Terraform's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ModuleSourceError {
    /// Nothing recognised the string; it may be a relative path missing its `./`.
    #[error("Terraform cannot detect a supported external module source type for {0}")]
    MaybeRelativePath(String),
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> ModuleSourceError {
    ModuleSourceError::Invalid(msg.into())
}

impl RegistryPackage {
    /// `NAMESPACE/NAME/SYSTEM`, as sent to the registry.
    pub fn for_registry_protocol(&self) -> String {
        format!("{}/{}/{}", self.namespace, self.name, self.system)
    }

    /// The address as users write it: the public registry's host is left out.
    pub fn for_display(&self) -> String {
        if self.host == DEFAULT_MODULE_REGISTRY_HOST {
            self.for_registry_protocol()
        } else {
            self.to_string()
        }
    }
}

impl fmt::Display for RegistryPackage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.for_registry_protocol())
    }
}

impl RegistrySource {
    pub fn for_display(&self) -> String {
        with_subdir(self.package.for_display(), &self.subdir)
    }
}

impl fmt::Display for RegistrySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&with_subdir(self.package.to_string(), &self.subdir))
    }
}

fn with_subdir(base: String, subdir: &str) -> String {
    if subdir.is_empty() {
        base
    } else {
        format!("{base}//{subdir}")
    }
}

impl RemoteSource {
    /// The address a registry answered with, combined with the subdirectory the caller gave
    /// in its registry address (Terraform's `FromRegistry`).
    pub fn from_registry(&self, given: &RegistrySource) -> RemoteSource {
        let subdir = match (self.subdir.is_empty(), given.subdir.is_empty()) {
            (false, false) => clean_path(&format!("{}/{}", self.subdir, given.subdir)),
            (true, false) => given.subdir.clone(),
            _ => self.subdir.clone(),
        };
        RemoteSource {
            package: self.package.clone(),
            subdir,
        }
    }
}

impl fmt::Display for RemoteSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subdir.is_empty() {
            return f.write_str(&self.package);
        }
        match self.package.split_once('?') {
            Some((base, query)) => write!(f, "{base}//{}?{query}", self.subdir),
            None => write!(f, "{}//{}", self.package, self.subdir),
        }
    }
}

impl ModuleSource {
    pub fn is_local(&self) -> bool {
        matches!(self, ModuleSource::Local(_))
    }

    /// The short form used in progress messages.
    pub fn for_display(&self) -> String {
        match self {
            ModuleSource::Local(s) => s.clone(),
            ModuleSource::Registry(r) => r.for_display(),
            ModuleSource::Remote(r) => r.to_string(),
        }
    }
}

impl fmt::Display for ModuleSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModuleSource::Local(s) => f.write_str(s),
            ModuleSource::Registry(r) => r.fmt(f),
            ModuleSource::Remote(r) => r.fmt(f),
        }
    }
}

const LOCAL_PREFIXES: [&str; 4] = ["./", "../", ".\\", "..\\"];

/// Whether `raw` is written as a local path (Terraform looks only at the prefix).
pub fn is_local_source(raw: &str) -> bool {
    LOCAL_PREFIXES.iter().any(|p| raw.starts_with(p))
}

/// Parses a `source` argument. Registry syntax wins when it parses; anything else is a
/// remote package address, as in Terraform since v0.10.
pub fn parse_module_source(raw: &str) -> Result<ModuleSource, ModuleSourceError> {
    if is_local_source(raw) {
        return Ok(ModuleSource::Local(parse_local(raw)));
    }
    if let Ok(r) = parse_module_source_registry(raw) {
        return Ok(ModuleSource::Registry(r));
    }
    parse_remote(raw).map(ModuleSource::Remote)
}

fn parse_local(raw: &str) -> String {
    let raw = raw.replace('\\', "/");
    let clean = clean_path(&raw);
    if clean.starts_with("../") {
        clean
    } else {
        format!("./{clean}")
    }
}

/// Parses a registry address only (used when the module block also sets `version`).
pub fn parse_module_source_registry(raw: &str) -> Result<RegistrySource, ModuleSourceError> {
    if is_local_source(raw) {
        return Err(invalid(format!(
            "can't use local directory {} as a module registry address",
            go_quote(raw)
        )));
    }
    let (raw, subdir) = split_package_subdir(raw);
    if subdir.starts_with("../") {
        return Err(invalid(format!(
            "subdirectory path {} leads outside of the module package",
            go_quote(&subdir)
        )));
    }
    let mut parts: Vec<&str> = raw.split('/').collect();
    if parts.len() != 3 && parts.len() != 4 {
        return Err(invalid("a module registry source address must have either three or four slash-separated components"));
    }
    let mut host = DEFAULT_MODULE_REGISTRY_HOST.to_string();
    if parts.len() == 4 {
        host = match host_for_comparison(parts[0]) {
            Ok(h) => h,
            Err(()) if parts[0].contains("--") => {
                return Err(invalid(format!("invalid module registry hostname {}; internationalized domain names must be given as direct unicode characters, not in punycode", go_quote(parts[0]))))
            }
            Err(()) => {
                return Err(invalid(format!(
                    "invalid module registry hostname {}",
                    go_quote(parts[0])
                )))
            }
        };
        if !host.contains('.') {
            return Err(invalid(
                "invalid module registry hostname: must contain at least one dot",
            ));
        }
        parts.remove(0);
    }
    if host == "github.com" || host == "bitbucket.org" {
        return Err(invalid(format!("can't use {} as a module registry host, because it's reserved for installing directly from version control repositories", go_quote(&host))));
    }
    let name_err = "must be between one and 64 characters, including ASCII letters, digits, dashes, and underscores, where dashes and underscores may not be the prefix or suffix";
    if !registry_name_ok(parts[0]) {
        if parts[0].contains('.') {
            return Err(invalid("source address must have three more components after the hostname: the namespace, the name, and the target system"));
        }
        return Err(invalid(format!(
            "invalid namespace {}: {name_err}",
            go_quote(parts[0])
        )));
    }
    if !registry_name_ok(parts[1]) {
        return Err(invalid(format!(
            "invalid module name {}: {name_err}",
            go_quote(parts[1])
        )));
    }
    let sys = parts[2];
    if sys.is_empty()
        || sys.len() > 64
        || !sys
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    {
        if sys.contains('?') {
            return Err(invalid(
                "module registry addresses may not include a query string portion",
            ));
        }
        return Err(invalid(format!(
            "invalid target system {}: must be between one and 64 ASCII letters or digits",
            go_quote(sys)
        )));
    }
    Ok(RegistrySource {
        package: RegistryPackage {
            host,
            namespace: parts[0].to_string(),
            name: parts[1].to_string(),
            system: sys.to_string(),
        },
        subdir,
    })
}

/// `^[0-9A-Za-z](?:[0-9A-Za-z-_]{0,62}[0-9A-Za-z])?$`
fn registry_name_ok(s: &str) -> bool {
    let b = s.as_bytes();
    if b.is_empty() || b.len() > 64 {
        return false;
    }
    let alnum = |c: u8| c.is_ascii_alphanumeric();
    alnum(b[0]) && alnum(b[b.len() - 1]) && b.iter().all(|&c| alnum(c) || c == b'-' || c == b'_')
}

/// A hostname that svchost would reject.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid hostname {0:?}")]
pub struct InvalidHostname(pub String);

/// svchost's `ForComparison`: lower-cased labels, `:443` dropped, other ports kept.
pub fn hostname_for_comparison(given: &str) -> Result<String, InvalidHostname> {
    host_for_comparison(given).map_err(|()| InvalidHostname(given.to_string()))
}

#[allow(clippy::result_unit_err)]
fn host_for_comparison(given: &str) -> Result<String, ()> {
    let (name, port) = match given.find(':') {
        Some(i) => (&given[..i], &given[i..]),
        None => (given, ""),
    };
    let port = if port.is_empty() {
        String::new()
    } else {
        let n: u32 = port[1..].parse().map_err(|_| ())?;
        match n {
            443 => String::new(),
            n if n > 65535 => return Err(()),
            n => format!(":{n}"),
        }
    };
    if name.is_empty() {
        return Err(());
    }
    let mut labels = Vec::new();
    for label in name.split('.') {
        let l = label.to_lowercase();
        if l.is_empty() || l.starts_with("xn--") || l.starts_with('-') || l.ends_with('-') {
            return Err(());
        }
        if l.len() >= 4 && &l[2..4] == "--" {
            return Err(());
        }
        if !l.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return Err(());
        }
        labels.push(l);
    }
    Ok(format!("{}{port}", labels.join(".")))
}

fn parse_remote(raw: &str) -> Result<RemoteSource, ModuleSourceError> {
    let (raw, mut subdir) = split_package_subdir(raw);
    if subdir.starts_with("../") {
        return Err(invalid(format!(
            "subdirectory path {} leads outside of the module package",
            go_quote(&subdir)
        )));
    }
    let detected = detect_shorthands(&raw)?;
    let (package, more) = split_package_subdir(&detected);
    if !more.is_empty() {
        subdir = if subdir.is_empty() {
            clean_path(&more)
        } else {
            clean_path(&format!("{more}/{subdir}"))
        };
        if subdir.starts_with("../") {
            return Err(invalid(format!(
                "detected subdirectory path {} of {} leads outside of the module package",
                go_quote(&subdir),
                go_quote(&package)
            )));
        }
    }
    Ok(RemoteSource { package, subdir })
}

/// Splits `//subdir` off a package address, moving any query string back onto the package
/// (`git::https://h/r.git//sub?ref=v1` → `git::https://h/r.git?ref=v1`, `sub`).
pub fn split_package_subdir(given: &str) -> (String, String) {
    let (pkg, sub) = split_subdir_raw(given);
    if sub.is_empty() {
        (pkg, sub)
    } else {
        (pkg, clean_path(&sub))
    }
}

fn split_subdir_raw(src: &str) -> (String, String) {
    let stop = src.find('?').unwrap_or(src.len());
    let offset = src[..stop].find("://").map(|i| i + 3).unwrap_or(0);
    let Some(i) = src[offset..stop].find("//") else {
        return (src.to_string(), String::new());
    };
    let i = i + offset;
    let mut subdir = src[i + 2..].to_string();
    let mut pkg = src[..i].to_string();
    if let Some(q) = subdir.find('?') {
        pkg.push_str(&subdir[q..]);
        subdir.truncate(q);
    }
    (pkg, subdir)
}

/// `^([A-Za-z0-9]+)::(.+)$`
fn forced_getter(src: &str) -> (Option<&str>, &str) {
    if let Some(i) = src.find("::") {
        let f = &src[..i];
        if !f.is_empty() && f.bytes().all(|b| b.is_ascii_alphanumeric()) && src.len() > i + 2 {
            return (Some(f), &src[i + 2..]);
        }
    }
    (None, src)
}

/// One of Terraform's shorthand detectors: `Ok(None)` when it does not apply.
type Detector = fn(&str) -> Result<Option<String>, ModuleSourceError>;

/// Terraform's `detectRemoteSourceShorthands`: a valid URL with a scheme is kept as written;
/// otherwise the GitHub, git-over-SSH, Bitbucket, GCS, S3 and absolute-path detectors run.
fn detect_shorthands(src: &str) -> Result<String, ModuleSourceError> {
    let (force, get_src) = forced_getter(src);
    let (get_src, mut subdir) = split_package_subdir(get_src);
    if url_has_scheme(&get_src) {
        return Ok(src.to_string());
    }
    let detectors: [Detector; 6] = [
        detect_github,
        detect_git_ssh,
        detect_bitbucket,
        detect_gcs,
        detect_s3,
        detect_abs_path,
    ];
    for d in detectors {
        let Some(result) = d(&get_src)? else { continue };
        let (detect_force, result) = forced_getter(&result);
        let (mut result, detect_subdir) = split_package_subdir(result);
        if !detect_subdir.is_empty() {
            subdir = if subdir.is_empty() {
                detect_subdir
            } else {
                clean_path(&format!("{detect_subdir}/{subdir}"))
            };
        }
        if !subdir.is_empty() {
            result = match result.split_once('?') {
                Some((b, q)) => format!("{b}//{subdir}?{q}"),
                None => format!("{result}//{subdir}"),
            };
        }
        return Ok(match force.or(detect_force) {
            Some(f) => format!("{f}::{result}"),
            None => result,
        });
    }
    Err(invalid(format!("invalid source address: {src}")))
}

/// Whether Go's `url.Parse` accepts `s` and finds a scheme in it.
fn url_has_scheme(s: &str) -> bool {
    let Some(colon) = s.find(':') else {
        return false;
    };
    let scheme = &s[..colon];
    let mut chars = scheme.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    if !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return false;
    }
    if s.bytes().any(|b| b < 0x20 || b == 0x7f) || !percent_escapes_ok(s) {
        return false;
    }
    // An authority with a non-numeric port fails to parse.
    if let Some(rest) = s[colon + 1..].strip_prefix("//") {
        let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let auth = &rest[..auth_end];
        let host = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
        if !host.starts_with('[') {
            if let Some((_, port)) = host.rsplit_once(':') {
                if !port.bytes().all(|b| b.is_ascii_digit()) {
                    return false;
                }
            }
        }
    }
    true
}

fn percent_escapes_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

fn detect_github(src: &str) -> Result<Option<String>, ModuleSourceError> {
    let Some(_) = src.strip_prefix("github.com/") else {
        return Ok(None);
    };
    let (path, query) = match src.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (src, None),
    };
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 3 {
        return Err(invalid("GitHub URLs should be github.com/username/repo"));
    }
    let mut url = format!("https://{}", parts[..3].join("/"));
    if !url.ends_with(".git") {
        url.push_str(".git");
    }
    if parts.len() > 3 {
        url.push_str("//");
        url.push_str(&parts[3..].join("/"));
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push('?');
        url.push_str(q);
    }
    Ok(Some(format!("git::{url}")))
}

/// `^(?:([^@]+)@)?([^:]+):/?(.+)$` with user `git`: an scp-like SSH address.
fn detect_git_ssh(src: &str) -> Result<Option<String>, ModuleSourceError> {
    let (user, rest) = match src.split_once('@') {
        Some((u, r)) if !u.is_empty() && !u.contains(':') => (u, r),
        _ => ("", src),
    };
    let Some((host, path)) = rest.split_once(':') else {
        return Ok(None);
    };
    if host.is_empty() || host.contains('@') && user.is_empty() {
        return Ok(None);
    }
    let path = path.strip_prefix('/').unwrap_or(path);
    if path.is_empty() || user != "git" {
        return Ok(None);
    }
    let (p, q) = match path.find('?') {
        Some(i) => (&path[..i], Some(&path[i + 1..])),
        None => (path, None),
    };
    let mut url = format!("ssh://git@{host}/{p}");
    if let Some(q) = q {
        let pairs =
            parse_query(q).map_err(|e| invalid(format!("error parsing Git SSH URL: {e}")))?;
        let enc = encode_query(&pairs);
        if !enc.is_empty() {
            url.push('?');
            url.push_str(&enc);
        }
    }
    Ok(Some(format!("git::{url}")))
}

fn detect_bitbucket(src: &str) -> Result<Option<String>, ModuleSourceError> {
    if !src.starts_with("bitbucket.org/") {
        return Ok(None);
    }
    let (p, q) = match src.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (src, None),
    };
    let mut url = format!("https://{p}");
    if !url.ends_with(".git") {
        url.push_str(".git");
    }
    if let Some(q) = q {
        url.push('?');
        url.push_str(q);
    }
    Ok(Some(format!("git::{url}")))
}

fn detect_gcs(src: &str) -> Result<Option<String>, ModuleSourceError> {
    if !src.contains("googleapis.com/") {
        return Ok(None);
    }
    let parts: Vec<&str> = src.split('/').collect();
    if parts.len() < 5 {
        return Err(invalid("URL is not a valid GCS URL"));
    }
    Ok(Some(format!(
        "gcs::https://www.googleapis.com/storage/{}/{}/{}",
        parts[2],
        parts[3],
        parts[4..].join("/")
    )))
}

fn detect_s3(src: &str) -> Result<Option<String>, ModuleSourceError> {
    if !src.contains(".amazonaws.com/") {
        return Ok(None);
    }
    let parts: Vec<&str> = src.split('/').collect();
    let host: Vec<&str> = parts[0].split('.').collect();
    let rest = parts[1..].join("/");
    let url = match host.len() {
        3 => format!("https://{}.amazonaws.com/{rest}", host[0]),
        4 => format!("https://{}.amazonaws.com/{}/{rest}", host[1], host[0]),
        5 if host[1] == "s3" => format!("https://s3.{}.amazonaws.com/{}/{rest}", host[2], host[0]),
        _ => return Err(invalid("URL is not a valid S3 URL")),
    };
    Ok(Some(format!("s3::{url}")))
}

fn detect_abs_path(src: &str) -> Result<Option<String>, ModuleSourceError> {
    if src.is_empty() {
        return Ok(None);
    }
    match src.strip_prefix('/') {
        Some(rest) => Ok(Some(format!("file:///{rest}"))),
        None => Err(ModuleSourceError::MaybeRelativePath(src.to_string())),
    }
}

/// Go's `path.Clean`.
pub fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `%q` for the plain strings that appear in these messages.
fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `url.ParseQuery`: `&`-separated pairs, `+` as space, percent-decoding.
pub fn parse_query(q: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in q.split('&') {
        if part.is_empty() {
            continue;
        }
        if part.contains(';') {
            return Err("invalid semicolon separator in query".into());
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        out.push((query_unescape(k)?, query_unescape(v)?));
    }
    Ok(out)
}

fn query_unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
                let Some(h) = hex else {
                    let end = (i + 3).min(s.len());
                    return Err(format!("invalid URL escape {}", go_quote(&s[i..end])));
                };
                out.push(u8::from_str_radix(h, 16).unwrap_or(0));
                i += 3;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `url.Values.Encode`: keys sorted (stable for repeated keys), values query-escaped.
pub fn encode_query(pairs: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
        .iter()
        .map(|(k, v)| format!("{}={}", query_escape(k), query_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests;
