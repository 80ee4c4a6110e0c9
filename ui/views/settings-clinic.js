// The clinic's settings editor (#settings): hours and holidays, closed days, response targets,
// roster, notifications, backups, the intake server, the automatic messages (receipt, on-call
// doctor), the screen lock. It only builds the form
// and reads it back in the core's shape: every rule and every message about what is wrong come
// from the core when saving (one source of truth, in the clinic's language).

import { h, select } from "../util/dom.js";
import { t, label, codes } from "../i18n/index.js";

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const TARGET_KINDS = ["minutes", "business_minutes", "business_days", "end_of_business_day", "none"];

const field = (text, input, hint) => h("label", { class: "field" }, h("span", {}, text), input, hint ? h("span", { class: "hint" }, hint) : null);
const num = (id, value, min = 0, max = null) => h("input", { id, type: "number", min: String(min), max: max == null ? null : String(max), value: value == null ? "" : String(value) });
const time = (id, value) => h("input", { id, type: "time", value: value || "" });
export const text = (id, value, attrs = {}) => h("input", { id, type: "text", value: value || "", autocomplete: "off", ...attrs });
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
  // An empty amount goes as 0: the core refuses it with the range to use.
  return { [kind]: amount.value.trim() === "" ? 0 : Number(amount.value) };
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
  const cat = select({ class: "override-category", "aria-label": t("settings.override.category") }, codes("category").map((c) => ({ value: c, label: label("category", c) })), o.category);
  const urg = select({ class: "override-urgency", "aria-label": t("settings.override.urgency") },
    [{ value: "", label: t("settings.override.anyUrgency") }, ...codes("urgency").map((u) => ({ value: u, label: label("urgency", u) }))], o.urgency || "");
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

export function buildEditor(s, holidays, staff) {
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
    section("targets", codes("urgency").map((u) => targetInputs(u, s.targets[u])),
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
        codes("category").map((c) => h("label", { class: "check" }, h("input", { type: "checkbox", value: c, checked: (n.muted_categories || []).includes(c) }), " ", label("category", c)))),
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
    section("replies",
      field(t("settings.receiptTemplate"), h("textarea", { id: "set-receipt-template", rows: "2", maxlength: "500" }, s.replies?.receipt_template || ""), t("settings.receiptTemplateHint")),
      field(t("settings.oncallUser"), text("set-oncall-user", s.replies?.oncall_lineworks_user, { placeholder: t("settings.notSet") }), t("settings.oncallHint"))),
    section("lock", field(t("settings.lockAfter"), num("set-lock-after", s.lock_after_minutes, 0, 1440), t("settings.lockHint"))),
  ];
}

export function readEditor(root, s) {
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
  for (const u of codes("urgency")) out.targets[u] = readTarget(root, u);
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
  out.replies = { receipt_template: val(root, "set-receipt-template").value, oncall_lineworks_user: val(root, "set-oncall-user").value.trim() };
  out.lock_after_minutes = Number(val(root, "set-lock-after").value || 0);
  return out;
}
