//! Synthetic but realistic data: ~20 partners, a mix of channels, categories and urgencies,
//! Japanese subjects and bodies with the words the clinic searches for (退院, 発熱, 訪問診療,
//! インフルエンザ), and a bulk generator of whole stores (10k–1M consultations, ~97% resolved)
//! cached under `target/bench-data/` by size + schema version + generator version.

use crate::stats::Rng;
use anyhow::{Context, Result};
use chrono::{DateTime, Duration, TimeZone, Utc};
use renkei_core::model::{NewConsultation, PartnerRef, Sender};
use renkei_core::store::{self, migrations, search, DataDir, Store, StoreKey};
use renkei_core::{Category, Channel, PartnerKind, Urgency};
use rusqlite::{params, Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Bump when the generated data changes shape (invalidates the cache).
pub const GEN_VERSION: u32 = 2;

pub const PARTNERS: &[(&str, PartnerKind)] = &[
    ("札幌北辰病院 地域連携室", PartnerKind::Hospital),
    ("札幌東和会病院 医療福祉相談室", PartnerKind::Hospital),
    ("手稲中央病院 入退院支援室", PartnerKind::Hospital),
    ("北区総合病院 地域医療連携課", PartnerKind::Hospital),
    ("白石記念病院 患者支援センター", PartnerKind::Hospital),
    ("北区第一地域包括支援センター", PartnerKind::Houkatsu),
    ("東区地域包括支援センター", PartnerKind::Houkatsu),
    ("麻生地域包括支援センター", PartnerKind::Houkatsu),
    ("居宅介護支援事業所 さくら", PartnerKind::CareManager),
    ("ケアプランセンター みなみ", PartnerKind::CareManager),
    ("居宅介護支援 つばさ", PartnerKind::CareManager),
    ("ケアマネ室 ほっと", PartnerKind::CareManager),
    ("ひまわり訪問看護ステーション", PartnerKind::Nursing),
    ("訪問看護ステーション あおば", PartnerKind::Nursing),
    ("訪問看護 こもれび", PartnerKind::Nursing),
    ("なの花薬局 北24条店", PartnerKind::Pharmacy),
    ("アイン薬局 新琴似店", PartnerKind::Pharmacy),
    ("特別養護老人ホーム 緑風苑", PartnerKind::Facility),
    ("グループホーム はまなす", PartnerKind::Facility),
    ("サービス付き高齢者住宅 ことに", PartnerKind::Facility),
];

const SURNAMES: &[&str] = &[
    "田中",
    "佐藤",
    "鈴木",
    "高橋",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
];

const SENDERS: &[&str] = &[
    "相談員 石田",
    "MSW 小川",
    "看護師 森",
    "ケアマネ 岡田",
    "薬剤師 長谷川",
    "施設長 村上",
    "相談員 近藤",
    "看護師 石井",
];

/// (category, subject templates, body sentences) — `{n}` is a patient surname.
fn texts(c: Category) -> (&'static [&'static str], &'static [&'static str]) {
    match c {
        Category::NewHomeVisit => (
            &[
                "{n}様 訪問診療の新規依頼",
                "訪問診療導入のご相談（{n}様）",
                "在宅移行に伴う訪問診療のお願い",
            ],
            &[
                "{n}様、自宅での看取りを希望されており訪問診療の導入をご検討ください。",
                "通院が困難になってきたため訪問診療をお願いしたいとのことです。",
                "ご家族は日中不在のため訪問時間のご相談をさせてください。",
            ],
        ),
        Category::NursingIntro => (
            &[
                "訪問看護導入のご相談（{n}様）",
                "{n}様 訪問看護の開始について",
            ],
            &[
                "褥瘡処置のため週2回の訪問看護を検討しています。",
                "服薬管理とバイタル確認のため訪問看護の指示書をお願いします。",
            ],
        ),
        Category::Discharge => (
            &[
                "{n}様 退院前カンファレンス日程のご相談",
                "退院調整：{n}様の退院日について",
                "{n}様 退院後の訪問診療について",
            ],
            &[
                "{n}様は来週退院予定です。退院前カンファレンスへのご参加をお願いします。",
                "退院後は訪問診療と訪問看護の併用を予定しています。",
                "退院時処方は14日分の予定です。",
            ],
        ),
        Category::BedAvailability => (
            &["レスパイト入院の空床確認", "{n}様 受け入れ可否のご確認"],
            &[
                "来週のレスパイト入院の受け入れは可能でしょうか。",
                "空床状況をご教示ください。",
            ],
        ),
        Category::CommunityConcern => (
            &["地域のご相談：{n}様の独居生活", "近隣からの見守り依頼"],
            &[
                "独居で食事がとれていない様子とのことです。",
                "民生委員より連絡があり、訪問の可否をご相談したいです。",
            ],
        ),
        Category::Medication => (
            &["{n}様 処方内容の確認", "残薬調整のご相談（{n}様）"],
            &[
                "残薬が多く、一包化のご検討をお願いします。",
                "解熱剤の追加処方についてご確認ください。",
            ],
        ),
        Category::Alert => (
            &["施設内でインフルエンザ発生のお知らせ", "{n}様 発熱のご報告"],
            &[
                "入居者3名がインフルエンザ陽性となりました。",
                "本日朝から38度台の発熱があります。",
                "発熱と咳嗽があり、往診のご検討をお願いします。",
            ],
        ),
        Category::Info => (
            &[
                "{n}様 サービス担当者会議の議事録",
                "ケアプラン変更のお知らせ",
            ],
            &[
                "担当者会議の議事録を共有します。",
                "来月よりデイサービスの利用日が変更になります。",
            ],
        ),
        Category::Other => (
            &["お問い合わせ", "{n}様の件でご連絡"],
            &[
                "お手すきの際にご連絡ください。",
                "書類の送付先を確認させてください。",
            ],
        ),
    }
}

