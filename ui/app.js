// Entry point: the lock screen, navigation, the status bar, keyboard shortcuts, live updates
// ("queue-changed", "open-consultation", "lock-changed") and the drop handler. Views render;
// api.js talks to the app.

import { api, on, onLocked, onNoActor } from "./api.js";
import { h, replace, coalesce, icon } from "./util/dom.js";
import { t, setLang, getLang, setCodeLabels } from "./i18n/index.js";
import { setServerNow, clock } from "./util/time.js";
import { get, set, subscribe, setMe, recentStaff } from "./state.js";
import { toast, toastError, errorText } from "./util/toast.js";
import { installDrop } from "./util/drop.js";
import * as queue from "./views/queue.js";
import * as cons from "./views/consultation.js";
import { mountPhoneForm } from "./views/phone-form.js";
import { mountPartners } from "./views/partners.js";
import { mountNotifications } from "./views/notifications.js";
import { mountAudit } from "./views/audit.js";
import { mountReport } from "./views/report.js";
import { mountSettings, ZOOM_STEPS } from "./views/settings.js";
import { mountLock } from "./views/lock.js";

const $ = (id) => document.getElementById(id);
const NAV = ["queue", "phone", "partners", "report", "notifications", "audit", "settings"];

// ----- chrome -------------------------------------------------------------------------------

function renderChrome() {
  if (get().locked) return;
  $("brand-name").textContent = t("app.name");
  $("brand-sub").textContent = t("app.sub");
  const view = get().view === "consultation" ? "queue" : get().view;
  replace($("nav"), NAV.map((v) => h("button", {
    type: "button", id: `nav-${v}`, dataset: { view: v }, "aria-current": v === view ? "page" : null, onclick: () => go(v),
  }, t(`nav.${v}`), v === "queue" && get().counts.urgent ? h("span", { class: "nav__badge" }, String(get().counts.urgent)) : null)));
  const me = $("me");
  replace(me, icon("user"), get().me || t("me.none"));
  me.title = t("me.switch");
  me.classList.toggle("is-missing", !get().me);
  const lockBtn = $("lock-now");
  lockBtn.hidden = !get().lockRequired;
  lockBtn.title = t("lock.now");
  lockBtn.setAttribute("aria-label", t("lock.now"));
  renderStatusBar();
}

function renderStatusBar() {
  if (get().locked) return;
  const c = get().counts;
  const item = (id, key, n, hot) => h("span", { class: `count${hot && n ? " is-hot" : ""}`, id }, t(`status_bar.${key}`), h("b", {}, String(n)));
  replace($("status-bar"),
    item("count-unconfirmed", "unconfirmed", c.unconfirmed, false),
    item("count-urgent", "urgent", c.urgent, true),
    item("count-overdue", "overdue", c.overdue, true),
    item("count-open", "open", c.open, false),
    h("span", { class: "spacer" }),
    get().updatedAt ? h("span", { id: "updated-at" }, t("status_bar.updated", { t: clock(get().updatedAt) })) : null);
}

// ----- navigation ---------------------------------------------------------------------------

async function go(view, id = null) {
  if (get().locked) return;
  if (get().view === "consultation" && view !== "consultation") cons.closeConsultation();
  set({ view, openId: view === "consultation" ? id : null });
  api.viewChanged(view);
  renderChrome();
  const root = $("view");
  switch (view) {
    case "queue":
      queue.mountQueue(root, { open: openConsultation, reload });
      await reload();
      queue.focusList();
      break;
    case "consultation": await cons.mountConsultation(root, id, { back: () => go("queue"), changed: reload }); break;
    case "phone": await mountPhoneForm(root, { saved: (nid) => { set({ selectedId: nid }); go("queue"); } }); break;
    case "partners": await mountPartners(root); break;
    case "notifications": await mountNotifications(root, { open: openConsultation }); break;
    case "report": await mountReport(root); break;
    case "audit": await mountAudit(root); break;
    case "settings": await mountSettings(root, { language: (l) => { setLang(l); go("settings"); }, lockRequired: () => refreshLockStatus(), lock: () => showLock() }); break;
  }
}

function openConsultation(id) {
  if (id == null) return;
  set({ selectedId: id });
  go("consultation", id);
}

// ----- data ---------------------------------------------------------------------------------

