//! Measures the apply journal: `cargo run --release -p statestore --example journal_bench -- 100000`.
//! Each record_instance is one appended frame (durable against kill -9); finish writes the
//! state of record (`terraform.tfstate`) and records the version in history.

use std::time::Instant;

use states::{InstanceKey, InstanceObject, ObjectKey, RawJson, ResourceAddr, State};
use statestore::{LockInfo, StateStore, WriteMeta};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("weir-journal-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let store = StateStore::open_local(&dir, "1.11.4").expect("open");
    let info = LockInfo::new("OperationTypeApply", "1.11.4", "");
    store
        .lock(
            "default",
            &info,
            std::time::Duration::ZERO,
            &cancel::Cancel::new(),
        )
        .expect("lock");
    let provider = "provider[\"registry.terraform.io/hashicorp/aws\"]";
    let addr = ResourceAddr::managed("aws_instance", "fleet");
    let objects: Vec<InstanceObject> = (0..n)
        .map(|i| InstanceObject {
            attributes: Some(RawJson::from_value(&serde_json::json!({
                "id": format!("i-{i:016x}"), "arn": format!("arn:aws:ec2:us-east-1:123456789012:instance/i-{i:016x}"),
                "tags": {"Name": format!("node-{i}")}, "cpu": 2, "private_ip": "10.0.0.1",
            }))),
            sensitive_attributes: Some(RawJson::from_json_str("[]").unwrap()),
            ..Default::default()
        })
        .collect();
    let base = State::new("1.11.4");
    let t = Instant::now();
    let mut j = store
        .begin_apply("default", &base, &WriteMeta::new("apply"))
        .expect("begin");
    let begin = t.elapsed();
    let t = Instant::now();
    for (i, o) in objects.iter().enumerate() {
        j.record_instance(
            &addr,
            provider,
            &ObjectKey::current(Some(InstanceKey::Int(i as i64))),
            Some(o),
        )
        .expect("record");
    }
    let record = t.elapsed();
    let t = Instant::now();
    let v = j.finish().expect("finish").expect("a new version");
    let finish = t.elapsed();
    let t = Instant::now();
    let cur = store
        .read_state("default")
        .expect("current")
        .expect("state");
    let load = t.elapsed();
    assert_eq!(cur.object_count(), n);
    // A second apply over the big state touching one instance: cost of begin (base snapshot) + finish.
    let t = Instant::now();
    let mut j = store
        .begin_apply("default", &cur, &WriteMeta::new("apply"))
        .expect("begin");
    j.record_instance(
        &addr,
        provider,
        &ObjectKey::current(Some(InstanceKey::Int(0))),
        None,
    )
    .expect("record");
    let v2 = j.finish().expect("finish").expect("a new version");
    let second = t.elapsed();
    println!(
        "{n} record_instance: {record:?} total ({:.2} µs each); begin {begin:?}; finish (fold to version {}, {:.1} MB) {finish:?}; load current {load:?}; 1-change apply on big state (version {}) {second:?}",
        record.as_secs_f64() * 1e6 / n as f64,
        v.serial,
        v.size as f64 / 1e6,
        v2.serial
    );
    let _ = std::fs::remove_dir_all(&dir);
}
