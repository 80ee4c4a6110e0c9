//! The tray icon: menu 開く / 終了, and a tooltip (and menu label, since Linux tray hosts show
//! no tooltips) with the unconfirmed/urgent counts; the unconfirmed count also as the icon's
//! label (AppIndicator hosts draw it beside the icon) and on the launcher/taskbar icon
//! ([`crate::launcher`]). While urgent items nobody has taken exist the icon carries a red dot
//! (`icons/tray-urgent.png`).

use crate::commands::queue::QueueCounts;
use std::sync::atomic::{AtomicBool, Ordering};
use tauri::image::Image;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "main";
const ICON: &[u8] = include_bytes!("../../icons/tray.png");
const ICON_URGENT: &[u8] = include_bytes!("../../icons/tray-urgent.png");

/// Whether the tray currently shows the urgent icon (so it is swapped only on a change).
#[derive(Default)]
pub struct TrayUrgent(AtomicBool);

/// The "開く" item, kept to update its label with the counts.
pub struct TrayOpenItem(pub MenuItem<Wry>);

pub fn build(app: &tauri::App) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "開く", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "終了", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let icon = Image::from_bytes(ICON)?;
    TrayIconBuilder::with_id(TRAY_ID)
        .icon(icon)
        .tooltip("Renkei Desk — 連携デスク")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(|app, e| match e.id().as_ref() {
            "open" => crate::window::show_main(app),
            "quit" => app.exit(0),
            _ => {}
        })
        .on_tray_icon_event(|tray, e| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = e
            {
                crate::window::show_main(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(TrayOpenItem(open));
    app.manage(TrayUrgent::default());
    Ok(())
}

/// The tooltip text for the counts.
pub fn tooltip(c: &QueueCounts) -> String {
    format!(
        "Renkei Desk — 未確認 {}・至急 {}・期限超過 {}",
        c.unconfirmed, c.urgent, c.overdue
    )
}

/// The text beside the tray icon: the unconfirmed count, nothing when there is none.
pub fn label(c: &QueueCounts) -> String {
    if c.unconfirmed == 0 {
        String::new()
    } else {
        c.unconfirmed.to_string()
    }
}

/// Whether the icon should carry the urgent dot.
pub fn is_urgent(c: &QueueCounts) -> bool {
    c.urgent_untaken > 0
}

/// Updates tooltip and the "開く" label, and swaps the icon when the urgent state changes.
pub fn show_counts(app: &AppHandle, c: &QueueCounts) {
    #[cfg(all(unix, not(target_os = "macos")))]
    if let Some(badge) = app.try_state::<crate::launcher::LauncherBadge>() {
        badge.show(
            u32::try_from(c.unconfirmed).unwrap_or(u32::MAX),
            is_urgent(c),
        );
    }
    crate::overlay::show(
        app,
        u32::try_from(c.unconfirmed).unwrap_or(u32::MAX),
        is_urgent(c),
    );
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(tooltip(c)));
        let _ = tray.set_title(Some(label(c)));
        let urgent = is_urgent(c);
        if let Some(shown) = app.try_state::<TrayUrgent>() {
            if shown.0.load(Ordering::Relaxed) != urgent {
                let bytes = if urgent { ICON_URGENT } else { ICON };
                if let Ok(icon) = Image::from_bytes(bytes) {
                    if tray.set_icon(Some(icon)).is_ok() {
                        shown.0.store(urgent, Ordering::Relaxed);
                    }
                }
            }
        }
    }
    if let Some(item) = app.try_state::<TrayOpenItem>() {
        let _ = item.0.set_text(format!(
            "開く（未確認 {}・至急 {}）",
            c.unconfirmed, c.urgent
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_size(b: &[u8]) -> (u32, u32) {
        assert_eq!(&b[1..4], b"PNG");
        let n = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        (n(16), n(20))
    }

    #[test]
    fn urgent_icon_matches_the_plain_one() {
        assert_eq!(png_size(ICON), png_size(ICON_URGENT));
        assert_ne!(ICON, ICON_URGENT);
    }

    #[test]
    fn urgent_dot_only_while_an_urgent_item_is_untaken() {
        let mut c = QueueCounts {
            unconfirmed: 3,
            urgent: 1,
            urgent_untaken: 0,
            overdue: 2,
            open: 5,
        };
        assert!(
            !is_urgent(&c),
            "an urgent item someone took does not keep the dot"
        );
        c.urgent_untaken = 1;
        assert!(is_urgent(&c));
    }
}