let loading = null;
async function reload() {
  if (loading) { loading.again = true; return; }
  loading = { again: false };
  try {
    const [{ rows, counts }, info] = await Promise.all([api.queueView(queue.coreFilter()), api.appInfo()]);
    setServerNow(info.now);
    set({ rows, counts, updatedAt: info.now });
    // Connected: the rows may be the kept copy (the hub unreachable) — the banner says so.
    if (info.hub_connected) api.hubStatus().then((st) => offlineBanner(st.online && !st.outbox_pending && !st.outbox_conflicts ? null : st), () => {});
    else offlineBanner(null);
    if (get().view === "queue") queue.render();
    renderChrome();
  } catch (e) {
    if (e?.code === "store_unavailable" || e?.code === "no_bridge") fatal(e);
    // Connected and the hub is unreachable: the last queue stays on screen under a banner.
    else if (e?.code === "hub_unreachable") {
      api.hubStatus().then(offlineBanner, () => offlineBanner({}));
      if (get().view === "queue") queue.render(); // the last rows, kept in the state
    }
    else if (e?.code !== "locked") toastError(e);
  } finally {
    const again = loading.again;
    loading = null;
    if (again) reload();
  }
}

/** 「オフライン — 最終同期 10:42」 above the queue (`st` = hub_status), or none (`null`). */
function offlineBanner(st) {
  let b = $("offline-banner");
  if (!st) { b?.remove(); return; }
  if (!b) { b = h("div", { id: "offline-banner", class: "banner banner--offline", role: "status" }); $("view").before(b); }
  const parts = [];
  if (st.online === false || st.online === undefined) parts.push(st.last_sync ? t("hub.offline", { time: clock(st.last_sync) }) : t("hub.offlineNever"));
  if (st.outbox_pending) parts.push(t("hub.pendingCount", { n: st.outbox_pending }));
  if (st.outbox_conflicts) parts.push(t("hub.conflictCount", { n: st.outbox_conflicts }));
  b.textContent = parts.join("　・　");
  b.classList.toggle("is-online", st.online === true);
}

// A change shows at once (issue 24: POST → row on screen ≤ 250 ms); a burst of changes (a FAX
// batch, a busy minute at the hub) redraws at most once per 150 ms, the last change included.
const onChanged = coalesce(() => {
  if (get().locked) return;
  reload();
  if (get().view === "consultation") cons.refreshConsultation();
}, 150);

function fatal(e) {
  replace($("view"), h("div", { class: "fatal", id: "fatal" }, h("h1", {}, t("errors.storeTitle")), h("p", {}, errorText(e)), h("pre", {}, e.message || "")));
}

// ----- lock ---------------------------------------------------------------------------------

/** Shows the lock screen and removes everything else from the DOM (nothing left behind it). */
function showLock() {
  if (get().locked && $("lock")) return;
  if (get().view === "consultation") cons.closeConsultation();
  const last = get().me;
  set({ locked: true, view: "queue", rows: [], counts: { unconfirmed: 0, urgent: 0, overdue: 0, open: 0 }, openId: null, me: "", staff: null });
  for (const id of ["view", "nav", "status-bar", "me", "overlay", "toast"]) $(id).replaceChildren();
  $("overlay").hidden = true;
  $("app").hidden = true;
  let root = $("lock");
  if (!root) { root = h("div", { id: "lock", class: "lock" }); document.body.append(root); }
  // The clinic's language may have been changed on another PC: ask before drawing.
  api.lockStatus().then((st) => applyClinicLanguage(st), () => {}).finally(() => {
    if (get().locked && root.isConnected) mountLock(root, { lastName: last, unlocked });
  });
}

/** The clinic's language (Settings.language, sent with lock_status) wins over the cache. */
function applyClinicLanguage(st) {
  if (st?.language && st.language !== getLang()) setLang(st.language);
}

function unlocked(staff) {
  $("lock")?.remove();
  $("app").hidden = false;
  set({ locked: false, lockRequired: true, me: staff.name, staff });
  renderChrome();
  go("queue");
}

async function lockNow() {
  if (get().locked) return;
  try {
    if (await api.lockNow()) showLock();
    else toast(t("lock.notAvailable"), { kind: "info", code: "no_pin" });
  } catch (e) { if (e?.code !== "locked") toastError(e); }
}

