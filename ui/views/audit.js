// The audit trail: who read or changed what, when.

import { api } from "../api.js";
import { h, replace, debounce } from "../util/dom.js";
import { t } from "../i18n/index.js";
import { full } from "../util/time.js";
import { toastError } from "../util/toast.js";

export async function mountAudit(container) {
  const body = h("tbody");
  const c = Object.fromEntries(["at", "actor", "action", "target", "detail"].map((k) => [k, t(`audit.cols.${k}`)]));
  const actor = h("input", { id: "audit-actor", type: "search", placeholder: t("audit.filterActor") });
  const load = async () => {
    try {
      const list = await api.audit({ actor: actor.value.trim() || null, limit: 500 });
      if (!list.length) { replace(body, h("tr", {}, h("td", { colspan: "5", class: "empty" }, t("audit.empty")))); return; }
      replace(body, list.map((e) => h("tr", {}, h("td", { class: "when" }, full(e.at)), h("td", {}, e.actor), h("td", { class: "mono" }, e.action),
        h("td", { class: "mono" }, e.target || ""), h("td", { class: "mono" }, e.detail))));
    } catch (e) { toastError(e); }
  };
  actor.addEventListener("input", debounce(load, 300));
  replace(container, h("section", { class: "page", id: "view-audit" }, h("h1", {}, t("audit.title")), h("p", { class: "lead" }, t("audit.lead")),
    h("div", { class: "toolbar" }, actor),
    h("table", { class: "table", id: "audit" }, h("thead", {}, h("tr", {}, [c.at, c.actor, c.action, c.target, c.detail].map((x) => h("th", {}, x)))), body)));
  await load();
}
