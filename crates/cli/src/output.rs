//! Human and JSON output of `renkei`. With `--json`, stdout carries JSON and nothing else.

use chrono::{DateTime, Utc};
use renkei_core::clock::jst;
use renkei_core::desk::PartnerStats;
use renkei_core::model::{AuditEvent, ConsultationDetail, QueueRow};
use renkei_core::store::DataDir;
use serde::Serialize;

pub fn print_json<T: Serialize + ?Sized>(v: &T) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => crate::outln!("{s}"),
        Err(e) => eprintln!("error: cannot print JSON: {e}"),
    }
}

/// Prints `v` as JSON with `--json`, else the human line(s).
pub fn json_or<T: Serialize + ?Sized>(json: bool, v: &T, human: impl FnOnce() -> String) {
    if json {
        print_json(v);
    } else {
        crate::outln!("{}", human());
    }
}

pub fn init(dir: &DataDir, consultations: usize, json: bool) {
    let v = serde_json::json!({"data_dir": dir.root, "consultations": consultations});
    json_or(json, &v, || {
        format!(
            "store ready in {} ({consultations} consultations)",
            dir.root.display()
        )
    });
}

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst()).format("%m/%d %H:%M").to_string()
}

/// Display width of a string on a terminal (East Asian wide characters count 2).
pub(crate) fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let c = c as u32;
            if (0x1100..=0x115F).contains(&c)
                || (0x2E80..=0xA4CF).contains(&c)
                || (0xAC00..=0xD7A3).contains(&c)
                || (0xF900..=0xFAFF).contains(&c)
                || (0xFE30..=0xFE4F).contains(&c)
                || (0xFF00..=0xFF60).contains(&c)
                || (0xFFE0..=0xFFE6).contains(&c)
            {
                2
            } else {
                1
            }
        })
        .sum()
}

pub(crate) fn pad(s: &str, w: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = width(&c.to_string());
        if used + cw > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push_str(&" ".repeat(w.saturating_sub(used)));
    out
}

fn due(r: &QueueRow, now: DateTime<Utc>) -> String {
    match r.due_at {
        None => "—".into(),
        Some(d) if !r.status.is_open() => local(d),
        Some(d) if d < now => format!("超過{}分", (now - d).num_minutes()),
        Some(d) => local(d),
    }
}

pub fn queue(rows: &[QueueRow], now: DateTime<Utc>, json: bool) {
    if json {
        print_json(rows);
        return;
    }
    if rows.is_empty() {
        crate::outln!("キューは空です (no open consultations)");
        return;
    }
    crate::outln!(
        "{} {} {} {} {} {} 件名",
        pad("ID", 5),
        pad("緊急度", 8),
        pad("状態", 12),
        pad("期限", 12),
        pad("連携先", 28),
        pad("分類", 18),
    );
    for r in rows {
        crate::outln!(
            "{} {} {} {} {} {} {}{}",
            pad(&r.id.to_string(), 5),
            pad(r.urgency.label_ja(), 8),
            pad(r.status.label_ja(), 12),
            pad(&due(r, now), 12),
            pad(&r.partner, 28),
            pad(r.category.label_ja(), 18),
            r.subject,
            if r.attachments > 0 { " 📎" } else { "" }
        );
    }
}

pub fn show(d: &ConsultationDetail, now: DateTime<Utc>, json: bool) {
    if json {
        print_json(d);
        return;
    }
    let r = &d.row;
    crate::outln!("#{} {}", r.id, r.subject);
    crate::outln!(
        "  {}・{}・{}・{}  受信 {}  期限 {}",
        r.urgency.label_ja(),
        r.category.label_ja(),
        r.status.label_ja(),
        r.channel.label_ja(),
        local(r.received_at),
        due(r, now)
    );
    crate::outln!(
        "  連携先 {}  送信者 {}  担当 {}",
        r.partner,
        d.sender.name,
        r.owner.as_deref().unwrap_or("未割当")
    );
    if let Some(reason) = &r.urgency_reason {
        crate::outln!("  緊急度の理由: {reason}");
    }
    for f in &d.pii_flags {
        crate::outln!("  ⚠ {}", f.message);
    }
    crate::outln!();
    for m in &d.thread {
        crate::outln!("[{} {} {}]", local(m.at), m.kind.as_str(), m.author);
        crate::outln!("{}\n", m.body);
    }
    for a in &d.attachment_list {
        crate::outln!(
            "📎 {} ({}, {} bytes, sha256 {})",
            a.name,
            a.media_type,
            a.size,
            a.sha256
        );
    }
    for h in &d.history {
        crate::outln!(
            "  {} {} → {} ({})",
            local(h.at),
            h.from.map(|s| s.as_str()).unwrap_or("-"),
            h.to,
            h.by
        );
    }
}

