//! The HTTP client module installation uses (registry protocol, archives, `X-Terraform-Get`
//! lookups), with errors worded as Go's `net/http` words them, since Terraform shows those to
//! users verbatim.

use std::io::Read;
use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};
use ureq::ResponseExt;

/// Where trusted CA certificates come from. Go reads `SSL_CERT_FILE` (one bundle that replaces
/// the system's) and `SSL_CERT_DIR`; the caller passes those values in.
#[derive(Clone, Debug, Default)]
pub struct TlsRoots {
    pub cert_file: Option<PathBuf>,
    pub cert_dirs: Vec<PathBuf>,
}

/// The bundles Go's crypto/x509 looks for on Linux.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

fn pem_certs(bytes: &[u8], out: &mut Vec<Certificate<'static>>) {
    for item in ureq::tls::parse_pem(bytes).flatten() {
        if let PemItem::Certificate(c) = item {
            out.push(c);
        }
    }
}

impl TlsRoots {
    fn root_certs(&self) -> RootCerts {
        let mut certs = Vec::new();
        let files: Vec<PathBuf> = match &self.cert_file {
            Some(f) => vec![f.clone()],
            None => SYSTEM_BUNDLES
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.is_file())
                .take(1)
                .collect(),
        };
        for f in files {
            if let Ok(b) = std::fs::read(&f) {
                pem_certs(&b, &mut certs);
            }
        }
        for d in &self.cert_dirs {
            if let Ok(rd) = std::fs::read_dir(d) {
                for e in rd.flatten() {
                    if let Ok(b) = std::fs::read(e.path()) {
                        pem_certs(&b, &mut certs);
                    }
                }
            }
        }
        if certs.is_empty() {
            RootCerts::WebPki
        } else {
            RootCerts::new_with_certs(&certs)
        }
    }
}

/// A response read in full (module registry answers and `X-Terraform-Get` pages are small;
/// archives are streamed with [`Http::download`]).
pub struct Response {
    pub status: u16,
    pub status_text: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The URL after redirects.
    pub final_url: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Go's `resp.Status`: "404 Not Found".
    pub fn status_line(&self) -> String {
        format!("{} {}", self.status, self.status_text)
    }
}

#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    user_agent: String,
}

/// Largest small response read into memory (Terraform caps discovery documents at 1 MiB).
const SMALL_BODY_LIMIT: u64 = 8 << 20;

impl Http {
    pub fn new(roots: &TlsRoots, user_agent: &str) -> Http {
        let tls = TlsConfig::builder().root_certs(roots.root_certs()).build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            // Proxies would come from the environment; the caller owns that, not this crate.
            .proxy(None)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .max_redirects(10)
            .save_redirect_history(false)
            .user_agent(user_agent)
            .build();
        Http {
            agent: config.new_agent(),
            user_agent: user_agent.to_string(),
        }
    }

    pub fn user_agent(&self) -> &str {
        &self.user_agent
    }

    fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<ureq::http::Response<ureq::Body>, String> {
        let uri: ureq::http::Uri = url.parse().map_err(|e| format!("parse {url:?}: {e}"))?;
        let mut req = ureq::http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let req = req.body(()).map_err(|e| e.to_string())?;
        self.agent.run(req).map_err(|e| go_error(method, url, &e))
    }

    /// GETs `url` and reads the whole body.
    pub fn get(&self, url: &str, headers: &[(&str, String)]) -> Result<Response, String> {
        let resp = self.send("GET", url, headers)?;
        let final_url = resp.get_uri().to_string();
        let status = resp.status();
        let hs = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        resp.into_body()
            .into_reader()
            .take(SMALL_BODY_LIMIT)
            .read_to_end(&mut body)
            .map_err(|e| format!("{} {:?}: {e}", go_method("GET"), url))?;
        Ok(Response {
            status: status.as_u16(),
            status_text: status.canonical_reason().unwrap_or("").to_string(),
            headers: hs,
            body,
            final_url,
        })
    }

