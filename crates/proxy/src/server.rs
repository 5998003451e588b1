//! Listeners: the data plane (HTTP/1.1 and h2c, or TLS with ALPN) and the admin API, both
//! stopped gracefully: stop accepting, let in-flight requests finish, close idle keep-alive
//! connections.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::control::Shared;
use crate::error::ProxyError;
use crate::forward::{self, Peer};
use crate::{admin, tls};

/// How `weir proxy` runs.
#[derive(Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub admin_listen: SocketAddr,
    /// The admin API's bearer token.
    pub token: String,
    /// Where services are persisted; `None` keeps them in memory only.
    pub state_file: Option<PathBuf>,
    pub tls: Option<TlsFiles>,
    pub access_log: bool,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_timeout: Duration,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("admin_listen", &self.admin_listen)
            .field("token", &"<redacted>")
            .field("state_file", &self.state_file)
            .field("tls", &self.tls)
            .field("access_log", &self.access_log)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

/// PEM files of the data plane's certificate chain and private key.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A running proxy.
pub struct Proxy {
    shared: Arc<Shared>,
    listen: SocketAddr,
    admin: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// Loads the state file, binds both listeners and starts serving.
    pub async fn start(config: Config) -> Result<Proxy, ProxyError> {
        if config.token.trim().is_empty() {
            return Err(ProxyError::EmptyToken);
        }
        let acceptor = match &config.tls {
            Some(files) => Some(TlsAcceptor::from(Arc::new(tls::server_config(files)?))),
            None => None,
        };
        let shared = Arc::new(Shared::load(config.state_file.clone(), config.access_log)?);
        let bind = |addr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|source| ProxyError::Bind { addr, source })
        };
        let data = bind(config.listen).await?;
        let admin = bind(config.admin_listen).await?;
        let listen = data.local_addr().map_err(|source| ProxyError::Bind {
            addr: config.listen,
            source,
        })?;
        let admin_addr = admin.local_addr().map_err(|source| ProxyError::Bind {
            addr: config.admin_listen,
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let grace = config.shutdown_timeout;
        let router = admin::router(shared.clone(), &config.token);
        let mut admin_stop = stopped.clone();
        let tasks = vec![
            tokio::spawn(serve_data(data, shared.clone(), acceptor, stopped, grace)),
            tokio::spawn(async move {
                let serve = axum::serve(admin, router).with_graceful_shutdown(async move {
                    let _ = admin_stop.wait_for(|s| *s).await;
                });
                if let Err(e) = serve.await {
                    tracing::error!("admin API: {e}");
                }
            }),
        ];
        tracing::info!(%listen, admin = %admin_addr, tls = config.tls.is_some(), "weir proxy listening");
        Ok(Proxy {
            shared,
            listen,
            admin: admin_addr,
            stop,
            tasks,
        })
    }

    /// The data plane's address (with the port chosen when asked for port 0).
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    pub fn admin_addr(&self) -> SocketAddr {
        self.admin
    }

    /// The shared configuration, for embedding the proxy without going through the admin API.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Stops accepting, lets in-flight requests finish (up to the shutdown timeout), and returns
    /// once both listeners are closed.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        tracing::info!("weir proxy stopped");
    }
}

async fn serve_data(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(30));
    builder.http2().timer(TokioTimer::new());
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    let watcher = graceful.watcher();
                    let conn = Conn { builder: builder.clone(), shared: shared.clone(), tls: tls.clone(), addr };
                    tokio::spawn(conn.serve(stream, watcher));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            changed = stop.changed() => if changed.is_err() || *stop.borrow() { break },
        }
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "shutdown timeout ({grace:?}) reached with requests still in flight; closing them"
        );
    }
}

struct Conn {
    builder: auto::Builder<TokioExecutor>,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    addr: SocketAddr,
}

impl Conn {
    async fn serve(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        let peer = Peer {
            addr: self.addr,
            tls: self.tls.is_some(),
        };
        let shared = self.shared;
        let svc = service_fn(move |req| forward::handle(shared.clone(), req, peer));
        let result = match self.tls {
            Some(acceptor) => {
                let stream =
                    match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(client = %self.addr, "TLS handshake failed: {e}");
                            return;
                        }
                        Err(_) => return,
                    };
                let conn = self
                    .builder
                    .serve_connection(TokioIo::new(stream), svc)
                    .into_owned();
                watcher.watch(conn).await
            }
            None => {
                let conn = self
                    .builder
                    .serve_connection(TokioIo::new(stream), svc)
                    .into_owned();
                watcher.watch(conn).await
            }
        };
        if let Err(e) = result {
            tracing::debug!(client = %self.addr, "connection: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_token_stays_out_of_debug_output() {
        let c = super::Config {
            listen: "127.0.0.1:1".parse().unwrap(),
            admin_listen: "127.0.0.1:2".parse().unwrap(),
            token: "s3cret-value".into(),
            state_file: None,
            tls: None,
            access_log: false,
            shutdown_timeout: std::time::Duration::from_secs(1),
        };
        let text = format!("{c:?}");
        assert!(
            !text.contains("s3cret-value") && text.contains("<redacted>"),
            "{text}"
        );
    }
}
