// Staff profiles in the settings (#staff-admin): doctors and admins add profiles, change roles,
// reset PINs, deactivate / reactivate (never delete); anyone signed in changes their own PIN.
// Who may do what is checked by the core; the page only shows its answer.

import { api } from "../api.js";
import { h, select } from "../util/dom.js";
import { t, label, codes } from "../i18n/index.js";
import { get } from "../state.js";
import { toast, errorText } from "../util/toast.js";
import { text } from "./settings-clinic.js";

/** The Japanese sentence for a refused staff change. */
function staffErrorText(e) {
  if (e?.code === "last_admin") return t("settings.staffAdmin.lastAdmin");
  if (e?.code === "forbidden") return t("settings.staffAdmin.forbidden");
  if (e?.code === "invalid_input" && /pin/i.test(e.message || "")) return t("settings.staffAdmin.badPin");
  if (e?.code === "conflict") return t("settings.staffAdmin.duplicate");
  return errorText(e);
}

/**
 * Staff profiles (#staff-admin): every profile, deactivated ones greyed out at the end. An
 * administrator changes roles, resets PINs, deactivates (after a confirmation in the row) and
 * reactivates; nobody is ever deleted. `ctx`: {staff, mayAdmin, roster (names), reload, lock}.
 */
export function staffAdmin({ staff, mayAdmin, roster, reload, lock }) {
  const me = () => get().me;
  const myId = get().staff?.id;
  const err = h("p", { id: "staff-error", class: "settings__error", role: "alert" });
  const fail = (e) => { err.textContent = staffErrorText(e); err.dataset.code = e?.code || ""; toast(staffErrorText(e), { kind: "error", code: e?.code, detail: e?.message || "" }); };
  const clearErr = () => { err.textContent = ""; err.dataset.code = ""; };
  // After a change: reload the section, or show the lock screen if I signed myself out.
  const after = async () => { const st = await reload(); if (st?.locked) lock(); };

  const ordered = [...staff.filter((p) => p.active), ...staff.filter((p) => !p.active)];
  const rows = ordered.map((p) => {
    const self = p.id === myId;
    const nameCell = h("td", { class: "staff__name" }, p.name, self ? h("small", { class: "staff__me" }, t("settings.staffAdmin.you")) : null);
    const role = select({ class: "staff-role", dataset: { id: p.id }, disabled: !mayAdmin, "aria-label": t("settings.staffAdmin.roleOf", { name: p.name }) },
      codes("role").map((r) => ({ value: r, label: label("role", r) })), p.role);
    role.addEventListener("change", async () => {
      clearErr();
      try {
        await api.staffSetRole(p.id, role.value);
        toast(t("settings.staffAdmin.roleChanged", { name: p.name, role: label("role", role.value) }), { kind: "ok", code: "role_changed" });
        after();
      } catch (e) { role.value = p.role; fail(e); }
    });
    const state = h("span", { class: `badge staff__state ${p.active ? "is-active" : "is-inactive"}` }, p.active ? t("settings.staffAdmin.active") : t("settings.staffAdmin.inactive"));
    const pinInput = h("input", { type: "password", class: "staff-reset-pin", inputmode: "numeric", maxlength: "12", autocomplete: "new-password", placeholder: t("settings.staffAdmin.newPin"), hidden: true, "aria-label": t("settings.staffAdmin.newPinOf", { name: p.name }) });
    const reset = h("button", { type: "button", class: "btn btn--small staff-reset", dataset: { id: p.id }, disabled: !mayAdmin, onclick: async () => {
      clearErr();
      if (pinInput.hidden) { pinInput.hidden = false; pinInput.focus(); reset.textContent = t("settings.staffAdmin.setPin"); return; }
      if (!/^\d{4,12}$/.test(pinInput.value)) { fail({ code: "invalid_input", message: "pin" }); pinInput.focus(); return; }
      try { await api.staffResetPin(p.id, pinInput.value); toast(t("settings.staffAdmin.pinReset", { name: p.name }), { kind: "ok", code: "pin_reset" }); after(); } catch (e) { fail(e); }
    } }, t("settings.staffAdmin.resetPin"));
    const actions = h("td", { class: "staff__actions" }, pinInput, reset);
    if (p.active) {
      const confirmBox = h("div", { class: "staff__confirm staff-confirm", hidden: true, role: "group" },
        h("span", {}, self ? t("settings.staffAdmin.confirmSelf") : t("settings.staffAdmin.confirm", { name: p.name })),
        h("button", { type: "button", class: "btn btn--small btn--danger staff-confirm-yes", disabled: !mayAdmin, onclick: async () => {
          clearErr();
          try {
            await api.staffSetActive(p.id, false);
            toast(t("settings.staffAdmin.deactivated", { name: p.name }), { kind: "ok", code: "staff_deactivated" });
            if (roster.includes(p.name)) toast(t("settings.staffAdmin.inRoster", { name: p.name }), { kind: "info", code: "in_roster" });
            after();
          } catch (e) { confirmBox.hidden = true; off.hidden = false; fail(e); }
        } }, t("settings.staffAdmin.deactivate")),
        h("button", { type: "button", class: "btn btn--small staff-confirm-no", disabled: !mayAdmin, onclick: () => { confirmBox.hidden = true; off.hidden = false; off.focus(); } }, t("settings.staffAdmin.cancel")));
      const off = h("button", { type: "button", class: "btn btn--small btn--danger staff-deactivate", dataset: { id: p.id }, disabled: !mayAdmin, onclick: () => {
        clearErr(); off.hidden = true; confirmBox.hidden = false; confirmBox.querySelector(".staff-confirm-no").focus();
      } }, t("settings.staffAdmin.deactivate"));
      actions.append(" ", off, confirmBox);
    } else {
      actions.append(" ", h("button", { type: "button", class: "btn btn--small staff-reactivate", dataset: { id: p.id }, disabled: !mayAdmin, onclick: async () => {
        clearErr();
        try { await api.staffSetActive(p.id, true); toast(t("settings.staffAdmin.reactivated", { name: p.name }), { kind: "ok", code: "staff_reactivated" }); after(); } catch (e) { fail(e); }
      } }, t("settings.staffAdmin.reactivate")));
    }
    return h("tr", { class: p.active ? null : "is-inactive", dataset: { id: p.id, name: p.name, role: p.role, active: p.active ? "1" : "0" } },
      nameCell, h("td", {}, role), h("td", {}, p.has_pin ? t("settings.staffAdmin.pinSet") : t("settings.staffAdmin.noPin")), h("td", {}, state), actions);
  });

  const name = text("staff-add-name", "", { placeholder: t("settings.staffAdmin.name"), "aria-label": t("settings.staffAdmin.name") });
  const role = select({ id: "staff-add-role", "aria-label": t("settings.staffAdmin.role") }, codes("role").map((r) => ({ value: r, label: label("role", r) })), "clerk");
  const pin = h("input", { id: "staff-add-pin", type: "password", inputmode: "numeric", maxlength: "12", autocomplete: "new-password", placeholder: t("settings.staffAdmin.pin"), "aria-label": t("settings.staffAdmin.pin") });
  const add = h("button", { type: "button", class: "btn", id: "staff-add", disabled: !mayAdmin, onclick: async () => {
    clearErr();
    if (!staff.some((p) => p.has_pin && p.active) && pin.value && !["doctor", "admin"].includes(role.value)) {
      err.textContent = t("settings.staffAdmin.firstAdmin"); err.dataset.code = "invalid_input";
      toast(t("settings.staffAdmin.firstAdmin"), { kind: "error", code: "invalid_input" });
      return;
    }
    try {
      await api.staffAdd(name.value, role.value, pin.value || null);
      toast(t("settings.staffAdmin.added", { name: name.value }), { kind: "ok", code: "staff_added" });
      after();
    } catch (e) { fail(e); }
  } }, t("settings.staffAdmin.add"));

  return h("div", { class: "form", id: "staff-admin" }, h("h2", {}, t("settings.sec.staff")),
    h("p", { class: "hint staff__lead" }, t("settings.staffAdmin.lead")),
    mayAdmin ? null : h("p", { class: "settings__notice", id: "staff-readonly" }, t("settings.adminOnly")),
    h("table", { class: "table", id: "staff-table" },
      h("thead", {}, h("tr", {}, h("th", {}, t("settings.staffAdmin.name")), h("th", {}, t("settings.staffAdmin.role")), h("th", {}, "PIN"), h("th", {}, t("settings.staffAdmin.state")), h("th", {}, t("settings.staffAdmin.actions")))),
      h("tbody", {}, rows.length ? rows : h("tr", { id: "staff-empty" }, h("td", { colspan: "5", class: "hint" }, t("settings.staffAdmin.empty"))))),
    err,
    h("h3", {}, t("settings.staffAdmin.addTitle")),
    h("div", { class: "settings__row" }, name, role, pin, add),
    h("p", { class: "hint" }, t("settings.staffAdmin.hint")),
    get().lockRequired && get().staff ? myPin(me) : null);
}

