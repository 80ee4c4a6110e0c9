// Settings: who am I on this PC (localStorage), language, and the clinic's settings editor
// (#settings): hours and holidays, closed days, response targets, roster, notifications,
// backups, the intake server, the screen lock — saved through the core, which checks the role
// and validates. Staff profiles (list, add, reset PIN) for doctors and admins.

import { api } from "../api.js";
import { h, replace, select } from "../util/dom.js";
import { t, getLang, label } from "../i18n/index.js";
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

function targetInputs(u, target) {
  const kind = typeof target === "string" ? target : Object.keys(target || {})[0] || "none";
  const n = typeof target === "object" && target ? Object.values(target)[0] : "";
  const kindSel = select({ id: `set-target-${u}-kind` }, TARGET_KINDS.map((k) => ({ value: k, label: t(`settings.target.${k}`) })), kind);
  const amount = num(`set-target-${u}-n`, n, 0);
  const sync = () => { amount.hidden = !["minutes", "business_minutes", "business_days"].includes(kindSel.value); };
  kindSel.addEventListener("change", sync);
  sync();
  return h("div", { class: "settings__row" }, h("span", { class: "settings__rowlabel" }, label("urgency", u)), kindSel, amount);
}

function readTarget(root, u) {
  const kind = val(root, `set-target-${u}-kind`).value;
  if (kind === "none" || kind === "end_of_business_day") return kind;
  return { [kind]: Number(val(root, `set-target-${u}-n`).value || 0) };
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
      h("p", { class: "hint" }, t("settings.targetOverrides", { n: (s.targets.overrides || []).length }))),
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
  const n = s.notifications;
  if (!(n.digest_interval_minutes >= 1) || !(n.urgent_repeat_minutes >= 1)) return t("settings.err.minutes");
  if (n.quiet_hours && (!n.quiet_hours.start || !n.quiet_hours.end || n.quiet_hours.start === n.quiet_hours.end)) return t("settings.err.quiet");
  if (!(s.backup.keep_days >= 1)) return t("settings.err.keepDays");
  if (!/^[\d.]+:\d+$|^\[[0-9a-fA-F:]+\]:\d+$/.test(s.intake.listen)) return t("settings.err.listen");
  if (!(s.lock_after_minutes >= 0 && s.lock_after_minutes <= 1440)) return t("settings.err.lock");
  return "";
}

function staffAdmin(staff, mayAdmin, reload) {
  const me = () => get().me;
  const rows = staff.map((p) => {
    const pinInput = h("input", { type: "password", class: "staff-reset-pin", inputmode: "numeric", maxlength: "12", placeholder: t("settings.staffAdmin.newPin"), hidden: true });
    const btn = h("button", { type: "button", class: "btn btn--small staff-reset", dataset: { id: p.id }, disabled: !mayAdmin, onclick: async () => {
      if (pinInput.hidden) { pinInput.hidden = false; pinInput.focus(); btn.textContent = t("settings.staffAdmin.setPin"); return; }
      try { await api.staffResetPin(p.id, pinInput.value, me()); toast(t("settings.staffAdmin.pinReset", { name: p.name }), { kind: "ok", code: "pin_reset" }); reload(); } catch (e) { toastError(e); }
    } }, t("settings.staffAdmin.resetPin"));
    return h("tr", { dataset: { id: p.id, name: p.name } }, h("td", {}, p.name), h("td", {}, label("role", p.role)),
      h("td", {}, p.has_pin ? t("settings.staffAdmin.pinSet") : t("settings.staffAdmin.noPin")), h("td", {}, pinInput, " ", btn));
  });
  const name = text("staff-add-name", "", { placeholder: t("settings.staffAdmin.name") });
  const role = select({ id: "staff-add-role" }, ROLES.map((r) => ({ value: r, label: label("role", r) })), "clerk");
  const pin = h("input", { id: "staff-add-pin", type: "password", inputmode: "numeric", maxlength: "12", autocomplete: "new-password", placeholder: t("settings.staffAdmin.pin") });
  const add = h("button", { type: "button", class: "btn", id: "staff-add", disabled: !mayAdmin, onclick: async () => {
    if (!staff.some((p) => p.has_pin) && pin.value && !["doctor", "admin"].includes(role.value)) {
      toast(t("settings.staffAdmin.firstAdmin"), { kind: "error", code: "invalid_input" });
      return;
    }
    try {
      await api.staffAdd(name.value, role.value, pin.value || null, me());
      toast(t("settings.staffAdmin.added", { name: name.value }), { kind: "ok", code: "staff_added" });
      reload();
    } catch (e) { toastError(e); }
  } }, t("settings.staffAdmin.add"));
  return h("div", { class: "form", id: "staff-admin" }, h("h2", {}, t("settings.sec.staff")),
    h("table", { class: "table", id: "staff-table" }, h("thead", {}, h("tr", {}, h("th", {}, t("settings.staffAdmin.name")), h("th", {}, t("settings.staffAdmin.role")), h("th", {}, "PIN"), h("th", {}))), h("tbody", {}, rows.length ? rows : h("tr", { id: "staff-empty" }, h("td", { colspan: "4", class: "hint" }, t("settings.staffAdmin.empty"))))),
    h("div", { class: "settings__row" }, name, role, pin, add),
    h("p", { class: "hint" }, t("settings.staffAdmin.hint")));
}

