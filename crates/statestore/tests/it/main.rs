//! Integration tests of the state store: the local backend's files and locks, versions and
//! history, journal recovery after a real SIGKILL (and after the state of record was deleted or
//! replaced), lock contention between processes, push checks, workspaces, corrupt databases
//! and the migration from the schema-1 store.

mod child;
mod journal;
mod local;
mod locks;
mod migrate;
mod store;

use states::{InstanceKey, InstanceObject, ObjectKey, RawJson, ResourceAddr, State};

pub const PROVIDER: &str = "provider[\"terraform.io/builtin/terraform\"]";

/// An object whose attributes say which instance it is.
pub fn object(i: usize) -> InstanceObject {
    InstanceObject {
        attributes: Some(RawJson::from_value(
            &serde_json::json!({"id": format!("id-{i}"), "input": {"value": i, "type": "number"}}),
        )),
        sensitive_attributes: Some(RawJson::from_json_str("[]").unwrap()),
        ..Default::default()
    }
}

pub fn addr() -> ResourceAddr {
    ResourceAddr::managed("terraform_data", "r")
}

pub fn key(i: usize) -> ObjectKey {
    ObjectKey::current(Some(InstanceKey::Int(i as i64)))
}

/// A state with `n` instances of `terraform_data.r`.
pub fn state_with(n: usize, lineage: &str) -> State {
    let mut s = State::with_lineage("1.11.4", lineage);
    for i in 0..n {
        s.set_object(&addr(), PROVIDER, key(i), Some(object(i)));
    }
    s
}

/// A store over the local backend in `dir` with history in `dir/.weir`.
pub fn open(dir: &std::path::Path) -> statestore::StateStore {
    statestore::StateStore::open_local(dir, "1.11.4").unwrap()
}

/// Takes the lock with no wait.
pub fn lock(store: &statestore::StateStore, workspace: &str) -> statestore::LockInfo {
    let info = statestore::LockInfo::new("OperationTypeApply", "1.11.4", "");
    store
        .lock(
            workspace,
            &info,
            std::time::Duration::ZERO,
            &cancel::Cancel::new(),
        )
        .unwrap();
    info
}
