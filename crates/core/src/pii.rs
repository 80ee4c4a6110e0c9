//! Personal-data checks: flags a message that carries more personal information than a
//! consultation needs — phone numbers, full names with honorifics, birth dates, addresses down
//! to the house number, insurance numbers and 12-digit (My Number-like) numbers.
//!
//! Works on width-normalised text ([`crate::urgency::normalize_with_offsets`]), so full-width
//! digits and hyphens are caught too. A flag says what kind of data was found, where (byte
//! offsets into the original text, for highlighting) and what to write instead — never the data
//! itself, so flags are safe to log and to show in notifications. Initials (「A様」), age bands
//! (「80代女性」), staff surnames (「担当の大野です」「田村さん」) and organisation names
//! (「ひまわり訪問看護ステーション様」) are not flagged.

use crate::urgency::normalize_with_offsets;
use serde::{Deserialize, Serialize};

/// Kind codes of [`PiiFlag::kind`].
pub mod kind {
    pub const PHONE: &str = "phone";
    pub const FULL_NAME: &str = "full_name";
    pub const BIRTH_DATE: &str = "birth_date";
    pub const ADDRESS: &str = "address";
    pub const INSURANCE_NO: &str = "insurance_no";
    pub const MY_NUMBER: &str = "my_number";
}

/// One finding, without the matched text itself (never echo personal data into logs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PiiFlag {
    /// Machine code, see [`kind`]: `phone`, `full_name`, `birth_date`, `address`,
    /// `insurance_no`, `my_number`.
    pub kind: String,
    /// Japanese explanation and what to write instead.
    pub message: String,
    /// Byte offset of the finding in the scanned text (for highlighting in the composer).
    #[serde(default)]
    pub start: usize,
    /// Byte offset just after the finding.
    #[serde(default)]
    pub end: usize,
    /// A short replacement to offer (e.g. 「A様」, 「80代」), or empty to just delete.
    #[serde(default)]
    pub suggestion: String,
}

struct KindInfo {
    code: &'static str,
    label: &'static str,
    message: &'static str,
    suggestion: &'static str,
}

const KINDS: &[KindInfo] = &[
    KindInfo {
        code: kind::FULL_NAME,
        label: "氏名",
        message: "氏名（フルネーム）が含まれています。イニシャル（例:「A様」）や連携先の管理番号に置き換えてください。",
        suggestion: "A様",
    },
    KindInfo {
        code: kind::PHONE,
        label: "電話番号",
        message: "電話番号が含まれています。連携先に必要でなければ削除してください（折り返しは事業所の代表番号で足ります）。",
        suggestion: "",
    },
    KindInfo {
        code: kind::BIRTH_DATE,
        label: "生年月日",
        message: "生年月日が含まれています。年代や年齢（例:「80代女性」）で足りる場合は置き換えてください。",
        suggestion: "80代",
    },
    KindInfo {
        code: kind::ADDRESS,
        label: "住所",
        message: "番地までの住所が含まれています。訪問の手配に必要な場合を除き、「北区」など地域名までにしてください。",
        suggestion: "北区",
    },
    KindInfo {
        code: kind::INSURANCE_NO,
        label: "保険の番号",
        message: "被保険者番号などの保険の番号が含まれています。チャットでは送らず、書面か電話で確認してください。",
        suggestion: "",
    },
    KindInfo {
        code: kind::MY_NUMBER,
        label: "マイナンバーの可能性がある番号",
        message: "12桁の番号（マイナンバーの可能性）が含まれています。マイナンバーは連携に使わないでください。削除してください。",
        suggestion: "",
    },
];

fn info(code: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.code == code)
}

/// A finding in character indices of the normalised text.
#[derive(Debug, Clone, Copy)]
struct Span {
    kind: &'static str,
    start: usize,
    end: usize,
}

/// One detector: finds spans of one kind in normalised characters.
type Detector = fn(&[char]) -> Vec<Span>;

