// One consultation: thread (inbound, replies with their delivery state, notes, phone logs), composer with I-SBAR-C
// templates and a personal-data check before saving, and a side panel with status, owner,
// urgency (with the suggestion's reason), category, snooze, documents, details and history.
// Refreshes (another change) re-render thread and side panel only: the draft is never lost.

import { api } from "../api.js";
import { h, replace, select, icon, channelIcon } from "../util/dom.js";
import { t, label, codes } from "../i18n/index.js";
import { clock, full, liveUntil } from "../util/time.js";
import { get, recentStaff } from "../state.js";
import { offlineTag } from "./queue.js";
import { toast, toastError } from "../util/toast.js";
import { dataUrlBytes, renderFirstPage } from "../util/pdf.js";

let cur = null;       // {id, detail}
let els = {};
let acts = {};
const drafts = new Map(); // consultation id → {kind, body}
let deliveryTimer = null; // re-reads the thread while a reply waits to be sent

export function openId() { return cur?.id ?? null; }

/** Mounts the view for consultation `id`; `a` = {back(), changed()}. */
export async function mountConsultation(container, id, a) {
  acts = a;
  cur = { id, detail: null };
  els = {};
  const root = h("section", { id: "consultation", class: "cons", dataset: { id } });
  els.head = h("div", { class: "cons__head" });
  els.thread = h("div", { class: "thread", id: "thread", "aria-live": "polite" });
  els.composer = composer(id);
  els.side = h("aside", { class: "side", id: "consultation-side" });
  root.append(h("div", { class: "cons__main" }, els.head, els.thread, els.composer), els.side);
  replace(container, root);
  replace(els.thread, h("div", { class: "empty" }, t("consultation.loading")));
  try {
    cur.detail = await api.show(id, true);
  } catch (e) {
    replace(els.thread, h("div", { class: "empty", id: "consultation-error" }, t("consultation.notFound")));
    toastError(e);
    return;
  }
  paint(true);
}

/** Reloads after a change (no read receipt: the person already has it open). */
export async function refreshConsultation() {
  if (!cur) return;
  try {
    cur.detail = await api.show(cur.id, false);
    paint(false);
  } catch (e) {
    toastError(e);
  }
}

export function closeConsultation() { cur = null; clearTimeout(deliveryTimer); }
export function focusComposer() { els.textarea?.focus(); }

function by() {
  const me = get().me;
  if (!me) toast(t("errors.needName"), { kind: "error", code: "need_name" });
  return me;
}

async function run(p) {
  try {
    const out = await p;
    await refreshConsultation();
    acts.changed?.();
    // Connected and the hub unreachable: kept in this PC's outbox, sent when it answers.
    if (out?.offline === "pending") toast(t("hub.savedOffline"), { kind: "ok" });
    return out?.offline === "pending" ? "offline" : true;
  } catch (e) {
    toastError(e);
    return false;
  }
}

export async function ackCurrent() {
  const me = by();
  if (!me || !cur?.detail) return;
  const d = cur.detail;
  await run(d.status === "new" ? api.ack(d.id, d.version) : api.assign(d.id, me));
}

export async function snoozeCurrent(minutes = 60) {
  const me = by();
  if (me && cur) await run(api.snooze(cur.id, minutes));
}

