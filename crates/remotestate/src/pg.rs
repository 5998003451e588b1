//! The `pg` backend: Terraform's table `SCHEMA.states (id, name, data)` and its session-level
//! advisory locks (key = the workspace row's `id`, or `-1` while a workspace is being created),
//! so a Terraform process and weir exclude each other.
//!
//! Each lock is held on a dedicated connection kept open for the lock's lifetime: a session
//! advisory lock lives as long as its session. Terraform records no holder in pg; weir writes
//! its own lock info to a side table `SCHEMA.weir_locks` (which Terraform ignores) together with
//! the holding session's pid, and trusts a row only while that session still holds the lock.
//!
//! The synchronous `postgres` client is used (it runs tokio-postgres on a private current-thread
//! runtime): the `Backend` trait is synchronous, and this keeps async out of the crate.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use statestore::{Backend, BackendError, LockError, LockInfo};

use crate::config::{coerce, env_first, invalid, parse_go_bool, ConfigError, Diags, Obj};
use crate::{Env, Map};

#[derive(Clone)]
pub struct PgConfig {
    pub conn: Config,
    /// `host:port`, for messages (never the password).
    pub display: String,
    pub schema_name: String,
    pub skip_schema_creation: bool,
    pub skip_table_creation: bool,
    pub skip_index_creation: bool,
}

/// Terraform's SDK-like default: the attribute, else the environment variable, else the
/// fallback; booleans from the environment as Go's `strconv.ParseBool` reads them.
fn bool_env(obj: &Obj, env: &Env, name: &str, var: &str) -> Result<bool, ConfigError> {
    if let Some(b) = obj.bool(name) {
        return Ok(b);
    }
    match env_first(env, &[var]) {
        None => Ok(false),
        Some(v) => parse_go_bool(&v).ok_or_else(|| {
            invalid(format!(
                "invalid value for {name:?}: strconv.ParseBool: parsing {v:?}: invalid syntax"
            ))
        }),
    }
}

/// libpq's environment defaults, for what the connection string leaves unset.
fn apply_env(conn: &mut Config, conn_str: &str, env: &Env) -> Result<(), ConfigError> {
    let has = |key: &str| {
        conn_str.contains(&format!("{key}=")) || (key == "sslmode" && conn_str.contains("sslmode"))
    };
    if conn.get_hosts().is_empty() {
        conn.host(&env_first(env, &["PGHOST"]).unwrap_or_else(|| "localhost".into()));
    }
    if conn.get_ports().is_empty() {
        if let Some(p) = env_first(env, &["PGPORT"]) {
            let port = p
                .parse::<u16>()
                .map_err(|_| invalid(format!("invalid PGPORT {p:?}")))?;
            conn.port(port);
        }
    }
    if conn.get_user().is_none() {
        if let Some(u) = env_first(env, &["PGUSER", "USER"]) {
            conn.user(&u);
        }
    }
    if conn.get_password().is_none() {
        if let Some(p) = env_first(env, &["PGPASSWORD"]) {
            conn.password(p);
        }
    }
    if conn.get_dbname().is_none() {
        if let Some(d) = env_first(env, &["PGDATABASE"]) {
            conn.dbname(&d);
        }
    }
    if conn.get_application_name().is_none() {
        if let Some(a) = env_first(env, &["PGAPPNAME"]) {
            conn.application_name(&a);
        }
    }
    if conn.get_connect_timeout().is_none() {
        let t = env_first(env, &["PGCONNECT_TIMEOUT"])
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(10);
        conn.connect_timeout(Duration::from_secs(t));
    }
    let mode = if has("sslmode") {
        None
    } else {
        env_first(env, &["PGSSLMODE"])
    };
    match mode.as_deref() {
        Some("disable") => {
            conn.ssl_mode(SslMode::Disable);
        }
        Some("allow") | Some("prefer") => {
            conn.ssl_mode(SslMode::Prefer);
        }
        Some(_) => {
            conn.ssl_mode(SslMode::Require);
        }
        None if !has("sslmode") => {
            // lib/pq (Terraform's driver) defaults to sslmode=require.
            conn.ssl_mode(SslMode::Require);
        }
        None => {}
    }
    if conn.get_ssl_mode() == SslMode::Require {
        return Err(invalid(
            "weir's pg backend connects without TLS: set sslmode=disable (or prefer) in conn_str or PGSSLMODE \
             (Terraform's driver requires TLS unless sslmode says otherwise)",
        ));
    }
    Ok(())
}

