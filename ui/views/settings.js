// Settings: who am I on this PC (localStorage), language, and the clinic's settings editor
// (#settings): hours and holidays, closed days, response targets, roster, notifications,
// backups, the intake server, the screen lock — saved through the core, which checks the role
// and validates. The language is the clinic's (saved in the core, for every PC). Staff
// profiles for doctors and admins: add, role, reset PIN, deactivate / reactivate (never
// delete); anyone signed in changes their own PIN.

import { api } from "../api.js";
import { h, replace, select } from "../util/dom.js";
import { t, getLang, label } from "../i18n/index.js";
import { clock } from "../util/time.js";
import { get, setMe } from "../state.js";
import { toast, toastError, errorText } from "../util/toast.js";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const URGENCIES = ["urgent", "today", "normal", "fyi"];
const TARGET_KINDS = ["minutes", "business_minutes", "business_days", "end_of_business_day", "none"];
const CATEGORIES = ["new_home_visit", "nursing_intro", "discharge", "bed_availability", "community_concern", "medication", "alert", "info", "other"];
const ROLES = ["clerk", "nurse", "doctor", "admin"];
const MASK = "********";

const field = (text, input, hint) => h("label", { class: "field" }, h("span", {}, text), input, hint ? h("span", { class: "hint" }, hint) : null);
const num = (id, value, min = 0, max = null) => h("input", { id, type: "number", min: String(min), max: max == null ? null : String(max), value: value == null ? "" : String(value) });
const time = (id, value) => h("input", { id, type: "time", value: value || "" });
const text = (id, value, attrs = {}) => h("input", { id, type: "text", value: value || "", autocomplete: "off", ...attrs });
const check = (id, checked, text_) => h("label", { class: "check" }, h("input", { id, type: "checkbox", checked: !!checked }), " ", text_);
const section = (key, ...children) => h("fieldset", { class: "settings__section", dataset: { section: key } }, h("legend", {}, t(`settings.sec.${key}`)), ...children);
const val = (root, id) => root.querySelector(`#${id}`);
const intOrNull = (s) => (String(s).trim() === "" ? null : Number(s));

/** A target's kind <select> and amount <input> (hidden for kinds without an amount). */
function targetControls(target, kindAttrs, amountAttrs) {
  const kind = typeof target === "string" ? target : Object.keys(target || {})[0] || "none";
  const n = typeof target === "object" && target ? Object.values(target)[0] : "";
  const kindSel = select(kindAttrs, TARGET_KINDS.map((k) => ({ value: k, label: t(`settings.target.${k}`) })), kind);
  const amount = h("input", { type: "number", min: "1", value: n === "" ? "" : String(n), ...amountAttrs });
  const sync = () => { amount.hidden = !["minutes", "business_minutes", "business_days"].includes(kindSel.value); };
  kindSel.addEventListener("change", sync);
  sync();
  return [kindSel, amount];
}

/** The target of a kind <select> and amount <input>, in the core's shape. */
function targetValue(kindSel, amount) {
  const kind = kindSel.value;
  if (kind === "none" || kind === "end_of_business_day") return kind;
  return { [kind]: amount.value.trim() === "" ? NaN : Number(amount.value) };
}

function targetInputs(u, target) {
  const [kindSel, amount] = targetControls(target, { id: `set-target-${u}-kind` }, { id: `set-target-${u}-n`, "aria-label": t("settings.targetAmount") });
  return h("div", { class: "settings__row" }, h("span", { class: "settings__rowlabel" }, label("urgency", u)), kindSel, amount);
}

function readTarget(root, u) {
  return targetValue(val(root, `set-target-${u}-kind`), val(root, `set-target-${u}-n`));
}

/** One per-category override: category, urgency ("" = every urgency), target. */
function overrideRow(o) {
  const cat = select({ class: "override-category", "aria-label": t("settings.override.category") }, CATEGORIES.map((c) => ({ value: c, label: label("category", c) })), o.category);
  const urg = select({ class: "override-urgency", "aria-label": t("settings.override.urgency") },
    [{ value: "", label: t("settings.override.anyUrgency") }, ...URGENCIES.map((u) => ({ value: u, label: label("urgency", u) }))], o.urgency || "");
  const [kindSel, amount] = targetControls(o.target, { class: "override-kind", "aria-label": t("settings.override.target") }, { class: "override-n", "aria-label": t("settings.targetAmount") });
  const row = h("div", { class: "settings__row override-row" }, cat, urg, h("span", { class: "override-arrow" }, "→"), kindSel, amount,
    h("button", { type: "button", class: "btn btn--small btn--danger override-remove", onclick: () => row.remove() }, t("settings.remove")));
  return row;
}

