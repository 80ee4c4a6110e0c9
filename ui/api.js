// The ONLY module that talks to the Tauri bridge (invoke / listen). One function per command;
// errors arrive as {code, message}. Argument names are camelCase (Tauri converts them).

const bridge = () => window.__TAURI__;

async function call(cmd, args = {}) {
  const b = bridge();
  if (!b) throw { code: "no_bridge", message: "window.__TAURI__ missing" };
  try {
    return await b.core.invoke(cmd, args);
  } catch (e) {
    if (e && typeof e === "object" && "code" in e) throw e;
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
  // partners, settings, notifications, audit
  partners: () => call("partners_list"),
  settings: () => call("settings_get"),
  appInfo: () => call("app_info"),
  notifications: (limit) => call("notifications_list", { limit }),
  audit: (filter) => call("audit_list", { filter }),
};

/** Subscribes to an app event: "queue-changed", "open-consultation", "native-drop", "native-drag". */
export function on(event, handler) {
  const b = bridge();
  if (!b?.event?.listen) return Promise.resolve(() => {});
  return b.event.listen(event, (e) => handler(e.payload));
}
