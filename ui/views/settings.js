// Settings: who am I (this PC's user, kept in localStorage), language, and the clinic's
// settings for display.

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t, getLang } from "../i18n/index.js";
import { get, setMe } from "../state.js";
import { toast, toastError } from "../util/toast.js";

export async function mountSettings(container, acts) {
  const name = h("input", { id: "staff-name", value: get().me, autocomplete: "off" });
  const save = h("button", { class: "btn btn--primary", id: "staff-save", type: "submit" }, t("settings.save"));
  const lang = (l, text) => h("button", { type: "button", id: `lang-${l}`, "aria-pressed": getLang() === l ? "true" : "false", onclick: () => acts.language?.(l) }, text);
  const info = h("dl", { class: "kv", id: "clinic-info" });
  const form = h("form", { class: "form", id: "settings-form" },
    h("label", { class: "field" }, h("span", {}, t("settings.staff")), name, h("span", { class: "hint" }, t("settings.staffHint"))),
    h("div", { class: "actions" }, save),
    h("div", { class: "field" }, h("span", {}, t("settings.language")), h("div", { class: "seg" }, lang("ja", "日本語"), lang("en", "English"))),
    h("hr"),
    h("h2", {}, t("settings.clinic")), info, h("p", { class: "hint" }, t("settings.readonly")));
  form.addEventListener("submit", (e) => { e.preventDefault(); setMe(name.value); toast(t("settings.saved"), { kind: "ok" }); });
  replace(container, h("section", { class: "page", id: "view-settings" }, h("h1", {}, t("settings.title")), form));
  try {
    const [s, a] = await Promise.all([api.settings(), api.appInfo()]);
    replace(info,
      h("dt", {}, t("settings.clinic")), h("dd", {}, s.clinic_name),
      h("dt", {}, t("settings.hours")), h("dd", {}, `${s.calendar.open}–${s.calendar.close}`),
      h("dt", {}, t("settings.dataDir")), h("dd", { class: "mono" }, a.data_dir),
      h("dt", {}, t("settings.version")), h("dd", {}, a.version));
  } catch (e) { toastError(e); }
}
