//! The `weir` binary: parses the command line and hands each verb to the library crates.

mod args;
mod logging;
mod proxy_cmd;
mod run;
mod state_cmds;
mod ui;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

/// The working directory as a stack, with the workspace selection Terraform's environment
/// variables ask for (`TF_WORKSPACE`, `TF_DATA_DIR`): read here, in the binary, and passed down.
pub fn here() -> operations::Stack {
    let dir = std::env::current_dir().unwrap_or_else(|_| std::path::PathBuf::from("."));
    let selection = operations::Selection {
        workspace_override: std::env::var("TF_WORKSPACE").ok().filter(|w| !w.is_empty()),
        data_dir: std::env::var_os("TF_DATA_DIR").map(std::path::PathBuf::from),
    };
    operations::Stack::open_with(&dir, selection)
}

/// The Terraform version weir is compatible with (reported by `weir version` and used for
/// `required_version` checks).
pub const TERRAFORM_COMPAT_VERSION: &str = "1.11.4";

fn main() -> ExitCode {
    logging::init();
    let mut raw: Vec<String> = std::env::args().collect();
    let end = raw.iter().position(|a| a == "--").unwrap_or(raw.len());
    let before = raw.len();
    let mut i = 0;
    raw.retain(|a| {
        i += 1;
        !(i <= end && (a == "-no-color" || a == "--no-color"))
    });
    if raw.len() != before {
        ui::NO_COLOR_FLAG.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let argv = args::normalize(raw);
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!(
                "Error handling -chdir option: chdir {}: {}",
                dir.display(),
                e
            );
            return ExitCode::from(1);
        }
    }
    let var_args = args::var_args_in_order(&argv);
    let code = match cli.command {
        Command::Version { json } => {
            if json {
                println!(
                    "{{\n  \"weir_version\": \"{}\",\n  \"terraform_version\": \"{}\",\n  \"platform\": \"linux_amd64\"\n}}",
                    env!("CARGO_PKG_VERSION"),
                    TERRAFORM_COMPAT_VERSION
                );
            } else {
                println!(
                    "weir v{} (compatible with Terraform v{})\non linux_amd64",
                    env!("CARGO_PKG_VERSION"),
                    TERRAFORM_COMPAT_VERSION
                );
            }
            0
        }
        Command::Plan {
            out,
            detailed_exitcode,
            plan,
            common,
        } => run::plan(&plan, &common, var_args, out.as_deref(), detailed_exitcode),
        Command::Apply {
            plan_file,
            auto_approve,
            plan,
            common,
        } => run::apply(
            &plan,
            &common,
            var_args,
            plan_file.as_deref(),
            auto_approve,
            false,
        ),
        Command::Destroy {
            auto_approve,
            plan,
            common,
        } => run::apply(&plan, &common, var_args, None, auto_approve, true),
        Command::Validate { json, common } => run::validate(json, &common),
        Command::Console { common, .. } => run::console(&common, var_args),
        Command::Metadata {
            cmd: args::MetadataCmd::Functions { json },
        } => {
            if json {
                println!("{}", functions::metadata_json());
                0
            } else {
                eprintln!(
                    "The `weir metadata functions` command requires the `-json` flag.\n\n\
                     Usage: weir [global options] metadata functions -json\n\n  \
                     Prints out a json representation of the available function signatures."
                );
                1
            }
        }
        Command::Init {
            upgrade,
            get,
            common,
            ..
        } => run::init(upgrade, get, &common),
        Command::Get { update, common, .. } => run::get(update, &common),
        Command::Modules { json } => run::modules(json),
        Command::Fmt {
            paths,
            list,
            write,
            diff,
            check,
            recursive,
            ..
        } => run::fmt(paths, list, write, diff, check, recursive),
        Command::Graph { ty, .. } => run::graph(&ty),
        Command::Import {
            addr,
            id,
            lock,
            common,
            ..
        } => run::import(&addr, &id, &lock, &common, var_args),
        Command::Show { path, json, common } => state_cmds::show(path.as_deref(), json, &common),
        Command::Output {
            name,
            json,
            raw,
            state,
            common,
        } => state_cmds::output(name.as_deref(), json, raw, state.as_deref(), &common),
        Command::State { cmd } => state_cmds::state(cmd),
        Command::Workspace { cmd } => state_cmds::workspace(cmd),
        Command::ForceUnlock { lock_id, force } => state_cmds::force_unlock(&lock_id, force),
        Command::Proxy(a) => proxy_cmd::run(a),
    };
    ExitCode::from(code)
}
