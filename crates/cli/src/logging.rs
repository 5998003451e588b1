//! Log output under Terraform's environment variables: `TF_LOG` (or `TF_LOG_CORE` and
//! `TF_LOG_PROVIDER` separately) picks the level, `TF_LOG_PATH` sends the log to a file.

use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// A level name as Terraform accepts it, mapped to a `tracing` directive. `JSON` is Terraform's
/// trace-level JSON log; anything unrecognised means trace, as in Terraform.
fn level(v: &str) -> Option<&'static str> {
    match v.trim().to_ascii_uppercase().as_str() {
        "" | "OFF" => None,
        "ERROR" => Some("error"),
        "WARN" => Some("warn"),
        "INFO" => Some("info"),
        "DEBUG" => Some("debug"),
        _ => Some("trace"),
    }
}

/// The filter for the given variables: core (everything weir logs itself) and provider logs
/// (target `weir::provider`) each get their own level; `TF_LOG` sets both.
fn directives(tf_log: Option<&str>, core: Option<&str>, provider: Option<&str>) -> Option<String> {
    let both = tf_log.and_then(level);
    let core = core.map(level).unwrap_or(both);
    let provider = provider.map(level).unwrap_or(both);
    if core.is_none() && provider.is_none() {
        return None;
    }
    // The transport's own crates log every frame; they stay quiet below warnings.
    Some(format!(
        "{},weir::provider={},h2=warn,hyper=warn,tower=warn,tonic=warn",
        core.unwrap_or("off"),
        provider.unwrap_or("off")
    ))
}

/// Installs the subscriber if any of the variables asks for logs. A log file that can't be
/// opened is reported and logging goes to stderr instead.
pub fn init() {
    let var = |n: &str| std::env::var(n).ok();
    let Some(filter) = directives(
        var("TF_LOG").as_deref(),
        var("TF_LOG_CORE").as_deref(),
        var("TF_LOG_PROVIDER").as_deref(),
    ) else {
        return;
    };
    let json = var("TF_LOG").is_some_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
        .with_ansi(false);
    let file =
        var("TF_LOG_PATH").filter(|p| !p.is_empty()).and_then(
            |p| match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&p)
            {
                Ok(f) => Some(f),
                Err(e) => {
                    eprintln!("Error opening TF_LOG_PATH {p}: {e}; logging to stderr.");
                    None
                }
            },
        );
    match (file, json) {
        (Some(f), true) => builder.json().with_writer(Mutex::new(f)).init(),
        (Some(f), false) => builder.with_writer(Mutex::new(f)).init(),
        (None, true) => builder.json().with_writer(std::io::stderr).init(),
        (None, false) => builder.with_writer(std::io::stderr).init(),
    }
}

#[cfg(test)]
mod tests {
    use super::directives;

    #[test]
    fn levels_follow_terraform_variables() {
        assert_eq!(directives(None, None, None), None);
        assert_eq!(directives(Some("off"), None, None), None);
        assert_eq!(
            directives(Some("DEBUG"), None, None).as_deref(),
            Some("debug,weir::provider=debug,h2=warn,hyper=warn,tower=warn,tonic=warn")
        );
        assert_eq!(
            directives(None, None, Some("warn")).as_deref(),
            Some("off,weir::provider=warn,h2=warn,hyper=warn,tower=warn,tonic=warn")
        );
        assert_eq!(
            directives(Some("info"), Some("error"), None).as_deref(),
            Some("error,weir::provider=info,h2=warn,hyper=warn,tower=warn,tonic=warn")
        );
        assert_eq!(
            directives(Some("json"), None, None).as_deref(),
            Some("trace,weir::provider=trace,h2=warn,hyper=warn,tower=warn,tonic=warn")
        );
    }
}
