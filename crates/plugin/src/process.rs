//! The plugin process: launch with go-plugin's environment, the handshake line, the gRPC
//! channel over the announced unix socket, draining of stdout/stderr/GRPCStdio into `tracing`,
//! crash detection (exit watch plus stderr tail) and graceful shutdown.

use crate::proto::goplugin;
use providers::ProviderError;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{oneshot, watch};
use tonic::transport::{Channel, Endpoint};

/// The cookie Terraform's providers check before serving (go-plugin `MagicCookieKey/Value`).
pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
pub const MAGIC_COOKIE_VALUE: &str =
    "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

/// The largest gRPC message either side may send; the AWS schema alone is 13.6 MB.
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024 * 1024;

/// How many stderr lines are kept to explain a crash.
const STDERR_TAIL_LINES: usize = 60;

/// What the handshake line announced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// The negotiated plugin protocol major version (5 or 6).
    pub protocol_version: u32,
    /// `unix` or `tcp`.
    pub network: String,
    pub address: String,
}

/// Parses go-plugin's handshake line `CORE|APP|NETWORK|ADDR|PROTOCOL[|CERT]`.
pub fn parse_handshake(line: &str) -> Result<Handshake, String> {
    let line = line.trim();
    let parts: Vec<&str> = line.split('|').collect();
    if parts.len() < 5 {
        return Err(format!("malformed handshake line {line:?}"));
    }
    if parts[0] != "1" {
        return Err(format!(
            "unsupported go-plugin core protocol version {:?} (want 1)",
            parts[0]
        ));
    }
    let protocol_version: u32 = parts[1]
        .parse()
        .map_err(|_| format!("invalid plugin protocol version {:?}", parts[1]))?;
    if protocol_version != 5 && protocol_version != 6 {
        return Err(format!(
            "the plugin speaks protocol version {protocol_version}; weir supports 5 and 6"
        ));
    }
    if parts[4] != "grpc" {
        return Err(format!(
            "the plugin offers the {:?} RPC protocol; only grpc is supported",
            parts[4]
        ));
    }
    if parts.get(5).is_some_and(|c| !c.is_empty()) {
        // A certificate means the plugin expects mutual TLS, which we never request.
        return Err("the plugin requires TLS (it sent a server certificate)".into());
    }
    match parts[2] {
        "unix" | "tcp" => {}
        other => return Err(format!("unsupported plugin network {other:?}")),
    }
    Ok(Handshake {
        protocol_version,
        network: parts[2].to_string(),
        address: parts[3].to_string(),
    })
}

/// How the plugin process ended.
#[derive(Clone, Debug)]
pub struct ExitInfo {
    pub status: String,
}

/// A running plugin process and its gRPC channel.
pub struct PluginProcess {
    binary: PathBuf,
    name: String,
    pub handshake: Handshake,
    pub channel: Channel,
    pid: Option<u32>,
    exit: watch::Receiver<Option<ExitInfo>>,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
}

/// Options for starting a plugin process.
#[derive(Clone, Debug)]
pub struct LaunchOptions {
    pub binary: PathBuf,
    pub args: Vec<String>,
    /// Extra environment (the process otherwise inherits ours, so `TF_LOG` reaches it).
    pub env: Vec<(String, String)>,
    /// A short name for logs and errors, e.g. `registry.terraform.io/hashicorp/aws`.
    pub name: String,
    pub handshake_timeout: Duration,
}