    /// Streams `url` into the file `dst` (go-getter's `GetFile`: any status but 200/206 is
    /// "bad response code").
    pub fn download(&self, url: &str, dst: &Path) -> Result<(), String> {
        let resp = self.send("GET", url, &[])?;
        let code = resp.status().as_u16();
        if code != 200 && code != 206 {
            return Err(format!("bad response code: {code}"));
        }
        let expected = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let mut f = std::fs::File::create(dst).map_err(|e| e.to_string())?;
        let mut reader = resp.into_body().into_reader();
        let n = std::io::copy(&mut reader, &mut f).map_err(|e| e.to_string())?;
        if expected.is_some_and(|e| n < e) {
            return Err("short write".into());
        }
        Ok(())
    }
}

fn go_method(m: &str) -> String {
    // Go's url.Error prints the method in title case: `Get "https://…": …`.
    let mut c = m.chars();
    match c.next() {
        Some(f) => f.to_string() + &c.as_str().to_lowercase(),
        None => String::new(),
    }
}

/// Host and port a URL connects to (for Go's `dial tcp HOST:PORT` wording).
fn dial_target(url: &str) -> (String, u16) {
    let after = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let auth = after.split(['/', '?', '#']).next().unwrap_or("");
    let auth = auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth);
    let default = if url.starts_with("https") { 443 } else { 80 };
    match auth.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || auth.starts_with('[') => {
            (h.to_string(), p.parse().unwrap_or(default))
        }
        _ => (auth.to_string(), default),
    }
}

/// The first nameserver of the system resolver, as Go's resolver names it in lookup errors.
fn nameserver() -> Option<String> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        (it.next() == Some("nameserver")).then(|| it.next().map(|s| format!("{s}:53")))?
    })
}

/// A transport error as Go's http client reports it: `Get "URL": dial tcp …: connect:
/// connection refused`.
fn go_error(method: &str, url: &str, e: &ureq::Error) -> String {
    let (host, port) = dial_target(url);
    let io_text = |io: &std::io::Error| -> String {
        match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                let addr = (host.as_str(), port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| format!("{host}:{port}"));
                format!("dial tcp {addr}: connect: connection refused")
            }
            std::io::ErrorKind::TimedOut => {
                "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into()
            }
            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => "EOF".into(),
            _ => io.to_string(),
        }
    };
    let detail = match e {
        ureq::Error::Io(io) => io_text(io),
        ureq::Error::HostNotFound => match nameserver() {
            Some(ns) => format!("dial tcp: lookup {host} on {ns}: no such host"),
            None => format!("dial tcp: lookup {host}: no such host"),
        },
        ureq::Error::Timeout(_) => {
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)".into()
        }
        ureq::Error::Rustls(r) => tls_text(&r.to_string()),
        ureq::Error::TooManyRedirects => "stopped after 10 redirects".into(),
        other => other.to_string(),
    };
    format!("{} {url:?}: {detail}", go_method(method))
}

fn tls_text(s: &str) -> String {
    if s.contains("UnknownIssuer") || s.contains("unknown issuer") {
        "tls: failed to verify certificate: x509: certificate signed by unknown authority".into()
    } else if s.contains("NotValidForName") {
        "tls: failed to verify certificate: x509: certificate is not valid for this name".into()
    } else if s.contains("Expired") {
        "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
            .into()
    } else {
        format!("tls: {s}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dial_targets() {
        assert_eq!(
            dial_target("https://127.0.0.1:8443/x"),
            ("127.0.0.1".into(), 8443)
        );
        assert_eq!(
            dial_target("https://registry.terraform.io/.well-known/terraform.json"),
            ("registry.terraform.io".into(), 443)
        );
        assert_eq!(
            dial_target("http://u:p@example.com/a"),
            ("example.com".into(), 80)
        );
    }
}
