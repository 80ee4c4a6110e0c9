// Times for people: JST clock times and relative phrases ("あと25分", "期限超過 10分") that
// update live every 30 s. "Now" is the app's domain time (RENKEI_NOW aware), see setServerNow.

import { t } from "../i18n/index.js";

let offsetMs = 0;

/** Aligns the UI's clock with the app's domain clock (RFC 3339 string). */
export function setServerNow(iso) {
  const s = Date.parse(iso);
  if (!Number.isNaN(s)) offsetMs = s - Date.now();
}
export function now() { return Date.now() + offsetMs; }

// JST is UTC+9 all year (Japan has kept no daylight saving time since 1951), so its clock is
// UTC's moved by nine hours, formatted here by hand. Intl.DateTimeFormat gave the same three
// formats but loaded ICU's i18n library and time-zone data into the web process for them
// (≈ 3.2 MiB of its idle memory, issue 24). The output is unchanged: the e2e test
// test_jst_times_read_as_intl_wrote_them compares it with Intl's over a year of times.
const JST_MS = 9 * 3_600_000;
const WEEKDAYS = ["日", "月", "火", "水", "木", "金", "土"];
const pad = (n) => String(n).padStart(2, "0");
/** The JST wall clock of `ms` as a Date read with its getUTC* methods. */
const jst = (ms) => new Date(ms + JST_MS);
const hm = (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;

/** "12/1(火)": the JST day of `ms`. */
function dayKey(ms) {
  const d = jst(ms);
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}(${WEEKDAYS[d.getUTCDay()]})`;
}

/** "10:12" today, "12/1(火) 10:12" another day (JST). */
export function clock(iso) {
  if (!iso) return t("time.none");
  const ms = Date.parse(iso);
  const time = hm(jst(ms));
  return dayKey(ms) === dayKey(now()) ? time : `${dayKey(ms)} ${time}`;
}
/** "2026/12/01 10:12:05" (JST). */
export function full(iso) {
  if (!iso) return t("time.none");
  const d = jst(Date.parse(iso));
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())} ${hm(d)}:${pad(d.getUTCSeconds())}`;
}

function span(mins) {
  if (mins < 60) return t("time.durMin", { n: mins });
  return t("time.durHour", { h: Math.floor(mins / 60), m: mins % 60 });
}

/** "3分前", "2時間前". */
export function ago(iso) {
  if (!iso) return t("time.none");
  const mins = Math.floor((now() - Date.parse(iso)) / 60000);
  if (mins < 1) return t("time.justNow");
  if (mins < 60) return t("time.minAgo", { n: mins });
  if (mins < 60 * 24) return t("time.hourAgo", { n: Math.floor(mins / 60) });
  return t("time.dayAgo", { n: Math.floor(mins / 1440) });
}

/** {text, overdue}: "あと25分" or "期限超過 10分". */
export function until(iso) {
  if (!iso) return { text: t("time.none"), overdue: false };
  const mins = Math.round((Date.parse(iso) - now()) / 60000);
  if (mins < 0) return { text: t("time.overdue", { d: span(-mins) }), overdue: true };
  if (mins < 60) return { text: t("time.inMin", { n: mins }), overdue: false };
  if (mins < 60 * 24) return { text: t("time.inHour", { h: Math.floor(mins / 60), m: mins % 60 }), overdue: false };
  return { text: clock(iso), overdue: false };
}

/** Elements made with `liveAgo`/`liveUntil` are refreshed every 30 s. */
export function liveAgo(el, iso) { el.dataset.ago = iso || ""; el.textContent = ago(iso); el.title = full(iso); return el; }
export function liveUntil(el, iso) {
  el.dataset.until = iso || "";
  const u = until(iso);
  el.textContent = u.text;
  el.classList.toggle("is-overdue", u.overdue);
  el.title = full(iso);
  return el;
}
export function refreshLive(root = document) {
  root.querySelectorAll("[data-ago]").forEach((el) => { el.textContent = ago(el.dataset.ago); });
  root.querySelectorAll("[data-until]").forEach((el) => liveUntil(el, el.dataset.until));
}
setInterval(() => refreshLive(), 30_000);
