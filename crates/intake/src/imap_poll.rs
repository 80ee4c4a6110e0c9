//! The IMAP poller: the clinic's dedicated mailbox → consultations (channel `email`, MCS
//! notices `mcs`), one mail at a time through `Desk::import_mail`.
//!
//! A session: connect + `LOGIN` ([`crate::imap_conn`]), make sure the done and error folders
//! exist (created if missing, IMAP modified UTF-7 names), `SELECT` the mailbox, then rounds:
//!
//! 1. `UID FETCH last+1:* (UID RFC822.SIZE)` lists what is new (after the store cursor);
//! 2. each new mail, in UID order: over 25 MiB → moved to the error folder unread; else
//!    `UID FETCH uid BODY.PEEK[]` → parse + import in one store transaction → **after the
//!    commit** `UID MOVE` to the done folder (a refused mail — not a mail at all — goes to the
//!    error folder, with a warning naming the UID and the reason, never its text);
//! 3. the cursor (`UIDVALIDITY:last UID`, `Desk::set_poll_cursor`) moves on every 50 mails and
//!    at the end of the round.
//!
//! A round that took in anything is followed by another at once (mail that arrived meanwhile
//! was announced during that round, not in a later IDLE); after an empty round the session
//! waits in `IDLE` when the server offers it (restarted every `idle_refresh`), else sleeps
//! `poll_interval`. Any error ends the session; the next one
//! starts after an exponential backoff, logged as one status line (`imap: … retrying in N s`).
//!
//! Restart safety: nothing is moved out of the mailbox before its commit, so a crash (or a
//! SIGKILL) before the commit leaves the mail where it was and the next session fetches it
//! again; a crash after the commit but before the cursor moved fetches it again too, and the
//! `Message-ID` key answers the existing consultation (nothing new) before it is moved. Mail
//! still in the mailbox at or below the cursor (committed, then the move failed) is moved
//! without being fetched. A changed `UIDVALIDITY` resets the cursor to 0: every mail still in
//! the mailbox is read again and deduplicated by `Message-ID`.
//!
//! Memory: one mail (≤ 25 MiB) is held at a time, whatever the number waiting.

use crate::errors::ApiError;
use crate::imap_account::{encode_mailbox_name, ImapConfig};
use crate::imap_conn::{self, timed, Caps, ImapError, Session};
use crate::state::IntakeState;
use crate::IntakeNotice;
use futures_util::TryStreamExt as _;
use renkei_core::error::ErrorCode;
use renkei_core::mail::MAX_MAIL_BYTES;
use std::time::Duration;
use tokio::sync::watch;

/// The audit actor of mail taken in by the poller.
pub const ACTOR: &str = "imap";
/// The cursor is written after this many mails (and at the end of each round).
const CURSOR_EVERY: u32 = 50;

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Mails fetched and given to the store.
    pub fetched: u32,
    pub created: u32,
    /// MCS notices that joined an open item.
    pub joined: u32,
    /// Mails already in the store (same `Message-ID`).
    pub duplicates: u32,
    /// Mails moved to the error folder.
    pub refused: u32,
}

/// A session's folders and position.
struct Ctx<'a> {
    state: &'a IntakeState,
    cfg: &'a ImapConfig,
    caps: Caps,
    done: String,
    error: String,
    validity: u32,
    /// Last UID taken (committed or refused and moved).
    last: u32,
    /// Last UID written to the store.
    saved: u32,
}

/// Reads the cursor: the last UID taken for this `UIDVALIDITY` (0 after a change).
async fn load_cursor(
    state: &IntakeState,
    cfg: &ImapConfig,
    validity: u32,
) -> Result<(u32, bool), ImapError> {
    let key = cfg.cursor_key();
    let stored = state
        .with_desk(move |d| Ok(d.poll_cursor(&key)?))
        .await
        .map_err(store_err)?;
    let Some(stored) = stored else {
        return Ok((0, false));
    };
    let parsed = stored
        .split_once(':')
        .and_then(|(v, u)| Some((v.parse::<u32>().ok()?, u.parse::<u32>().ok()?)));
    match parsed {
        Some((v, uid)) if v == validity => Ok((uid, false)),
        Some((v, _)) => {
            tracing::warn!(
                old = v,
                new = validity,
                "imap: the mailbox's UIDVALIDITY changed; reading every mail still in it again (Message-ID keeps out duplicates)"
            );
            Ok((0, true))
        }
        None => Ok((0, true)),
    }
}

fn store_err(e: ApiError) -> ImapError {
    ImapError::Store(format!("{}: {}", e.code, e.message))
}

