//! `weir proxy`: runs the canary proxy (crate `proxy`) until SIGTERM or Ctrl-C, then stops
//! gracefully and exits 0.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Args, Debug)]
pub struct ProxyArgs {
    /// Address the proxied traffic arrives on.
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// Address of the admin API (keep it private: only the rollout controller talks to it).
    #[arg(long = "admin-listen", default_value = "127.0.0.1:9180")]
    admin_listen: SocketAddr,
    /// File holding the admin API's bearer token (otherwise WEIR_PROXY_TOKEN).
    #[arg(long = "token-file")]
    token_file: Option<PathBuf>,
    /// Where services are kept across restarts.
    #[arg(long = "state-file")]
    state_file: PathBuf,
    /// PEM certificate chain: serve the traffic over TLS.
    #[arg(long = "tls-cert", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for -tls-cert.
    #[arg(long = "tls-key", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Log every request.
    #[arg(long = "access-log", action = ArgAction::SetTrue)]
    access_log: bool,
    #[arg(long = "log-format", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// How long shutdown waits for in-flight requests (e.g. 30s).
    #[arg(long = "shutdown-timeout", default_value = "30s")]
    shutdown_timeout: String,
    /// Data-plane threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum LogFormat {
    Text,
    Json,
}

pub fn run(a: ProxyArgs) -> u8 {
    // TF_LOG, when set, has installed a subscriber already; otherwise the proxy logs at info.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("info,h2=warn,hyper=warn"))
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match a.log_format {
        LogFormat::Json => logs.json().try_init(),
        LogFormat::Text => logs.try_init(),
    };
    match serve(a) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("Error: {e:#}");
            1
        }
    }
}

fn serve(a: ProxyArgs) -> anyhow::Result<()> {
    let token = match &a.token_file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("reading -token-file {}: {e}", f.display()))?
            .trim()
            .to_string(),
        None => std::env::var("WEIR_PROXY_TOKEN").map_err(|_| {
            anyhow::anyhow!("weir proxy needs an admin token: -token-file FILE or WEIR_PROXY_TOKEN")
        })?,
    };
    let shutdown_timeout = crate::args::parse_duration(&a.shutdown_timeout)
        .ok_or_else(|| anyhow::anyhow!("invalid -shutdown-timeout {:?}", a.shutdown_timeout))?;
    let config = proxy::Config {
        listen: a.listen,
        admin_listen: a.admin_listen,
        token,
        state_file: Some(a.state_file),
        tls: a
            .tls_cert
            .zip(a.tls_key)
            .map(|(cert, key)| proxy::TlsFiles { cert, key }),
        access_log: a.access_log,
        shutdown_timeout,
        workers: a.workers,
    };
    // The data plane has its own threads; this runtime runs the acceptor, the admin API and
    // the health checks.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let proxy = proxy::Proxy::start(config).await?;
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        tracing::info!("shutting down");
        proxy.shutdown().await;
        Ok(())
    })
}
