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
//!
//! Round trips (issue 24): a write transaction sends `BEGIN`, the lock and a read of the audit
//! chain's last row with its first query (for an intake, the one that takes its ids); the
//! INSERTs whose answer nobody needs ([`Db::execute_later`], with ids taken ahead by
//! [`Db::reserve_id`], for the transaction only and under the lock, so ids follow commit order)
//! wait and go with the next statement that needs an answer or with the `COMMIT`, as
//! `EXECUTE`s of statements prepared once per connection. A group commit of eight intakes is
//! two round trips plus the queue rows' query, where it was ~9 per row.

use super::sql::{to_pg_placeholders, Backend, Db, Row, Value};
use crate::error::{Error, Result};
use bytes::BytesMut;
use postgres::config::SslMode;
use postgres::GenericClient;
use postgres_types::{FromSql, IsNull, ToSql, Type};
use std::cell::RefCell;
use std::collections::HashMap;
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

/// The most statements one connection keeps prepared (see [`StmtCache`]).
pub const STMT_CACHE_CAPACITY: usize = 256;

/// The prepared statements of one connection, by their SQL (after [`to_pg_placeholders`]).
///
/// Why: a statement given as text costs TWO round trips to the server — Parse/Describe, then
/// Bind/Execute — and an intake runs ~15 statements per row on the hub's one writer. A statement
/// prepared once per connection and reused costs one (Bind/Execute). Prepared statements belong
/// to the connection (the session, not a transaction: a rollback does not drop them), so
/// [`PgStore`] keeps the cache and lends it to each of its transactions.
///
/// Bounded: at [`STMT_CACHE_CAPACITY`] statements the cache is cleared (the store's SQL is a
/// fixed set, far smaller; only generated SQL would fill it). Cleared too after a
/// [`Db::execute_batch`] other than a savepoint command (DDL or `SET search_path` there would
/// leave statements planned for the old schema), after migrations, and when a cached statement
/// fails as stale — `cached plan must not change result type` (SQLSTATE 0A000) or `prepared
/// statement … does not exist` (26000) after another process changed the schema: outside a
/// transaction that statement is then prepared again and run once more; inside one the error
/// has aborted the transaction, so it ends with a [`Error::Conflict`] saying to try again (the
/// next transaction prepares afresh).
#[derive(Default)]
pub struct StmtCache {
    stmts: std::collections::HashMap<String, postgres::Statement>,
}

impl StmtCache {
    fn get(&self, sql: &str) -> Option<postgres::Statement> {
        self.stmts.get(sql).cloned()
    }
    fn insert(&mut self, sql: String, stmt: postgres::Statement) {
        if self.stmts.len() >= STMT_CACHE_CAPACITY {
            self.stmts.clear();
        }
        self.stmts.insert(sql, stmt);
    }
    fn clear(&mut self) {
        self.stmts.clear();
    }
    /// How many statements are prepared (tests).
    pub fn len(&self) -> usize {
        self.stmts.len()
    }
    pub fn is_empty(&self) -> bool {
        self.stmts.is_empty()
    }
}

/// A PostgreSQL client or transaction as a [`Db`]. `postgres` wants `&mut` for every call; the
/// store's functions share `&dyn Db`, hence the `RefCell` (one thread uses it at a time).
pub struct Pg<C> {
    /// Before `client`: the statements are closed before the connection is.
    cache: Option<RefCell<StmtCache>>,
    client: RefCell<C>,
    /// True when `client` is inside a transaction (a failed statement aborted it: no retry).
    in_tx: bool,
    /// The write transaction of a [`PgStore`] in progress on this connection, if any.
    write: RefCell<Option<WriteTx>>,
    /// The server-side statements ([`LaterNames`]) of [`Db::execute_later`].
    later_names: RefCell<LaterNames>,
}

/// The statements [`Db::execute_later`] sends, prepared once per connection with SQL `PREPARE`
/// and run as `EXECUTE name(values)`: a simple query of many INSERTs is then neither parsed nor
/// planned statement by statement (that was most of the writer's time on the server). Named
/// `renkei_later_{generation}_{n}`; after a failed transaction the names start afresh under a
/// new generation (a `PREPARE` in a batch that failed before reaching it never ran).
#[derive(Default)]
struct LaterNames {
    generation: u32,
    names: HashMap<String, String>,
}

