//! What is wrong with the clinic's settings, once, in the clinic's language. The rules live in
//! the validators (`Settings::validate` and the calendar, targets and notification settings it
//! calls); each finding is a [`Problem`] — a key and its values — and its words come from the
//! table here, in Japanese or English. The settings screen shows them as they are: the page
//! carries no rules of its own (one source of truth).

use std::fmt;

/// One finding: a key of [`TEXTS`] and the values its text names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Problem {
    pub fn new(key: &'static str) -> Self {
        Problem {
            key,
            args: Vec::new(),
        }
    }

    /// Adds a value named `{name}` in the text.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Self {
        self.args.push((name, value.to_string()));
        self
    }

    /// The finding in `lang` (`ja`; anything else is English).
    pub fn text(&self, lang: &str) -> String {
        let ja = lang == "ja";
        let template = TEXTS
            .iter()
            .find(|(k, _, _)| *k == self.key)
            .map_or("{key}", |(_, j, e)| if ja { j } else { e });
        let mut out = template.replace("{key}", self.key);
        for (name, value) in &self.args {
            out = out.replace(&format!("{{{name}}}"), &word(value, ja));
        }
        out
    }
}

/// Field names and units said in the clinic's language.
fn word(value: &str, ja: bool) -> String {
    WORDS.iter().find(|(k, _, _)| *k == value).map_or_else(
        || value.to_string(),
        |(_, j, e)| (if ja { *j } else { *e }).to_string(),
    )
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text("en"))
    }
}

impl std::error::Error for Problem {}

const WORDS: &[(&str, &str, &str)] = &[
    ("open", "診療開始", "opening time"),
    ("close", "診療終了", "closing time"),
    ("minutes", "分", " minutes"),
    ("business_days", "営業日", " business days"),
    ("urgent", "至急", "urgent"),
    ("today", "本日中", "today"),
    ("normal", "通常", "normal"),
    ("fyi", "確認のみ", "fyi"),
    ("every", "すべての緊急度", "every urgency"),
    (
        "digest_interval_minutes",
        "まとめ通知の最短間隔",
        "the digest interval",
    ),
    (
        "urgent_repeat_minutes",
        "至急の最初の再通知",
        "the first urgent reminder",
    ),
    (
        "urgent_repeat_later_minutes",
        "至急の再通知の間隔",
        "the urgent reminder interval",
    ),
    (
        "escalate_after_minutes",
        "未対応の至急を上げるまで",
        "the escalation delay",
    ),
    ("due_soon_minutes", "期限前の警告", "the due-soon warning"),
];