function paint(first) {
  const d = cur.detail;
  if (!d) return;
  const atBottom = els.thread.scrollHeight - els.thread.scrollTop - els.thread.clientHeight < 40;
  replace(els.head,
    h("button", { class: "back", id: "back", type: "button", onclick: () => acts.back?.() }, t("consultation.back")),
    h("h1", { id: "consultation-subject" }, d.subject),
    h("div", { class: "cons__meta" },
      h("span", { class: `badge badge--${d.urgency}`, id: "consultation-urgency" }, label("urgency", d.urgency)),
      h("span", { class: `status status--${d.status}`, id: "consultation-status" }, label("status", d.status)),
      offlineTag(d),
      h("span", {}, label("category", d.category)),
      h("span", {}, "·"), h("b", {}, d.partner),
      h("span", { class: `chan chan--${d.channel}` }, channelIcon(d.channel), label("channel", d.channel)),
      h("span", {}, "·"), h("span", { title: full(d.received_at) }, `${t("consultation.received")} ${clock(d.received_at)}`),
      d.due_at ? h("span", {}, `${t("consultation.due")} `, liveUntil(h("span", { class: "due" }), d.due_at)) : null),
    presenceLine(d), offlineConflicts(d));
  const deliveries = new Map((d.deliveries || []).map((e) => [e.message_id, e]));
  replace(els.thread, d.thread.map((m) => message(m, deliveries.get(m.id))));
  paintRoute(d);
  // The sender runs in another thread or process: while a reply waits, look again every 0.5 s.
  clearTimeout(deliveryTimer);
  if ((d.deliveries || []).some((e) => e.status === "pending" || e.status === "sending")) {
    const id = d.id;
    deliveryTimer = setTimeout(() => { if (cur?.id === id) refreshConsultation(); }, 500);
  }
  if (first || atBottom) els.thread.scrollTop = els.thread.scrollHeight;
  // A live refresh must not throw away what someone is typing in the side panel (the owner
  // field): repaint it only when nobody is editing there.
  const active = document.activeElement;
  const editing = !first && active && els.side?.contains(active) && active.tagName === "INPUT";
  if (!editing) paintSide(d);
}

/** Connected mode: what this PC did offline and the hub refused — shown with the hub's words
 * until someone closes it (never dropped silently). */
function offlineConflicts(d) {
  const refused = (d.offline_actions || []).filter((a) => a.state === "conflict");
  if (!refused.length) return null;
  return h("div", { class: "cons__conflicts", id: "offline-conflicts", role: "alert" },
    refused.map((a) => h("p", { class: "conflict", dataset: { outbox: a.id } },
      h("b", {}, t("hub.conflictTitle", { action: t(`hub.actions.${a.action}`) })), " ", a.problem || "",
      h("button", { type: "button", class: "btn btn--small", onclick: () => api.hubOutboxDismiss(a.id).then(refreshConsultation, toastError) }, t("hub.dismiss")))));
}

/** Connected mode: who else has this open now (「大野さんが閲覧中」 / 「…が対応中」). */
function presenceLine(d) {
  const me = get().me;
  const others = (d.presence || []).filter((p) => p.who !== me && p.state !== "gone");
  if (!others.length) return null;
  return h("p", { class: "cons__presence", id: "consultation-presence", role: "status" },
    others.map((p) => t(p.state === "handling" ? "hub.handling" : "hub.viewing", { who: p.who })).join("・"));
}

function message(m, delivery) {
  return h("article", { class: `msg msg--${m.kind}`, dataset: { kind: m.kind, id: m.id } },
    h("div", { class: "msg__head" }, h("b", {}, m.author || "—"), h("span", { class: "msg__kind" }, t(`consultation.kinds.${m.kind}`)),
      h("time", { title: full(m.at) }, clock(m.at)), offlineTag(m)),
    h("div", { class: "msg__body" }, m.body),
    delivery ? deliveryState(delivery) : null);
}

// A reply's way back to the partner: 送信待ち / 送信済み / 送信失敗 (with the provider's words and 再送).
function deliveryState(e) {
  const state = e.status === "sending" ? "pending" : e.status;
  const when = e.sent_at ? h("time", { title: full(e.sent_at) }, clock(e.sent_at)) : null;
  const resend = e.status === "failed"
    ? h("button", { class: "btn btn--small", type: "button", dataset: { resend: e.id }, onclick: () => { if (by()) run(api.outboxResend(e.id)); } }, t("delivery.resend"))
    : null;
  return h("div", { class: `delivery delivery--${state}`, dataset: { status: e.status, entry: e.id } },
    h("span", { class: "delivery__state" }, t(`delivery.${state}`)),
    h("span", { class: "delivery__dest" }, e.destination), when,
    e.maybe_duplicate ? h("span", { class: "delivery__dup", title: t("delivery.duplicateHint") }, t("delivery.duplicate")) : null,
    e.last_error && e.status !== "sent" ? h("div", { class: "delivery__error" }, e.last_error) : null,
    resend);
}

// What the composer's 返信 does for this consultation's channel.
function paintRoute(d) {
  const hint = document.getElementById("composer-route");
  if (!hint) return;
  hint.dataset.delivery = d.reply_delivery;
  hint.textContent = t(`delivery.route.${d.reply_delivery}`, { channel: label("channel", d.channel) });
}

