//! The `weir` binary: parses the command line and hands each verb to the library crates.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The Terraform version weir is compatible with (reported by `weir version` and used for
/// `required_version` checks).
const TERRAFORM_COMPAT_VERSION: &str = "1.11.4";

#[derive(Parser)]
#[command(name = "weir", about = "Terraform-compatible infrastructure as code, GitOps and delivery in one binary", disable_version_flag = true)]
struct Cli {
    /// Switch to a different working directory before executing the command.
    #[arg(long = "chdir", global = true)]
    chdir: Option<std::path::PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show the current weir version.
    Version {
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(dir) = &cli.chdir {
        if let Err(e) = std::env::set_current_dir(dir) {
            eprintln!("Error handling -chdir option: {e}");
            return ExitCode::from(1);
        }
    }
    match cli.command {
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
            ExitCode::SUCCESS
        }
    }
}