/// key, Japanese, English. `{name}` is replaced by the value of that name.
const TEXTS: &[(&str, &str, &str)] = &[
    ("clinic_name", "クリニック名を入れてください。", "Enter the clinic's name."),
    ("time", "{what}「{value}」は 09:00 のように HH:MM で入れてください。", "The {what} '{value}' must be a time like 09:00."),
    ("hours", "診療時間の開始（{open}）は終了（{close}）より前にしてください。", "Opening ({open}) must be before closing ({close})."),
    ("lunch", "昼休み（{start}–{end}）は開始・終了を HH:MM で、開始を終了より前にしてください。", "The lunch break {start}–{end} must be two times like 12:00, start before end."),
    ("lunch_half", "昼休みは開始・終了の両方を入れるか、両方を空にしてください。", "Set both the start and the end of the lunch break, or neither."),
    ("year_end", "年末年始（{from}→{to}）は 12-29 のように MM-DD で入れてください。", "The year-end break {from}→{to} must be dates like 12-29."),
    ("weekdays", "診療する曜日を1つ以上選んでください。", "Choose at least one weekday the clinic is open."),
    ("target", "応答目標「{what}」の {n} は範囲外です: 1〜{max}{unit}の数を入れるか、「返答不要」を選んでください。", "Response target '{what}': {n} is out of range — enter 1–{max}{unit}, or choose no target."),
    ("override_target", "分類ごとの例外 {n} 行目の {value} は範囲外です: 1〜{max}{unit}の数を入れるか、「返答不要」を選んでください。", "Override {n}: {value} is out of range — enter 1–{max}{unit}, or choose no target."),
    ("override_twice", "分類ごとの例外 {n} 行目は {m} 行目と同じ分類・緊急度です。どちらかを削除してください。", "Override {n} repeats override {m} (same category and urgency): remove one of them."),
    ("quiet", "通知しない時間帯（{start}–{end}）は、HH:MM の別々の時刻にしてください。", "Quiet hours {start}–{end} must be two different times like 22:00."),
    ("at_least_1", "{what}は1分以上にしてください（{value}）。", "{what} must be at least 1 minute (got {value})."),
    ("range", "{what}は {min}〜{max} にしてください（{value}）。", "{what} must be {min}–{max} (got {value})."),
    ("roster_weekday", "当番表の {n} 行目: 曜日が正しくありません。", "Roster line {n}: the weekday must be Monday to Sunday."),
    ("roster_times", "当番表の {n} 行目: 時刻は 開始 < 終了 の HH:MM にしてください（{start}–{end}）。", "Roster line {n}: {start}–{end} must be two times, start before end."),
    ("roster_staff", "当番表の {n} 行目: 担当者を入れてください。", "Roster line {n}: enter who is on duty."),
    ("keep_days", "バックアップを保存する日数は1日以上にしてください。", "Keep backups for at least 1 day."),
    ("listen", "待ち受けアドレス「{value}」は 127.0.0.1:8787 のように入れてください。", "The listen address '{value}' must look like 127.0.0.1:8787."),
    ("lock", "自動ロックまでの分は 0（しない）〜1440 にしてください。", "Minutes until the screen locks must be 0 (never) to 1440."),
    ("language", "表示言語は ja か en にしてください（{value}）。", "The language must be ja or en (got {value})."),
    ("receipt_empty", "受付メッセージが空です。文面を入れてください（例: 受け付けました。担当：{担当}。{期限}までにご連絡します。）。", "The receipt message is empty: write one (e.g. 受け付けました。担当：{担当}。{期限}までにご連絡します。)."),
    ("receipt_long", "受付メッセージは {max} 文字以内にしてください。", "The receipt message must be at most {max} characters."),
    ("receipt_brace", "受付メッセージの波括弧が対になっていません。差し込みは {担当} のように書いてください。", "The receipt message has an unmatched brace: write placeholders like {担当}."),
    ("receipt_placeholder", "受付メッセージの {name} は使えません。使える差し込みは {担当} {期限} {クリニック} です。", "The receipt message cannot use {name}; the placeholders are {担当} {期限} {クリニック}."),
    ("oncall_user", "当番医の LINE WORKS ユーザーID「{value}」は空白を含まない1行（100文字以内）にしてください。空にすると当番医への連絡は止まります。", "The on-call doctor's LINE WORKS user id '{value}' must be one word of at most 100 characters; leave it empty to turn the on-call message off."),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_reads_in_both_languages_with_its_values() {
        let p = Problem::new("hours")
            .arg("open", "18:00")
            .arg("close", "09:00");
        assert_eq!(
            p.text("ja"),
            "診療時間の開始（18:00）は終了（09:00）より前にしてください。"
        );
        assert_eq!(
            p.to_string(),
            "Opening (18:00) must be before closing (09:00)."
        );
        let p = Problem::new("target")
            .arg("what", "urgent")
            .arg("n", 0)
            .arg("max", 10080)
            .arg("unit", "minutes");
        assert!(
            p.text("ja").contains("応答目標「至急」") && p.text("ja").contains("1〜10080分"),
            "{}",
            p.text("ja")
        );
        assert!(p.to_string().contains("enter 1–10080 minutes"), "{p}");
        for (key, ja, en) in TEXTS {
            assert!(!ja.is_empty() && !en.is_empty(), "{key}");
            // Every placeholder of one language is in the other.
            let names = |s: &str| {
                s.split('{')
                    .skip(1)
                    .map(|x| x.split('}').next().unwrap_or("").to_string())
                    .collect::<std::collections::BTreeSet<_>>()
            };
            assert_eq!(names(ja), names(en), "{key}");
        }
    }
}