export async function mountSettings(container, acts) {
  const name = h("input", { id: "staff-name", value: get().me, autocomplete: "off", readonly: get().lockRequired ? true : null });
  const save = h("button", { class: "btn btn--primary", id: "staff-save", type: "submit" }, t("settings.save"));
  const lang = (l, text_) => h("button", { type: "button", id: `lang-${l}`, "aria-pressed": getLang() === l ? "true" : "false", onclick: () => acts.language?.(l) }, text_);
  const info = h("dl", { class: "kv", id: "clinic-info" });
  const form = h("form", { class: "form", id: "settings-form" },
    h("label", { class: "field" }, h("span", {}, t("settings.staff")), name, h("span", { class: "hint" }, get().lockRequired ? t("settings.staffSignedIn") : t("settings.staffHint"))),
    h("div", { class: "actions" }, save),
    h("div", { class: "field" }, h("span", {}, t("settings.language")), h("div", { class: "seg" }, lang("ja", "日本語"), lang("en", "English"))),
    h("hr"),
    h("h2", {}, t("settings.clinic")), info);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    if (get().lockRequired) return;
    setMe(name.value); toast(t("settings.saved"), { kind: "ok" });
  });
  const editor = h("form", { class: "form settings", id: "settings", novalidate: true });
  const staffBox = h("div", { id: "staff-admin-box" });
  replace(container, h("section", { class: "page", id: "view-settings" }, h("h1", {}, t("settings.title")), form, editor, staffBox));
  try {
    const [s, a, holidays, staff] = await Promise.all([api.settings(), api.appInfo(), api.holidays(6), api.staffList()]);
    replace(info,
      h("dt", {}, t("settings.clinic")), h("dd", {}, s.clinic_name),
      h("dt", {}, t("settings.hours")), h("dd", {}, `${s.calendar.open}–${s.calendar.close}`),
      h("dt", {}, t("settings.dataDir")), h("dd", { class: "mono" }, a.data_dir),
      h("dt", {}, t("settings.version")), h("dd", {}, a.version));
    const role = get().staff?.role;
    const mayAdmin = !get().lockRequired || role === "doctor" || role === "admin";
    const err = h("p", { id: "settings-error", class: "settings__error", role: "alert" });
    const saveAll = h("button", { class: "btn btn--primary", id: "settings-save", type: "submit", disabled: !mayAdmin }, t("settings.saveClinic"));
    const body = h("fieldset", { class: "settings__body", disabled: !mayAdmin }, buildEditor(s, holidays, staff));
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
        const r = await api.backupNow(get().me);
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
        const saved = await api.saveSettings(next, get().me);
        Object.assign(s, saved);
        toast(t("settings.savedClinic"), { kind: "ok", code: "settings_saved" });
      } catch (e2) {
        err.textContent = e2?.code === "invalid_input" ? t("settings.err.core", { m: e2.message || "" }) : errorText(e2);
        err.dataset.code = e2?.code || "";
        toastError(e2);
      }
    });
    replace(staffBox, staffAdmin(staff, mayAdmin, async () => { await acts.lockRequired?.(); mountSettings(container, acts); }));
  } catch (e) { if (e?.code !== "locked") toastError(e); }
}
