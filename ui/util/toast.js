// Visible messages (#toast): success, refusals of dropped files, errors as Japanese sentences.
import { h } from "./dom.js";
import { t } from "../i18n/index.js";

/** Shows a message for a few seconds. kind: "ok" | "error" | "info". */
export function toast(text, { kind = "info", detail = "", code = "", ms = 6000 } = {}) {
  const box = document.getElementById("toast");
  const el = h("div", { class: `toast toast--${kind}`, dataset: { code: code || null, kind } }, text, detail ? h("small", {}, detail) : null);
  // The same message again while it is still shown (two actions kept offline, a burst of the
  // same refusal): one toast, shown for the full time again — not a stack of copies.
  for (const old of [...box.children]) {
    if (old.textContent === el.textContent && old.dataset.kind === kind) old.remove();
  }
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? ms + 4000 : ms);
  return el;
}

/** The Japanese sentence for a {code, message} error (message as detail). */
export function errorText(e) {
  const code = e?.code || "unknown";
  const key = `errors.${code}`;
  const s = t(key, { owner: e?.owner || "" });
  return s === key ? t("errors.unknown") : s;
}

export function toastError(e, prefix = "") {
  return toast(prefix ? `${prefix} — ${errorText(e)}` : errorText(e), { kind: "error", detail: e?.message || "", code: e?.code });
}
