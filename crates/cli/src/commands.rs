//! Dispatch of `renkei` subcommands onto the core. Each arm: parse ids/codes, one Desk call,
//! print. Errors become [`CliError`] with a one-line message and an exit code per error kind.

use crate::output;
use crate::{Cli, Command, KeyCmd, PartnerCmd, StaffCmd};
use renkei_core::clock::clock_from_env;
use renkei_core::desk::{Desk, Document};
use renkei_core::error::ErrorCode;
use renkei_core::model::MessageKind;
use renkei_core::store::consultations::QueueFilter;
use renkei_core::store::partners::NewPartner;
use renkei_core::store::{DataDir, StoreKey};
use renkei_core::{Channel, PartnerKind, Status};
use std::path::Path;
use std::sync::Arc;

/// A failed command: what to print and how to exit.
#[derive(Debug)]
pub struct CliError {
    pub message: String,
    pub exit_code: u8,
}

impl CliError {
    fn usage(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            exit_code: 2,
        }
    }
}

impl From<renkei_core::Error> for CliError {
    fn from(e: renkei_core::Error) -> Self {
        let exit_code = match e.code() {
            ErrorCode::InvalidInput => 2,
            ErrorCode::NotFound => 3,
            ErrorCode::InvalidTransition | ErrorCode::Conflict => 4,
            ErrorCode::UnsupportedMediaType | ErrorCode::TooLarge => 5,
            ErrorCode::Integrity => 6,
            ErrorCode::Unauthorized
            | ErrorCode::LockedOut
            | ErrorCode::Forbidden
            | ErrorCode::ProfileDisabled => 7,
            ErrorCode::LastAdmin => 4,
            ErrorCode::Storage | ErrorCode::Io => 1,
        };
        CliError {
            message: e.to_string(),
            exit_code,
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, CliError>;

fn data_dir(cli_dir: &Option<std::path::PathBuf>, database_url: &Option<String>) -> DataDir {
    match cli_dir {
        Some(d) => DataDir::new(d.clone()),
        None => DataDir::from_env_or_default(),
    }
    .with_database(database_url.clone())
}

fn open(dir: &DataDir) -> Result<Desk> {
    let clock = clock_from_env().map_err(CliError::usage)?;
    init_log(dir);
    Ok(Desk::open(dir, Arc::from(clock))?)
}

/// Logs go to `<data dir>/logs/renkei.log`, never to stderr (stderr is for the one-line error).
fn init_log(dir: &DataDir) {
    let logs = dir.log_dir();
    if std::fs::create_dir_all(&logs).is_err() {
        return;
    }
    if let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(logs.join("renkei.log"))
    {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::sync::Mutex::new(file))
            .with_ansi(false)
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("RENKEI_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
            )
            .try_init();
    }
}

/// Who is acting when `--by` is not given: env RENKEI_USER, else the OS user.
pub(crate) fn actor(by: &Option<String>) -> String {
    by.clone()
        .filter(|b| !b.trim().is_empty())
        .or_else(|| {
            std::env::var("RENKEI_USER")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .or_else(|| std::env::var("USER").ok().filter(|v| !v.trim().is_empty()))
        .or_else(|| {
            std::env::var("USERNAME")
                .ok()
                .filter(|v| !v.trim().is_empty())
        })
        .unwrap_or_else(|| "受付".into())
}

fn parse_id(s: &str) -> Result<i64> {
    s.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|i| *i > 0)
        .ok_or_else(|| {
            CliError::usage(format!(
                "'{s}' is not a consultation id; `renkei queue` shows the ids"
            ))
        })
}

fn parse_code<T: std::str::FromStr<Err = renkei_core::codes::UnknownCode>>(s: &str) -> Result<T> {
    s.trim()
        .parse::<T>()
        .map_err(|e| CliError::usage(e.to_string()))
}

pub fn run(cli: Cli) -> Result<()> {
    let dir = data_dir(&cli.data_dir, &cli.database_url);
    match cli.command {
        Command::Init { json } => {
            let mut desk = open(&dir)?;
            let n = desk
                .queue(&QueueFilter {
                    all: true,
                    ..Default::default()
                })?
                .len();
            output::init(&dir, n, json);
        }
        Command::Demo { json } => {
            let mut desk = open(&dir)?;
            let s = renkei_core::demo::load(&mut desk)?;
            output::json_or(json, &s, || {
                format!(
                    "demo data {}: {} partners, {} consultations in {}",
                    if s.created {
                        "loaded"
                    } else {
                        "already present"
                    },
                    s.partners,
                    s.consultations,
                    dir.root.display()
                )
            });
        }
        Command::Serve {
            listen,
            tls_cert,
            tls_key,
        } => {
            let tls = renkei_intake::tls::TlsFiles::from_flags(tls_cert, tls_key)
                .map_err(CliError::usage)?;
            init_log(&dir);
            renkei_intake::run_server(dir, &listen, tls).map_err(|m| CliError {
                message: m,
                exit_code: 1,
            })?;
        }
        Command::Partner(p) => partner(&dir, p)?,
        Command::Queue {
            json,
            all,
            category,
            urgency,
            status,
            owner,
            search,
        } => {
            let mut desk = open(&dir)?;
            let filter = QueueFilter {
                all,
                category: category.as_deref().map(parse_code).transpose()?,
                urgency: urgency.as_deref().map(parse_code).transpose()?,
                status: status.as_deref().map(parse_code).transpose()?,
                owner,
                search,
                ..Default::default()
            };
            let rows = desk.queue(&filter)?;
            output::queue(&rows, desk.now(), json);
        }
        Command::Show { id, json, by } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let reader = by.filter(|b| !b.trim().is_empty());
            let d = desk.show(id, reader.as_deref())?;
            if reader.is_none() {
                // Every look at a consultation is in the audit trail, even one that does not
                // mark it read for the front desk.
                desk.record(
                    &actor(&None),
                    "consultation.view",
                    Some(&format!("consultation:{id}")),
                    "cli",
                )?;
            }
            output::show(&d, desk.now(), json);
        }
        Command::Ack { id, by, json } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let row = desk.ack(id, &actor(&by))?;
            output::row_changed(&row, json);
        }
        Command::Resolve { id, by, json } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let row = desk.resolve(id, &actor(&by))?;
            output::row_changed(&row, json);
        }
        Command::Status {
            id,
            status,
            by,
            json,
        } => {
            let id = parse_id(&id)?;
            let to: Status = parse_code(&status)?;
            let mut desk = open(&dir)?;
            let row = desk.set_status(id, to, &actor(&by))?;
            output::row_changed(&row, json);
        }
        Command::Assign {
            id,
            owner,
            by,
            json,
        } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let row = desk.assign(id, Some(&owner), &actor(&by))?;
            output::row_changed(&row, json);
        }
        Command::Note {
            id,
            text,
            reply,
            by,
            json,
        } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let kind = if reply {
                MessageKind::Reply
            } else {
                MessageKind::Note
            };
            let m = desk.add_message(id, kind, &text, &actor(&by))?;
            output::json_or(json, &m, || {
                format!("added {} {} to consultation {id}", kind.as_str(), m.id)
            });
        }
        Command::Reply {
            id,
            text,
            by,
            record_only,
            confirm_pii,
            json,
        } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let out = desk.reply_checked(id, &text, &actor(&by), record_only, confirm_pii)?;
            output::reply(&out, json);
        }
        Command::Outbox { consultation, json } => {
            let cid = consultation.as_deref().map(parse_id).transpose()?;
            let mut desk = open(&dir)?;
            output::outbox(&desk.outbox(cid)?, json);
        }
        Command::Autoreply {
            template,
            oncall_user,
            by,
            json,
        } => crate::autoreply::run(&mut open(&dir)?, template, oncall_user, &actor(&by), json)?,
        Command::Notifications { limit, json } => {
            let desk = open(&dir)?;
            output::notifications(&desk.notifications(limit.clamp(1, 10_000))?, json);
        }
        Command::Resend { id, by, json } => {
            let id = parse_id(&id)?;
            let mut desk = open(&dir)?;
            let e = desk.outbox_resend(id, &actor(&by))?;
            output::json_or(json, &e, || {
                format!("outbox entry {} will be sent again", e.id)
            });
        }
        Command::Import {
            files,
            to,
            by,
            json,
        } => import(&dir, &files, to.as_deref(), &actor(&by), json)?,
        Command::Simulate { scenario } => {
            let text = std::fs::read_to_string(&scenario).map_err(|e| {
                CliError::usage(format!("cannot read scenario {}: {e}", scenario.display()))
            })?;
            let lines = renkei_core::policy::scenario::run_scenario_lines(&text)
                .map_err(|e| CliError::usage(format!("scenario {}: {e}", scenario.display())))?;
            for l in lines {
                crate::outln!("{l}");
            }
        }
        Command::Backup {
            status: true, json, ..
        } => {
            let desk = open(&dir)?;
            let st = desk.backup_status();
            output::json_or(json, &st, || {
                let latest = match (&st.latest, st.age_days) {
                    (Some(n), Some(a)) => format!("latest {n} ({a} day(s) old)"),
                    _ => "no daily backup yet".into(),
                };
                let mirror = match (st.mirrored, &st.mirror_dir) {
                    (Some(true), Some(d)) => format!("copied to {d}"),
                    (Some(false), Some(d)) => format!("NOT in the mirror folder {d}"),
                    _ => "no mirror folder set".into(),
                };
                let on = if st.enabled { "on" } else { "off" };
                format!(
                    "daily backups {on}, kept {} days; {latest}; {mirror}",
                    st.keep_days
                )
            });
        }
        Command::Backup {
            out: None, json, ..
        } => {
            let mut desk = open(&dir)?;
            let o = desk.daily_backup()?;
            output::json_or(json, &o, || match &o.written {
                Some(p) => format!(
                    "daily backup written to {} ({} old removed)",
                    p.display(),
                    o.pruned.len()
                ),
                None => "today's backup already exists".into(),
            });
            if let Some(e) = o.mirror_error {
                return Err(CliError {
                    message: e,
                    exit_code: 1,
                });
            }
        }
        Command::Backup {
            out: Some(out),
            json,
            ..
        } => {
            let mut desk = open(&dir)?;
            let m = desk.backup(&out, &actor(&None))?;
            output::json_or(json, &m, || {
                format!(
                    "backup written to {}: {} consultations, {} attachments, key {}",
                    out.display(),
                    m.consultations,
                    m.attachments,
                    m.key_fingerprint
                )
            });
        }
        Command::Restore { file, json } => {
            let key = StoreKey::existing()?.ok_or_else(|| CliError {
                message: "no store key: set RENKEI_DB_KEY to the key of the backed-up store (or put back its key file)"
                    .into(),
                exit_code: 7,
            })?;
            let m = renkei_core::backup::restore(&file, &dir, &key)?;
            let mut desk = open(&dir)?;
            let report = desk.check()?;
            if !report.problems.is_empty() {
                return Err(CliError {
                    message: format!(
                        "restored, but the check failed: {}",
                        report.problems.join("; ")
                    ),
                    exit_code: 6,
                });
            }
            output::json_or(json, &m, || {
                format!(
                    "restored {} consultations and {} attachments into {}",
                    m.consultations,
                    m.attachments,
                    dir.root.display()
                )
            });
        }
        Command::Check { json, quick } => {
            let mut desk = open(&dir)?;
            let r = if quick {
                desk.quick_check()?
            } else {
                desk.check()?
            };
            output::json_or(json, &r, || {
                format!(
                    "store {}: {} consultations, {} attachments {}, audit chain of {} rows intact",
                    r.integrity,
                    r.consultations,
                    r.attachments_checked,
                    if quick { "present" } else { "verified" },
                    r.audit_rows
                )
            });
            if !r.problems.is_empty() {
                return Err(CliError {
                    message: format!("check failed: {}", r.problems.join("; ")),
                    exit_code: 6,
                });
            }
        }
        Command::Key(k) => key(&dir, k)?,
        Command::Staff(c) => staff(&dir, c)?,
        Command::Device(c) => crate::devices::run(open(&dir)?, c)?,
        Command::Handover { json } => {
            let mut desk = open(&dir)?;
            let h = desk.handover()?;
            crate::report::handover(&h, json);
        }
        Command::Report {
            from,
            to,
            json,
            out,
        } => {
            let (from, to) = (parse_date("--from", from)?, parse_date("--to", to)?);
            let mut desk = open(&dir)?;
            let r = desk.report(from, to)?;
            if let Some(path) = out {
                std::fs::write(&path, crate::report::html(&r)).map_err(|e| CliError {
                    message: format!(
                        "cannot write {}: {e} — choose a writable path for --out",
                        path.display()
                    ),
                    exit_code: 1,
                })?;
            }
            crate::report::report(&r, json);
        }
        Command::Audit { json, limit } => {
            let desk = open(&dir)?;
            let rows = desk.audit(&renkei_core::store::audit::AuditFilter {
                limit: Some(limit),
                ..Default::default()
            })?;
            output::audit(&rows, json);
        }
    }
    Ok(())
}