impl PluginProcess {
    /// Starts the plugin and completes the handshake. Must run inside a tokio runtime.
    pub async fn launch(opts: &LaunchOptions) -> Result<PluginProcess, ProviderError> {
        let binary = opts.binary.clone();
        let mut cmd = Command::new(&binary);
        cmd.args(&opts.args)
            .env(MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| {
            ProviderError::Other(format!(
                "failed to start provider plugin {}: {e}",
                binary.display()
            ))
        })?;
        let pid = child.id();
        let name = opts.name.clone();

        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(drain_stderr(stderr, name.clone(), stderr_tail.clone()));
        }
        let (hs_tx, hs_rx) = oneshot::channel::<String>();
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(drain_stdout(stdout, name.clone(), hs_tx));
        }

        let (exit_tx, exit_rx) = watch::channel(None);
        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let status = tokio::select! {
                s = child.wait() => s,
                _ = kill_rx => {
                    let _ = child.start_kill();
                    child.wait().await
                }
            };
            let status = match status {
                Ok(s) => s.to_string(),
                Err(e) => format!("wait failed: {e}"),
            };
            let _ = exit_tx.send(Some(ExitInfo { status }));
        });

        let mut proc = PluginProcess {
            binary: binary.clone(),
            name,
            handshake: Handshake {
                protocol_version: 0,
                network: String::new(),
                address: String::new(),
            },
            channel: Endpoint::from_static("http://[::1]:1").connect_lazy(),
            pid,
            exit: exit_rx,
            kill: Mutex::new(Some(kill_tx)),
            stderr_tail,
        };

        let line = tokio::select! {
            r = tokio::time::timeout(opts.handshake_timeout, hs_rx) => match r {
                Ok(Ok(line)) => line,
                Ok(Err(_)) => {
                    // stdout closed without a handshake: the process is exiting.
                    let _ = tokio::time::timeout(Duration::from_secs(2), exited(proc.exit.clone())).await;
                    proc.kill_now();
                    return Err(proc.crashed("before completing the plugin handshake"));
                }
                Err(_) => {
                    proc.kill_now();
                    return Err(ProviderError::Other(format!(
                        "timed out after {:?} waiting for the plugin handshake from {}{}",
                        opts.handshake_timeout,
                        binary.display(),
                        proc.stderr_suffix()
                    )));
                }
            },
            _ = exited(proc.exit.clone()) => {
                return Err(proc.crashed("before completing the plugin handshake"));
            }
        };
        let hs = match parse_handshake(&line) {
            Ok(hs) => hs,
            Err(e) => {
                proc.kill_now();
                return Err(ProviderError::Protocol(format!(
                    "{}: {e}",
                    binary.display()
                )));
            }
        };
        let endpoint = match hs.network.as_str() {
            "unix" => Endpoint::from_shared(format!("unix:{}", hs.address)),
            _ => Endpoint::from_shared(format!("http://{}", hs.address)),
        }
        .map_err(|e| {
            ProviderError::Protocol(format!("invalid plugin address {:?}: {e}", hs.address))
        })?
        .connect_timeout(Duration::from_secs(10))
        .tcp_nodelay(true);
        let channel = match tokio::time::timeout(Duration::from_secs(15), endpoint.connect()).await
        {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                proc.kill_now();
                return Err(ProviderError::Protocol(format!(
                    "cannot connect to the plugin {} at {}: {e}",
                    binary.display(),
                    hs.address
                )));
            }
            Err(_) => {
                proc.kill_now();
                return Err(ProviderError::Protocol(format!(
                    "timed out connecting to the plugin {} at {}",
                    binary.display(),
                    hs.address
                )));
            }
        };
        proc.handshake = hs;
        proc.channel = channel;
        // The plugin can block writing its own stdout/stderr until someone reads the stream.
        tokio::spawn(drain_grpc_stdio(proc.channel.clone(), proc.name.clone()));
        tracing::debug!(
            provider = %proc.name,
            pid = ?proc.pid,
            protocol = proc.handshake.protocol_version,
            "plugin started"
        );
        Ok(proc)
    }

    pub fn binary(&self) -> &Path {
        &self.binary
    }

    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether the process has exited.
    pub fn exited(&self) -> bool {
        self.exit.borrow().is_some()
    }

    /// Resolves when the process has exited.
    pub async fn wait_exit(&self) -> ExitInfo {
        let mut w = self.exit.clone();
        let r = w
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|v| v.clone());
        // No result means the monitor task is gone, which only happens with the process.
        r.unwrap_or(ExitInfo {
            status: "unknown".into(),
        })
    }

    fn kill_now(&self) {
        if let Some(tx) = self.kill.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = tx.send(());
        }
    }

    /// The last lines the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    fn stderr_suffix(&self) -> String {
        let tail = self.stderr_tail();
        if tail.is_empty() {
            String::new()
        } else {
            format!("\nplugin stderr (last lines):\n{}", tail.join("\n"))
        }
    }

    /// The error for a process that died, naming the binary and quoting its stderr tail.
    pub fn crashed(&self, when: &str) -> ProviderError {
        let status = self
            .exit
            .borrow()
            .as_ref()
            .map(|e| e.status.clone())
            .unwrap_or_else(|| "still running".into());
        ProviderError::Crashed(format!(
            "plugin {} ({}) exited {when} ({status}){}",
            self.name,
            self.binary.display(),
            self.stderr_suffix()
        ))
    }

    /// Runs one RPC, turning a process death during the call into `Crashed` instead of a hang
    /// or an opaque transport error.
    pub async fn call<T>(
        &self,
        rpc: &str,
        fut: impl std::future::Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, ProviderError> {
        if self.exited() {
            return Err(self.crashed(&format!("before {rpc}")));
        }
        tokio::select! {
            r = fut => match r {
                Ok(v) => Ok(v),
                Err(status) => {
                    // A transport failure is usually the process dying; give the exit monitor a
                    // moment to observe it so the error says so.
                    if matches!(status.code(), tonic::Code::Unavailable | tonic::Code::Unknown | tonic::Code::Cancelled | tonic::Code::Internal) {
                        let _ = tokio::time::timeout(Duration::from_millis(500), exited(self.exit.clone())).await;
                    }
                    if self.exited() {
                        Err(self.crashed(&format!("during {rpc}")))
                    } else {
                        Err(ProviderError::Protocol(format!("{rpc}: {}: {}", status.code(), status.message())))
                    }
                }
            },
            _ = exited(self.exit.clone()) => Err(self.crashed(&format!("during {rpc}"))),
        }
    }

    /// Asks the plugin to exit via `GRPCController/Shutdown`, then kills it if it has not
    /// exited within `grace`.
    pub async fn shutdown(&self, grace: Duration) {
        if !self.exited() {
            let mut ctl =
                goplugin::grpc_controller_client::GrpcControllerClient::new(self.channel.clone());
            let _ = tokio::time::timeout(grace, ctl.shutdown(goplugin::Empty {})).await;
            if tokio::time::timeout(grace, self.wait_exit()).await.is_err() {
                tracing::debug!(provider = %self.name, "plugin did not exit after Shutdown; killing it");
            }
        }
        self.kill_now();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.wait_exit()).await;
        // A killed plugin cannot remove its socket; do not leave it behind in the temp dir.
        if self.handshake.network == "unix" && self.exited() {
            let _ = std::fs::remove_file(&self.handshake.address);
        }
    }

    /// Kills the process at once (used by tests and on drop paths).
    pub fn kill(&self) {
        self.kill_now();
    }
}

