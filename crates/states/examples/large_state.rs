//! Measures parse and write time of a synthetic state with many instances:
//! `cargo run --release -p states --example large_state -- 100000`.

use std::time::Instant;

use states::{InstanceKey, InstanceObject, ObjectKey, RawJson, ResourceAddr, State};

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut state = State::new("1.11.4");
    let provider = "provider[\"registry.terraform.io/hashicorp/aws\"]";
    for i in 0..n {
        // Half in one big counted resource, half spread over many resources.
        let (addr, key) = if i % 2 == 0 {
            (
                ResourceAddr::managed("aws_instance", "fleet"),
                Some(InstanceKey::Int(i as i64)),
            )
        } else {
            (
                ResourceAddr::new(
                    format!("module.m{}", i % 100),
                    states::ResourceMode::Managed,
                    "aws_s3_bucket",
                    format!("b{i}"),
                ),
                None,
            )
        };
        let attrs = serde_json::json!({
            "id": format!("i-{i:016x}"), "arn": format!("arn:aws:ec2:us-east-1:123456789012:instance/i-{i:016x}"),
            "tags": {"Name": format!("node-{i}"), "env": "prod"}, "cpu": 2, "ebs": [{"size": 100, "type": "gp3"}],
            "private_ip": "10.0.0.1", "user_data": null, "monitoring": true,
        });
        let obj = InstanceObject {
            attributes: Some(RawJson::from_value(&attrs)),
            sensitive_attributes: Some(RawJson::from_json_str("[]").unwrap()),
            dependencies: vec!["aws_vpc.main".into()],
            ..Default::default()
        };
        state.set_object(&addr, provider, ObjectKey::current(key), Some(obj));
    }
    let t = Instant::now();
    let bytes = state.to_vec();
    let write = t.elapsed();
    let t = Instant::now();
    let _: serde::de::IgnoredAny = serde_json::from_slice(&bytes).expect("json");
    let baseline = t.elapsed();
    let t = Instant::now();
    let parsed = State::from_slice(&bytes).expect("parse");
    let parse = t.elapsed();
    assert_eq!(parsed.object_count(), n);
    let t = Instant::now();
    let again = parsed.to_vec();
    let rewrite = t.elapsed();
    assert_eq!(again, bytes);
    let t = Instant::now();
    let mut parsed = parsed;
    for i in (0..n).step_by(2).take(10_000) {
        let addr = ResourceAddr::managed("aws_instance", "fleet");
        let key = ObjectKey::current(Some(InstanceKey::Int(i as i64)));
        let mut o = parsed.object(&addr, &key).expect("present").clone();
        o.schema_version = 1;
        parsed.set_object(&addr, provider, key, Some(o));
    }
    let updates = t.elapsed();
    println!(
        "{n} instances, {:.1} MB: write {:?}, serde_json skip-only baseline {:?}, parse {:?}, rewrite {:?}, 10k single-instance updates {:?}",
        bytes.len() as f64 / 1e6,
        write,
        baseline,
        parse,
        rewrite,
        updates
    );
}
