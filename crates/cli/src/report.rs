//! `renkei handover` and `renkei report`: a readable Japanese summary, `--json`, and the
//! report as one self-contained printable HTML file (`--out`: inline CSS, bars as inline SVG
//! rects, no external resource; A4 under `@media print`).

use crate::output::{pad, print_json};
use chrono::{DateTime, Utc};
use renkei_core::clock::jst;
use renkei_core::report::{Handover, HandoverItem, Report, Spread, TimeStats, WEEKDAYS_JA};
use std::fmt::Write as _;

fn local(t: DateTime<Utc>) -> String {
    t.with_timezone(&jst()).format("%m/%d %H:%M").to_string()
}

fn mins(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |m| format!("{m:.0}分"))
}

/// A whole number of minutes (a maximum) or "—" when there is none.
fn whole_mins(v: Option<i64>) -> String {
    v.map_or_else(|| "—".into(), |m| format!("{m}分"))
}

fn item_line(i: &HandoverItem) -> String {
    format!(
        "  #{} {} {} {} {}{}",
        i.id,
        i.urgency.label_ja(),
        i.status.label_ja(),
        i.partner.as_deref().unwrap_or("（不明）"),
        i.subject,
        i.due_at
            .map(|d| format!(
                "（期限 {}{}）",
                local(d),
                if i.overdue { "・超過" } else { "" }
            ))
            .unwrap_or_default()
    )
}

pub fn handover(h: &Handover, json: bool) {
    if json {
        print_json(h);
        return;
    }
    let mut s = String::new();
    let _ = writeln!(s, "{}（{} 時点）", h.summary, local(h.now));
    let _ = writeln!(s, "次の開院: {}", local(h.next_opening));
    let _ = writeln!(s, "\n■ 担当別の未完了");
    for g in &h.by_owner {
        let _ = writeln!(
            s,
            "{}（{}件）",
            g.owner.as_deref().unwrap_or("担当なし"),
            g.items.len()
        );
        for i in &g.items {
            let _ = writeln!(s, "{}", item_line(i));
        }
    }
    let section = |s: &mut String, title: &str, items: &[&HandoverItem]| {
        let _ = writeln!(s, "\n■ {title}（{}件）", items.len());
        for i in items {
            let _ = writeln!(s, "{}", item_line(i));
        }
    };
    section(&mut s, "期限超過", &h.overdue.iter().collect::<Vec<_>>());
    section(
        &mut s,
        "次の開院までに期限",
        &h.due_before_next_opening.iter().collect::<Vec<_>>(),
    );
    let _ = writeln!(s, "\n■ 本日の至急（{}件）", h.urgent_today.len());
    for u in &h.urgent_today {
        let who = match (&u.taken_by, u.minutes_to_take) {
            (Some(b), Some(m)) => format!(" → {b}（{m}分）"),
            (Some(b), None) => format!(" → {b}"),
            _ => " → 未確認".into(),
        };
        let _ = writeln!(s, "{}{who}", item_line(&u.item));
    }
    let _ = writeln!(s, "\n■ 先方待ち（{}件）", h.waiting_partner.len());
    for w in &h.waiting_partner {
        let since = w
            .since
            .map(|t| format!(" {}から", local(t)))
            .unwrap_or_default();
        let _ = writeln!(s, "{}{since}", item_line(&w.item));
    }
    section(
        &mut s,
        "時間外の受付（前回の閉院以降）",
        &h.after_hours.iter().collect::<Vec<_>>(),
    );
    crate::outln!("{}", s.trim_end());
}

fn stats_row(s: &TimeStats) -> String {
    format!(
        "{} 件数 {:>3}  初回応答 中央値 {:>6} p90 {:>6}  未応答 {:>2}  完了まで 中央値 {:>6} p90 {:>6}",
        pad(&s.label, 36),
        s.count,
        mins(s.first_response.median_min),
        mins(s.first_response.p90_min),
        s.unanswered,
        mins(s.resolution.median_min),
        mins(s.resolution.p90_min)
    )
}

