//! The rule engine behind [`crate::urgency::suggest`]: parses the rules file, finds keywords and
//! vital signs in normalised text, discards negated or conditional mentions, applies hedges and
//! explains the result.

use super::normalize::normalize;
use super::Suggestion;
use crate::codes::Urgency;
use serde::Deserialize;

/// Characters that end a clause: negation and number scans never cross them.
const CLAUSE_STOPS: &[char] = &[
    '。', '\n', '!', '?', ';', '】', '【', '」', '「', '『', '』',
];
/// Additional stops for vital-sign scans (a value belongs to the name just before it).
const VITAL_STOPS: &[char] = &['、', ',', '，'];
/// Words that join two symptoms before one shared negation (「呼吸苦や発熱はありません」).
const COORDINATORS: &[&str] = &["や", "・", "/", "及び", "および", "と", "、"];
/// How far (characters) after a keyword a negation or a vital value may be.
const NEGATION_WINDOW: usize = 14;
const VITAL_GAP: usize = 12;
const BEFORE_WINDOW: usize = 6;
/// In a keyword such as 「本日…退院」, `…` stands for at most this many characters of the same
/// clause (「本日14時に自宅へ退院」).
const GAP: char = '…';
const GAP_WINDOW: usize = 12;
/// How far after a deadline (「1時間以内に」) the word saying what is due (返事, 往診 …) may be.
const DEADLINE_WINDOW: usize = 24;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    #[allow(dead_code)]
    version: u32,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
    #[serde(default)]
    vitals: Vec<VitalSpec>,
    #[serde(default)]
    negations: Vec<String>,
    #[serde(default)]
    fillers: Vec<String>,
    #[serde(default)]
    negations_before: Vec<String>,
    /// Phrases that look like a negation but say the sign persists (「改善せず」「治まらない」):
    /// checked before `negations`.
    #[serde(default)]
    negation_breakers: Vec<String>,
    #[serde(default)]
    hedges: Vec<String>,
    #[serde(default)]
    deadlines: Option<DeadlineSpec>,
    rules: Vec<RuleSpec>,
}