const CATEGORIES: &[(Category, u32)] = &[
    (Category::NewHomeVisit, 14),
    (Category::NursingIntro, 8),
    (Category::Discharge, 22),
    (Category::BedAvailability, 6),
    (Category::CommunityConcern, 8),
    (Category::Medication, 14),
    (Category::Alert, 8),
    (Category::Info, 14),
    (Category::Other, 6),
];

const URGENCIES: &[(Urgency, u32)] = &[
    (Urgency::Urgent, 4),
    (Urgency::Today, 22),
    (Urgency::Normal, 56),
    (Urgency::Fyi, 18),
];

const CHANNELS: &[(Channel, u32)] = &[
    (Channel::PartnerApi, 20),
    (Channel::Lineworks, 25),
    (Channel::Chatwork, 15),
    (Channel::FaxFolder, 20),
    (Channel::Phone, 15),
    (Channel::Manual, 5),
];

/// The content of one consultation.
#[derive(Debug, Clone)]
pub struct Sample {
    pub partner: usize,
    pub channel: Channel,
    pub category: Category,
    pub urgency: Urgency,
    pub subject: String,
    pub body: String,
    pub sender: String,
}

pub fn sample(rng: &mut Rng) -> Sample {
    let category = rng.weighted(CATEGORIES);
    let (subjects, bodies) = texts(category);
    let name = *rng.pick(SURNAMES);
    let subject = rng.pick(subjects).replace("{n}", name);
    let mut body = rng.pick(bodies).replace("{n}", name);
    if rng.chance(0.5) {
        body.push_str(&rng.pick(bodies).replace("{n}", name));
    }
    // A little cross-category vocabulary, as in real messages.
    if rng.chance(0.06) {
        body.push_str("昨夜から発熱があります。");
    }
    if rng.chance(0.05) {
        body.push_str("退院後の生活について相談したいです。");
    }
    Sample {
        partner: rng.below(PARTNERS.len()),
        channel: rng.weighted(CHANNELS),
        category,
        urgency: rng.weighted(URGENCIES),
        subject,
        body,
        sender: rng.pick(SENDERS).to_string(),
    }
}

