//! Per-rule tests of the shipped urgency rules: each rule fires on its words, stays silent on
//! negations, conditionals and hedges, and explains itself.

#![allow(clippy::expect_used, clippy::unwrap_used)] // test code may panic

use renkei_core::urgency::{suggest, UrgencyRules, DEFAULT_RULES_JSON, NO_RULE_REASON};
use renkei_core::Urgency;
use Urgency::{Fyi, Normal, Today, Urgent};

#[track_caller]
fn check(body: &str, want: Urgency) {
    let s = suggest("", body);
    assert_eq!(s.urgency, want, "{body} → {} ({:?})", s.reason, s.matched);
}

#[test]
fn shipped_rules_parse() {
    let rules = UrgencyRules::from_json(DEFAULT_RULES_JSON).expect("rules.json parses");
    assert!(rules.len() >= 30);
    assert_eq!(UrgencyRules::shipped(), rules);
}

#[test]
fn default_is_normal_with_reason() {
    let s = suggest("新規のご相談", "訪問診療をご検討いただきたい方がいます。");
    assert_eq!(s.urgency, Normal);
    assert_eq!(s.reason, NO_RULE_REASON);
    assert_eq!(s.rule, None);
}

#[test]
fn spo2_thresholds_and_spellings() {
    let s = suggest("", "SpO2 88%、呼吸苦、往診可能ですか");
    assert_eq!(s.urgency, Urgent);
    assert_eq!(s.reason, "SpO2 88% → 至急");
    check("Sat 90%です", Urgent);
    check("サチュレーション８９％まで低下", Urgent);
    check("ＳｐＯ２ ８８％", Urgent);
    check("spo2:92", Today);
    check("SpO2 93%", Today);
    check("SpO2 94%", Normal);
    check("SpO2 98%で経過しています", Normal);
    check("SpO2 96→91%に低下", Today);
    check("酸素2L投与下でSpO2 95%", Normal);
    check("SpO2(O2 2L) 89%", Urgent);
}

#[test]
fn explicit_urgent_and_its_negation() {
    assert_eq!(
        suggest("【至急】", "ご連絡ください").reason,
        "「至急」→ 至急"
    );
    check("至急ではありませんが、ご相談です。", Normal);
    check("急ぎではありませんが、訪問診療の新規相談です。", Normal);
    check("お急ぎでなければ来週でも構いません。", Normal);
    check("急ぎの案件ではありません。", Normal);
    check("緊急時の連絡先を共有します。", Fyi);
    check("急ぎで確認をお願いします。", Today);
}

#[test]
fn sudden_change_but_not_conditional() {
    check("本日未明に急変あり。", Urgent);
    check("急変時の対応について、ご家族と話し合いたいです。", Normal);
    check("もし急変した場合は救急要請の方針です。", Normal);
    check("夜間の急変なく経過しています。", Normal);
}

#[test]
fn dyspnoea_and_negations() {
    check("呼吸苦の訴えあり", Urgent);
    check("呼吸困難感が強くなっています", Urgent);
    check("呼吸苦なし、SpO2 98%", Normal);
    check("呼吸苦は特にありません", Normal);
    check("呼吸苦や発熱はありません", Normal);
    check("呼吸苦(-)", Normal);
}

#[test]
fn fever_with_living_alone() {
    assert_eq!(
        suggest("", "独居の方で昨日から発熱があります").reason,
        "「発熱」＋「独居」→ 本日中"
    );
    check("独居の方で昨日から発熱があり、ぼんやりしています", Urgent);
    check("発熱はありませんが独居で心配", Normal);
    check("BT 38.8℃", Today);
    check("ＢＴ３８．９、ぐったりして水分も摂れない", Urgent);
    check("KT 38度6分、食事が摂れない状態", Urgent);
    check("体温37.2℃", Normal);
}

#[test]
fn consciousness_fall_bleeding_chest() {
    check("意識レベル低下あり", Urgent);
    check("意識障害なし", Normal);
    check("JCS 20", Urgent);
    check("JCS 1", Normal);
    check("自宅で転倒し頭部打撲あり", Urgent);
    check("転倒あり、外傷なし", Today);
    check("転倒リスクが高く、福祉用具の相談です", Normal);
    check("吐血あり", Urgent);
    check("黒色便が続いている", Urgent);
    check("胸痛を訴えている", Urgent);
    check("胸痛の既往あり、現在症状なし", Normal);
}