/// Explicit response deadlines such as 「30分以内に」「２時間以内に」「三十分以内に」: the number
/// (ASCII, full-width or kanji) before a suffix, in minutes; usable in rules as `@期限<=180`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeadlineSpec {
    /// The name used in rules (`@期限<=180`) and in reasons.
    name: String,
    suffixes: Vec<SuffixSpec>,
    /// A deadline counts only when one of these words follows it in the same clause (返事, 往診,
    /// ください …), so 「食後30分以内に服用」 is not a deadline for the clinic.
    followed_by: Vec<String>,
    /// … and when none of these comes just before the number (食後, 徒歩 …).
    #[serde(default)]
    not_after: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SuffixSpec {
    word: String,
    /// Minutes per unit (分 = 1, 時間 = 60).
    minutes: f64,
    /// Minutes added (「時間半以内」: +30).
    #[serde(default)]
    plus: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct VitalSpec {
    name: String,
    aliases: Vec<String>,
    #[serde(default)]
    unit: String,
    min: f64,
    max: f64,
    /// `low` (SpO2: the lowest value counts) or `high` (体温: the highest counts).
    worst: Worst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Worst {
    Low,
    High,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    urgency: Urgency,
    #[serde(default)]
    any: Vec<String>,
    #[serde(default)]
    all: Vec<Vec<String>>,
    #[serde(default)]
    none: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    firm: bool,
    /// The rule speaks of a topic (看取り, 流行) rather than of a patient's sign: an announcement
    /// voids it.
    #[serde(default)]
    context: bool,
    /// The rule recognises an announcement (お知らせ, 議事録 …); when it matches, context rules
    /// do not count.
    #[serde(default)]
    announcement: bool,
    #[serde(default)]
    #[allow(dead_code)]
    note: String,
}

#[derive(Debug, Clone, PartialEq)]
struct Deadlines {
    name: String,
    suffixes: Vec<(Vec<char>, f64, f64)>,
    followed_by: Vec<Vec<char>>,
    not_after: Vec<Vec<char>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Vital {
    name: String,
    aliases: Vec<Vec<char>>,
    unit: String,
    min: f64,
    max: f64,
    worst: Worst,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Le,
    Lt,
    Ge,
    Gt,
}

impl Op {
    fn holds(self, value: f64, limit: f64) -> bool {
        match self {
            Op::Le => value <= limit,
            Op::Lt => value < limit,
            Op::Ge => value >= limit,
            Op::Gt => value > limit,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Term {
    /// A keyword; `…` in it splits it into parts that must follow each other closely.
    Word {
        shown: String,
        parts: Vec<Vec<char>>,
    },
    Vital {
        vital: usize,
        op: Op,
        limit: f64,
    },
    /// The shortest explicit deadline in the text, in minutes.
    Deadline {
        op: Op,
        limit: f64,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    id: String,
    urgency: Urgency,
    groups: Vec<Vec<Term>>,
    none: Vec<Vec<char>>,
    except: Vec<Vec<char>>,
    firm: bool,
    context: bool,
    announcement: bool,
}

/// A compiled, editable set of urgency rules (see the module doc of [`crate::urgency`]).
///
/// `UrgencyRules::default()` has no rules at all (every message 通常); use
/// [`UrgencyRules::shipped`] for the rules that come with the app.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UrgencyRules {
    vitals: Vec<Vital>,
    negations: Vec<Vec<char>>,
    fillers: Vec<Vec<char>>,
    negations_before: Vec<Vec<char>>,
    negation_breakers: Vec<Vec<char>>,
    hedges: Vec<(String, Vec<char>)>,
    deadlines: Option<Deadlines>,
    rules: Vec<Rule>,
}

/// One rule that matched a text.
struct Hit {
    rule: usize,
    urgency: Urgency,
    firm: bool,
    context: bool,
    announcement: bool,
    why: String,
}

fn chars_of(s: &str) -> Vec<char> {
    normalize(s.trim()).chars().collect()
}

fn non_empty(list: &[String], what: &str) -> Result<Vec<Vec<char>>, String> {
    list.iter()
        .map(|s| {
            let c = chars_of(s);
            if c.is_empty() {
                Err(format!("{what}: 空の語があります"))
            } else {
                Ok(c)
            }
        })
        .collect()
}

fn parse_vital_test(
    spec: &str,
    vitals: &[Vital],
    deadlines: Option<&Deadlines>,
    rule: &str,
) -> Result<Term, String> {
    let body = spec.trim_start_matches('@').trim();
    let ops: [(&str, Op); 4] = [("<=", Op::Le), (">=", Op::Ge), ("<", Op::Lt), (">", Op::Gt)];
    for (sym, op) in ops {
        if let Some(pos) = body.find(sym) {
            let name = normalize(body[..pos].trim());
            let limit: f64 = body[pos + sym.len()..]
                .trim()
                .parse()
                .map_err(|_| format!("ルール {rule}: 「{spec}」の数値が読めません"))?;
            if deadlines.is_some_and(|d| normalize(&d.name) == name) {
                return Ok(Term::Deadline { op, limit });
            }
            let vital = vitals
                .iter()
                .position(|v| normalize(&v.name) == name)
                .ok_or_else(|| {
                    format!(
                        "ルール {rule}: 「{spec}」のバイタル名が vitals にありません(期限は deadlines)"
                    )
                })?;
            return Ok(Term::Vital { vital, op, limit });
        }
    }
    Err(format!(
        "ルール {rule}: 「{spec}」は「@名前<=数値」の形にしてください"
    ))
}

fn find_all(hay: &[char], needle: &[char]) -> Vec<usize> {
    positions(hay, needle).collect()
}

/// Where `needle` starts in `hay`, left to right. The first character is compared on its own
/// before the rest (a slice comparison is a `memcmp` call; this runs for every keyword of
/// every message taken in, on the intake writer's thread).
fn positions<'a>(hay: &'a [char], needle: &'a [char]) -> impl Iterator<Item = usize> + 'a {
    let last = match needle.first() {
        Some(_) if needle.len() <= hay.len() => hay.len() - needle.len() + 1,
        _ => 0,
    };
    let (head, tail) = needle
        .split_first()
        .map_or((&'\0', &[][..]), |(h, t)| (h, t));
    (0..last).filter(move |&i| hay[i] == *head && hay[i + 1..i + needle.len()] == *tail)
}

fn starts_with(hay: &[char], needle: &[char]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()] == *needle
}

fn contains(hay: &[char], needle: &[char]) -> bool {
    positions(hay, needle).next().is_some()
}

/// Spans `(start, end)` of a keyword made of parts that follow each other within the same
/// clause, at most [`GAP_WINDOW`] characters apart (one part: plain occurrences).
fn find_parts(text: &[char], parts: &[Vec<char>]) -> Vec<(usize, usize)> {
    let Some((first, rest)) = parts.split_first() else {
        return Vec::new();
    };
    let mut spans = Vec::new();
    'starts: for s in find_all(text, first) {
        let mut cursor = s + first.len();
        for part in rest {
            let limit = clause_end(text, cursor).min(cursor + GAP_WINDOW + part.len());
            match positions(&text[cursor..limit], part).next() {
                Some(p) => cursor += p + part.len(),
                None => continue 'starts,
            }
        }
        spans.push((s, cursor));
    }
    spans
}

/// Value of a kanji numeral such as 三十, 十五, 二, 百二十 (None if there is none).
fn kanji_number(chars: &[char]) -> Option<f64> {
    if chars.is_empty() {
        return None;
    }
    let (mut total, mut cur) = (0u32, None::<u32>);
    for c in chars {
        let digit = "〇一二三四五六七八九".chars().position(|k| k == *c);
        match (digit, c) {
            (Some(d), _) => cur = Some(d as u32),
            (None, '十') => {
                total += cur.unwrap_or(1) * 10;
                cur = None;
            }
            (None, '百') => {
                total += cur.unwrap_or(1) * 100;
                cur = None;
            }
            _ => return None,
        }
    }
    Some(f64::from(total + cur.unwrap_or(0)))
}

/// The number (ASCII digits after normalisation, or kanji) that ends just before `end`, and
/// where it starts.
fn number_before(text: &[char], end: usize) -> Option<(f64, usize)> {
    let is_digit = |c: &char| c.is_ascii_digit() || *c == '.';
    let start = text[..end]
        .iter()
        .rposition(|c| !is_digit(c))
        .map_or(0, |p| p + 1);
    if start < end && text[start].is_ascii_digit() {
        let s: String = text[start..end].iter().collect();
        return s.parse().ok().map(|v| (v, start));
    }
    let is_kanji = |c: &char| "〇一二三四五六七八九十百".contains(*c);
    let start = text[..end]
        .iter()
        .rposition(|c| !is_kanji(c))
        .map_or(0, |p| p + 1);
    kanji_number(&text[start..end]).map(|v| (v, start))
}

fn fmt_minutes(m: f64) -> String {
    if m >= 60.0 && (m % 60.0).abs() < 1e-9 {
        format!("{}時間以内", fmt_value(m / 60.0))
    } else {
        format!("{}分以内", fmt_value(m))
    }
}

/// ASCII terms such as `bt` or `sat` must not be part of a longer ASCII word.
fn on_ascii_boundary(text: &[char], start: usize, end: usize) -> bool {
    let alpha = |c: Option<&char>| c.is_some_and(|c| c.is_ascii_alphabetic());
    let first_ascii = text.get(start).is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ascii = end > 0 && text.get(end - 1).is_some_and(|c| c.is_ascii_alphanumeric());
    let before_ok = !first_ascii || start == 0 || !alpha(text.get(start - 1));
    let after_ok = !last_ascii || !alpha(text.get(end));
    before_ok && after_ok
}

fn clause_end(text: &[char], from: usize) -> usize {
    text[from..]
        .iter()
        .position(|c| CLAUSE_STOPS.contains(c))
        .map_or(text.len(), |p| from + p)
}

fn clause_start(text: &[char], to: usize) -> usize {
    text[..to]
        .iter()
        .rposition(|c| CLAUSE_STOPS.contains(c))
        .map_or(0, |p| p + 1)
}

fn label(u: Urgency) -> &'static str {
    u.label_ja()
}

fn arrow(part: &str) -> &'static str {
    if part.ends_with('」') {
        "→ "
    } else {
        " → "
    }
}

fn fmt_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        format!("{v:.1}")
    }
}

