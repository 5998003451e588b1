//! Command-line definitions. Terraform spells flags with one dash (`-auto-approve`,
//! `-var=x=1`); [`normalize`] rewrites them to clap's double-dash form so existing scripts
//! keep working, and both spellings are accepted.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "weir",
    about = "Terraform-compatible infrastructure as code, GitOps and delivery in one binary",
    disable_version_flag = true
)]
pub struct Cli {
    /// Switch to a different working directory before executing the command.
    #[arg(long = "chdir", global = true)]
    pub chdir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Go-style boolean flags: `-x`, `-x=true`, `-x=false`.
#[derive(Args, Debug, Clone)]
pub struct Common {
    /// Disable colour in output.
    #[arg(long = "no-color", action = ArgAction::SetTrue)]
    pub no_color: bool,
    /// Ask for input for variables if not directly set.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
    pub input: bool,
    /// Show warnings in a more compact form.
    #[arg(long = "compact-warnings", action = ArgAction::SetTrue)]
    pub compact_warnings: bool,
}

#[derive(Args, Debug, Clone)]
pub struct VarFlags {
    /// Set a value for one of the input variables in the root module.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub var: Vec<String>,
    /// Load variable values from the given file.
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_file: Vec<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct LockFlags {
    /// Don't hold a state lock during the operation.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
    pub lock: bool,
    /// Duration to retry a state lock (e.g. 10s, 2m).
    #[arg(long = "lock-timeout", default_value = "0s")]
    pub lock_timeout: String,
}

#[derive(Args, Debug, Clone)]
pub struct PlanFlags {
    /// Select the "destroy" planning mode.
    #[arg(long, action = ArgAction::SetTrue)]
    pub destroy: bool,
    /// Select the "refresh only" planning mode.
    #[arg(long = "refresh-only", action = ArgAction::SetTrue)]
    pub refresh_only: bool,
    /// Skip checking for changes to remote objects.
    #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
    pub refresh: bool,
    /// Force replacement of a particular resource instance.
    #[arg(long)]
    pub replace: Vec<String>,
    /// Limit the operation to the given resources and their dependencies.
    #[arg(long)]
    pub target: Vec<String>,
    /// Limit the number of concurrent operations.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
    #[command(flatten)]
    pub vars: VarFlags,
    #[command(flatten)]
    pub lock: LockFlags,
    /// Machine-readable output.
    #[arg(long, action = ArgAction::SetTrue)]
    pub json: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Prepare the working directory: install providers.
    Init {
        #[arg(long, action = ArgAction::SetTrue)]
        upgrade: bool,
        #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
        backend: bool,
        #[arg(long = "get", num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
        get: bool,
        #[command(flatten)]
        common: Common,
        #[arg(long = "lockfile")]
        lockfile: Option<String>,
    },
    /// Install or upgrade remote modules.
    Get {
        /// Check already-downloaded modules for newer versions and install them.
        #[arg(long, num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = ArgAction::Set)]
        update: bool,
        #[arg(long = "test-directory")]
        test_directory: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Show all declared modules in a working directory.
    Modules {
        /// Machine-readable output.
        #[arg(long, action = ArgAction::SetTrue)]
        json: bool,
    },
    /// Check whether the configuration is valid.
    Validate {
        #[arg(long, action = ArgAction::SetTrue)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Show changes required by the current configuration.
    Plan {
        /// Write the plan to the given path.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Return 0 with no changes, 1 on error, 2 when there are changes.
        #[arg(long = "detailed-exitcode", action = ArgAction::SetTrue)]
        detailed_exitcode: bool,
        #[command(flatten)]
        plan: PlanFlags,
        #[command(flatten)]
        common: Common,
    },
    /// Create or update infrastructure.
    Apply {
        /// A saved plan file.
        plan_file: Option<PathBuf>,
        #[arg(long = "auto-approve", action = ArgAction::SetTrue)]
        auto_approve: bool,
        #[command(flatten)]
        plan: PlanFlags,
        #[command(flatten)]
        common: Common,
    },
    /// Destroy previously-created infrastructure.
    Destroy {
        #[arg(long = "auto-approve", action = ArgAction::SetTrue)]
        auto_approve: bool,
        #[command(flatten)]
        plan: PlanFlags,
        #[command(flatten)]
        common: Common,
    },
    /// Show the current state or a saved plan.
    Show {
        path: Option<PathBuf>,
        #[arg(long, action = ArgAction::SetTrue)]
        json: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Show output values from the root module.
    Output {
        name: Option<String>,
        #[arg(long, action = ArgAction::SetTrue)]
        json: bool,
        #[arg(long, action = ArgAction::SetTrue)]
        raw: bool,
        #[arg(long)]
        state: Option<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Advanced state management.
    State {
        #[command(subcommand)]
        cmd: StateCmd,
    },
    /// Associate existing infrastructure with a resource.
    Import {
        addr: String,
        id: String,
        #[command(flatten)]
        vars: VarFlags,
        #[command(flatten)]
        lock: LockFlags,
        #[command(flatten)]
        common: Common,
    },
    /// Generate a Graphviz graph of the steps in an operation.
    Graph {
        #[arg(long = "type", default_value = "plan")]
        ty: String,
        #[arg(long = "draw-cycles", action = ArgAction::SetTrue)]
        draw_cycles: bool,
    },
    /// Reformat configuration in the standard style.
    Fmt {
        paths: Vec<PathBuf>,
        #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
        list: bool,
        #[arg(long, num_args = 0..=1, default_value_t = true, default_missing_value = "true", action = ArgAction::Set)]
        write: bool,
        #[arg(long, action = ArgAction::SetTrue)]
        diff: bool,
        #[arg(long, action = ArgAction::SetTrue)]
        check: bool,
        #[arg(long, action = ArgAction::SetTrue)]
        recursive: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Metadata about weir itself, for tools.
    Metadata {
        #[command(subcommand)]
        cmd: MetadataCmd,
    },
    /// Try expressions in an interactive console.
    Console {
        #[command(flatten)]
        vars: VarFlags,
        #[command(flatten)]
        common: Common,
    },
    /// Workspace management.
    Workspace {
        #[command(subcommand)]
        cmd: WorkspaceCmd,
    },
    /// Release a stuck lock on the current workspace.
    #[command(name = "force-unlock")]
    ForceUnlock {
        lock_id: String,
        #[arg(long, action = ArgAction::SetTrue)]
        force: bool,
    },
    /// Run the traffic-splitting reverse proxy for canary rollouts.
    Proxy(crate::proxy_cmd::ProxyArgs),
    /// Show the current weir version.
    Version {
        #[arg(long, action = ArgAction::SetTrue)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum StateCmd {
    /// List resources in the state.
    List { addresses: Vec<String> },
    /// Show a resource in the state.
    Show {
        address: String,
        #[command(flatten)]
        common: Common,
    },
    /// Move an item in the state.
    Mv {
        source: String,
        destination: String,
        #[arg(long = "dry-run", action = ArgAction::SetTrue)]
        dry_run: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Remove instances from the state.
    Rm {
        addresses: Vec<String>,
        #[arg(long = "dry-run", action = ArgAction::SetTrue)]
        dry_run: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Pull current state and output to stdout.
    Pull,
    /// Update remote state from a local state file.
    Push {
        path: PathBuf,
        #[arg(long, action = ArgAction::SetTrue)]
        force: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// List every recorded state version.
    History,
    /// Restore a recorded state version (as a new version).
    Rollback {
        serial: u64,
        /// Keep tracking resource instances the restored version does not know (created later).
        #[arg(long = "keep-newer", action = ArgAction::SetTrue)]
        keep_newer: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
    /// Show, apply or set aside the journal of an interrupted apply.
    Recover {
        /// Apply the recorded operations to the current state.
        #[arg(long, action = ArgAction::SetTrue, conflicts_with = "discard")]
        apply: bool,
        /// Set the journal aside (kept under another name, never recovered).
        #[arg(long, action = ArgAction::SetTrue)]
        discard: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
}

#[derive(Subcommand, Debug)]
pub enum MetadataCmd {
    /// Signatures of the built-in functions.
    Functions {
        #[arg(long, action = ArgAction::SetTrue)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum WorkspaceCmd {
    New {
        name: String,
        #[command(flatten)]
        lock: LockFlags,
    },
    Select {
        name: String,
        #[arg(long = "or-create", action = ArgAction::SetTrue)]
        or_create: bool,
    },
    List,
    Show,
    Delete {
        name: String,
        #[arg(long, action = ArgAction::SetTrue)]
        force: bool,
        #[command(flatten)]
        lock: LockFlags,
    },
}

/// Rewrites Terraform's single-dash long flags (`-auto-approve`, `-var=a=b`) to `--…`.
/// Stops at `--`; leaves values (which follow a flag as separate words) alone unless they
/// look like flags themselves.
pub fn normalize(args: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = false;
    for (i, a) in args.into_iter().enumerate() {
        if i == 0 || rest {
            out.push(a);
            continue;
        }
        if a == "--" {
            rest = true;
            out.push(a);
            continue;
        }
        let b = a.as_bytes();
        if b.len() > 2 && b[0] == b'-' && b[1] != b'-' && b[1].is_ascii_alphabetic() {
            out.push(format!("-{a}"));
        } else {
            out.push(a);
        }
    }
    out
}

/// The -var and -var-file arguments in command-line order (their relative order matters).
pub fn var_args_in_order(args: &[String]) -> Vec<operations::VarArg> {
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        for (flag, file) in [("--var", false), ("--var-file", true)] {
            if let Some(v) = a.strip_prefix(&format!("{flag}=")) {
                out.push(if file {
                    operations::VarArg::VarFile(PathBuf::from(v))
                } else {
                    operations::VarArg::Var(v.to_string())
                });
            } else if a == flag {
                if let Some(v) = it.peek() {
                    out.push(if file {
                        operations::VarArg::VarFile(PathBuf::from(v.as_str()))
                    } else {
                        operations::VarArg::Var(v.to_string())
                    });
                }
            }
        }
    }
    out
}

/// Parses Go-style durations (`10s`, `2m`, `1h30m`, `500ms`).
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut total = 0f64;
    let mut num = String::new();
    let mut chars = s.chars().peekable();
    if s == "0" {
        return Some(std::time::Duration::ZERO);
    }
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let mut unit = c.to_string();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphabetic() {
                unit.push(n);
                chars.next();
            } else {
                break;
            }
        }
        let v: f64 = num.parse().ok()?;
        num.clear();
        total += v * match unit.as_str() {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
    }
    if !num.is_empty() {
        return None;
    }
    Some(std::time::Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_flags_are_accepted() {
        let args = normalize(
            [
                "weir",
                "apply",
                "-auto-approve",
                "-var=a=1",
                "-var",
                "b=-2",
                "--",
                "-x",
            ]
            .map(String::from),
        );
        assert_eq!(
            args,
            [
                "weir",
                "apply",
                "--auto-approve",
                "--var=a=1",
                "--var",
                "b=-2",
                "--",
                "-x"
            ]
        );
        let cli = Cli::try_parse_from(normalize(
            [
                "weir",
                "plan",
                "-refresh=false",
                "-lock-timeout=5s",
                "-var",
                "x=1",
            ]
            .map(String::from),
        ))
        .unwrap();
        match cli.command {
            Command::Plan { plan, .. } => {
                assert!(!plan.refresh);
                assert_eq!(plan.lock.lock_timeout, "5s");
                assert_eq!(plan.vars.var, vec!["x=1"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn var_order_is_kept() {
        let a = normalize(["weir", "plan", "-var-file=a.tfvars", "-var", "x=1"].map(String::from));
        assert_eq!(
            var_args_in_order(&a),
            vec![
                operations::VarArg::VarFile("a.tfvars".into()),
                operations::VarArg::Var("x=1".into())
            ]
        );
    }

    #[test]
    fn durations() {
        assert_eq!(
            parse_duration("10s"),
            Some(std::time::Duration::from_secs(10))
        );
        assert_eq!(
            parse_duration("1m30s"),
            Some(std::time::Duration::from_secs(90))
        );
        assert_eq!(parse_duration("bogus"), None);
    }
}