impl Ctx<'_> {
    async fn save_cursor(&mut self) -> Result<(), ImapError> {
        if self.saved == self.last {
            return Ok(());
        }
        let key = self.cfg.cursor_key();
        let value = format!("{}:{}", self.validity, self.last);
        self.state
            .with_desk(move |d| Ok(d.set_poll_cursor(&key, &value, ACTOR)?))
            .await
            .map_err(store_err)?;
        self.saved = self.last;
        Ok(())
    }

    /// Moves mail at or below the cursor that is still in the mailbox (committed, not moved).
    async fn move_leftovers(&mut self, session: &mut Session) -> Result<(), ImapError> {
        if self.last == 0 {
            return Ok(());
        }
        let limit = self.cfg.command_timeout;
        let query = format!("UID 1:{}", self.last);
        let uids = timed(limit, "UID SEARCH", session.uid_search(&query)).await?;
        let mut uids: Vec<u32> = uids.into_iter().filter(|u| *u <= self.last).collect();
        if uids.is_empty() {
            return Ok(());
        }
        uids.sort_unstable();
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        imap_conn::move_uids(session, self.caps, &set, &self.done, limit).await?;
        tracing::info!(
            count = uids.len(),
            "imap: moved mail taken in before to the done folder"
        );
        Ok(())
    }

    /// One round: every mail after the cursor, in UID order.
    async fn round(&mut self, session: &mut Session) -> Result<RoundReport, ImapError> {
        let limit = self.cfg.command_timeout;
        let mut report = RoundReport::default();
        let range = format!("{}:*", self.last.saturating_add(1));
        let mut new: Vec<(u32, u32)> = timed(limit, "UID FETCH", async {
            session
                .uid_fetch(&range, "(UID RFC822.SIZE)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?
        .into_iter()
        .filter_map(|f| Some((f.uid?, f.size.unwrap_or(0))))
        // `n:*` names the last message even when its UID is below n.
        .filter(|(uid, _)| *uid > self.last)
        .collect();
        new.sort_unstable();
        new.dedup();
        for (uid, size) in new {
            if size as usize > MAX_MAIL_BYTES {
                let why = format!(
                    "{:.1} MiB, over the 25 MiB limit",
                    size as f64 / 1_048_576.0
                );
                self.refuse(session, uid, &why).await?;
                report.refused += 1;
            } else {
                self.take(session, uid, &mut report).await?;
            }
            self.last = uid;
            if (report.fetched + report.refused) % CURSOR_EVERY == 0 {
                self.save_cursor().await?;
            }
        }
        self.save_cursor().await?;
        Ok(report)
    }

    async fn refuse(
        &mut self,
        session: &mut Session,
        uid: u32,
        why: &str,
    ) -> Result<(), ImapError> {
        let limit = self.cfg.command_timeout;
        imap_conn::move_uids(session, self.caps, &uid.to_string(), &self.error, limit).await?;
        tracing::warn!(
            uid,
            reason = %why,
            folder = %self.cfg.error_folder,
            "imap: a mail was not taken in and was moved to the error folder; open it in the mail program"
        );
        Ok(())
    }

    /// Fetches one mail, takes it in, and moves it after the commit.
    async fn take(
        &mut self,
        session: &mut Session,
        uid: u32,
        report: &mut RoundReport,
    ) -> Result<(), ImapError> {
        let limit = self.cfg.command_timeout;
        let started = std::time::Instant::now();
        let fetched: Vec<_> = timed(limit, "UID FETCH", async {
            session
                .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
                .await?
                .try_collect()
                .await
        })
        .await?;
        let Some(raw) = fetched
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec)
        else {
            // Gone meanwhile (another client moved or deleted it).
            return Ok(());
        };
        drop(fetched);
        let fetch_ms = started.elapsed().as_millis() as u64;
        report.fetched += 1;
        let opts = self.cfg.mail.clone();
        let taken = self
            .state
            .with_desk(move |d| {
                Ok(match d.import_mail(&raw, &opts, ACTOR) {
                    Ok(o) => {
                        let row = d.queue_row(o.id)?;
                        Ok((o, row))
                    }
                    Err(e) => Err(e),
                })
            })
            .await
            .map_err(store_err)?;
        let store_ms = started.elapsed().as_millis() as u64 - fetch_ms;
        match taken {
            Ok((o, row)) => {
                // Committed: now the mail may leave the mailbox.
                imap_conn::move_uids(session, self.caps, &uid.to_string(), &self.done, limit)
                    .await?;
                if o.created {
                    report.created += 1;
                } else if o.joined {
                    report.joined += 1;
                } else {
                    report.duplicates += 1;
                }
                tracing::info!(
                    uid,
                    id = o.id,
                    created = o.created,
                    joined = o.joined,
                    channel = %o.channel,
                    attachments = o.attachments.len(),
                    refused_attachments = o.refused.len(),
                    fetch_ms,
                    store_ms,
                    "imap: taken in"
                );
                if o.created || o.joined {
                    self.state
                        .notify(IntakeNotice::from_row(&row, o.created, o.joined));
                }
                Ok(())
            }
            Err(e)
                if matches!(
                    e.code(),
                    ErrorCode::InvalidInput | ErrorCode::TooLarge | ErrorCode::UnsupportedMediaType
                ) =>
            {
                self.refuse(session, uid, &e.to_string()).await?;
                report.refused += 1;
                Ok(())
            }
            Err(e) => Err(ImapError::Store(e.to_string())),
        }
    }
}

/// How a session ended without an error.
enum Ended {
    Stopped,
}

/// One session: connect, prepare, rounds until `stop` or an error.
async fn session(
    state: &IntakeState,
    cfg: &ImapConfig,
    stop: &mut watch::Receiver<bool>,
    failures: &mut u32,
) -> Result<Ended, ImapError> {
    let limit = cfg.command_timeout;
    let (mut session, caps) = imap_conn::connect(cfg).await?;
    let delim = imap_conn::delimiter(&mut session, limit).await?;
    let done =
        imap_conn::ensure_folder(&mut session, &cfg.done_folder, delim.as_deref(), limit).await?;
    let error =
        imap_conn::ensure_folder(&mut session, &cfg.error_folder, delim.as_deref(), limit).await?;
    let mailbox = timed(
        limit,
        "SELECT",
        session.select(encode_mailbox_name(&cfg.mailbox)),
    )
    .await?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    let (last, rewrite) = load_cursor(state, cfg, validity).await?;
    let mut ctx = Ctx {
        state,
        cfg,
        caps,
        done,
        error,
        validity,
        last,
        // A cursor of another UIDVALIDITY is rewritten at the end of the first round.
        saved: if rewrite { u32::MAX } else { last },
    };
    tracing::info!(
        mailbox = %cfg.display_url(),
        idle = caps.idle,
        waiting = mailbox.exists,
        "imap: connected"
    );
    ctx.move_leftovers(&mut session).await?;
    loop {
        let r = ctx.round(&mut session).await?;
        *failures = 0;
        if r != RoundReport::default() {
            tracing::info!(
                fetched = r.fetched,
                created = r.created,
                joined = r.joined,
                duplicates = r.duplicates,
                refused = r.refused,
                "imap: round done"
            );
        }
        if *stop.borrow() {
            let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
            return Ok(Ended::Stopped);
        }
        // Responses the server sent on its own (EXISTS, EXPUNGE of our moves) are not needed:
        // the rounds ask with UID FETCH. Dropped here so they never pile up.
        while session.unsolicited_responses.try_recv().is_ok() {}
        // Mail that arrived during a busy round was announced then, not in the coming IDLE:
        // only an empty round may wait (the server reports what arrives after it).
        if r.fetched + r.refused > 0 {
            continue;
        }
        if caps.idle {
            let mut idle = session.idle();
            tokio::time::timeout(limit, idle.init())
                .await
                .map_err(|_| ImapError::Timeout(limit))?
                .map_err(|e| ImapError::from_imap("IDLE", e))?;
            let stopped = {
                let (wait, _interrupt) = idle.wait_with_timeout(cfg.idle_refresh);
                tokio::select! {
                    r = wait => { r.map_err(|e| ImapError::from_imap("IDLE", e))?; false }
                    _ = stop.changed() => true,
                }
            };
            session = timed(limit, "DONE", idle.done()).await?;
            if stopped {
                let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
                return Ok(Ended::Stopped);
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(cfg.poll_interval) => {}
                _ = stop.changed() => {
                    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
                    return Ok(Ended::Stopped);
                }
            }
        }
    }
}

/// The wait before the next session after `failures` consecutive failures.
pub fn backoff(cfg: &ImapConfig, failures: u32) -> Duration {
    cfg.backoff_base
        .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(16)))
        .min(cfg.backoff_max)
}

/// Polls the mailbox until `stop` turns true; reconnects with backoff after errors.
pub async fn run(state: IntakeState, cfg: ImapConfig, mut stop: watch::Receiver<bool>) {
    tracing::info!(mailbox = %cfg.display_url(), "imap poller started");
    let mut failures: u32 = 0;
    loop {
        if *stop.borrow() {
            break;
        }
        match session(&state, &cfg, &mut stop, &mut failures).await {
            Ok(Ended::Stopped) => break,
            Err(e) => {
                failures = failures.saturating_add(1);
                let wait = backoff(&cfg, failures);
                tracing::warn!(
                    "imap: {e}; retrying in {} s (failure {failures} in a row)",
                    wait.as_secs()
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
    tracing::info!("imap poller stopped");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max() {
        let mut c = ImapConfig::parse("imap://u@127.0.0.1/INBOX", "pw").unwrap();
        c.backoff_base = Duration::from_secs(2);
        c.backoff_max = Duration::from_secs(60);
        let secs: Vec<u64> = (1..=7).map(|f| backoff(&c, f).as_secs()).collect();
        assert_eq!(secs, [2, 4, 8, 16, 32, 60, 60]);
    }
}