/// Scans text for personal data. Findings are in text order and do not overlap.
pub fn scan(text: &str) -> Vec<PiiFlag> {
    let (chars, offsets) = normalize_with_offsets(text);
    let mut spans: Vec<Span> = Vec::new();
    // Priority order: earlier detectors win where findings overlap.
    let detectors: [Detector; 6] = [
        insurance_numbers,
        my_numbers,
        birth_dates,
        phones,
        addresses,
        full_names,
    ];
    for detect in detectors {
        for s in detect(&chars) {
            if !spans.iter().any(|o| s.start < o.end && o.start < s.end) {
                spans.push(s);
            }
        }
    }
    spans.sort_by_key(|s| s.start);
    spans
        .into_iter()
        .filter_map(|s| {
            let k = info(s.kind)?;
            Some(PiiFlag {
                kind: k.code.to_string(),
                message: k.message.to_string(),
                start: *offsets.get(s.start)?,
                end: *offsets.get(s.end)?,
                suggestion: k.suggestion.to_string(),
            })
        })
        .collect()
}

/// One line for the composer, e.g. 「個人情報の可能性: 氏名 1件・電話番号 2件。連携に必要な範囲か
/// 確認してください。」. Empty when there are no flags (nothing to show).
pub fn summary_ja(flags: &[PiiFlag]) -> String {
    let parts: Vec<String> = KINDS
        .iter()
        .filter_map(|k| {
            let n = flags.iter().filter(|f| f.kind == k.code).count();
            (n > 0).then(|| format!("{} {n}件", k.label))
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!(
        "個人情報の可能性: {}。連携に必要な範囲か確認してください。",
        parts.join("・")
    )
}

// ---------------------------------------------------------------- character classes

fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
}

fn is_kanji(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '々' | '〆')
}

fn is_katakana(c: char) -> bool {
    matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}')
}

fn at(chars: &[char], i: usize) -> Option<char> {
    chars.get(i).copied()
}

fn starts_with_str(chars: &[char], i: usize, s: &str) -> bool {
    s.chars()
        .enumerate()
        .all(|(n, c)| at(chars, i + n) == Some(c))
}

fn len_of(s: &str) -> usize {
    s.chars().count()
}

/// End of the digit run starting at `i`.
fn digits_end(chars: &[char], i: usize) -> usize {
    let mut k = i;
    while at(chars, k).is_some_and(is_digit) {
        k += 1;
    }
    k
}

fn window_contains(chars: &[char], from: usize, to: usize, words: &[&str]) -> bool {
    let to = to.min(chars.len());
    (from..to).any(|i| words.iter().any(|w| starts_with_str(chars, i, w)))
}

// ---------------------------------------------------------------- phones

fn is_phone_sep(c: char) -> bool {
    matches!(c, '-' | 'ー' | ' ' | '(' | ')')
}

/// 10 digits (landline, 0120), 11 digits (070/080/090/050 mobiles and IP, 0800), or +81 forms.
fn plausible_phone(digits: &str, international: bool) -> bool {
    if international {
        return (9..=10).contains(&digits.len()) && !digits.starts_with('0');
    }
    match digits.len() {
        10 => digits.starts_with('0') && !digits.starts_with("00"),
        11 => ["050", "060", "070", "080", "090", "0800"]
            .iter()
            .any(|p| digits.starts_with(p)),
        _ => false,
    }
}

