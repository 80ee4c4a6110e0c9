//! # renkei-desk
//!
//! The desktop shell of Renkei Desk (連携デスク): a Tauri 2 app over `renkei-core`. It owns the
//! window, tray, OS notifications, drag-and-drop and the store watcher, and exposes the core's
//! [`Desk`](renkei_core::desk::Desk) to the UI (`ui/`) through thin commands (`commands/`).
//! No business logic lives here: triage, due times, urgency, personal-data checks and audit are
//! the core's.

pub mod autostart;
pub mod backup;
pub mod cli_args;
pub mod commands;
pub mod dragdrop;
pub mod error;
pub mod events;
pub mod hub;
pub mod intake;
#[cfg(all(unix, not(target_os = "macos")))]
pub mod launcher;
pub mod lock;
pub mod notifier;
pub mod offline;
pub mod opener;
pub mod overlay;
pub mod rendering;
pub mod selfcheck;
pub mod state;
pub mod tray;
pub mod watcher;
pub mod window;
pub mod zoom;

use error::CommandError;
use renkei_core::desk::Desk;
use renkei_core::store::DataDir;
use state::DeskState;
use std::sync::Arc;
use tauri::Manager;

/// Opens the store named by the environment (`RENKEI_DATA_DIR`, `RENKEI_NOW`, key).
pub fn open_desk() -> Result<Desk, CommandError> {
    let clock =
        renkei_core::clock::clock_from_env().map_err(|e| CommandError::new("invalid_input", e))?;
    let dir = DataDir::from_env_or_default();
    Ok(Desk::open(&dir, Arc::from(clock))?)
}

/// Builds the app around `state`.
pub fn builder(state: DeskState) -> tauri::Builder<tauri::Wry> {
    tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            window::show_main(app);
        }))
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(window::remembered())
                .build(),
        )
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![autostart::ARG]),
        ))
        .manage(state)
        .manage(selfcheck::SelfCheckState::default())
        .setup(|app| {
            let handle = app.handle().clone();
            app.state::<DeskState>().attach_app(handle.clone());
            if autostart::started_at_login() {
                if let Some(w) = app.get_webview_window(window::MAIN) {
                    let _ = w.hide(); // a start at login waits in the tray
                }
            }
            window::fit_to_screen(&handle);
            zoom::apply(&handle);
            autostart::apply_first_run_default(&handle);
            #[cfg(all(unix, not(target_os = "macos")))]
            app.manage(launcher::LauncherBadge::connect());
            if let Err(e) = tray::build(app) {
                tracing::warn!("tray icon unavailable: {e}");
            }
            app.manage(intake::IntakeServer::default());
            if let Ok(Some(settings)) = app
                .state::<DeskState>()
                .internal(|d| Ok(Some(d.settings().intake.clone())))
            {
                intake::start_if_enabled(&settings, &app.state::<intake::IntakeServer>());
            }
            selfcheck::start(handle.clone());
            backup::start(handle.clone());
            lock::start(handle.clone());
            app.state::<DeskState>().hub().connect_from_env();
            hub::start(handle.clone());
            offline::start(handle.clone());
            let notifier = notifier::Notifier::start(handle.clone());
            watcher::start(handle, notifier);
            Ok(())
        })
        .on_window_event(window::on_window_event)
        .invoke_handler(tauri::generate_handler![
            commands::queue::queue_list,
            commands::queue::queue_counts,
            commands::queue::queue_view,
            commands::consultation::consultation_show,
            commands::consultation::consultation_ack,
            commands::consultation::consultation_set_status,
            commands::consultation::consultation_assign,
            commands::consultation::consultation_set_urgency,
            commands::consultation::consultation_set_category,
            commands::consultation::consultation_snooze,
            commands::consultation::consultation_add_message,
            commands::replies::consultation_reply,
            commands::replies::outbox_resend,
            commands::consultation::pii_scan,
            commands::consultation::phone_intake,
            commands::documents::import_document_bytes,
            commands::documents::import_document_paths,
            commands::documents::attachment_data_url,
            commands::documents::attachment_open,
            commands::partners::partners_list,
            commands::partners::partner_set_receipt,
            commands::report::handover_get,
            commands::report::report_get,
            commands::settings::settings_get,
            commands::settings::settings_save,
            commands::settings::holidays_upcoming,
            commands::settings::backup_now,
            commands::settings::ui_view_changed,
            commands::settings::app_info,
            commands::settings::autostart_get,
            commands::settings::code_labels,
            commands::settings::autostart_set,
            commands::settings::display_zoom_get,
            commands::settings::display_zoom_set,
            commands::staff::lock_status,
            commands::staff::staff_list,
            commands::staff::sign_in,
            commands::staff::session_declare,
            commands::staff::lock_now,
            commands::staff::ui_activity,
            commands::staff::staff_add,
            commands::staff::staff_reset_pin,
            commands::staff::staff_all,
            commands::staff::staff_set_active,
            commands::staff::staff_set_role,
            commands::staff::staff_change_pin,
            commands::notifications::notifications_list,
            commands::notifications::audit_list,
            commands::hub::hub_status,
            commands::hub::hub_probe,
            commands::hub::hub_connect,
            commands::hub::hub_disconnect,
            commands::hub::hub_outbox_dismiss,
        ])
}

