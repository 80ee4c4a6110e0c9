// The phone-call form: partner (known partners in a datalist), caller, category, urgency,
// one-line summary, notes. Built to be filled in about 20 seconds; Ctrl+Enter saves.

import { api } from "../api.js";
import { h, replace, select } from "../util/dom.js";
import { t, label, codes } from "../i18n/index.js";
import { get } from "../state.js";
import { toast, toastError } from "../util/toast.js";

export async function mountPhoneForm(container, acts) {
  const partner = h("input", { id: "phone-partner", list: "phone-partners", autocomplete: "off", placeholder: t("phone.partnerHint") });
  const list = h("datalist", { id: "phone-partners" });
  const kind = select({ id: "phone-partner-kind" }, codes("partner_kind").map((c) => ({ value: c, label: label("partner_kind", c) })), "houkatsu");
  const caller = h("input", { id: "phone-caller", autocomplete: "off", placeholder: t("phone.callerHint") });
  const category = select({ id: "phone-category" }, codes("category").map((c) => ({ value: c, label: label("category", c) })), "community_concern");
  const urgency = select({ id: "phone-urgency" }, [{ value: "", label: t("phone.urgencyAuto") }, ...codes("urgency").map((c) => ({ value: c, label: label("urgency", c) }))], "");
  const summary = h("input", { id: "phone-summary", autocomplete: "off", maxlength: "200", placeholder: t("phone.summaryHint") });
  const notes = h("textarea", { id: "phone-notes", placeholder: t("phone.notesHint") });
  const save = h("button", { class: "btn btn--primary", id: "phone-save", type: "submit" }, t("phone.save"));
  const field = (text, el) => h("label", { class: "field" }, h("span", {}, text), el);
  let partners = [];
  partner.addEventListener("change", () => {
    const p = partners.find((x) => x.name === partner.value.trim());
    if (p) kind.value = p.kind;
  });
  const form = h("form", { class: "form", id: "phone-form", autocomplete: "off" },
    h("div", { class: "grid2" }, field(t("phone.partner"), partner), field(t("phone.partnerKind"), kind)), list,
    h("div", { class: "grid2" }, field(t("phone.caller"), caller), h("div", { class: "grid2" }, field(t("phone.category"), category), field(t("phone.urgency"), urgency))),
    field(t("phone.summary"), summary),
    field(t("phone.notes"), notes),
    h("div", { class: "actions" }, save));
  const submit = async (e) => {
    e?.preventDefault();
    const me = get().me;
    if (!me) { toast(t("errors.needName"), { kind: "error", code: "need_name" }); return; }
    if (!summary.value.trim()) { toast(t("phone.required"), { kind: "error", code: "invalid_input" }); summary.focus(); return; }
    save.disabled = true;
    try {
      const out = await api.phoneIntake({
        partner: partner.value, partner_kind: kind.value, caller: caller.value, category: category.value,
        urgency: urgency.value || null, summary: summary.value, notes: notes.value,
      });
      toast(t("phone.saved"), { kind: "ok", code: "created" });
      form.reset();
      acts.saved?.(out.id);
    } catch (err) {
      toastError(err);
    } finally {
      save.disabled = false;
    }
  };
  form.addEventListener("submit", submit);
  form.addEventListener("keydown", (e) => { if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submit(e); });
  replace(container, h("section", { class: "page", id: "view-phone" }, h("h1", {}, t("phone.title")), h("p", { class: "lead" }, t("phone.lead")), form));
  partner.focus();
  try {
    partners = await api.partners();
    replace(list, partners.map((p) => h("option", { value: p.name }, label("partner_kind", p.kind))));
  } catch { /* the datalist is a convenience */ }
}
