//! Listeners: the data plane (HTTP/1.1 and h2c, or TLS with ALPN) and the admin API, both
//! stopped gracefully: stop accepting, let in-flight requests finish, close idle keep-alive
//! connections.
//!
//! The data plane runs thread-per-core, like nginx's workers: one acceptor hands each new
//! connection to a worker thread with its own single-threaded runtime, and everything about that
//! connection (the client side, the target connections from the worker's pools) stays on that
//! thread. A work-stealing runtime spent most of its time waking threads for one another.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};
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
    /// Data-plane worker threads; 0 means one per core.
    pub workers: usize,
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
            .field("workers", &self.workers)
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
    workers: Vec<oneshot::Receiver<()>>,
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
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let shared = Arc::new(Shared::load(
            config.state_file.clone(),
            config.access_log,
            workers,
        )?);
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
        let mut handoff = Vec::with_capacity(workers);
        let mut done = Vec::with_capacity(workers);
        for index in 0..workers {
            let (tx, incoming) = mpsc::unbounded_channel();
            let (finished, finished_rx) = oneshot::channel();
            let worker = Worker {
                index,
                shared: shared.clone(),
                tls: acceptor.clone(),
                incoming,
                grace,
            };
            std::thread::Builder::new()
                .name(format!("weir-proxy-{index}"))
                .spawn(move || {
                    worker.run();
                    let _ = finished.send(());
                })
                .map_err(ProxyError::Spawn)?;
            handoff.push(tx);
            done.push(finished_rx);
        }
        let tasks = vec![
            tokio::spawn(accept(data, handoff, stopped)),
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
            workers: done,
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
        for w in self.workers {
            let _ = w.await;
        }
        tracing::info!("weir proxy stopped");
    }
}

/// Accepts connections and deals them out to the workers in turn.
async fn accept(
    listener: TcpListener,
    workers: Vec<mpsc::UnboundedSender<(std::net::TcpStream, SocketAddr)>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    match stream.into_std() {
                        Ok(stream) => {
                            let _ = workers[next].send((stream, addr));
                            next = (next + 1) % workers.len();
                        }
                        Err(e) => tracing::warn!("accept: {e}"),
                    }
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
    // Dropping the listener and the hand-off channels tells the workers to wind down.
}

/// One data-plane thread.
struct Worker {
    index: usize,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    incoming: mpsc::UnboundedReceiver<(std::net::TcpStream, SocketAddr)>,
    grace: Duration,
}

impl Worker {
    fn run(mut self) {
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                tracing::error!(worker = self.index, "cannot start a data-plane worker: {e}");
                return;
            }
        };
        rt.block_on(async move {
            let graceful = GracefulShutdown::new();
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30));
            builder.http2().timer(TokioTimer::new());
            while let Some((stream, addr)) = self.incoming.recv().await {
                let Ok(stream) = TcpStream::from_std(stream) else {
                    continue;
                };
                let conn = Conn {
                    builder: builder.clone(),
                    shared: self.shared.clone(),
                    tls: self.tls.clone(),
                    addr,
                    worker: self.index,
                };
                tokio::spawn(conn.serve(stream, graceful.watcher()));
            }
            if tokio::time::timeout(self.grace, graceful.shutdown())
                .await
                .is_err()
            {
                tracing::warn!(
                    "shutdown timeout ({:?}) reached with requests still in flight; closing them",
                    self.grace
                );
            }
        });
    }
}

struct Conn {
    builder: auto::Builder<TokioExecutor>,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
    addr: SocketAddr,
    worker: usize,
}

impl Conn {
    async fn serve(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        let peer = Peer {
            addr: self.addr,
            tls: self.tls.is_some(),
            worker: self.worker,
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
            workers: 0,
        };
        let text = format!("{c:?}");
        assert!(
            !text.contains("s3cret-value") && text.contains("<redacted>"),
            "{text}"
        );
    }
}
