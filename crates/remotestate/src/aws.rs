//! The slice of AWS the s3 backend needs: region and credential resolution as Terraform's
//! `aws-sdk-go-base` does it (configuration, environment, shared files), endpoints, signed
//! requests with retries, AWS error bodies, and STS `GetCallerIdentity`.

use std::time::Duration;

use statestore::BackendError;

use crate::config::{env_first, ConfigDiagnostic};
use crate::httpc::{Client, Resp};
use crate::sigv4::{self, Credentials};
use crate::Env;

/// Where requests for one service go: `scheme://host[:port]` and an optional path prefix.
#[derive(Clone, Debug)]
pub struct Endpoint {
    pub base: String,
}

impl Endpoint {
    /// A configured endpoint; a bare host gets `https://` as the AWS SDK's legacy form did.
    pub fn custom(url: &str) -> Endpoint {
        let url = url.trim_end_matches('/');
        let base = if url.contains("://") {
            url.to_owned()
        } else {
            format!("https://{url}")
        };
        Endpoint { base }
    }

    pub fn host(&self) -> &str {
        let rest = self
            .base
            .split_once("://")
            .map(|x| x.1)
            .unwrap_or(&self.base);
        rest.split('/').next().unwrap_or(rest)
    }

    pub fn scheme(&self) -> &str {
        self.base.split_once("://").map(|x| x.0).unwrap_or("https")
    }

    /// The path prefix of a custom endpoint (usually empty).
    pub fn path_prefix(&self) -> &str {
        let rest = self
            .base
            .split_once("://")
            .map(|x| x.1)
            .unwrap_or(&self.base);
        rest.find('/').map(|i| &rest[i..]).unwrap_or("")
    }
}

/// AWS's default endpoint for `service` in `region`.
pub fn default_endpoint(service: &str, region: &str, fips: bool, dualstack: bool) -> Endpoint {
    let suffix = if region.starts_with("cn-") {
        "amazonaws.com.cn"
    } else {
        "amazonaws.com"
    };
    let name = match (fips, dualstack) {
        (true, true) => format!("{service}-fips.dualstack"),
        (true, false) => format!("{service}-fips"),
        (false, true) => format!("{service}.dualstack"),
        (false, false) => service.to_owned(),
    };
    Endpoint {
        base: format!("https://{name}.{region}.{suffix}"),
    }
}

/// An error answer of an AWS API: HTTP status, error code and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StatusCode: {}, api error {}", self.status, self.code)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        Ok(())
    }
}

/// What a call ended with when it did not succeed.
#[derive(Debug)]
pub enum CallError {
    Api(ApiError),
    Transport(String),
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Api(e) => e.fmt(f),
            CallError::Transport(m) => f.write_str(m),
        }
    }
}

impl CallError {
    /// As a backend error, with `context` (what was attempted) in front.
    pub fn into_backend(self, context: &str) -> BackendError {
        match self {
            CallError::Api(e) => BackendError::Refused(format!("{context}: {e}")),
            CallError::Transport(m) => BackendError::Unreachable(format!("{context}: {m}")),
        }
    }
}

/// A signed-request client for one account and region.
pub struct Aws {
    pub region: String,
    pub creds: Credentials,
    pub client: Client,
    pub max_retries: u32,
}

/// One request before signing.
pub struct Call<'a> {
    pub service: &'a str,
    pub method: &'a str,
    pub endpoint: &'a Endpoint,
    /// Host to send and sign (virtual-hosted S3 puts the bucket in front of the endpoint's).
    pub host: String,
    /// Canonical (already URI-encoded) path.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: &'a [u8],
}

impl Aws {
    /// Sends a signed request, retrying transport errors, throttling and 5xx answers with
    /// backoff (`max_retries` times, as the SDK's standard retryer). A non-2xx answer that is
    /// not retried is returned as [`CallError::Api`] with the code from its body.
    pub fn call(&self, call: &Call<'_>) -> Result<Resp, CallError> {
        let mut attempt = 0;
        loop {
            let result = self.call_once(call);
            let retry = match &result {
                Err(CallError::Transport(_)) => true,
                Err(CallError::Api(e)) => {
                    e.status >= 500
                        || e.status == 429
                        || matches!(
                            e.code.as_str(),
                            "Throttling"
                                | "ThrottlingException"
                                | "ProvisionedThroughputExceededException"
                                | "RequestLimitExceeded"
                                | "SlowDown"
                        )
                }
                Ok(_) => false,
            };
            if !retry || attempt >= self.max_retries {
                return result;
            }
            // Exponential backoff from 100 ms, capped at 5 s, with jitter from the clock.
            let base = 100u64.saturating_mul(1 << attempt.min(6)).min(5_000);
            let jitter = u64::from(chrono::Utc::now().timestamp_subsec_millis()) % (base / 2 + 1);
            std::thread::sleep(Duration::from_millis(base / 2 + jitter));
            attempt += 1;
        }
    }

