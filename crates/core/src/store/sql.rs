//! The store's one SQL layer: every store function talks to a [`Db`], which is either SQLite
//! (a `rusqlite::Connection` or `Transaction`) or PostgreSQL ([`super::pg::Pg`]). SQL is written
//! once, in the portable subset both engines share, with SQLite's `?N` placeholders; the
//! PostgreSQL side rewrites them to `$N` ([`to_pg_placeholders`]). Where the dialects truly differ
//! (search, pragmas, migrations) a store function asks [`Db::backend`] and has one branch per
//! engine — the only per-backend code in the store.
//!
//! How to write a store function (docs/architecture.md, "Writing a store function"):
//!
//! ```ignore
//! pub fn find(db: &dyn Db, channel: &str, ext: &str) -> Result<Option<i64>> {
//!     db.query_opt(
//!         "SELECT consultation_id FROM intake_keys WHERE channel = ?1 AND external_id = ?2",
//!         args![channel, ext],
//!         |r| r.get(0),
//!     )
//! }
//! pub fn insert(db: &dyn Db, body: &str) -> Result<i64> {
//!     db.insert_id("INSERT INTO messages (body) VALUES (?1) RETURNING id", args![body])
//! }
//! ```
//!
//! Values cross the boundary as the owned [`Value`] (`Null | Int | Real | Text | Blob`), so the
//! same row-mapping closure reads both engines. Integer columns are `BIGINT` on PostgreSQL and
//! timestamps are RFC 3339 UTC text in both (text order = time order, see [`super::ts`]).

use crate::error::{Error, Result};
use chrono::{DateTime, Utc};

fn parse_ts_text(i: usize, s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|e| {
            Error::Integrity(format!(
                "store: column {i} is not a timestamp ({e}); run `renkei check`"
            ))
        })
}

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One owned SQL value: what a parameter is bound as and what a column is read as.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(v.into())
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(v.into())
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl From<&[u8]> for Value {
    fn from(v: &[u8]) -> Self {
        Value::Blob(v.to_vec())
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Blob(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
impl<T: Clone + Into<Value>> From<&Option<T>> for Value {
    fn from(v: &Option<T>) -> Self {
        v.clone().map_or(Value::Null, Into::into)
    }
}

/// The arguments of one statement: `args![a, b, c]` → `&[Value]`.
#[macro_export]
macro_rules! args {
    () => { &[] as &[$crate::store::sql::Value] };
    ($($v:expr),+ $(,)?) => { &[$($crate::store::sql::Value::from($v)),+] as &[$crate::store::sql::Value] };
}
pub use crate::args;

/// Reads a column value into a Rust type.
pub trait FromValue: Sized {
    fn from_value(v: &Value) -> std::result::Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {}", kind(other))),
        }
    }
}
impl FromValue for u32 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        u32::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}
impl FromValue for u64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        u64::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}
impl FromValue for usize {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        usize::try_from(i64::from_value(v)?).map_err(|e| e.to_string())
    }
}
impl FromValue for bool {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {}", kind(other))),
        }
    }
}
impl FromValue for String {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {}", kind(other))),
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(s) => Ok(s.as_bytes().to_vec()),
            other => Err(format!("expected bytes, found {}", kind(other))),
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Int(_) => "an integer",
        Value::Real(_) => "a real number",
        Value::Text(_) => "text",
        Value::Blob(_) => "bytes",
    }
}

