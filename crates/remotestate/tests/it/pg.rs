//! The pg backend against a real PostgreSQL (Debian's package, `initdb` + `pg_ctl` in a
//! temporary directory, as the `postgres` user when running as root), and against Terraform
//! 1.11.4 sharing the same database where it is installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use remotestate::{Backend, BackendError, ConfigError, Env, Map};

use crate::common::*;

/// A PostgreSQL server in a temporary directory, stopped on drop.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    as_postgres: bool,
    pub port: u16,
    _dir: tempfile::TempDir,
}

fn find_bin() -> Option<PathBuf> {
    if let Some(p) = which("initdb") {
        return p.parent().map(Path::to_path_buf);
    }
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    dirs.sort();
    dirs.pop()
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

impl Postgres {
    pub fn start() -> Option<Postgres> {
        let Some(bin) = find_bin() else {
            eprintln!(
                "SKIPPED: PostgreSQL is not installed (scripts/install-test-deps.sh installs it)"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let ids = Command::new("id")
                .args(["-u", "postgres"])
                .output()
                .unwrap();
            let uid: u32 = String::from_utf8_lossy(&ids.stdout)
                .trim()
                .parse()
                .expect("a postgres user");
            std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
        }
        let data = dir.path().join("data");
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "secret\n").unwrap();
        if as_postgres {
            let uid = std::fs::metadata(dir.path())
                .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
                .unwrap();
            std::os::unix::fs::chown(&pw, Some(uid), None).unwrap();
        }
        let pg = Postgres {
            bin,
            data: data.clone(),
            as_postgres,
            port: free_port(),
            _dir: dir,
        };
        let out = pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "weir",
                &format!("--pwfile={}", pw.display()),
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(out.status.success(), "initdb: {}", text(&out));
        let sock = pg._dir.path().display().to_string();
        let out = pg.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &format!(
                    "-p {} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off",
                    pg.port
                ),
                "-l",
                &format!("{sock}/log"),
                "-w",
                "start",
            ],
        );
        assert!(out.status.success(), "pg_ctl start: {}", text(&out));
        wait_port(pg.port, Duration::from_secs(30));
        Some(pg)
    }

    fn run(&self, tool: &str, args: &[&str]) -> std::process::Output {
        let exe = self.bin.join(tool);
        let mut c = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        c.args(args)
            .env("LC_ALL", "C")
            .output()
            .expect("run a PostgreSQL tool")
    }

    pub fn url(&self, password: &str) -> String {
        format!(
            "postgres://weir:{password}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url("secret"), postgres::NoTls).unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.run(
            "pg_ctl",
            &[
                "-D",
                self.data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
    }
}

fn cfg(url: &str, extra: &[(&str, value::Value)]) -> Map {
    let mut m = map(&[("conn_str", s(url))]);
    for (k, v) in extra {
        m.insert(k.to_string(), v.clone());
    }
    m
}

fn open(c: &Map) -> Box<dyn Backend> {
    remotestate::open("pg", c, &Env::new()).unwrap_or_else(|e| panic!("open pg: {e}"))
}

#[test]
fn pg_backend_against_postgres() {
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("secret");
    let a = open(&cfg(&url, &[]));
    exercise_backend(a.as_ref(), "default");
    exercise_backend(a.as_ref(), "dev");
    a.create_workspace("staging").unwrap();
    assert_eq!(a.workspaces().unwrap(), vec!["default", "dev", "staging"]);
    let empty: serde_json::Value =
        serde_json::from_slice(&a.get("staging").unwrap().unwrap()).unwrap();
    assert_eq!(empty["serial"], 1);
    a.delete_workspace("staging").unwrap();
    assert_eq!(a.workspaces().unwrap(), vec!["default", "dev"]);

    // Terraform's table in Terraform's schema.
    let mut raw = pg.client();
    let n: i64 = raw
        .query_one(
            "SELECT count(*) FROM terraform_remote_state.states WHERE name IN ('default', 'dev')",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(n, 2);

    // Two weir processes: the second sees the first's lock with its holder.
    let b = open(&cfg(&url, &[]));
    let first = lock_info("alice@one");
    a.lock("dev", &first).unwrap();
    let (_, holder) = assert_held(b.lock("dev", &lock_info("bob@two")), Some(&first.id));
    assert_eq!(holder.unwrap().who, "alice@one");
    assert_eq!(b.lock_holder("dev").unwrap().unwrap().id, first.id);
    // force-unlock from the other process ends the holder's session.
    b.unlock("dev", &first.id).unwrap();
    let second = lock_info("bob@two");
    wait_until("the first session to end", Duration::from_secs(10), || {
        b.lock("dev", &second).is_ok()
    });
    b.unlock("dev", &second.id).unwrap();

    // A lock held the way Terraform holds it (an advisory lock on the row id, no record).
    let id: i64 = raw
        .query_one(
            "SELECT id FROM terraform_remote_state.states WHERE name = 'default'",
            &[],
        )
        .unwrap()
        .get(0);
    // A stale weir record from a session that is gone must not be taken for the holder.
    raw.execute(
        "INSERT INTO terraform_remote_state.weir_locks (name, info, pid) VALUES ('default', $1, 1)
         ON CONFLICT (name) DO UPDATE SET info = $1, pid = 1",
        &[&serde_json::to_string(&lock_info("ghost@gone")).unwrap()],
    )
    .unwrap();
    let got: bool = raw
        .query_one("SELECT pg_try_advisory_lock($1)", &[&id])
        .unwrap()
        .get(0);
    assert!(got);
    let (reason, holder) = assert_held(a.lock("default", &lock_info("me@here")), None);
    assert!(holder.is_none(), "{holder:?}");
    assert_eq!(
        reason,
        "Workspace is already locked: default (held by another process; Terraform records no lock info in pg)"
    );
    match a.unlock("default", "whatever") {
        Err(BackendError::Refused(m)) => {
            assert!(m.contains("Terraform records no lock info"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let _: bool = raw
        .query_one("SELECT pg_advisory_unlock($1)", &[&id])
        .unwrap()
        .get(0);
    let mine = lock_info("me@here");
    a.lock("default", &mine).unwrap();
    a.unlock("default", &mine.id).unwrap();

    // A custom schema, and the skip_* switches.
    let c = open(&cfg(&url, &[("schema_name", s("other \"state\""))]));
    exercise_backend(c.as_ref(), "default");
    let skip = cfg(
        &url,
        &[
            ("schema_name", s("never_created")),
            ("skip_schema_creation", value::Value::bool(true)),
            ("skip_table_creation", value::Value::bool(true)),
            ("skip_index_creation", value::Value::bool(true)),
        ],
    );
    let d = open(&skip);
    let err = d.get("default").unwrap_err().to_string();
    assert_eq!(err, "pq: relation \"never_created.states\" does not exist");

    // A wrong password and an unreachable server.
    match remotestate::open("pg", &cfg(&pg.url("wrong"), &[]), &Env::new()) {
        Err(ConfigError::Backend(BackendError::Refused(m))) => {
            assert_eq!(m, "pq: password authentication failed for user \"weir\"");
        }
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("a wrong password was accepted"),
    }
    let nowhere = format!(
        "postgres://weir:secret@127.0.0.1:{}/postgres?sslmode=disable",
        free_port()
    );
    match remotestate::open("pg", &cfg(&nowhere, &[]), &Env::new()) {
        Err(ConfigError::Backend(BackendError::Unreachable(m))) => {
            assert!(
                m.starts_with("cannot reach PostgreSQL at 127.0.0.1:"),
                "{m}"
            );
            assert!(!m.contains("secret"), "{m}");
        }
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("connected to nothing"),
    }

    // PG_CONN_STR and the PG* variables through the environment map.
    let env = Env::from([
        ("PGHOST".to_owned(), "127.0.0.1".to_owned()),
        ("PGPORT".to_owned(), pg.port.to_string()),
        ("PGUSER".to_owned(), "weir".to_owned()),
        ("PGPASSWORD".to_owned(), "secret".to_owned()),
        ("PGDATABASE".to_owned(), "postgres".to_owned()),
        ("PGSSLMODE".to_owned(), "disable".to_owned()),
    ]);
    let e = remotestate::open("pg", &Map::new(), &env).unwrap();
    assert_eq!(e.workspaces().unwrap(), vec!["default", "dev"]);
    let env = Env::from([("PG_CONN_STR".to_owned(), url.clone())]);
    let f = remotestate::open("pg", &Map::new(), &env).unwrap();
    assert_eq!(f.get("dev").unwrap(), a.get("dev").unwrap());
}

#[test]
fn pg_terraform_interop() {
    let Some(tf_exe) = terraform() else { return };
    let Some(pg) = Postgres::start() else { return };
    let url = pg.url("secret");
    let root = tempfile::tempdir().unwrap();
    let hcl = format!("  backend \"pg\" {{\n    conn_str = \"{url}\"\n  }}");
    let tf = TfDir::new(root.path(), "tf", &tf_exe, &hcl, crate::s3::BODY);
    let b = open(&cfg(&url, &[]));
    crate::s3::interop(&tf, b.as_ref(), false);
    b.create_workspace("from-weir").unwrap();
    tf.ok(&["workspace", "new", "from-tf"]);
    assert_eq!(
        b.workspaces().unwrap(),
        vec!["default", "from-tf", "from-weir"]
    );
    assert!(tf.ok(&["workspace", "list"]).contains("from-weir"));
    let recorded = std::fs::read_to_string(tf.dir.join(".terraform/terraform.tfstate")).unwrap();
    let ours = remotestate::backend_state::file_contents("pg", &cfg(&url, &[]), "1.11.4").unwrap();
    assert_eq!(ours, recorded);
}