/// A `--from`/`--to` date, YYYY-MM-DD.
fn parse_date(flag: &str, v: Option<String>) -> Result<Option<chrono::NaiveDate>> {
    v.map(|s| {
        chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
            CliError::usage(format!(
                "{flag} '{s}' is not a date: give it as YYYY-MM-DD, e.g. 2026-11-30"
            ))
        })
    })
    .transpose()
}

fn staff(dir: &DataDir, c: StaffCmd) -> Result<()> {
    use renkei_core::store::staff::Role;
    let mut desk = open(dir)?;
    match c {
        StaffCmd::List { json } => {
            let all = desk.staff()?;
            output::json_or(json, &all, || {
                if all.is_empty() {
                    return "no staff profiles yet: add one with `renkei staff add`".into();
                }
                all.iter()
                    .map(|s| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}",
                            s.id,
                            s.name,
                            s.role.as_str(),
                            if s.has_pin { "PIN" } else { "no PIN" },
                            if s.active { "active" } else { "inactive" }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        StaffCmd::Add {
            name,
            role,
            with_pin,
            by,
            json,
        } => {
            let role = Role::parse(&role)?;
            let pin = if with_pin {
                Some(read_pin(&name)?)
            } else {
                None
            };
            let s = desk.admin_add_staff(&name, role, pin.as_deref(), &actor(&by))?;
            output::json_or(json, &s, || {
                format!(
                    "staff profile {} added: {} ({})",
                    s.id,
                    s.name,
                    s.role.as_str()
                )
            });
        }
        StaffCmd::SetPin { name, by } => {
            let pin = read_pin(&name)?;
            let s = desk.operator_set_pin(&name, &pin, &actor(&by))?;
            crate::outln!(
                "new PIN set for {} ({}); lock-out lifted, profile active",
                s.name,
                s.role.as_str()
            );
        }
    }
    Ok(())
}

/// A PIN from stdin: prompted twice without echo on a terminal, else the first line (scripts).
fn read_pin(name: &str) -> Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password(format!("new PIN for {name}: "))
            .map_err(renkei_core::Error::from)?;
        let b = rpassword::prompt_password("again: ").map_err(renkei_core::Error::from)?;
        if a != b {
            return Err(CliError::usage("the two PINs differ; nothing was changed"));
        }
        return Ok(a);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(renkei_core::Error::from)?;
    let pin = line.trim_end_matches(['\r', '\n']).to_string();
    if pin.is_empty() {
        return Err(CliError::usage(
            "no PIN on stdin: pipe it in (printf '%s\\n' \"$PIN\" | renkei staff …) or run in a terminal",
        ));
    }
    Ok(pin)
}

fn key(dir: &DataDir, k: KeyCmd) -> Result<()> {
    use renkei_core::store::keys;
    if dir.database_url.is_none() && !dir.db_path().exists() {
        return Err(CliError {
            message: format!(
                "no store in {} yet: run `renkei init` first",
                dir.root.display()
            ),
            exit_code: 2,
        });
    }
    match k {
        KeyCmd::Status { json } => {
            // Opening proves the key fits this store before we say where it is.
            let desk = open(dir)?;
            let fingerprint = desk.key_fingerprint();
            let source = desk.key_source().cloned().unwrap_or(keys::KeySource::Env);
            let keyring = match renkei_core::store::keyring::get() {
                renkei_core::store::keyring::Lookup::Found(_) => "holds a store key".to_string(),
                renkei_core::store::keyring::Lookup::Missing => "available, no store key".into(),
                renkei_core::store::keyring::Lookup::Unavailable(why) => why,
            };
            let v = serde_json::json!({
                "source": source.code(),
                "location": source.to_string(),
                "fingerprint": fingerprint,
                "keyring": keyring,
            });
            output::json_or(json, &v, || {
                format!("store key: {source} (fingerprint {fingerprint}); OS keyring: {keyring}")
            });
        }
        KeyCmd::Export { out, by } => {
            let mut desk = open(dir)?;
            let key = desk.store_key().clone();
            keys::export_key(&key, &out)?;
            desk.record(&actor(&by), "key.export", None, &key.fingerprint())?;
            crate::outln!(
                "key written to {} — keep it offline (a safe, not this PC); anyone with it and a backup can read the store",
                out.display()
            );
        }
        KeyCmd::MoveToKeyring { by } => {
            let mut desk = open(dir)?;
            let removed = keys::move_to_keyring(dir)?;
            desk.record(&actor(&by), "key.move", None, "file → OS keyring")?;
            crate::outln!(
                "the store key is now in the OS keyring; the key file {} was removed",
                removed.display()
            );
            if std::env::var_os("RENKEI_KEY_FILE").is_some() {
                crate::outln!("unset RENKEI_KEY_FILE now, so the key is looked up in the keyring");
            }
        }
        KeyCmd::MoveToFile { out, by } => {
            let mut desk = open(dir)?;
            keys::move_to_file(dir, &out)?;
            desk.record(&actor(&by), "key.move", None, "OS keyring → file")?;
            crate::outln!(
                "the store key is now in {}; set RENKEI_KEY_FILE to it unless it is the default path {}",
                out.display(),
                keys::key_file_path().display()
            );
        }
    }
    Ok(())
}

fn partner(dir: &DataDir, p: PartnerCmd) -> Result<()> {
    let mut desk = open(dir)?;
    match p {
        PartnerCmd::Add {
            name,
            kind,
            contact,
            json,
        } => {
            let kind: PartnerKind = parse_code(&kind)?;
            let (partner, key) = desk.add_partner(
                NewPartner {
                    name,
                    kind: Some(kind),
                    contact,
                    phone: None,
                    channels: vec![Channel::PartnerApi],
                },
                &actor(&None),
            )?;
            let v = serde_json::json!({"id": partner.id, "name": partner.name, "kind": partner.kind, "api_key": key});
            output::json_or(json, &v, || {
                format!(
                    "partner {} registered: {}\nAPI key (shown only now; give it to the partner): {key}",
                    partner.id, partner.name
                )
            });
        }
        PartnerCmd::List { json } => {
            let stats = desk.partner_stats()?;
            output::partners(&stats, json);
        }
        PartnerCmd::RotateKey { id, json } => {
            let key = desk.rotate_api_key(id, &actor(&None))?;
            let v = serde_json::json!({"id": id, "api_key": key});
            output::json_or(json, &v, || {
                format!("new API key for partner {id} (the old one no longer works): {key}")
            });
        }
        PartnerCmd::LinkEmail { id, address } => {
            desk.link_partner_email(id, &address, &actor(&None))?;
            crate::outln!("mail from that address or domain now belongs to partner {id}");
        }
        PartnerCmd::Revoke { id } => {
            desk.revoke_api_key(id, &actor(&None))?;
            crate::outln!("API key of partner {id} revoked");
        }
        PartnerCmd::Receipt {
            id,
            on,
            off: _,
            by,
            json,
        } => {
            desk.set_partner_receipt(id, on, &actor(&by))?;
            let v = serde_json::json!({"partner_id": id, "receipt": on});
            output::json_or(json, &v, || {
                if on {
                    format!("partner {id} now gets the receipt message when someone takes its consultation")
                } else {
                    format!("partner {id} gets no receipt message")
                }
            });
        }
        PartnerCmd::Callback {
            id,
            url,
            clear,
            by,
            json,
        } => match (clear, url) {
            (true, _) | (false, None) => {
                desk.clear_partner_callback(id, &actor(&by))?;
                crate::outln!("replies to partner {id} show on its status page only");
            }
            (false, Some(url)) => {
                let secret = desk.set_partner_callback(id, &url, &actor(&by))?;
                let v = serde_json::json!({"partner_id": id, "url": url, "secret": secret});
                output::json_or(json, &v, || {
                    format!(
                        "replies to partner {id} are POSTed to {url}\nsigning secret (shown once; give it to the partner): {secret}"
                    )
                });
            }
        },
    }
    Ok(())
}

/// One file of `renkei import`: a document, or a mail (`.eml`).
enum ImportItem {
    Doc(String, Vec<u8>),
    Mail(String, Box<renkei_core::mail::ParsedMail>),
}

fn is_mail_file(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
}

fn import(
    dir: &DataDir,
    files: &[std::path::PathBuf],
    to: Option<&str>,
    by: &str,
    json: bool,
) -> Result<()> {
    let to = to.map(parse_id).transpose()?;
    if to.is_some() && files.iter().any(|f| is_mail_file(f)) {
        return Err(CliError::usage(
            "an e-mail (.eml) becomes its own consultation; import it without --to",
        ));
    }
    let mail_opts = renkei_core::mail::MailOptions::with_mcs_senders(
        std::env::var("RENKEI_MCS_SENDERS").ok().as_deref(),
    );
    // Read and check every file first: a refused file stores nothing.
    let mut items = Vec::with_capacity(files.len());
    for f in files {
        if is_mail_file(f) {
            let len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            if len > renkei_core::mail::MAX_MAIL_BYTES as u64 {
                return Err(renkei_core::Error::TooLarge(format!(
                    "{}: {:.1} MiB is over the 25 MiB limit for a mail; nothing was stored",
                    f.display(),
                    len as f64 / 1_048_576.0
                ))
                .into());
            }
        }
        let bytes = std::fs::read(f).map_err(|e| CliError {
            message: format!("cannot read {}: {e}", f.display()),
            exit_code: 1,
        })?;
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "document".into());
        if is_mail_file(f) {
            let mail = renkei_core::mail::parse(&bytes, &mail_opts).map_err(|e| CliError {
                message: format!("{}: {e}", display_name(f, &name)),
                ..CliError::from(e)
            })?;
            items.push(ImportItem::Mail(name, Box::new(mail)));
        } else {
            renkei_core::store::blobs::check_document(&display_name(f, &name), &bytes, None)?;
            items.push(ImportItem::Doc(name, bytes));
        }
    }
    let mut desk = open(dir)?;
    let mut outs = Vec::new();
    for item in items {
        match item {
            ImportItem::Doc(name, bytes) => {
                let o = desk.import_document(
                    Document {
                        name: &name,
                        bytes: &bytes,
                        declared: None,
                    },
                    to,
                    Channel::Manual,
                    by,
                )?;
                let what = if o.created {
                    "new consultation"
                } else if to.is_some() {
                    "attached to consultation"
                } else {
                    "already imported as consultation"
                };
                let line = format!("{}: {what} {}", o.attachment.name, o.id);
                let v = serde_json::json!({"id": o.id, "created": o.created, "attachment": o.attachment});
                outs.push((v, line));
            }
            ImportItem::Mail(name, mail) => {
                let o = desk.import_parsed_mail(*mail, by)?;
                let what = if o.created {
                    "new consultation"
                } else if o.joined {
                    "joined open consultation"
                } else {
                    "already imported as consultation"
                };
                let mut line = format!("{name}: {what} {} ({})", o.id, o.channel);
                for a in &o.attachments {
                    line.push_str(&format!("\n  attachment stored: {}", a.name));
                }
                for r in &o.refused {
                    line.push_str(&format!("\n  attachment not taken: {r}"));
                }
                let v = serde_json::to_value(&o).unwrap_or_default();
                outs.push((v, line));
            }
        }
    }
    if json {
        let mut v: Vec<_> = outs.into_iter().map(|(v, _)| v).collect();
        let v = if v.len() == 1 {
            v.pop().unwrap_or_default()
        } else {
            serde_json::Value::Array(v)
        };
        output::print_json(&v);
    } else {
        for (_, line) in &outs {
            crate::outln!("{line}");
        }
    }
    Ok(())
}

fn display_name(p: &Path, fallback: &str) -> String {
    p.to_str()
        .map(str::to_string)
        .unwrap_or_else(|| fallback.to_string())
}
