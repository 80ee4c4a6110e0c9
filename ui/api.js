// The ONLY module that talks to the Tauri bridge (invoke / listen). One function per command;
// errors arrive as {code, message}. Argument names are camelCase (Tauri converts them).

const bridge = () => window.__TAURI__;

// Called when any command answers {code: "locked"} (app.js shows the lock screen).
let lockedHandler = () => {};
export function onLocked(fn) { lockedHandler = fn; }

async function call(cmd, args = {}) {
  const b = bridge();
  if (!b) throw { code: "no_bridge", message: "window.__TAURI__ missing" };
  try {
    return await b.core.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e) {
      if (e.code === "locked") lockedHandler(e);
      throw e;
    }
    throw { code: "unknown", message: String(e) };
  }
}

export const api = {
  // queue
  queue: (filter) => call("queue_list", { filter }),
  counts: () => call("queue_counts"),
  // consultation
  show: (id, by) => call("consultation_show", { id, by }),
  ack: (id, by) => call("consultation_ack", { id, by }),
  setStatus: (id, status, by) => call("consultation_set_status", { id, status, by }),
  assign: (id, owner, by) => call("consultation_assign", { id, owner, by }),
  setUrgency: (id, urgency, by) => call("consultation_set_urgency", { id, urgency, by }),
  setCategory: (id, category, by) => call("consultation_set_category", { id, category, by }),
  snooze: (id, minutes, by) => call("consultation_snooze", { id, minutes, by }),
  addMessage: (id, kind, body, by) => call("consultation_add_message", { id, kind, body, by }),
  piiScan: (text) => call("pii_scan", { text }),
  phoneIntake: (call_, by) => call("phone_intake", { call: call_, by }),
  // documents
  importBytes: (name, bytesB64, to, by) => call("import_document_bytes", { name, bytesB64, to, by }),
  importPaths: (paths, to, by) => call("import_document_paths", { paths, to, by }),
  attachmentDataUrl: (attachmentId, by) => call("attachment_data_url", { attachmentId, by }),
  attachmentOpen: (attachmentId, by) => call("attachment_open", { attachmentId, by }),
  // staff and the lock (lockStatus — with the clinic's language —, staffList and signIn work
  // while locked; staffList leaves deactivated profiles out, staffAll has them)
  lockStatus: () => call("lock_status"),
  staffList: () => call("staff_list"),
  signIn: (name, pin) => call("sign_in", { name, pin }),
  lockNow: () => call("lock_now"),
  activity: () => call("ui_activity").catch(() => {}),
  staffAdd: (name, role, pin, by) => call("staff_add", { name, role, pin, by }),
  staffResetPin: (id, pin, by) => call("staff_reset_pin", { id, pin, by }),
  staffAll: () => call("staff_all"),
  staffSetActive: (id, active, by) => call("staff_set_active", { id, active, by }),
  staffSetRole: (id, role, by) => call("staff_set_role", { id, role, by }),
  staffChangePin: (current, pin, by) => call("staff_change_pin", { current, pin, by }),
  holidays: (count) => call("holidays_upcoming", { count }),
  backupNow: (by) => call("backup_now", { by }),
  // partners, settings, notifications, audit
  partners: () => call("partners_list"),
  settings: () => call("settings_get"),
  saveSettings: (settings, by) => call("settings_save", { settings, by }),
  viewChanged: (view) => call("ui_view_changed", { view }).catch(() => {}),
  appInfo: () => call("app_info"),
  notifications: (limit) => call("notifications_list", { limit }),
  audit: (filter) => call("audit_list", { filter }),
};

/** Subscribes to an app event: "queue-changed", "open-consultation", "native-drop", "native-drag",
 *  "lock-changed" ({locked}), "backup-problem" ({message}), "store-problem" ({message}). */
export function on(event, handler) {
  const b = bridge();
  if (!b?.event?.listen) return Promise.resolve(() => {});
  return b.event.listen(event, (e) => handler(e.payload));
}
