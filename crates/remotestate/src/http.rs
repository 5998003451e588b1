//! The `http` backend: Terraform's REST protocol. `GET address` reads the state (200 with a
//! body, or 204/404 for none), `update_method address[?ID=lock]` writes it, and the optional
//! `lock_method lock_address` / `unlock_method unlock_address` take and release the lock with
//! the lock info as the body (409 Conflict or 423 Locked, with the holder's info, when held).
//! One state only: no workspaces.

use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use md5::{Digest, Md5};
use statestore::{Backend, BackendError, LockError, LockInfo};

use crate::config::{coerce, env_first, invalid, ConfigError, Diags, Obj};
use crate::httpc::{self, Client, Resp, TransportError};
use crate::{Env, Map};

// No `Debug`: it holds the password.
#[derive(Clone)]
pub struct HttpConfig {
    pub address: String,
    pub update_method: String,
    pub lock_address: Option<String>,
    pub lock_method: String,
    pub unlock_address: Option<String>,
    pub unlock_method: String,
    pub username: String,
    pub password: String,
    pub skip_cert_verification: bool,
    pub retry_max: u32,
    pub retry_wait_min: u64,
    pub retry_wait_max: u64,
    pub client_ca_certificate_pem: String,
    pub client_certificate_pem: String,
    pub client_private_key_pem: String,
}

/// The attribute, else the environment variable, else the fallback (Terraform's
/// `GetAttrEnvDefaultFallback`).
fn str_env(obj: &Obj, env: &Env, name: &str, var: &str, fallback: &str) -> String {
    obj.str(name)
        .or_else(|| env_first(env, &[var]))
        .unwrap_or_else(|| fallback.to_owned())
}

fn url_ok(u: &str) -> bool {
    u.starts_with("http://") || u.starts_with("https://")
}

fn int_env(obj: &Obj, env: &Env, name: &str, var: &str, fallback: i64) -> Result<i64, ConfigError> {
    match obj.int(name) {
        Some(Ok(n)) => Ok(n),
        Some(Err(e)) => Err(invalid(format!("invalid {name}: {e}"))),
        None => match env_first(env, &[var]) {
            Some(v) => v
                .trim()
                .parse::<i64>()
                .map_err(|_| invalid(format!("invalid {name}: must be a whole number"))),
            None => Ok(fallback),
        },
    }
}

impl HttpConfig {
    pub fn from_map(
        map: &Map,
        env: &Env,
    ) -> Result<(HttpConfig, Vec<crate::ConfigDiagnostic>), ConfigError> {
        let schema = crate::schema::schema("http").expect("http schema");
        let obj = coerce(&schema, map)?;
        let address = str_env(&obj, env, "address", "TF_HTTP_ADDRESS", "");
        if address.is_empty() {
            return Err(invalid("address argument is required"));
        }
        if !url_ok(&address) {
            return Err(invalid("address must be HTTP or HTTPS"));
        }
        let lock_address = obj
            .str("lock_address")
            .or_else(|| env_first(env, &["TF_HTTP_LOCK_ADDRESS"]));
        if lock_address.as_deref().is_some_and(|u| !url_ok(u)) {
            return Err(invalid("lock_address must be HTTP or HTTPS"));
        }
        let unlock_address = obj
            .str("unlock_address")
            .or_else(|| env_first(env, &["TF_HTTP_UNLOCK_ADDRESS"]));
        if unlock_address.as_deref().is_some_and(|u| !url_ok(u)) {
            return Err(invalid("unlock_address must be HTTP or HTTPS"));
        }
        let cfg = HttpConfig {
            update_method: str_env(&obj, env, "update_method", "TF_HTTP_UPDATE_METHOD", "POST"),
            lock_method: str_env(&obj, env, "lock_method", "TF_HTTP_LOCK_METHOD", "LOCK"),
            unlock_method: str_env(
                &obj,
                env,
                "unlock_method",
                "TF_HTTP_UNLOCK_METHOD",
                "UNLOCK",
            ),
            username: str_env(&obj, env, "username", "TF_HTTP_USERNAME", ""),
            password: str_env(&obj, env, "password", "TF_HTTP_PASSWORD", ""),
            skip_cert_verification: obj.bool("skip_cert_verification").unwrap_or(false),
            retry_max: int_env(&obj, env, "retry_max", "TF_HTTP_RETRY_MAX", 2)?.max(0) as u32,
            retry_wait_min: int_env(&obj, env, "retry_wait_min", "TF_HTTP_RETRY_WAIT_MIN", 1)?
                .max(0) as u64,
            retry_wait_max: int_env(&obj, env, "retry_wait_max", "TF_HTTP_RETRY_WAIT_MAX", 30)?
                .max(0) as u64,
            client_ca_certificate_pem: str_env(
                &obj,
                env,
                "client_ca_certificate_pem",
                "TF_HTTP_CLIENT_CA_CERTIFICATE_PEM",
                "",
            ),
            client_certificate_pem: str_env(
                &obj,
                env,
                "client_certificate_pem",
                "TF_HTTP_CLIENT_CERTIFICATE_PEM",
                "",
            ),
            client_private_key_pem: str_env(
                &obj,
                env,
                "client_private_key_pem",
                "TF_HTTP_CLIENT_PRIVATE_KEY_PEM",
                "",
            ),
            address,
            lock_address,
            unlock_address,
        };
        if !cfg.client_certificate_pem.is_empty() && cfg.client_private_key_pem.is_empty() {
            return Err(invalid(
                "client_certificate_pem is set but client_private_key_pem is not",
            ));
        }
        if !cfg.client_private_key_pem.is_empty() && cfg.client_certificate_pem.is_empty() {
            return Err(invalid(
                "client_private_key_pem is set but client_certificate_pem is not",
            ));
        }
        Diags::default().finish(cfg)
    }
}

