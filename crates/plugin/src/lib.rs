//! Terraform provider plugins driven over gRPC: process launch and the go-plugin handshake,
//! clients for plugin protocols 5 and 6 behind [`providers::Provider`], and an on-disk cache
//! of decoded provider schemas.
//!
//! ```no_run
//! use plugin::{PluginOptions, PluginProvider};
//! use providers::Provider;
//! let p = PluginProvider::start(PluginOptions::new("/path/to/terraform-provider-aws_v5.100.0_x5"))?;
//! let (schema, _diags) = p.get_schema()?;
//! assert!(schema.resource_types.contains_key("aws_s3_bucket"));
//! # Ok::<(), providers::ProviderError>(())
//! ```

pub mod cache;
pub mod convert;
pub mod process;
pub mod proto;
pub mod provider;

pub use cache::SchemaCache;
pub use convert::{complete_object, Capabilities};
pub use process::{parse_handshake, Handshake, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE};
pub use provider::{PluginOptions, PluginProvider, SchemaLoad, SchemaSource};