/// Resolves once the process has exited. (The watch's borrow guard is not `Send`, so it must
/// not live across an await of a spawned future; this keeps it inside one expression.)
async fn exited(mut w: watch::Receiver<Option<ExitInfo>>) {
    let _ = w.wait_for(Option::is_some).await.is_ok();
}

async fn drain_stdout(
    stdout: impl AsyncRead + Unpin,
    name: String,
    hs_tx: oneshot::Sender<String>,
) {
    let mut lines = BufReader::new(stdout).lines();
    let mut hs_tx = Some(hs_tx);
    while let Ok(Some(line)) = lines.next_line().await {
        match hs_tx.take() {
            // go-plugin writes the handshake as the first stdout line.
            Some(tx) => {
                let _ = tx.send(line);
            }
            None => tracing::debug!(target: "weir::provider", provider = %name, "stdout: {line}"),
        }
    }
}

async fn drain_stderr(
    stderr: impl AsyncRead + Unpin,
    name: String,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        // go-plugin servers log everything at trace level and leave filtering to the client,
        // so only what explains a failure is kept for the crash report: plain output (a Go
        // panic) and warnings or errors.
        if let Some(kept) = log_provider_line(&name, &line) {
            let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
            if t.len() == STDERR_TAIL_LINES {
                t.pop_front();
            }
            t.push_back(kept);
        }
    }
}

