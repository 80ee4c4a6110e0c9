//! Accuracy of the shipped urgency rules on a labelled set of realistic messages
//! (`tests/urgency/labelled.json` at the workspace root). Prints per-class counts and the
//! confusion matrix; requires accuracy ≥ 0.85 and that no urgent message is suggested as
//! 通常 or 確認のみ.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic

use renkei_core::urgency::suggest;
use renkei_core::Urgency;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Case {
    subject: String,
    body: String,
    expected: Urgency,
    /// `round2`: written after a first tuning round, measured before and after (see the report).
    #[serde(default)]
    set: String,
}

fn cases() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/urgency/labelled.json");
    let text = std::fs::read_to_string(&path).expect("labelled.json readable");
    serde_json::from_str(&text).expect("labelled.json parses")
}

#[test]
fn labelled_accuracy() {
    let cases = cases();
    assert!(cases.len() >= 60, "need at least 60 labelled messages");
    let classes = Urgency::ALL;
    let idx = |u: Urgency| classes.iter().position(|c| *c == u).expect("known class");
    let mut matrix = vec![vec![0usize; classes.len()]; classes.len()];
    let mut correct = 0;
    let mut dangerous = Vec::new();
    let (mut holdout_n, mut holdout_ok) = (0, 0);
    for c in &cases {
        let s = suggest(&c.subject, &c.body);
        matrix[idx(c.expected)][idx(s.urgency)] += 1;
        if c.set == "round2" {
            holdout_n += 1;
            holdout_ok += usize::from(s.urgency == c.expected);
        }
        if s.urgency == c.expected {
            correct += 1;
        } else {
            eprintln!(
                "MISS expected {} got {}: {} / {} — {}",
                c.expected, s.urgency, c.subject, c.body, s.reason
            );
        }
        if c.expected == Urgency::Urgent && s.urgency >= Urgency::Normal {
            dangerous.push(format!("{} / {} — {}", c.subject, c.body, s.reason));
        }
    }
    let accuracy = correct as f64 / cases.len() as f64;
    eprintln!("accuracy {correct}/{} = {accuracy:.3}", cases.len());
    eprintln!("round2 subset {holdout_ok}/{holdout_n}");
    eprintln!("rows = expected, columns = suggested");
    eprintln!(
        "{:>8} {}",
        "",
        classes
            .iter()
            .map(|c| format!("{:>7}", c.as_str()))
            .collect::<String>()
    );
    for (i, row) in matrix.iter().enumerate() {
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
    assert!(
        dangerous.is_empty(),
        "urgent suggested as normal/fyi: {dangerous:#?}"
    );
    assert!(accuracy >= 0.85, "accuracy {accuracy:.3} < 0.85");
}
