// The ONLY module that talks to the Tauri bridge (invoke / listen). One function per command;
// errors arrive as {code, message}. Argument names are camelCase (Tauri converts them).

const bridge = () => window.__TAURI__;

// Called when any command answers {code: "locked"} (app.js shows the lock screen).
let lockedHandler = () => {};
export function onLocked(fn) { lockedHandler = fn; }
// Called when a change is refused because nobody is named as using this PC (app.js asks).
let noActorHandler = () => {};
export function onNoActor(fn) { noActorHandler = fn; }

async function call(cmd, args = {}) {
  const b = bridge();
  if (!b) throw { code: "no_bridge", message: "window.__TAURI__ missing" };
  try {
    return await b.core.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e) {
      if (e.code === "locked") lockedHandler(e);
      if (e.code === "no_actor") noActorHandler(e);
      throw e;
    }
    throw { code: "unknown", message: String(e) };
  }
}

export const api = {
  // queue
  queue: (filter) => call("queue_list", { filter }),
  counts: () => call("queue_counts"),
  /** {rows, counts} in one call (one read of the queue when the filter narrows nothing). */
  queueView: (filter) => call("queue_view", { filter }),
  // consultation
  // Who acts is never sent: the app takes it from the session (signed-in staff, or the name
  // declared with `declare` on a PC without PINs).
  show: (id, read) => call("consultation_show", { id, read: !!read }),
  /** Closes an offline action the hub refused (connected mode, issue 19). */
  hubOutboxDismiss: (id) => call("hub_outbox_dismiss", { id }),
  // version: the row's version as shown — on a PC connected to a hub the take is
  // compare-and-set (someone took it meanwhile → {code: "taken", owner})
  ack: (id, version) => call("consultation_ack", { id, version: version ?? null }),
  setStatus: (id, status) => call("consultation_set_status", { id, status }),
  assign: (id, owner) => call("consultation_assign", { id, owner }),
  setUrgency: (id, urgency) => call("consultation_set_urgency", { id, urgency }),
  setCategory: (id, category) => call("consultation_set_category", { id, category }),
  snooze: (id, minutes) => call("consultation_snooze", { id, minutes }),
  addMessage: (id, kind, body) => call("consultation_add_message", { id, kind, body }),
  // a reply goes back on the consultation's channel (LINE WORKS, Chatwork) through the outbox;
  // recordOnly for channels with no way back (kept in the thread, nothing sent)
  // piiConfirmed: the person saw the personal-data warning and sends it anyway (audited)
  reply: (id, body, recordOnly, piiConfirmed) =>
    call("consultation_reply", { id, body, recordOnly: !!recordOnly, piiConfirmed: !!piiConfirmed }),
  outboxResend: (entryId) => call("outbox_resend", { entryId }),
  piiScan: (text) => call("pii_scan", { text }),
  phoneIntake: (call_) => call("phone_intake", { call: call_ }),
  // documents
  importBytes: (name, bytesB64, to, mediaType) => call("import_document_bytes", { name, bytesB64, to, mediaType: mediaType || null }),
  importPaths: (paths, to) => call("import_document_paths", { paths, to }),
  attachmentDataUrl: (attachmentId) => call("attachment_data_url", { attachmentId }),
  attachmentOpen: (attachmentId) => call("attachment_open", { attachmentId }),
  // staff and the lock (lockStatus — with the clinic's language —, staffList and signIn work
  // while locked; staffList leaves deactivated profiles out, staffAll has them)
  lockStatus: () => call("lock_status"),
  staffList: () => call("staff_list"),
  signIn: (name, pin) => call("sign_in", { name, pin }),
  declare: (name) => call("session_declare", { name }),
  lockNow: () => call("lock_now"),
  activity: () => call("ui_activity").catch(() => {}),
  staffAdd: (name, role, pin) => call("staff_add", { name, role, pin }),
  staffResetPin: (id, pin) => call("staff_reset_pin", { id, pin }),
  staffAll: () => call("staff_all"),
  staffSetActive: (id, active) => call("staff_set_active", { id, active }),
  staffSetRole: (id, role) => call("staff_set_role", { id, role }),
  staffChangePin: (current, pin) => call("staff_change_pin", { current, pin }),
  holidays: (count) => call("holidays_upcoming", { count }),
  backupNow: () => call("backup_now"),
  // partners, report, settings, notifications, audit
  partners: () => call("partners_list"),
  // the automatic receipt (受付メッセージ) for this partner on/off (administrators)
  partnerSetReceipt: (id, on) => call("partner_set_receipt", { id, on: !!on }),
  // handover (申し送り) and the operations report; dates YYYY-MM-DD or null (= last full week)
  handover: () => call("handover_get"),
  report: (from, to) => call("report_get", { from, to }),
  settings: () => call("settings_get"),
  saveSettings: (settings) => call("settings_save", { settings }),
  viewChanged: (view) => call("ui_view_changed", { view }).catch(() => {}),
  appInfo: () => call("app_info"),
  codeLabels: () => call("code_labels"),
  autostart: () => call("autostart_get"),
  setAutostart: (enabled) => call("autostart_set", { enabled }),
  displayZoom: () => call("display_zoom_get"),
  setDisplayZoom: (zoom) => call("display_zoom_set", { zoom }),
  notifications: (limit) => call("notifications_list", { limit }),
  audit: (filter) => call("audit_list", { filter }),
  // connected mode (issue 19): Settings → ハブに接続
  hubStatus: () => call("hub_status"),
  hubProbe: (url) => call("hub_probe", { url }),
  hubConnect: (url, code, fingerprint) => call("hub_connect", { url, code, fingerprint: fingerprint ?? null }),
  hubDisconnect: () => call("hub_disconnect"),
};

/** Subscribes to an app event: "queue-changed", "open-consultation", "native-drop", "native-drag",
 *  "lock-changed" ({locked}), "backup-problem" ({message}), "store-problem" ({message}),
 *  connected: "hub-changed" ({consultation_id, kind}), "hub-presence" ({consultation_id, who, state}). */
export function on(event, handler) {
  const b = bridge();
  if (!b?.event?.listen) return Promise.resolve(() => {});
  return b.event.listen(event, (e) => handler(e.payload));
}
