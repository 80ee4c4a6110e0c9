//! The PostgreSQL engine of the store (the hub): connecting (URL, TLS rule), the [`Db`] of a
//! client or transaction, writes serialised like SQLite's `BEGIN IMMEDIATE`, and the
//! PostgreSQL migrations (`pg_migrations`).
//!
//! Why the blocking `postgres` crate: the core is synchronous and runs on plain threads (the
//! app) or `spawn_blocking` threads (the intake server), exactly like rusqlite. `postgres` 0.19
//! drives tokio-postgres 0.7 on its own current-thread runtime per connection, so no async type
//! crosses into `Desk` (proved not to panic inside `spawn_blocking`:
//! `crates/core/tests/pg_conformance.rs`).
//!
//! Writes: every write transaction takes `pg_advisory_xact_lock(WRITER_LOCK)` first, so writers
//! of all hub processes take turns as SQLite's `BEGIN IMMEDIATE` makes them (the audit chain is
//! one sequence anyway: every change appends to it). Under READ COMMITTED each statement after
//! the lock sees every earlier commit, so the domain's look-up-then-insert steps behave as on
//! SQLite; unique constraints with `ON CONFLICT` stay the last line of defence.

use super::sql::{to_pg_placeholders, Backend, Db, Row, Value};
use crate::error::{Error, Result};
use bytes::BytesMut;
use postgres::config::SslMode;
use postgres::GenericClient;
use postgres_types::{FromSql, IsNull, ToSql, Type};
use std::cell::RefCell;
use std::error::Error as StdError;

/// The advisory lock every write transaction holds (any constant shared by all hubs).
pub const WRITER_LOCK: i64 = 0x5245_4e4b_4549_0001; // "RENKEI" + 1
/// The advisory lock migrations hold, so two hubs starting at once do not race.
pub const MIGRATION_LOCK: i64 = 0x5245_4e4b_4549_0002;

/// Env var with which the operator allows an unencrypted connection to a remote PostgreSQL.
pub const ALLOW_PLAINTEXT_ENV: &str = "RENKEI_DATABASE_ALLOW_PLAINTEXT";

/// True for `postgres://` and `postgresql://` URLs (what selects the PostgreSQL store).
pub fn is_postgres_url(url: &str) -> bool {
    let u = url.trim_start().to_ascii_lowercase();
    u.starts_with("postgres://") || u.starts_with("postgresql://")
}

/// Env var with a PEM file of CA certificates the hub trusts for its database's TLS certificate
/// (a private CA, a managed database's CA bundle), next to the OS's trusted roots.
pub const CA_FILE_ENV: &str = "RENKEI_DATABASE_CA_FILE";

/// Connects to `url`.
///
/// * `sslmode=require` → TLS, the certificate verified against the OS's roots (plus
///   `RENKEI_DATABASE_CA_FILE`) and the host name checked — so `require` here means what libpq
///   calls `verify-full`.
/// * Another host (not a Unix socket, not loopback) → TLS as with `require`, whatever the URL
///   says — unless `RENKEI_DATABASE_ALLOW_PLAINTEXT=1`: patient data must not cross a network
///   in clear text. `sslmode=disable` to another host without that opt-in is refused.
/// * A Unix socket or loopback without `sslmode=require` → plain (the database is on this
///   machine).
pub fn connect(url: &str) -> Result<postgres::Client> {
    let mut config: postgres::Config = url.parse().map_err(|e| {
        Error::invalid(
            "database_url",
            format!(
                "the database URL is not a valid PostgreSQL URL ({e}); use postgres://USER@HOST/DB"
            ),
        )
    })?;
    let allow_plain = std::env::var(ALLOW_PLAINTEXT_ENV).is_ok_and(|v| v == "1");
    let remote = remote_tcp_host(&config);
    let mode = config.get_ssl_mode();
    let tls = match (&remote, mode) {
        (_, SslMode::Require) => true,
        (Some(_), _) if allow_plain => false,
        (Some(host), SslMode::Disable) => {
            return Err(Error::Unauthorized(format!(
                "refusing an unencrypted connection to the database host {host} (the URL says \
                 sslmode=disable): patient data would cross the network in clear text. Remove \
                 sslmode=disable (the hub then requires TLS), or set {ALLOW_PLAINTEXT_ENV}=1 if \
                 the network is encrypted otherwise (VPN, SSH tunnel)"
            )))
        }
        (Some(_), _) => true,
        (None, _) => false,
    };
    let failed = |e: postgres::Error| {
        let hint = if tls {
            format!(
                "the connection is TLS with the certificate checked: the server must have ssl \
                 on, and its certificate must be for the host in the URL and signed by a CA this \
                 machine trusts (a private CA: {CA_FILE_ENV}=/path/to/ca.pem)"
            )
        } else {
            "check that the server is running".to_string()
        };
        Error::Conflict(format!(
            "cannot connect to the PostgreSQL store ({}). Check RENKEI_DATABASE_URL; {hint}",
            error_chain(&e)
        ))
    };
    if tls {
        config.ssl_mode(SslMode::Require);
        config.connect(tls_connector()?).map_err(failed)
    } else {
        config.connect(postgres::NoTls).map_err(failed)
    }
}

