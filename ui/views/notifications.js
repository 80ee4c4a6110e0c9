// "通知の履歴（なぜ通知したか）": every OS notification shown on this PC with its reason.

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t, label } from "../i18n/index.js";
import { full } from "../util/time.js";
import { toastError } from "../util/toast.js";

export async function mountNotifications(container, acts) {
  const body = h("tbody");
  const c = Object.fromEntries(["at", "title", "reason", "items"].map((k) => [k, t(`notifications.cols.${k}`)]));
  replace(container, h("section", { class: "page", id: "view-notifications" },
    h("h1", {}, t("notifications.title")), h("p", { class: "lead" }, t("notifications.lead")),
    h("table", { class: "table", id: "notifications" }, h("thead", {}, h("tr", {}, [c.at, c.title, c.reason, c.items].map((x) => h("th", {}, x)))), body)));
  try {
    const list = await api.notifications(200);
    if (!list.length) { replace(body, h("tr", {}, h("td", { colspan: "4", class: "empty" }, t("notifications.empty")))); return; }
    replace(body, list.map((n) => h("tr", { dataset: { id: n.id, urgency: n.urgency } },
      h("td", { class: "when" }, full(n.at)),
      h("td", {}, h("span", { class: `badge badge--${n.urgency}` }, label("urgency", n.urgency)), " ", h("b", {}, n.title), h("div", {}, n.body)),
      h("td", {}, n.reason),
      h("td", {}, n.ids.map((id) => h("button", { class: "btn btn--small", type: "button", onclick: () => acts.open?.(Number(id)) }, `#${id} ${t("notifications.open")}`))))));
  } catch (e) {
    toastError(e);
  }
}
