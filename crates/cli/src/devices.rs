//! `renkei device add|list|revoke`: the PCs connected to this hub (issue 19). Each arm is one
//! `Desk` call; codes are printed once and never stored in clear.

use crate::commands::{actor, Result};
use crate::output;
use crate::DeviceCmd;
use renkei_core::desk::Desk;

pub fn run(mut desk: Desk, c: DeviceCmd) -> Result<()> {
    match c {
        DeviceCmd::Add { name, by, json } => {
            let (d, code) = desk.add_device(&name, &actor(&by))?;
            let v = serde_json::json!({
                "id": d.id, "name": d.name, "code": code, "expires_at": d.code_expires_at,
            });
            output::json_or(json, &v, || {
                format!(
                    "device {} ({}) added. One-time code (valid 24 h, single use): {code}\n\
                     Type it into the desk app: Settings → Connect to a hub",
                    d.id, d.name
                )
            });
        }
        DeviceCmd::List { json } => {
            let all = desk.devices()?;
            output::json_or(json, &all, || {
                if all.is_empty() {
                    return "no devices yet: add one with `renkei device add --name NAME`".into();
                }
                all.iter()
                    .map(|d| {
                        let when = d.revoked_at.or(d.enrolled_at).unwrap_or(d.created_at);
                        format!("{}\t{}\t{}\t{}", d.id, d.name, d.state, when.to_rfc3339())
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
        }
        DeviceCmd::Revoke { id, by } => {
            let d = desk.revoke_device(id, &actor(&by))?;
            crate::outln!(
                "device {} ({}) revoked: it is refused at its next request",
                d.id,
                d.name
            );
        }
    }
    Ok(())
}