/// What a [`PgStore`] write transaction keeps between its statements (issue 24: the hub's one
/// writer ran ~15 statements per intake one after another, a round trip each).
#[derive(Default)]
struct WriteTx {
    /// `BEGIN` and the writer lock have been sent. They go with the transaction's first round
    /// trip ([`begin_sql`]): when that is the ids' query ([`Db::reserve_id`], the first thing an
    /// intake asks) BEGIN, the lock, the audit tail and the ids are one round trip instead of two.
    begun: bool,
    /// Statements nobody needs an answer from ([`Db::execute_later`]), values written in as
    /// literals, sent with the next statement that needs an answer, a savepoint command or the
    /// COMMIT: one round trip for all.
    later: Vec<String>,
    /// The audit chain's last row as this transaction has it ([`Db::audit_tail`]): read with the
    /// writer lock, moved on by each append; `None` after a rollback to a savepoint.
    audit_tail: Option<Option<(i64, String)>>,
    /// An audit row was appended: the connected desks' streams are woken at the commit.
    appended: bool,
    /// Ids taken from each table's identity sequence for this transaction ([`Db::reserve_id`]),
    /// the next last. Taken with the writer lock held and never kept past the transaction, so
    /// a row's id is above every id committed before it, whichever connection wrote those —
    /// the change feed (`feed::ChangeFeed`: "everything above the last id seen") relies on it.
    /// (Session 8 kept blocks of 32 per connection across transactions: a second connection's
    /// row committed later could carry a smaller id than one a feed had already passed.)
    ids: HashMap<String, Vec<i64>>,
    /// How many ids each table is expected to need ([`Db::expect_rows`]), not yet taken.
    expected: HashMap<String, usize>,
}

impl<C: GenericClient> Pg<C> {
    /// Without a statement cache: every statement is prepared for its one run (migrations).
    pub fn new(client: C) -> Self {
        Pg {
            cache: None,
            client: RefCell::new(client),
            in_tx: true,
            write: RefCell::new(None),
            later_names: RefCell::new(LaterNames::default()),
        }
    }
    /// With a statement cache (see [`StmtCache`]), outside any transaction.
    fn cached(client: C) -> Self {
        Pg {
            cache: Some(RefCell::new(StmtCache::default())),
            in_tx: false,
            ..Pg::new(client)
        }
    }
    pub fn into_inner(self) -> C {
        self.client.into_inner()
    }
    fn clear_cache(&self) {
        if let Some(c) = &self.cache {
            c.borrow_mut().clear();
        }
    }

    /// Sends the statements waiting in this write transaction and then `then`, in one round
    /// trip (nothing when both are empty).
    fn flush(&self, then: &str) -> Result<()> {
        self.begin_if_pending()?;
        let mut sql = String::new();
        if let Some(w) = self.write.borrow_mut().as_mut() {
            for stmt in w.later.drain(..) {
                sql.push_str(&stmt);
                sql.push_str(";\n");
            }
        }
        sql.push_str(then);
        if sql.trim().is_empty() {
            return Ok(());
        }
        let sent = self.client.borrow_mut().batch_execute(&sql);
        if sent.is_err() {
            self.forget_later_names();
        }
        Ok(sent?)
    }

    /// Starts the names of [`LaterNames`] afresh (a batch with a `PREPARE` in it failed).
    fn forget_later_names(&self) {
        let mut n = self.later_names.borrow_mut();
        n.generation += 1;
        n.names.clear();
    }

    /// Runs `op` with the prepared statement of `sql` (`?N` placeholders): the cached one, or
    /// prepared now (and cached), after the statements waiting in a write transaction. A cached
    /// statement that fails as stale clears the cache; see [`StmtCache`] for the retry.
    fn run<T>(
        &self,
        sql: &str,
        op: impl Fn(&mut C, &postgres::Statement) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        if self
            .write
            .borrow()
            .as_ref()
            .is_some_and(|w| !w.begun || !w.later.is_empty())
        {
            self.flush("")?;
        }
        self.run_now(sql, op)
    }