fn phones(chars: &[char]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let starts = (c == '0' || (c == '(' && at(chars, i + 1) == Some('0')) || c == '+')
            && !(i > 0 && (is_digit(chars[i - 1]) || chars[i - 1] == '-'));
        if !starts {
            i += 1;
            continue;
        }
        let international = starts_with_str(chars, i, "+81");
        let mut k = if international { i + 3 } else { i };
        let mut digits = String::new();
        let mut prev_sep = false;
        // Each place where a digit group ends with a plausible phone number so far.
        let mut best: Option<usize> = None;
        while let Some(ch) = at(chars, k) {
            if is_digit(ch) {
                digits.push(ch);
                prev_sep = false;
                let group_end = !at(chars, k + 1).is_some_and(is_digit);
                if group_end && plausible_phone(&digits, international) {
                    best = Some(k + 1);
                }
            } else if is_phone_sep(ch) && !digits.is_empty() || ch == '(' {
                // Two separators in a row only as 「) 」 or 「)-」.
                if prev_sep && !(chars[k - 1] == ')' && matches!(ch, ' ' | '-')) {
                    break;
                }
                prev_sep = true;
            } else {
                break;
            }
            if digits.len() > 11 {
                break;
            }
            k += 1;
        }
        if let Some(end) = best {
            out.push(Span {
                kind: kind::PHONE,
                start: i,
                end,
            });
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------- insurance / My Number

const INSURANCE_LABELS: &[&str] = &[
    "被保険者番号",
    "被保険者証番号",
    "保険者番号",
    "保険証番号",
    "介護保険番号",
    "記号番号",
    "記号・番号",
    "受給者番号",
    "受給者証番号",
    "公費番号",
    "負担者番号",
];

fn insurance_numbers(chars: &[char]) -> Vec<Span> {
    let mut out = Vec::new();
    for i in 0..chars.len() {
        let Some(label) = INSURANCE_LABELS
            .iter()
            .find(|l| starts_with_str(chars, i, l))
        else {
            continue;
        };
        let mut k = i + len_of(label);
        let limit = k + 8;
        while k < limit && at(chars, k).is_some_and(|c| !is_digit(c) && c != '\n' && c != '。') {
            k += 1;
        }
        if !at(chars, k).is_some_and(is_digit) {
            continue;
        }
        let start = k;
        let mut end = k;
        let mut n = 0;
        while let Some(c) = at(chars, k) {
            if is_digit(c) {
                n += 1;
                end = k + 1;
            } else if !matches!(c, '-' | ' ') {
                break;
            }
            k += 1;
        }
        if n >= 6 {
            out.push(Span {
                kind: kind::INSURANCE_NO,
                start,
                end,
            });
        }
    }
    out
}

fn my_numbers(chars: &[char]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !is_digit(chars[i]) || (i > 0 && is_digit(chars[i - 1])) {
            i += 1;
            continue;
        }
        let e1 = digits_end(chars, i);
        let span = if e1 - i == 12 {
            Some(e1)
        } else if e1 - i == 4 {
            // 1234-5678-9012 or 1234 5678 9012 (one kind of separator).
            let sep = at(chars, e1).filter(|c| matches!(c, '-' | ' '));
            sep.and_then(|s| {
                let e2 = digits_end(chars, e1 + 1);
                (e2 - e1 - 1 == 4 && at(chars, e2) == Some(s)).then_some(())?;
                let e3 = digits_end(chars, e2 + 1);
                (e3 - e2 - 1 == 4).then_some(e3)
            })
        } else {
            None
        };
        match span {
            Some(end) if !at(chars, end).is_some_and(is_digit) => {
                out.push(Span {
                    kind: kind::MY_NUMBER,
                    start: i,
                    end,
                });
                i = end;
            }
            _ => i = e1.max(i + 1),
        }
    }
    out
}

// ---------------------------------------------------------------- birth dates

const BIRTH_LABELS: &[&str] = &["生年月日", "誕生日", "生まれ", "dob"];

/// Reads `Y<sep>M<sep>D[日]` (or `Y年M月` when `allow_ym`) at `i`; returns (end, had_day).
fn read_ymd(
    chars: &[char],
    i: usize,
    year_digits: std::ops::RangeInclusive<usize>,
) -> Option<(usize, bool)> {
    let y_end = if starts_with_str(chars, i, "元") {
        i + 1
    } else {
        digits_end(chars, i)
    };
    let y_len = y_end - i;
    if !(year_digits.contains(&y_len) || (y_len == 1 && at(chars, i) == Some('元'))) {
        return None;
    }
    let sep1 = at(chars, y_end)?;
    if !matches!(sep1, '年' | '.' | '/' | '-') {
        return None;
    }
    let m_end = digits_end(chars, y_end + 1);
    if !(1..=2).contains(&(m_end - y_end - 1)) {
        return None;
    }
    let sep2 = at(chars, m_end);
    let ascii_sep = matches!(sep1, '.' | '/' | '-');
    match sep2 {
        Some(s) if (ascii_sep && s == sep1) || (!ascii_sep && s == '月') => {
            let d_end = digits_end(chars, m_end + 1);
            if (1..=2).contains(&(d_end - m_end - 1)) {
                let end = if at(chars, d_end) == Some('日') {
                    d_end + 1
                } else {
                    d_end
                };
                if at(chars, end).is_some_and(is_digit) {
                    return None;
                }
                Some((end, true))
            } else if s == '月' {
                Some((m_end + 1, false))
            } else {
                None
            }
        }
        _ => None,
    }
}

fn birth_context(chars: &[char], start: usize, end: usize) -> bool {
    window_contains(chars, start.saturating_sub(12), start, BIRTH_LABELS)
        || window_contains(chars, end, end + 4, &["生", "うまれ"])
}

fn birth_dates(chars: &[char]) -> Vec<Span> {
    const OLD_ERAS: &[&str] = &["明治", "大正", "昭和", "m", "t", "s"];
    const NEW_ERAS: &[&str] = &["平成", "令和", "h", "r"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let mut found = None;
        // Japanese era dates: 昭和12年3月4日, S12.3.4.
        for (eras, old) in [(OLD_ERAS, true), (NEW_ERAS, false)] {
            for era in eras {
                if !starts_with_str(chars, i, era) {
                    continue;
                }
                let ascii = era.is_ascii();
                if ascii && i > 0 && chars[i - 1].is_ascii_alphanumeric() {
                    continue;
                }
                let mut k = i + len_of(era);
                if !ascii && at(chars, k) == Some(' ') {
                    k += 1;
                }
                if let Some((end, had_day)) = read_ymd(chars, k, 1..=2) {
                    let ctx = birth_context(chars, i, end);
                    if ctx || (old && had_day) {
                        found = Some(end);
                    }
                }
            }
        }
        // Western dates with a birth context: 1940/03/04生, 生年月日 1940年3月4日.
        if found.is_none()
            && at(chars, i).is_some_and(is_digit)
            && !(i > 0 && is_digit(chars[i - 1]))
            && (starts_with_str(chars, i, "19")
                || starts_with_str(chars, i, "18")
                || starts_with_str(chars, i, "20"))
        {
            if let Some((end, _)) = read_ymd(chars, i, 4..=4) {
                if birth_context(chars, i, end) {
                    found = Some(end);
                }
            }
        }
        match found {
            Some(end) => {
                out.push(Span {
                    kind: kind::BIRTH_DATE,
                    start: i,
                    end,
                });
                i = end;
            }
            None => i += 1,
        }
    }
    out
}

// ---------------------------------------------------------------- addresses

/// Start of the place-name run that ends at `end` (kanji, digits, katakana; at most 24 chars).
fn address_start(chars: &[char], end: usize) -> usize {
    let mut s = end;
    while s > 0
        && end - s < 24
        && (is_kanji(chars[s - 1])
            || is_digit(chars[s - 1])
            || is_katakana(chars[s - 1])
            || chars[s - 1] == 'ヶ')
    {
        s -= 1;
    }
    s
}

/// Reads house-number detail after 丁目: `3-12`, `3番12号`, `3番地`, `3`.
fn house_number_end(chars: &[char], i: usize) -> Option<usize> {
    let mut k = i;
    if at(chars, k) == Some(' ') {
        k += 1;
    }
    let e = digits_end(chars, k);
    if e == k {
        return None;
    }
    let mut end = e;
    loop {
        let next = at(chars, end);
        if matches!(next, Some('-')) || starts_with_str(chars, end, "番地の") {
            let skip = if next == Some('-') { 1 } else { 3 };
            let e2 = digits_end(chars, end + skip);
            if e2 == end + skip {
                break;
            }
            end = e2;
        } else if starts_with_str(chars, end, "番地") {
            end += 2;
        } else if next == Some('番') && !starts_with_str(chars, end, "番目") {
            let e2 = digits_end(chars, end + 1);
            end = if e2 > end + 1 { e2 } else { end + 1 };
        } else if next == Some('号') {
            end += 1;
            break;
        } else {
            break;
        }
    }
    Some(end)
}

fn addresses(chars: &[char]) -> Vec<Span> {
    const PLACE_CONTEXT: &[&str] = &["市", "区", "町", "村", "条", "丁目", "番地", "郡"];
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        // 〒060-0001
        if chars[i] == '〒' {
            let mut k = i + 1;
            if at(chars, k) == Some(' ') {
                k += 1;
            }
            let e = digits_end(chars, k);
            if e - k == 3 && at(chars, e) == Some('-') && digits_end(chars, e + 1) - e - 1 == 4 {
                let end = digits_end(chars, e + 1);
                out.push(Span {
                    kind: kind::ADDRESS,
                    start: i,
                    end,
                });
                i = end;
                continue;
            }
        }
        if !is_digit(chars[i]) || (i > 0 && is_digit(chars[i - 1])) {
            i += 1;
            continue;
        }
        let e = digits_end(chars, i);
        let mut end = None;
        if starts_with_str(chars, e, "丁目") {
            // 5丁目3-12 / 5丁目3番12号: a house number after the block.
            end = house_number_end(chars, e + 2);
        } else if starts_with_str(chars, e, "番地") {
            end = house_number_end(chars, i);
        } else if at(chars, e) == Some('番') && !starts_with_str(chars, e, "番目") {
            let e2 = digits_end(chars, e + 1);
            if e2 > e + 1 && at(chars, e2) == Some('号') {
                end = Some(e2 + 1);
            }
        } else if at(chars, e) == Some('-') {
            // 3-12-5 after a place name.
            let e2 = digits_end(chars, e + 1);
            if e2 > e + 1 && at(chars, e2) == Some('-') {
                let e3 = digits_end(chars, e2 + 1);
                if e3 > e2 + 1
                    && !at(chars, e3).is_some_and(is_digit)
                    && window_contains(chars, i.saturating_sub(12), i, PLACE_CONTEXT)
                {
                    end = Some(e3);
                }
            }
        }
        match end {
            Some(end) => {
                out.push(Span {
                    kind: kind::ADDRESS,
                    start: address_start(chars, i),
                    end,
                });
                i = end;
            }
            None => i = e.max(i + 1),
        }
    }
    out
}