function staffNames(d) {
  const s = new Set(recentStaff());
  if (get().me) s.add(get().me);
  if (d.owner) s.add(d.owner);
  d.history.forEach((x) => x.by && s.add(x.by));
  return [...s];
}

function paintSide(d) {
  const me = get().me;
  const nexts = ["in_progress", "waiting_partner", "resolved", "declined"].filter((s) => s !== d.status);
  const statusBtns = nexts.map((s) => h("button", {
    class: `btn btn--small${s === "declined" ? " btn--danger" : ""}`, type: "button", dataset: { status: s },
    onclick: () => { const b = by(); if (b) run(api.setStatus(d.id, s)); },
  }, label("status", s)));
  const ownerInput = h("input", { id: "owner-input", list: "staff-list", value: d.owner || "", placeholder: t("consultation.owner") });
  const staffList = h("datalist", { id: "staff-list" }, staffNames(d).map((n) => h("option", { value: n })));
  // The clinic's staff (the hub's on a connected PC) join the names seen on this consultation.
  api.staffList().then((list) => {
    const have = new Set(staffNames(d));
    list.filter((p) => !have.has(p.name)).forEach((p) => staffList.append(h("option", { value: p.name })));
  }, () => { /* the datalist is a convenience */ });
  const urg = select({ id: "urgency-select" }, codes("urgency").map((c) => ({ value: c, label: label("urgency", c) })), d.urgency);
  urg.addEventListener("change", () => { const b = by(); if (b) run(api.setUrgency(d.id, urg.value)); });
  const cat = select({ id: "category-select" }, codes("category").map((c) => ({ value: c, label: label("category", c) })), d.category);
  cat.addEventListener("change", () => { const b = by(); if (b) run(api.setCategory(d.id, cat.value)); });
  const snooze = select({ id: "snooze-select" }, [
    { value: "", label: d.snoozed_until ? `${t("consultation.snooze")}: ${clock(d.snoozed_until)}` : t("consultation.snoozeFor") },
    { value: "30", label: t("consultation.snooze30") }, { value: "60", label: t("consultation.snooze60") },
    { value: "240", label: t("consultation.snooze240") }, ...(d.snoozed_until ? [{ value: "off", label: t("consultation.unsnooze") }] : []),
  ], "");
  snooze.addEventListener("change", () => {
    const b = by();
    if (b && snooze.value) run(api.snooze(d.id, snooze.value === "off" ? null : Number(snooze.value)));
  });

  const work = h("section", { class: "card", id: "card-work" },
    h("h2", {}, t("consultation.status")),
    d.status === "new" ? h("button", { class: "btn btn--primary", id: "ack", type: "button", onclick: ackCurrent }, t("consultation.ack")) : null,
    h("div", { class: "row", id: "status-buttons", role: "group", "aria-label": t("consultation.status") }, statusBtns),
    h("label", { class: "field" }, h("span", {}, t("consultation.owner")),
      h("div", { class: "owner-row" }, ownerInput, staffList,
        h("button", { class: "btn btn--small", id: "assign", type: "button", onclick: () => { const b = by(); if (b) run(api.assign(d.id, ownerInput.value)); } }, t("consultation.assign")),
        me && d.owner !== me ? h("button", { class: "btn btn--small", id: "assign-me", type: "button", onclick: () => run(api.assign(d.id, me)) }, t("consultation.assignMe")) : null)),
    h("label", { class: "field" }, h("span", {}, t("consultation.snooze")), snooze));

  const triage = h("section", { class: "card", id: "card-triage" },
    h("h2", {}, t("consultation.triage")),
    h("label", { class: "field" }, h("span", {}, t("consultation.urgency")), urg),
    d.urgency_reason ? h("div", { class: "reason", id: "urgency-reason", title: t("consultation.urgencyReason") }, icon("bulb"), h("span", {}, d.urgency_reason)) : null,
    h("label", { class: "field" }, h("span", {}, t("consultation.category")), cat));

  const pii = d.pii_flags?.length ? h("section", { class: "card", id: "card-pii" },
    h("h2", {}, icon("warn"), " ", t("consultation.piiFlags")),
    h("ul", { class: "flags" }, d.pii_flags.map((f) => h("li", { dataset: { kind: f.kind } }, f.message)))) : null;

  const atts = h("section", { class: "card", id: "attachments" }, h("h2", {}, `${t("consultation.attachments")} (${d.attachments.length})`),
    d.attachments.length ? h("div", { class: "att" }, d.attachments.map((a) => attachment(a))) : h("p", { class: "att__meta" }, t("consultation.noAttachments")));

  const details = h("section", { class: "card", id: "card-details" }, h("h2", {}, t("consultation.details")),
    h("dl", { class: "kv" },
      h("dt", {}, t("consultation.partner")), h("dd", {}, d.partner),
      h("dt", {}, t("consultation.sender")), h("dd", {}, [d.sender?.name, d.sender?.role].filter(Boolean).join(" / ") || "—"),
      h("dt", {}, t("consultation.channel")), h("dd", {}, label("channel", d.channel)),
      h("dt", {}, t("consultation.received")), h("dd", {}, full(d.received_at)),
      h("dt", {}, t("consultation.due")), h("dd", {}, d.due_at ? full(d.due_at) : "—"),
      d.patient_ref ? [h("dt", {}, t("consultation.patientRef")), h("dd", {}, d.patient_ref)] : null));

  const events = [
    ...d.history.map((x) => ({ at: x.at, text: t("consultation.historyStatus", { by: x.by, from: x.from ? label("status", x.from) : "—", to: label("status", x.to) }) })),
    ...d.reads.map((x) => ({ at: x.at, text: t("consultation.historyRead", { by: x.by }) })),
  ].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const hist = h("section", { class: "card", id: "history" }, h("h2", {}, t("consultation.history")),
    h("ul", { class: "history" }, events.map((e) => h("li", {}, h("time", { title: full(e.at) }, clock(e.at)), h("span", {}, e.text)))));

  replace(els.side, work, triage, pii, atts, details, hist);
}

