//! The data plane: one request in, routed by `Host` to a service, split by weight to a version,
//! sent to a healthy target of it, and the response streamed back. Bodies stream both ways;
//! metrics are recorded when the response body ends, so latency covers the whole answer.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{Either, Empty, Full};
use hyper::body::Incoming;

use crate::control::Shared;
use crate::metrics::VersionMetrics;
use crate::table::ServiceRt;
use crate::target::{InFlight, Target, UpBody};

/// What the proxy answers with: the target's streamed body, or its own short message.
pub type ProxyBody = Either<Tracked, Full<Bytes>>;

/// Where a request came from.
#[derive(Clone, Copy)]
pub struct Peer {
    pub addr: SocketAddr,
    pub tls: bool,
    /// The data-plane worker thread serving the connection (selects the connection pool).
    pub worker: usize,
}

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
static X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");

/// Headers that describe one connection, not the message (RFC 9110 §7.6.1).
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    header::PROXY_AUTHENTICATE,
    header::PROXY_AUTHORIZATION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
];

pub async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    peer: Peer,
) -> Result<Response<ProxyBody>, Infallible> {
    let start = Instant::now();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
        .map(str::to_string);
    let service = {
        let table = shared.table.load();
        table.route(host.as_deref()).cloned()
    };
    let Some(service) = service else {
        return Ok(plain(
            StatusCode::NOT_FOUND,
            format!(
                "No service is configured for host {:?}.\n",
                host.unwrap_or_default()
            ),
        ));
    };
    let sticky = service
        .spec
        .sticky_cookie
        .as_deref()
        .and_then(|name| cookie(req.headers(), name));
    let Some(pick) = service.pick(sticky.as_deref()) else {
        tracing::warn!(service = %service.name, "no healthy target");
        return Ok(plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Service {:?} has no healthy target to take this request.\n",
                service.name
            ),
        ));
    };
    let set_cookie = service
        .spec
        .sticky_cookie
        .as_ref()
        .filter(|_| sticky.as_deref() != Some(service.versions[pick.version].name.as_str()))
        .map(|name| {
            format!(
                "{name}={}; Path=/; HttpOnly",
                service.versions[pick.version].name
            )
        });
    let ctx = Ctx {
        service,
        version: pick.version,
        start,
        access: shared.access_log.then(|| {
            Box::new(Access {
                method: req.method().clone(),
                path: req.uri().path().to_string(),
                peer: peer.addr,
            })
        }),
    };
    Ok(ctx.forward(req, pick.target, host, peer, set_cookie).await)
}

/// One request's routing decision and what is needed to account for it.
struct Ctx {
    service: Arc<ServiceRt>,
    version: usize,
    start: Instant,
    access: Option<Box<Access>>,
}

struct Access {
    method: Method,
    path: String,
    peer: SocketAddr,
}