function readOverrides(root) {
  return [...root.querySelectorAll("#set-overrides .override-row")].map((r) => ({
    category: r.querySelector(".override-category").value,
    urgency: r.querySelector(".override-urgency").value || null,
    target: targetValue(r.querySelector(".override-kind"), r.querySelector(".override-n")),
  }));
}

function rosterRow(e, staffNames) {
  const row = h("div", { class: "settings__row roster-row" },
    select({ class: "roster-weekday" }, WEEKDAYS.map((w, i) => ({ value: i + 1, label: t(`settings.weekday.${w}`) })), e.weekday),
    h("input", { class: "roster-start", type: "time", value: e.start }),
    h("span", {}, "–"),
    h("input", { class: "roster-end", type: "time", value: e.end }),
    h("input", { class: "roster-staff", type: "text", value: e.staff, list: "staff-names", placeholder: t("settings.roster.staff") }),
    h("button", { type: "button", class: "btn btn--small btn--danger", onclick: () => row.remove() }, t("settings.remove")));
  return row;
}

function closedDayItem(d) {
  const li = h("li", { class: "closed-day", dataset: { date: d } }, d, " ",
    h("button", { type: "button", class: "btn btn--small", onclick: () => li.remove() }, t("settings.remove")));
  return li;
}

function buildEditor(s, holidays, staff) {
  const cal = s.calendar;
  const n = s.notifications;
  const names = h("datalist", { id: "staff-names" }, staff.map((p) => h("option", { value: p.name })));
  const closedList = h("ul", { id: "set-closed-days", class: "settings__list" }, (cal.closed_days || []).map(closedDayItem));
  const newClosed = h("input", { id: "set-closed-new", type: "date" });
  const roster = h("div", { id: "set-roster" }, (s.roster || []).map((e) => rosterRow(e, staff)));
  const quiet = n.quiet_hours;
  return [names,
    section("hours",
      field(t("settings.clinicName"), text("set-clinic-name", s.clinic_name)),
      h("div", { class: "field" }, h("span", {}, t("settings.weekdays")), h("div", { class: "settings__checks", id: "set-weekdays" },
        WEEKDAYS.map((w) => h("label", { class: "check" }, h("input", { type: "checkbox", value: w, checked: cal.weekdays.includes(w) }), " ", t(`settings.weekday.${w}`))))),
      h("div", { class: "grid2" }, field(t("settings.open"), time("set-open", cal.open)), field(t("settings.close"), time("set-close", cal.close))),
      h("div", { class: "grid2" }, field(t("settings.lunchStart"), time("set-lunch-start", cal.lunch_start)), field(t("settings.lunchEnd"), time("set-lunch-end", cal.lunch_end))),
      check("set-national-holidays", cal.national_holidays, t("settings.nationalHolidays")),
      h("div", { class: "hint" }, t("settings.nextHolidays")),
      h("ul", { id: "set-holidays", class: "settings__list settings__list--ro" }, holidays.map((x) => h("li", {}, `${x.date} ${x.name}`)))),
    section("closed",
      check("set-year-end", !!cal.year_end, t("settings.yearEnd")),
      h("div", { class: "grid2" }, field(t("settings.yearEndFrom"), text("set-year-end-from", cal.year_end?.from || "12-29", { placeholder: "12-29", pattern: "\\d{2}-\\d{2}" })),
        field(t("settings.yearEndTo"), text("set-year-end-to", cal.year_end?.to || "01-03", { placeholder: "01-03", pattern: "\\d{2}-\\d{2}" }))),
      h("div", { class: "field" }, h("span", {}, t("settings.closedDays")), closedList,
        h("div", { class: "settings__row" }, newClosed, h("button", { type: "button", class: "btn btn--small", id: "set-closed-add", onclick: () => {
          if (newClosed.value && !closedList.querySelector(`[data-date="${newClosed.value}"]`)) closedList.append(closedDayItem(newClosed.value));
          newClosed.value = "";
        } }, t("settings.add"))))),
    section("targets", URGENCIES.map((u) => targetInputs(u, s.targets[u])),
      h("h3", { class: "settings__sub" }, t("settings.override.title")),
      h("p", { class: "hint" }, t("settings.override.hint")),
      h("div", { id: "set-overrides" }, (s.targets.overrides || []).map(overrideRow)),
      h("button", { type: "button", class: "btn btn--small", id: "set-override-add", onclick: (e) => {
        e.currentTarget.previousElementSibling.append(overrideRow({ category: "discharge", urgency: null, target: { business_minutes: 240 } }));
      } }, t("settings.override.add"))),
    section("roster", roster,
      h("button", { type: "button", class: "btn btn--small", id: "set-roster-add", onclick: () => roster.append(rosterRow({ weekday: 1, start: "09:00", end: "17:00", staff: "" }, staff)) }, t("settings.add")),
      h("p", { class: "hint" }, t("settings.rosterHint"))),
    section("notifications",
      h("div", { class: "grid2" }, field(t("settings.digest"), num("set-digest", n.digest_interval_minutes, 1)), field(t("settings.urgentRepeat"), num("set-urgent-repeat", n.urgent_repeat_minutes, 1))),
      h("div", { class: "grid2" }, field(t("settings.escalateAfter"), num("set-escalate-after", n.escalate_after_minutes, 1), t("settings.emptyOff")), field(t("settings.escalateTo"), text("set-escalate-to", n.escalate_to))),
      check("set-quiet", !!quiet, t("settings.quiet")),
      h("div", { class: "grid2" }, field(t("settings.quietStart"), time("set-quiet-start", quiet?.start || "22:00")), field(t("settings.quietEnd"), time("set-quiet-end", quiet?.end || "07:00"))),
      check("set-sound", n.sound, t("settings.sound")), check("set-digest-sound", n.digest_sound, t("settings.digestSound")),
      h("div", { class: "field" }, h("span", {}, t("settings.muted")), h("div", { class: "settings__checks", id: "set-muted" },
        CATEGORIES.map((c) => h("label", { class: "check" }, h("input", { type: "checkbox", value: c, checked: (n.muted_categories || []).includes(c) }), " ", label("category", c)))),
        h("span", { class: "hint" }, t("settings.mutedHint")))),
    section("backup",
      check("set-backup-enabled", s.backup.enabled, t("settings.backupEnabled")),
      h("div", { class: "grid2" }, field(t("settings.keepDays"), num("set-keep-days", s.backup.keep_days, 1)), field(t("settings.mirror"), text("set-mirror", s.backup.mirror_dir, { placeholder: "/mnt/nas/renkei" }))),
      h("div", { class: "settings__row" }, h("button", { type: "button", class: "btn", id: "backup-now" }, t("settings.backupNow")), h("span", { id: "backup-result", class: "hint" }))),
    section("intake",
      check("set-intake-enabled", s.intake.enabled, t("settings.intakeEnabled")),
      h("div", { class: "grid2" }, field(t("settings.listen"), text("set-listen", s.intake.listen)), field(t("settings.faxFolder"), text("set-fax-folder", s.intake.fax_folder))),
      h("div", { class: "grid2" },
        field(t("settings.lineworksSecret"), h("input", { id: "set-lineworks-secret", type: "password", autocomplete: "new-password", value: s.intake.lineworks_bot_secret || "", placeholder: t("settings.notSet") }), t("settings.secretHint")),
        field(t("settings.chatworkToken"), h("input", { id: "set-chatwork-token", type: "password", autocomplete: "new-password", value: s.intake.chatwork_webhook_token || "", placeholder: t("settings.notSet") }), t("settings.secretHint")))),
    section("lock", field(t("settings.lockAfter"), num("set-lock-after", s.lock_after_minutes, 0, 1440), t("settings.lockHint"))),
  ];
}

