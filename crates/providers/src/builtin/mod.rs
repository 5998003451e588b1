//! Built-in providers that run in-process: `terraform.io/builtin/terraform`.

mod remote_state;
mod terraform;

pub use remote_state::RemoteStateContext;
pub use terraform::{TerraformProvider, TerraformProviderAt};
