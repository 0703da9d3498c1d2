// Each area's trend: its trend KPIs over the last 6 hours in 5-minute steps
// (api/v1/series/{name}), drawn as lines (chart.js).

import { getJson, quietly } from "./api.js";
import { renderTrend } from "./chart.js";
import { $, h } from "./dom.js";
import { kpiLabel } from "./i18n.js";
import { state } from "./state.js";

export const TREND_EVERY_MS = 30_000;
const TREND_SPAN_MS = 6 * 3_600_000;
const TREND_STEP = "5m";
const TREND_STEP_MS = 5 * 60_000;

async function refreshTrend(area) {
  // complete steps only: the current, unfinished one would always look like a dip
  const toMs = Math.floor((Date.now() + state.skewMs) / TREND_STEP_MS) * TREND_STEP_MS;
  const fromMs = toMs - TREND_SPAN_MS;
  const range = new URLSearchParams({
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    step: TREND_STEP,
  });
  const bodies = await Promise.all(area.trend.map((name) => getJson(`api/v1/series/${name}?${range}`)));
  const lines = bodies.map((b) => ({ name: b.name, points: b.points }));
  state.trends[area.id] = { fromMs: fromMs + TREND_STEP_MS, toMs, stepMs: TREND_STEP_MS, lines };
  renderTrendArea(state, area);
}

export function refreshTrends() {
  return Promise.all(state.areas.map((area) => quietly(() => refreshTrend(area))));
}

export function renderTrendArea(state, area) {
  const figure = $(`[data-trend="${area.id}"]`);
  const trend = state.trends[area.id];
  if (!figure) return;
  const legend = $(".legend", figure);
  legend.replaceChildren(
    ...area.trend.map((name, i) =>
      h("span", { class: `key l${i}` }, h("i", {}), kpiLabel(state.catalog.get(name))),
    ),
  );
  if (!trend) return;
  const first = state.catalog.get(area.trend[0]);
  renderTrend($(".plot", figure), {
    ...trend,
    unit: first?.unit,
    thresholds: area.trend.length === 1 ? first?.thresholds : null,
  });
}