function readEditor(root, s) {
  const out = structuredClone(s);
  const c = out.calendar;
  out.clinic_name = val(root, "set-clinic-name").value.trim();
  c.weekdays = [...root.querySelectorAll("#set-weekdays input:checked")].map((i) => i.value);
  c.open = val(root, "set-open").value;
  c.close = val(root, "set-close").value;
  c.lunch_start = val(root, "set-lunch-start").value || null;
  c.lunch_end = val(root, "set-lunch-end").value || null;
  c.national_holidays = val(root, "set-national-holidays").checked;
  c.year_end = val(root, "set-year-end").checked ? { from: val(root, "set-year-end-from").value.trim(), to: val(root, "set-year-end-to").value.trim() } : null;
  c.closed_days = [...root.querySelectorAll("#set-closed-days .closed-day")].map((li) => li.dataset.date);
  for (const u of URGENCIES) out.targets[u] = readTarget(root, u);
  out.targets.overrides = readOverrides(root);
  out.roster = [...root.querySelectorAll(".roster-row")].map((r) => ({
    weekday: Number(r.querySelector(".roster-weekday").value), start: r.querySelector(".roster-start").value,
    end: r.querySelector(".roster-end").value, staff: r.querySelector(".roster-staff").value.trim(),
  }));
  const n = out.notifications;
  n.digest_interval_minutes = Number(val(root, "set-digest").value);
  n.urgent_repeat_minutes = Number(val(root, "set-urgent-repeat").value);
  n.escalate_after_minutes = intOrNull(val(root, "set-escalate-after").value);
  n.escalate_to = val(root, "set-escalate-to").value.trim() || null;
  n.quiet_hours = val(root, "set-quiet").checked ? { start: val(root, "set-quiet-start").value, end: val(root, "set-quiet-end").value } : null;
  n.sound = val(root, "set-sound").checked;
  n.digest_sound = val(root, "set-digest-sound").checked;
  n.muted_categories = [...root.querySelectorAll("#set-muted input:checked")].map((i) => i.value);
  out.backup = { enabled: val(root, "set-backup-enabled").checked, keep_days: Number(val(root, "set-keep-days").value), mirror_dir: val(root, "set-mirror").value.trim() || null };
  out.intake = {
    enabled: val(root, "set-intake-enabled").checked, listen: val(root, "set-listen").value.trim(), fax_folder: val(root, "set-fax-folder").value.trim() || null,
    lineworks_bot_secret: val(root, "set-lineworks-secret").value, chatwork_webhook_token: val(root, "set-chatwork-token").value,
  };
  out.lock_after_minutes = Number(val(root, "set-lock-after").value || 0);
  return out;
}

