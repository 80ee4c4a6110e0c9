// Partner directory: kind, channels and response statistics (median first answer, open, overdue).

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t, label } from "../i18n/index.js";
import { liveAgo } from "../util/time.js";
import { toastError } from "../util/toast.js";

function minutes(m) {
  if (m == null) return t("partners.none");
  const n = Math.round(m);
  return n < 60 ? t("partners.minutes", { n }) : t("partners.hours", { h: Math.floor(n / 60), m: n % 60 });
}

export async function mountPartners(container) {
  const body = h("tbody");
  const c = Object.fromEntries(["name", "kind", "channels", "total", "open", "overdue", "median", "last"].map((k) => [k, t(`partners.cols.${k}`)]));
  const table = h("table", { class: "table", id: "partners" },
    h("thead", {}, h("tr", {}, [c.name, c.kind, c.channels, c.total, c.open, c.overdue, c.median, c.last].map((x, i) => h("th", { class: i >= 3 && i <= 6 ? "num" : null }, x)))), body);
  replace(container, h("section", { class: "page", id: "view-partners" }, h("h1", {}, t("partners.title")), h("p", { class: "lead" }, t("partners.lead")), table));
  try {
    const list = await api.partners();
    if (!list.length) { replace(body, h("tr", {}, h("td", { colspan: "8", class: "empty" }, t("partners.empty")))); return; }
    list.sort((a, b) => (b.median_first_response_min ?? -1) - (a.median_first_response_min ?? -1));
    replace(body, list.map((p) => h("tr", { class: p.overdue ? "is-hot" : "", dataset: { id: p.id } },
      h("td", {}, h("b", {}, p.name)),
      h("td", {}, label("partner_kind", p.kind)),
      h("td", {}, p.channels.map((ch) => label("channel", ch)).join("・") || "—"),
      h("td", { class: "num" }, String(p.total)),
      h("td", { class: "num" }, String(p.open)),
      h("td", { class: "num overdue" }, String(p.overdue)),
      h("td", { class: "num" }, minutes(p.median_first_response_min)),
      h("td", {}, p.last_received_at ? liveAgo(h("span"), p.last_received_at) : "—"))));
  } catch (e) {
    toastError(e);
  }
}