/// One result row, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    pub fn new(values: Vec<Value>) -> Row {
        Row { values }
    }
    /// Column `i` (0-based) as `T`; a missing column or a wrong type is an integrity error.
    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self
            .values
            .get(i)
            .ok_or_else(|| Error::Integrity(format!("store: the query has no column {i}")))?;
        T::from_value(v).map_err(|e| {
            Error::Integrity(format!(
                "store: column {i} is unreadable ({e}); run `renkei check`"
            ))
        })
    }
    /// Column `i` as a stored RFC 3339 timestamp.
    pub fn ts(&self, i: usize) -> Result<DateTime<Utc>> {
        let s: String = self.get(i)?;
        parse_ts_text(i, &s)
    }
    /// Column `i` as an optional stored timestamp.
    pub fn opt_ts(&self, i: usize) -> Result<Option<DateTime<Utc>>> {
        let s: Option<String> = self.get(i)?;
        s.map(|s| parse_ts_text(i, &s)).transpose()
    }
    /// Column `i` as a code (category, urgency, status…).
    pub fn code<T: std::str::FromStr>(&self, i: usize) -> Result<T>
    where
        T::Err: std::fmt::Display,
    {
        let s: String = self.get(i)?;
        s.parse::<T>().map_err(|e| {
            Error::Integrity(format!(
                "store: column {i} holds an unknown code ({e}); run `renkei check`"
            ))
        })
    }
    pub fn len(&self) -> usize {
        self.values.len()
    }
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// A connection or transaction of either engine. Store functions take `&dyn Db`.
pub trait Db {
    fn backend(&self) -> Backend;
    /// Runs one statement; the number of rows it changed.
    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64>;
    /// Runs one query and hands its rows to `f` in order until `f` answers `false` (the rest
    /// are not read: a search stops at its limit).
    fn query_each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()>;
    /// Runs several statements without arguments (schema, pragmas).
    fn execute_batch(&self, sql: &str) -> Result<()>;
    /// Runs a statement whose answer the caller does not need (an INSERT of a row whose id it
    /// already has). On PostgreSQL inside a [`super::pg::PgStore`] write transaction it is sent
    /// with the next statement that needs an answer, a savepoint command or the COMMIT — many
    /// in one round trip; an error then surfaces there and ends the transaction as any failed
    /// statement does. Every later statement of the transaction sees its effect. Elsewhere: at
    /// once, like [`Db::execute`].
    fn execute_later(&self, sql: &str, args: &[Value]) -> Result<()> {
        self.execute(sql, args).map(|_| ())
    }
    /// An id for a new row of `table` taken ahead of its INSERT (PostgreSQL write transactions:
    /// from the table's identity sequence, for this transaction only, so ids still follow
    /// commit order), so the INSERT can be [`Db::execute_later`]. `None` where the engine
    /// assigns the id at the insert (SQLite); the caller then inserts with `RETURNING id`.
    fn reserve_id(&self, _table: &str) -> Result<Option<i64>> {
        Ok(None)
    }
    /// A hint: this transaction is about to insert up to `rows` rows into `table`, each with an
    /// id from [`Db::reserve_id`]. PostgreSQL then takes them all (and those of the other
    /// tables hinted) in the round trip of the first `reserve_id`; ids left unused are gaps,
    /// as a rolled-back insert leaves. Elsewhere nothing.
    fn expect_rows(&self, _table: &str, _rows: usize) {}
    /// The audit chain's last `(id, hash)` as this transaction has it, when known without a
    /// query (PostgreSQL write transactions read it with the writer lock); `Some(None)` for an
    /// empty chain, `None` when not known.
    fn audit_tail(&self) -> Option<Option<(i64, String)>> {
        None
    }
    /// Tells the transaction that `tail` was appended to the audit chain. True when the
    /// transaction also wakes the connected desks' event streams at its commit (PostgreSQL
    /// write transactions); false: the caller does what is needed.
    fn appended_audit(&self, _tail: (i64, String)) -> bool {
        false
    }
    /// Runs one query; all its rows.
    fn query(&self, sql: &str, args: &[Value]) -> Result<Vec<Row>> {
        let mut out = Vec::new();
        self.query_each(sql, args, &mut |r| {
            out.push(r.clone());
            Ok(true)
        })?;
        Ok(out)
    }
}

impl dyn Db + '_ {
    /// The first row mapped by `f`, or `None` when there is none.
    pub fn query_opt<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        let mut first = None;
        self.query_each(sql, args, &mut |r| {
            first = Some(r.clone());
            Ok(false)
        })?;
        first.as_ref().map(f).transpose()
    }
    /// The first row mapped by `f`; no row is an integrity error (use for aggregates).
    pub fn query_one<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<T> {
        self.query_opt(sql, args, f)?.ok_or_else(|| {
            Error::Integrity("store: a query that always answers gave no row".into())
        })
    }
    /// Every row mapped by `f`.
    pub fn query_map<T>(
        &self,
        sql: &str,
        args: &[Value],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.query(sql, args)?.iter().map(f).collect()
    }
    /// Runs an `INSERT … RETURNING id` and answers the id.
    pub fn insert_id(&self, sql: &str, args: &[Value]) -> Result<i64> {
        self.query_one(sql, args, |r| r.get(0))
    }
}

