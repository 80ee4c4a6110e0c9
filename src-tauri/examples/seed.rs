//! Seeds a data dir with a few realistic consultations for looking at the UI (dev only; the
//! real demo data is `renkei demo`). Honours RENKEI_DATA_DIR, RENKEI_KEY_FILE and RENKEI_NOW.
//!
//!     RENKEI_DATA_DIR=/tmp/ui-demo RENKEI_KEY_FILE=/tmp/ui-demo.key \
//!       cargo run -p renkei-desk --example seed
//!
//! With an argument `urgent`, adds one more urgent consultation (as `renkei serve` would), to
//! watch it arrive in a running app. With `staff`, adds three staff profiles with PINs (the app
//! then starts locked): 院長 (doctor, 9999), 田村 (clerk, 1234), 大野 (nurse, 4821).

use renkei_core::desk::{Desk, Document};
use renkei_core::model::{MessageKind, NewConsultation, PartnerRef, Sender};
use renkei_core::store::partners::NewPartner;
use renkei_core::store::DataDir;
use renkei_core::{Category, Channel, PartnerKind, Status, Urgency};
use std::sync::Arc;

type R = Result<(), Box<dyn std::error::Error>>;

/// channel, partner, partner kind, category, urgency, subject, body, sender.
type Item<'a> = (
    Channel,
    &'a str,
    PartnerKind,
    Category,
    Option<Urgency>,
    &'a str,
    &'a str,
    &'a str,
);

