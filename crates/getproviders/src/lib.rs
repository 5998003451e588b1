//! Provider installation as `terraform init` does it without network access: version
//! constraints in Terraform's syntax, the CLI configuration's mirrors, the `h1:` package hash,
//! and the `.terraform.lock.hcl` dependency lock file.

pub mod cliconfig;
pub mod hash;
pub mod lockfile;
pub mod version;

pub use cliconfig::CliConfig;
pub use hash::h1_hash;
pub use lockfile::{LockFile, LockedProvider};
pub use version::{Constraints, Version};

/// The OS_ARCH platform string of this machine, as Terraform names it.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}
