// Settings: who uses this PC and whether it starts with the PC, the clinic's language, facts
// about the store (key, self-check, backups), and — from their own modules — the clinic's
// settings editor (settings-clinic.js) and staff profiles (settings-staff.js). Saved through
// the core, which checks the role and validates: a refusal is shown in the core's words.

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t, getLang } from "../i18n/index.js";
import { clock } from "../util/time.js";
import { get, setMe } from "../state.js";
import { toast, toastError, errorText } from "../util/toast.js";
import { buildEditor, readEditor } from "./settings-clinic.js";
import { staffAdmin } from "./settings-staff.js";
import { hubSection } from "./settings-hub.js";

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

/** The display sizes offered (as `src-tauri/src/zoom.rs` `STEPS`): Settings and Ctrl + / − use these. */
export const ZOOM_STEPS = [0.9, 1, 1.1, 1.25, 1.5];

/** "Display size": this PC's zoom (90–150 %), applied at once and kept by the app. */
function zoomField() {
  const seg = h("div", { class: "seg", id: "display-zoom", role: "group", "aria-label": t("settings.displaySize") });
  const draw = (cur) => replace(seg, ...ZOOM_STEPS.map((z) => h("button", {
    type: "button", id: `zoom-${Math.round(z * 100)}`, "aria-pressed": Math.abs(z - cur) < 1e-9 ? "true" : "false",
    onclick: async () => {
      try { draw(await api.setDisplayZoom(z)); toast(t("settings.saved"), { kind: "ok", code: "zoom_saved" }); }
      catch (e) { toastError(e); }
    },
  }, `${Math.round(z * 100)} %`)));
  api.displayZoom().then(draw, () => draw(1));
  return h("div", { class: "field" }, h("span", {}, t("settings.displaySize")), seg, h("span", { class: "hint" }, t("settings.displaySizeHint")));
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
    zoomField(),
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
  const hub = hubSection({ locked: () => acts.lock?.() });
  replace(container, h("section", { class: "page", id: "view-settings" }, h("h1", {}, t("settings.title")), form, hub, h("hr"), staffBox, editor));
  try {
    const [s, a, holidays, staff] = await Promise.all([api.settings(), api.appInfo(), api.holidays(6), api.staffAll()]);
    // Connected to a hub (issue 19): the clinic's settings and staff are the hub's — shown
    // read-only here; the data folder, store key and backup below are this PC's own.
    const hubManaged = !!a.hub_connected;
    replace(info,
      h("dt", {}, t("settings.clinic")), h("dd", {}, s.clinic_name),
      h("dt", {}, t("settings.hours")), h("dd", {}, `${s.calendar.open}–${s.calendar.close}`),
      h("dt", {}, t("settings.dataDir")), h("dd", { class: "mono" }, a.data_dir),
      h("dt", {}, t("settings.storeKey")), keyInfo(a),
      h("dt", {}, t("settings.selfCheck")), selfCheckInfo(a.self_check),
      h("dt", {}, t("settings.latestBackup")), backupInfo(a.backup),
      h("dt", {}, t("settings.version")), h("dd", {}, a.version),
      hubManaged ? h("dt", {}, t("settings.localLabel")) : null,
      hubManaged ? h("dd", { class: "hint", id: "settings-local-note" }, t("settings.localOnly")) : null);
    const mayAdmin = mayAdminister() && !hubManaged;
    const err = h("p", { id: "settings-error", class: "settings__error", role: "alert" });
    const saveAll = h("button", { class: "btn btn--primary", id: "settings-save", type: "submit", disabled: !mayAdmin }, t("settings.saveClinic"));
    const body = h("fieldset", { class: "settings__body", disabled: !mayAdmin }, buildEditor(s, holidays, staff.filter((p) => p.active)));
    replace(editor, h("h2", {}, t("settings.clinicSettings")),
      hubManaged ? h("p", { class: "settings__notice", id: "settings-hub-managed" }, t("settings.hubManaged"))
        : mayAdmin ? null : h("p", { class: "settings__notice", id: "settings-readonly" }, t("settings.adminOnly")),
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
      err.textContent = "";
      err.dataset.code = "";
      try {
        const saved = await api.saveSettings(next);
        Object.assign(s, saved);
        toast(t("settings.savedClinic"), { kind: "ok", code: "settings_saved" });
      } catch (e2) {
        // The core's sentence says what is wrong and what to enter, in the clinic's language.
        err.textContent = e2?.code === "invalid_input" ? e2.message || errorText(e2) : errorText(e2);
        err.dataset.code = e2?.code || "";
        // What to fix is shown beside the save button; only other failures also pop up.
        if (e2?.code !== "invalid_input") toastError(e2);
      }
    });
    replace(staffBox, hubManaged ? h("p", { class: "settings__notice", id: "staff-hub-managed" }, t("settings.hubManaged")) : null, staffAdmin({
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
