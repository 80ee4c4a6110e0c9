// Settings → 「ハブに接続」 (issue 19): this PC enrols at the hub with a one-time code after the
// user compared the hub's certificate fingerprint (trust on first use); shows 接続中 / 未接続
// and lets an administrator disconnect. The credential is kept by the app (OS keyring).

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t } from "../i18n/index.js";
import { clock } from "../util/time.js";
import { get } from "../state.js";
import { toast, toastError, errorText } from "../util/toast.js";

/** The section; `locked()` runs after a connect (the app locks: sign in against the hub). */
export function hubSection({ locked } = {}) {
  const box = h("section", { id: "hub-section", class: "form" });
  const draw = async () => {
    let st;
    try { st = await api.hubStatus(); } catch (e) { replace(box, h("p", {}, errorText(e))); return; }
    if (st.connected) drawConnected(st); else drawForm();
  };
  const drawConnected = (st) => {
    const admin = get().staff?.role === "admin";
    const state = st.online ? t("hub.connected")
      : st.last_sync ? t("hub.offline", { time: clock(st.last_sync) }) : t("hub.offlineNever");
    const off = h("button", { class: "btn", id: "hub-disconnect", type: "button", disabled: !admin }, t("hub.disconnect"));
    off.addEventListener("click", async () => {
      off.disabled = true;
      try { await api.hubDisconnect(); toast(t("hub.disconnectedOk"), { kind: "ok", code: "hub_disconnected" }); locked?.(); }
      catch (e) { toastError(e); off.disabled = false; }
    });
    replace(box, h("h2", {}, t("hub.title")),
      h("p", { id: "hub-state", dataset: { state: st.online ? "connected" : "offline" } },
        t("hub.statusLine", { state, url: st.url, device: st.device_name })),
      st.fingerprint ? h("p", { class: "mono hint", id: "hub-pinned" }, t("hub.fingerprint", { fp: st.fingerprint })) : null,
      st.problem ? h("p", { class: "settings__error", id: "hub-problem" }, st.problem) : null,
      h("div", { class: "actions" }, off),
      admin ? null : h("p", { class: "hint" }, t("hub.adminOnly")));
  };
  const drawForm = () => {
    const url = h("input", { id: "hub-url", type: "url", placeholder: "https://hub.clinic.example:8787", autocomplete: "off" });
    const code = h("input", { id: "hub-code", autocomplete: "off", placeholder: "ABCD-EFGH-JKMN-PQRS" });
    const probe = h("button", { class: "btn", id: "hub-probe", type: "button" }, t("hub.probe"));
    const result = h("div", { id: "hub-confirm" });
    const err = h("p", { class: "settings__error", id: "hub-error", role: "alert" });
    probe.addEventListener("click", async () => {
      err.textContent = ""; replace(result);
      probe.disabled = true;
      try {
        const p = await api.hubProbe(url.value);
        const go = h("button", { class: "btn btn--primary", id: "hub-connect", type: "button" }, t("hub.connect"));
        go.addEventListener("click", async () => {
          go.disabled = true; err.textContent = "";
          try {
            await api.hubConnect(p.url, code.value, p.fingerprint);
            toast(t("hub.connectedOk"), { kind: "ok", code: "hub_connected" });
            locked?.();
          } catch (e) { err.textContent = e?.code === "invalid_input" || e?.code === "unauthorized" ? e.message : errorText(e); err.dataset.code = e?.code || ""; go.disabled = false; }
        });
        replace(result,
          p.fingerprint
            ? h("p", { class: "mono", id: "hub-fingerprint" }, t("hub.fingerprint", { fp: p.fingerprint }))
            : h("p", { id: "hub-fingerprint", dataset: { loopback: "1" } }, t("hub.loopback")),
          p.fingerprint ? h("p", { class: "hint" }, t("hub.fingerprintHint")) : null,
          go);
      } catch (e) { err.textContent = e?.code === "invalid_input" ? e.message : `${errorText(e)} ${e?.message || ""}`; err.dataset.code = e?.code || ""; }
      finally { probe.disabled = false; }
    });
    replace(box, h("h2", {}, t("hub.title")), h("p", { class: "hint" }, t("hub.lead")),
      h("label", { class: "field" }, h("span", {}, t("hub.url")), url),
      h("label", { class: "field" }, h("span", {}, t("hub.code")), code),
      h("div", { class: "actions" }, probe), result, err);
  };
  draw();
  return box;
}
