//! `renkei` — the headless command of Renkei Desk: the same core as the desktop app, for a
//! server, a script or CI. Thin: parses arguments, calls `renkei_core::desk::Desk` (and
//! `renkei_intake` for `serve`), prints. Errors are one line on stderr saying what to do; logs go
//! to the data dir's log file, never to stderr.

mod autoreply;
mod commands;
mod devices;
mod output;
mod report;

/// `println!` that ends the program quietly when stdout is closed (`renkei queue | head`).
#[macro_export]
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut out = std::io::stdout().lock();
        if let Err(e) = writeln!(out, $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "renkei",
    version,
    about = "Renkei Desk (連携デスク) — consultations for the front desk, headless"
)]
pub struct Cli {
    /// Data directory (default: env RENKEI_DATA_DIR, else ~/.local/share/renkei-desk)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL hub database, postgres://USER@HOST/DB (default: env RENKEI_DATABASE_URL;
    /// unset = the SQLite store in the data dir, which then holds only the key and logs)
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "RENKEI_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create the data dir and store (idempotent)
    Init {
        #[arg(long)]
        json: bool,
    },
    /// Load realistic Japanese demo data (idempotent)
    Demo {
        #[arg(long)]
        json: bool,
    },
    /// Run the intake server (partner API, webhooks)
    Serve {
        /// Address to listen on; port 0 = any free port
        #[arg(long, default_value = "127.0.0.1:8787")]
        listen: String,
        /// Serve HTTPS with this certificate chain (PEM; the server certificate first, then
        /// intermediates). Needs --tls-key
        #[arg(long, env = "RENKEI_TLS_CERT", value_name = "FILE")]
        tls_cert: Option<std::path::PathBuf>,
        /// The certificate's private key (PEM: PKCS#8, RSA or EC; not encrypted)
        #[arg(long, env = "RENKEI_TLS_KEY", value_name = "FILE")]
        tls_key: Option<std::path::PathBuf>,
    },
    /// Partner organisations and their API keys
    #[command(subcommand)]
    Partner(PartnerCmd),
    /// The triage queue in triage order
    Queue {
        #[arg(long)]
        json: bool,
        /// Include resolved and declined items
        #[arg(long)]
        all: bool,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        urgency: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// Search text (2+ characters work for Japanese)
        #[arg(long)]
        search: Option<String>,
    },
    /// One consultation with its thread, attachments and history
    Show {
        id: String,
        #[arg(long)]
        json: bool,
        /// Record the read as this staff member
        #[arg(long)]
        by: Option<String>,
    },
    /// Take responsibility for a consultation
    Ack {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Resolve a consultation (from any open status)
    Resolve {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Set a status: new, acknowledged, in_progress, waiting_partner, resolved, declined
    Status {
        id: String,
        status: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Assign an owner (担当)
    Assign {
        id: String,
        owner: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add an internal note (or a reply with --reply)
    Note {
        id: String,
        text: String,
        #[arg(long)]
        reply: bool,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Reply to the partner on the channel the consultation came from (LINE WORKS, Chatwork:
    /// through the outbox; partner API: on its status page)
    Reply {
        id: String,
        /// The reply text
        #[arg(long)]
        text: String,
        #[arg(long)]
        by: Option<String>,
        /// Phone, FAX, e-mail, MCS, manual: keep the reply in the thread, send nothing
        #[arg(long)]
        record_only: bool,
        /// Send it although the personal-data check found something (audited)
        #[arg(long)]
        confirm_pii: bool,
        #[arg(long)]
        json: bool,
    },
    /// Replies waiting to go out, sent or failed (newest first)
    Outbox {
        /// Only the entries of consultation ID
        #[arg(long)]
        consultation: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The automatic messages: the receipt template and the on-call doctor's LINE WORKS user
    /// (prints them; with --template / --oncall-user sets them)
    Autoreply {
        /// Receipt text with {担当} {期限} {クリニック}
        #[arg(long)]
        template: Option<String>,
        /// The on-call doctor's LINE WORKS user id ("" turns the on-call message off)
        #[arg(long)]
        oncall_user: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The notification history ("why did I get this"): OS notifications and on-call messages
    /// with their reasons, newest first
    Notifications {
        #[arg(long, default_value_t = 100)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Send a failed reply again (再送): outbox entry ID becomes pending
    Resend {
        id: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add referral documents (PDF, PNG, JPEG, TIFF) as new consultations or to --to ID; an
    /// e-mail (.eml) becomes its own consultation (channel email, or mcs for an MCS notice)
    Import {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        to: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Run the notification policy over a scenario file; prints JSON lines
    Simulate {
        #[arg(long)]
        scenario: PathBuf,
    },
    /// Write a consistent, encrypted backup (--out FILE), or today's daily generation (--auto)
    Backup {
        #[arg(long, required_unless_present_any = ["auto", "status"])]
        out: Option<PathBuf>,
        /// Where the daily backups stand: newest generation, its age, the mirror copy
        #[arg(long, conflicts_with_all = ["out", "auto"])]
        status: bool,
        /// Daily generation into <data dir>/backups (+ mirror folder), pruning old ones
        #[arg(long, conflicts_with = "out")]
        auto: bool,
        #[arg(long)]
        json: bool,
    },
    /// Restore a backup into an empty data dir (--data-dir)
    Restore {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Check the store: integrity, attachments, audit chain
    Check {
        #[arg(long)]
        json: bool,
        /// The app's start-up check: quick_check, attachment files present (not decrypted)
        #[arg(long)]
        quick: bool,
    },
    /// Where the store key lives (OS keyring or key file), its export and moves
    #[command(subcommand)]
    Key(KeyCmd),
    /// Staff profiles: list, add, and PIN recovery by the operator who holds the store key
    #[command(subcommand)]
    Staff(StaffCmd),
    /// PCs connected to this hub: one-time enrolment codes, list, revoke
    #[command(subcommand)]
    Device(DeviceCmd),
    /// The shift handover (申し送り): open items by owner, overdue, urgent, waiting, after hours
    Handover {
        #[arg(long)]
        json: bool,
    },
    /// The operations report for a period (default: last full week Mon–Sun, JST)
    Report {
        /// First day, YYYY-MM-DD (JST)
        #[arg(long, value_name = "DATE")]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (JST), inclusive
        #[arg(long, value_name = "DATE")]
        to: Option<String>,
        #[arg(long)]
        json: bool,
        /// Also write a self-contained printable HTML file
        #[arg(long, value_name = "FILE.html")]
        out: Option<PathBuf>,
    },
    /// The audit trail (newest first)
    Audit {
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

#[derive(Subcommand, Debug)]
pub enum StaffCmd {
    /// All profiles with role, PIN set and active (never the PINs)
    List {
        #[arg(long)]
        json: bool,
    },
    /// Add a profile; with --with-pin the PIN is read from stdin (prompted without echo on a terminal)
    Add {
        #[arg(long)]
        name: String,
        /// clerk, nurse, doctor, admin
        #[arg(long)]
        role: String,
        #[arg(long)]
        with_pin: bool,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Recovery: set a profile's PIN (read from stdin, prompted without echo on a terminal), lift
    /// its lock-out and reactivate it — for when the last administrator forgot their PIN
    SetPin {
        name: String,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Register a PC; prints a one-time enrolment code (valid 24 h, single use) to type into
    /// the desk app's "Connect to a hub"
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// All PCs with their state (waiting, expired, enrolled, revoked); never codes or tokens
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disconnect a PC: its token stops working at its next request, its sessions end
    Revoke {
        id: i64,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum KeyCmd {
    /// Where the key is kept and its fingerprint (never the key itself)
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Write the key to a new file (0600) for the clinic's offline key backup (audited)
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        by: Option<String>,
    },
    /// Move the key from its key file into the OS keyring, then remove the file (audited)
    MoveToKeyring {
        #[arg(long)]
        by: Option<String>,
    },
    /// Move the key from the OS keyring into a new key file (audited)
    MoveToFile {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long)]
        by: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum PartnerCmd {
    /// Register a partner; prints its id and a new API key once
    Add {
        #[arg(long)]
        name: String,
        /// hospital, houkatsu, care_manager, nursing, pharmacy, facility, other
        #[arg(long)]
        kind: String,
        #[arg(long)]
        contact: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List partners with response statistics
    List {
        #[arg(long)]
        json: bool,
    },
    /// Issue a new API key (the old one stops working)
    RotateKey {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Revoke the partner's API key
    Revoke { id: i64 },
    /// Mail from this address (sato@hospital.example) or domain (hospital.example) is this partner's
    LinkEmail { id: i64, address: String },
    /// Send the automatic receipt (受付メッセージ) when someone takes this partner's consultation
    Receipt {
        id: i64,
        #[arg(long, conflicts_with = "off", required_unless_present = "off")]
        on: bool,
        #[arg(long)]
        off: bool,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// POST replies to this partner's URL (https://), signed with a secret printed once
    Callback {
        id: i64,
        #[arg(long, required_unless_present = "clear")]
        url: Option<String>,
        /// Stop POSTing replies to this partner
        #[arg(long, conflicts_with = "url")]
        clear: bool,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", e.message);
            ExitCode::from(e.exit_code)
        }
    }
}
