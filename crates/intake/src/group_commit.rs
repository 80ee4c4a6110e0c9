//! Group commit for intake (issue 24): every consultation the server takes in goes to ONE writer
//! thread, which commits whatever is waiting in one durable transaction ([`Desk::intake_batch`]).
//! Under load, requests that arrive while a commit is being fsynced share the next one, so
//! throughput grows with concurrency instead of being one fsync per row; a lone request is
//! committed at once (no waiting for company; see [`LINGER`] for the short wait when the batch
//! before was fuller). Each caller gets its answer only after the commit
//! that holds its row — a 201 is still durable.

use crate::errors::ApiError;
use renkei_core::desk::{BatchItem, Desk};
use renkei_core::model::{IntakeOutcome, NewConsultation, QueueRow};
use std::sync::mpsc;
use tokio::sync::oneshot;

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

/// The handle of the writer thread. Dropping it ends the thread and waits for it: the writer
/// finishes what is queued and closes its store connection before the drop returns. (Left to
/// run on, the thread closed its SQLCipher connection while the process was already exiting —
/// OpenSSL's exit-time cleanup racing it aborted a test process with "double free".)
pub struct GroupCommit {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl GroupCommit {
    /// Starts the writer thread with its own store connection.
    pub fn start(desk: Desk) -> std::io::Result<GroupCommit> {
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("intake-writer".into())
            .spawn(move || run(desk, rx))?;
        Ok(GroupCommit {
            tx: Some(tx),
            thread: Some(thread),
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
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() && t.join().is_err() {
                tracing::error!("the intake writer thread panicked");
            }
        }
    }
}

fn run(mut desk: Desk, rx: mpsc::Receiver<Job>) {
    // The size of the batch before: the number of callers likely to send again soon.
    let mut last = 1;
    while let Ok(first) = rx.recv() {
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