/// lib/pq's `QuoteIdentifier`.
fn quote_ident(s: &str) -> String {
    let s = s.split('\0').next().unwrap_or_default();
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl PgConfig {
    pub fn from_map(
        map: &Map,
        env: &Env,
    ) -> Result<(PgConfig, Vec<crate::ConfigDiagnostic>), ConfigError> {
        let schema = crate::schema::schema("pg").expect("pg schema");
        let obj = coerce(&schema, map)?;
        let conn_str = obj
            .str("conn_str")
            .filter(|s| !s.is_empty())
            .or_else(|| env_first(env, &["PG_CONN_STR"]))
            .unwrap_or_default();
        let mut conn: Config = if conn_str.is_empty() {
            Config::new()
        } else {
            // Never echo the string: it usually carries the password.
            conn_str.parse().map_err(|e: postgres::Error| {
                invalid(format!(
                    "invalid conn_str: {}",
                    scrub(&e.to_string(), &conn_str)
                ))
            })?
        };
        apply_env(&mut conn, &conn_str, env)?;
        let host = match conn.get_hosts().first() {
            Some(postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = conn.get_ports().first().copied().unwrap_or(5432);
        let cfg = PgConfig {
            conn,
            display: format!("{host}:{port}"),
            schema_name: obj
                .str("schema_name")
                .filter(|s| !s.is_empty())
                .or_else(|| env_first(env, &["PG_SCHEMA_NAME"]))
                .unwrap_or_else(|| "terraform_remote_state".into()),
            skip_schema_creation: bool_env(
                &obj,
                env,
                "skip_schema_creation",
                "PG_SKIP_SCHEMA_CREATION",
            )?,
            skip_table_creation: bool_env(
                &obj,
                env,
                "skip_table_creation",
                "PG_SKIP_TABLE_CREATION",
            )?,
            skip_index_creation: bool_env(
                &obj,
                env,
                "skip_index_creation",
                "PG_SKIP_INDEX_CREATION",
            )?,
        };
        Diags::default().finish(cfg)
    }
}

/// Removes `secret` from a message (a parse error may quote the connection string).
fn scrub(msg: &str, secret: &str) -> String {
    if secret.is_empty() {
        msg.to_owned()
    } else {
        msg.replace(secret, "<conn_str>")
    }
}

/// One lock this process holds: its own session, the advisory key, and the info.
struct HeldLock {
    client: Client,
    key: i64,
    info: LockInfo,
}

pub struct PgBackend {
    cfg: PgConfig,
    /// `"schema"."states"`.
    table: String,
    side_table: String,
    client: Mutex<Client>,
    locks: Mutex<HashMap<String, HeldLock>>,
    /// Sessions that held a lock and were cleaned, kept for the next lock: connecting and
    /// authenticating costs more than the rest of a lock.
    idle: Mutex<Vec<Client>>,
}

/// How many cleaned lock sessions to keep.
const IDLE_SESSIONS: usize = 2;

fn db_error(cfg: &PgConfig, e: postgres::Error) -> BackendError {
    if let Some(db) = e.as_db_error() {
        return BackendError::Refused(format!("pq: {}", db.message()));
    }
    let text = e.to_string();
    let closed = e.is_closed();
    let source = std::error::Error::source(&e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    if closed
        || text.contains("error connecting")
        || text.contains("timed out")
        || !source.is_empty()
    {
        BackendError::Unreachable(format!(
            "cannot reach PostgreSQL at {}: {}{}",
            cfg.display,
            text,
            if source.is_empty() {
                String::new()
            } else {
                format!(": {source}")
            }
        ))
    } else {
        BackendError::Refused(format!("PostgreSQL at {}: {text}", cfg.display))
    }
}

impl PgBackend {
    fn connect(cfg: &PgConfig) -> Result<Client, BackendError> {
        cfg.conn.connect(NoTls).map_err(|e| db_error(cfg, e))
    }

    /// Terraform's `Configure`: connects, then creates the schema, the table (and its id
    /// sequence) and the index unless told to skip them.
    pub fn configure(cfg: PgConfig) -> Result<PgBackend, ConfigError> {
        let mut client = Self::connect(&cfg)?;
        let schema = quote_ident(&cfg.schema_name);
        let table = format!("{schema}.states");
        let side_table = format!("{schema}.weir_locks");
        let err = |e| ConfigError::Backend(db_error(&cfg, e));
        if !cfg.skip_schema_creation {
            let row = client
                .query_one(
                    "select count(1) from information_schema.schemata where schema_name = $1",
                    &[&cfg.schema_name],
                )
                .map_err(err)?;
            let count: i64 = row.get(0);
            if count < 1 {
                client
                    .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                    .map_err(err)?;
            }
        }
        if !cfg.skip_table_creation {
            client
                .batch_execute(
                    "CREATE SEQUENCE IF NOT EXISTS public.global_states_id_seq AS bigint",
                )
                .map_err(err)?;
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {table} (
			id bigint NOT NULL DEFAULT nextval('public.global_states_id_seq') PRIMARY KEY,
			name text UNIQUE,
			data text
			)"
                ))
                .map_err(err)?;
            // weir's holder records; best effort (a role that may not create it still locks).
            let _ = client.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {side_table} (name text PRIMARY KEY, info text NOT NULL, pid integer NOT NULL)"
            ));
        }
        if !cfg.skip_index_creation {
            client
                .batch_execute(&format!(
                    "CREATE UNIQUE INDEX IF NOT EXISTS states_by_name ON {table} (name)"
                ))
                .map_err(err)?;
        }
        // One session ready for the first lock.
        let idle = Self::connect(&cfg).map(|c| vec![c]).unwrap_or_default();
        Ok(PgBackend {
            cfg,
            table,
            side_table,
            client: Mutex::new(client),
            locks: Mutex::new(HashMap::new()),
            idle: Mutex::new(idle),
        })
    }

    /// A session of its own for a lock: an idle one, or a new connection.
    fn lock_session(&self) -> Result<Client, BackendError> {
        while let Some(c) = self.idle.lock().expect("pg idle").pop() {
            if !c.is_closed() {
                return Ok(c);
            }
        }
        Self::connect(&self.cfg)
    }

    /// Keeps a session for the next lock once it holds nothing.
    fn release_session(&self, mut client: Client) {
        if client
            .batch_execute("SELECT pg_advisory_unlock_all()")
            .is_ok()
        {
            let mut idle = self.idle.lock().expect("pg idle");
            if idle.len() < IDLE_SESSIONS {
                idle.push(client);
            }
        }
    }

    fn err(&self, e: postgres::Error) -> BackendError {
        db_error(&self.cfg, e)
    }

    /// Runs `f` on the shared connection, reconnecting once if the server dropped it.
    fn with_client<T>(
        &self,
        f: impl Fn(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, BackendError> {
        let mut client = self.client.lock().expect("pg client");
        if client.is_closed() {
            *client = Self::connect(&self.cfg)?;
        }
        match f(&mut client) {
            Err(e) if e.is_closed() => {
                *client = Self::connect(&self.cfg)?;
                f(&mut client).map_err(|e| self.err(e))
            }
            r => r.map_err(|e| self.err(e)),
        }
    }

    /// The holder weir recorded, if the session that recorded it still holds `key`.
    fn recorded_holder(&self, client: &mut Client, workspace: &str, key: i64) -> Option<LockInfo> {
        let sql = format!(
            "SELECT w.info FROM {} w JOIN pg_locks l ON l.pid = w.pid
             WHERE w.name = $1 AND l.locktype = 'advisory' AND l.granted
               AND l.classid = (($2::bigint >> 32) & 4294967295)::oid
               AND l.objid = ($2::bigint & 4294967295)::oid AND l.objsubid = 1",
            self.side_table
        );
        let row = client.query_opt(&sql, &[&workspace, &key]).ok()??;
        serde_json::from_str(&row.get::<_, String>(0)).ok()
    }

    /// The advisory key of a workspace: its row id, or -1 (creation) when it has no row.
    fn key_of(&self, client: &mut Client, workspace: &str) -> Result<Option<i64>, postgres::Error> {
        let row = client.query_opt(
            &format!("SELECT id FROM {} WHERE name = $1", self.table),
            &[&workspace],
        )?;
        Ok(row.map(|r| r.get(0)))
    }
}

fn held(workspace: &str, reason: &str, holder: Option<LockInfo>) -> BackendError {
    let reason = if holder.is_some() {
        format!("{reason}: {workspace}")
    } else {
        format!(
            "{reason}: {workspace} (held by another process; Terraform records no lock info in pg)"
        )
    };
    LockError::Held {
        reason,
        holder: holder.map(Box::new),
    }
    .into()
}

impl Backend for PgBackend {
    fn kind(&self) -> &'static str {
        "pg"
    }

    fn location(&self, workspace: &str) -> String {
        format!(
            "pg://{}/{}.states[{workspace}]",
            self.cfg.display, self.cfg.schema_name
        )
    }

    fn workspaces(&self) -> Result<Vec<String>, BackendError> {
        let sql = format!(
            "SELECT name FROM {} WHERE name != 'default' ORDER BY name",
            self.table
        );
        let rows = self.with_client(|c| c.query(&sql, &[]))?;
        let mut out = vec![crate::DEFAULT_WORKSPACE.to_owned()];
        out.extend(rows.iter().map(|r| r.get::<_, String>(0)));
        Ok(out)
    }

    fn create_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if self.workspaces()?.iter().any(|w| w == workspace) {
            return Ok(());
        }
        let info = LockInfo::new("init", crate::TERRAFORM_VERSION, "");
        self.lock(workspace, &info)
            .map_err(|e| BackendError::Refused(format!("failed to lock state in Postgres: {e}")))?;
        let result = match self.get(workspace) {
            Ok(None) => self.put(workspace, &crate::empty_state()),
            Ok(Some(_)) => Ok(()),
            Err(e) => Err(e),
        };
        self.unlock(workspace, &info.id)?;
        result
    }

    fn delete_workspace(&self, workspace: &str) -> Result<(), BackendError> {
        if workspace == crate::DEFAULT_WORKSPACE || workspace.is_empty() {
            return Err(BackendError::Refused("can't delete default state".into()));
        }
        let sql = format!("DELETE FROM {} WHERE name = $1", self.table);
        self.with_client(|c| c.execute(&sql, &[&workspace]))?;
        Ok(())
    }

    fn get(&self, workspace: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let sql = format!("SELECT data FROM {} WHERE name = $1", self.table);
        let row = self.with_client(|c| c.query_opt(&sql, &[&workspace]))?;
        Ok(row
            .and_then(|r| r.get::<_, Option<String>>(0))
            .map(String::into_bytes))
    }

    fn put(&self, workspace: &str, bytes: &[u8]) -> Result<(), BackendError> {
        let data = std::str::from_utf8(bytes).map_err(|_| {
            BackendError::Corrupt(
                "the state is not UTF-8 text, which the pg backend's text column needs".into(),
            )
        })?;
        // One statement, so a reader sees the old row or the new one.
        let sql = format!(
            "INSERT INTO {t} (name, data) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE
		SET data = $2 WHERE states.name = $1",
            t = self.table
        );
        self.with_client(|c| c.execute(&sql, &[&workspace, &data]))?;
        Ok(())
    }

    fn lock(&self, workspace: &str, info: &LockInfo) -> Result<(), BackendError> {
        let mut locks = self.locks.lock().expect("pg locks");
        if let Some(h) = locks.get(workspace) {
            return Err(held(
                workspace,
                "Workspace is already locked",
                Some(h.info.clone()),
            ));
        }
        let mut client = self.lock_session()?;
        let mut result = self.try_lock(&mut client, workspace);
        if result.is_err() && client.is_closed() {
            // An idle session the server has ended since: once more on a new one.
            client = Self::connect(&self.cfg)?;
            result = self.try_lock(&mut client, workspace);
        }
        match result {
            Ok(key) => {
                let mut info = info.clone();
                info.path = key.to_string();
                let json = serde_json::to_string(&info).expect("lock info serializes");
                let _ = client.execute(
                    &format!(
                        "INSERT INTO {} (name, info, pid) VALUES ($1, $2, pg_backend_pid())
                         ON CONFLICT (name) DO UPDATE SET info = $2, pid = pg_backend_pid()",
                        self.side_table
                    ),
                    &[&workspace, &json],
                );
                locks.insert(workspace.to_owned(), HeldLock { client, key, info });
                Ok(())
            }
            Err(e) => {
                self.release_session(client);
                Err(e)
            }
        }
    }

    fn unlock(&self, workspace: &str, id: &str) -> Result<(), BackendError> {
        self.unlock_impl(workspace, id)
    }

    fn lock_holder(&self, workspace: &str) -> Result<Option<LockInfo>, BackendError> {
        self.lock_holder_impl(workspace)
    }
}

