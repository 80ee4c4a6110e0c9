// Translation lookup: t("queue.empty", {n: 3}) and code labels label("urgency", "urgent").
import ja from "./ja.js";
import en from "./en.js";

// The language is the clinic's setting (Settings.language in the core), the same on every PC:
// app.js applies it from lock_status before the first screen (the lock screen included) and
// whenever the lock screen is shown again. localStorage "renkei.lang" is only a cache of the
// last clinic language seen, for the one case where the core cannot answer (the store did not
// open); it is not a per-PC override. See ui/README.md.
const dicts = { ja, en };
const CACHE = "renkei.lang";
let lang = localStorage.getItem(CACHE) === "en" ? "en" : "ja";

export function getLang() { return lang; }
/** Applies a language (unknown → Japanese) and caches it. */
export function setLang(l) {
  lang = dicts[l] ? l : "ja";
  localStorage.setItem(CACHE, lang);
  document.documentElement.lang = lang;
}

function lookup(d, key) {
  return key.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), d);
}

/** The string for `key`, with {name} placeholders filled from `vars`. */
export function t(key, vars = {}) {
  let s = lookup(dicts[lang], key);
  if (typeof s !== "string") s = lookup(dicts.ja, key);
  if (typeof s !== "string") return key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

// Code labels come from the core (`code_labels`: one table for Rust and the page), loaded once
// at start by app.js; until then — or without the app — a code shows as itself.
let codeTables = {};

/** Installs the core's label tables: {kind: [{code, ja, en}]}. */
export function setCodeLabels(tables) { codeTables = tables || {}; }

/** Label of a contract code (category, urgency, status, channel, partner_kind, role). */
export function label(kind, code) {
  if (code == null) return "";
  const row = (codeTables[kind] || []).find((r) => r.code === code);
  return row ? (lang === "en" ? row.en : row.ja) : String(code);
}

/** All codes of a kind, in contract order. */
export function codes(kind) {
  return (codeTables[kind] || []).map((r) => r.code);
}