/// Runs the app.
pub fn run() {
    match cli_args::parse(std::env::args().skip(1)) {
        cli_args::Flags::Run => {}
        cli_args::Flags::Print(text) => {
            println!("{text}");
            return;
        }
        cli_args::Flags::Refuse(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    }
    rendering::choose();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let opened = open_desk();
    if let Err(e) = &opened {
        tracing::error!("the store could not be opened: {e}");
    }
    let dir = match &opened {
        Ok(d) => d.data_dir().root.clone(),
        Err(_) => DataDir::from_env_or_default().root,
    };
    let state = DeskState::new(opened).with_hub(hub::HubLink::load(&dir));
    if let Err(e) = builder(state).run(tauri::generate_context!()) {
        tracing::error!("Renkei Desk stopped: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use renkei_core::clock::FixedClock;
    use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
    use tauri::webview::InvokeRequest;

    fn desk(dir: &std::path::Path) -> Desk {
        let clock = Arc::new(FixedClock::new(
            renkei_core::clock::parse_rfc3339("2026-12-01T10:00:00+09:00").unwrap(),
        ));
        let store = renkei_core::store::Store::open_in_memory(&DataDir::new(dir)).unwrap();
        Desk::from_store(store, clock).unwrap()
    }

    fn app(state: DeskState) -> tauri::WebviewWindow<tauri::test::MockRuntime> {
        let app = mock_builder()
            .manage(state)
            .invoke_handler(tauri::generate_handler![
                commands::queue::queue_list,
                commands::consultation::consultation_show,
                commands::consultation::consultation_set_status,
                commands::consultation::consultation_ack,
                commands::notifications::audit_list,
                commands::documents::import_document_bytes,
                commands::settings::settings_get,
                commands::settings::settings_save,
                commands::staff::lock_status,
                commands::staff::staff_list,
                commands::staff::sign_in,
                commands::staff::session_declare,
                commands::staff::lock_now,
                commands::staff::staff_all,
                commands::staff::staff_set_active,
                commands::staff::staff_set_role,
            ])
            .build(mock_context(noop_assets()))
            .unwrap();
        tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap()
    }

    fn invoke(
        w: &tauri::WebviewWindow<tauri::test::MockRuntime>,
        cmd: &str,
        body: serde_json::Value,
    ) -> Result<serde_json::Value, serde_json::Value> {
        get_ipc_response(
            w,
            InvokeRequest {
                cmd: cmd.into(),
                callback: tauri::ipc::CallbackFn(0),
                error: tauri::ipc::CallbackFn(1),
                url: "tauri://localhost".parse().unwrap(),
                body: tauri::ipc::InvokeBody::Json(body),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<serde_json::Value>().unwrap())
    }

    #[test]
    fn core_errors_cross_the_bridge_as_code_and_message() {
        let e = CommandError::from(renkei_core::Error::NotFound(
            "consultation 9 not found".into(),
        ));
        assert_eq!(e.code, "not_found");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "not_found", "message": "consultation 9 not found"})
        );
    }

    #[test]
    fn commands_answer_with_code_and_message() {
        let tmp = tempfile::tempdir().unwrap();
        let w = app(DeskState::new(Ok(desk(tmp.path()))));
        invoke(&w, "session_declare", serde_json::json!({"name": "田村"})).unwrap();
        let rows = invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap();
        assert_eq!(rows, serde_json::json!([]));
        let err = invoke(
            &w,
            "consultation_show",
            serde_json::json!({"id": 42, "by": "田村"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "not_found", "{err}");
        let err = invoke(
            &w,
            "consultation_set_status",
            serde_json::json!({"id": 1, "status": "done", "by": "田村"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "invalid_input", "{err}");
    }

    #[test]
    fn a_refused_drop_says_why_and_stores_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let w = app(DeskState::new(Ok(desk(tmp.path()))));
        invoke(&w, "session_declare", serde_json::json!({"name": "田村"})).unwrap();
        let r = invoke(
            &w,
            "import_document_bytes",
            serde_json::json!({"name": "memo.txt", "bytesB64": "aGVsbG8=", "to": null, "by": "田村"}),
        )
        .unwrap();
        assert_eq!(r["error"]["code"], "unsupported_media_type", "{r}");
        assert!(r["outcome"].is_null());
        let rows = invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap();
        assert_eq!(rows, serde_json::json!([]));
    }

    /// Issue 17: who acts comes from the session — the signed-in staff member, or the name
    /// declared on a PC without PINs — never from a field the page sends.
    #[test]
    fn the_page_cannot_write_another_name_into_the_audit_chain() {
        use renkei_core::model::{NewConsultation, PartnerRef};
        let tmp = tempfile::tempdir().unwrap();
        let mut d = desk(tmp.path());
        let id = d
            .intake(NewConsultation::new(
                renkei_core::Channel::Manual,
                PartnerRef::Unknown,
                renkei_core::Category::Other,
                "監査テスト",
                "本文",
            ))
            .unwrap()
            .id;
        let state = DeskState::new(Ok(d));
        let w = app(state);
        // Nobody named yet: a change is refused, whatever name the page sends.
        let err = invoke(
            &w,
            "consultation_ack",
            serde_json::json!({"id": id, "by": "院長"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "no_actor", "{err}");
        invoke(&w, "session_declare", serde_json::json!({"name": "田村"})).unwrap();
        invoke(
            &w,
            "consultation_ack",
            serde_json::json!({"id": id, "by": "院長"}),
        )
        .unwrap();
        invoke(
            &w,
            "consultation_set_status",
            serde_json::json!({"id": id, "status": "in_progress", "by": "院長"}),
        )
        .unwrap();
        let events = invoke(&w, "audit_list", serde_json::json!({"filter": {}})).unwrap();
        let mine: Vec<&serde_json::Value> = events
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["target"].as_str() == Some(&format!("consultation:{id}")))
            .filter(|e| e["action"] != "consultation.create")
            .collect();
        assert!(mine.len() >= 2, "{events}");
        for e in &mine {
            assert_eq!(e["actor"], "田村", "the page's `by` reached the audit: {e}");
        }
        assert!(!events.to_string().contains("院長"), "{events}");
    }

    #[test]
    fn a_name_alone_is_refused_once_staff_have_pins() {
        use renkei_core::store::staff::Role;
        let tmp = tempfile::tempdir().unwrap();
        let mut d = desk(tmp.path());
        d.add_staff("田村", Role::Clerk, Some("1234"), "setup")
            .unwrap();
        let w = app(DeskState::new(Ok(d)));
        let err = invoke(&w, "session_declare", serde_json::json!({"name": "院長"})).unwrap_err();
        assert_eq!(err["code"], "forbidden", "{err}");
        let err = invoke(&w, "session_declare", serde_json::json!({"name": "  "})).unwrap_err();
        assert_eq!(err["code"], "invalid_input", "{err}");
    }

    #[test]
    fn an_unopened_store_answers_every_command_with_what_to_do() {
        let w = app(DeskState::new(Err(CommandError::new(
            "unauthorized",
            "the key is missing",
        ))));
        let err = invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap_err();
        assert_eq!(err["code"], "store_unavailable");
        assert!(err["message"]
            .as_str()
            .unwrap()
            .contains("the key is missing"));
    }

    #[test]
    fn a_locked_app_answers_locked_until_someone_signs_in() {
        use renkei_core::store::staff::Role;
        let tmp = tempfile::tempdir().unwrap();
        let mut d = desk(tmp.path());
        d.add_staff("院長", Role::Doctor, Some("9999"), "setup")
            .unwrap();
        d.add_staff("田村", Role::Clerk, Some("1234"), "setup")
            .unwrap();
        let mut s = d.settings().clone();
        s.intake.lineworks_bot_secret = Some("bot-secret".into());
        d.save_settings(s, "setup").unwrap();
        let w = app(DeskState::new(Ok(d)));
        let status = invoke(&w, "lock_status", serde_json::json!({})).unwrap();
        assert_eq!(status["locked"], true, "{status}");
        let err = invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap_err();
        assert_eq!(err["code"], "locked", "{err}");
        let err = invoke(&w, "settings_get", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "locked", "{err}");
        // the lock screen still gets the names
        let staff = invoke(&w, "staff_list", serde_json::json!({})).unwrap();
        assert_eq!(staff.as_array().unwrap().len(), 2);
        let err = invoke(
            &w,
            "sign_in",
            serde_json::json!({"name": "田村", "pin": "0000"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "unauthorized", "{err}");
        let me = invoke(
            &w,
            "sign_in",
            serde_json::json!({"name": "田村", "pin": "1234"}),
        )
        .unwrap();
        assert_eq!(me["role"], "clerk");
        let rows = invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap();
        assert_eq!(rows, serde_json::json!([]));
        // settings leave masked; a clerk may not save them, whatever name the UI sends
        let settings = invoke(&w, "settings_get", serde_json::json!({})).unwrap();
        assert_eq!(settings["intake"]["lineworks_bot_secret"], "********");
        let err = invoke(
            &w,
            "settings_save",
            serde_json::json!({"settings": settings, "by": "院長"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "forbidden", "{err}");
        // locking again closes everything
        assert_eq!(invoke(&w, "lock_now", serde_json::json!({})).unwrap(), true);
        let err = invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap_err();
        assert_eq!(err["code"], "locked", "{err}");
        invoke(
            &w,
            "sign_in",
            serde_json::json!({"name": "院長", "pin": "9999"}),
        )
        .unwrap();
        let saved = invoke(
            &w,
            "settings_save",
            serde_json::json!({"settings": settings, "by": "院長"}),
        )
        .unwrap();
        assert_eq!(saved["intake"]["lineworks_bot_secret"], "********");
    }

    #[test]
    fn an_idle_session_locks_and_activity_keeps_it_open() {
        use renkei_core::store::staff::Role;
        use std::time::Duration;
        let tmp = tempfile::tempdir().unwrap();
        let mut d = desk(tmp.path());
        d.add_staff("大野", Role::Nurse, Some("4821"), "setup")
            .unwrap();
        let state = DeskState::new(Ok(d));
        assert!(state.locked().unwrap());
        state.sign_in("大野", "4821").unwrap();
        assert_eq!(state.actor().unwrap(), "大野");
        assert!(!state.lock_if_idle(Duration::from_secs(60)).unwrap());
        assert!(!state.locked().unwrap());
        assert!(state.lock_if_idle(Duration::ZERO).unwrap());
        assert!(state.locked().unwrap());
        assert!(state.signed_in().is_none());
        // a locked app does not lock again
        assert!(!state.lock_if_idle(Duration::ZERO).unwrap());
    }

    #[test]
    fn the_lock_screen_speaks_the_clinic_language_and_skips_deactivated_staff() {
        use renkei_core::store::staff::Role;
        let tmp = tempfile::tempdir().unwrap();
        let mut d = desk(tmp.path());
        d.add_staff("院長", Role::Doctor, Some("9999"), "setup")
            .unwrap();
        d.add_staff("事務長", Role::Admin, Some("2468"), "setup")
            .unwrap();
        let tamura = d
            .add_staff("田村", Role::Clerk, Some("1234"), "setup")
            .unwrap()
            .id;
        let mut s = d.settings().clone();
        s.language = "en".into();
        d.save_settings(s, "setup").unwrap();
        let w = app(DeskState::new(Ok(d)));
        // before anyone signs in, the lock screen learns the clinic's language
        let status = invoke(&w, "lock_status", serde_json::json!({})).unwrap();
        assert_eq!(status["locked"], true, "{status}");
        assert_eq!(status["language"], "en", "{status}");
        let err = invoke(&w, "staff_all", serde_json::json!({})).unwrap_err();
        assert_eq!(err["code"], "locked", "{err}");
        invoke(
            &w,
            "sign_in",
            serde_json::json!({"name": "院長", "pin": "9999"}),
        )
        .unwrap();
        // the UI's `by` is ignored: the signed-in doctor acts
        let off = invoke(
            &w,
            "staff_set_active",
            serde_json::json!({"id": tamura, "active": false, "by": "田村"}),
        )
        .unwrap();
        assert_eq!(off["active"], false, "{off}");
        let names = |v: serde_json::Value| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|p| p["name"].as_str().unwrap().to_string())
                .collect()
        };
        // gone from the lock screen, still in the settings' list
        let lock_names = names(invoke(&w, "staff_list", serde_json::json!({})).unwrap());
        assert!(!lock_names.contains(&"田村".to_string()), "{lock_names:?}");
        let all = names(invoke(&w, "staff_all", serde_json::json!({})).unwrap());
        assert!(all.contains(&"田村".to_string()), "{all:?}");
        // a doctor who steps down to nurse loses staff management at once …
        let me = invoke(&w, "lock_status", serde_json::json!({})).unwrap()["staff"]["id"].clone();
        invoke(
            &w,
            "staff_set_role",
            serde_json::json!({"id": me, "role": "nurse", "by": ""}),
        )
        .unwrap();
        let status = invoke(&w, "lock_status", serde_json::json!({})).unwrap();
        assert_eq!(status["staff"]["role"], "nurse", "{status}");
        let err = invoke(
            &w,
            "staff_set_active",
            serde_json::json!({"id": tamura, "active": true, "by": ""}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "forbidden", "{err}");
        // … and an administrator who deactivates their own profile is signed out
        invoke(
            &w,
            "sign_in",
            serde_json::json!({"name": "事務長", "pin": "2468"}),
        )
        .unwrap();
        let err = invoke(&w, "staff_all", serde_json::json!({})).unwrap();
        let head = err
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "事務長")
            .unwrap()["id"]
            .clone();
        let err = invoke(
            &w,
            "staff_set_active",
            serde_json::json!({"id": head, "active": false, "by": ""}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "last_admin", "{err}");
        invoke(
            &w,
            "staff_set_role",
            serde_json::json!({"id": me, "role": "doctor", "by": ""}),
        )
        .unwrap();
        invoke(
            &w,
            "staff_set_active",
            serde_json::json!({"id": head, "active": false, "by": ""}),
        )
        .unwrap();
        let status = invoke(&w, "lock_status", serde_json::json!({})).unwrap();
        assert_eq!(status["locked"], true, "{status}");
        let err = invoke(
            &w,
            "sign_in",
            serde_json::json!({"name": "事務長", "pin": "2468"}),
        )
        .unwrap_err();
        assert_eq!(err["code"], "profile_disabled", "{err}");
    }

    #[test]
    fn without_pins_the_app_never_locks() {
        let tmp = tempfile::tempdir().unwrap();
        let w = app(DeskState::new(Ok(desk(tmp.path()))));
        assert_eq!(
            invoke(&w, "lock_now", serde_json::json!({})).unwrap(),
            false
        );
        let status = invoke(&w, "lock_status", serde_json::json!({})).unwrap();
        assert_eq!(status["locked"], false);
        assert_eq!(status["required"], false);
        invoke(&w, "queue_list", serde_json::json!({"filter": {}})).unwrap();
    }
}