    /// Sends `BEGIN`, the writer lock and the audit tail's read when this write transaction has
    /// not sent them yet (one round trip; nothing otherwise).
    fn begin_if_pending(&self) -> Result<()> {
        if self.write.borrow().as_ref().is_none_or(|w| w.begun) {
            return Ok(());
        }
        let messages = self.client.borrow_mut().simple_query(&begin_sql())?;
        self.begun(parse_begin(&messages)?.0);
        Ok(())
    }

    /// Records that `BEGIN` and the writer lock were sent, with the audit tail read under it.
    fn begun(&self, tail: Option<(i64, String)>) {
        if let Some(w) = self.write.borrow_mut().as_mut() {
            w.begun = true;
            w.audit_tail = Some(tail);
        }
    }

    /// [`Pg::run`] without sending the waiting statements first.
    fn run_now<T>(
        &self,
        sql: &str,
        op: impl Fn(&mut C, &postgres::Statement) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let sql = to_pg_placeholders(sql);
        let mut guard = self.client.borrow_mut();
        let client = &mut *guard;
        let Some(cache) = &self.cache else {
            let stmt = client.prepare(&sql)?;
            return Ok(op(client, &stmt)?);
        };
        let hit = cache.borrow().get(&sql);
        let stmt = match hit {
            Some(stmt) => match op(client, &stmt) {
                Err(e) if is_stale(&e) => {
                    cache.borrow_mut().clear();
                    if self.in_tx {
                        return Err(Error::Conflict(format!(
                            "a prepared statement failed ({}) — another process probably changed \
                             the database schema (a newer hub migrated it). Nothing was changed; \
                             the statements are prepared afresh from now on: try again",
                            error_chain(&e)
                        )));
                    }
                    tracing::info!(
                        "a prepared statement went stale ({}); preparing it again",
                        error_chain(&e)
                    );
                    client.prepare(&sql)?
                }
                done => return Ok(done?),
            },
            None => client.prepare(&sql)?,
        };
        let out = op(client, &stmt)?;
        cache.borrow_mut().insert(sql, stmt);
        Ok(out)
    }
}

/// `EXECUTE name(values)` with `args` written as SQL literals — what [`Db::execute_later`]
/// sends in a simple query. Numbers and text as quoted literals (PostgreSQL gives an untyped
/// literal the parameter's type, as a bound value gets it), text escaped by `postgres_protocol`'s
/// `escape_literal` (the `E''` form when it holds a backslash, so it reads the same whatever
/// `standard_conforming_strings` says), bytes as hex.
pub fn execute_statement(name: &str, args: &[Value]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(name.len() + 10 + args.len() * 16);
    out.push_str("EXECUTE ");
    out.push_str(name);
    for (i, v) in args.iter().enumerate() {
        out.push_str(if i == 0 { "(" } else { ", " });
        match v {
            Value::Null => out.push_str("NULL"),
            Value::Int(i) => {
                let _ = write!(out, "'{i}'");
            }
            Value::Real(f) => {
                let _ = write!(out, "'{f:?}'");
            }
            Value::Text(t) => out.push_str(&postgres_protocol::escape::escape_literal(t)),
            Value::Blob(b) => {
                out.push_str("E'\\\\x");
                out.push_str(&hex::encode(b));
                out.push('\'');
            }
        }
    }
    if !args.is_empty() {
        out.push(')');
    }
    out
}

/// True for the errors of a prepared statement that the schema changed under (see
/// [`StmtCache`]). By SQLSTATE: the message may be translated (`lc_messages`).
fn is_stale(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code().is_some_and(|c| {
        *c == SqlState::FEATURE_NOT_SUPPORTED || *c == SqlState::INVALID_SQL_STATEMENT_NAME
    })
}

/// True for the savepoint commands (the intake's per-item savepoints): they change no schema, so
/// [`Db::execute_batch`] keeps the statement cache for them.
fn is_savepoint_command(sql: &str) -> bool {
    let s = sql.trim_start().to_ascii_uppercase();
    s.starts_with("SAVEPOINT ") || s.starts_with("RELEASE ") || s.starts_with("ROLLBACK TO ")
}

