// Building DOM safely: text always goes through textContent, never innerHTML.

/**
 * h("div", {class: "x", dataset: {id: 1}, onclick: fn}, "text", child, [more])
 * Strings become text nodes; null/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "dataset") Object.entries(v).forEach(([dk, dv]) => { if (dv != null) el.dataset[dk] = String(dv); });
    else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces all children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** <select> with options [{value, label}] and the current value. */
export function select(attrs, options, current) {
  const s = h("select", attrs);
  for (const o of options) {
    const opt = h("option", { value: o.value }, o.label);
    if (String(o.value) === String(current ?? "")) opt.selected = true;
    s.append(opt);
  }
  return s;
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}

/** Runs `fn` at once on the first call, then at most once per `ms` while calls keep coming; a
 * call inside the window is never lost — it runs once when the window ends. For live updates: the
 * first change shows without waiting, a burst of changes costs one redraw per window. */
export function coalesce(fn, ms) {
  let timer = null;
  let pending = false;
  const windowEnds = () => {
    timer = null;
    if (pending) { pending = false; fn(); timer = setTimeout(windowEnds, ms); }
  };
  return () => {
    if (timer) { pending = true; return; }
    fn();
    timer = setTimeout(windowEnds, ms);
  };
}

/** A decorative icon (see icons.css): clip, phone, chat, fax, link, doc, user, warn, inbox, bulb, upload. */
export function icon(name) {
  return h("span", { class: `ico ico--${name}`, "aria-hidden": "true" });
}

const CHANNEL_ICON = { lineworks: "chat", chatwork: "chat", phone: "phone", fax_folder: "fax", partner_api: "link", manual: "doc", email: "doc", mcs: "link" };
export function channelIcon(ch) { return icon(CHANNEL_ICON[ch] || "doc"); }
