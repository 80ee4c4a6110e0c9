// Translation lookup: t("queue.empty", {n: 3}) and code labels label("urgency", "urgent").
import ja from "./ja.js";
import en from "./en.js";

const dicts = { ja, en };
let lang = localStorage.getItem("renkei.lang") === "en" ? "en" : "ja";

export function getLang() { return lang; }
export function setLang(l) {
  lang = dicts[l] ? l : "ja";
  localStorage.setItem("renkei.lang", lang);
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

/** Label of a contract code (category, urgency, status, channel, partner_kind). */
export function label(kind, code) {
  if (code == null) return "";
  const s = lookup(dicts[lang], `codes.${kind}.${code}`);
  return typeof s === "string" ? s : String(code);
}

/** All codes of a kind, in contract order. */
export function codes(kind) {
  return Object.keys(dicts.ja.codes[kind] || {});
}