fn bind(args: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

impl<C: GenericClient> Db for Pg<C> {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }
    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let params = bind(args);
        self.run(sql, |c, stmt| c.execute(stmt, &params))
    }
    fn query_each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        let params = bind(args);
        let rows = self.run(sql, |c, stmt| c.query(stmt, &params))?;
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
    fn execute_batch(&self, sql: &str) -> Result<()> {
        if !is_savepoint_command(sql) {
            self.clear_cache();
        }
        if sql
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("ROLLBACK")
        {
            // What waits belongs to what is rolled back; the audit tail is read again. A
            // `PREPARE` among it never reaches the server: its statement is prepared anew.
            let dropped_prepare = match self.write.borrow_mut().as_mut() {
                Some(w) => {
                    w.audit_tail = None;
                    w.later.drain(..).any(|s| s.starts_with("PREPARE "))
                }
                None => false,
            };
            if dropped_prepare {
                self.forget_later_names();
            }
        }
        self.flush(sql)
    }
    fn execute_later(&self, sql: &str, args: &[Value]) -> Result<()> {
        if let Some(w) = self.write.borrow_mut().as_mut() {
            let mut n = self.later_names.borrow_mut();
            let fresh = n.names.len();
            let generation = n.generation;
            let name = match n.names.get(sql) {
                Some(name) => name.clone(),
                None => {
                    let name = format!("renkei_later_{generation}_{fresh}");
                    w.later
                        .push(format!("PREPARE {name} AS {}", to_pg_placeholders(sql)));
                    n.names.insert(sql.to_string(), name.clone());
                    name
                }
            };
            w.later.push(execute_statement(&name, args));
            return Ok(());
        }
        self.execute(sql, args).map(|_| ())
    }
    fn reserve_id(&self, table: &str) -> Result<Option<i64>> {
        // What to take: this table (as many as expected, at least one) and every other table
        // expected, all in one round trip.
        let want: Vec<(String, usize)> = {
            let mut w = self.write.borrow_mut();
            let Some(w) = w.as_mut() else {
                return Ok(None);
            };
            if let Some(id) = w.ids.get_mut(table).and_then(Vec::pop) {
                return Ok(Some(id));
            }
            let mine = w.expected.remove(table).unwrap_or(1).max(1);
            let mut want = vec![(table.to_string(), mine)];
            want.extend(w.expected.drain().filter(|(_, n)| *n > 0));
            want
        };
        // A sequence is outside the transaction: nothing waiting needs to go first. Table names
        // and counts as literals in a simple query, so that the transaction's BEGIN and writer
        // lock, when not sent yet, go in the same round trip (ids are still taken under the lock).
        let mut sql = String::new();
        let begin = self.write.borrow().as_ref().is_some_and(|w| !w.begun);
        if begin {
            sql.push_str(&begin_sql());
        }
        for (i, (t, n)) in want.iter().enumerate() {
            let t = postgres_protocol::escape::escape_literal(t);
            if i > 0 {
                sql.push_str(" UNION ALL ");
            }
            sql.push_str(&format!(
                "SELECT 'id', {t}, nextval(pg_get_serial_sequence({t}, 'id')) \
                 FROM generate_series(1, {n})"
            ));
        }
        let messages = self.client.borrow_mut().simple_query(&sql)?;
        let (tail, taken) = parse_begin(&messages)?;
        if begin {
            self.begun(tail);
        }
        let mut w = self.write.borrow_mut();
        let Some(w) = w.as_mut() else {
            return Ok(None);
        };
        for (t, mut block) in taken {
            // Used lowest first: `pop` takes from the end.
            block.sort_unstable_by(|a, b| b.cmp(a));
            w.ids.entry(t).or_default().extend(block);
        }
        Ok(w.ids.get_mut(table).and_then(Vec::pop))
    }
    fn expect_rows(&self, table: &str, rows: usize) {
        if let Some(w) = self.write.borrow_mut().as_mut() {
            *w.expected.entry(table.to_string()).or_default() += rows;
        }
    }
    fn audit_tail(&self) -> Option<Option<(i64, String)>> {
        // Not begun: begin now (the tail comes with it). Should that fail, "unknown" makes the
        // caller read the tail itself, and that read reports the error.
        self.begin_if_pending().ok()?;
        self.write
            .borrow()
            .as_ref()
            .and_then(|w| w.audit_tail.clone())
    }
    fn appended_audit(&self, tail: (i64, String)) -> bool {
        match self.write.borrow_mut().as_mut() {
            Some(w) => {
                w.audit_tail = Some(Some(tail));
                w.appended = true;
                true
            }
            None => false,
        }
    }
}

