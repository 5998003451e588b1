//! The one synchronous HTTP client the s3 and http backends share (ureq over rustls), with the
//! TLS options Terraform's backends offer: extra or replacement CA certificates, a client
//! certificate, and no verification at all.

use std::time::Duration;

use ureq::tls::{Certificate, ClientCert, PemItem, RootCerts, TlsConfig};

/// TLS settings of one backend.
#[derive(Clone, Default)]
pub struct Tls {
    pub skip_verification: bool,
    /// PEM certificates that replace the default roots.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain and key.
    pub client_cert_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// An answer: status, headers (names lower-case), body.
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A request that got no HTTP answer (refused, DNS, TLS, timeout). The message names the URL's
/// host, never its credentials.
#[derive(Debug)]
pub struct TransportError(pub String);

#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
}

impl Client {
    pub fn new(tls: &Tls) -> Result<Client, String> {
        let mut tc = TlsConfig::builder().disable_verification(tls.skip_verification);
        if let Some(pem) = &tls.ca_pem {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(pem)
                .filter_map(|i| match i {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if certs.is_empty() {
                return Err("failed to append certs".to_owned());
            }
            tc = tc.root_certs(RootCerts::new_with_certs(&certs));
        }
        if let Some((cert_pem, key_pem)) = &tls.client_cert_pem {
            let certs: Vec<Certificate<'static>> = ureq::tls::parse_pem(cert_pem)
                .filter_map(|i| match i {
                    Ok(PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            let key = ureq::tls::parse_pem(key_pem).find_map(|i| match i {
                Ok(PemItem::PrivateKey(k)) => Some(k),
                _ => None,
            });
            match (certs.is_empty(), key) {
                (false, Some(key)) => {
                    tc = tc.client_cert(Some(ClientCert::new_with_certs(&certs, key)));
                }
                _ => {
                    return Err(
                        "cannot load client certificate: no certificate or private key found in the PEM data"
                            .to_owned(),
                    )
                }
            }
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_global(Some(Duration::from_secs(120)))
            .user_agent(format!("weir (Terraform {})", crate::TERRAFORM_VERSION))
            .tls_config(tc.build())
            .build();
        Ok(Client {
            agent: config.into(),
        })
    }

    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Resp, TransportError> {
        let mut b = ureq::http::Request::builder().method(method).uri(url);
        for (k, v) in headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let req = b
            .body(body.to_vec())
            .map_err(|e| TransportError(format!("invalid request to {}: {e}", redact(url))))?;
        let resp = self
            .agent
            .run(req)
            .map_err(|e| TransportError(format!("{}: {}", redact(url), describe(&e))))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = resp
            .into_body()
            .with_config()
            .limit(u64::MAX)
            .read_to_vec()
            .map_err(|e| TransportError(format!("reading the answer of {}: {}", redact(url), e)))?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            _ => io.to_string(),
        },
        other => other.to_string(),
    }
}

/// The URL without user info or query (which may hold a secret), for messages.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let rest = match rest.split_once('/') {
        Some((auth, path)) => format!(
            "{}/{path}",
            auth.rsplit_once('@').map(|(_, h)| h).unwrap_or(auth)
        ),
        None => rest
            .rsplit_once('@')
            .map(|(_, h)| h.to_owned())
            .unwrap_or_else(|| rest.to_owned()),
    };
    if scheme.is_empty() {
        rest
    } else {
        format!("{scheme}://{rest}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_user_info_and_query() {
        assert_eq!(
            super::redact("https://u:p@h:1/a/b?token=x"),
            "https://h:1/a/b"
        );
        assert_eq!(super::redact("http://h"), "http://h");
    }
}