fn one_step_down(u: Urgency) -> Urgency {
    match u {
        Urgency::Urgent => Urgency::Today,
        Urgency::Today => Urgency::Normal,
        other => other,
    }
}

impl UrgencyRules {
    /// Parses and checks a rules file. The error says, in Japanese, which rule or field is wrong.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let file: RulesFile =
            serde_json::from_str(json).map_err(|e| format!("ルールファイルが読めません: {e}"))?;
        let mut vitals = Vec::new();
        for v in &file.vitals {
            if v.aliases.is_empty() {
                return Err(format!("バイタル {}: aliases が空です", v.name));
            }
            vitals.push(Vital {
                name: v.name.clone(),
                aliases: non_empty(&v.aliases, &v.name)?,
                unit: v.unit.clone(),
                min: v.min,
                max: v.max,
                worst: v.worst,
            });
        }
        let deadlines = match &file.deadlines {
            None => None,
            Some(d) => {
                if d.suffixes.is_empty() || d.followed_by.is_empty() {
                    return Err(format!(
                        "deadlines {}: suffixes と followed_by を入れてください",
                        d.name
                    ));
                }
                let mut suffixes = Vec::new();
                for sfx in &d.suffixes {
                    let c = chars_of(&sfx.word);
                    if c.is_empty() || sfx.minutes <= 0.0 {
                        return Err(format!("deadlines {}: 空の語か 0 分があります", d.name));
                    }
                    suffixes.push((c, sfx.minutes, sfx.plus));
                }
                // Longest suffix first: 「時間半以内」 before 「時間以内」.
                suffixes.sort_by_key(|(c, _, _)| std::cmp::Reverse(c.len()));
                Some(Deadlines {
                    name: d.name.clone(),
                    suffixes,
                    followed_by: non_empty(&d.followed_by, &d.name)?,
                    not_after: non_empty(&d.not_after, &d.name)?,
                })
            }
        };
        let mut rules = Vec::new();
        for r in &file.rules {
            let mut groups_spec = r.all.clone();
            if !r.any.is_empty() {
                groups_spec.push(r.any.clone());
            }
            if groups_spec.is_empty() || groups_spec.iter().any(|g| g.is_empty()) {
                return Err(format!("ルール {}: any か all に語を入れてください", r.id));
            }
            let mut groups = Vec::new();
            for g in &groups_spec {
                let mut terms = Vec::new();
                for t in g {
                    if t.trim_start().starts_with('@') {
                        terms.push(parse_vital_test(t, &vitals, deadlines.as_ref(), &r.id)?);
                    } else {
                        let parts: Vec<Vec<char>> = t
                            .split(GAP)
                            .map(chars_of)
                            .filter(|p| !p.is_empty())
                            .collect();
                        if parts.is_empty() {
                            return Err(format!("ルール {}: 空の語があります", r.id));
                        }
                        terms.push(Term::Word {
                            shown: t.trim().to_string(),
                            parts,
                        });
                    }
                }
                groups.push(terms);
            }
            rules.push(Rule {
                id: r.id.clone(),
                urgency: r.urgency,
                groups,
                none: non_empty(&r.none, &r.id)?,
                except: non_empty(&r.except, &r.id)?,
                firm: r.firm,
                context: r.context,
                announcement: r.announcement,
            });
        }
        Ok(UrgencyRules {
            vitals,
            negations: non_empty(&file.negations, "negations")?,
            fillers: non_empty(&file.fillers, "fillers")?,
            negations_before: non_empty(&file.negations_before, "negations_before")?,
            negation_breakers: non_empty(&file.negation_breakers, "negation_breakers")?,
            hedges: file
                .hedges
                .iter()
                .map(|h| (h.trim().to_string(), chars_of(h)))
                .filter(|(_, c)| !c.is_empty())
                .collect(),
            deadlines,
            rules,
        })
    }

    /// The rules shipped with the app (`rules.json`).
    pub fn shipped() -> Self {
        super::default_rules().clone()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Suggests an urgency for a message with these rules.
    pub fn suggest_with(&self, subject: &str, body: &str) -> Suggestion {
        let text: Vec<char> = normalize(&format!("{subject}\n{body}")).chars().collect();
        let values: Vec<Option<f64>> = self
            .vitals
            .iter()
            .map(|v| self.vital_value(&text, v))
            .collect();
        let deadline = self.deadline_minutes(&text);

        let mut hits: Vec<Hit> = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if let Some(why) = self.rule_matches(&text, &values, deadline, rule) {
                hits.push(Hit {
                    rule: i,
                    urgency: rule.urgency,
                    firm: rule.firm,
                    context: rule.context,
                    announcement: rule.announcement,
                    why,
                });
            }
        }
        // An announcement (研修会のお知らせ, 議事録の送付) voids rules that only name a topic
        // (看取り, 流行): the words are there, but nothing is asked of the clinic.
        if hits.iter().any(|h| h.announcement) {
            hits.retain(|h| !h.context);
        }
        if hits.is_empty() {
            return Suggestion::no_rule();
        }
        // Stable: more urgent first, then file order (specific rules are written first).
        hits.sort_by_key(|h| (h.urgency, h.rule));
        let matched: Vec<String> = hits
            .iter()
            .map(|h| format!("{}{}{}", h.why, arrow(&h.why), label(h.urgency)))
            .collect();

        let hedge = self.find_hedge(&text);
        let best_firm = hits
            .iter()
            .filter(|h| h.firm)
            .min_by_key(|h| (h.urgency, h.rule));
        let best_soft = hits
            .iter()
            .filter(|h| !h.firm)
            .min_by_key(|h| (h.urgency, h.rule));
        let soft_level = best_soft.map(|h| match hedge {
            Some(_) => one_step_down(h.urgency),
            None => h.urgency,
        });

        let (deciding, urgency, hedged) = match (best_firm, best_soft, soft_level) {
            (Some(f), Some(s), Some(level)) if level < f.urgency => (s, level, level != s.urgency),
            (Some(f), _, _) => (f, f.urgency, false),
            (None, Some(s), Some(level)) => (s, level, level != s.urgency),
            _ => return Suggestion::no_rule(),
        };
        let base = format!(
            "{}{}{}",
            deciding.why,
            arrow(&deciding.why),
            label(deciding.urgency)
        );
        let reason = match (hedged, hedge) {
            (true, Some(h)) => format!("{base}、ただし「{h}」→ {}", label(urgency)),
            _ => base,
        };
        Suggestion {
            urgency,
            reason,
            rule: Some(self.rules[deciding.rule].id.clone()),
            matched,
        }
    }

    /// True when some rule would have matched the text if negations, conditionals, `none` and
    /// `except` were ignored (a vital sign or deadline counts when any value of it is present):
    /// the rules understood the message even when they suggest nothing (「呼吸苦なし」「SpO2 96%」
    /// 「急変時は」), so a statistical guess must not overrule them.
    pub fn recognises(&self, subject: &str, body: &str) -> bool {
        let text: Vec<char> = normalize(&format!("{subject}\n{body}")).chars().collect();
        let values: Vec<Option<f64>> = self
            .vitals
            .iter()
            .map(|v| self.vital_value(&text, v))
            .collect();
        let deadline = self.deadline_minutes(&text);
        self.rules.iter().any(|rule| {
            rule.groups.iter().all(|group| {
                group.iter().any(|term| match term {
                    Term::Word { parts, .. } => find_parts(&text, parts)
                        .into_iter()
                        .any(|(s, e)| on_ascii_boundary(&text, s, e)),
                    Term::Vital { vital, .. } => values.get(*vital).copied().flatten().is_some(),
                    // 「食後30分以内」 is recognised too: the rules read it and let it go.
                    Term::Deadline { .. } => {
                        deadline.is_some()
                            || self.deadlines.as_ref().is_some_and(|d| {
                                d.suffixes.iter().any(|(sfx, _, _)| contains(&text, sfx))
                            })
                    }
                })
            })
        })
    }

    fn find_hedge(&self, text: &[char]) -> Option<&str> {
        self.hedges
            .iter()
            .find(|(_, c)| contains(text, c))
            .map(|(shown, _)| shown.as_str())
    }

    /// `Some(explanation)` when every group of the rule has a live (non-negated) match.
    fn rule_matches(
        &self,
        text: &[char],
        values: &[Option<f64>],
        deadline: Option<f64>,
        rule: &Rule,
    ) -> Option<String> {
        let masked: Vec<(usize, usize)> = rule
            .except
            .iter()
            .flat_map(|e| find_all(text, e).into_iter().map(move |s| (s, s + e.len())))
            .collect();
        // A `none` word inside an `except` phrase does not count either (「お気軽にご相談ください」
        // is an invitation, not a request).
        if rule.none.iter().any(|n| {
            find_all(text, n).into_iter().any(|s| {
                let e = s + n.len();
                !masked.iter().any(|&(ms, me)| ms <= s && e <= me) && !self.is_negated(text, s, e)
            })
        }) {
            return None;
        }
        let mut parts = Vec::new();
        for group in &rule.groups {
            let found = group.iter().find_map(|term| match term {
                Term::Word { shown, parts } => {
                    let live = find_parts(text, parts).into_iter().any(|(s, e)| {
                        on_ascii_boundary(text, s, e)
                            && !masked.iter().any(|&(ms, me)| s < me && ms < e)
                            && !self.is_negated(text, s, e)
                    });
                    live.then(|| format!("「{shown}」"))
                }
                Term::Vital { vital, op, limit } => {
                    let v = values.get(*vital).copied().flatten()?;
                    let spec = self.vitals.get(*vital)?;
                    op.holds(v, *limit)
                        .then(|| format!("{} {}{}", spec.name, fmt_value(v), spec.unit))
                }
                Term::Deadline { op, limit } => {
                    let m = deadline?;
                    let name = &self.deadlines.as_ref()?.name;
                    op.holds(m, *limit)
                        .then(|| format!("{name} {}", fmt_minutes(m)))
                }
            })?;
            parts.push(found);
        }
        Some(parts.join("＋"))
    }

    /// A mention is void when followed (after fillers such as は/が/の訴え) by a negation
    /// (なし, ではありません, 時, の際 …), or preceded in its clause by 既往/もし/万一 ….
    fn is_negated(&self, text: &[char], start: usize, end: usize) -> bool {
        let cs = clause_start(text, start);
        let before = &text[start.saturating_sub(BEFORE_WINDOW).max(cs)..start];
        if self.negations_before.iter().any(|n| contains(before, n)) {
            return true;
        }
        let ce = clause_end(text, end);
        let rest = &text[end..ce.min(end + NEGATION_WINDOW)];
        if self.negated_after_fillers(rest) {
            return true;
        }
        // 「呼吸苦や発熱はありません」: a coordinator, then one shared は/も + negation.
        for c in COORDINATORS {
            let c: Vec<char> = c.chars().collect();
            if starts_with(rest, &c) {
                return rest
                    .iter()
                    .enumerate()
                    .skip(c.len())
                    .filter(|(_, ch)| **ch == 'は' || **ch == 'も')
                    .any(|(i, _)| self.negated_after_fillers(&rest[i + 1..]));
            }
        }
        false
    }

    fn negated_after_fillers(&self, rest: &[char]) -> bool {
        let mut rest = rest;
        for _ in 0..6 {
            if rest.first() == Some(&' ') {
                rest = &rest[1..];
                continue;
            }
            if self.negation_breakers.iter().any(|b| starts_with(rest, b)) {
                return false;
            }
            if self.negations.iter().any(|n| starts_with(rest, n)) {
                return true;
            }
            // Longest filler first so 「の訴えは」 wins over 「の」.
            match self
                .fillers
                .iter()
                .filter(|f| starts_with(rest, f))
                .max_by_key(|f| f.len())
            {
                Some(f) => rest = &rest[f.len()..],
                None => return false,
            }
        }
        false
    }

    /// The shortest explicit response deadline in the text, in minutes: a number before a
    /// suffix (「30分以内」「２時間以内」「三十分以内」「1時間30分以内」), followed in its clause by
    /// what is due (返事, 往診, ください …) and not preceded by 食後, 徒歩 ….
    fn deadline_minutes(&self, text: &[char]) -> Option<f64> {
        let d = self.deadlines.as_ref()?;
        let mut best: Option<f64> = None;
        for (suffix, per, plus) in &d.suffixes {
            for p in find_all(text, suffix) {
                let Some((n, start)) = number_before(text, p) else {
                    continue;
                };
                let mut minutes = n * per + plus;
                let mut start = start;
                // 「1時間30分以内」: the hours before the minutes count too.
                let hour: Vec<char> = "時間".chars().collect();
                if *per < 60.0 && start >= hour.len() && text[start - hour.len()..start] == *hour {
                    if let Some((h, s)) = number_before(text, start - hour.len()) {
                        minutes += h * 60.0;
                        start = s;
                    }
                }
                let before = &text[start.saturating_sub(4).max(clause_start(text, start))..start];
                if d.not_after.iter().any(|w| contains(before, w)) {
                    continue;
                }
                let from = p + suffix.len();
                let after = &text[from..clause_end(text, from).min(from + DEADLINE_WINDOW)];
                if !d.followed_by.iter().any(|w| contains(after, w)) {
                    continue;
                }
                best = Some(best.map_or(minutes, |b: f64| b.min(minutes)));
            }
        }
        best
    }

    /// The worst value of a vital sign in the text (lowest SpO2, highest 体温), if any.
    fn vital_value(&self, text: &[char], vital: &Vital) -> Option<f64> {
        let mut found: Vec<f64> = Vec::new();
        for alias in &vital.aliases {
            for s in find_all(text, alias) {
                let e = s + alias.len();
                if !on_ascii_boundary(text, s, e) {
                    continue;
                }
                found.extend(read_values_after(text, e, vital));
            }
        }
        match vital.worst {
            Worst::Low => found.into_iter().reduce(f64::min),
            Worst::High => found.into_iter().reduce(f64::max),
        }
    }
}

