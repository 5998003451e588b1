//! End-to-end tests of the `weir` binary: engine scenarios compared with Terraform's recorded
//! answers, state storage, locking and crash recovery.

mod apply_json;
mod aws;
mod common;
mod console;
mod fmt;
mod interop;
mod interrupted;
mod metadata;
mod migrate;
mod modules;
mod provider_meta;
mod proxy;
mod safety;
mod scenarios;
mod selfref;
mod state;
mod validate;
mod workspace;
