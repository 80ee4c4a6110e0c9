//! Notification texts. They name the category (Japanese label), the partner and counts — never
//! a subject, a message body, a patient's name or a phone number: the functions here are only
//! ever given those fields.

use super::Item;
use crate::clock::jst;
use crate::codes::Category;
use chrono::{DateTime, Utc};

/// Short category label for counts ("退院調整 2・訪問看護 1").
pub fn short_label_ja(c: Category) -> &'static str {
    match c {
        Category::NewHomeVisit => "訪問診療",
        Category::NursingIntro => "訪問看護",
        Category::Discharge => "退院調整",
        Category::BedAvailability => "受け入れ可否",
        Category::CommunityConcern => "地域の困りごと",
        Category::Medication => "薬剤",
        Category::Alert => "注意喚起",
        Category::Info => "情報共有",
        Category::Other => "その他",
    }
}

/// Partner names are shown as given, trimmed to a sane length.
fn partner(name: &str) -> String {
    let n = name.trim();
    if n.is_empty() {
        return "連携先".into();
    }
    let mut s: String = n.chars().take(40).collect();
    if n.chars().count() > 40 {
        s.push('…');
    }
    s
}

/// "退院調整 2・訪問看護 1" — most frequent first, then contract order.
pub fn counts_ja(items: &[&Item]) -> String {
    let mut counts: Vec<(Category, usize)> = Vec::new();
    for it in items {
        match counts.iter_mut().find(|(c, _)| *c == it.category) {
            Some((_, n)) => *n += 1,
            None => counts.push((it.category, 1)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(c, n)| format!("{} {}", short_label_ja(*c), n))
        .collect::<Vec<_>>()
        .join("・")
}

/// "A", "A・B", "A・B ほか3か所" (distinct partners in arrival order).
pub fn partners_ja(items: &[&Item]) -> String {
    let mut names: Vec<String> = Vec::new();
    for it in items {
        let p = partner(&it.partner);
        if !names.contains(&p) {
            names.push(p);
        }
    }
    match names.len() {
        0 => String::new(),
        1 | 2 => names.join("・"),
        n => format!("{}・{} ほか{}か所", names[0], names[1], n - 2),
    }
}

fn hm(t: DateTime<Utc>) -> String {
    let l = t.with_timezone(&jst());
    format!("{}:{}", l.format("%-H"), l.format("%M"))
}

fn via(it: &Item) -> String {
    match it.channel {
        Some(c) => format!("（{}）", c.label_ja()),
        None => String::new(),
    }
}

pub fn urgent_arrival(it: &Item) -> (String, String) {
    (
        format!("至急: {}", it.category.label_ja()),
        format!("{}{}から至急の相談です。", partner(&it.partner), via(it)),
    )
}

/// An urgent burst shown as one notification: counts and partners, no text.
pub fn urgent_burst(items: &[&Item]) -> (String, String) {
    (
        format!("至急の新着 {}件", items.len()),
        format!(
            "{}（{}）。短時間に多数届いたため、まとめて通知しています。",
            counts_ja(items),
            partners_ja(items)
        ),
    )
}

pub fn urgent_repeat(items: &[&Item], nth: u32, at: DateTime<Utc>) -> (String, String) {
    if let [it] = items {
        let mins = (at - it.urgent_since()).num_minutes();
        (
            format!("至急・未確認（{nth}回目）: {}", it.category.label_ja()),
            format!(
                "{}からの至急の相談が{mins}分間 未確認です。担当を決めてください。",
                partner(&it.partner)
            ),
        )
    } else {
        (
            format!("至急・未確認 {}件（再通知）", items.len()),
            format!(
                "{}（{}）が未確認です。",
                counts_ja(items),
                partners_ja(items)
            ),
        )
    }
}

pub fn escalation(
    items: &[&Item],
    after_min: i64,
    to: Option<&str>,
    at: DateTime<Utc>,
) -> (String, String) {
    let whom = to.map(|w| format!("{w}へ: ")).unwrap_or_default();
    let title = format!("【エスカレーション】{whom}至急・{after_min}分未確認");
    let body = if let [it] = items {
        let mins = (at - it.urgent_since()).num_minutes();
        format!(
            "{}からの至急の相談（{}）に{mins}分間 担当者がいません。",
            partner(&it.partner),
            it.category.label_ja()
        )
    } else {
        format!(
            "至急の相談 {}件（{}・{}）に担当者がいません。",
            items.len(),
            counts_ja(items),
            partners_ja(items)
        )
    };
    (title, body)
}

/// "／期限間近・担当者なし 2件: 退院調整 1・薬剤 1" (empty without such items).
fn due_part(due: &[&Item]) -> String {
    if due.is_empty() {
        return String::new();
    }
    format!("／期限間近・担当者なし {}件: {}", due.len(), counts_ja(due))
}

/// A digest of new items `new`, naming also the unowned items `due` whose deadline comes
/// before the next digest would.
pub fn digest(new: &[&Item], due: &[&Item]) -> (String, String) {
    let title = match (new.len(), due.len()) {
        (n, 0) => format!("新着相談 {n}件"),
        (0, m) => format!("期限間近・担当者なし {m}件"),
        (n, m) => format!("新着相談 {n}件・期限間近 {m}件"),
    };
    let body = match new {
        [] => format!("{}（{}）", counts_ja(due), partners_ja(due)),
        [it] => {
            let msgs = if it.messages > 1 {
                format!("（メッセージ{}件）", it.messages)
            } else {
                String::new()
            };
            format!(
                "{}: {}{msgs}{}",
                partner(&it.partner),
                it.category.label_ja(),
                due_part(due)
            )
        }
        _ => format!(
            "{}（{}）{}",
            counts_ja(new),
            partners_ja(new),
            due_part(due)
        ),
    };
    (title, body)
}

/// `what` = "夜間", "休診中", "休憩中", "時間外".
pub fn opening_summary(new: &[&Item], due: &[&Item], what: &str) -> (String, String) {
    (
        format!("{what}の新着 {}件（{}）", new.len(), counts_ja(new)),
        format!("{}{}", partners_ja(new), due_part(due)),
    )
}

/// The warning before a deadline no digest would have met; what else was waiting comes along
/// ("／ほか新着 3件: …") so the next digest does not follow right after.
pub fn due_soon_with_new(due: &[&Item], new: &[&Item], lead_min: i64) -> (String, String) {
    let (title, body) = due_soon(due, lead_min);
    if new.is_empty() {
        return (title, body);
    }
    (
        title,
        format!("{body}／ほか新着 {}件: {}", new.len(), counts_ja(new)),
    )
}

pub fn due_soon(items: &[&Item], lead_min: i64) -> (String, String) {
    if let [it] = items {
        let due = it.due_at.map(hm).unwrap_or_default();
        (
            format!("期限{lead_min}分前・担当者なし: {}", it.category.label_ja()),
            format!(
                "{}の相談（{}）は {due} が期限です。担当を決めてください。",
                partner(&it.partner),
                it.urgency.label_ja()
            ),
        )
    } else {
        (
            format!("期限{lead_min}分前・担当者なし {}件", items.len()),
            format!("{}（{}）", counts_ja(items), partners_ja(items)),
        )
    }
}
