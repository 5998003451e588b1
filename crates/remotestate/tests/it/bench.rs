//! Per-operation latency of each backend on a 1,000-resource `terraform_data` state, against
//! the same local servers the tests use. Not a test: `bench/backends.sh` runs it (it is
//! `#[ignore]`d so the suite never times anything).

use std::time::{Duration, Instant};

use remotestate::{Backend, Env};
use value::Value;

use crate::common::*;

const ROUNDS: usize = 30;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn measure(name: &str, b: &dyn Backend, state: &[u8]) {
    let (mut get, mut put, mut lock, mut unlock) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    b.put("default", state).unwrap();
    for _ in 0..ROUNDS {
        let info = lock_info("bench@weir");
        let t = Instant::now();
        b.lock("default", &info).unwrap();
        lock.push(t.elapsed());
        let t = Instant::now();
        let got = b.get("default").unwrap().unwrap();
        get.push(t.elapsed());
        assert_eq!(got.len(), state.len());
        let t = Instant::now();
        b.put("default", state).unwrap();
        put.push(t.elapsed());
        let t = Instant::now();
        b.unlock("default", &info.id).unwrap();
        unlock.push(t.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<22} get {:>7.2} ms   put {:>7.2} ms   lock {:>7.2} ms   unlock {:>7.2} ms   (median of {ROUNDS}, state {} KiB)",
        ms(median(get)),
        ms(median(put)),
        ms(median(lock)),
        ms(median(unlock)),
        state.len() / 1024
    );
}

#[test]
#[ignore = "benchmark: run by bench/backends.sh"]
fn bench_backends() {
    let state = sample_state(1000, 1, "bench000-0000-0000-0000-000000000000");
    let srv = crate::http::Server::start(None);
    let http = remotestate::open(
        "http",
        &map(&[
            ("address", s(&srv.url("/state"))),
            ("lock_address", s(&srv.url("/lock"))),
            ("unlock_address", s(&srv.url("/lock"))),
        ]),
        &Env::new(),
    )
    .unwrap();
    measure("http", http.as_ref(), &state);

    if let Some(pg) = crate::pg::Postgres::start() {
        let b = remotestate::open(
            "pg",
            &map(&[("conn_str", s(&pg.url("secret")))]),
            &Env::new(),
        )
        .unwrap();
        measure("pg", b.as_ref(), &state);
    }
    if let Some(moto) = crate::s3::Moto::start() {
        moto.create_bucket("bench");
        moto.create_table("locks");
        let url = moto.url();
        for (name, extra) in [
            (
                "s3 (use_lockfile)",
                vec![("use_lockfile", Value::bool(true))],
            ),
            ("s3 (dynamodb_table)", vec![("dynamodb_table", s("locks"))]),
        ] {
            let b = remotestate::open(
                "s3",
                &crate::s3::s3_config(&url, "bench", &extra),
                &Env::new(),
            )
            .unwrap();
            measure(name, b.as_ref(), &state);
        }
    }
}
