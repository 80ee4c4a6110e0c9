//! The tray icon: menu 開く / 終了, and a tooltip (and menu label, since Linux tray hosts show
//! no tooltips) with the unconfirmed/urgent counts.

use crate::commands::queue::QueueCounts;
use tauri::menu::{Menu, MenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Wry};

const TRAY_ID: &str = "main";

/// The "開く" item, kept to update its label with the counts.
pub struct TrayOpenItem(pub MenuItem<Wry>);

pub fn build(app: &tauri::App) -> tauri::Result<()> {
    let open = MenuItem::with_id(app, "open", "開く", true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", "終了", true, None::<&str>)?;
    let menu = Menu::with_items(app, &[&open, &quit])?;
    let icon = tauri::image::Image::from_bytes(include_bytes!("../../icons/tray.png"))?;
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
    Ok(())
}

/// The tooltip text for the counts.
pub fn tooltip(c: &QueueCounts) -> String {
    format!(
        "Renkei Desk — 未確認 {}・至急 {}・期限超過 {}",
        c.unconfirmed, c.urgent, c.overdue
    )
}

/// Updates tooltip and the "開く" label.
pub fn show_counts(app: &AppHandle, c: &QueueCounts) {
    if let Some(tray) = app.tray_by_id(TRAY_ID) {
        let _ = tray.set_tooltip(Some(tooltip(c)));
    }
    if let Some(item) = app.try_state::<TrayOpenItem>() {
        let _ = item.0.set_text(format!(
            "開く（未確認 {}・至急 {}）",
            c.unconfirmed, c.urgent
        ));
    }
}