impl PgBackend {
    /// Terraform's lock query on `client`: the advisory key that session now holds.
    fn try_lock(&self, client: &mut Client, workspace: &str) -> Result<i64, BackendError> {
        let sql = format!(
            "SELECT states.id, pg_try_advisory_lock(states.id), pg_try_advisory_lock(-1) FROM {} WHERE states.name = $1",
            self.table
        );
        let row = client
            .query_opt(&sql, &[&workspace])
            .map_err(|e| self.err(e))?;
        let key = match row {
            None => {
                let got: bool = client
                    .query_one("SELECT pg_try_advisory_lock(-1)", &[])
                    .map_err(|e| self.err(e))?
                    .get(0);
                if !got {
                    let holder = self.recorded_holder(client, workspace, -1);
                    return Err(held(
                        workspace,
                        "Already locked for workspace creation",
                        holder,
                    ));
                }
                -1
            }
            Some(r) => {
                let (id, got, got_create): (i64, bool, bool) = (r.get(0), r.get(1), r.get(2));
                if !got {
                    if got_create {
                        let _ = client.execute("SELECT pg_advisory_unlock(-1)", &[]);
                    }
                    let holder = self.recorded_holder(client, workspace, id);
                    return Err(held(workspace, "Workspace is already locked", holder));
                }
                if !got_create {
                    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&id]);
                    let holder = self.recorded_holder(client, workspace, -1);
                    return Err(held(
                        workspace,
                        "Cannot lock workspace; already locked for workspace creation",
                        holder,
                    ));
                }
                let _ = client.execute("SELECT pg_advisory_unlock(-1)", &[]);
                id
            }
        };
        Ok(key)
    }

    fn unlock_impl(&self, workspace: &str, id: &str) -> Result<(), BackendError> {
        let mut locks = self.locks.lock().expect("pg locks");
        if let Some(h) = locks.get(workspace) {
            if h.info.id != id {
                return Err(LockError::IdMismatch {
                    given: id.to_owned(),
                    held: h.info.id.clone(),
                }
                .into());
            }
            let mut h = locks.remove(workspace).expect("present");
            let _ = h.client.execute(
                &format!(
                    "DELETE FROM {} WHERE name = $1 AND pid = pg_backend_pid()",
                    self.side_table
                ),
                &[&workspace],
            );
            let _ = h.client.execute("SELECT pg_advisory_unlock($1)", &[&h.key]);
            self.release_session(h.client);
            return Ok(());
        }
        drop(locks);
        // Another process's lock (force-unlock): only a weir holder that recorded this ID can
        // be released, by ending its session.
        let holder = self.lock_holder_impl(workspace)?;
        match holder {
            Some(h) if h.id == id => {
                let sql = format!(
                    "SELECT pg_terminate_backend(pid) FROM {} WHERE name = $1",
                    self.side_table
                );
                self.with_client(|c| c.query(&sql, &[&workspace]))?;
                let del = format!("DELETE FROM {} WHERE name = $1", self.side_table);
                self.with_client(|c| c.execute(&del, &[&workspace]))?;
                Ok(())
            }
            Some(h) => Err(LockError::IdMismatch {
                given: id.to_owned(),
                held: h.id,
            }
            .into()),
            None => Err(BackendError::Refused(format!(
                "workspace {workspace:?} is not locked by weir here: a pg lock lives as long as the \
                 session that holds it, and Terraform records no lock info in pg, so end that process instead"
            ))),
        }
    }

    fn lock_holder_impl(&self, workspace: &str) -> Result<Option<LockInfo>, BackendError> {
        if let Some(h) = self.locks.lock().expect("pg locks").get(workspace) {
            return Ok(Some(h.info.clone()));
        }
        let mut client = self.client.lock().expect("pg client");
        let key = match self.key_of(&mut client, workspace) {
            Ok(k) => k.unwrap_or(-1),
            Err(e) => return Err(self.err(e)),
        };
        Ok(self.recorded_holder(&mut client, workspace, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_identifiers_like_lib_pq() {
        assert_eq!(
            quote_ident("terraform_remote_state"),
            "\"terraform_remote_state\""
        );
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn environment_fills_what_the_connection_string_leaves_out() {
        let env = Env::from([
            ("PGHOST".to_owned(), "db.example".to_owned()),
            ("PGPORT".to_owned(), "6543".to_owned()),
            ("PGUSER".to_owned(), "tf".to_owned()),
            ("PGSSLMODE".to_owned(), "disable".to_owned()),
            ("PG_SCHEMA_NAME".to_owned(), "custom".to_owned()),
            ("PG_SKIP_INDEX_CREATION".to_owned(), "t".to_owned()),
        ]);
        let (cfg, _) = PgConfig::from_map(&Map::new(), &env).unwrap();
        assert_eq!(cfg.display, "db.example:6543");
        assert_eq!(cfg.conn.get_user(), Some("tf"));
        assert_eq!(cfg.schema_name, "custom");
        assert!(cfg.skip_index_creation && !cfg.skip_table_creation);
        let err = PgConfig::from_map(
            &Map::from([(
                "conn_str".to_owned(),
                value::Value::string("postgres://u:hunter2@h/db"),
            )]),
            &Env::new(),
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("sslmode"), "{err}");
        assert!(!err.to_string().contains("hunter2"));
    }
}
