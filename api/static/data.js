// The wall's numbers by plain HTTP, and where each answer goes: the catalog (labels, units,
// thresholds), the KPIs, the names behind codes, alerts, sources and rankings. The live channel
// (live.js) brings the same answers as they change; these catch up after (re)connecting, and
// cover what the channel does not push (another window, rankings).

import { quietly, getJson } from "./api.js";
import { renderAlerts } from "./alerts.js";
import { renderSources } from "./health.js";
import { addNames } from "./i18n.js";
import { markLive } from "./live.js";
import { renderBreakdown } from "./rankings.js";
import { renderAll } from "./render.js";
import { state } from "./state.js";
import { renderKpis } from "./tiles.js";
import { refreshTrends } from "./trends.js";

async function loadCatalog() {
  const body = await getJson("api/v1/catalog");
  state.catalog = new Map(body.kpis.map((k) => [k.name, k]));
  renderAll();
}

/** KPI answers carry the as_of they were computed for: an older one never overwrites a newer. */
export function applyKpis(asOf, kpis) {
  const ms = Date.parse(asOf);
  if (Number.isNaN(ms) || ms < state.asOfMs) return;
  state.asOfMs = ms;
  state.confirmedMs = Math.max(state.confirmedMs, ms);
  Object.assign(state.kpis, kpis);
  renderKpis(state);
}

export function applyAlerts(alerts) {
  state.alerts = alerts;
  renderAlerts(state);
  for (const alert of alerts) if (alert.by) quietly(() => loadNames(alert.by));
}

/** The registry's names of a dimension's values, fetched once: rankings and alerts show them. */
export async function loadNames(dimension) {
  if (state.named.has(dimension)) return;
  state.named.add(dimension);
  try {
    const body = await getJson(`api/v1/dimensions/${encodeURIComponent(dimension)}`);
    addNames(dimension, Object.fromEntries(body.values.map((v) => [v.code, [v.name_vi, v.name_en]])));
  } catch (error) {
    state.named.delete(dimension); // asked again with the next alert or ranking
    throw error;
  }
  for (const area of state.areas) if (area.breakdown.by === dimension) renderBreakdown(state, area);
  renderAlerts(state);
}

export function applySources(sources) {
  state.sources = sources;
  renderSources(state);
}

/** Alerts and sources by HTTP, unless the live channel pushed a newer list meanwhile. */
export async function fetchUnlessPushed(kind, path, apply) {
  const before = state.pushed[kind];
  const sentMs = Date.now();
  const body = await getJson(path);
  if (kind === "alerts") state.skewMs = Date.parse(body.as_of) - (sentMs + Date.now()) / 2;
  if (state.pushed[kind] === before) apply(body[kind]);
}

async function refreshBreakdown(area) {
  const { kpi, by } = area.breakdown;
  const body = await getJson(`api/v1/kpis/${kpi}?window=${state.window}&by=${by}`);
  state.breakdowns[area.id] = body.values;
  state.rankedMs[area.id] = Date.parse(body.as_of);
  renderBreakdown(state, area);
}

export function refreshBreakdowns() {
  return Promise.all(state.areas.map((area) => quietly(() => refreshBreakdown(area))));
}

/** In a window the live channel does not push, its values by HTTP. */
export function pollWindowed() {
  return quietly(async () => {
    const body = await getJson(`api/v1/kpis?window=${state.window}`);
    applyKpis(body.as_of, body.kpis);
  });
}

/** Everything by plain HTTP: after (re)connecting, in case the live snapshot is not ready yet. */
export async function resync() {
  await quietly(loadCatalog);
  const bys = [...new Set(state.areas.map((a) => a.breakdown.by))];
  await Promise.all(bys.map((by) => quietly(() => loadNames(by))));
  await Promise.all([
    quietly(async () => {
      const body = await getJson(`api/v1/kpis?window=${state.window}`);
      applyKpis(body.as_of, body.kpis);
      markLive();
    }),
    quietly(() => fetchUnlessPushed("alerts", "api/v1/alerts", applyAlerts)),
    quietly(() => fetchUnlessPushed("sources", "api/v1/sources", applySources)),
    refreshBreakdowns(),
    refreshTrends(),
  ]);
}