/// The `@level` of an hclog JSON line, found without parsing the whole line.
fn hclog_level(line: &str) -> Option<&str> {
    if !line.starts_with('{') {
        return None;
    }
    let rest = &line[line.find("\"@level\":\"")? + 10..];
    Some(&rest[..rest.find('"')?])
}

/// Re-emits a provider log line under `tracing` (target `weir::provider`): hclog JSON lines
/// keep their level, anything else (panics, plain prints) is logged at debug as Terraform
/// does. Returns the line to keep for a crash report, if it is worth keeping.
fn log_provider_line(name: &str, line: &str) -> Option<String> {
    use tracing::Level;
    let Some(level_name) = hclog_level(line) else {
        tracing::debug!(target: "weir::provider", provider = %name, "{line}");
        return Some(line.to_string());
    };
    let level = match level_name {
        "error" => Level::ERROR,
        "warn" => Level::WARN,
        "info" => Level::INFO,
        "debug" => Level::DEBUG,
        _ => Level::TRACE,
    };
    let keep = level <= Level::WARN;
    let enabled = match level {
        Level::ERROR => tracing::enabled!(target: "weir::provider", Level::ERROR),
        Level::WARN => tracing::enabled!(target: "weir::provider", Level::WARN),
        Level::INFO => tracing::enabled!(target: "weir::provider", Level::INFO),
        Level::DEBUG => tracing::enabled!(target: "weir::provider", Level::DEBUG),
        _ => tracing::enabled!(target: "weir::provider", Level::TRACE),
    };
    if !enabled && !keep {
        // Most lines are trace chatter nobody asked for: skip the JSON parse.
        return None;
    }
    let j: serde_json::Value = serde_json::from_str(line).ok()?;
    let mut msg = j
        .get("@message")
        .and_then(|v| v.as_str())
        .unwrap_or(line)
        .to_string();
    // Everything hclog attached beyond its own fields, as Terraform's log shows it; the
    // RPC, resource and module are fields of their own below.
    if let Some(o) = j.as_object() {
        for (k, v) in o {
            if k.starts_with('@') || matches!(k.as_str(), "tf_rpc" | "tf_resource_type") {
                continue;
            }
            match v.as_str() {
                Some(s) => msg.push_str(&format!(" {k}={s:?}")),
                None => msg.push_str(&format!(" {k}={v}")),
            }
        }
    }
    let module = j.get("@module").and_then(|v| v.as_str()).unwrap_or("");
    // The RPC a line belongs to and the resource it concerns are what a reader filters on.
    let field = |k: &str| j.get(k).and_then(|v| v.as_str()).unwrap_or("");
    let (rpc, resource) = (field("tf_rpc"), field("tf_resource_type"));
    match level {
        Level::ERROR => {
            tracing::error!(target: "weir::provider", provider = %name, module, rpc, resource, "{msg}")
        }
        Level::WARN => {
            tracing::warn!(target: "weir::provider", provider = %name, module, rpc, resource, "{msg}")
        }
        Level::INFO => {
            tracing::info!(target: "weir::provider", provider = %name, module, rpc, resource, "{msg}")
        }
        Level::DEBUG => {
            tracing::debug!(target: "weir::provider", provider = %name, module, rpc, resource, "{msg}")
        }
        _ => {
            tracing::trace!(target: "weir::provider", provider = %name, module, rpc, resource, "{msg}")
        }
    }
    keep.then(|| format!("[{level_name}] {msg}"))
}

