//! End-to-end tests of the `weir` binary: engine scenarios compared with Terraform's recorded
//! answers, state storage, locking and crash recovery.

mod apply_json;
mod aws;
mod common;
mod console;
mod fmt;
mod interop;
mod metadata;
mod migrate;
mod modules;
mod proxy;
mod safety;
mod scenarios;
mod state;
mod validate;
mod workspace;