pub struct HttpBackend {
    cfg: HttpConfig,
    client: Client,
    /// The lock this process holds: its ID and the info sent, which unlock sends back.
    held: Mutex<Option<(String, Vec<u8>)>>,
}

impl HttpBackend {
    pub fn configure(cfg: HttpConfig) -> Result<HttpBackend, ConfigError> {
        let nonempty = |s: &str| (!s.is_empty()).then(|| s.as_bytes().to_vec());
        let client = Client::new(&httpc::Tls {
            skip_verification: cfg.skip_cert_verification,
            ca_pem: nonempty(&cfg.client_ca_certificate_pem),
            client_cert_pem: nonempty(&cfg.client_certificate_pem)
                .zip(nonempty(&cfg.client_private_key_pem)),
        })
        .map_err(invalid)?;
        Ok(HttpBackend {
            cfg,
            client,
            held: Mutex::new(None),
        })
    }

    /// One request with basic auth and, with a body, `Content-Type` and `Content-MD5`;
    /// retried as go-retryablehttp does (connection errors, 429 and 5xx but 501).
    fn request(
        &self,
        method: &str,
        url: &str,
        body: Option<&[u8]>,
        what: &str,
    ) -> Result<Resp, BackendError> {
        let mut headers = Vec::new();
        if !self.cfg.username.is_empty() {
            let cred = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", self.cfg.username, self.cfg.password));
            headers.push(("authorization".to_owned(), format!("Basic {cred}")));
        }
        if let Some(b) = body {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            headers.push((
                "content-md5".to_owned(),
                base64::engine::general_purpose::STANDARD.encode(Md5::digest(b)),
            ));
        }
        let mut attempt = 0u32;
        loop {
            let result = self.client.send(method, url, &headers, body.unwrap_or(b""));
            let retry = match &result {
                Err(TransportError(_)) => true,
                Ok(r) => r.status == 429 || (r.status >= 500 && r.status != 501),
            };
            if !retry || attempt >= self.cfg.retry_max {
                return match result {
                    Ok(r) => Ok(r),
                    Err(TransportError(m)) if attempt > 0 => {
                        Err(BackendError::Unreachable(format!(
                            "Failed to {what}: {method} {} giving up after {} attempt(s): {m}",
                            httpc::redact(url),
                            attempt + 1
                        )))
                    }
                    Err(TransportError(m)) => {
                        Err(BackendError::Unreachable(format!("Failed to {what}: {m}")))
                    }
                };
            }
            let wait = self
                .cfg
                .retry_wait_min
                .saturating_mul(1 << attempt.min(16))
                .min(self.cfg.retry_wait_max);
            std::thread::sleep(Duration::from_secs(wait));
            attempt += 1;
        }
    }

    fn check_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if workspace != crate::DEFAULT_WORKSPACE {
            return Err(BackendError::Refused("workspaces not supported".to_owned()));
        }
        Ok(())
    }
}

fn auth_error(status: u16) -> Option<BackendError> {
    match status {
        401 => Some(BackendError::Refused(
            "HTTP remote state endpoint requires auth".into(),
        )),
        403 => Some(BackendError::Refused(
            "HTTP remote state endpoint invalid auth".into(),
        )),
        _ => None,
    }
}

impl Backend for HttpBackend {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn location(&self, _workspace: &str) -> String {
        httpc::redact(&self.cfg.address)
    }

    fn supports_workspaces(&self) -> bool {
        false
    }

    fn workspaces(&self) -> Result<Vec<String>, BackendError> {
        Ok(vec![crate::DEFAULT_WORKSPACE.to_owned()])
    }