pub fn report(r: &Report, json: bool) {
    if json {
        print_json(r);
        return;
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "運用レポート {} 〜 {}（営業時間の分で計算）",
        r.from, r.to
    );
    let _ = writeln!(
        s,
        "受付 {}件・期限内の初回応答 {}・期限超過（未完了） {}件・通知 {}件",
        r.total,
        r.targets.percent_met.map_or_else(
            || "—".into(),
            |p| format!("{p:.1}%（{}/{}）", r.targets.met, r.targets.counted)
        ),
        r.overdue_open,
        r.notifications_total
    );
    let _ = writeln!(s, "\n■ 日別の受付・通知");
    for (d, n) in r.arrivals_per_day.iter().zip(&r.notifications_per_day) {
        let wd = WEEKDAYS_JA[renkei_core::report::weekday_index(d.date)];
        let _ = writeln!(
            s,
            "  {}（{wd}） 受付 {:>3} {}  通知 {:>3}",
            d.date.format("%m/%d"),
            d.count,
            "█".repeat(d.count.min(40) as usize),
            n.count
        );
    }
    let _ = writeln!(s, "\n■ 経路別");
    for c in &r.arrivals_per_channel {
        let _ = writeln!(s, "  {} {:>4}", pad(c.channel.label_ja(), 12), c.count);
    }
    let _ = writeln!(s, "\n■ 応答時間（全体）\n  {}", stats_row(&r.overall));
    let _ = writeln!(s, "\n■ 連携先別");
    for p in &r.by_partner {
        let _ = writeln!(s, "  {}", stats_row(p));
    }
    let _ = writeln!(s, "\n■ 種別別");
    for c in &r.by_category {
        let _ = writeln!(s, "  {}", stats_row(c));
    }
    let _ = writeln!(
        s,
        "\n■ 至急 {}件: 確認まで 中央値 {} 最大 {}・未確認 {}件",
        r.urgent.count,
        mins(r.urgent.take.median_min),
        whole_mins(r.urgent.take.max_min),
        r.urgent.untaken
    );
    let _ = writeln!(s, "\n■ 回答を長く待っている連携先");
    for p in &r.longest_waits {
        let _ = writeln!(
            s,
            "  {} 中央値 {}",
            p.label,
            mins(p.first_response.median_min)
        );
    }
    crate::outln!("{}", s.trim_end());
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal-axis bar chart as inline SVG rects (labels under the bars).
fn bars(title: &str, labels: &[String], values: &[u32]) -> String {
    let (w, h, pad) = (640.0_f64, 180.0_f64, 24.0_f64);
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = values.len().max(1) as f64;
    let bw = (w - 2.0 * pad) / n;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>",
        h + 20.0,
        t = esc(title)
    );
    for (i, (l, v)) in labels.iter().zip(values).enumerate() {
        let bh = (h - pad) * (*v as f64) / max;
        let x = pad + bw * i as f64;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\"><title>{} {v}</title></rect>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"v\">{v}</text><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            x + 2.0,
            h - bh,
            (bw - 4.0).max(1.0),
            esc(l),
            x + bw / 2.0,
            h - bh - 3.0,
            x + bw / 2.0,
            h + 14.0,
            esc(l)
        );
    }
    svg.push_str("</svg>");
    svg
}

fn spread_cells(s: &Spread) -> String {
    format!(
        "<td>{}</td><td>{}</td><td>{}</td>",
        s.n,
        mins(s.median_min),
        mins(s.p90_min)
    )
}

fn stats_table(title: &str, rows: &[TimeStats]) -> String {
    let mut t = format!(
        "<h2>{}</h2><table><thead><tr><th></th><th>件数</th><th>応答数</th><th>初回応答 中央値</th><th>p90</th><th>未応答</th><th>完了数</th><th>完了まで 中央値</th><th>p90</th></tr></thead><tbody>",
        esc(title)
    );
    for s in rows {
        let _ = write!(
            t,
            "<tr><th>{}</th><td>{}</td>{}<td>{}</td>{}</tr>",
            esc(&s.label),
            s.count,
            spread_cells(&s.first_response),
            s.unanswered,
            spread_cells(&s.resolution)
        );
    }
    t.push_str("</tbody></table>");
    t
}