function attachment(a) {
  const isImg = a.media_type.startsWith("image/") && a.media_type !== "image/tiff";
  const isPdf = a.media_type === "application/pdf";
  const size = a.size >= 1048576 ? `${(a.size / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(a.size / 1024))} KB`;
  const item = h("div", { class: "att__item", dataset: { id: a.id, type: a.media_type } },
    h("div", {}, h("div", { class: "att__name" }, icon("clip"), h("span", {}, a.name)), h("div", { class: "att__meta" }, `${a.media_type} · ${size}`)));
  const openBtn = () => h("button", { class: "btn btn--small", type: "button", onclick: async () => {
    const me = by(); if (!me) return;
    try { await api.attachmentOpen(a.id); } catch (e) { toastError(e); }
  } }, t("consultation.saveOpen"));
  const previewBtn = (show) => h("button", { class: "btn btn--small", type: "button", onclick: async (ev) => {
    const me = by(); if (!me) return;
    try { await show(me, ev.currentTarget); } catch (e) { toastError(e); }
  } }, t("consultation.preview"));
  let btn;
  if (isImg) {
    btn = previewBtn(async (me) => {
      const url = await api.attachmentDataUrl(a.id);
      item.querySelector(".att__preview")?.remove();
      item.append(h("img", { class: "att__preview", src: url, alt: a.name }));
    });
  } else if (isPdf) {
    // First page on a canvas; the full document (or a PDF pdf.js cannot draw) opens in the system viewer.
    btn = previewBtn(async (me, b) => {
      const url = await api.attachmentDataUrl(a.id);
      item.querySelectorAll(".att__preview, .att__note").forEach((el) => el.remove());
      const canvas = h("canvas", { dataset: { pdfPage: 1 }, "aria-label": a.name });
      const box = h("div", { class: "att__preview att__preview--pdf", dataset: { state: "loading" } }, canvas);
      item.append(box);
      b.replaceWith(openBtn());
      try {
        const pages = await renderFirstPage(dataUrlBytes(url), canvas);
        box.dataset.state = "ok";
        if (pages > 1) box.append(h("div", { class: "att__meta" }, t("consultation.pdfPages", { n: pages })));
      } catch (e) {
        console.warn("pdf preview", e);
        box.remove();
        item.append(h("p", { class: "att__note", dataset: { code: "pdf_preview_failed" } }, t("consultation.pdfFailed")));
      }
    });
  } else {
    btn = openBtn();
  }
  item.append(btn);
  return item;
}

