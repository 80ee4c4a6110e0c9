//! The store's conformance suite: the same store functions, the same assertions, on every
//! backend (`common/backends.rs`: SQLite always, PostgreSQL under `scripts/with-postgres.sh` /
//! `make unit-pg`). What must hold on both: upserts, idempotent intake keys (a second insert of
//! the same key is refused by the unique constraint), hashed API keys, the audit chain (append,
//! verify, tamper refused by the engine, concurrent writers stay one chain), attachments linked
//! once, search that finds 1–2 character Japanese words.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{TimeZone, Utc};
use common::backends::{backends, pg_url, TestStore};
use renkei_core::args;
use renkei_core::codes::{Channel, PartnerKind};
use renkei_core::model::MessageKind;
use renkei_core::store::intake_keys::IntakeKey;
use renkei_core::store::partners::NewPartner;
use renkei_core::store::sql::{Db, Value};
use renkei_core::store::{
    attachments, audit, intake_keys, messages, notifications, partners, search, settings,
};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()
}

/// A consultation row written with portable SQL (consultations.rs is not on the layer yet).
fn consultation(db: &dyn Db, subject: &str) -> i64 {
    db.insert_id(
        "INSERT INTO consultations (channel, category, urgency, subject, received_at,
             last_activity_at, last_inbound_at)
         VALUES ('manual', 'other', 'normal', ?1, ?2, ?2, ?2) RETURNING id",
        args![subject, "2026-12-01T01:00:00.000Z"],
    )
    .unwrap()
}

#[test]
fn settings_and_cursors_upsert() {
    for mut s in backends("settings") {
        let name = s.name();
        s.write(|db| {
            settings::put(db, "k", &vec![1, 2], now())?;
            settings::put(db, "k", &vec![3], now())?;
            settings::set_cursor(db, "chatwork:1", "100", now())?;
            settings::set_cursor(db, "chatwork:1", "101", now())
        })
        .unwrap();
        let (v, c, none) = s
            .read(|db| {
                Ok((
                    settings::get::<Vec<i32>>(db, "k")?,
                    settings::cursor(db, "chatwork:1")?,
                    settings::get::<String>(db, "missing")?,
                ))
            })
            .unwrap();
        assert_eq!(v, Some(vec![3]), "{name}");
        assert_eq!(c.as_deref(), Some("101"), "{name}");
        assert_eq!(none, None, "{name}");
    }
}

#[test]
fn partners_keep_only_a_hash_of_the_api_key() {
    for mut s in backends("partners") {
        let name = s.name();
        let (id, key) = s
            .write(|db| {
                let id = partners::insert(
                    db,
                    &NewPartner {
                        name: "架空総合病院 地域連携室".into(),
                        kind: Some(PartnerKind::Hospital),
                        channels: vec![Channel::PartnerApi],
                        ..Default::default()
                    },
                    now(),
                )?;
                Ok((id, partners::issue_api_key(db, id, now())?))
            })
            .unwrap();
        let dup = s.write(|db| {
            partners::insert(
                db,
                &NewPartner {
                    name: "架空総合病院 地域連携室".into(),
                    ..Default::default()
                },
                now(),
            )
        });
        assert_eq!(dup.unwrap_err().code().as_str(), "conflict", "{name}");
        s.read(|db| {
            let p = partners::by_api_key(db, &key)?.expect("found by key");
            assert_eq!(
                (p.id, p.kind, p.has_api_key),
                (id, PartnerKind::Hospital, true)
            );
            assert_eq!(p.channels, vec![Channel::PartnerApi]);
            assert!(partners::by_api_key(db, "rk_wrong")?.is_none());
            let raw: i64 = db.query_one(
                "SELECT count(*) FROM partners WHERE api_key_hash = ?1",
                args![key.as_str()],
                |r| r.get(0),
            )?;
            assert_eq!(raw, 0, "{name}: the key itself is never stored");
            Ok(())
        })
        .unwrap();
        s.write(|db| {
            partners::link_handle(db, id, Channel::Email, "@kakuu-hosp.example")?;
            partners::revoke_api_key(db, id)
        })
        .unwrap();
        s.read(|db| {
            assert!(partners::by_api_key(db, &key)?.is_none(), "{name}: revoked");
            assert_eq!(
                partners::find_by_email(db, "Sato@Kakuu-Hosp.example")?,
                Some(id)
            );
            Ok(())
        })
        .unwrap();
        let (a, b) = s
            .write(|db| {
                Ok((
                    partners::ensure_handle(db, Channel::Lineworks, "ch-9", "北区包括", now())?,
                    partners::ensure_handle(db, Channel::Lineworks, "ch-9", "別名", now())?,
                ))
            })
            .unwrap();
        assert_eq!(a, b, "{name}: one partner per handle");
    }
}

