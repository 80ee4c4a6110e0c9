//! Group commit for intake (issue 24): every consultation the server takes in goes to a writer
//! thread, which commits whatever is waiting in one durable transaction ([`Desk::intake_batch`]).
//! Under load, requests that arrive while a commit is being fsynced share the next one, so
//! throughput grows with concurrency instead of being one fsync per row; a lone request is
//! committed at once (no waiting for company; see [`LINGER`] for the short wait when the batch
//! before was fuller). Each caller gets its answer only after the commit
//! that holds its row — a 201 is still durable.
//!
//! One writer on SQLite (its commits take turns on the file's write lock anyway, and the one
//! writer is CPU-bound there). On PostgreSQL the server runs [`PG_WRITERS`]: each writer's
//! transaction still takes the store's writer lock first (the audit chain, `store/pg.rs`), so
//! writes stay one after another exactly as with several hub processes, but the next batch's
//! `BEGIN` and lock request wait at the server while the one before commits, and a writer reads
//! its batch's queue rows and answers its callers while another writes.

use crate::errors::ApiError;
use renkei_core::desk::{BatchItem, Desk};
use renkei_core::model::{IntakeOutcome, NewConsultation, QueueRow};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::oneshot;

/// Writer threads of a hub on PostgreSQL (each with its own connection). Measured (issue 24,
/// `renkei-bench --only hub --sizes 2000`, 2 rounds): one writer left the hub's CPU 42 % idle,
/// waiting on round trips and on the commit's fsync; 1 / 2 / 3 writers gave 1,146–1,322 /
/// 1,229–1,412 / 1,006–1,101 rows/s (three wait on each other's lock more than they overlap).
pub const PG_WRITERS: usize = 2;

/// The most items in one transaction (bounds the time a commit holds the write lock).
pub const MAX_BATCH: usize = 64;

/// How long the writer waits for company when the batch it has is smaller than the one before
/// (the callers of that batch are about to send their next requests). Never when the last batch
/// was a single item, so a lone request is committed at once. Measured (issue 24, 8 clients):
/// hub on PostgreSQL +5–10 % (a commit there costs round trips, so fuller batches pay), SQLite
/// within noise.
pub const LINGER: std::time::Duration = std::time::Duration::from_micros(300);

type Answer = Result<(IntakeOutcome, QueueRow), ApiError>;

struct Job {
    item: BatchItem,
    reply: oneshot::Sender<Answer>,
}

/// The handle of the writer threads. Dropping it ends the threads and waits for them: the
/// writers finish what is queued and close their store connections before the drop returns.
/// (Left to run on, a thread closed its SQLCipher connection while the process was already
/// exiting — OpenSSL's exit-time cleanup racing it aborted a test process with "double free".)
pub struct GroupCommit {
    tx: Option<mpsc::Sender<Job>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts one writer thread per desk (each its own store connection), all taking from one
    /// queue: a writer gathers a batch while holding the queue, then lets the next one gather
    /// while it commits.
    pub fn start(desks: Vec<Desk>) -> std::io::Result<GroupCommit> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let mut threads = Vec::with_capacity(desks.len());
        for (n, desk) in desks.into_iter().enumerate() {
            let rx = rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("intake-writer-{n}"))
                    .spawn(move || run(desk, &rx))?,
            );
        }
        Ok(GroupCommit {
            tx: Some(tx),
            threads,
        })
    }

    /// Takes in one consultation; answers after the commit that holds it. The checks and the
    /// text triage run here, on the caller's thread ([`BatchItem::new`]), so the one writer
    /// only does what needs the store.
    pub async fn intake(&self, n: NewConsultation, idem: Option<(String, String)>) -> Answer {
        let (reply, answer) = oneshot::channel();
        let item = BatchItem::new(n, idem);
        self.tx
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job { item, reply })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> ApiError {
    ApiError::internal("the intake writer stopped: restart renkei serve")
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        // Closing the channel ends the writer's loop once the queue is empty.
        drop(self.tx.take());
        for t in self.threads.drain(..) {
            if t.thread().id() != std::thread::current().id() && t.join().is_err() {
                tracing::error!("an intake writer thread panicked");
            }
        }
    }
}

/// The next batch from the queue: blocks for its first job, then takes what is waiting (and
/// lingers for company when `last` was fuller). `None` once the queue is closed and empty.
fn gather(rx: &mpsc::Receiver<Job>, last: usize) -> Option<Vec<Job>> {
    let first = rx.recv().ok()?;
    let mut jobs = vec![first];
    let until = std::time::Instant::now() + LINGER;
    loop {
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let now = std::time::Instant::now();
        if jobs.len() >= last.min(MAX_BATCH) || now >= until {
            break;
        }
        match rx.recv_timeout(until - now) {
            Ok(j) => jobs.push(j),
            Err(_) => break,
        }
    }
    Some(jobs)
}

fn run(mut desk: Desk, rx: &Mutex<mpsc::Receiver<Job>>) {
    // The size of the batch before: the number of callers likely to send again soon.
    let mut last = 1;
    loop {
        // The queue is held only while gathering (a writer that panicked while holding it had
        // taken no job yet: the queue itself is intact).
        let jobs = {
            let rx = rx.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            gather(&rx, last)
        };
        let Some(jobs) = jobs else { break };
        last = jobs.len();
        let (items, replies): (Vec<BatchItem>, Vec<_>) =
            jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
        let answers = desk.intake_batch(items);
        tracing::debug!(items = answers.len(), "intake group commit");
        // The queue rows of the whole batch in one query (a round trip per row on PostgreSQL).
        let ids: Vec<i64> = answers.iter().flatten().map(|out| out.id).collect();
        let mut rows = match desk.queue_rows(&ids) {
            Ok(rows) => rows.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(_) => ids.iter().map(|id| desk.queue_row(*id)).collect(),
        }
        .into_iter();
        for (answer, reply) in answers.into_iter().zip(replies) {
            let answer = answer
                .and_then(|out| {
                    let row = rows.next().unwrap_or_else(|| desk.queue_row(out.id));
                    row.map(|row| (out, row))
                })
                .map_err(ApiError::from);
            // A caller that went away (client hung up) still has its row stored.
            let _ = reply.send(answer);
        }
    }
}
