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

const jstFmt = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", hour: "2-digit", minute: "2-digit", hour12: false });
const jstDayFmt = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", month: "numeric", day: "numeric", weekday: "short" });
const jstFullFmt = new Intl.DateTimeFormat("ja-JP", { timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });

function dayKey(ms) { return jstDayFmt.format(new Date(ms)); }

/** "10:12" today, "12/1(火) 10:12" another day (JST). */
export function clock(iso) {
  if (!iso) return t("time.none");
  const ms = Date.parse(iso);
  const hm = jstFmt.format(new Date(ms));
  return dayKey(ms) === dayKey(now()) ? hm : `${dayKey(ms)} ${hm}`;
}
export function full(iso) { return iso ? jstFullFmt.format(new Date(Date.parse(iso))) : t("time.none"); }

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