// ---------------------------------------------------------------- full names

const HONORIFICS: &[&str] = &["様", "さま", "さん", "氏", "殿"];
/// A run ending in one of these is a role or an organisation, not a given name.
const ROLE_SUFFIXES: &[char] = &[
    '長', '員', '師', '士', '者', '室', '所', '院', '局', '課', '係', '科', '部', '医', '会', '社',
    '族', '職', '設', '能', '園', '館', '舎', '署', '庁', '店', '業', '協', '団', '組', '荘', '寮',
    '苑', '家', '宅', '関', '棟', '来', '方', '位', '中', '同', '属', '当',
];
/// A run containing one of these is about a role or an organisation.
const ROLE_WORDS: &[&str] = &[
    "看護", "介護", "病院", "医院", "施設", "包括", "支援", "連携", "担当", "薬局", "訪問", "事業",
    "医師", "家族", "利用", "患者", "本人", "先生", "職員", "会社", "地域", "居宅", "在宅", "役所",
    "保健", "福祉", "相談", "管理", "主治", "医療", "機関", "法人", "病棟", "外来", "歯科", "委員",
    "民生", "近所", "後見", "代理", "学生", "実習", "本人", "主人", "先生", "皆", "各位", "御中",
    "ご", "お",
];
const ROLE_KATAKANA: &[&str] = &[
    "ケア",
    "リハ",
    "ナース",
    "ヘルパ",
    "スタッフ",
    "センター",
    "ドクター",
];
const NAME_LABELS: &[&str] = &[
    "患者氏名",
    "本人氏名",
    "利用者名",
    "患者名",
    "氏名",
    "お名前",
    "名前",
];