async function refreshLockStatus() {
  try {
    const st = await api.lockStatus();
    set({ lockRequired: st.required, ...(st.staff ? { staff: st.staff, me: st.staff.name } : {}) });
    renderChrome();
    if (st.locked) showLock();
    return st;
  } catch (e) { return null; }
}

let lastPing = 0;
function activity() {
  if (get().locked) return;
  const now = Date.now();
  if (now - lastPing < 15000) return;
  lastPing = now;
  api.activity();
}

// ----- who am I -----------------------------------------------------------------------------

async function whoami() {
  const ov = $("overlay");
  const input = h("input", { type: "text", id: "whoami-input", placeholder: t("whoami.placeholder"), value: get().me, autocomplete: "off" });
  const names = new Set(recentStaff());
  try {
    const events = await api.audit({ limit: 300 });
    events.filter((e) => e.action === "consultation.read" || (e.action.startsWith("message.") && e.action !== "message.inbound")).forEach((e) => names.add(e.actor));
  } catch { /* chips are a convenience */ }
  const done = async (n) => {
    if (!n.trim()) { input.focus(); return; }
    // The app records every change under the declared name (never a name the page sends later).
    try { await api.declare(n); } catch (e) { toastError(e); input.focus(); return; }
    setMe(n); ov.hidden = true; renderChrome(); if (get().view === "queue") queue.focusList();
  };
  const chips = [...names].filter(Boolean).slice(0, 8).map((n) => h("button", { class: "chip", type: "button", dataset: { name: n }, onclick: () => done(n) }, n));
  const form = h("form", { class: "dialog", id: "whoami" },
    h("h2", {}, t("whoami.title")), h("p", {}, t("whoami.lead")), input,
    chips.length ? [h("div", { class: "hint" }, t("whoami.recent")), h("div", { class: "chips" }, chips)] : null,
    h("div", { class: "actions" }, h("button", { class: "btn btn--primary", type: "submit", id: "whoami-ok" }, t("whoami.ok"))));
  form.addEventListener("submit", (e) => { e.preventDefault(); done(input.value); });
  form.addEventListener("keydown", (e) => { if (e.key === "Escape" && get().me) { ov.hidden = true; } });
  replace(ov, form);
  ov.hidden = false;
  input.focus();
}

function help() {
  const ov = $("overlay");
  const k = (key, text) => [h("div", {}, h("kbd", {}, key)), h("div", {}, text)];
  const box = h("div", { class: "dialog", id: "help" }, h("h2", {}, t("keys.title")),
    h("div", { class: "keys" }, k("j", t("keys.j")), k("k", t("keys.k")), k("Enter", t("keys.enter")), k("a", t("keys.a")), k("r", t("keys.r")),
      k("s", t("keys.s")), k("/", t("keys.slash")), k("n", t("keys.n")), k("?", t("keys.help")), k("Esc", t("keys.esc")), k("Ctrl + / −", t("keys.zoom"))),
    h("div", { class: "actions" }, h("button", { class: "btn", type: "button", onclick: () => { ov.hidden = true; } }, t("keys.close"))));
  replace(ov, box);
  ov.hidden = false;
}

// ----- keyboard -----------------------------------------------------------------------------

async function ackSelected() {
  const r = queue.selectedRow();
  const me = get().me;
  if (!r) return;
  if (!me) { toast(t("errors.needName"), { kind: "error", code: "need_name" }); return; }
  try {
    if (r.status === "new") await api.ack(r.id, r.version); else await api.assign(r.id, me);
    await reload();
  } catch (e) { toastError(e); }
}

async function snoozeSelected() {
  const r = queue.selectedRow();
  const me = get().me;
  if (!r || !me) return;
  try { await api.snooze(r.id, 60); await reload(); } catch (e) { toastError(e); }
}

/** Ctrl + / − / 0: one step of this PC's display size (the same steps as Settings offers). */
async function stepZoom(dir) {
  try {
    const cur = await api.displayZoom();
    const i = ZOOM_STEPS.findIndex((z) => Math.abs(z - cur) < 1e-9);
    const next = dir === 0 ? 1 : ZOOM_STEPS[Math.min(ZOOM_STEPS.length - 1, Math.max(0, (i < 0 ? 1 : i) + dir))];
    if (Math.abs(next - cur) > 1e-9) await api.setDisplayZoom(next);
  } catch (e) { toastError(e); }
}

