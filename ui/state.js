// The one small store of the UI: plain state, set(patch) and subscribe(fn).

const state = {
  view: "queue",          // queue | consultation | phone | partners | notifications | audit | settings
  openId: null,           // consultation shown in the consultation view
  selectedId: null,       // selected row of the queue (kept by id across reloads)
  filter: { category: "", urgency: "", status: "", partner_id: "", owner: "", mine: false, all: false, search: "" },
  rows: [],
  counts: { unconfirmed: 0, urgent: 0, overdue: 0, open: 0 },
  me: localStorage.getItem("renkei.staff") || "",  // replaced by the signed-in name when PINs exist
  updatedAt: null,
  locked: false,          // the lock screen is shown (the lock itself lives in Rust)
  lockRequired: false,    // some staff profile has a PIN: sign-in replaces "who am I"
  staff: null,            // the signed-in profile {id, name, role}
  error: null,
};

const subs = new Set();

export function get() { return state; }

export function set(patch) {
  Object.assign(state, patch);
  for (const fn of subs) fn(state, patch);
}

export function subscribe(fn) { subs.add(fn); return () => subs.delete(fn); }

export function setMe(name) {
  const n = (name || "").trim();
  localStorage.setItem("renkei.staff", n);
  const recent = recentStaff().filter((x) => x !== n);
  if (n) localStorage.setItem("renkei.recentStaff", JSON.stringify([n, ...recent].slice(0, 6)));
  set({ me: n });
}

export function recentStaff() {
  try { return JSON.parse(localStorage.getItem("renkei.recentStaff") || "[]"); } catch { return []; }
}
