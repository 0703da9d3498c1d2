// Trend lines as plain inline SVG, drawn at the plot's own pixel size so text stays crisp.

import { remPx, s } from "./dom.js";
import { formatTick, formatTime, isMissing, t } from "./i18n.js";

const HOUR_MS = 3_600_000;
const PROVINCE_OFFSET_H = 7; // Asia/Ho_Chi_Minh has no daylight saving

/** The smallest of 1, 2, 4, 6, 8 or 10 times a power of ten that is at least `v` (even: a whole midpoint). */
function niceCeil(v) {
  const exp = 10 ** Math.floor(Math.log10(v));
  const f = [1, 2, 4, 6, 8, 10].find((m) => m * exp >= v * 0.9999);
  return f * exp;
}

function domain(values, unit, thresholds) {
  if (unit === "percent") {
    const floor = Math.min(...values, thresholds ? thresholds.bad : 100);
    const lo = Math.max(0, Math.floor(floor - Math.max(1, (100 - floor) * 0.15)));
    return [lo, 100];
  }
  const hi = Math.max(...values, thresholds ? thresholds.warn : 0) * 1.05;
  return [0, unit === "count" ? Math.max(2, niceCeil(hi)) : hi > 0 ? niceCeil(hi) : 1];
}

function hourTicks(fromMs, toMs) {
  const ticks = [];
  for (let ms = Math.ceil(fromMs / HOUR_MS) * HOUR_MS; ms <= toMs; ms += HOUR_MS) {
    if ((Math.round(ms / HOUR_MS) + PROVINCE_OFFSET_H) % 2 === 0) ticks.push(ms);
  }
  return ticks;
}

/** Runs of consecutive non-null points: a null is a gap in the line, never a drop to 0. */
function segments(points, xOf, y) {
  const runs = [];
  let run = [];
  for (const p of points) {
    if (isMissing(p.value)) {
      if (run.length) runs.push(run);
      run = [];
    } else {
      run.push([xOf(p), y(p.value)]);
    }
  }
  if (run.length) runs.push(run);
  return runs;
}

function linePath(run) {
  return run.map(([px, py], i) => `${i ? "L" : "M"}${px.toFixed(1)} ${py.toFixed(1)}`).join(" ");
}

function areaPath(run, baseY) {
  const first = run[0];
  const last = run[run.length - 1];
  return `${linePath(run)} L${last[0].toFixed(1)} ${baseY} L${first[0].toFixed(1)} ${baseY} Z`;
}

function yAxis(frame, lo, hi, y, unit) {
  const out = [];
  // a short plot (five areas side by side) has room for its ends' ticks only
  const ticks = frame.bottom - frame.top < 3 * remPx() ? [lo, hi] : [lo, (lo + hi) / 2, hi];
  for (const v of ticks) {
    out.push(s("line", { class: "grid", x1: frame.left, x2: frame.right, y1: y(v), y2: y(v) }));
    out.push(
      s("text", { class: "tick y", x: frame.left - 8, y: y(v), text: formatTick(v, hi - lo, unit) }),
    );
  }
  return out;
}

function xAxis(frame, fromMs, toMs, x) {
  // a time label is about 3 rem wide, centred on its tick: one that would leave the plot is left out
  const half = 1.5 * remPx();
  const fits = (ms) => x(ms) - half >= 0 && x(ms) + half <= frame.right + 0.6 * remPx();
  return hourTicks(fromMs, toMs).filter(fits).flatMap((ms) => [
    s("line", { class: "grid", x1: x(ms), x2: x(ms), y1: frame.top, y2: frame.bottom }),
    s("text", { class: "tick x", x: x(ms), y: frame.bottom + 6, text: formatTime(ms, false) }),
  ]);
}

function thresholdLines(frame, thresholds, lo, hi, y) {
  if (!thresholds) return [];
  return ["warn", "bad"]
    .filter((k) => thresholds[k] >= lo && thresholds[k] <= hi)
    .map((k) => {
      const at = y(thresholds[k]);
      return s("line", { class: `limit ${k}`, x1: frame.left, x2: frame.right, y1: at, y2: at });
    });
}

function seriesShapes(line, index, xOf, y, baseY) {
  const runs = segments(line.points, xOf, y);
  const shapes = [];
  for (const run of runs) {
    if (index === 0) shapes.push(s("path", { class: "under", d: areaPath(run, baseY) }));
    if (run.length > 1) shapes.push(s("path", { class: `line l${index}`, d: linePath(run) }));
    else shapes.push(s("circle", { class: `dot l${index}`, cx: run[0][0], cy: run[0][1], r: 3 }));
  }
  const last = runs.at(-1)?.at(-1);
  if (last) shapes.push(s("circle", { class: `dot l${index}`, cx: last[0], cy: last[1], r: 5 }));
  return shapes;
}

/**
 * Draw `trend` into `plot`: {fromMs, toMs, stepMs, unit, thresholds, lines: [{name, points: [{t, value}]}]}.
 * A point covers [t, t + step) and is drawn at its step's end, so the line ends at `toMs`.
 */
export function renderTrend(plot, trend) {
  const width = plot.clientWidth;
  const height = plot.clientHeight;
  if (!width || !height) return;
  const rem = remPx();
  const frame = { left: 4.2 * rem, right: width - 0.6 * rem, top: 0.6 * rem, bottom: height - 1.5 * rem };
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  const values = trend.lines.flatMap((l) => l.points.map((p) => p.value)).filter((v) => !isMissing(v));
  if (!values.length) {
    svg.append(s("text", { class: "empty", x: width / 2, y: height / 2, text: t("noData") }));
    plot.replaceChildren(svg);
    return;
  }
  const [lo, hi] = domain(values, trend.unit, trend.thresholds);
  // the y axis' labels take what their longest needs, so a narrow plot keeps its width for the line
  const longest = Math.max(...[lo, hi].map((v) => formatTick(v, hi - lo, trend.unit).length));
  frame.left = Math.min(4.2, 1.2 + 0.6 * longest) * rem;
  const span = Math.max(1, trend.toMs - trend.fromMs);
  const x = (ms) => frame.left + ((ms - trend.fromMs) / span) * (frame.right - frame.left);
  const xOf = (p) => x(Date.parse(p.t) + (trend.stepMs ?? 0));
  const y = (v) => frame.bottom - ((v - lo) / (hi - lo || 1)) * (frame.bottom - frame.top);
  svg.append(
    ...yAxis(frame, lo, hi, y, trend.unit),
    ...xAxis(frame, trend.fromMs, trend.toMs, x),
    ...thresholdLines(frame, trend.thresholds, lo, hi, y),
    ...trend.lines.flatMap((line, i) => seriesShapes(line, i, xOf, y, frame.bottom)),
  );
  plot.replaceChildren(svg);
}