function composer(id) {
  const draft = drafts.get(id) || { kind: "reply", body: "" };
  drafts.set(id, draft);
  const ta = h("textarea", { id: "composer-body", placeholder: t("composer.placeholder") });
  ta.value = draft.body;
  ta.addEventListener("input", () => { draft.body = ta.value; warn.hidden = true; confirmed = false; });
  els.textarea = ta;
  let confirmed = false;
  const warn = h("div", { class: "pii-warning", id: "pii-warning", hidden: true });
  const root = h("div", { class: `composer${draft.kind === "note" ? " is-note" : ""}`, id: "composer" });
  const kinds = ["reply", "note", "phone"].map((k) => {
    const b = h("button", { type: "button", "aria-pressed": draft.kind === k ? "true" : "false", dataset: { kind: k } }, t(`composer.${k}`));
    b.addEventListener("click", () => {
      draft.kind = k;
      seg.querySelectorAll("button").forEach((x) => x.setAttribute("aria-pressed", x === b ? "true" : "false"));
      root.classList.toggle("is-note", k === "note");
    });
    return b;
  });
  const seg = h("div", { class: "seg", id: "composer-kind", role: "group" }, kinds);
  const tpl = h("div", { class: "tpl", id: "templates" }, t("composer.templates"),
    ["I", "S", "B", "A", "R", "C"].map((k) => h("button", { type: "button", title: t(`composer.tpl.${k}`), dataset: { tpl: k }, onclick: () => insertHeading(ta, t(`composer.tpl.${k}`)) }, k)));
  const save = h("button", { class: "btn btn--primary", id: "composer-save", type: "button" }, t("composer.save"));
  async function doSave(force) {
    const me = by();
    const body = ta.value.trim();
    if (!me || !body) { if (!body) ta.focus(); return; }
    if (!force && !confirmed) {
      let flags = [];
      try { flags = await api.piiScan(body); } catch { flags = []; }
      if (flags.length) { showWarning(flags); return; }
    }
    save.disabled = true;
    const delivery = cur?.detail?.reply_delivery;
    const ok = await run(draft.kind === "reply"
      ? api.reply(id, body, delivery === "record_only", confirmed)
      : api.addMessage(id, draft.kind, body));
    save.disabled = false;
    if (ok) { ta.value = ""; draft.body = ""; warn.hidden = true; confirmed = false; if (ok !== "offline") toast(t("composer.saved"), { kind: "ok" }); }
  }
  function showWarning(flags) {
    replace(warn, h("b", {}, icon("warn"), " ", t("composer.piiTitle")), h("ul", {}, flags.map((f) => h("li", { dataset: { kind: f.kind } }, f.message))),
      h("div", {}, t("composer.piiLead")),
      h("div", { class: "row" },
        h("button", { class: "btn btn--small", id: "pii-edit", type: "button", onclick: () => { warn.hidden = true; ta.focus(); } }, t("composer.piiEdit")),
        h("button", { class: "btn btn--small btn--danger", id: "pii-save-anyway", type: "button", onclick: () => { confirmed = true; doSave(true); } }, t("composer.piiSaveAnyway"))));
    warn.hidden = false;
  }
  save.addEventListener("click", () => doSave(false));
  ta.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); doSave(false); }
    if (e.key === "Escape") { e.stopPropagation(); ta.blur(); }
  });
  root.append(h("div", { class: "composer__bar" }, seg, tpl), ta, warn,
    h("div", { class: "composer__foot" }, h("span", {}, t("composer.replyHint")), h("span", { class: "spacer" }), save),
    h("div", { class: "composer__route", id: "composer-route" }));
  return root;
}

function insertHeading(ta, heading) {
  const s = ta.selectionStart ?? ta.value.length;
  const before = ta.value.slice(0, s);
  const pre = before && !before.endsWith("\n") ? "\n" : "";
  const ins = `${pre}${heading}`;
  ta.value = before + ins + ta.value.slice(s);
  ta.selectionStart = ta.selectionEnd = s + ins.length;
  ta.dispatchEvent(new Event("input"));
  ta.focus();
}
