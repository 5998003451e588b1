//! Built-in providers that run in-process: `terraform.io/builtin/terraform`.

mod terraform;

pub use terraform::TerraformProvider;
