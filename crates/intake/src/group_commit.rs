//! Group commit for intake (issue 24): every consultation the server takes in goes to ONE writer
//! thread, which commits whatever is waiting in one durable transaction ([`Desk::intake_batch`]).
//! Under load, requests that arrive while a commit is being fsynced share the next one, so
//! throughput grows with concurrency instead of being one fsync per row; a lone request is
//! committed at once (no waiting for company). Each caller gets its answer only after the commit
//! that holds its row — a 201 is still durable.

use crate::errors::ApiError;
use renkei_core::desk::{BatchItem, Desk};
use renkei_core::model::{IntakeOutcome, NewConsultation, QueueRow};
use std::sync::mpsc;
use tokio::sync::oneshot;

/// The most items in one transaction (bounds the time a commit holds the write lock).
pub const MAX_BATCH: usize = 64;

type Answer = Result<(IntakeOutcome, QueueRow), ApiError>;

struct Job {
    item: BatchItem,
    reply: oneshot::Sender<Answer>,
}

/// The handle of the writer thread. The thread ends when the last handle is dropped.
pub struct GroupCommit {
    tx: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the writer thread with its own store connection.
    pub fn start(desk: Desk) -> std::io::Result<GroupCommit> {
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("intake-writer".into())
            .spawn(move || run(desk, rx))?;
        Ok(GroupCommit { tx })
    }

    /// Takes in one consultation; answers after the commit that holds it. The checks and the
    /// text triage run here, on the caller's thread ([`BatchItem::new`]), so the one writer
    /// only does what needs the store.
    pub async fn intake(&self, n: NewConsultation, idem: Option<(String, String)>) -> Answer {
        let (reply, answer) = oneshot::channel();
        let item = BatchItem::new(n, idem);
        self.tx
            .send(Job { item, reply })
            .map_err(|_| ApiError::internal("the intake writer stopped: restart renkei serve"))?;
        answer
            .await
            .map_err(|_| ApiError::internal("the intake writer stopped: restart renkei serve"))?
    }
}

fn run(mut desk: Desk, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (items, replies): (Vec<BatchItem>, Vec<_>) =
            jobs.into_iter().map(|j| (j.item, j.reply)).unzip();
        let answers = desk.intake_batch(items);
        tracing::debug!(items = answers.len(), "intake group commit");
        for (answer, reply) in answers.into_iter().zip(replies) {
            let answer = answer
                .and_then(|out| desk.queue_row(out.id).map(|row| (out, row)))
                .map_err(ApiError::from);
            // A caller that went away (client hung up) still has its row stored.
            let _ = reply.send(answer);
        }
    }
}