async fn drain_grpc_stdio(channel: Channel, name: String) {
    let mut client = goplugin::grpc_stdio_client::GrpcStdioClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE);
    let mut stream = match client.stream_stdio(()).await {
        Ok(s) => s.into_inner(),
        Err(e) => {
            tracing::debug!(provider = %name, "plugin has no stdio stream: {e}");
            return;
        }
    };
    while let Ok(Some(chunk)) = stream.message().await {
        let text = String::from_utf8_lossy(&chunk.data);
        for line in text.lines() {
            let _ = log_provider_line(&name, line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_handshake_lines() {
        assert_eq!(
            parse_handshake("1|5|unix|/tmp/plugin123|grpc|\n").unwrap(),
            Handshake {
                protocol_version: 5,
                network: "unix".into(),
                address: "/tmp/plugin123".into()
            }
        );
        assert_eq!(
            parse_handshake("1|6|tcp|127.0.0.1:1234|grpc")
                .unwrap()
                .protocol_version,
            6
        );
        assert!(parse_handshake("1|5|unix|/x|netrpc|").is_err());
        assert!(parse_handshake("2|5|unix|/x|grpc|").is_err());
        assert!(parse_handshake("1|4|unix|/x|grpc|").is_err());
        assert!(parse_handshake("1|5|unix|/x|grpc|MIIB...").is_err());
        assert!(parse_handshake("This binary is a plugin.").is_err());
    }

    fn script(body: &str) -> (tempfile::TempDir, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fake-plugin");
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, p)
    }

    fn opts(binary: PathBuf, timeout_ms: u64) -> LaunchOptions {
        LaunchOptions {
            binary,
            args: vec![],
            env: vec![],
            name: "test/fake".into(),
            handshake_timeout: Duration::from_millis(timeout_ms),
        }
    }

    #[test]
    fn hclog_levels_are_found() {
        assert_eq!(
            hclog_level(r#"{"@caller":"x","@level":"trace","@message":"m"}"#),
            Some("trace")
        );
        assert_eq!(hclog_level("panic: boom"), None);
        assert_eq!(
            log_provider_line("p", r#"{"@level":"error","@message":"bad thing"}"#),
            Some("[error] bad thing".to_string())
        );
        assert_eq!(
            log_provider_line("p", r#"{"@level":"trace","@message":"chatter"}"#),
            None
        );
        assert_eq!(
            log_provider_line("p", "goroutine 1 [running]:"),
            Some("goroutine 1 [running]:".to_string())
        );
    }

    #[tokio::test]
    async fn exit_before_handshake_is_a_crash_with_stderr() {
        let (_d, p) = script("echo 'panic: something broke' >&2; exit 2");
        let err = PluginProcess::launch(&opts(p, 10_000)).await.err().unwrap();
        let ProviderError::Crashed(msg) = err else {
            panic!("want Crashed, got {err:?}")
        };
        assert!(msg.contains("panic: something broke"), "{msg}");
        assert!(msg.contains("fake-plugin"), "{msg}");
    }

    #[tokio::test]
    async fn handshake_timeout_names_the_binary() {
        let (_d, p) = script("sleep 30");
        let err = PluginProcess::launch(&opts(p, 300)).await.err().unwrap();
        let msg = err.to_string();
        assert!(
            msg.contains("timed out") && msg.contains("fake-plugin"),
            "{msg}"
        );
    }

    #[tokio::test]
    async fn the_cookie_and_versions_are_passed() {
        // Echo the environment back as a (bad) handshake line so the error shows it.
        let (_d, p) = script("echo \"$TF_PLUGIN_MAGIC_COOKIE:$PLUGIN_PROTOCOL_VERSIONS\"; sleep 5");
        let err = PluginProcess::launch(&opts(p, 10_000)).await.err().unwrap();
        let msg = err.to_string();
        assert!(msg.contains(&format!("{MAGIC_COOKIE_VALUE}:5,6")), "{msg}");
    }
}