/// As a `NewConsultation` for `Desk::intake` (partner by id; ids start at 1 in creation order).
pub fn new_consultation(s: &Sample, partner_ids: &[i64]) -> NewConsultation {
    let mut n = NewConsultation::new(
        s.channel,
        PartnerRef::Id(partner_ids[s.partner]),
        s.category,
        &s.subject,
        &s.body,
    );
    n.urgency = Some(s.urgency);
    n.sender = Sender {
        name: s.sender.clone(),
        role: None,
        phone: None,
    };
    n
}

/// "Now" for generated stores: a Tuesday 10:00 JST.
pub fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

/// Opens a raw connection to a store's database with its key.
pub fn raw_conn(dir: &DataDir, key: &StoreKey) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        dir.db_path(),
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    key.apply(&conn)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

/// Creates the partners; returns their ids in `PARTNERS` order.
pub fn create_partners(conn: &Connection, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let mut ids = Vec::new();
    for (name, kind) in PARTNERS {
        conn.execute(
            "INSERT INTO partners (name, kind, created_at) VALUES (?1, ?2, ?3)",
            params![name, kind.as_str(), store::ts(now)],
        )?;
        ids.push(conn.last_insert_rowid());
    }
    Ok(ids)
}

/// A cached generated store.
#[derive(Debug, Clone)]
pub struct Generated {
    pub dir: DataDir,
    pub key: StoreKey,
    pub now: DateTime<Utc>,
    pub seconds_to_generate: Option<f64>,
}

/// Returns the store with `n` consultations, generating it if it is not cached.
pub fn store_of_size(base: &Path, n: u64) -> Result<Generated> {
    let name = format!(
        "{n}-schema{}-gen{GEN_VERSION}",
        migrations::latest_version()
    );
    let root: PathBuf = base.join(name);
    let dir = DataDir::new(&root);
    let done = root.join("done");
    let key_path = root.join("bench.key");
    if done.exists() {
        let key = StoreKey::from_hex(&std::fs::read_to_string(&key_path)?)?;
        return Ok(Generated {
            dir,
            key,
            now: bench_now(),
            seconds_to_generate: None,
        });
    }
    if root.exists() {
        std::fs::remove_dir_all(&root)?;
    }
    std::fs::create_dir_all(&root)?;
    let key = StoreKey::random();
    std::fs::write(&key_path, key.to_hex().unwrap_or_default())?;
    let t = Instant::now();
    eprintln!(
        "  generating a store of {n} consultations in {}",
        root.display()
    );
    drop(Store::open(&dir, key.clone()).context("create store")?);
    let mut conn = raw_conn(&dir, &key)?;
    conn.pragma_update(None, "synchronous", "OFF")?;
    conn.pragma_update(None, "cache_size", -262_144)?;
    fill(&mut conn, n)?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    drop(conn);
    std::fs::write(&done, "")?;
    let secs = t.elapsed().as_secs_f64();
    eprintln!("  generated {n} in {secs:.1} s");
    Ok(Generated {
        dir,
        key,
        now: bench_now(),
        seconds_to_generate: Some(secs),
    })
}

/// The reply a generated consultation may have.
pub const REPLY: &str = "ご連絡ありがとうございます。担当より折り返しご連絡いたします。";
/// Who handled generated consultations.
const OWNERS: &[&str] = &["看護師 佐藤", "事務 山田", "医師 鈴木"];

/// One generated consultation with its state — the same sequence for every engine.
pub struct GenRow {
    pub sample: Sample,
    pub status: &'static str,
    pub owner: Option<&'static str>,
    pub due: Option<String>,
    pub received: String,
    pub last_activity: String,
    pub read: Option<String>,
    pub resolved: Option<String>,
    pub snoozed: Option<String>,
    /// The reply's time, if it has one.
    pub reply_at: Option<String>,
}

