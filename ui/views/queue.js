// The triage queue (default view): filters, search, rows in core's triage order (never
// re-sorted here), selection kept by id across reloads without moving the selected row.

import { api } from "../api.js";
import { h, replace, select, debounce, icon, channelIcon } from "../util/dom.js";
import { t, label, codes } from "../i18n/index.js";
import { liveAgo, liveUntil } from "../util/time.js";
import { get, set } from "../state.js";

let root, listEl, countEl, partnersCache = [], knownIds = null, knownFilter = "", actions = {};

/** Builds the view once; `acts` = {open(id)}. */
export function mountQueue(container, acts) {
  actions = acts;
  knownIds = null; // the first paint after mounting marks nothing as newly arrived
  const f = get().filter;
  const search = h("input", { id: "search", type: "search", placeholder: t("queue.search"), value: f.search, autocomplete: "off", spellcheck: "false" });
  search.addEventListener("input", debounce(() => setFilter({ search: search.value }), 250));
  search.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { search.blur(); listEl.focus(); }
    if (e.key === "Enter" || e.key === "ArrowDown") { e.preventDefault(); listEl.focus(); }
  });
  const opts = (kind, allKey) => [{ value: "", label: t(allKey) }, ...codes(kind).map((c) => ({ value: c, label: label(kind, c) }))];
  const sel = (id, kind, allKey, key) => {
    const s = select({ id, "aria-label": t(allKey) }, opts(kind, allKey), f[key]);
    s.addEventListener("change", () => setFilter({ [key]: s.value }));
    return s;
  };
  const partnerSel = h("select", { id: "filter-partner", "aria-label": t("queue.allPartners") });
  partnerSel.addEventListener("change", () => setFilter({ partner_id: partnerSel.value }));
  const ownerSel = h("select", { id: "filter-owner", "aria-label": t("queue.allOwners") });
  ownerSel.addEventListener("change", () => setFilter({ owner: ownerSel.value }));
  const check = (id, key, text) => {
    const c = h("input", { id, type: "checkbox" });
    c.checked = !!f[key];
    c.addEventListener("change", () => setFilter({ [key]: c.checked }));
    return h("label", { class: "check", for: id }, c, text);
  };
  countEl = h("span", { class: "count-label", id: "queue-count" });
  const toolbar = h("div", { class: "toolbar", id: "queue-filters" },
    search,
    sel("filter-category", "category", "queue.allCategories", "category"),
    sel("filter-urgency", "urgency", "queue.allUrgencies", "urgency"),
    sel("filter-status", "status", "queue.allStatuses", "status"),
    partnerSel, ownerSel,
    check("filter-mine", "mine", t("queue.mine")),
    check("filter-all", "all", t("queue.includeClosed")),
    countEl);
  const c = Object.fromEntries(["urgency", "category", "partner", "subject", "received", "due", "owner", "status"].map((k) => [k, t(`queue.cols.${k}`)]));
  const head = h("div", { class: "queue-head", role: "row" },
    h("span"), h("span", {}, c.urgency), h("span", {}, c.category), h("span", {}, c.partner), h("span", {}, c.subject),
    h("span", {}, c.received), h("span", {}, c.due), h("span", {}, c.owner), h("span", {}, c.status));
  listEl = h("div", { id: "queue", tabindex: "0", role: "grid", "aria-label": t("nav.queue") });
  // One scroll container (#queue-scroll, sticky header); #queue is the keyboard focus target.
  root = h("section", { class: "view-fill", id: "view-queue" }, toolbar, h("div", { class: "queue-wrap", id: "queue-scroll" }, head, listEl));
  replace(container, root);
  fillPartnerOptions(partnerSel);
  // Rows are painted by render() after the caller's reload (not from possibly stale rows, which
  // would lose a selection made for a just-created item).
  return root;
}

function setFilter(patch) {
  set({ filter: { ...get().filter, ...patch } });
  actions.reload?.();
}

/** The filter as core's QueueFilter. */
export function coreFilter() {
  const f = get().filter;
  const me = get().me;
  return {
    all: !!f.all,
    category: f.category || null,
    urgency: f.urgency || null,
    status: f.status || null,
    partner_id: f.partner_id ? Number(f.partner_id) : null,
    owner: f.mine ? me || "\u0000" : f.owner && f.owner !== "__none" ? f.owner : null,
    unowned: f.owner === "__none",
    search: f.search?.trim() || null,
  };
}

async function fillPartnerOptions(sel) {
  try { partnersCache = await api.partners(); } catch { partnersCache = []; }
  const cur = get().filter.partner_id;
  replace(sel, h("option", { value: "" }, t("queue.allPartners")),
    partnersCache.map((p) => { const o = h("option", { value: p.id }, p.name); if (String(p.id) === String(cur)) o.selected = true; return o; }));
}

function fillOwnerOptions() {
  const sel = root?.querySelector("#filter-owner");
  if (!sel) return;
  const cur = get().filter.owner;
  const names = new Set(get().rows.map((r) => r.owner).filter(Boolean));
  if (get().me) names.add(get().me);
  if (cur && cur !== "__none") names.add(cur);
  replace(sel, h("option", { value: "" }, t("queue.allOwners")), h("option", { value: "__none" }, t("queue.unowned")),
    [...names].sort().map((n) => h("option", { value: n }, n)));
  sel.value = cur || "";
}