#[test]
fn intake_keys_are_unique_and_found_again() {
    for mut s in backends("intake_keys") {
        let name = s.name();
        let k = IntakeKey {
            channel: Channel::PartnerApi,
            partner_key: "1",
            external_id: "REF-1",
        };
        let c = s
            .write(|db| {
                let c = consultation(db, "件名");
                let m = messages::insert(db, c, MessageKind::Inbound, "佐藤", "本文", now())?;
                intake_keys::register(db, &k, c, Some(m), Some("h1"), now())?;
                Ok(c)
            })
            .unwrap();
        let again = s.write(|db| intake_keys::register(db, &k, c, None, None, now()));
        assert!(
            again.is_err(),
            "{name}: a second row for one key is refused"
        );
        s.read(|db| {
            assert_eq!(intake_keys::find(db, &k)?, Some((c, Some("h1".into()))));
            assert_eq!(intake_keys::consultation_of(db, &k)?, Some(c));
            let other = IntakeKey {
                partner_key: "2",
                ..k
            };
            assert_eq!(
                intake_keys::find(db, &other)?,
                None,
                "{name}: scoped per partner"
            );
            let t = messages::thread(db, c)?;
            assert_eq!(t.len(), 1);
            assert_eq!(
                (t[0].kind, t[0].body.as_str()),
                (MessageKind::Inbound, "本文")
            );
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn notifications_are_listed_newest_first() {
    for mut s in backends("notifications") {
        s.write(|db| {
            for i in 0..3 {
                notifications::insert(
                    db,
                    now(),
                    &[format!("{i}")],
                    "urgent",
                    "至急",
                    "1件",
                    "urgent_arrival",
                )?;
            }
            Ok(())
        })
        .unwrap();
        let got = s.read(|db| notifications::recent(db, 2)).unwrap();
        assert_eq!(got.len(), 2, "{}", s.name());
        assert_eq!(got[0].ids, vec!["2".to_string()]);
        assert!(got[0].id > got[1].id);
        assert_eq!(got[0].at, now());
    }
}

#[test]
fn audit_chain_verifies_and_the_engine_refuses_tampering() {
    for mut s in backends("audit") {
        let name = s.name();
        s.write(|db| {
            audit::append(db, now(), "田村", "consultation.create", Some("c:1"), "")?;
            audit::append(
                db,
                now(),
                "田村",
                "consultation.ack",
                Some("c:1"),
                "new → ack",
            )?;
            audit::append(db, now(), "system", "backup", None, "")
        })
        .unwrap();
        assert_eq!(s.read(audit::verify).unwrap(), 3, "{name}");
        let only = s
            .read(|db| {
                audit::list(
                    db,
                    &audit::AuditFilter {
                        action: Some("consultation.ack".into()),
                        ..Default::default()
                    },
                )
            })
            .unwrap();
        assert_eq!(only.len(), 1, "{name}");
        assert_eq!(only[0].detail, "new → ack");
        let all = s.read(|db| audit::list(db, &Default::default())).unwrap();
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![3, 2, 1]);
        for tamper in [
            "UPDATE audit SET actor = 'x' WHERE id = 2",
            "DELETE FROM audit WHERE id = 2",
        ] {
            let e = s.write(|db| db.execute(tamper, args![]));
            assert!(e.is_err(), "{name}: {tamper} must be refused");
        }
        assert_eq!(s.read(audit::verify).unwrap(), 3, "{name}");
    }
}

/// Writers on separate connections (threads, or hub processes on PostgreSQL) append to one
/// chain: the writer lock orders them. Without it, two transactions read the same last row and
/// the second insert fails or forks the chain.
#[test]
fn concurrent_writers_keep_one_audit_chain() {
    for s in backends("audit_concurrent") {
        let name = s.name();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let mut mine = s.reopen();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        mine.write(|db| {
                            audit::append(db, now(), &format!("w{t}"), "test", None, &i.to_string())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let mut s = s;
        assert_eq!(s.read(audit::verify).unwrap(), 100, "{name}");
    }
}

#[test]
fn attachments_link_once_per_consultation() {
    for mut s in backends("attachments") {
        let name = s.name();
        let (c, first, second) = s
            .write(|db| {
                let c = consultation(db, "紹介状");
                let a =
                    attachments::link(db, c, "ab12", "紹介状.pdf", "application/pdf", 10, now())?;
                let b =
                    attachments::link(db, c, "ab12", "紹介状.pdf", "application/pdf", 10, now())?;
                Ok((c, a, b))
            })
            .unwrap();
        assert!(first.1 && !second.1 && first.0 == second.0, "{name}");
        s.read(|db| {
            let l = attachments::list(db, c)?;
            assert_eq!(
                (l.len(), l[0].size, l[0].name.as_str()),
                (1, 10, "紹介状.pdf")
            );
            assert_eq!(attachments::get(db, first.0)?.map(|(cid, _)| cid), Some(c));
            assert_eq!(attachments::consultation_with_blob(db, "ab12")?, Some(c));
            assert_eq!(attachments::all_blobs(db)?, vec!["ab12".to_string()]);
            Ok(())
        })
        .unwrap();
    }
}

#[test]
fn search_finds_one_two_and_many_character_words() {
    for mut s in backends("search") {
        let name = s.name();
        let ids = s
            .write(|db| {
                let texts = [
                    "退院調整のご相談です",
                    "発熱が続いています。SpO2 93%",
                    "インフルエンザ予防接種の件",
                    "退院前カンファレンスの日程",
                ];
                let mut ids = Vec::new();
                for t in texts {
                    let c = consultation(db, t);
                    search::index(db, c, t)?;
                    ids.push(c);
                }
                Ok(ids)
            })
            .unwrap();
        let q = |s: &mut TestStore, w: &str| s.read(|db| search::search(db, w, 100)).unwrap();
        assert_eq!(
            q(&mut s, "退院"),
            vec![ids[3], ids[0]],
            "{name}: 2 characters"
        );
        assert_eq!(q(&mut s, "熱"), vec![ids[1]], "{name}: 1 character");
        assert_eq!(q(&mut s, "インフルエンザ"), vec![ids[2]], "{name}: trigram");
        assert_eq!(q(&mut s, "spo2"), vec![ids[1]], "{name}: case-insensitive");
        assert_eq!(q(&mut s, "93%"), vec![ids[1]], "{name}: punctuation (LIKE)");
        assert_eq!(q(&mut s, "退院 日程"), vec![ids[3]], "{name}: every term");
        assert!(q(&mut s, "入院").is_empty(), "{name}");
        // At most `limit` consultations, those with the newest matching text.
        let newest = s.read(|db| search::search(db, "退院", 1)).unwrap();
        assert_eq!(newest, vec![ids[3]], "{name}: limit keeps the newest");
    }
}

/// The limit counts consultations, not texts: one consultation with many newer matching texts
/// (more than one page of them on PostgreSQL) does not hide an older one.
#[test]
fn search_limit_counts_consultations_across_pages() {
    for mut s in backends("search_pages") {
        let name = s.name();
        let (older, busy) = s
            .write(|db| {
                let older = consultation(db, "古い相談");
                search::index(db, older, "発熱のご相談")?;
                let busy = consultation(db, "続報の多い相談");
                for i in 0..150 {
                    search::index(db, busy, &format!("発熱 続報{i}"))?;
                }
                Ok((older, busy))
            })
            .unwrap();
        let got = s.read(|db| search::search(db, "発熱", 2)).unwrap();
        assert_eq!(got, vec![busy, older], "{name}");
        let got = s.read(|db| search::search(db, "発熱", 1)).unwrap();
        assert_eq!(got, vec![busy], "{name}");
    }
}

/// On SQLite new texts wait in a pending list and are folded into the full-text indexes every
/// `search::FOLD_AT` texts: a search answers the same whether a text waits or was folded (the
/// expected answers are a plain substring scan of the texts).
#[test]
fn search_answers_the_same_for_pending_and_folded_texts() {
    let words = [
        "発熱",
        "退院調整",
        "SpO2 93%",
        "インフルエンザ",
        "訪問診療",
        "熱",
    ];
    let text = |i: usize| format!("相談{i}: {}と{}", words[i % 6], words[(i / 6) % 6]);
    let queries = [
        "発熱",
        "熱",
        "退院",
        "調整",
        "spo2",
        "93%",
        "インフルエンザ",
        "訪問 熱",
        "相談7",
    ];
    let expected = |upto: usize, ids: &[i64], q: &str, limit: usize| -> Vec<i64> {
        let mut out: Vec<i64> = (0..upto)
            .rev()
            .filter(|&i| {
                let t = text(i).to_lowercase();
                q.split_whitespace().all(|w| t.contains(&w.to_lowercase()))
            })
            .map(|i| ids[i])
            .collect();
        out.truncate(limit);
        out
    };
    let fold = search::FOLD_AT as usize;
    for mut s in backends("search_fold") {
        let name = s.name();
        let mut ids = Vec::new();
        // First all pending, then across one fold, then a few more waiting after it.
        for upto in [fold - 1, fold + 5] {
            let from = ids.len();
            let more = s
                .write(|db| {
                    (from..upto)
                        .map(|i| {
                            let c = consultation(db, "相談");
                            search::index(db, c, &text(i))?;
                            Ok(c)
                        })
                        .collect::<renkei_core::error::Result<Vec<i64>>>()
                })
                .unwrap();
            ids.extend(more);
            if name == "sqlite" {
                let waiting: i64 = s
                    .read(|db| {
                        db.query_one("SELECT count(*) FROM search_pending", args![], |r| r.get(0))
                    })
                    .unwrap();
                assert_eq!(
                    waiting as usize,
                    upto % fold,
                    "{name}: texts waiting after {upto}"
                );
            }
            for q in queries {
                for limit in [3, 1000] {
                    let got = s.read(|db| search::search(db, q, limit)).unwrap();
                    // The limit applies per term; with several terms the intersection may be
                    // shorter, so only the full answer is compared for them.
                    if limit < 1000 && q.contains(' ') {
                        continue;
                    }
                    assert_eq!(
                        got,
                        expected(upto, &ids, q, limit),
                        "{name}: {q} (limit {limit}) after {upto}"
                    );
                }
            }
        }
    }
}

/// A write transaction's statements that wait to be sent (PostgreSQL: `Db::execute_later`, ids
/// taken ahead) behave as if run at once: later statements see them, a failed one stores nothing
/// of the transaction, a rollback to a savepoint drops what waited inside it, and the audit
/// chain stays whole across all of it.
#[test]
fn statements_sent_later_behave_as_if_run_at_once() {
    for mut s in backends("later") {
        let name = s.name();
        // Seen by the next statement of the same transaction.
        let (c, m) = s
            .write(|db| {
                let c = consultation(db, "相談");
                let m = messages::insert(
                    db,
                    c,
                    MessageKind::Inbound,
                    "訪問看護ステーション",
                    "本文",
                    now(),
                )?;
                audit::append(
                    db,
                    now(),
                    "test",
                    "message.inbound",
                    Some("consultation:1"),
                    "x",
                )?;
                let seen: i64 = db.query_one(
                    "SELECT count(*) FROM messages WHERE id = ?1 AND consultation_id = ?2",
                    args![m, c],
                    |r| r.get(0),
                )?;
                assert_eq!(
                    seen, 1,
                    "{name}: the message is there for the next statement"
                );
                Ok((c, m))
            })
            .unwrap();
        // A failing statement (a message of a consultation that does not exist) fails the
        // whole transaction — nothing of it is stored, whenever the failure is reported.
        let before: i64 = s
            .read(|db| db.query_one("SELECT count(*) FROM messages", args![], |r| r.get(0)))
            .unwrap();
        let failed = s.write(|db| {
            messages::insert(db, c, MessageKind::Note, "大野", "残らないはず", now())?;
            audit::append(db, now(), "test", "note", None, "x")?;
            messages::insert(
                db,
                999_999,
                MessageKind::Note,
                "大野",
                "存在しない相談",
                now(),
            )?;
            Ok(())
        });
        assert!(
            failed.is_err(),
            "{name}: the foreign key refuses the message"
        );
        let after: i64 = s
            .read(|db| db.query_one("SELECT count(*) FROM messages", args![], |r| r.get(0)))
            .unwrap();
        assert_eq!(
            after, before,
            "{name}: nothing of the failed transaction is stored"
        );
        // A rollback to a savepoint drops what waited inside it; the chain goes on from the
        // last row that stayed.
        s.write(|db| {
            audit::append(db, now(), "test", "kept.1", None, "x")?;
            db.execute_batch("SAVEPOINT item")?;
            messages::insert(db, c, MessageKind::Note, "大野", "取り消し", now())?;
            audit::append(db, now(), "test", "dropped", None, "x")?;
            db.execute_batch("ROLLBACK TO item; RELEASE item")?;
            audit::append(db, now(), "test", "kept.2", None, "x")?;
            Ok(())
        })
        .unwrap();
        let (rows, actions, msgs) = s
            .read(|db| {
                let actions: Vec<String> =
                    db.query_map("SELECT action FROM audit ORDER BY id", args![], |r| {
                        r.get(0)
                    })?;
                let msgs: i64 =
                    db.query_one("SELECT count(*) FROM messages", args![], |r| r.get(0))?;
                Ok((audit::verify(db)?, actions, msgs))
            })
            .unwrap();
        assert_eq!(
            actions,
            vec!["message.inbound", "kept.1", "kept.2"],
            "{name}: the rolled-back row is gone"
        );
        assert_eq!(rows, 3, "{name}: the audit chain verifies");
        assert_eq!(msgs, before, "{name}: the rolled-back message is gone");
        let _ = m;
    }
}

/// The first statement of its kind on a connection, sent later and then rolled back to a
/// savepoint before it was sent (on PostgreSQL its `PREPARE` went with it): the same statement
/// afterwards in that transaction, and in the next one, still works.
#[test]
fn a_statement_first_seen_in_a_rolled_back_savepoint_works_afterwards() {
    for mut s in backends("later_savepoint") {
        let name = s.name();
        let c = s.write(|db| Ok(consultation(db, "相談"))).unwrap();
        s.write(|db| {
            db.execute_batch("SAVEPOINT item")?;
            messages::insert(db, c, MessageKind::Note, "大野", "取り消し", now())?;
            db.execute_batch("ROLLBACK TO item; RELEASE item")?;
            messages::insert(db, c, MessageKind::Note, "大野", "残る", now())?;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        s.write(|db| messages::insert(db, c, MessageKind::Note, "大野", "次も", now()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let bodies: Vec<String> = s
            .read(|db| {
                db.query_map(
                    "SELECT body FROM messages WHERE consultation_id = ?1 ORDER BY id",
                    args![c],
                    |r| r.get(0),
                )
            })
            .unwrap();
        assert_eq!(bodies, vec!["残る", "次も"], "{name}");
    }
}

/// `renkei serve` runs the core on `spawn_blocking` threads: the blocking client (its own
/// current-thread runtime) must work there.
#[test]
fn postgres_client_works_inside_spawn_blocking() {
    let Some(_) = pg_url() else { return };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let n = rt
        .block_on(async {
            tokio::task::spawn_blocking(|| {
                let mut s = common::backends::fresh_pg("spawn_blocking");
                s.write(|db| settings::put(db, "x", &1, now()))?;
                s.read(|db| settings::get::<i32>(db, "x"))
            })
            .await
        })
        .unwrap()
        .unwrap();
    assert_eq!(n, Some(1));
}

/// The outbox (issue 20, SQLite migration 5 / PostgreSQL migration 2): claim once, record only
/// the claiming attempt, a retry of unknown outcome marks a possible duplicate, routes upsert.
#[test]
fn outbox_claims_once_and_records_the_claiming_attempt() {
    use renkei_core::outbound::{OutboxStatus, ReplyRoute};
    use renkei_core::store::outbox;
    for mut s in backends("outbox") {
        let name = s.name();
        let route = ReplyRoute::LineworksChannel {
            channel_id: "ch-1".into(),
        };
        let (c, id) = s
            .write(|db| {
                let c = consultation(db, "返信");
                let inbound = messages::insert(db, c, MessageKind::Inbound, "佐藤", "質問", now())?;
                outbox::record_route(db, inbound, c, &route)?;
                outbox::record_route(db, inbound, c, &route)?; // upsert, no duplicate key
                let m = messages::insert(db, c, MessageKind::Reply, "田村", "承知しました", now())?;
                Ok((c, outbox::insert(db, c, m, &route, now())?))
            })
            .unwrap();
        let later = now() + chrono::Duration::minutes(1);
        let (job, again) = s
            .write(|db| {
                let due = outbox::due(db, later, 10)?;
                assert_eq!(due.len(), 1);
                let job = outbox::claim(db, id, later, later + chrono::Duration::minutes(5))?;
                let again = outbox::claim(db, id, later, later + chrono::Duration::minutes(5))?;
                Ok((job, again))
            })
            .unwrap();
        let job = job.expect("claimed");
        assert!(again.is_none(), "{name}: claimed twice");
        assert_eq!((job.attempt, job.text.contains("承知しました")), (1, true));
        s.write(|db| {
            assert!(
                !outbox::mark_sent(db, id, 2, Some("x"), later)?,
                "{name}: stale attempt"
            );
            assert!(outbox::mark_retry(
                db, id, 1, "timeout", true, later, later
            )?);
            Ok(())
        })
        .unwrap();
        let e = s.read(|db| outbox::get(db, id)).unwrap();
        assert_eq!(e.status, OutboxStatus::Pending, "{name}");
        assert!(e.maybe_duplicate, "{name}");
        assert_eq!(e.last_error.as_deref(), Some("timeout"));
        let all = s.read(|db| outbox::list(db, None, 10)).unwrap();
        let mine = s.read(|db| outbox::list(db, Some(c), 10)).unwrap();
        assert_eq!((all.len(), mine.len()), (1, 1), "{name}");
        assert_eq!(
            s.read(|db| outbox::latest_route(db, c)).unwrap(),
            Some(route.clone())
        );
    }
}

/// The automatic messages (issue 20, SQLite migration 6 / PostgreSQL migration 3): an entry's
/// at-most-once key is unique on both engines, its own text is what the sender gets, the
/// untaken-urgent query skips items that already have their on-call entry, the per-partner
/// receipt switch and the thread's receipt lookup.
#[test]
fn automatic_entries_are_unique_by_key_and_send_their_own_text() {
    use renkei_core::outbound::{OutboxKind, ReplyRoute};
    use renkei_core::store::{consultations, outbox};
    for mut s in backends("autoreply") {
        let name = s.name();
        let route = ReplyRoute::LineworksUser {
            user_id: "doctor".into(),
        };
        let (c, id) = s
            .write(|db| {
                let c = db.insert_id(
                    "INSERT INTO consultations (channel, category, urgency, subject, received_at,
                         last_activity_at, last_inbound_at)
                     VALUES ('phone', 'other', 'urgent', '至急', ?1, ?1, ?1) RETURNING id",
                    args!["2026-12-01T00:30:00.000Z"],
                )?;
                let m =
                    messages::insert(db, c, MessageKind::Note, "自動通知", "連絡しました", now())?;
                let key = format!("oncall:{c}");
                let from = now() - chrono::Duration::hours(2);
                assert_eq!(consultations::untaken_urgent(db, from, now())?, vec![c]);
                let id = outbox::insert_auto(
                    db,
                    c,
                    m,
                    &route,
                    OutboxKind::Oncall,
                    Some(&key),
                    Some("至急・未対応"),
                    now(),
                )?;
                assert!(outbox::has_key(db, &key)?);
                assert!(consultations::untaken_urgent(db, from, now())?.is_empty());
                Ok((c, id))
            })
            .unwrap();
        // The same key again is refused by the engine (and the write rolls back).
        let again = s.write(|db| {
            let m = messages::insert(db, c, MessageKind::Note, "自動通知", "二度目", now())?;
            outbox::insert_auto(
                db,
                c,
                m,
                &route,
                OutboxKind::Oncall,
                Some(&format!("oncall:{c}")),
                None,
                now(),
            )
        });
        assert!(again.is_err(), "{name}: a second entry with the same key");
        let later = now() + chrono::Duration::minutes(1);
        let job = s
            .write(|db| outbox::claim(db, id, later, later + chrono::Duration::minutes(5)))
            .unwrap()
            .expect("claimed");
        assert_eq!(job.text, "至急・未対応", "{name}");
        let e = s.read(|db| outbox::get(db, id)).unwrap();
        assert_eq!(e.kind, OutboxKind::Oncall, "{name}");
        assert_eq!(
            s.read(
                |db| db.query_one("SELECT count(*) FROM messages", args![], |r| r
                    .get::<i64>(0))
            )
            .unwrap(),
            1,
            "{name}: the refused write left nothing"
        );
        // The receipt switch and the thread lookup.
        let p = s
            .write(|db| {
                let p = partners::insert(
                    db,
                    &NewPartner {
                        name: "北区ケアプランセンター".into(),
                        kind: Some(PartnerKind::CareManager),
                        ..NewPartner::default()
                    },
                    now(),
                )?;
                db.execute(
                    "UPDATE consultations SET partner_id = ?1 WHERE id = ?2",
                    args![p, c],
                )?;
                assert!(!partners::receipt_wanted(db, c)?);
                partners::set_receipt(db, p, true)?;
                assert!(partners::receipt_wanted(db, c)?);
                assert!(!messages::has_kind(db, c, MessageKind::Receipt)?);
                messages::insert(db, c, MessageKind::Receipt, "大野", "受け付けました", now())?;
                assert!(messages::has_kind(db, c, MessageKind::Receipt)?);
                Ok(p)
            })
            .unwrap();
        assert!(s.read(|db| partners::get(db, p)).unwrap().receipt, "{name}");
    }
}

/// The PostgreSQL statement cache (store/pg.rs `StmtCache`): a statement is prepared once per
/// connection and reused by its transactions, every value kind binds to a cached statement again,
/// and a schema change from another connection (a newer hub migrating) does not break it — the
/// statement is prepared again at once outside a transaction; inside one the transaction fails
/// with a conflict (PostgreSQL aborted it) and the next one works.
#[test]
fn postgres_statement_cache_binds_again_and_survives_a_schema_change() {
    for s in backends("stmt_cache") {
        let other = s.reopen();
        let (TestStore::Pg(mut a, _), TestStore::Pg(b, _)) = (s, other) else {
            continue;
        };
        a.db()
            .execute_batch("CREATE TABLE stmt_t (i BIGINT, s TEXT, f DOUBLE PRECISION, b BYTEA)")
            .unwrap();
        assert_eq!(a.prepared_statements(), 0);
        let insert = "INSERT INTO stmt_t (i, s, f, b) VALUES (?1, ?2, ?3, ?4)";
        a.write(|db| {
            db.execute(insert, args![1i64, "一", 1.5f64, vec![1u8, 2]])?;
            db.execute(
                insert,
                &[Value::Null, Value::Null, Value::Null, Value::Null],
            )?;
            // An integer into a DOUBLE PRECISION column, text for a cast parameter.
            db.execute(insert, args![3i64, "三", 2i64, vec![3u8]])?;
            db.query_one(
                "SELECT count(*) FROM stmt_t WHERE s = ANY(string_to_array(?1::text, ' '))",
                args!["一 三"],
                |r| r.get::<i64>(0),
            )
        })
        .unwrap();
        let prepared = a.prepared_statements();
        assert!(prepared >= 2, "prepared {prepared}");
        a.write(|db| db.execute(insert, args![4i64, "四", 4.5f64, vec![4u8]]))
            .unwrap();
        assert_eq!(
            a.prepared_statements(),
            prepared,
            "the cached statement reused"
        );

        let all = "SELECT * FROM stmt_t ORDER BY i";
        assert_eq!(a.db().query(all, args![]).unwrap()[0].len(), 4);
        assert_eq!(a.read(|db| db.query(all, args![])).unwrap()[0].len(), 4);

        // Another connection changes the result type of the cached `SELECT *`.
        b.db()
            .execute_batch("ALTER TABLE stmt_t ADD COLUMN extra TEXT")
            .unwrap();
        let rows = a.db().query(all, args![]).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0].len(), 5, "retried with the new columns");

        b.db()
            .execute_batch("ALTER TABLE stmt_t ADD COLUMN more TEXT")
            .unwrap();
        let e = a.read(|db| db.query(all, args![])).unwrap_err();
        assert_eq!(e.code().as_str(), "conflict", "{e}");
        assert!(e.to_string().contains("try again"), "{e}");
        assert_eq!(a.read(|db| db.query(all, args![])).unwrap()[0].len(), 6);

        // Statements dropped server-side (`DEALLOCATE ALL`, a pooler resetting the session).
        a.write(|db| db.execute(insert, args![5i64, "五", 5.0f64, vec![5u8]]))
            .unwrap();
        a.db().execute("DEALLOCATE ALL", args![]).unwrap();
        let e = a
            .write(|db| db.execute(insert, args![6i64, "六", 6.0f64, vec![6u8]]))
            .unwrap_err();
        assert_eq!(e.code().as_str(), "conflict", "{e}");
        a.write(|db| db.execute(insert, args![6i64, "六", 6.0f64, vec![6u8]]))
            .unwrap();
        a.db().execute("DEALLOCATE ALL", args![]).unwrap();
        assert_eq!(a.db().query(all, args![]).unwrap().len(), 6);
    }
}

/// PostgreSQL plans a write transaction's statements once (`plan_cache_mode = auto`, set
/// locally by the writer) but keeps planning every read for its values (`force_custom_plan`,
/// the connection's setting: a search pattern's selectivity decides its plan). The setting must
/// not leak out of the write: after it, a read is planned per value again.
#[test]
fn writes_reuse_plans_and_reads_are_planned_for_their_values() {
    for mut s in backends("plan_mode") {
        if s.name() != "postgres" {
            continue;
        }
        let mode = |db: &dyn Db| {
            db.query_one("SELECT current_setting('plan_cache_mode')", args![], |r| {
                r.get::<String>(0)
            })
        };
        assert_eq!(s.read(mode).unwrap(), "force_custom_plan");
        assert_eq!(s.write(mode).unwrap(), "auto");
        assert_eq!(s.read(mode).unwrap(), "force_custom_plan");
        // Also after a write that failed (rolled back).
        let failed: renkei_core::error::Result<()> = s.write(|db| {
            assert_eq!(mode(db)?, "auto");
            Err(renkei_core::error::Error::Conflict("stop".into()))
        });
        assert!(failed.is_err());
        assert_eq!(s.read(mode).unwrap(), "force_custom_plan");
    }
}

/// PostgreSQL sends a write transaction's `BEGIN` and writer lock with its first statement (an
/// intake's first is the query of its ids: one round trip for both, issue 24) — never later: a
/// write whose first act is taking ids already waits for the writer holding the lock, and its
/// audit row chains onto that writer's. A write that sends nothing takes no lock at all.
#[test]
fn a_write_takes_the_lock_with_its_first_statement_and_an_empty_one_none() {
    use std::sync::mpsc::channel;
    use std::time::Duration;
    for s in backends("lazy_begin") {
        if s.name() != "postgres" {
            continue;
        }
        let mut holder = s.reopen();
        let (locked_tx, locked_rx) = channel();
        let (release_tx, release_rx) = channel::<()>();
        let h = std::thread::spawn(move || {
            holder
                .write(|db| {
                    audit::append(db, Utc::now(), "t", "holder", None, "")?;
                    db.query_one("SELECT 1", args![], |r| r.get::<i64>(0))?;
                    locked_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .unwrap();
        });
        locked_rx.recv_timeout(Duration::from_secs(30)).unwrap();

        // Sends nothing: done at once although another writer holds the lock.
        let mut empty = s.reopen();
        let (done_tx, done_rx) = channel();
        std::thread::spawn(move || done_tx.send(empty.write(|_| Ok(())).is_ok()).unwrap());
        assert_eq!(done_rx.recv_timeout(Duration::from_secs(30)), Ok(true));

        // Takes ids first: waits for the lock, then appends after the holder's row.
        let mut second = s.reopen();
        let (ids_tx, ids_rx) = channel();
        let w = std::thread::spawn(move || {
            second.write(|db| {
                db.expect_rows("consultations", 2);
                let id = db.reserve_id("consultations")?;
                ids_tx.send(()).unwrap();
                audit::append(db, Utc::now(), "t", "second", None, "")?;
                Ok(id)
            })
        });
        assert!(
            ids_rx.recv_timeout(Duration::from_millis(300)).is_err(),
            "a write that starts by taking ids went ahead of the writer holding the lock"
        );
        release_tx.send(()).unwrap();
        h.join().unwrap();
        assert!(w.join().unwrap().unwrap().is_some());
        let mut s = s;
        let actions: Vec<String> = s
            .read(|db| {
                audit::verify(db)?;
                db.query_map("SELECT action FROM audit ORDER BY id", args![], |r| {
                    r.get::<String>(0)
                })
            })
            .unwrap();
        assert_eq!(actions, ["holder", "second"]);
    }
}