impl Ctx {
    async fn forward(
        self,
        req: Request<Incoming>,
        mut target: Arc<Target>,
        host: Option<String>,
        peer: Peer,
        set_cookie: Option<String>,
    ) -> Response<ProxyBody> {
        let (parts, body) = req.into_parts();
        let headers = upstream_headers(&parts.headers, host.as_deref(), peer);
        // Only an idempotent request without a body is retried, and only when the target
        // refused the connection or closed it before any answer.
        let retryable = is_idempotent(&parts.method) && body.is_end_stream();
        let mut body = if retryable { None } else { Some(body) };
        let timeout = self.service.spec.timeouts.response;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let flight = InFlight::new(target.clone());
            let up = build(&parts.method, &parts.uri, &headers, &target, body.take());
            let result =
                tokio::time::timeout(timeout, target.client(peer.worker).request(up)).await;
            match result {
                Ok(Ok(resp)) => return self.respond(resp, flight, set_cookie),
                Ok(Err(e)) if e.is_connect() => {
                    drop(flight);
                    target.connect_failed();
                    let v = &self.service.versions[self.version];
                    v.metrics.connect_failure();
                    if retryable && attempts == 1 {
                        if let Some(next) = v.pick_target(Some(&target)) {
                            target = next;
                            continue;
                        }
                    }
                    let msg = format!(
                        "Could not connect to target {} of service {:?} version {:?}.\n",
                        target.addr, self.service.name, v.name
                    );
                    return self.fail(StatusCode::BAD_GATEWAY, msg, &target);
                }
                Ok(Err(e)) if retryable && attempts == 1 && closed_before_answer(&e) => {
                    // A kept-alive connection the target closed as the request went out (an
                    // idle timeout shorter than the pool's), or a target that died before
                    // answering: an idempotent body-less request can safely go out again.
                    drop(flight);
                    let v = &self.service.versions[self.version];
                    if let Some(next) = v.pick_target(None) {
                        target = next;
                        continue;
                    }
                    let msg = format!(
                        "Target {} of service {:?} closed the connection without answering.\n",
                        target.addr, self.service.name
                    );
                    return self.fail(StatusCode::BAD_GATEWAY, msg, &target);
                }
                Ok(Err(e)) => {
                    drop(flight);
                    tracing::warn!(service = %self.service.name, target = %target.addr, error = %error_chain(&e), "target failed the request");
                    let msg = format!(
                        "Target {} of service {:?} failed to answer: {}.\n",
                        target.addr,
                        self.service.name,
                        error_chain(&e)
                    );
                    return self.fail(StatusCode::BAD_GATEWAY, msg, &target);
                }
                Err(_) => {
                    drop(flight);
                    let msg = format!(
                        "Target {} of service {:?} did not answer within {:?}.\n",
                        target.addr, self.service.name, timeout
                    );
                    return self.fail(StatusCode::GATEWAY_TIMEOUT, msg, &target);
                }
            }
        }
    }

    fn respond(
        self,
        resp: Response<Incoming>,
        flight: InFlight,
        set_cookie: Option<String>,
    ) -> Response<ProxyBody> {
        let (mut parts, body) = resp.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        if let Some(c) = set_cookie.and_then(|c| HeaderValue::try_from(c).ok()) {
            parts.headers.append(header::SET_COOKIE, c);
        }
        let status = parts.status.as_u16();
        let metrics = self.service.versions[self.version].metrics.clone();
        let guard = Guard {
            flight,
            metrics,
            start: self.start,
            status,
            error: false,
            access: self.access.map(|a| (a, self.service.clone(), self.version)),
        };
        Response::from_parts(
            parts,
            Either::Left(Tracked {
                inner: body,
                guard: Some(guard),
            }),
        )
    }

    fn fail(self, status: StatusCode, message: String, target: &Target) -> Response<ProxyBody> {
        let v = &self.service.versions[self.version];
        v.metrics
            .record(status.as_u16(), self.start.elapsed(), true);
        if let Some(a) = &self.access {
            access_log(
                a,
                &self.service,
                self.version,
                &target.addr,
                status.as_u16(),
                self.start,
            );
        }
        plain(status, message)
    }
}

/// Counts a forwarded request as finished when its response body ends or is dropped.
pub struct Guard {
    flight: InFlight,
    metrics: Arc<VersionMetrics>,
    start: Instant,
    status: u16,
    error: bool,
    access: Option<(Box<Access>, Arc<ServiceRt>, usize)>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.metrics
            .record(self.status, self.start.elapsed(), self.error);
        if let Some((a, service, version)) = &self.access {
            access_log(
                a,
                service,
                *version,
                &self.flight.target().addr,
                self.status,
                self.start,
            );
        }
    }
}

pin_project_lite::pin_project! {
    /// The target's response body, passed through frame by frame.
    pub struct Tracked {
        #[pin]
        inner: Incoming,
        guard: Option<Guard>,
    }
}