/// An open PostgreSQL store: one connection, migrated, with its prepared statements
/// ([`StmtCache`]). Like [`super::Store`], give each thread its own.
pub struct PgStore {
    /// `None` only while dropping (see [`Drop`]).
    conn: Option<Box<Pg<postgres::Client>>>,
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
    ///
    /// With `plan_cache_mode = force_custom_plan`: the cached statements save the round trip,
    /// but each run is still planned for its values, as before the cache. A generic plan (what
    /// PostgreSQL switches a prepared statement to after 5 runs) cannot see how selective a
    /// search pattern is: `text ILIKE '%インフルエンザ%'` went from 3.5 to 13 ms p95 on 10,000
    /// consultations with it.
    pub fn connect(url: &str) -> Result<PgStore> {
        let mut client = connect(url)?;
        client.batch_execute("SET plan_cache_mode = force_custom_plan")?;
        Ok(PgStore {
            conn: Some(Box::new(Pg::cached(client))),
        })
    }
    fn conn(&mut self) -> Result<&mut Pg<postgres::Client>> {
        self.conn.as_deref_mut().ok_or_else(closed)
    }
    /// Runs the PostgreSQL migrations (see `pg_migrations`); the version found before. Clears
    /// the statement cache (the schema changes).
    pub fn migrate(&mut self) -> Result<i64> {
        let conn = self.conn()?;
        conn.clear_cache();
        super::pg_migrations::migrate(conn.client.get_mut())
    }
    /// The connection outside any transaction (each statement commits by itself).
    pub fn db(&self) -> &dyn Db {
        match &self.conn {
            Some(c) => &**c,
            None => &Closed,
        }
    }
    /// Runs `f` in one write transaction: the writer lock, then `f`, then a durable commit
    /// (`synchronous_commit` is the server's, `on` by default: a commit is on disk before it
    /// returns).
    pub fn write<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        self.in_transaction(true, f)
    }
    /// Runs `f` in a read-only transaction with one snapshot (REPEATABLE READ).
    pub fn read<T>(&mut self, f: impl FnOnce(&dyn Db) -> Result<T>) -> Result<T> {
        self.in_transaction(false, f)
    }
    /// [`PgStore::write`] / [`PgStore::read`]: `f` in one transaction on this connection.
    ///
    /// A write transaction costs at most one round trip besides what `f` asks: `BEGIN`, the
    /// writer lock and the audit chain's last row go with `f`'s first round trip (an intake's is
    /// the ids' query: [`Db::reserve_id`]) or alone before any other statement; the statements
    /// `f` left waiting ([`Db::execute_later`]), the wake-up of connected desks (`pg_notify`,
    /// when the audit moved) and `COMMIT` in the last. A write that sent nothing and left
    /// nothing waiting costs nothing. When `f` fails (or panics) the transaction is rolled back
    /// and the ids taken ahead are dropped.
    fn in_transaction<T>(
        &mut self,
        write: bool,
        f: impl FnOnce(&dyn Db) -> Result<T>,
    ) -> Result<T> {
        let conn = self.conn()?;
        let mut tx = TxGuard {
            pg: conn,
            done: false,
        };
        tx.pg.in_tx = true;
        if write {
            // BEGIN and the lock wait for the transaction's first round trip.
            *tx.pg.write.get_mut() = Some(WriteTx::default());
        } else {
            tx.pg
                .client
                .get_mut()
                .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        }
        let out = f(&*tx.pg)?;
        if tx
            .pg
            .write
            .get_mut()
            .as_ref()
            .is_some_and(|w| !w.begun && w.later.is_empty())
        {
            // Nothing was sent, nothing waits: there is no transaction to commit.
            tx.done = true;
            return Ok(out);
        }
        let notify = tx.pg.write.get_mut().as_ref().is_some_and(|w| w.appended);
        let commit = if notify {
            format!(
                "SELECT pg_notify('{}', ''); COMMIT",
                super::changes::PG_CHANNEL
            )
        } else {
            "COMMIT".to_string()
        };
        tx.pg.flush(&commit)?;
        tx.done = true;
        Ok(out)
    }
    /// How many statements this connection has prepared (tests).
    pub fn prepared_statements(&self) -> usize {
        self.conn
            .as_ref()
            .and_then(|c| c.cache.as_ref())
            .map_or(0, |c| c.borrow().len())
    }
}

