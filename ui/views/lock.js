// The lock screen (#lock): choose your name, enter your PIN. Shown instead of everything else
// while the app is locked (the lock itself lives in Rust: every data command answers "locked").
// Only active profiles with a PIN are offered; the language is the clinic's (app.js sets it
// from lock_status before this is drawn).

import { api } from "../api.js";
import { h, replace, icon } from "../util/dom.js";
import { t, label } from "../i18n/index.js";
import { errorText } from "../util/toast.js";

const HUB_CODES = new Set(["device_revoked", "hub_unreachable", "hub_certificate_changed"]);

/** The Japanese sentence for a failed sign-in. */
export function signInError(e) {
  // A connected PC while the hub is unreachable (docs/operations.md: offline sign-in).
  if (e?.code === "locked_out" && /hub is unreachable/.test(e.message || "")) return t("lock.offlineLocked");
  if (e?.code === "unauthorized" && /hub was reachable/.test(e.message || "")) return t("lock.offlineNotHere");
  if (e?.code === "locked_out") {
    const m = /(\d+)/.exec(e.message || "");
    return t("lock.lockedOut", { n: m ? m[1] : "5" });
  }
  if (e?.code === "profile_disabled") return t("lock.disabled");
  if (HUB_CODES.has(e?.code)) return errorText(e);
  if (e?.code === "unauthorized") {
    if (/no PIN/i.test(e.message || "")) return t("lock.noPin");
    return t("lock.wrong");
  }
  return t("lock.failed");
}

/**
 * Shows the lock screen in `root` (the caller has emptied the app behind it).
 * `unlocked(staff)` runs after a successful sign-in.
 */
export async function mountLock(root, { unlocked, lastName = "" }) {
  let chosen = lastName;
  const staffBox = h("div", { id: "lock-staff", class: "lock__staff", role: "radiogroup", "aria-label": t("lock.who") });
  const pin = h("input", { id: "lock-pin", type: "password", inputmode: "numeric", autocomplete: "off", maxlength: "12", placeholder: t("lock.pin"), "aria-label": t("lock.pin") });
  const err = h("p", { id: "lock-error", class: "lock__error", role: "alert" });
  const ok = h("button", { id: "lock-ok", class: "btn btn--primary lock__ok", type: "submit" }, t("lock.ok"));
  const showError = (text, code) => { err.textContent = text; err.dataset.code = code || ""; };

  const renderStaff = (list) => {
    const people = list.filter((s) => s.has_pin);
    if (!people.some((s) => s.name === chosen)) chosen = people.length === 1 ? people[0].name : "";
    replace(staffBox, people.map((s) => h("button", {
      type: "button", class: "lock__person", role: "radio", dataset: { name: s.name, role: s.role },
      "aria-checked": s.name === chosen ? "true" : "false",
      onclick: () => { chosen = s.name; renderStaff(list); showError("", ""); pin.focus(); },
    }, h("span", { class: "lock__name" }, s.name), h("small", {}, label("role", s.role)))));
  };

  const form = h("form", { class: "lock__box", autocomplete: "off" },
    h("div", { class: "lock__icon" }, icon("lock")),
    h("h1", {}, t("lock.title")), h("p", { class: "lock__lead" }, t("lock.lead")),
    h("div", { class: "lock__label" }, t("lock.who")), staffBox,
    h("div", { class: "lock__row" }, pin, ok), err);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (!chosen) { showError(t("lock.chooseName"), "need_name"); return; }
    if (!pin.value) { showError(t("lock.enterPin"), "need_pin"); pin.focus(); return; }
    ok.disabled = true;
    try {
      const staff = await api.signIn(chosen, pin.value);
      unlocked(staff);
    } catch (e2) {
      // Deactivated on another PC while this list was shown: the name goes from the list.
      if (e2?.code === "profile_disabled") { chosen = ""; try { renderStaff(await api.staffList()); } catch { /* keep the list */ } }
      showError(signInError(e2), e2?.code);
      pin.value = "";
      pin.focus();
    } finally { ok.disabled = false; }
  });

  replace(root, form);
  root.hidden = false;
  // Connected to a hub: a revoked PC or an unreachable hub says so (what happened, what to do).
  try { renderStaff(await api.staffList()); } catch (e) { showError(HUB_CODES.has(e?.code) ? errorText(e) : t("lock.failed"), e?.code); }
  (chosen ? pin : staffBox.querySelector("button") || pin).focus();
}
