// Each area's trend: its trend KPIs over the last 6 hours in 5-minute steps
// (api/v1/series/{name}), drawn as lines (chart.js): the province's, or in a place's view the
// place's (the same series asked with `dimension=&code=`, scoped like the place's numbers),
// where the area's slot is not taken by the lists behind its numbers (lists.js).

import { getJson, quietly } from "./api.js";
import { renderTrend } from "./chart.js";
import { $, h } from "./dom.js";
import { isMissing, kpiLabel } from "./i18n.js";
import { hasLists } from "./lists.js";
import { state } from "./state.js";

export const TREND_EVERY_MS = 30_000;
const TREND_SPAN_MS = 6 * 3_600_000;
const TREND_STEP = "5m";
const TREND_STEP_MS = 5 * 60_000;

/** An area's trend lines over the province (`place` null) or a place. */
async function seriesOf(area, place) {
  // complete steps only: the current, unfinished one would always look like a dip
  const toMs = Math.floor((Date.now() + state.skewMs) / TREND_STEP_MS) * TREND_STEP_MS;
  const fromMs = toMs - TREND_SPAN_MS;
  const query = new URLSearchParams({
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    step: TREND_STEP,
  });
  if (place) {
    query.set("dimension", place.dim);
    query.set("code", place.code);
  }
  const bodies = await Promise.all(area.trend.map((name) => getJson(`api/v1/series/${name}?${query}`)));
  const lines = bodies.map((b) => ({ name: b.name, points: b.points }));
  return { fromMs: fromMs + TREND_STEP_MS, toMs, stepMs: TREND_STEP_MS, lines };
}

export function refreshTrends() {
  return Promise.all(
    state.areas.map((area) =>
      quietly(async () => {
        state.trends[area.id] = await seriesOf(area, null);
        renderTrendArea(state, area);
      }),
    ),
  );
}

/** Whether the place's trends are missing or old enough to be asked for again. */
export function placeTrendsDue(place) {
  return !place.trendsAtMs || Date.now() - place.trendsAtMs > TREND_EVERY_MS;
}

/** Ask for a place's trends, for the areas whose slot shows one (dropped if another view is
 *  shown by the time they come). */
export function refreshPlaceTrends(place) {
  place.trendsAtMs = Date.now();
  return Promise.all(
    state.areas.filter((area) => !hasLists(area.id)).map((area) =>
      quietly(async () => {
        const trend = await seriesOf(area, place);
        if (state.place !== place) return;
        place.trends = { ...place.trends, [area.id]: trend };
        renderTrendArea(state, area);
      }),
    ),
  );
}

/** Draw an area's trend: the place's in a place's view (blank until it comes), else the
 *  province's. The figure says whose it is and the first line's sum (`data-place`,
 *  `data-total`), as tiles carry their raw values. */
export function renderTrendArea(state, area) {
  const figure = $(`[data-trend="${area.id}"]`);
  if (!figure) return;
  const place = state.place;
  const trend = place ? place.trends?.[area.id] : state.trends[area.id];
  const legend = $(".legend", figure);
  legend.replaceChildren(
    ...area.trend.map((name, i) =>
      h("span", { class: `key l${i}` }, h("i", {}), kpiLabel(state.catalog.get(name))),
    ),
  );
  figure.dataset.place = place ? `${place.dim}/${place.code}` : "";
  const values = trend?.lines[0]?.points.map((p) => p.value).filter((v) => !isMissing(v)) ?? [];
  figure.dataset.total = values.length ? String(values.reduce((a, b) => a + b, 0)) : "";
  if (!trend) {
    $(".plot", figure).replaceChildren();
    return;
  }
  const first = state.catalog.get(area.trend[0]);
  renderTrend($(".plot", figure), {
    ...trend,
    unit: first?.unit,
    thresholds: area.trend.length === 1 ? first?.thresholds : null,
  });
}
