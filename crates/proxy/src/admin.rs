//! The admin API (axum) that only weir's rollout controller talks to. Every endpoint except
//! `/healthz` needs `Authorization: Bearer <token>`; the token is compared in constant time
//! (as SHA-256 digests, so not even its length leaks) and never logged.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::api::{ErrorBody, ServiceList, ServiceMetrics, VersionMetricsReport, WeightsRequest};
use crate::control::Shared;
use crate::error::{ChangeError, SpecError};
use crate::metrics::{render_prometheus, PromVersion, MAX_WINDOW};
use crate::spec::{duration_text, ServiceSpec};

#[derive(Clone)]
struct AdminState {
    shared: Arc<Shared>,
    token_digest: [u8; 32],
}

pub fn router(shared: Arc<Shared>, token: &str) -> Router {
    let state = AdminState {
        shared,
        token_digest: Sha256::digest(token.as_bytes()).into(),
    };
    let protected = Router::new()
        .route("/v1/services", get(list))
        .route(
            "/v1/services/{name}",
            get(get_service).put(put_service).delete(delete_service),
        )
        .route("/v1/services/{name}/weights", post(set_weights))
        .route("/v1/services/{name}/metrics", get(service_metrics))
        .route("/metrics", get(prometheus))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .merge(protected)
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint".into()) })
        .with_state(state)
}

async fn auth(State(st): State<AdminState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| -> [u8; 32] { Sha256::digest(t.trim().as_bytes()).into() });
    match given {
        Some(d) if constant_time_eq(&d, &st.token_digest) => next.run(req).await,
        _ => {
            let mut resp = error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token".into(),
            );
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, "Bearer".parse().expect("valid"));
            resp
        }
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn list(State(st): State<AdminState>) -> Response {
    let table = st.shared.table.load();
    let services = table
        .services
        .values()
        .map(|s| st.shared.status(s))
        .collect();
    Json(ServiceList { services }).into_response()
}

async fn get_service(State(st): State<AdminState>, Path(name): Path<String>) -> Response {
    match st.shared.service_status(&name) {
        Some(s) => Json(s).into_response(),
        None => change_error(ChangeError::NotFound(name)),
    }
}

async fn put_service(
    State(st): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let spec: ServiceSpec = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("invalid service spec: {e}"),
            )
        }
    };
    match st.shared.put_service(&name, spec).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => change_error(e),
    }
}

async fn delete_service(State(st): State<AdminState>, Path(name): Path<String>) -> Response {
    match st.shared.delete_service(&name).await {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => change_error(e),
    }
}

async fn set_weights(
    State(st): State<AdminState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    let req: WeightsRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                "invalid weights: {e} (expected {{\"weights\": {{\"VERSION\": PERCENT, ...}}}})"
            ),
            )
        }
    };
    match st.shared.set_weights(&name, &req.weights).await {
        Ok(s) => Json(s).into_response(),
        Err(e) => change_error(e),
    }
}

#[derive(Deserialize)]
struct MetricsQuery {
    window: Option<String>,
}

async fn service_metrics(
    State(st): State<AdminState>,
    Path(name): Path<String>,
    Query(q): Query<MetricsQuery>,
) -> Response {
    let window = match q.window.as_deref().map(duration_text::parse) {
        None => Duration::from_secs(30),
        Some(Some(w)) if w >= Duration::from_secs(1) && w <= MAX_WINDOW => w,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "invalid window {:?}: a duration from 1s to {}",
                    q.window.unwrap_or_default(),
                    duration_text::format(MAX_WINDOW)
                ),
            )
        }
    };
    let table = st.shared.table.load();
    let Some(s) = table.services.get(&name) else {
        return change_error(ChangeError::NotFound(name));
    };
    let versions = s
        .versions
        .iter()
        .map(|v| VersionMetricsReport {
            version: v.name.clone(),
            weight: v.weight,
            window: v.metrics.window(window),
            cumulative: v.metrics.cumulative(),
            connect_failures: v.metrics.connect_failures(),
            latency_buckets: v.metrics.buckets(),
            latency_sum_seconds: v.metrics.sum_seconds(),
        })
        .collect();
    Json(ServiceMetrics {
        service: name,
        window_seconds: window.as_secs(),
        versions,
    })
    .into_response()
}

async fn prometheus(State(st): State<AdminState>) -> Response {
    let table = st.shared.table.load();
    let versions: Vec<PromVersion<'_>> = table
        .services
        .values()
        .flat_map(|s| {
            s.versions.iter().map(|v| PromVersion {
                service: &s.name,
                version: &v.name,
                weight: v.weight,
                targets: v.targets.len(),
                healthy_targets: v.healthy_targets(),
                metrics: &v.metrics,
            })
        })
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "text/plain; version=0.0.4; charset=utf-8"
            .parse()
            .expect("valid"),
    );
    (headers, render_prometheus(&versions)).into_response()
}

fn change_error(e: ChangeError) -> Response {
    let status = match &e {
        ChangeError::Spec(SpecError::HostTaken { .. } | SpecError::DefaultTaken(_)) => {
            StatusCode::CONFLICT
        }
        ChangeError::Spec(_) => StatusCode::BAD_REQUEST,
        ChangeError::NotFound(_) => StatusCode::NOT_FOUND,
        ChangeError::Unhealthy { .. } => StatusCode::GATEWAY_TIMEOUT,
        ChangeError::Persist(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    match status {
        StatusCode::INTERNAL_SERVER_ERROR => tracing::error!("{e}"),
        StatusCode::GATEWAY_TIMEOUT => tracing::warn!("{e}"),
        _ => {}
    }
    error(status, e.to_string())
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(ErrorBody { error: message })).into_response()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn digests_compare() {
        assert!(constant_time_eq(&[1; 32], &[1; 32]));
        let mut b = [1; 32];
        b[31] = 2;
        assert!(!constant_time_eq(&[1; 32], &b));
    }
}