/** Connected and offline (issue 19): 「未送信」 on what this PC still has to send to the hub,
 * 「反映できず」 (with the hub's words) on what the hub refused. */
export function offlineTag(r) {
  if (r.offline === "pending") return h("span", { class: "offline-tag", dataset: { offline: "pending" }, title: t("hub.pendingHint") }, t("hub.pending"));
  if (r.offline === "conflict") return h("span", { class: "offline-tag is-conflict", dataset: { offline: "conflict" }, title: r.offline_problem || "" }, t("hub.conflict"));
  return null;
}

function rowEl(r, isNew, selected) {
  const closed = r.status === "resolved" || r.status === "declined";
  const el = h("div", {
    class: ["queue-row", r.unread && "is-unread", isNew && "is-new", selected && "is-selected", closed && "is-closed"].filter(Boolean).join(" "),
    role: "row", "aria-selected": selected ? "true" : "false",
    dataset: { id: r.id, urgency: r.urgency, status: r.status, unread: r.unread ? "1" : "0", category: r.category, channel: r.channel },
  },
    h("span", { class: `unread-dot${r.unread ? "" : " is-read"}`, title: r.unread ? t("queue.unread") : null }),
    h("span", {}, h("span", { class: `badge badge--${r.urgency}` }, label("urgency", r.urgency))),
    h("span", { class: "category" }, label("category", r.category)),
    h("div", { class: "partner" }, h("span", { class: "partner__name" }, r.partner), h("small", { class: `chan chan--${r.channel}` }, channelIcon(r.channel), label("channel", r.channel))),
    h("div", { class: "subject" },
      h("span", {}, h("span", { class: "subject__text" }, r.subject), r.attachments ? h("span", { class: "clip", title: t("queue.attachments", { n: r.attachments }) }, icon("clip"), r.attachments > 1 ? String(r.attachments) : "") : null),
      r.snoozed_until ? h("small", {}, `${t("queue.snoozed")} ~ `, liveUntil(h("span"), r.snoozed_until)) : null),
    liveAgo(h("span", { class: "age" }), r.received_at),
    liveUntil(h("span", { class: "due" }), r.due_at),
    h("span", { class: `owner${r.owner ? "" : " is-none"}` }, r.owner || t("queue.noOwner")),
    h("span", {}, h("span", { class: `status status--${r.status}` }, label("status", r.status)), offlineTag(r)));
  el.addEventListener("click", () => selectId(r.id));
  el.addEventListener("dblclick", () => actions.open?.(r.id));
  return el;
}

/** Re-renders rows from state, keeping the selected row where it is on screen. */
export function render() {
  if (!listEl) return;
  const { rows, selectedId, filter } = get();
  const scroller = root.querySelector("#queue-scroll");
  const anchor = listEl.querySelector(".queue-row.is-selected");
  const before = anchor ? anchor.getBoundingClientRect().top : null;
  // Rows count as arrivals only when the same filter gains them (not after a filter change).
  const filterKey = JSON.stringify(coreFilter());
  const prev = filterKey === knownFilter ? knownIds : null;
  knownFilter = filterKey;
  knownIds = new Set(rows.map((r) => r.id));
  let sel = selectedId;
  if (!rows.some((r) => r.id === sel)) sel = rows[0]?.id ?? null;
  if (sel !== selectedId) set({ selectedId: sel });
  const scrollToSel = before == null;
  if (!rows.length) {
    const filtered = filter.search || filter.category || filter.urgency || filter.status || filter.partner_id || filter.owner || filter.mine;
    replace(listEl, h("div", { class: "empty", id: "queue-empty" }, h("div", { class: "empty__icon" }, icon("inbox")), h("p", {}, t(filtered ? "queue.emptyFiltered" : "queue.empty"))));
  } else {
    replace(listEl, rows.map((r) => rowEl(r, prev && !prev.has(r.id), r.id === sel)));
  }
  countEl.textContent = t("queue.count", { n: rows.length });
  fillOwnerOptions();
  const now = listEl.querySelector(".queue-row.is-selected");
  if (now && before != null) scroller.scrollTop += now.getBoundingClientRect().top - before;
  else if (now && scrollToSel) now.scrollIntoView({ block: "nearest" });
}

export function selectId(id, { scroll = true } = {}) {
  set({ selectedId: id });
  listEl?.querySelectorAll(".queue-row").forEach((el) => {
    const on = Number(el.dataset.id) === id;
    el.classList.toggle("is-selected", on);
    el.setAttribute("aria-selected", on ? "true" : "false");
    if (on && scroll) el.scrollIntoView({ block: "nearest" });
  });
}

/** j/k: move the selection by `d` rows. */
export function move(d) {
  const rows = get().rows;
  if (!rows.length) return;
  const i = Math.max(0, rows.findIndex((r) => r.id === get().selectedId));
  selectId(rows[Math.min(rows.length - 1, Math.max(0, i + d))].id);
}

export function selectedRow() { return get().rows.find((r) => r.id === get().selectedId) || null; }
export function focusSearch() { root?.querySelector("#search")?.focus(); root?.querySelector("#search")?.select(); }
export function focusList() { listEl?.focus({ preventScroll: true }); }
export function refreshPartners() { const s = root?.querySelector("#filter-partner"); if (s) fillPartnerOptions(s); }