pub fn row_changed(r: &QueueRow, json: bool) {
    json_or(json, r, || {
        format!(
            "consultation {}: {} ({}), owner {}",
            r.id,
            r.status,
            r.status.label_ja(),
            r.owner.as_deref().unwrap_or("-")
        )
    });
}

pub fn partners(stats: &[PartnerStats], json: bool) {
    if json {
        print_json(stats);
        return;
    }
    for s in stats {
        crate::outln!(
            "{} {} {} 件数 {} 未完了 {} 期限超過 {} 初回応答中央値 {}{}",
            pad(&s.partner.id.to_string(), 4),
            pad(&s.partner.name, 32),
            pad(s.partner.kind.label_ja(), 20),
            s.total,
            s.open,
            s.overdue,
            s.median_first_response_min
                .map(|m| format!("{m:.0}分"))
                .unwrap_or_else(|| "—".into()),
            if s.partner.receipt {
                " 受付メッセージ"
            } else {
                ""
            }
        );
    }
}

pub fn notifications(rows: &[renkei_core::store::notifications::LoggedNotification], json: bool) {
    if json {
        print_json(rows);
        return;
    }
    for n in rows {
        crate::outln!(
            "{} {} {} — {} [{}] ({})",
            local(n.at),
            pad(&n.urgency, 7),
            n.title,
            n.body,
            n.ids.join(","),
            n.reason
        );
    }
}

pub fn audit(rows: &[AuditEvent], json: bool) {
    if json {
        print_json(rows);
        return;
    }
    for a in rows {
        crate::outln!(
            "{} {} {} {} {}",
            local(a.at),
            a.actor,
            a.action,
            a.target.as_deref().unwrap_or("-"),
            a.detail
        );
    }
}

/// `renkei reply`: the reply and how it goes out.
pub fn reply(out: &renkei_core::desk::ReplyOutcome, json: bool) {
    use renkei_core::outbound::Delivery;
    json_or(json, out, || match (&out.delivery, &out.outbox) {
        (Delivery::Outbox, Some(e)) => format!(
            "reply {} saved; outbox entry {} → {} (pending; `renkei outbox` shows when it is sent)",
            out.message.id, e.id, e.destination
        ),
        (Delivery::PartnerView, _) => format!(
            "reply {} saved; the partner sees it on its status page (GET /v1/consultations/{})",
            out.message.id, out.consultation_id
        ),
        _ => format!(
            "reply {} kept in the thread of consultation {} (nothing is sent on this channel)",
            out.message.id, out.consultation_id
        ),
    });
}

/// `renkei outbox`: one line per entry.
pub fn outbox(entries: &[renkei_core::outbound::OutboxEntry], json: bool) {
    if json {
        print_json(entries);
        return;
    }
    if entries.is_empty() {
        crate::outln!("the outbox is empty");
    }
    for e in entries {
        let when = e
            .sent_at
            .map(|t| format!(" sent {}", renkei_core::store::ts(t)))
            .unwrap_or_default();
        let dup = if e.maybe_duplicate {
            " (may have arrived twice)"
        } else {
            ""
        };
        let err = e
            .last_error
            .as_deref()
            .map(|x| format!(" — {x}"))
            .unwrap_or_default();
        crate::outln!(
            "{:>6}  consultation {:<6} {:<7} {:<8} {:<7} attempts {}{when}{dup} → {}{err}",
            e.id,
            e.consultation_id,
            e.kind.as_str(),
            e.channel.as_str(),
            e.status.as_str(),
            e.attempts,
            e.destination
        );
    }
}
