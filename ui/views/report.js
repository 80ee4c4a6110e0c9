// Shift handover (申し送り) and the operations report (docs/report.md). The figures come from
// the core (`handover_get`, `report_get`); this view only draws them: SVG charts from
// util/chart.js, the same numbers in a table under each chart, and a CSV download per table.
// Stable ids for the end-to-end test: #view-report, #handover, #report-*.

import { api } from "../api.js";
import { h, replace } from "../util/dom.js";
import { t, label } from "../i18n/index.js";
import { full } from "../util/time.js";
import { toastError } from "../util/toast.js";
import { barChart, lineChart, heatMap } from "../util/chart.js";

const WEEKDAYS = () => t("report.weekdays").split(",");
const num = (v) => (v == null ? "—" : String(v));
const mins = (m) => (m == null ? "—" : t("report.minutes", { n: Math.round(m * 10) / 10 }));

/** A CSV cell: quoted when it holds a comma, quote or line break; formulas defused. */
function cell(v) {
  let s = v == null ? "" : String(v);
  if (/^[=+\-@]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** A data: URL link that downloads the table as CSV (UTF-8 with BOM for Excel). */
function csvLink(id, name, head, rows) {
  const text = "\ufeff" + [head, ...rows].map((r) => r.map(cell).join(",")).join("\r\n");
  return h("a", { id, class: "btn btn--small report__csv", href: `data:text/csv;charset=utf-8,${encodeURIComponent(text)}`, download: name }, t("report.csv"));
}

function table(id, head, rows) {
  return h("table", { class: "table report__table", id },
    h("thead", {}, h("tr", {}, head.map((x, i) => h("th", { class: i ? "num" : null }, x)))),
    h("tbody", {}, rows.length
      ? rows.map((r) => h("tr", {}, r.map((x, i) => h(i ? "td" : "th", { class: i ? "num" : null }, num(x)))))
      : h("tr", {}, h("td", { colspan: String(head.length), class: "empty" }, t("report.empty")))));
}

/** A report block: heading, chart (optional), table, CSV link. */
function block(id, title, chart, head, rows, csvName) {
  return h("section", { class: "report__block", id },
    h("h2", {}, title), chart,
    table(`${id}-table`, head, rows),
    csvLink(`${id}-csv`, csvName, head, rows));
}

// ----- handover ------------------------------------------------------------------------------

function itemLine(i, extra = "") {
  const due = i.due_at ? ` ${t("report.due", { t: full(i.due_at) })}` : "";
  return h("li", { class: i.overdue ? "is-hot" : null, dataset: { id: i.id } },
    h("b", {}, `#${i.id}`), ` ${label("urgency", i.urgency)}・${label("status", i.status)}・${i.partner || t("report.unknownPartner")}・${i.subject}${due}${extra}`);
}

function list(id, title, items, render = (i) => itemLine(i)) {
  return h("div", { class: "handover__list", id },
    h("h3", {}, t("report.count", { title, n: items.length })),
    items.length ? h("ul", {}, items.map(render)) : h("p", { class: "empty" }, t("report.none")));
}

function renderHandover(el, ho) {
  const taken = (u) => itemLine(u, u.taken_by
    ? ` → ${t("report.takenBy", { who: u.taken_by, n: num(u.minutes_to_take) })}`
    : ` → ${t("report.untaken")}`);
  const waiting = (w) => itemLine(w, w.since ? ` ${t("report.since", { t: full(w.since) })}` : "");
  replace(el,
    h("div", { class: "handover__head" },
      h("h2", {}, t("report.handover")),
      h("button", { type: "button", class: "btn", id: "handover-print", onclick: () => printOnly("print-handover") }, t("report.print"))),
    h("p", { class: "handover__summary", id: "handover-summary" }, ho.summary),
    h("p", { class: "lead" }, t("report.nextOpening", { t: full(ho.next_opening) })),
    h("div", { class: "handover__owners", id: "handover-owners" },
      ho.by_owner.map((g, i) => list(`handover-owner-${i}`, g.owner || t("report.unowned"), g.items))),
    list("handover-overdue", t("report.overdue"), ho.overdue),
    list("handover-due", t("report.dueBeforeOpening"), ho.due_before_next_opening),
    list("handover-urgent", t("report.urgentToday"), ho.urgent_today, taken),
    list("handover-waiting", t("report.waiting"), ho.waiting_partner, waiting),
    list("handover-after-hours", t("report.afterHours"), ho.after_hours));
}

function printOnly(cls) {
  document.body.classList.add(cls);
  const done = () => { document.body.classList.remove(cls); window.removeEventListener("afterprint", done); };
  window.addEventListener("afterprint", done);
  window.print();
}

// ----- report --------------------------------------------------------------------------------

function statsRows(list) {
  return list.map((s) => [s.label, s.count, s.first_response.n, mins(s.first_response.median_min), mins(s.first_response.p90_min), s.unanswered, s.resolution.n, mins(s.resolution.median_min), mins(s.resolution.p90_min)]);
}

function renderReport(el, r) {
  const wd = WEEKDAYS();
  const days = r.arrivals_per_day.map((d) => `${d.date.slice(5).replace("-", "/")}(${wd[(new Date(`${d.date}T00:00:00Z`).getUTCDay() + 6) % 7]})`);
  const hours = r.arrivals_per_hour.map((_, i) => String(i));
  const statsHead = ["", ...["count", "answered", "firstMedian", "firstP90", "unanswered", "resolved", "resMedian", "resP90"].map((k) => t(`report.cols.${k}`))];
  const pct = r.targets.percent_met == null ? "—" : `${r.targets.percent_met}%`;
  const file = (k) => `renkei-${k}-${r.from}_${r.to}.csv`;
  replace(el,
    h("div", { class: "handover__head" },
      h("h2", {}, t("report.period", { from: r.from, to: r.to })),
      h("button", { type: "button", class: "btn", id: "report-print", onclick: () => printOnly("print-report") }, t("report.print"))),
    h("dl", { class: "report__kpis", id: "report-summary" },
      [[t("report.total"), num(r.total)], [t("report.targetsMet"), `${pct}（${r.targets.met}/${r.targets.counted}）`],
        [t("report.overdueOpen"), num(r.overdue_open)], [t("report.notifications"), num(r.notifications_total)],
        [t("report.firstMedian"), mins(r.overall.first_response.median_min)], [t("report.firstP90"), mins(r.overall.first_response.p90_min)]]
        .map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v)))),
    block("report-arrivals", t("report.arrivals"),
      barChart({ id: "report-arrivals-chart", title: t("report.arrivals"), labels: days, values: r.arrivals_per_day.map((d) => d.count) }),
      [t("report.cols.date"), t("report.cols.arrivals"), t("report.cols.notifications")],
      r.arrivals_per_day.map((d, i) => [days[i], d.count, r.notifications_per_day[i]?.count ?? 0]), file("arrivals")),
    block("report-notifications", t("report.arrivalsVsNotifications"),
      lineChart({ id: "report-notifications-chart", title: t("report.arrivalsVsNotifications"), labels: days,
        series: [{ name: t("report.cols.arrivals"), values: r.arrivals_per_day.map((d) => d.count) }, { name: t("report.cols.notifications"), values: r.notifications_per_day.map((d) => d.count) }] }),
      [t("report.cols.date"), t("report.cols.notifications")], r.notifications_per_day.map((d, i) => [days[i], d.count]), file("notifications")),
    block("report-hours", t("report.hours"),
      barChart({ id: "report-hours-chart", title: t("report.hours"), labels: hours, values: r.arrivals_per_hour, every: 3 }),
      [t("report.cols.hour"), t("report.cols.arrivals")], r.arrivals_per_hour.map((n, i) => [`${i}:00`, n]).filter((row) => row[1] > 0), file("hours")),
    block("report-heatmap", t("report.heatmap"),
      heatMap({ id: "report-heatmap-chart", title: t("report.heatmap"), rows: wd, cols: hours, matrix: r.heatmap }),
      [t("report.cols.weekday"), ...hours], r.heatmap.map((row, i) => [wd[i], ...row]), file("heatmap")),
    block("report-channels", t("report.channels"), null,
      [t("report.cols.channel"), t("report.cols.arrivals")], r.arrivals_per_channel.map((c) => [label("channel", c.channel), c.count]), file("channels")),
    block("report-response", t("report.byPartner"), null, statsHead, statsRows([r.overall, ...r.by_partner]), file("partners")),
    block("report-categories", t("report.byCategory"), null, statsHead, statsRows(r.by_category), file("categories")),
    block("report-urgent", t("report.urgent", { n: r.urgent.count, median: mins(r.urgent.take.median_min), max: mins(r.urgent.take.max_min), untaken: r.urgent.untaken }), null,
      [t("report.cols.id"), t("report.cols.received"), t("report.cols.takenBy"), t("report.cols.minutes")],
      r.urgent.items.map((u) => [`#${u.id}`, full(u.received_at), u.taken_by || t("report.untaken"), u.minutes_to_take]), file("urgent")),
    block("report-waits", t("report.waits"), null, statsHead, statsRows(r.longest_waits), file("waits")));
}

export async function mountReport(container) {
  const ho = h("section", { class: "handover", id: "handover" }, h("p", { class: "empty" }, t("report.loading")));
  const from = h("input", { type: "date", id: "report-from" });
  const to = h("input", { type: "date", id: "report-to" });
  const out = h("div", { class: "report", id: "report" });
  const run = async () => {
    try {
      renderReport(out, await api.report(from.value || null, to.value || null));
    } catch (e) {
      toastError(e);
    }
  };
  replace(container, h("section", { class: "page", id: "view-report" },
    h("h1", {}, t("report.title")), h("p", { class: "lead" }, t("report.lead")),
    ho,
    h("form", { class: "report__period", id: "report-period", onsubmit: (e) => { e.preventDefault(); run(); } },
      h("label", {}, t("report.from"), " ", from), h("label", {}, t("report.to"), " ", to),
      h("button", { type: "submit", class: "btn btn--primary", id: "report-run" }, t("report.run")),
      h("span", { class: "hint" }, t("report.defaultWeek"))),
    out));
  try {
    renderHandover(ho, await api.handover());
  } catch (e) {
    replace(ho, h("p", { class: "empty" }, t("report.failed")));
    toastError(e);
  }
  await run();
}