fn main() -> R {
    let clock = renkei_core::clock::clock_from_env()?;
    let mut desk = Desk::open(&DataDir::from_env_or_default(), Arc::from(clock))?;
    if std::env::args().nth(1).as_deref() == Some("staff") {
        use renkei_core::store::staff::Role;
        for (name, role, pin) in [
            ("院長", Role::Doctor, "9999"),
            ("田村", Role::Clerk, "1234"),
            ("大野", Role::Nurse, "4821"),
        ] {
            match desk.add_staff(name, role, Some(pin), "seed") {
                Ok(s) => println!("staff {} ({})", s.name, s.role.as_str()),
                Err(e) => println!("staff {name}: {e}"),
            }
        }
        return Ok(());
    }
    if std::env::args().nth(1).as_deref() == Some("urgent") {
        let mut n = NewConsultation::new(
            Channel::Lineworks,
            PartnerRef::Named {
                name: "ひまわり訪問看護ステーション".into(),
                kind: PartnerKind::Nursing,
            },
            Category::BedAvailability,
            "急変、往診可能ですか",
            "SpO2 88%、呼吸苦あり。至急ご相談させてください。",
        );
        n.sender = sender("訪問看護師 山本", Some("看護師"));
        let o = desk.intake(n)?;
        println!("urgent consultation {}", o.id);
        return Ok(());
    }
    if !desk.queue(&Default::default())?.is_empty() {
        println!("already seeded");
        return Ok(());
    }
    let partners = [
        (
            "ひまわり訪問看護ステーション",
            PartnerKind::Nursing,
            vec![Channel::Lineworks],
        ),
        (
            "札幌中央病院 地域連携室",
            PartnerKind::Hospital,
            vec![Channel::PartnerApi, Channel::FaxFolder],
        ),
        (
            "北区第2地域包括支援センター",
            PartnerKind::Houkatsu,
            vec![Channel::Lineworks, Channel::Phone],
        ),
        (
            "居宅介護支援事業所 すずらん",
            PartnerKind::CareManager,
            vec![Channel::Chatwork],
        ),
        (
            "あおば薬局 北24条店",
            PartnerKind::Pharmacy,
            vec![Channel::Chatwork, Channel::Phone],
        ),
    ];
    for (name, kind, channels) in partners {
        desk.add_partner(
            NewPartner {
                name: name.into(),
                kind: Some(kind),
                contact: None,
                phone: None,
                channels,
            },
            "seed",
        )?;
    }
    let items: [Item<'_>; 8] = [
        (Channel::Lineworks, "ひまわり訪問看護ステーション", PartnerKind::Nursing, Category::NewHomeVisit, Some(Urgency::Urgent),
         "SpO2 88%、呼吸苦あり 往診可能ですか", "本日10時訪問時、SpO2 88%（室内気）、呼吸苦の訴えあり。往診可能でしょうか。", "訪問看護師 山本"),
        (Channel::PartnerApi, "札幌中央病院 地域連携室", PartnerKind::Hospital, Category::Discharge, Some(Urgency::Today),
         "退院調整のご相談（12/3退院予定）", "肺炎で入院中の方、12/3退院予定です。退院後の訪問診療をお願いできるか、本日中にご回答ください。", "MSW 佐藤"),
        (Channel::Lineworks, "北区第2地域包括支援センター", PartnerKind::Houkatsu, Category::CommunityConcern, None,
         "独居の方、服薬管理が難しくなっている", "最近薬の飲み忘れが増え、家族も疲れている様子です。医療の関わりが必要か相談させてください。", "社会福祉士 高橋"),
        (Channel::Chatwork, "居宅介護支援事業所 すずらん", PartnerKind::CareManager, Category::NursingIntro, Some(Urgency::Normal),
         "訪問看護の導入について", "褥瘡の処置で訪問看護の導入を検討しています。指示書の件でご相談です。", "ケアマネ 伊藤"),
        (Channel::Chatwork, "あおば薬局 北24条店", PartnerKind::Pharmacy, Category::Medication, Some(Urgency::Today),
         "処方内容の確認（疑義照会）", "12/1処方の用量について確認させてください。", "薬剤師 中村"),
        (Channel::PartnerApi, "札幌中央病院 地域連携室", PartnerKind::Hospital, Category::Alert, Some(Urgency::Fyi),
         "【注意喚起】院内でインフルエンザ集団発生", "5階病棟でインフルエンザの集団発生がありました。面会制限中です。", "感染管理室"),
        (Channel::Phone, "北区第2地域包括支援センター", PartnerKind::Houkatsu, Category::BedAvailability, Some(Urgency::Normal),
         "ショートステイ先の空き状況の確認", "来週からのレスパイト入院先を探しています。", "主任ケアマネ 小林"),
        (Channel::Lineworks, "ひまわり訪問看護ステーション", PartnerKind::Nursing, Category::Info, Some(Urgency::Fyi),
         "<img src=x onerror=alert(1)> 表示テスト", "件名にHTMLが含まれていても文字として表示されること。", "事務 田中"),
    ];
    let now = desk.now();
    let mut ids = Vec::new();
    for (i, (ch, partner, kind, cat, urg, subject, body, who)) in items.into_iter().enumerate() {
        let mut n = NewConsultation::new(
            ch,
            PartnerRef::Named {
                name: partner.into(),
                kind,
            },
            cat,
            subject,
            body,
        );
        n.urgency = urg;
        n.sender = sender(who, None);
        n.received_at = Some(now - chrono::Duration::minutes(5 + 23 * i as i64));
        if ch == Channel::Phone {
            n.entered_by = Some("田村".into());
        }
        ids.push(desk.intake(n)?.id);
    }
    // A referral letter (PDF) and a scanned image.
    let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
    desk.attach(
        ids[1],
        Document {
            name: "診療情報提供書.pdf",
            bytes: pdf,
            declared: None,
        },
        "seed",
    )?;
    let png = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../icons/128x128.png"))?;
    desk.attach(
        ids[3],
        Document {
            name: "褥瘡の写真.png",
            bytes: &png,
            declared: None,
        },
        "seed",
    )?;
    // Some progress.
    desk.ack(ids[1], "大野")?;
    desk.add_message(
        ids[1],
        MessageKind::Note,
        "【S 状況】12/3退院予定\n【R 提案・依頼】院長に受け入れ可否を確認",
        "大野",
    )?;
    desk.set_status(ids[4], Status::InProgress, "田村")?;
    desk.add_message(ids[4], MessageKind::Reply, "確認して折り返します。", "田村")?;
    desk.show(ids[5], Some("田村"))?;
    println!("seeded {} consultations", ids.len());
    Ok(())
}

fn sender(name: &str, role: Option<&str>) -> Sender {
    Sender {
        name: name.into(),
        role: role.map(str::to_string),
        phone: None,
    }
}