    fn call_once(&self, call: &Call<'_>) -> Result<Resp, CallError> {
        let payload_hash = sigv4::sha256_hex(call.body);
        let mut headers = call.headers.clone();
        headers.push(("host".into(), call.host.clone()));
        if call.service == "s3" {
            headers.push(("x-amz-content-sha256".into(), payload_hash.clone()));
        }
        let path = format!("{}{}", call.endpoint.path_prefix(), call.path);
        let signed = sigv4::sign(
            &sigv4::Request {
                method: call.method,
                canonical_path: &path,
                query: &call.query,
                headers: &headers,
                payload_hash: &payload_hash,
            },
            &self.creds,
            &self.region,
            call.service,
            chrono::Utc::now(),
        );
        headers.extend(signed);
        // ureq sets Host from the URL itself.
        headers.retain(|(k, _)| k != "host");
        let query = sigv4::canonical_query(&call.query);
        let url = format!(
            "{}://{}{}{}",
            call.endpoint.scheme(),
            call.host,
            path,
            if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            }
        );
        let resp = self
            .client
            .send(call.method, &url, &headers, call.body)
            .map_err(|e| CallError::Transport(e.0))?;
        if (200..300).contains(&resp.status) {
            Ok(resp)
        } else {
            Err(CallError::Api(parse_error(&resp)))
        }
    }
}

/// Reads the error code and message from an XML (S3, STS) or JSON (DynamoDB) error body.
pub fn parse_error(resp: &Resp) -> ApiError {
    let text = String::from_utf8_lossy(&resp.body);
    let (code, message) = if text.trim_start().starts_with('{') {
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let ty = v["__type"].as_str().unwrap_or_default();
        let code = ty.rsplit('#').next().unwrap_or(ty).to_owned();
        let msg = v["message"]
            .as_str()
            .or(v["Message"].as_str())
            .unwrap_or_default()
            .to_owned();
        (code, msg)
    } else {
        (
            xml_text(&text, "Code").unwrap_or_default(),
            xml_text(&text, "Message").unwrap_or_default(),
        )
    };
    let code = if code.is_empty() {
        match resp.status {
            301 => "PermanentRedirect".to_owned(),
            403 => "Forbidden".to_owned(),
            404 => "NotFound".to_owned(),
            412 => "PreconditionFailed".to_owned(),
            s => format!("HTTP{s}"),
        }
    } else {
        code
    };
    ApiError {
        status: resp.status,
        code,
        message,
    }
}

/// The text of the first `<tag>` element (entities decoded).
pub fn xml_text(doc: &str, tag: &str) -> Option<String> {
    xml_all(doc, tag).into_iter().next()
}

/// The texts of every `<tag>` element, in order.
pub fn xml_all(doc: &str, tag: &str) -> Vec<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = doc;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(xml_unescape(&after[..j]));
        rest = &after[j + close.len()..];
    }
    out
}