/// `BEGIN`, the writer lock ([`WRITER_LOCK`]) and the audit chain's last `(id, hash)` (read
/// with the lock held, so it stays the last until this transaction appends): the start of a
/// write transaction's first round trip, read back by [`parse_begin`].
///
/// Inside a write transaction `plan_cache_mode` is PostgreSQL's default (`auto`, `SET LOCAL`:
/// back to `force_custom_plan` at its end): what a writer runs — INSERTs, look-ups by key, the
/// `EXECUTE`s of [`Db::execute_later`] — has one plan whatever the values, so planning it anew
/// each time (the connection's setting, chosen for search patterns) was pure cost on the one
/// backend every write waits for. Measured (issue 24): hub HTTP intake 1,053–1,312 →
/// 1,440–1,542 rows/s, interleaved.
fn begin_sql() -> String {
    format!(
        "BEGIN; SET LOCAL plan_cache_mode = auto; SELECT pg_advisory_xact_lock({WRITER_LOCK}); \
         SELECT 'tail', id, hash FROM audit ORDER BY id DESC LIMIT 1;\n"
    )
}

/// The audit chain's last row ([`begin_sql`]: `'tail', id, hash`) and the ids taken by
/// [`Db::reserve_id`] (`'id', table, id`) in the answers of one simple query; other rows (the
/// lock's) are skipped.
#[allow(clippy::type_complexity)]
fn parse_begin(
    messages: &[postgres::SimpleQueryMessage],
) -> Result<(Option<(i64, String)>, HashMap<String, Vec<i64>>)> {
    let number = |what: &str, v: Option<&str>| -> Result<i64> {
        let v = v.unwrap_or_default();
        v.parse::<i64>()
            .map_err(|e| Error::Integrity(format!("store: {what} {v:?} is not a number ({e})")))
    };
    let mut tail = None;
    let mut ids: HashMap<String, Vec<i64>> = HashMap::new();
    for m in messages {
        let postgres::SimpleQueryMessage::Row(r) = m else {
            continue;
        };
        if r.len() != 3 {
            continue;
        }
        match r.get(0) {
            Some("tail") => {
                if let (id, Some(hash)) = (r.get(1), r.get(2)) {
                    tail = Some((number("audit id", id)?, hash.to_string()));
                }
            }
            Some("id") => {
                let table = r.get(1).unwrap_or_default().to_string();
                let id = number("id", r.get(2))?;
                ids.entry(table).or_default().push(id);
            }
            _ => {}
        }
    }
    Ok((tail, ids))
}

/// A transaction of [`PgStore::in_transaction`]: rolled back when dropped before its commit
/// (`f` failed or panicked), so the connection is never left inside it.
struct TxGuard<'a> {
    pg: &'a mut Pg<postgres::Client>,
    done: bool,
}

impl Drop for TxGuard<'_> {
    fn drop(&mut self) {
        self.pg.in_tx = false;
        // A write transaction that never sent its BEGIN has nothing to roll back.
        let begun = self.pg.write.get_mut().take().is_none_or(|w| w.begun);
        if !self.done {
            // A `PREPARE` left waiting never reached the server: its names start afresh.
            self.pg.forget_later_names();
            if begun {
                if let Err(e) = self.pg.client.get_mut().batch_execute("ROLLBACK") {
                    tracing::debug!("rollback after a failed transaction: {e}");
                }
            }
        }
    }
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
    fn values_are_written_in_as_literals() {
        let sql = execute_statement(
            "renkei_later_0_3",
            &[
                Value::Int(-7),
                Value::Text("O'Brien \\ 退院".into()),
                Value::Null,
                Value::Blob(vec![0xde, 0xad]),
                Value::Real(1.5),
                Value::Text("'); DROP TABLE audit; --".into()),
            ],
        );
        assert_eq!(
            sql,
            "EXECUTE renkei_later_0_3('-7',  E'O''Brien \\\\ 退院', NULL, E'\\\\xdead', '1.5', \
             '''); DROP TABLE audit; --')"
        );
        assert_eq!(execute_statement("n", &[]), "EXECUTE n");
    }

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
