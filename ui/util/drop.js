// Dropping referral documents and mails. Two paths end in the same core call
// (Desk::import_dropped: a PDF/image → import_document, an .eml / message/rfc822 → the mail
// import, always its own consultation):
//
//  1. Real drops from the desktop: Tauri handles them natively (dragDropEnabled) and the page
//     gets no HTML5 drop. Rust emits "native-drop" {paths}; we call import_document_paths and
//     Rust reads the files.
//  2. HTML5 `drop` events on the page (synthetic drops in end-to-end tests, or any drop Tauri
//     does not take): we read each File with arrayBuffer() and call import_document_bytes.
//
// Target: the open consultation (attach) when the consultation view is shown, else a new one.

import { api, on } from "../api.js";
import { t } from "../i18n/index.js";
import { toast, toastError, errorText } from "./toast.js";

let ctx = { target: () => null, me: () => "", done: () => {} };

function zone(show) {
  const z = document.getElementById("drop-zone");
  if (show) {
    document.getElementById("drop-zone-text").textContent = ctx.target() ? t("drop.attach") : t("drop.newItem");
    document.getElementById("drop-zone-types").textContent = t("drop.types");
  }
  z.hidden = !show;
}

function toBase64(buf) {
  const bytes = new Uint8Array(buf);
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Reports one file result ({name, outcome, error}); returns the consultation id or null. */
function report(r, to) {
  if (r.error) {
    toast(`${t("drop.refused", { name: r.name })} — ${errorText(r.error)}`, { kind: "error", detail: r.error.message, code: r.error.code });
    return null;
  }
  const o = r.outcome;
  if (o.kind === "mail") {
    const key = o.created ? "drop.mailImported" : o.joined ? "drop.mailJoined" : "drop.mailDuplicate";
    const extra = o.refused?.length ? ` ${t("drop.mailRefusedAttachments", { n: o.refused.length })}` : "";
    toast(t(key, { name: r.name }) + extra, { kind: "ok", code: o.created ? "created" : "existing" });
    return o.id;
  }
  const key = to ? "drop.attached" : o.created ? "drop.imported" : "drop.duplicate";
  toast(t(key, { name: r.name }), { kind: "ok", code: o.created ? "created" : "existing" });
  return o.id;
}

async function finish(results, to) {
  const ids = results.map((r) => report(r, to)).filter((x) => x != null);
  // A mail never attaches to the open consultation: show the new item instead.
  if (to && results.some((r) => r.outcome?.kind === "mail")) to = null;
  document.body.dataset.lastDrop = JSON.stringify(results.map((r) => ({ name: r.name, id: r.outcome?.id ?? null, code: r.error?.code ?? null })));
  ctx.done(ids, to);
}

function needMe() {
  if (ctx.me()) return false;
  toast(t("errors.needName"), { kind: "error", code: "need_name" });
  return true;
}

/** HTML5 drop: File → bytes → import_document_bytes. */
export async function importFiles(files) {
  if (needMe()) return;
  const to = ctx.target();
  const results = [];
  for (const f of files) {
    try {
      const b64 = toBase64(await f.arrayBuffer());
      results.push(await api.importBytes(f.name, b64, to, f.type));
    } catch (e) {
      results.push({ name: f.name, outcome: null, error: e });
    }
  }
  await finish(results, to);
}

/** Native drop: paths → import_document_paths. */
async function importPaths(paths) {
  if (needMe()) return;
  const to = ctx.target();
  try {
    await finish(await api.importPaths(paths, to), to);
  } catch (e) {
    toastError(e);
  }
}

/** Wires both paths. `target()` → consultation id or null; `me()` → staff; `done(ids, to)`. */
export function installDrop(c) {
  ctx = c;
  let depth = 0;
  const hasFiles = (e) => Array.from(e.dataTransfer?.types || []).includes("Files");
  window.addEventListener("dragenter", (e) => { if (hasFiles(e)) { depth++; zone(true); e.preventDefault(); } });
  window.addEventListener("dragover", (e) => { if (hasFiles(e)) e.preventDefault(); });
  window.addEventListener("dragleave", () => { depth = Math.max(0, depth - 1); if (!depth) zone(false); });
  window.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    zone(false);
    const files = Array.from(e.dataTransfer?.files || []);
    if (files.length) importFiles(files);
  });
  on("native-drag", (kind) => zone(kind === "enter"));
  on("native-drop", (p) => { zone(false); if (p?.paths?.length) importPaths(p.paths); });
}
