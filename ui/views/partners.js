// Partner directory: kind, channels and response statistics (median first answer, open, overdue),
// and the per-partner switch of the automatic receipt (受付メッセージ, off by default).

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t, label } from "../i18n/index.js";
import { liveAgo } from "../util/time.js";
import { toast, toastError } from "../util/toast.js";

function minutes(m) {
  if (m == null) return t("partners.none");
  const n = Math.round(m);
  return n < 60 ? t("partners.minutes", { n }) : t("partners.hours", { h: Math.floor(n / 60), m: n % 60 });
}

/** The receipt switch of one partner: saved at once, put back when the core refuses. */
function receiptSwitch(p) {
  const box = h("input", { type: "checkbox", class: "partner-receipt", checked: !!p.receipt, "aria-label": `${t("partners.cols.receipt")}: ${p.name}` });
  box.addEventListener("change", async () => {
    const on = box.checked;
    box.disabled = true;
    try {
      await api.partnerSetReceipt(p.id, on);
      toast(t(on ? "partners.receiptOn" : "partners.receiptOff", { name: p.name }), { kind: "ok", code: "receipt_saved" });
    } catch (e) { box.checked = !on; toastError(e); } finally { box.disabled = false; }
  });
  return h("label", { class: "check" }, box);
}

export async function mountPartners(container) {
  const body = h("tbody");
  const c = Object.fromEntries(["name", "kind", "channels", "total", "open", "overdue", "median", "last", "receipt"].map((k) => [k, t(`partners.cols.${k}`)]));
  const table = h("table", { class: "table", id: "partners" },
    h("thead", {}, h("tr", {}, [c.name, c.kind, c.channels, c.total, c.open, c.overdue, c.median, c.last, c.receipt].map((x, i) => h("th", { class: i >= 3 && i <= 6 ? "num" : null }, x)))), body);
  replace(container, h("section", { class: "page", id: "view-partners" }, h("h1", {}, t("partners.title")), h("p", { class: "lead" }, t("partners.lead")), h("p", { class: "hint" }, t("partners.receiptHint")), table));
  try {
    const list = await api.partners();
    if (!list.length) { replace(body, h("tr", {}, h("td", { colspan: "9", class: "empty" }, t("partners.empty")))); return; }
    list.sort((a, b) => (b.median_first_response_min ?? -1) - (a.median_first_response_min ?? -1));
    replace(body, list.map((p) => h("tr", { class: p.overdue ? "is-hot" : "", dataset: { id: p.id } },
      h("td", {}, h("b", {}, p.name)),
      h("td", {}, label("partner_kind", p.kind)),
      h("td", {}, p.channels.map((ch) => label("channel", ch)).join("・") || "—"),
      h("td", { class: "num" }, String(p.total)),
      h("td", { class: "num" }, String(p.open)),
      h("td", { class: "num overdue" }, String(p.overdue)),
      h("td", { class: "num" }, minutes(p.median_first_response_min)),
      h("td", {}, p.last_received_at ? liveAgo(h("span"), p.last_received_at) : "—"),
      h("td", {}, receiptSwitch(p)))));
  } catch (e) {
    toastError(e);
  }
}
