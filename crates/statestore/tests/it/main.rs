//! Integration tests of the SQLite state store: versions, journal recovery after a real
//! SIGKILL, lock contention between processes, push checks, workspaces and corrupt databases.

mod child;
mod journal;
mod locks;
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