/// The error and its causes in one line (a TLS failure's reason is in the source chain).
fn error_chain(e: &dyn StdError) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// The TLS connector: the OS's roots plus `RENKEI_DATABASE_CA_FILE`, host names checked.
fn tls_connector() -> Result<postgres_native_tls::MakeTlsConnector> {
    let mut builder = native_tls::TlsConnector::builder();
    builder.min_protocol_version(Some(native_tls::Protocol::Tlsv12));
    if let Some(path) = std::env::var_os(CA_FILE_ENV).filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        let pem = std::fs::read(&path).map_err(|e| {
            Error::invalid(
                "database_ca_file",
                format!(
                    "cannot read {CA_FILE_ENV}={} ({e}); give the PEM file of the CA that signed \
                     the database server's certificate",
                    path.display()
                ),
            )
        })?;
        let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| {
            Error::invalid(
                "database_ca_file",
                format!("{} is not a PEM certificate file ({e})", path.display()),
            )
        })?;
        if certs.is_empty() {
            return Err(Error::invalid(
                "database_ca_file",
                format!("{} holds no certificate", path.display()),
            ));
        }
        for c in certs {
            builder.add_root_certificate(c);
        }
    }
    let connector = builder
        .build()
        .map_err(|e| Error::Conflict(format!("cannot set up TLS to the database: {e}")))?;
    Ok(postgres_native_tls::MakeTlsConnector::new(connector))
}

/// The first TCP host of `config` that is not loopback, if any.
fn remote_tcp_host(config: &postgres::Config) -> Option<String> {
    use postgres::config::Host;
    config.get_hosts().iter().find_map(|h| match h {
        Host::Tcp(name) => {
            let loopback = name == "localhost"
                || name
                    .trim_matches(|c| c == '[' || c == ']')
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            (!loopback).then(|| name.clone())
        }
        #[cfg(unix)]
        Host::Unix(_) => None,
    })
}

/// A PostgreSQL client or transaction as a [`Db`]. `postgres` wants `&mut` for every call; the
/// store's functions share `&dyn Db`, hence the `RefCell` (one thread uses it at a time).
pub struct Pg<C> {
    client: RefCell<C>,
}

impl<C: GenericClient> Pg<C> {
    pub fn new(client: C) -> Self {
        Pg {
            client: RefCell::new(client),
        }
    }
    pub fn into_inner(self) -> C {
        self.client.into_inner()
    }
}

fn bind(args: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn pg_execute<C: GenericClient>(c: &mut C, sql: &str, args: &[Value]) -> Result<u64> {
    let sql = to_pg_placeholders(sql);
    Ok(c.execute(sql.as_str(), &bind(args))?)
}

fn pg_query_each<C: GenericClient>(
    c: &mut C,
    sql: &str,
    args: &[Value],
    f: &mut dyn FnMut(&Row) -> Result<bool>,
) -> Result<()> {
    let sql = to_pg_placeholders(sql);
    let rows = c.query(sql.as_str(), &bind(args))?;
    for r in rows {
        let values = (0..r.len())
            .map(|i| r.try_get::<_, Value>(i))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        if !f(&Row::new(values))? {
            break;
        }
    }
    Ok(())
}

impl<C: GenericClient> Db for Pg<C> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        pg_execute(&mut *self.client.borrow_mut(), sql, args)
    }
    fn query_each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        pg_query_each(&mut *self.client.borrow_mut(), sql, args, f)
    }
    fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }
}

/// An open PostgreSQL store: one connection, migrated. Like [`super::Store`], give each thread
/// its own.
pub struct PgStore {
    /// `None` only while dropping (see [`Drop`]).
    conn: Option<Pg<postgres::Client>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

/// A blocking `postgres::Client` owns a small Tokio runtime, and a runtime must not be dropped
/// on a thread that is running async code (Tokio panics) — which is where the intake server's
/// pool of `Desk`s ends. So the client is closed on a thread of its own.
impl Drop for PgStore {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = std::thread::Builder::new()
                .name("renkei-pg-close".into())
                .spawn(move || drop(conn));
        }
    }
}