fn xml_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let Some(end) = after.find(';') else {
            out.push_str(after);
            return out;
        };
        let ent = &after[1..end];
        let decoded = match ent {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ if ent.starts_with("#x") => u32::from_str_radix(&ent[2..], 16)
                .ok()
                .and_then(char::from_u32),
            _ if ent.starts_with('#') => ent[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&after[..=end]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Where credentials may come from, in Terraform's order.
pub struct CredentialSources<'a> {
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub token: Option<String>,
    pub profile: Option<String>,
    pub shared_credentials_files: Option<Vec<String>>,
    pub shared_config_files: Option<Vec<String>>,
    pub env: &'a Env,
}

/// Resolves credentials: static keys in the configuration, then a configured profile, then
/// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, then the `AWS_PROFILE` (or `default`) profile
/// of the shared credentials and config files.
pub fn resolve_credentials(src: &CredentialSources<'_>) -> Result<Credentials, ConfigDiagnostic> {
    if let (Some(a), Some(s)) = (&src.access_key, &src.secret_key) {
        return Ok(Credentials {
            access_key: a.clone(),
            secret_key: s.clone(),
            session_token: src.token.clone(),
        });
    }
    let env = src.env;
    if let Some(p) = &src.profile {
        return profile_credentials(src, p)?.ok_or_else(|| missing_profile(p));
    }
    if let (Some(a), Some(s)) = (
        env_first(env, &["AWS_ACCESS_KEY_ID"]),
        env_first(env, &["AWS_SECRET_ACCESS_KEY"]),
    ) {
        return Ok(Credentials {
            access_key: a,
            secret_key: s,
            session_token: env_first(env, &["AWS_SESSION_TOKEN"]),
        });
    }
    let profile = env_first(env, &["AWS_PROFILE"]);
    match profile_credentials(src, profile.as_deref().unwrap_or("default"))? {
        Some(c) => Ok(c),
        None if profile.is_some() => Err(missing_profile(profile.as_deref().unwrap_or_default())),
        None => Err(ConfigDiagnostic::error(
            "No valid credential sources found",
            "Please see https://developer.hashicorp.com/terraform/language/backend/s3\n\
             for more information about providing credentials.\n\n\
             Error: no credentials in the configuration (access_key, secret_key), the environment \
             (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the shared credentials and config files. \
             (weir does not read EC2 instance metadata, ECS container credentials or SSO.)",
        )),
    }
}

fn missing_profile(p: &str) -> ConfigDiagnostic {
    ConfigDiagnostic::error(
        "failed to get shared config profile, ".to_owned() + p,
        format!("The profile {p:?} was not found (or has no aws_access_key_id and aws_secret_access_key) in the shared credentials or config files."),
    )
}

fn expand_home(path: &str, env: &Env) -> String {
    match (path.strip_prefix("~/"), env.get("HOME")) {
        (Some(rest), Some(home)) => format!("{home}/{rest}"),
        _ => path.to_owned(),
    }
}

fn profile_credentials(
    src: &CredentialSources<'_>,
    profile: &str,
) -> Result<Option<Credentials>, ConfigDiagnostic> {
    let env = src.env;
    let cred_files = src.shared_credentials_files.clone().unwrap_or_else(|| {
        vec![env_first(env, &["AWS_SHARED_CREDENTIALS_FILE"])
            .unwrap_or_else(|| "~/.aws/credentials".to_owned())]
    });
    let config_files = src.shared_config_files.clone().unwrap_or_else(|| {
        vec![env_first(env, &["AWS_CONFIG_FILE"]).unwrap_or_else(|| "~/.aws/config".to_owned())]
    });
    let mut found: Option<Credentials> = None;
    let mut lookup = |files: &[String], section: &str| {
        for f in files {
            let Ok(text) = std::fs::read_to_string(expand_home(f, env)) else {
                continue;
            };
            if let Some(c) = ini_credentials(&text, section) {
                found = Some(c);
            }
        }
    };
    // Credentials files win over config files, later files over earlier ones.
    let config_section = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    lookup(&config_files, &config_section);
    lookup(&cred_files, profile);
    Ok(found)
}

/// Keys of `[section]` in an INI-style AWS shared file.
fn ini_credentials(text: &str, section: &str) -> Option<Credentials> {
    let mut current = String::new();
    let (mut a, mut s, mut t) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_owned();
            continue;
        }
        if current != section {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().to_owned();
            match k.trim() {
                "aws_access_key_id" => a = Some(v),
                "aws_secret_access_key" => s = Some(v),
                "aws_session_token" => t = Some(v),
                _ => {}
            }
        }
    }
    Some(Credentials {
        access_key: a?,
        secret_key: s?,
        session_token: t,
    })
}

/// AWS regions `skip_region_validation = false` accepts (aws-sdk-go-base's partitions).
pub const REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
];

/// STS `GetCallerIdentity`: the account ID of the credentials.
pub fn caller_account(aws: &Aws, sts: &Endpoint) -> Result<String, CallError> {
    let body = b"Action=GetCallerIdentity&Version=2011-06-15";
    let resp = aws.call(&Call {
        service: "sts",
        method: "POST",
        endpoint: sts,
        host: sts.host().to_owned(),
        path: "/".into(),
        query: Vec::new(),
        headers: vec![(
            "content-type".into(),
            "application/x-www-form-urlencoded; charset=utf-8".into(),
        )],
        body,
    })?;
    Ok(xml_text(&String::from_utf8_lossy(&resp.body), "Account").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_profiles_from_shared_files() {
        let dir = tempfile::tempdir().unwrap();
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = A1\naws_secret_access_key = S1\n\n[ci]\naws_access_key_id=A2\naws_secret_access_key=S2\naws_session_token=T2\n",
        )
        .unwrap();
        let env = Env::from([(
            "AWS_SHARED_CREDENTIALS_FILE".to_owned(),
            creds.display().to_string(),
        )]);
        let src = |profile: Option<&str>| CredentialSources {
            access_key: None,
            secret_key: None,
            token: None,
            profile: profile.map(str::to_owned),
            shared_credentials_files: None,
            shared_config_files: Some(vec![]),
            env: &env,
        };
        assert_eq!(resolve_credentials(&src(None)).unwrap().access_key, "A1");
        let ci = resolve_credentials(&src(Some("ci"))).unwrap();
        assert_eq!(
            (ci.access_key.as_str(), ci.session_token.as_deref()),
            ("A2", Some("T2"))
        );
        let err = resolve_credentials(&src(Some("nope"))).unwrap_err();
        assert!(err.detail.contains("\"nope\""), "{err:?}");
    }

    #[test]
    fn decodes_xml_entities() {
        let doc = "<L><Key>a&amp;b&#x41;&#66;</Key><Key>c</Key></L>";
        assert_eq!(xml_all(doc, "Key"), vec!["a&bAB", "c"]);
    }
}
