//! AWS Signature Version 4, written against AWS's documented algorithm ("Create a signed AWS API
//! request") rather than pulling the AWS SDK's runtime crates: S3 and DynamoDB need only the
//! header form, and the whole of it is a few HMACs.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// Credentials to sign with. `Debug` shows only the access key ID.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, ***)", self.access_key)
    }
}

/// A request to sign: the path already in its canonical (URI-encoded) form, query parameters
/// raw, headers as they will be sent (must include `host`).
pub struct Request<'a> {
    pub method: &'a str,
    pub canonical_path: &'a str,
    pub query: &'a [(String, String)],
    pub headers: &'a [(String, String)],
    /// Hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`).
    pub payload_hash: &'a str,
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// RFC 3986 percent-encoding of everything but unreserved characters (`/` too unless
/// `keep_slash`), as SigV4's canonical forms require.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The canonical query string: parameters encoded, sorted by name then value.
pub fn canonical_query(query: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Headers to add to the request: `x-amz-date`, `x-amz-security-token` (with a session
/// token) and `authorization`.
pub fn sign(
    req: &Request<'_>,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let mut added = vec![("x-amz-date".to_owned(), amz_date.clone())];
    if let Some(t) = &creds.session_token {
        added.push(("x-amz-security-token".to_owned(), t.clone()));
    }
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .chain(added.iter())
        .map(|(k, v)| (k.to_ascii_lowercase(), normalize_value(v)))
        .collect();
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed_headers = headers
        .iter()
        .map(|(k, _)| k.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        req.canonical_path,
        canonical_query(req.query),
        canonical_headers,
        signed_headers,
        req.payload_hash
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac(
        format!("AWS4{}", creds.secret_key).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    added.push((
        "authorization".to_owned(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            creds.access_key
        ),
    ));
    added
}

/// Trims a header value and collapses runs of spaces, as the canonical form requires.
fn normalize_value(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds() -> Credentials {
        Credentials {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        }
    }

    fn at() -> DateTime<Utc> {
        "2015-08-30T12:36:00Z".parse().unwrap()
    }

    fn auth(added: &[(String, String)]) -> &str {
        &added.iter().find(|(k, _)| k == "authorization").unwrap().1
    }

    // AWS's SigV4 test suite, case `get-vanilla`.
    #[test]
    fn aws_test_suite_get_vanilla() {
        let headers = vec![("Host".to_owned(), "example.amazonaws.com".to_owned())];
        let added = sign(
            &Request {
                method: "GET",
                canonical_path: "/",
                query: &[],
                headers: &headers,
                payload_hash: &sha256_hex(b""),
            },
            &creds(),
            "us-east-1",
            "service",
            at(),
        );
        assert_eq!(
            auth(&added),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    // AWS's SigV4 test suite, case `post-x-www-form-urlencoded`.
    #[test]
    fn aws_test_suite_post_form() {
        let body = b"Param1=value1";
        let headers = vec![
            (
                "Content-Type".to_owned(),
                "application/x-www-form-urlencoded".to_owned(),
            ),
            ("Host".to_owned(), "example.amazonaws.com".to_owned()),
        ];
        let added = sign(
            &Request {
                method: "POST",
                canonical_path: "/",
                query: &[],
                headers: &headers,
                payload_hash: &sha256_hex(body),
            },
            &creds(),
            "us-east-1",
            "service",
            at(),
        );
        assert_eq!(
            auth(&added),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        );
    }

    // AWS's SigV4 test suite, case `get-vanilla-query-order-key-case`.
    #[test]
    fn aws_test_suite_query_order() {
        let headers = vec![("Host".to_owned(), "example.amazonaws.com".to_owned())];
        let query = vec![
            ("Param2".to_owned(), "value2".to_owned()),
            ("Param1".to_owned(), "value1".to_owned()),
        ];
        let added = sign(
            &Request {
                method: "GET",
                canonical_path: "/",
                query: &query,
                headers: &headers,
                payload_hash: &sha256_hex(b""),
            },
            &creds(),
            "us-east-1",
            "service",
            at(),
        );
        assert_eq!(
            auth(&added),
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn encodes_like_s3_expects() {
        assert_eq!(uri_encode("env:/dev/a b+c", true), "env%3A/dev/a%20b%2Bc");
        assert_eq!(uri_encode("a/b", false), "a%2Fb");
    }
}