/// Reads a number (or a range / trend such as `95→88`, `88~90`) shortly after a vital's name.
fn read_values_after(text: &[char], from: usize, vital: &Vital) -> Vec<f64> {
    let mut j = from;
    let mut gap = 0;
    while j < text.len() && gap <= VITAL_GAP {
        let c = text[j];
        if CLAUSE_STOPS.contains(&c) || VITAL_STOPS.contains(&c) {
            break;
        }
        if c.is_ascii_digit() {
            let mut values = Vec::new();
            let mut k = j;
            while let Some((v, next)) = read_number(text, k) {
                if (vital.min..=vital.max).contains(&v) {
                    values.push(v);
                }
                // Skip the unit, then look for a range/trend separator and another number.
                let mut m = next;
                while m < text.len() && matches!(text[m], '%' | '℃' | '度' | ' ') {
                    m += 1;
                }
                if m < text.len() && matches!(text[m], '~' | '-' | '→' | '/' | '⇒') {
                    m += 1;
                    while m < text.len() && text[m] == ' ' {
                        m += 1;
                    }
                    if m < text.len() && text[m].is_ascii_digit() {
                        k = m;
                        continue;
                    }
                }
                break;
            }
            if !values.is_empty() {
                return values;
            }
            // Not a plausible value (e.g. 「酸素2L」): keep looking a little further.
            while j < text.len() && (text[j].is_ascii_digit() || text[j] == '.') {
                j += 1;
            }
            gap += 1;
            continue;
        }
        gap += 1;
        j += 1;
    }
    Vec::new()
}

/// Reads `38`, `38.5` or `38度5分` at `at`; returns the value and the index after it.
fn read_number(text: &[char], at: usize) -> Option<(f64, usize)> {
    let mut k = at;
    let mut s = String::new();
    while k < text.len() && text[k].is_ascii_digit() {
        s.push(text[k]);
        k += 1;
    }
    if s.is_empty() {
        return None;
    }
    if k + 1 < text.len() && text[k] == '.' && text[k + 1].is_ascii_digit() {
        s.push('.');
        k += 1;
        while k < text.len() && text[k].is_ascii_digit() {
            s.push(text[k]);
            k += 1;
        }
    } else if k + 2 < text.len()
        && text[k] == '度'
        && text[k + 1].is_ascii_digit()
        && text[k + 2] == '分'
    {
        s.push('.');
        s.push(text[k + 1]);
        k += 3;
    }
    s.parse().ok().map(|v| (v, k))
}
