//! The engine: builds the dependency graph of a configuration, walks it in parallel and drives
//! providers through the resource lifecycle. It does no I/O of its own: config, prior state,
//! variables and a provider factory come in; a plan (or new state) and diagnostics go out.

pub mod dag;
pub mod objchange;
pub mod stateobj;