/** The amount of a target out of range (the core's limits: a week of minutes, 30 days)? */
function amountProblem(target) {
  if (typeof target === "string") return false;
  const [kind, n] = Object.entries(target)[0];
  const max = kind === "business_days" ? 30 : 10080;
  return !(Number.isInteger(n) && n >= 1 && n <= max) ? { max, unit: t(`settings.unit.${kind}`) } : false;
}

/** Response targets: amounts in range, no category + urgency twice. */
function targetProblem(targets) {
  for (const u of URGENCIES) {
    const p = amountProblem(targets[u]);
    if (p) return t("settings.err.target", { what: label("urgency", u), ...p });
  }
  const seen = new Map();
  for (const [i, o] of targets.overrides.entries()) {
    const p = amountProblem(o.target);
    if (p) return t("settings.err.overrideAmount", { n: i + 1, ...p });
    const key = `${o.category}/${o.urgency || ""}`;
    if (seen.has(key)) return t("settings.err.overrideTwice", { n: i + 1, m: seen.get(key) + 1 });
    seen.set(key, i);
  }
  return "";
}

/** Checks in the browser what the user can fix at once; the core checks everything again. */
function quickCheck(s) {
  const c = s.calendar;
  if (!s.clinic_name) return t("settings.err.clinicName");
  if (!c.weekdays.length) return t("settings.err.weekdays");
  if (!c.open || !c.close || c.open >= c.close) return t("settings.err.hours");
  if (!!c.lunch_start !== !!c.lunch_end || (c.lunch_start && (c.lunch_start <= c.open || c.lunch_end <= c.lunch_start || c.lunch_end >= c.close))) return t("settings.err.lunch");
  if (c.year_end && !/^\d{2}-\d{2}$/.test(c.year_end.from + "") ) return t("settings.err.yearEnd");
  if (c.year_end && !/^\d{2}-\d{2}$/.test(c.year_end.to + "")) return t("settings.err.yearEnd");
  for (const [i, r] of s.roster.entries()) if (!r.staff || !r.start || !r.end || r.start >= r.end) return t("settings.err.roster", { n: i + 1 });
  const bad = targetProblem(s.targets);
  if (bad) return bad;
  const n = s.notifications;
  if (!(n.digest_interval_minutes >= 1) || !(n.urgent_repeat_minutes >= 1)) return t("settings.err.minutes");
  if (n.quiet_hours && (!n.quiet_hours.start || !n.quiet_hours.end || n.quiet_hours.start === n.quiet_hours.end)) return t("settings.err.quiet");
  if (!(s.backup.keep_days >= 1)) return t("settings.err.keepDays");
  if (!/^[\d.]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(s.intake.listen)) return t("settings.err.listen");
  if (!(s.lock_after_minutes >= 0 && s.lock_after_minutes <= 1440)) return t("settings.err.lock");
  return "";
}

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
function staffAdmin({ staff, mayAdmin, roster, reload, lock }) {
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
      ROLES.map((r) => ({ value: r, label: label("role", r) })), p.role);
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
  const role = select({ id: "staff-add-role", "aria-label": t("settings.staffAdmin.role") }, ROLES.map((r) => ({ value: r, label: label("role", r) })), "clerk");
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

