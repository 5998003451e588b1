//! End-to-end tests of the `weir` binary: engine scenarios compared with Terraform's recorded
//! answers, state storage, locking and crash recovery.

mod apply_json;
mod aws;
mod common;
mod console;
mod fmt;
mod interrupted;
mod metadata;
mod provider_meta;
mod scenarios;
mod selfref;
mod state;
mod validate;