impl Body for Tracked {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(None) => drop(this.guard.take()),
            Poll::Ready(Some(Err(_))) => {
                if let Some(mut g) = this.guard.take() {
                    g.error = true;
                }
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

fn access_log(
    a: &Access,
    service: &ServiceRt,
    version: usize,
    target: &str,
    status: u16,
    start: Instant,
) {
    tracing::info!(
        target: "weir::proxy::access",
        service = %service.name,
        version = %service.versions[version].name,
        target,
        client = %a.peer,
        method = %a.method,
        path = %a.path,
        status,
        duration_ms = start.elapsed().as_secs_f64() * 1000.0,
    );
}

fn build(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    target: &Target,
    body: Option<Incoming>,
) -> Request<UpBody> {
    let pq = uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let uri = Uri::builder()
        .scheme("http")
        .authority(target.authority.clone())
        .path_and_query(pq)
        .build()
        .expect("scheme, authority and path are valid");
    let mut req = Request::new(match body {
        Some(b) => Either::Left(b),
        None => Either::Right(Empty::new()),
    });
    *req.method_mut() = method.clone();
    *req.uri_mut() = uri;
    *req.version_mut() = Version::HTTP_11;
    *req.headers_mut() = headers.clone();
    req
}

/// The client's headers minus hop-by-hop ones, with `Host` kept and `X-Forwarded-*` set.
fn upstream_headers(original: &HeaderMap, host: Option<&str>, peer: Peer) -> HeaderMap {
    let mut h = original.clone();
    strip_hop_by_hop(&mut h);
    let ip = peer.addr.ip().to_string();
    let xff = match h.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        Some(prior) => format!("{prior}, {ip}"),
        None => ip,
    };
    if let Ok(v) = HeaderValue::try_from(xff) {
        h.insert(X_FORWARDED_FOR.clone(), v);
    }
    h.insert(
        X_FORWARDED_PROTO.clone(),
        HeaderValue::from_static(if peer.tls { "https" } else { "http" }),
    );
    if let Some(v) = host.and_then(|v| HeaderValue::try_from(v).ok()) {
        h.insert(X_FORWARDED_HOST.clone(), v.clone());
        // HTTP/2 clients send :authority instead of Host; the target speaks HTTP/1.1.
        h.entry(header::HOST).or_insert(v);
    }
    h
}

fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::try_from(n.trim()).ok())
        .collect();
    for n in named.iter().chain(HOP_BY_HOP.iter()) {
        h.remove(n);
    }
    // Upgrades (WebSocket) are not proxied; a leftover Upgrade header would mislead the target.
    h.remove(header::UPGRADE);
}

/// The target closed the connection before any part of an answer arrived.
fn closed_before_answer(e: &hyper_util::client::legacy::Error) -> bool {
    std::error::Error::source(e)
        .and_then(|s| s.downcast_ref::<hyper::Error>())
        .is_some_and(|h| h.is_incomplete_message() || h.is_canceled())
}

fn is_idempotent(m: &Method) -> bool {
    matches!(
        *m,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE | Method::PUT | Method::DELETE
    )
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_string())
}

fn plain(status: StatusCode, message: String) -> Response<ProxyBody> {
    let mut resp = Response::new(Either::Right(Full::new(Bytes::from(message))));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_headers_and_hop_by_hop() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-secret"),
        );
        h.insert("x-secret", HeaderValue::from_static("1"));
        h.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        h.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        h.insert(header::HOST, HeaderValue::from_static("app.example"));
        h.insert("x-kept", HeaderValue::from_static("yes"));
        let peer = Peer {
            addr: "127.0.0.9:5000".parse().unwrap(),
            tls: true,
            worker: 0,
        };
        let out = upstream_headers(&h, Some("app.example"), peer);
        for gone in ["connection", "x-secret", "keep-alive", "transfer-encoding"] {
            assert!(out.get(gone).is_none(), "{gone} kept");
        }
        assert_eq!(out["x-forwarded-for"], "10.0.0.1, 127.0.0.9");
        assert_eq!(out["x-forwarded-proto"], "https");
        assert_eq!(out["x-forwarded-host"], "app.example");
        assert_eq!(out["host"], "app.example");
        assert_eq!(out["x-kept"], "yes");
    }

    #[test]
    fn cookies() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; weir_v=canary; b=2"),
        );
        assert_eq!(cookie(&h, "weir_v").as_deref(), Some("canary"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