/// The report as one printable HTML page.
pub fn html(r: &Report) -> String {
    let mut b = String::new();
    let day_labels: Vec<String> = r
        .arrivals_per_day
        .iter()
        .map(|d| {
            format!(
                "{}({})",
                d.date.format("%m/%d"),
                WEEKDAYS_JA[renkei_core::report::weekday_index(d.date)]
            )
        })
        .collect();
    let day_counts: Vec<u32> = r.arrivals_per_day.iter().map(|d| d.count).collect();
    let _ = write!(
        b,
        "<h1>運用レポート {} 〜 {}</h1><p class=\"lead\">受付 {}件・期限内の初回応答 {}・期限超過（未完了） {}件・通知 {}件。時間は営業時間の分（昼休み・時間外・休診日を除く）。</p>",
        r.from,
        r.to,
        r.total,
        r.targets
            .percent_met
            .map_or_else(|| "—".into(), |p| format!("{p:.1}%（{}/{}）", r.targets.met, r.targets.counted)),
        r.overdue_open,
        r.notifications_total
    );
    let _ = write!(
        b,
        "<h2>日別の受付</h2>{}",
        bars("日別の受付件数", &day_labels, &day_counts)
    );
    b.push_str("<table><thead><tr><th>日付</th><th>受付</th><th>通知</th></tr></thead><tbody>");
    for ((l, d), n) in day_labels
        .iter()
        .zip(&r.arrivals_per_day)
        .zip(&r.notifications_per_day)
    {
        let _ = write!(
            b,
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            esc(l),
            d.count,
            n.count
        );
    }
    b.push_str("</tbody></table>");
    let hours: Vec<String> = (0..24).map(|h| h.to_string()).collect();
    let _ = write!(
        b,
        "<h2>時間帯別の受付</h2>{}",
        bars("時間帯別の受付件数", &hours, &r.arrivals_per_hour)
    );
    b.push_str("<h2>曜日×時間帯</h2><table class=\"heat\"><thead><tr><th></th>");
    for h in 0..24 {
        let _ = write!(b, "<th>{h}</th>");
    }
    b.push_str("</tr></thead><tbody>");
    let max = r
        .heatmap
        .iter()
        .flatten()
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    for (wd, row) in r.heatmap.iter().enumerate() {
        let _ = write!(b, "<tr><th>{}</th>", WEEKDAYS_JA[wd]);
        for v in row {
            let a = (*v as f64 / max as f64 * 0.85 * 100.0).round() / 100.0;
            let _ = write!(
                b,
                "<td style=\"background:rgba(30,90,160,{a})\">{}</td>",
                if *v > 0 { v.to_string() } else { String::new() }
            );
        }
        b.push_str("</tr>");
    }
    b.push_str("</tbody></table><h2>経路別</h2><table><tbody>");
    for c in &r.arrivals_per_channel {
        let _ = write!(
            b,
            "<tr><th>{}</th><td>{}</td></tr>",
            c.channel.label_ja(),
            c.count
        );
    }
    b.push_str("</tbody></table>");
    b.push_str(&stats_table(
        "応答時間（全体）",
        std::slice::from_ref(&r.overall),
    ));
    b.push_str(&stats_table("連携先別", &r.by_partner));
    b.push_str(&stats_table("種別別", &r.by_category));
    let _ = write!(
        b,
        "<h2>至急</h2><p>{}件・確認まで 中央値 {}・最大 {}・未確認 {}件</p>",
        r.urgent.count,
        mins(r.urgent.take.median_min),
        whole_mins(r.urgent.take.max_min),
        r.urgent.untaken
    );
    b.push_str(&stats_table("回答を長く待っている連携先", &r.longest_waits));
    format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\"><title>運用レポート {} 〜 {}</title><style>{CSS}</style></head><body>{b}<footer>連携デスク {} 作成</footer></body></html>\n",
        r.from,
        r.to,
        local(r.generated_at)
    )
}

const CSS: &str = "body{font-family:'Noto Sans JP','Hiragino Sans','Yu Gothic',sans-serif;color:#222;max-width:190mm;margin:1em auto;font-size:11pt}\
h1{font-size:16pt}h2{font-size:12.5pt;border-bottom:1px solid #999;margin-top:1.2em}\
table{border-collapse:collapse;margin:.4em 0;font-size:9.5pt}th,td{border:1px solid #bbb;padding:2px 6px;text-align:right}th{text-align:left;background:#f2f2f2}\
.heat td{width:1.6em;text-align:center;font-size:8pt}svg{width:100%;max-height:60mm}svg rect{fill:#1e5aa0}svg text{font-size:10px;text-anchor:middle}\
footer{margin-top:2em;font-size:8pt;color:#666}\
@media print{@page{size:A4;margin:12mm}body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}}";