impl GenRow {
    /// The text the search index holds for the first message.
    pub fn search_text(&self) -> String {
        format!(
            "{}\n{}\n{}",
            self.sample.subject, self.sample.body, self.sample.sender
        )
    }
}

/// `n` consultations, one a minute up to "now": the newest 2% mostly still open, older ones
/// resolved except for ~2% stragglers (≈3% open overall).
pub fn gen_rows(n: u64) -> impl Iterator<Item = GenRow> {
    let now = bench_now();
    let mut rng = Rng::new(0x5eed_0000 ^ n);
    let recent_from = n - n / 50;
    (0..n).map(move |k| {
        let s = sample(&mut rng);
        let received = now - Duration::minutes((n - k) as i64);
        let open = if k >= recent_from {
            rng.chance(0.5)
        } else {
            rng.chance(0.0204)
        };
        let status = if open {
            rng.weighted(&[
                ("new", 30),
                ("acknowledged", 30),
                ("in_progress", 30),
                ("waiting_partner", 10),
            ])
        } else if rng.chance(0.95) {
            "resolved"
        } else {
            "declined"
        };
        let due = match s.urgency {
            Urgency::Urgent => Some(received + Duration::minutes(30)),
            Urgency::Today => Some(received + Duration::hours(8)),
            Urgency::Normal => Some(received + Duration::hours(24)),
            Urgency::Fyi => None,
        };
        let handled = received + Duration::minutes(5 + rng.below(120) as i64);
        let read = (status != "new").then(|| store::ts(handled));
        let resolved = (!open).then(|| store::ts(handled + Duration::hours(3)));
        let snoozed = (open && rng.chance(0.01)).then(|| store::ts(now + Duration::hours(2)));
        let owner = (status != "new").then(|| *rng.pick(OWNERS));
        let reply_at = rng.chance(0.3).then(|| store::ts(handled));
        GenRow {
            sample: s,
            status,
            owner,
            due: due.map(store::ts),
            received: store::ts(received),
            last_activity: resolved.clone().unwrap_or_else(|| store::ts(received)),
            read,
            resolved,
            snoozed,
            reply_at,
        }
    })
}

fn fill(conn: &mut Connection, n: u64) -> Result<()> {
    let now = bench_now();
    let partner_ids = {
        let tx = conn.transaction()?;
        let ids = create_partners(&tx, now - Duration::days(800))?;
        tx.commit()?;
        ids
    };
    const BATCH: usize = 20_000;
    let mut rows = gen_rows(n).peekable();
    while rows.peek().is_some() {
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO consultations (channel, partner_id, category, urgency, urgency_reason,
                    urgency_confirmed, subject, status, owner, due_at, received_at, last_activity_at,
                    last_inbound_at, last_read_at, first_read_at, acknowledged_at, first_response_at,
                    resolved_at, snoozed_until, sender_name)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10, ?11, ?10, ?12, ?12, ?13, ?14, ?15, ?16, ?17)",
            )?;
            let mut msg = tx.prepare_cached(
                "INSERT INTO messages (consultation_id, kind, author, body, at) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for g in rows.by_ref().take(BATCH) {
                let s = &g.sample;
                ins.execute(params![
                    s.channel.as_str(),
                    partner_ids[s.partner],
                    s.category.as_str(),
                    s.urgency.as_str(),
                    "送信者の指定",
                    s.subject,
                    g.status,
                    g.owner,
                    g.due,
                    g.received,
                    g.last_activity,
                    g.read,
                    g.read,
                    g.read,
                    g.resolved,
                    g.snoozed,
                    s.sender,
                ])?;
                let id = tx.last_insert_rowid();
                msg.execute(params![id, "inbound", s.sender, s.body, g.received])?;
                search::index(&tx, id, &g.search_text())?;
                if let Some(at) = &g.reply_at {
                    msg.execute(params![id, "reply", OWNERS[0], REPLY, at])?;
                    search::index(&tx, id, REPLY)?;
                }
            }
        }
        tx.commit()?;
    }
    Ok(())
}