fn is_role(run: &[char]) -> bool {
    let s: String = run.iter().collect();
    run.last().is_some_and(|c| ROLE_SUFFIXES.contains(c))
        || ROLE_WORDS.iter().any(|w| s.contains(w))
        || ROLE_KATAKANA.iter().any(|w| s.contains(w))
}

/// Start of the run of chars matching `class` that ends at `end`.
fn run_start(chars: &[char], end: usize, class: fn(char) -> bool) -> usize {
    let mut s = end;
    while s > 0 && class(chars[s - 1]) {
        s -= 1;
    }
    s
}

fn honorific_is_word(chars: &[char], h: usize, hon: &str) -> bool {
    let after = at(chars, h + len_of(hon));
    match hon {
        "様" => matches!(after, Some('子' | '式' | '相' | '々' | '態')),
        "氏" => matches!(after, Some('名')),
        _ => false,
    }
}

/// The full name just before an honorific at `h`, as (start, end).
fn name_before(chars: &[char], h: usize) -> Option<(usize, usize)> {
    let mut end = h;
    if end > 0 && chars[end - 1] == ' ' {
        end -= 1;
    }
    let last = *chars.get(end.checked_sub(1)?)?;
    if is_kanji(last) {
        let s = run_start(chars, end, is_kanji);
        let given = &chars[s..end];
        // 「山田 花子様」: surname, one space, given name.
        if s > 1 && chars[s - 1] == ' ' && is_kanji(chars[s - 2]) && given.len() <= 3 {
            let ss = run_start(chars, s - 1, is_kanji);
            let surname = &chars[ss.max(s.saturating_sub(4))..s - 1];
            if !is_role(given) && !is_role(surname) {
                return Some((ss.max(s.saturating_sub(4)), end));
            }
            return None;
        }
        // 「山田花子様」: 4 kanji or more (surname + given), not a role or an organisation.
        let n = end - s;
        let cand_start = if n >= 6 { end - 4 } else { s };
        if n >= 4 && !is_role(&chars[cand_start..end]) && (n >= 6 || !is_role(&chars[s..end])) {
            return Some((cand_start, end));
        }
        return None;
    }
    if is_katakana(last) {
        let s = run_start(chars, end, is_katakana);
        let given = &chars[s..end];
        if given.contains(&'ー') || is_role(given) {
            return None;
        }
        // 「山田ハナ様」: kanji surname + katakana given name of 2–3.
        if (2..=3).contains(&given.len()) && s >= 2 && is_kanji(chars[s - 1]) {
            let ss = run_start(chars, s, is_kanji);
            let surname = &chars[ss.max(s.saturating_sub(3))..s];
            if surname.len() >= 2 && !is_role(&chars[ss..s]) {
                return Some((ss.max(s.saturating_sub(3)), end));
            }
        }
        // 「ヤマダ ハナコ様」: katakana surname, space, katakana given name.
        if (2..=5).contains(&given.len())
            && s > 2
            && chars[s - 1] == ' '
            && is_katakana(chars[s - 2])
        {
            let ss = run_start(chars, s - 1, is_katakana);
            let surname = &chars[ss..s - 1];
            if (2..=5).contains(&surname.len()) && !surname.contains(&'ー') && !is_role(surname) {
                return Some((ss, end));
            }
        }
    }
    if is_hiragana(last) {
        // 「山田 はな様」: only with a space (hiragana alone is too often ordinary words).
        let s = run_start(chars, end, is_hiragana);
        let given = &chars[s..end];
        if (2..=3).contains(&given.len()) && s > 2 && chars[s - 1] == ' ' && is_kanji(chars[s - 2])
        {
            let ss = run_start(chars, s - 1, is_kanji);
            let surname = &chars[ss.max(s.saturating_sub(4))..s - 1];
            if !surname.is_empty() && !is_role(surname) {
                return Some((ss.max(s.saturating_sub(4)), end));
            }
        }
    }
    None
}