/// What a closed store answers (never seen outside `Drop`).
struct Closed;

impl Db for Closed {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn execute(&self, _: &str, _: &[Value]) -> Result<u64> {
        Err(closed())
    }
    fn query_each(
        &self,
        _: &str,
        _: &[Value],
        _: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        Err(closed())
    }
    fn execute_batch(&self, _: &str) -> Result<()> {
        Err(closed())
    }
}

fn closed() -> Error {
    Error::Conflict("the database connection is closed; open the store again".into())
}

impl PgStore {
    /// Connects to `url` (see [`connect`]) and brings the schema to the latest version.
    pub fn open(url: &str) -> Result<PgStore> {
        let mut store = PgStore::connect(url)?;
        store.migrate()?;
        Ok(store)
    }
    /// Connects without migrating (tests set a `search_path` first).
    pub fn connect(url: &str) -> Result<PgStore> {
        Ok(PgStore {
            conn: Some(Pg::new(connect(url)?)),
        })
    }
    fn client(&mut self) -> Result<&mut postgres::Client> {
        self.conn
            .as_mut()
            .map(|c| c.client.get_mut())
            .ok_or_else(closed)
    }
    /// Runs the PostgreSQL migrations (see `pg_migrations`); the version found before.
    pub fn migrate(&mut self) -> Result<i64> {
        super::pg_migrations::migrate(self.client()?)
    }
    /// The connection outside any transaction (each statement commits by itself).
    pub fn db(&self) -> &dyn Db {
        match &self.conn {
            Some(c) => c,
            None => &Closed,
        }
    }
    /// See [`write`].
    pub fn write<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        write(self.client()?, f)
    }
    /// See [`read`].
    pub fn read<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        read(self.client()?, f)
    }
}

/// Runs `f` in one write transaction: the writer lock, then `f`, then a durable commit
/// (`synchronous_commit` is the server's, `on` by default: a commit is on disk before it
/// returns).
pub fn write<T>(client: &mut postgres::Client, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])?;
    let db = Pg::new(tx);
    let out = f(&db)?;
    db.into_inner().commit()?;
    Ok(out)
}

/// Runs `f` in a read-only transaction with one snapshot (REPEATABLE READ).
pub fn read<T>(client: &mut postgres::Client, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
    let tx = client
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let db = Pg::new(tx);
    let out = f(&db)?;
    db.into_inner().commit()?;
    Ok(out)
}

// ---- Value ⇄ PostgreSQL ------------------------------------------------------------------------

type BoxError = Box<dyn StdError + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::FLOAT4 => (*i as f32).to_sql(ty, out),
                _ => i.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT4 => (*f as f32).to_sql(ty, out),
                Type::FLOAT8 => f.to_sql(ty, out),
                _ => f.to_string().as_str().to_sql(&Type::TEXT, out),
            },
            Value::Text(s) => s.as_str().to_sql(&Type::TEXT, out),
            Value::Blob(b) => b.as_slice().to_sql(&Type::BYTEA, out),
        }
    }
    fn accepts(_: &Type) -> bool {
        true
    }
    postgres_types::to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> std::result::Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i32::from_sql(ty, raw)?.into()),
            Type::INT2 => Value::Int(i16::from_sql(ty, raw)?.into()),
            Type::OID => Value::Int(u32::from_sql(ty, raw)?.into()),
            Type::BOOL => Value::Int(bool::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f32::from_sql(ty, raw)?.into()),
            Type::BYTEA => Value::Blob(<Vec<u8>>::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Value::Text(String::from_sql(&Type::TEXT, raw)?)
            }
            ref other => {
                return Err(format!(
                    "column type {other} is not one the store reads; cast it to BIGINT, \
                     DOUBLE PRECISION, TEXT or BYTEA in the query"
                )
                .into())
            }
        })
    }
    fn from_sql_null(_: &Type) -> std::result::Result<Self, BoxError> {
        Ok(Value::Null)
    }
    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn plaintext_is_refused_to_a_remote_host_only() {
        let remote: postgres::Config = "postgres://u@db.example.org/renkei".parse().unwrap();
        assert_eq!(remote_tcp_host(&remote).as_deref(), Some("db.example.org"));
        for local in [
            "postgres://u@localhost/renkei",
            "postgres://u@127.0.0.1:5433/renkei",
            "postgres://u@[::1]/renkei",
            "postgresql://u@%2Ftmp%2Fpg/renkei",
        ] {
            let c: postgres::Config = local.parse().unwrap();
            assert_eq!(remote_tcp_host(&c), None, "{local}");
        }
        assert!(is_postgres_url("postgresql://x/y"));
        assert!(!is_postgres_url("/var/lib/renkei"));
    }
}