/** "Change my PIN" for whoever is signed in (any role): current PIN, new PIN twice. */
function myPin(me) {
  const pinField = (id, key) => h("label", { class: "field" }, h("span", {}, t(key)),
    h("input", { id, type: "password", inputmode: "numeric", maxlength: "12", autocomplete: id === "my-pin-current" ? "current-password" : "new-password" }));
  const out = h("p", { id: "my-pin-error", class: "settings__error", role: "alert" });
  const box = h("div", { class: "staff__mypin", id: "my-pin" },
    h("h3", {}, t("settings.myPin.title", { name: me() })),
    h("div", { class: "grid3" }, pinField("my-pin-current", "settings.myPin.current"), pinField("my-pin-new", "settings.myPin.new"), pinField("my-pin-new2", "settings.myPin.again")),
    out,
    h("button", { type: "button", class: "btn", id: "my-pin-save", onclick: async () => {
      const v = (id) => box.querySelector(`#${id}`).value;
      const say = (key, code) => { out.textContent = key ? t(key) : ""; out.dataset.code = code || ""; };
      if (!v("my-pin-current")) { say("settings.myPin.needCurrent", "need_pin"); return; }
      if (!/^\d{4,12}$/.test(v("my-pin-new"))) { say("settings.staffAdmin.badPin", "invalid_input"); return; }
      if (v("my-pin-new") !== v("my-pin-new2")) { say("settings.myPin.mismatch", "mismatch"); return; }
      try {
        await api.staffChangePin(v("my-pin-current"), v("my-pin-new"));
        say("", "");
        for (const id of ["my-pin-current", "my-pin-new", "my-pin-new2"]) box.querySelector(`#${id}`).value = "";
        toast(t("settings.myPin.changed"), { kind: "ok", code: "pin_changed" });
      } catch (e) {
        const key = e?.code === "unauthorized" ? "settings.myPin.wrong" : e?.code === "locked_out" ? "errors.locked_out" : null;
        out.textContent = key ? t(key) : errorText(e);
        out.dataset.code = e?.code || "";
      }
    } }, t("settings.myPin.save")));
  return box;
}
