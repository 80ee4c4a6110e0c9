//! Accuracy of the shipped urgency suggestion on clinician-labelled messages, on two sets:
//!
//! * the **tuning set** `tests/urgency/labelled.json` (a JSON array): the rules were written
//!   while looking at these;
//! * the **held-out set** `tests/urgency/heldout.json` (`{"note", "batches", "cases"}`): written
//!   before the rules were changed and never tuned on (see docs/urgency.md).
//!
//! Prints accuracy and a confusion matrix for each (`cargo test -p renkei-core --test
//! urgency_labelled -- --nocapture`); fails when held-out accuracy drops below 0.90, tuning
//! accuracy below 0.95, or when any urgent message is suggested as 通常 or 確認のみ.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic

use renkei_core::urgency::{suggest, NgramModel, MODEL_JSON};
use renkei_core::Urgency;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Case {
    subject: String,
    body: String,
    expected: Urgency,
    /// Tuning set: `round2` (first held-out check of the first rules, since tuned on) or
    /// `issue16` (added with issue 16). Held-out set: unused.
    #[serde(default)]
    set: String,
    /// Held-out set: the batch (1 = written before the issue-16 rule changes).
    #[serde(default)]
    batch: u32,
}

#[derive(Deserialize)]
struct HeldOut {
    note: String,
    cases: Vec<Case>,
}

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/urgency")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tuning() -> Vec<Case> {
    serde_json::from_str(&data("labelled.json")).expect("labelled.json parses")
}

fn heldout() -> HeldOut {
    serde_json::from_str(&data("heldout.json")).expect("heldout.json parses")
}

struct Report {
    n: usize,
    correct: usize,
    matrix: Vec<Vec<usize>>,
    /// Urgent messages suggested as 通常 or 確認のみ.
    dangerous: Vec<String>,
}

impl Report {
    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.n.max(1) as f64
    }
}

fn idx(u: Urgency) -> usize {
    Urgency::ALL
        .iter()
        .position(|c| *c == u)
        .expect("known class")
}

/// Runs the suggestion over `cases`, prints misses, accuracy and the confusion matrix.
fn evaluate<'a>(name: &str, cases: impl IntoIterator<Item = &'a Case>) -> Report {
    let classes = Urgency::ALL;
    let mut r = Report {
        n: 0,
        correct: 0,
        matrix: vec![vec![0; classes.len()]; classes.len()],
        dangerous: Vec::new(),
    };
    for c in cases {
        let s = suggest(&c.subject, &c.body);
        if let Ok(path) = std::env::var("URGENCY_DUMP") {
            // Debugging aid: one JSON line per message with the suggestion and its rule.
            use std::io::Write;
            let line = serde_json::json!({"set": name, "subject": c.subject, "body": c.body,
                "expected": c.expected, "got": s.urgency, "rule": s.rule,
                "recognised": renkei_core::urgency::default_rules().recognises(&c.subject, &c.body)});
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("dump file");
            writeln!(f, "{line}").expect("dump written");
        }
        r.n += 1;
        r.matrix[idx(c.expected)][idx(s.urgency)] += 1;
        if s.urgency == c.expected {
            r.correct += 1;
        } else {
            eprintln!(
                "[{name}] MISS expected {} got {}: {} / {} — {}",
                c.expected, s.urgency, c.subject, c.body, s.reason
            );
        }
        if c.expected == Urgency::Urgent && s.urgency >= Urgency::Normal {
            r.dangerous
                .push(format!("{} / {} — {}", c.subject, c.body, s.reason));
        }
    }
    eprintln!(
        "[{name}] accuracy {}/{} = {:.3}",
        r.correct,
        r.n,
        r.accuracy()
    );
    eprintln!("[{name}] rows = expected, columns = suggested");
    eprintln!(
        "{:>8} {}",
        "",
        classes
            .iter()
            .map(|c| format!("{:>7}", c.as_str()))
            .collect::<String>()
    );
    for (i, row) in r.matrix.iter().enumerate() {
        let total: usize = row.iter().sum();
        eprintln!(
            "{:>8} {}   (n={total}, recall {:.2})",
            classes[i].as_str(),
            row.iter().map(|n| format!("{n:>7}")).collect::<String>(),
            if total == 0 {
                1.0
            } else {
                row[i] as f64 / total as f64
            }
        );
    }
    r
}

#[test]
fn corpus_is_large_and_split() {
    let t = tuning();
    let h = heldout();
    assert!(h.cases.len() >= 100, "held-out needs ≥ 100 messages");
    assert!(
        t.len() + h.cases.len() >= 300,
        "corpus needs ≥ 300 messages"
    );
    assert!(
        h.note.contains("never tune"),
        "heldout.json must say it is never tuned on"
    );
    for u in Urgency::ALL {
        let n = h.cases.iter().filter(|c| c.expected == *u).count();
        assert!(n >= 15, "held-out needs ≥ 15 {u} messages, has {n}");
    }
    // No message may be in both sets: a copy would make the held-out number meaningless.
    for c in &h.cases {
        assert!(
            !t.iter().any(|x| x.subject == c.subject && x.body == c.body),
            "held-out message also in the tuning set: {}",
            c.body
        );
    }
}

#[test]
fn tuning_set_accuracy() {
    let cases = tuning();
    let r = evaluate("tuning", &cases);
    let round2: Vec<&Case> = cases.iter().filter(|c| c.set == "round2").collect();
    let ok = round2
        .iter()
        .filter(|c| suggest(&c.subject, &c.body).urgency == c.expected)
        .count();
    eprintln!("[tuning] round2 subset {ok}/{}", round2.len());
    assert!(
        r.dangerous.is_empty(),
        "urgent suggested as normal/fyi: {:#?}",
        r.dangerous
    );
    assert!(
        r.accuracy() >= 0.95,
        "tuning accuracy {:.3} < 0.95",
        r.accuracy()
    );
}

#[test]
fn heldout_accuracy() {
    let h = heldout();
    let r = evaluate("held-out", &h.cases);
    let mut batches: Vec<u32> = h.cases.iter().map(|c| c.batch).collect();
    batches.sort_unstable();
    batches.dedup();
    for b in batches {
        let of_batch: Vec<&Case> = h.cases.iter().filter(|c| c.batch == b).collect();
        let ok = of_batch
            .iter()
            .filter(|c| suggest(&c.subject, &c.body).urgency == c.expected)
            .count();
        eprintln!("[held-out] batch {b}: {ok}/{}", of_batch.len());
    }
    assert!(
        r.dangerous.is_empty(),
        "urgent suggested as normal/fyi: {:#?}",
        r.dangerous
    );
    assert!(
        r.accuracy() >= 0.90,
        "held-out accuracy {:.3} < 0.90",
        r.accuracy()
    );
}

/// The shipped fallback model is exactly what training on the tuning set gives (never the
/// held-out set). Retrain after changing labelled.json with
/// `RENKEI_UPDATE_MODEL=1 cargo test -p renkei-core --test urgency_labelled shipped_model`.
#[test]
fn shipped_model_is_trained_on_the_tuning_set() {
    let cases = tuning();
    let model = NgramModel::train(
        cases
            .iter()
            .map(|c| (c.subject.as_str(), c.body.as_str(), c.expected)),
    );
    if std::env::var_os("RENKEI_UPDATE_MODEL").is_some() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/urgency/model.json");
        std::fs::write(&path, model.to_json()).expect("model written");
        return;
    }
    let shipped = NgramModel::from_json(MODEL_JSON).expect("model.json parses");
    assert!(
        shipped == model,
        "model.json is not the model of labelled.json: retrain (see this test's doc)"
    );
}
