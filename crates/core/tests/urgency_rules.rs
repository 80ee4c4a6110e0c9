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
        UrgencyRules::shipped()
            .suggest_with("", "胃管抜去あり")
            .urgency,
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

#[test]
fn explicit_deadlines_drive_the_suggestion() {
    let s = suggest("", "1時間以内にお返事をお願いします。");
    assert_eq!(s.urgency, Urgent);
    assert_eq!(s.reason, "期限 1時間以内 → 至急");
    assert_eq!(s.rule.as_deref(), Some("deadline_short"));
    check("３０分以内にお電話ください", Urgent);
    check("三十分以内に折り返しをお願いします", Urgent);
    check("二時間以内にご指示いただけますか", Urgent);
    check("1時間半以内に往診可能かお知らせください", Urgent);
    assert_eq!(
        suggest("", "1時間30分以内にご回答ください").reason,
        "期限 90分以内 → 至急"
    );
    check("3時間以内にご判断ください", Urgent);
    // Longer deadlines are for today; a hedge does not lower a stated deadline.
    check("５時間以内にご回答ください", Today);
    check("急ぎではありませんが、24時間以内にご確認ください", Today);
    // Not a deadline for the clinic: how to take a drug, a distance, nothing due.
    check("食後30分以内に服用してください", Normal);
    check("駅から徒歩5分以内の施設です", Normal);
    assert_ne!(suggest("", "30分以内に2回の嘔吐").urgency, Urgent);
    // Other time expressions.
    check("明朝までにご返答ください", Today);
    check("16時までにご回答いただけますか", Today);
    check("きょう中にお返事ください", Today);
}

#[test]
fn same_night_end_of_life_is_urgent() {
    check("本日退院、今夜から看取りです", Urgent);
    check(
        "本日14時に自宅へ退院され、今晩から在宅看取りとなります",
        Urgent,
    );
    check("今夜からご自宅で看取りの方針です", Urgent);
    // The discharge is today but nothing says end of life: today.
    check("本日14時に退院されます", Today);
    // Past or postponed: not urgent.
    check("先月お看取りとなった方のご家族からお礼がありました", Fyi);
    // Postponed: no same-night end of life, only the 看取り topic (本日中).
    check(
        "本日退院の予定でしたが延期になりました。看取りの方です",
        Today,
    );
}

#[test]
fn announcements_fall_to_fyi_unless_something_is_asked_or_a_sign_is_there() {
    check("在宅医療研修会のお知らせ。テーマ：在宅での看取り", Fyi);
    check("担当者会議の議事録を送付します。", Fyi);
    check(
        "保健所より：市内でインフルエンザが流行期に入りました。",
        Fyi,
    );
    check(
        "大雪のため明日の訪問時間を変更しました。ご家族了承済みです。",
        Fyi,
    );
    check("承知しました。ありがとうございます", Fyi);
    // A question or a request keeps it a consultation.
    check(
        "研修会のお知らせと、来月の往診日程についてご相談です。",
        Normal,
    );
    check(
        "議事録を送付します。次回の日程はいつがよろしいでしょうか",
        Normal,
    );
    // A clinical sign is never an announcement's topic.
    check("K様が転倒されましたのでお知らせします。", Today);
    check("ご報告まで。SpO2 88%でした", Urgent);
    // An invitation to consult is not a request to the clinic.
    check(
        "空床のご案内です。レスパイト入院もお気軽にご相談ください。",
        Fyi,
    );
    assert_eq!(
        suggest(
            "【注意喚起】",
            "施設でインフルエンザの集団発生。発熱者の早期把握を"
        )
        .reason,
        "「注意喚起」→ 本日中"
    );
    // An outbreak among the clinic's own patients still counts.
    check("施設内でインフルエンザの集団発生があります", Today);
}