fn full_names(chars: &[char]) -> Vec<Span> {
    let mut out = Vec::new();
    for h in 0..chars.len() {
        for hon in HONORIFICS {
            if !starts_with_str(chars, h, hon) || honorific_is_word(chars, h, hon) {
                continue;
            }
            if let Some((start, end)) = name_before(chars, h) {
                out.push(Span {
                    kind: kind::FULL_NAME,
                    start,
                    end: end.max(start),
                });
            }
        }
        // 「氏名：山田花子」: a name after a label.
        for label in NAME_LABELS {
            if !starts_with_str(chars, h, label) {
                continue;
            }
            let mut k = h + len_of(label);
            while matches!(at(chars, k), Some(':' | ' ' | 'は')) {
                k += 1;
            }
            let e1 = {
                let mut e = k;
                while at(chars, e).is_some_and(|c| is_kanji(c) || is_katakana(c)) {
                    e += 1;
                }
                e
            };
            if e1 - k < 2 {
                continue;
            }
            let mut end = e1;
            if at(chars, e1) == Some(' ') {
                let mut e2 = e1 + 1;
                while at(chars, e2).is_some_and(|c| is_kanji(c) || is_katakana(c) || is_hiragana(c))
                {
                    e2 += 1;
                }
                if e2 > e1 + 1 {
                    end = e2;
                }
            }
            if end - k >= 3 && !is_role(&chars[k..end]) {
                out.push(Span {
                    kind: kind::FULL_NAME,
                    start: k,
                    end,
                });
            }
        }
    }
    out
}