// ---- SQLite ----------------------------------------------------------------------------------

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

impl From<rusqlite::types::ValueRef<'_>> for Value {
    fn from(v: rusqlite::types::ValueRef<'_>) -> Self {
        use rusqlite::types::ValueRef;
        match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Int(i),
            ValueRef::Real(f) => Value::Real(f),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Blob(b.to_vec()),
        }
    }
}

impl Db for rusqlite::Connection {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        let mut st = self.prepare_cached(sql)?;
        Ok(st.execute(rusqlite::params_from_iter(args))? as u64)
    }
    fn query_each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        let mut st = self.prepare_cached(sql)?;
        let n = st.column_count();
        let mut rows = st.query(rusqlite::params_from_iter(args))?;
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for i in 0..n {
                values.push(Value::from(r.get_ref(i)?));
            }
            if !f(&Row { values })? {
                break;
            }
        }
        Ok(())
    }
    fn execute_batch(&self, sql: &str) -> Result<()> {
        Ok(rusqlite::Connection::execute_batch(self, sql)?)
    }
}

impl Db for rusqlite::Transaction<'_> {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }
    fn execute(&self, sql: &str, args: &[Value]) -> Result<u64> {
        Db::execute(&**self, sql, args)
    }
    fn query_each(
        &self,
        sql: &str,
        args: &[Value],
        f: &mut dyn FnMut(&Row) -> Result<bool>,
    ) -> Result<()> {
        Db::query_each(&**self, sql, args, f)
    }
    fn execute_batch(&self, sql: &str) -> Result<()> {
        Db::execute_batch(&**self, sql)
    }
}

/// `?N` (and bare `?`) placeholders → PostgreSQL's `$N`, leaving quoted text, identifiers and
/// comments alone. Bare `?`s are numbered after the highest `?N` seen so far, as SQLite numbers
/// them.
pub fn to_pg_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut quote: Option<char> = None;
    let mut highest = 0u32;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                out.push(c);
            }
            // A comment is copied as it is: a `?` in it is no placeholder.
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                out.push(c);
                out.extend(chars.next());
                let mut prev = ' ';
                for c in chars.by_ref() {
                    out.push(c);
                    if prev == '*' && c == '/' {
                        break;
                    }
                    prev = c;
                }
            }
            '?' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                let n = match digits.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => highest + 1,
                };
                highest = highest.max(n);
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_quotes_only() {
        assert_eq!(
            to_pg_placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND \"d?\" = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND \"d?\" = $12"
        );
        assert_eq!(
            to_pg_placeholders("VALUES (?, ?, ?5, ?)"),
            "VALUES ($1, $2, $5, $6)"
        );
        assert_eq!(
            to_pg_placeholders("x = 'it''s ?' OR y = ?1"),
            "x = 'it''s ?' OR y = $1"
        );
        assert_eq!(
            to_pg_placeholders("a = ?1 -- ?2\nAND b = ?2 /* ?3 */ /*/ ?4 */ - ?3"),
            "a = $1 -- ?2\nAND b = $2 /* ?3 */ /*/ ?4 */ - $3"
        );
    }

    #[test]
    fn sqlite_round_trips_every_value_kind() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let db: &dyn Db = &conn;
        db.execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)",
        )
        .unwrap();
        let id = db
            .insert_id(
                "INSERT INTO t (i, r, s, b) VALUES (?1, ?2, ?3, ?4) RETURNING id",
                args![-7i64, 1.5f64, "日本語", vec![0u8, 255]],
            )
            .unwrap();
        assert_eq!(id, 1);
        let row = db
            .query_one(
                "SELECT i, r, s, b, NULL FROM t WHERE id = ?1",
                args![id],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<f64>(1)?,
                        r.get::<String>(2)?,
                        r.get::<Vec<u8>>(3)?,
                        r.get::<Option<String>>(4)?,
                    ))
                },
            )
            .unwrap();
        assert_eq!(row, (-7, 1.5, "日本語".to_string(), vec![0, 255], None));
        assert!(db
            .query_opt("SELECT i FROM t WHERE id = ?1", args![99i64], |r| r
                .get::<i64>(0))
            .unwrap()
            .is_none());
        let e = db
            .query_one("SELECT s FROM t", args![], |r| r.get::<i64>(0))
            .unwrap_err();
        assert!(e.to_string().contains("column 0"), "{e}");
    }
}
