//! Personal-data checks against labelled positive and negative cases
//! (`tests/pii/cases.json` at the workspace root): each case lists exactly the kinds that must be
//! flagged; messages never echo the data; offsets point into the text.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic

use renkei_core::pii::{scan, summary_ja, PiiFlag};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::PathBuf;

#[derive(Deserialize)]
struct Case {
    text: String,
    expect: Vec<String>,
}

fn cases() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/pii/cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("cases.json")).expect("parses")
}

fn kinds(flags: &[PiiFlag]) -> BTreeSet<String> {
    flags.iter().map(|f| f.kind.clone()).collect()
}

#[test]
fn labelled_cases() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for c in &cases {
        let flags = scan(&c.text);
        let want: BTreeSet<String> = c.expect.iter().cloned().collect();
        if kinds(&flags) != want {
            failures.push(format!(
                "{} → {:?} (want {:?})",
                c.text,
                kinds(&flags),
                want
            ));
        }
        for f in &flags {
            assert!(f.start < f.end && f.end <= c.text.len(), "{f:?}");
            let found = &c.text[f.start..f.end];
            assert!(!f.message.contains(found), "message echoes data: {f:?}");
            assert!(!f.message.is_empty());
        }
    }
    let positives = cases.iter().filter(|c| !c.expect.is_empty()).count();
    eprintln!(
        "pii cases: {} total ({positives} positive, {} negative), {} failing",
        cases.len(),
        cases.len() - positives,
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn offsets_cover_the_finding() {
    let text = "連絡先は０９０－１２３４－５６７８です";
    let flags = scan(text);
    assert_eq!(flags.len(), 1);
    assert_eq!(
        &text[flags[0].start..flags[0].end],
        "０９０－１２３４－５６７８"
    );
    let text = "山田花子様の件";
    let f = &scan(text)[0];
    assert_eq!(&text[f.start..f.end], "山田花子");
    assert_eq!(f.suggestion, "A様");
}

#[test]
fn phone_message_is_the_documented_one() {
    let f = &scan("090-1234-5678")[0];
    assert!(f
        .message
        .starts_with("電話番号が含まれています。連携先に必要でなければ削除してください"));
}

#[test]
fn summary_counts_kinds() {
    assert_eq!(summary_ja(&[]), "");
    let flags = scan("山田花子様 090-1234-5678 011-222-3333");
    let s = summary_ja(&flags);
    assert!(s.contains("氏名 1件") && s.contains("電話番号 2件"), "{s}");
    assert!(!s.contains("山田") && !s.contains("090"), "{s}");
}

#[test]
fn long_digit_runs_are_not_phones() {
    assert!(scan("伝票番号 0901234567890123")
        .iter()
        .all(|f| f.kind != "phone"));
    assert!(scan("0.5mg 1日2回").is_empty());
}