function onKey(e) {
  if (get().locked) return;
  if ((e.ctrlKey || e.metaKey) && !e.altKey && e.key.toLowerCase() === "l") { e.preventDefault(); lockNow(); return; }
  if ((e.ctrlKey || e.metaKey) && !e.altKey && ["+", "=", ";", "-", "0"].includes(e.key)) {
    e.preventDefault();
    stepZoom(e.key === "0" ? 0 : e.key === "-" ? -1 : 1);
    return;
  }
  const ov = $("overlay");
  if (!ov.hidden) { if (e.key === "Escape" && (get().me || ov.querySelector("#help"))) ov.hidden = true; return; }
  const tag = (e.target?.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select" || e.target?.isContentEditable) return;
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const v = get().view;
  const key = e.key;
  const handled = () => e.preventDefault();
  if (key === "?") { handled(); help(); return; }
  if (key === "n") { handled(); go("phone"); return; }
  if (key === "Escape") { if (v !== "queue") { handled(); go("queue"); } return; }
  if (v === "queue") {
    if (key === "j" || key === "ArrowDown") { handled(); queue.move(1); }
    else if (key === "k" || key === "ArrowUp") { handled(); queue.move(-1); }
    else if (key === "Enter" || key === "o") { handled(); openConsultation(get().selectedId); }
    else if (key === "a") { handled(); ackSelected(); }
    else if (key === "r") { handled(); const id = get().selectedId; if (id != null) go("consultation", id).then(() => cons.focusComposer()); }
    else if (key === "s") { handled(); snoozeSelected(); }
    else if (key === "/") { handled(); queue.focusSearch(); }
  } else if (v === "consultation") {
    if (key === "a") { handled(); cons.ackCurrent(); }
    else if (key === "r") { handled(); cons.focusComposer(); }
    else if (key === "s") { handled(); cons.snoozeCurrent(60); }
  }
}

// ----- start --------------------------------------------------------------------------------

async function start() {
  setLang(getLang());
  onLocked(() => showLock());
  setCodeLabels(await api.codeLabels().catch(() => ({})));
  onNoActor(() => { if (!get().lockRequired && !get().locked) whoami(); });
  const st = await api.lockStatus().catch(() => null);
  applyClinicLanguage(st);
  if (st) set({ lockRequired: st.required, staff: st.staff || null });
  if (st?.staff) set({ me: st.staff.name });
  // A PC without PINs: tell the app who is using it (the name remembered on this PC).
  if (st && !st.required && get().me) await api.declare(get().me).catch(() => set({ me: "" }));
  if (!st?.locked) renderChrome();
  $("me").addEventListener("click", () => (get().lockRequired ? lockNow() : whoami()));
  $("lock-now").addEventListener("click", lockNow);
  document.addEventListener("keydown", onKey);
  for (const ev of ["keydown", "mousedown", "mousemove", "wheel", "touchstart"]) window.addEventListener(ev, activity, { passive: true, capture: true });
  on("lock-changed", (p) => { if (p?.locked) showLock(); });
  on("backup-problem", (p) => toast(t("settings.problem"), { kind: "error", detail: p?.message || "", code: "backup_problem" }));
  on("store-problem", (p) => toast(t("settings.storeProblem"), { kind: "error", detail: p?.message || "", code: "store_problem", ms: 30 * 60 * 1000 }));
  subscribe((_, patch) => { if ("me" in patch) renderChrome(); });
  installDrop({
    target: () => (get().view === "consultation" ? cons.openId() : null),
    me: () => get().me,
    done: (ids, to) => {
      if (to) { cons.refreshConsultation(); return; }
      if (ids.length) { set({ selectedId: ids[ids.length - 1] }); if (get().view !== "queue") go("queue"); else reload(); }
    },
  });
  on("queue-changed", onChanged);
  // Connected mode: someone opened or left the item open here → redraw 「…さんが閲覧中」.
  on("hub-presence", (p) => { if (get().view === "consultation" && Number(p?.consultation_id) === cons.openId()) cons.refreshConsultation(); });
  on("open-consultation", (id) => openConsultation(Number(id)));
  if (st?.locked) { showLock(); return; }
  await go("queue");
  if (!get().me && !get().lockRequired && !get().locked && !$("fatal")) whoami();
}

start();
