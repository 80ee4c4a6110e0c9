// Small own SVG charts for the report view: bar chart, line chart, heat map.
//
// Why our own ~150 lines and no vendored chart library: the app ships no dependency it does
// not need (the CSP allows no remote origin, and a vendored library is code to audit and
// update for three plain pictures); SVG prints sharply on A4 (no canvas bitmap); the labels
// are Japanese text nodes, so the page's fonts render them; every chart carries a <title> and
// an aria-label as its text alternative, and the report view puts the same numbers in a table
// under each chart (screen readers, copy/paste, CSV). Text goes in through textContent only.

const NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes; string children become text nodes. */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) el.setAttribute(k, String(v));
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** The outer <svg> with its text alternative. */
function frame(id, title, w, h, summary) {
  const svg = s("svg", { id, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": `${title}: ${summary}`, class: "chart", preserveAspectRatio: "xMidYMid meet" });
  svg.append(s("title", {}, `${title}: ${summary}`));
  return svg;
}

const W = 640, H = 220, L = 36, R = 8, T = 12, B = 34;

/** A nice axis maximum ≥ max (1, 2, 5 × 10^n). */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * p).find((m) => m >= max);
}

function axes(svg, top) {
  const y0 = H - B;
  for (let i = 0; i <= 4; i++) {
    const y = y0 - ((H - B - T) * i) / 4;
    svg.append(s("line", { x1: L, x2: W - R, y1: y, y2: y, class: "chart__grid" }));
    svg.append(s("text", { x: L - 4, y: y + 4, class: "chart__tick", "text-anchor": "end" }, String(Math.round((top * i) / 4 * 10) / 10)));
  }
}

/** Bars: labels[i] under values[i]. `every` labels only every n-th bar (24 hours). */
export function barChart({ id, title, labels, values, every = 1 }) {
  const total = values.reduce((a, b) => a + b, 0);
  const svg = frame(id, title, W, H, labels.map((l, i) => `${l} ${values[i]}`).join("、") || String(total));
  const top = niceMax(Math.max(0, ...values));
  axes(svg, top);
  const bw = (W - L - R) / Math.max(1, values.length);
  values.forEach((v, i) => {
    const bh = ((H - B - T) * v) / top;
    const x = L + i * bw;
    svg.append(s("rect", { x: x + bw * 0.12, y: H - B - bh, width: Math.max(1, bw * 0.76), height: bh, class: "chart__bar" }, s("title", {}, `${labels[i]}: ${v}`)));
    if (v > 0 && bw >= 18) svg.append(s("text", { x: x + bw / 2, y: H - B - bh - 3, class: "chart__value", "text-anchor": "middle" }, String(v)));
    if (i % every === 0) svg.append(s("text", { x: x + bw / 2, y: H - B + 14, class: "chart__label", "text-anchor": "middle" }, labels[i]));
  });
  return svg;
}

/** Lines: series = [{name, values}] over the same labels; a legend at the bottom. */
export function lineChart({ id, title, labels, series }) {
  const summary = series.map((sr) => `${sr.name} ${sr.values.join("・")}`).join("、");
  const svg = frame(id, title, W, H, summary);
  const top = niceMax(Math.max(0, ...series.flatMap((sr) => sr.values)));
  axes(svg, top);
  const step = (W - L - R) / Math.max(1, labels.length);
  const x = (i) => L + step * i + step / 2;
  const y = (v) => H - B - ((H - B - T) * v) / top;
  labels.forEach((l, i) => svg.append(s("text", { x: x(i), y: H - B + 14, class: "chart__label", "text-anchor": "middle" }, l)));
  series.forEach((sr, k) => {
    const pts = sr.values.map((v, i) => `${x(i)},${y(v)}`).join(" ");
    svg.append(s("polyline", { points: pts, class: `chart__line chart__line--${k}`, fill: "none" }));
    sr.values.forEach((v, i) => svg.append(s("circle", { cx: x(i), cy: y(v), r: 3, class: `chart__dot chart__line--${k}` }, s("title", {}, `${sr.name} ${labels[i]}: ${v}`))));
    svg.append(s("text", { x: L + k * 140, y: H - 4, class: `chart__legend chart__line--${k}` }, `― ${sr.name}`));
  });
  return svg;
}

/** A heat map: rows × cols counts, darker = more; empty cells stay white. */
export function heatMap({ id, title, rows, cols, matrix }) {
  const cw = (W - L - R) / cols.length, ch = 22, h = T + ch * rows.length + 20;
  const max = Math.max(1, ...matrix.flat());
  const busiest = [];
  matrix.forEach((r, i) => r.forEach((v, j) => { if (v === max && max > 0) busiest.push(`${rows[i]} ${cols[j]}時`); }));
  const svg = frame(id, title, W, h, `最多 ${max}件（${busiest.slice(0, 3).join("、") || "なし"}）`);
  matrix.forEach((r, i) => {
    svg.append(s("text", { x: L - 6, y: T + ch * i + 15, class: "chart__label", "text-anchor": "end" }, rows[i]));
    r.forEach((v, j) => {
      const a = v ? 0.15 + 0.8 * (v / max) : 0;
      svg.append(s("rect", { x: L + cw * j, y: T + ch * i, width: cw - 1, height: ch - 1, class: "chart__cell", "fill-opacity": a.toFixed(2) }, s("title", {}, `${rows[i]} ${cols[j]}時: ${v}`)));
    });
  });
  cols.forEach((c, j) => { if (j % 3 === 0) svg.append(s("text", { x: L + cw * j + cw / 2, y: h - 4, class: "chart__label", "text-anchor": "middle" }, c)); });
  return svg;
}