/** Doctors and admins manage settings and staff; anyone while no profile has a PIN. */
function mayAdminister() {
  const role = get().staff?.role;
  return !get().lockRequired || role === "doctor" || role === "admin";
}

/** "Start with this PC": a setting of the PC (and its user), read from and written to the OS. */
function autostartField() {
  const box = h("input", { id: "set-autostart", type: "checkbox", disabled: true });
  api.autostart().then((on) => { box.checked = on; box.disabled = false; }, () => {});
  box.addEventListener("change", async () => {
    box.disabled = true;
    try { box.checked = await api.setAutostart(box.checked); toast(t("settings.saved"), { kind: "ok", code: "autostart_saved" }); }
    catch (e) { box.checked = !box.checked; toastError(e); }
    finally { box.disabled = false; }
  });
  return h("div", { class: "field" }, h("label", { class: "check" }, box, " ", t("settings.autostart")), h("span", { class: "hint" }, t("settings.autostartHint")));
}

/** Saves the clinic's language (the whole clinic, every PC), then redraws in it. */
async function saveLanguage(l, acts) {
  try {
    const cur = await api.settings();
    if (cur.language !== l) await api.saveSettings({ ...cur, language: l });
    acts.language?.(l);
  } catch (e) { toastError(e); }
}

export async function mountSettings(container, acts) {
  const name = h("input", { id: "staff-name", value: get().me, autocomplete: "off", readonly: get().lockRequired ? true : null });
  const save = h("button", { class: "btn btn--primary", id: "staff-save", type: "submit" }, t("settings.save"));
  const mayLang = mayAdminister();
  const lang = (l, text_) => h("button", { type: "button", id: `lang-${l}`, disabled: !mayLang, "aria-pressed": getLang() === l ? "true" : "false", onclick: () => saveLanguage(l, acts) }, text_);
  const info = h("dl", { class: "kv", id: "clinic-info" });
  const form = h("form", { class: "form", id: "settings-form" },
    h("label", { class: "field" }, h("span", {}, t("settings.staff")), name, h("span", { class: "hint" }, get().lockRequired ? t("settings.staffSignedIn") : t("settings.staffHint"))),
    h("div", { class: "actions" }, save),
    autostartField(),
    h("div", { class: "field" }, h("span", {}, t("settings.language")), h("div", { class: "seg" }, lang("ja", "日本語"), lang("en", "English")),
      h("span", { class: "hint", id: "lang-hint" }, mayLang ? t("settings.languageHint") : t("settings.languageAdminOnly"))),
    h("hr"),
    h("h2", {}, t("settings.clinic")), info);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (get().lockRequired) return;
    setMe(name.value); toast(t("settings.saved"), { kind: "ok" });
  });
  const editor = h("form", { class: "form settings", id: "settings", novalidate: true });
  const staffBox = h("div", { id: "staff-admin-box" });
  replace(container, h("section", { class: "page", id: "view-settings" }, h("h1", {}, t("settings.title")), form, staffBox, editor));
  try {
    const [s, a, holidays, staff] = await Promise.all([api.settings(), api.appInfo(), api.holidays(6), api.staffAll()]);
    replace(info,
      h("dt", {}, t("settings.clinic")), h("dd", {}, s.clinic_name),
      h("dt", {}, t("settings.hours")), h("dd", {}, `${s.calendar.open}–${s.calendar.close}`),
      h("dt", {}, t("settings.dataDir")), h("dd", { class: "mono" }, a.data_dir),
      h("dt", {}, t("settings.storeKey")), keyInfo(a),
      h("dt", {}, t("settings.selfCheck")), selfCheckInfo(a.self_check),
      h("dt", {}, t("settings.latestBackup")), backupInfo(a.backup),
      h("dt", {}, t("settings.version")), h("dd", {}, a.version));
    const mayAdmin = mayAdminister();
    const err = h("p", { id: "settings-error", class: "settings__error", role: "alert" });
    const saveAll = h("button", { class: "btn btn--primary", id: "settings-save", type: "submit", disabled: !mayAdmin }, t("settings.saveClinic"));
    const body = h("fieldset", { class: "settings__body", disabled: !mayAdmin }, buildEditor(s, holidays, staff.filter((p) => p.active)));
    replace(editor, h("h2", {}, t("settings.clinicSettings")),
      mayAdmin ? null : h("p", { class: "settings__notice", id: "settings-readonly" }, t("settings.adminOnly")),
      body, err, h("div", { class: "actions settings__actions" }, saveAll));
    const backupBtn = editor.querySelector("#backup-now");
    backupBtn.disabled = false;
    backupBtn.addEventListener("click", async () => {
      const out = editor.querySelector("#backup-result");
      backupBtn.disabled = true;
      out.textContent = t("settings.backupRunning");
      try {
        const r = await api.backupNow();
        out.textContent = t("settings.backupDone", { path: r.path, n: r.consultations, a: r.attachments });
        out.dataset.kind = "ok";
        toast(t("settings.backupOk"), { kind: "ok", code: "backup_written" });
      } catch (e) { out.textContent = errorText(e); out.dataset.kind = "error"; toastError(e); } finally { backupBtn.disabled = false; }
    });
    editor.addEventListener("submit", async (e) => {
      e.preventDefault();
      const next = readEditor(editor, s);
      const problem = quickCheck(next);
      err.textContent = problem;
      err.dataset.code = problem ? "invalid_input" : "";
      if (problem) return;
      try {
        const saved = await api.saveSettings(next);
        Object.assign(s, saved);
        toast(t("settings.savedClinic"), { kind: "ok", code: "settings_saved" });
      } catch (e2) {
        err.textContent = e2?.code === "invalid_input" ? t("settings.err.core", { m: e2.message || "" }) : errorText(e2);
        err.dataset.code = e2?.code || "";
        toastError(e2);
      }
    });
    replace(staffBox, staffAdmin({
      staff, mayAdmin, roster: (s.roster || []).map((r) => r.staff),
      reload: async () => { const st = await acts.lockRequired?.(); if (!st?.locked) mountSettings(container, acts); return st; },
      lock: () => acts.lock?.(),
    }));
  } catch (e) { if (e?.code !== "locked") toastError(e); }
}

