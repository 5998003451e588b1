//! A typed client for the admin API, for weir's rollout controller (and tests).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
pub use http::StatusCode;
use http::{header, Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

use crate::api::{ErrorBody, ServiceList, ServiceMetrics, ServiceStatus, WeightsRequest};
use crate::spec::{duration_text, ServiceSpec};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("invalid admin address {0:?}")]
    BadAddress(String),
    #[error("admin API unreachable: {0}")]
    Transport(String),
    #[error("admin API answered {status}: {message}")]
    Api { status: StatusCode, message: String },
    #[error("admin API answer not understood: {0}")]
    Decode(String),
}

impl ClientError {
    /// The HTTP status of an API refusal (404 for an unknown service, 401 for a wrong token…).
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A connection to one proxy's admin API.
#[derive(Clone)]
pub struct AdminClient {
    base: String,
    token: String,
    http: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl AdminClient {
    /// `base` is `http://host:port` of the admin listener. A deploy may wait for targets, so
    /// `timeout` should exceed the services' deploy timeouts.
    pub fn new(base: &str, token: &str, timeout: Duration) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_string();
        let uri: Uri = base
            .parse()
            .map_err(|_| ClientError::BadAddress(base.clone()))?;
        if uri.scheme_str() != Some("http") || uri.authority().is_none() {
            return Err(ClientError::BadAddress(base));
        }
        Ok(AdminClient {
            base,
            token: token.to_string(),
            http: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
        })
    }

    pub async fn healthz(&self) -> Result<(), ClientError> {
        self.send(Method::GET, "/healthz", None).await.map(|_| ())
    }

    pub async fn services(&self) -> Result<ServiceList, ClientError> {
        self.json(Method::GET, "/v1/services", None).await
    }

    pub async fn service(&self, name: &str) -> Result<ServiceStatus, ClientError> {
        self.json(Method::GET, &format!("/v1/services/{name}"), None)
            .await
    }

    /// Deploys a service: returns once its new targets are healthy and traffic has moved.
    pub async fn put_service(
        &self,
        name: &str,
        spec: &ServiceSpec,
    ) -> Result<ServiceStatus, ClientError> {
        let body = serde_json::to_vec(spec).expect("specs serialize");
        self.json(Method::PUT, &format!("/v1/services/{name}"), Some(body))
            .await
    }

    pub async fn set_weights(
        &self,
        name: &str,
        weights: &BTreeMap<String, u32>,
    ) -> Result<ServiceStatus, ClientError> {
        let body = serde_json::to_vec(&WeightsRequest {
            weights: weights.clone(),
        })
        .expect("weights serialize");
        self.json(
            Method::POST,
            &format!("/v1/services/{name}/weights"),
            Some(body),
        )
        .await
    }

    pub async fn delete_service(&self, name: &str) -> Result<(), ClientError> {
        self.send(Method::DELETE, &format!("/v1/services/{name}"), None)
            .await
            .map(|_| ())
    }

    /// Per-version metrics over the last `window` (1s to 5m) and since the start.
    pub async fn metrics(
        &self,
        name: &str,
        window: Duration,
    ) -> Result<ServiceMetrics, ClientError> {
        let w = duration_text::format(window);
        self.json(
            Method::GET,
            &format!("/v1/services/{name}/metrics?window={w}"),
            None,
        )
        .await
    }

    /// The Prometheus text page.
    pub async fn prometheus(&self) -> Result<String, ClientError> {
        let body = self.send(Method::GET, "/metrics", None).await?;
        String::from_utf8(body.to_vec()).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ClientError> {
        let bytes = self.send(method, path, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, ClientError> {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|_| ClientError::BadAddress(self.base.clone()))?;
        let exchange = async {
            let resp = self
                .http
                .request(req)
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| ClientError::Transport(e.to_string()))?
                .to_bytes();
            Ok::<_, ClientError>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| {
                ClientError::Transport(format!("no answer within {:?}", self.timeout))
            })??;
        if status.is_success() {
            return Ok(bytes);
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|e| e.error)
            .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
        Err(ClientError::Api { status, message })
    }
}