#[test]
fn care_policy_and_family_fatigue_are_not_urgent() {
    check(
        "看取りの方針を確認したいです。呼吸が止まったときに救急車を呼ぶかどうか、ご家族と話し合いが必要です。",
        Normal,
    );
    check(
        "このままでは奥様が倒れてしまいそうです。介護疲れが強く、レスパイトを検討したいです。",
        Normal,
    );
    check(
        "急変しても救急搬送は希望しないとのことです。今後の方針についてご相談させてください。",
        Normal,
    );
    check(
        "意識がなくなったときの対応についてご家族と話し合いたいです。",
        Normal,
    );
    check(
        "今すぐどうこうではありませんが、介護サービスの見直しを相談したいです。",
        Normal,
    );
    // The same words as a present sign stay urgent.
    check("呼吸が止まっています", Urgent);
    check("救急車を呼びました", Urgent);
}

#[test]
fn same_day_requests_and_mild_fever() {
    check(
        "本日お渡し予定の処方で、用量が前回と違います。ご確認をお願いします。",
        Today,
    );
    check("疑義照会です。併用薬についてご確認ください。", Today);
    check("ＢＴ３７．６℃、咳なし", Today);
    check("体温３７．５度", Today);
    check("昨日から発熱があります", Today);
    check("体温37.2℃", Normal);
    check("今夜の見守りについてご相談です", Today);
    check("降圧薬が今日で切れます", Today);
}

#[test]
fn gap_keywords_stay_inside_a_clause() {
    let rules = UrgencyRules::shipped();
    let r = |body: &str| rules.suggest_with("", body);
    assert_eq!(r("本日午後に退院されます").reason, "「本日…退院」→ 本日中");
    assert_eq!(r("本日は会議です。来週退院の方について").urgency, Normal);
    assert_eq!(
        r("本日は会議で、その後の予定は未定です。退院").urgency,
        Normal
    );
    // Discharge planning words are not a discharge.
    assert_eq!(r("本日、退院前カンファレンスを行います").urgency, Normal);
    assert_eq!(r("本日14時に退院").urgency, Today);
}

#[test]
fn model_fills_in_only_where_the_rules_recognise_nothing() {
    use renkei_core::urgency::{
        default_model, suggest_with_model, NgramModel, MODEL_REASON, MODEL_RULE_ID,
    };
    let rules = UrgencyRules::shipped();
    assert!(
        !default_model().is_empty(),
        "model.json has a trained model"
    );
    // A toy model that calls everything with 「ぜーぜー」 urgent.
    let model = NgramModel::train([
        ("", "ぜーぜーしている", Urgent),
        ("", "書類をお願いします", Normal),
        ("", "議事録です", Fyi),
    ]);
    let s = suggest_with_model(&rules, &model, "", "ぜーぜーしている");
    assert_eq!(s.urgency, Urgent);
    assert_eq!(s.rule.as_deref(), Some(MODEL_RULE_ID));
    assert_eq!(s.reason, format!("{MODEL_REASON} → 至急"));
    // Rules win when they match, and when they recognise a negated or normal sign.
    let s = suggest_with_model(
        &rules,
        &model,
        "",
        "ぜーぜーしている。本日中にお返事ください",
    );
    assert_eq!(
        (s.urgency, s.rule.as_deref()),
        (Today, Some("explicit_deadline"))
    );
    for negated in ["ぜーぜーしている、呼吸苦なし", "ぜーぜーしている SpO2 97%"]
    {
        let s = suggest_with_model(&rules, &model, "", negated);
        assert_eq!((s.urgency, s.rule), (Normal, None), "{negated}");
    }
    // A 通常 from the model is the plain no-rule answer.
    let s = suggest_with_model(&rules, &model, "", "書類をお願いします");
    assert_eq!(s.reason, NO_RULE_REASON);
    // An empty model never decides.
    let s = suggest_with_model(&rules, &NgramModel::train([]), "", "ぜーぜーしている");
    assert_eq!(s.reason, NO_RULE_REASON);
    // The shipped model round-trips through its file format.
    let again = NgramModel::from_json(&default_model().to_json()).expect("round trip");
    assert!(&again == default_model());
}

#[test]
fn a_sign_that_does_not_improve_is_not_negated() {
    check("呼吸苦の改善なし", Urgent);
    check("喘息発作、吸入しても改善せず", Urgent);
    check("呼吸困難感は治まらない", Urgent);
    check("呼吸苦は改善しました", Normal);
    check("呼吸苦は治まりました", Normal);
    // Opening hours are not a deadline.
    check("土曜の営業時間が13時までに変わります", Fyi);
}
