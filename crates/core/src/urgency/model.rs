//! A small statistical fallback beside the rules: a multinomial naive Bayes classifier over
//! character 1–3-grams of the normalised text, trained on the labelled tuning set
//! (`tests/urgency/labelled.json`) and shipped as `model.json`.
//!
//! It is used only when **no rule matched** (see [`crate::urgency::suggest`]): the rules decide
//! everything they recognise, and the model catches acute messages worded in ways the rules do
//! not know (「脈が弱い」「喘息発作」). Its suggestion carries a reason saying it is a statistical
//! estimate, never words from the message.

use super::normalize::normalize;
use crate::codes::Urgency;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Character n-gram lengths used as features.
const MIN_N: usize = 1;
const MAX_N: usize = 3;
/// Laplace smoothing.
const ALPHA: f64 = 0.5;
/// Only the start of a long message is read (referral letters can be long; the point is early).
const MAX_CHARS: usize = 2000;

/// The classes in the order of the count arrays.
const CLASSES: [Urgency; 4] = [
    Urgency::Urgent,
    Urgency::Today,
    Urgency::Normal,
    Urgency::Fyi,
];

/// The trained model: per class, how many messages and how often each n-gram occurred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NgramModel {
    /// Format version.
    pub version: u32,
    /// Messages per class (urgent, today, normal, fyi).
    pub docs: [u32; 4],
    /// Occurrences of each n-gram per class (urgent, today, normal, fyi).
    pub grams: BTreeMap<String, [u32; 4]>,
    #[serde(skip)]
    totals: [f64; 4],
}

fn class_index(u: Urgency) -> usize {
    CLASSES.iter().position(|c| *c == u).unwrap_or(2)
}

/// The features of a message: character n-grams of the normalised `subject\nbody`.
fn features(subject: &str, body: &str) -> HashMap<String, u32> {
    let text: Vec<char> = normalize(&format!("{subject}\n{body}"))
        .chars()
        .take(MAX_CHARS)
        .collect();
    let mut f: HashMap<String, u32> = HashMap::new();
    for n in MIN_N..=MAX_N {
        for w in text.windows(n) {
            *f.entry(w.iter().collect()).or_default() += 1;
        }
    }
    f
}

impl NgramModel {
    /// Counts n-grams of labelled messages `(subject, body, urgency)`.
    pub fn train<'a>(cases: impl IntoIterator<Item = (&'a str, &'a str, Urgency)>) -> Self {
        let mut docs = [0u32; 4];
        let mut grams: BTreeMap<String, [u32; 4]> = BTreeMap::new();
        for (subject, body, u) in cases {
            let k = class_index(u);
            docs[k] += 1;
            for (g, n) in features(subject, body) {
                grams.entry(g).or_default()[k] += n;
            }
        }
        Self::with_totals(NgramModel {
            version: 1,
            docs,
            grams,
            totals: [0.0; 4],
        })
    }

    fn with_totals(mut self) -> Self {
        let mut totals = [0.0; 4];
        for counts in self.grams.values() {
            for (t, c) in totals.iter_mut().zip(counts) {
                *t += f64::from(*c);
            }
        }
        self.totals = totals;
        self
    }

    /// Reads a model file (see [`NgramModel::to_json`]).
    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str::<NgramModel>(json)
            .map(Self::with_totals)
            .map_err(|e| format!("モデルファイルが読めません: {e}"))
    }

    /// The model file: one n-gram per line, sorted, so that retraining gives readable diffs.
    pub fn to_json(&self) -> String {
        let mut out = format!(
            "{{\"version\": {}, \"docs\": {:?},\n\"grams\": {{\n",
            self.version, self.docs
        );
        let lines: Vec<String> = self
            .grams
            .iter()
            .map(|(g, c)| format!("{}: {:?}", serde_json::to_string(g).unwrap_or_default(), c))
            .collect();
        out.push_str(&lines.join(",\n"));
        out.push_str("\n}}\n");
        out
    }

    /// True when the model has seen no messages.
    pub fn is_empty(&self) -> bool {
        self.docs.iter().all(|d| *d == 0)
    }

    /// The most likely class of a message (`None` for an empty model).
    pub fn classify(&self, subject: &str, body: &str) -> Option<Urgency> {
        if self.is_empty() {
            return None;
        }
        let n_docs: f64 = self.docs.iter().map(|d| f64::from(*d)).sum();
        let vocab = self.grams.len() as f64;
        let mut scores: [f64; 4] = [0.0; 4];
        for (k, s) in scores.iter_mut().enumerate() {
            *s = ((f64::from(self.docs[k]) + 1.0) / (n_docs + 4.0)).ln();
        }
        for (g, n) in features(subject, body) {
            let Some(counts) = self.grams.get(&g) else {
                continue;
            };
            for (k, s) in scores.iter_mut().enumerate() {
                let p = (f64::from(counts[k]) + ALPHA) / (self.totals[k] + ALPHA * vocab);
                *s += f64::from(n) * p.ln();
            }
        }
        let best = (0..4).fold(0, |b, k| if scores[k] > scores[b] { k } else { b });
        Some(CLASSES[best])
    }
}