#[test]
fn end_of_life() {
    check("看取りの方針で自宅退院予定の方", Today);
    check("看取りの方、下顎呼吸が出てきました", Urgent);
    check("先ほど呼吸停止を確認されたとご家族から連絡", Urgent);
    let s = suggest("", "念のため。看取りの方、下顎呼吸あり");
    assert_eq!(s.urgency, Urgent, "death signs are firm: {}", s.reason);
}

#[test]
fn discharge_dates() {
    assert_eq!(suggest("本日退院", "").reason, "「本日退院」→ 本日中");
    check("明日退院予定の方の訪問診療のご相談", Today);
    check("退院は明日の午前です", Today);
    check("明日退院の予定でしたが延期になりました", Normal);
    check("来週退院予定です", Normal);
    check("急ぎではありませんが、明日退院の方です", Today);
}

#[test]
fn acceptance_with_deadline() {
    check("受け入れ可否を本日中にお返事いただけますか", Today);
    check("受け入れ可否を15時までにご回答ください", Today);
    check("今すぐ受け入れ可能か教えてください", Urgent);
    check("本日受け入れ可能でしょうか", Today);
    check("来月の受け入れ可否をご検討ください", Normal);
}

#[test]
fn alerts_and_outbreaks() {
    check("【注意喚起】詐欺電話にご注意ください", Today);
    check("施設内でインフルエンザの集団発生があります", Today);
    check("ノロウイルスの集団感染が発生しています", Today);
    check("新型コロナ陽性の利用者がいます", Today);
    check("インフルエンザ予防接種のお知らせ", Fyi);
}

#[test]
fn fyi_phrases() {
    check("研修会のお知らせです", Fyi);
    check(
        "ご参考までに、退院時サマリーを共有します。返信不要です。",
        Fyi,
    );
    check("状況が分かりましたらお知らせください", Normal);
    check("共有のみです", Fyi);
}

#[test]
fn hedges_lower_one_step_only() {
    // 92% is today; 念のため lowers it one step, to normal, and says so.
    let s = suggest("", "念のための報告です。SpO2 92%まで低下しました");
    assert_eq!(s.urgency, Normal, "{}", s.reason);
    assert!(s.reason.contains("念のため"), "{}", s.reason);
    // 90% and below is firm: a hedge never lowers a clinically urgent saturation.
    check("念のための報告です。SpO2 88%まで低下しました", Urgent);
    check("念のため。SpO2 84%", Urgent);
    // A hedge never makes a normal message fyi.
    check(
        "念のためご相談です。独居で服薬を忘れがちな方がいます",
        Normal,
    );
    // A hedge does not lower an explicit deadline.
    check("急ぎではありませんが、本日中にお返事ください", Today);
    check("昨夜は呼吸苦がありましたが、現在は落ち着いています", Today);
}

#[test]
fn reasons_never_contain_message_text() {
    let s = suggest("A様について", "山田太郎様 SpO2 88% 呼吸苦");
    assert!(!s.reason.contains("山田"), "{}", s.reason);
    for m in &s.matched {
        assert!(!m.contains("山田"));
    }
}

#[test]
fn custom_rules_from_json() {
    let json = r#"{"vitals": [{"name": "SpO2", "aliases": ["spo2"], "min": 50, "max": 100, "worst": "low", "unit": "%"}],
        "negations": ["なし"], "rules": [
        {"id": "x", "urgency": "today", "any": ["胃管抜去"]},
        {"id": "y", "urgency": "urgent", "any": ["@SpO2<94"]}]}"#;
    let rules = UrgencyRules::from_json(json).expect("parses");
    assert_eq!(rules.suggest_with("", "胃管抜去あり").urgency, Today);
    assert_eq!(rules.suggest_with("", "胃管抜去なし").urgency, Normal);
    assert_eq!(rules.suggest_with("", "SpO2 93").urgency, Urgent);
    // Custom rules do not leak into the shipped ones.
    assert_eq!(
        UrgencyRules::shipped().suggest_with("", "胃管抜去あり").urgency,
        Normal
    );
}

#[test]
fn bad_rules_are_explained() {
    let e = UrgencyRules::from_json(r#"{"rules": [{"id": "a", "urgency": "soon", "any": ["x"]}]}"#)
        .unwrap_err();
    assert!(e.contains("読めません"), "{e}");
    let e = UrgencyRules::from_json(
        r#"{"rules": [{"id": "a", "urgency": "today", "any": ["@Hb<8"]}]}"#,
    )
    .unwrap_err();
    assert!(e.contains("a") && e.contains("vitals"), "{e}");
    let e = UrgencyRules::from_json(r#"{"rules": [{"id": "b", "urgency": "today"}]}"#).unwrap_err();
    assert!(e.contains("b"), "{e}");
}
