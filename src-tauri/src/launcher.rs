//! The count on the launcher/taskbar icon where the desktop shows one: the
//! `com.canonical.Unity.LauncherEntry` D-Bus signal (Ubuntu's dock, KDE Plasma's task manager,
//! Plank, Dash to Dock). Unconfirmed items as the count; `urgent` while an urgent item nobody
//! has taken exists (the dock draws attention to the icon). Counts only — never names or text.
//! Elsewhere (no session bus) it does nothing; Windows' taskbar count is `overlay.rs`.

/// The desktop file the launcher entry belongs to (installed by the .deb).
pub const APP_URI: &str = "application://renkei-desk.desktop";
/// Object path of our signal (any path of ours works; the URI identifies the app).
const PATH: &str = "/jp/renkei/desk/LauncherEntry";

/// The properties of one `Update` signal.
pub fn properties(
    unconfirmed: u32,
    urgent: bool,
) -> Vec<(&'static str, zbus::zvariant::Value<'static>)> {
    vec![
        ("count", zbus::zvariant::Value::I64(i64::from(unconfirmed))),
        (
            "count-visible",
            zbus::zvariant::Value::Bool(unconfirmed > 0),
        ),
        ("urgent", zbus::zvariant::Value::Bool(urgent)),
    ]
}

/// A connection to the session bus, opened once; `None` where there is none.
pub struct LauncherBadge {
    conn: Option<zbus::blocking::Connection>,
    last: std::sync::Mutex<Option<(u32, bool)>>,
}

impl LauncherBadge {
    pub fn connect() -> Self {
        let conn = zbus::blocking::Connection::session()
            .map_err(|e| tracing::info!("no session bus for the launcher count: {e}"))
            .ok();
        LauncherBadge {
            conn,
            last: std::sync::Mutex::new(None),
        }
    }

    /// Sends the count when it changed.
    pub fn show(&self, unconfirmed: u32, urgent: bool) {
        let Some(conn) = &self.conn else { return };
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if *last == Some((unconfirmed, urgent)) {
            return;
        }
        let props: std::collections::HashMap<&str, zbus::zvariant::Value<'_>> =
            properties(unconfirmed, urgent).into_iter().collect();
        match conn.emit_signal(
            None::<()>,
            PATH,
            "com.canonical.Unity.LauncherEntry",
            "Update",
            &(APP_URI, props),
        ) {
            Ok(()) => *last = Some((unconfirmed, urgent)),
            Err(e) => tracing::debug!("launcher count not sent: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_count_shows_only_when_there_is_something_to_confirm() {
        let p: std::collections::HashMap<_, _> = properties(0, false).into_iter().collect();
        assert_eq!(p["count-visible"], zbus::zvariant::Value::Bool(false));
        let p: std::collections::HashMap<_, _> = properties(4, true).into_iter().collect();
        assert_eq!(p["count"], zbus::zvariant::Value::I64(4));
        assert_eq!(p["count-visible"], zbus::zvariant::Value::Bool(true));
        assert_eq!(p["urgent"], zbus::zvariant::Value::Bool(true));
    }
}