/** Where the store key is kept and its fingerprint (never the key), with the backup hint. */
function keyInfo(a) {
  const where = a.key_source ? t(`settings.keySource.${a.key_source}`) : "—";
  const path = a.key_source === "file" && a.key_location ? ` (${a.key_location})` : "";
  return h("dd", { id: "settings-key" },
    h("span", {}, where + path), " ",
    h("span", { class: "mono hint" }, t("settings.keyFingerprint", { fp: a.key_fingerprint })),
    h("div", { class: "hint" }, t("settings.keyHint")));
}

/** The start-up self-check: when, how long, what it covered — or what it found. */
function selfCheckInfo(c) {
  if (!c) return h("dd", { id: "settings-selfcheck", dataset: { state: "pending" } }, t("settings.selfCheckPending"));
  const text = c.ok
    ? t("settings.selfCheckOk", { time: clock(c.at), ms: c.took_ms, c: c.consultations, a: c.attachments, r: c.audit_rows })
    : t("settings.selfCheckBad", { problems: c.problems.join("; ") });
  return h("dd", { id: "settings-selfcheck", class: c.ok ? "" : "settings__error", dataset: { state: c.ok ? "ok" : "problem" } }, text);
}

/** The newest daily backup, its age and the copy on the NAS / USB drive. */
function backupInfo(b) {
  const dd = h("dd", { id: "settings-backup" });
  if (!b.enabled) return replace(dd, t("settings.backupOff"));
  if (!b.latest) return replace(dd, t("settings.backupNone"));
  const age = b.age_days === 0 ? t("settings.backupToday") : t("settings.backupDaysAgo", { n: b.age_days });
  const mirror = b.mirrored === null || b.mirrored === undefined ? t("settings.mirrorUnset")
    : b.mirrored ? t("settings.mirrorYes") : t("settings.mirrorNo", { dir: b.mirror_dir });
  replace(dd, h("span", { class: "mono" }, t("settings.backupDay", { name: b.latest, age })), " · ",
    h("span", { class: b.mirrored === false ? "settings__error" : "" }, mirror));
  if (b.age_days > 1) dd.append(h("div", { class: "settings__error" }, t("settings.backupOld", { n: b.age_days })));
  return dd;
}
