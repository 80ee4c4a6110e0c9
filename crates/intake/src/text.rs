//! Turning chat messages into consultations: a subject line and a first guess at the category.

use renkei_core::codes::Category;

/// Longest generated subject (characters).
pub const SUBJECT_CHARS: usize = 40;

/// Guesses a category from simple keywords; `other` when nothing fits (staff correct it).
pub fn guess_category(text: &str) -> Category {
    const RULES: &[(&[&str], Category)] = &[
        (&["退院"], Category::Discharge),
        (
            &["空床", "受け入れ", "受入れ", "受入"],
            Category::BedAvailability,
        ),
        (&["訪問看護"], Category::NursingIntro),
        (&["新規"], Category::NewHomeVisit),
        (&["薬", "処方"], Category::Medication),
    ];
    RULES
        .iter()
        .find(|(words, _)| words.iter().any(|w| text.contains(w)))
        .map(|(_, c)| *c)
        .unwrap_or(Category::Other)
}

/// Removes Chatwork markup tags (`[To:123]`, `[info]`, `[/title]`, `[rp aid=…]`, `[piconname:…]`)
/// for display purposes only; the stored body keeps them verbatim.
pub fn strip_chatwork_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find('[') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find(']') {
            Some(end) if end <= 120 && is_tag(&after[..end]) => {
                out.push(' ');
                rest = &after[end + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn is_tag(inner: &str) -> bool {
    let name: String = inner
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    matches!(
        name.to_ascii_lowercase().as_str(),
        "to" | "info"
            | "title"
            | "rp"
            | "qt"
            | "qtmeta"
            | "code"
            | "hr"
            | "piconname"
            | "picon"
            | "toall"
            | "preview"
            | "download"
            | "task"
            | "dtext"
    )
}

/// The first non-empty line, cleaned and cut to [`SUBJECT_CHARS`] characters (with "…").
pub fn subject_from(text: &str, fallback: &str) -> String {
    let line = text
        .lines()
        .map(renkei_core::model::clean_line)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    let line: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return fallback.to_string();
    }
    if line.chars().count() > SUBJECT_CHARS {
        let cut: String = line.chars().take(SUBJECT_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_from_keywords() {
        assert_eq!(
            guess_category("来週退院予定の方について"),
            Category::Discharge
        );
        assert_eq!(
            guess_category("空床はありますか"),
            Category::BedAvailability
        );
        assert_eq!(
            guess_category("訪問看護の導入をお願いします"),
            Category::NursingIntro
        );
        assert_eq!(guess_category("新規のご相談です"), Category::NewHomeVisit);
        assert_eq!(guess_category("お薬の件"), Category::Medication);
        assert_eq!(guess_category("こんにちは"), Category::Other);
    }

    #[test]
    fn subject_is_first_line_cut() {
        assert_eq!(subject_from("\n\n  件名です \n本文", "x"), "件名です");
        let long = "あ".repeat(100);
        let s = subject_from(&long, "x");
        assert_eq!(s.chars().count(), SUBJECT_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(subject_from("   ", "fallback"), "fallback");
    }

    #[test]
    fn chatwork_tags_are_stripped_for_subjects_only() {
        assert_eq!(
            strip_chatwork_tags("[To:123]山田さん [info][title]退院[/title]本文[/info]").trim(),
            "山田さん   退院 本文"
        );
        assert_eq!(strip_chatwork_tags("[至急] 確認"), "[至急] 確認");
    }
}
