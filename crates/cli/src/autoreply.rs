//! `renkei autoreply`: the automatic messages' settings (issue 20) — the receipt template and
//! the on-call doctor's LINE WORKS user — printed, or set through `Desk::set_reply_settings`
//! (validated; the problem in Japanese).

use crate::output;
use renkei_core::desk::Desk;

pub fn run(
    desk: &mut Desk,
    template: Option<String>,
    oncall_user: Option<String>,
    by: &str,
    json: bool,
) -> renkei_core::Result<()> {
    if template.is_some() || oncall_user.is_some() {
        let mut r = desk.settings().replies.clone();
        if let Some(t) = template {
            r.receipt_template = t;
        }
        if let Some(u) = oncall_user {
            r.oncall_lineworks_user = u;
        }
        desk.set_reply_settings(r, by)?;
    }
    let r = &desk.settings().replies;
    let after = desk.settings().notifications.escalate_after_minutes;
    let v = serde_json::json!({
        "receipt_template": r.receipt_template,
        "oncall_lineworks_user": r.oncall_user(),
        "escalate_after_minutes": after,
    });
    output::json_or(json, &v, || {
        format!(
            "receipt template: {}\non-call LINE WORKS user: {}",
            r.receipt_template,
            match (r.oncall_user(), after) {
                (Some(u), Some(m)) => format!("{u} (urgent items untaken for {m} min)"),
                (Some(u), None) => {
                    format!("{u} (but escalation is off in the notification settings)")
                }
                (None, _) => "off".into(),
            }
        )
    });
    Ok(())
}