    fn create_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        self.check_workspace(workspace)
    }

    fn delete_workspace(&self, _workspace: &str) -> Result<(), BackendError> {
        Err(BackendError::Refused("workspaces not supported".to_owned()))
    }

    fn get(&self, workspace: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.check_workspace(workspace)?;
        let r = self.request("GET", &self.cfg.address, None, "get state")?;
        match r.status {
            200 => {}
            204 | 404 => return Ok(None),
            500 => {
                return Err(BackendError::Refused(
                    "HTTP remote state internal server error".into(),
                ))
            }
            s => {
                return Err(auth_error(s).unwrap_or_else(|| {
                    BackendError::Refused(format!("Unexpected HTTP response code {s}"))
                }))
            }
        }
        if r.body.is_empty() {
            return Ok(None);
        }
        if let Some(raw) = r.header("content-md5") {
            let want = base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|e| {
                    BackendError::Corrupt(format!("Failed to decode Content-MD5 '{raw}': {e}"))
                })?;
            if want != Md5::digest(&r.body).as_slice() {
                return Err(BackendError::Corrupt(format!(
                    "the state from {} does not match its Content-MD5 header",
                    httpc::redact(&self.cfg.address)
                )));
            }
        }
        Ok(Some(r.body))
    }

    fn put(&self, workspace: &str, bytes: &[u8]) -> Result<(), BackendError> {
        self.check_workspace(workspace)?;
        let mut url = self.cfg.address.clone();
        if let Some((id, _)) = &*self.held.lock().expect("lock state") {
            let sep = if url.contains('?') { '&' } else { '?' };
            // As Go's url.Values.Encode: unreserved characters stay as they are.
            url = format!("{url}{sep}ID={}", crate::sigv4::uri_encode(id, false));
        }
        let method = if self.cfg.update_method.is_empty() {
            "POST"
        } else {
            &self.cfg.update_method
        };
        let r = self.request(method, &url, Some(bytes), "upload state")?;
        match r.status {
            200 | 201 | 204 => Ok(()),
            s => {
                Err(auth_error(s)
                    .unwrap_or_else(|| BackendError::Refused(format!("HTTP error: {s}"))))
            }
        }
    }

    fn supports_locking(&self) -> bool {
        self.cfg.lock_address.is_some()
    }

    fn lock(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError> {
        self.check_workspace(workspace)?;
        let Some(lock_url) = &self.cfg.lock_address else {
            return Ok(());
        };
        let body = serde_json::to_vec(info).expect("lock info serializes");
        let r = self.request(&self.cfg.lock_method, lock_url, Some(&body), "lock")?;
        match r.status {
            200 => {
                *self.held.lock().expect("lock state") = Some((info.id.clone(), body));
                Ok(())
            }
            409 | 423 => {
                let holder: Option<LockInfo> = serde_json::from_slice(&r.body).ok();
                let reason = match &holder {
                    Some(h) => format!("HTTP remote state already locked: ID={}", h.id),
                    None => "HTTP remote state already locked, failed to unmarshal body".into(),
                };
                Err(LockError::Held {
                    reason,
                    holder: holder.map(Box::new),
                }
                .into())
            }
            s => Err(auth_error(s).unwrap_or_else(|| {
                BackendError::Refused(format!("Unexpected HTTP response code {s}"))
            })),
        }
    }

    fn unlock(&self, workspace: &str, id: &str) -> Result<(), BackendError> {
        self.check_workspace(workspace)?;
        let Some(unlock_url) = &self.cfg.unlock_address else {
            return Ok(());
        };
        // The info this process locked with; for another process's lock (force-unlock), its
        // ID alone, so the server can check it.
        let body = match &*self.held.lock().expect("lock state") {
            Some((held_id, body)) if held_id == id => body.clone(),
            _ => serde_json::to_vec(&serde_json::json!({ "ID": id })).expect("serializes"),
        };
        let r = self.request(&self.cfg.unlock_method, unlock_url, Some(&body), "unlock")?;
        match r.status {
            200 | 204 => {
                let mut held = self.held.lock().expect("lock state");
                if held.as_ref().is_some_and(|(h, _)| h == id) {
                    *held = None;
                }
                Ok(())
            }
            409 | 423 => match serde_json::from_slice::<LockInfo>(&r.body) {
                Ok(h) if h.id != id => Err(LockError::IdMismatch {
                    given: id.to_owned(),
                    held: h.id,
                }
                .into()),
                _ => Err(BackendError::Refused(format!(
                    "Unexpected HTTP response code {}",
                    r.status
                ))),
            },
            s => Err(auth_error(s).unwrap_or_else(|| {
                BackendError::Refused(format!("Unexpected HTTP response code {s}"))
            })),
        }
    }

    fn lock_holder(&self, _workspace: &str) -> Result<Option<LockInfo>, BackendError> {
        // The protocol has no way to ask; only our own lock is known.
        Ok(None)
    }
}
