// The operations wall: live KPIs of every source the pipeline has (video conferences, e-office,
// the public-service portal, markets, community teams, ...), for a large screen seen from
// across the room. The areas are data: one per source, as api/v1/wall lists them.
//
// Data, by paths relative to the page: api/v1/wall (the areas and their words, one per source),
// api/v1/catalog (labels, units, thresholds), api/v1/dimensions/{name} (the names behind the
// codes, once per dimension), the WebSocket api/v1/live (a full snapshot, then changes, alerts
// and sources), and, on a timer, api/v1/kpis/{name}?by= (rankings), api/v1/series/{name}
// (trends) and readyz (whether the numbers can be trusted: broker, database, their age).
// Plain ES modules, no build step, no dependencies.

import { initComparisons } from "./compare.js";
import { $ } from "./dom.js";
import { addNames, addWords, currentLang, setLang } from "./i18n.js";
import { initMap } from "./map.js";
import { initPlaces, renderPlaceBar } from "./place.js";
import { actOn, apiFetch, liveHello, renderUser, session, signIn } from "./session.js";
import {
  buildAreas,
  trustProblem,
  fitToRoom,
  renderAges,
  renderAlerts,
  renderBreakdown,
  renderClock,
  renderConnection,
  renderKpis,
  renderSources,
  renderTrendArea,
  renderWords,
} from "./view.js";
import { POLL_EVERY_MS, initWindows, liveKpis, polled, renderWindowPicker } from "./windows.js";

const BREAKDOWN_EVERY_MS = 20_000;
const TREND_EVERY_MS = 30_000;
const TREND_SPAN_MS = 6 * 3_600_000;
const TREND_STEP = "5m";
const TREND_STEP_MS = 5 * 60_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8_000;
const FETCH_TIMEOUT_MS = 8_000;
const QUIET_PROBE_MS = 20_000; // a live channel this quiet gets its server asked whether it is there
const READY_EVERY_MS = 2_000; // readyz is asked this often: a database that stops shows within 5 s
const READY_TIMEOUT_MS = 2_500;

/**
 * What each area shows, from api/v1/wall (each source declares its own): headline tiles (`of`: a
 * total shown as "/ N" after the value; `aside`: a related KPI named in the tile's note), smaller
 * tiles, a trend and a worst-first ranking.
 */
let AREAS = [];

const state = {
  conn: "connecting", // connecting | live | reconnecting (the channel) | degraded (open, numbers not trusted)
  ready: null, // the last readyz answer: {ok, broker, database, atMs}; null before the first
  confirmedMs: 0, // server time up to which the numbers shown are known to be the server's
  rankedMs: {}, // per area: as_of of its ranking
  named: new Set(), // dimensions whose names were fetched (or are being)
  retryAtMs: 0,
  attempts: 0,
  socket: null,
  lastMessageMs: 0,
  skewMs: 0, // server clock minus ours, measured with each /api/v1/alerts answer
  asOfMs: 0, // as_of of the KPI values shown
  pushed: { alerts: 0, sources: 0 }, // lists received on the live channel
  catalog: new Map(),
  kpis: {},
  alerts: [],
  sources: [],
  breakdowns: {},
  trends: {},
  place: null, // the place shown (place.js), null for the province
  window: "1h", // of the windowed KPIs, from the URL (windows.js)
};

// -- fetching ------------------------------------------------------------------------------------

/** GET a path relative to the page (so the wall also works behind a proxy that adds a prefix). */
async function getJson(path) {
  const response = await apiFetch(path, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** Run `job`; a failure leaves the last values on screen (the connection state says why). */
async function quietly(job) {
  try {
    await job();
  } catch (error) {
    console.debug("wall:", error.message ?? error);
  }
}

async function loadCatalog() {
  const body = await getJson("api/v1/catalog");
  state.catalog = new Map(body.kpis.map((k) => [k.name, k]));
  renderAll();
}

/** KPI answers carry the as_of they were computed for: an older one never overwrites a newer. */
function applyKpis(asOf, kpis) {
  const ms = Date.parse(asOf);
  if (Number.isNaN(ms) || ms < state.asOfMs) return;
  state.asOfMs = ms;
  state.confirmedMs = Math.max(state.confirmedMs, ms);
  Object.assign(state.kpis, kpis);
  renderKpis(state);
}

function applyAlerts(alerts) {
  state.alerts = alerts;
  renderAlerts(state);
  for (const alert of alerts) if (alert.by) quietly(() => loadNames(alert.by));
}

/** The registry's names of a dimension's values, fetched once: rankings and alerts show them. */
async function loadNames(dimension) {
  if (state.named.has(dimension)) return;
  state.named.add(dimension);
  try {
    const body = await getJson(`api/v1/dimensions/${encodeURIComponent(dimension)}`);
    addNames(dimension, Object.fromEntries(body.values.map((v) => [v.code, [v.name_vi, v.name_en]])));
  } catch (error) {
    state.named.delete(dimension); // asked again with the next alert or ranking
    throw error;
  }
  for (const area of AREAS) if (area.breakdown.by === dimension) renderBreakdown(state, area);
  renderAlerts(state);
}

function applySources(sources) {
  state.sources = sources;
  renderSources(state);
}

/** Alerts and sources by HTTP, unless the live channel pushed a newer list meanwhile. */
async function fetchUnlessPushed(kind, path, apply) {
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

/** In a window the live channel does not push, its values by HTTP. */
function pollWindowed() {
  return quietly(async () => {
    const body = await getJson(`api/v1/kpis?window=${state.window}`);
    applyKpis(body.as_of, body.kpis);
  });
}

function refreshBreakdowns() {
  return Promise.all(AREAS.map((area) => quietly(() => refreshBreakdown(area))));
}

function refreshTrends() {
  return Promise.all(AREAS.map((area) => quietly(() => refreshTrend(area))));
}

/** Everything by plain HTTP: after (re)connecting, in case the live snapshot is not ready yet. */
async function resync() {
  await quietly(loadCatalog);
  await Promise.all([...new Set(AREAS.map((a) => a.breakdown.by))].map((by) => quietly(() => loadNames(by))));
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

// -- can the numbers be trusted ------------------------------------------------------------------

/**
 * readyz says whether the broker and the database answer, and when the server's numbers were
 * computed; with the channel open and nothing pushed since, the numbers shown are those. The
 * state shown is then "live", or "degraded" with why (renderConnection), greying the numbers.
 */
async function checkReady() {
  let ready;
  try {
    const response = await fetch("readyz", { signal: AbortSignal.timeout(READY_TIMEOUT_MS), cache: "no-store" });
    const body = await response.json();
    ready = { ok: response.ok, broker: body.broker, database: body.database, atMs: Date.now() };
    const computed = Date.parse(body.snapshot_as_of ?? "");
    if (response.ok && state.socket?.readyState === WebSocket.OPEN && !Number.isNaN(computed)) {
      state.confirmedMs = Math.max(state.confirmedMs, computed);
    }
  } catch {
    ready = { ok: false, broker: null, database: null, atMs: Date.now() };
  }
  state.ready = ready;
  judgeConn();
}

/** live or degraded, while the channel is open: by readyz and the numbers' age. */
function judgeConn() {
  if (state.conn !== "live" && state.conn !== "degraded") return;
  const next = trustProblem(state) ? "degraded" : "live";
  if (next !== state.conn) setConn(next);
  else renderConnection(state);
}

// -- the live channel ----------------------------------------------------------------------------

function liveUrl() {
  const url = new URL("api/v1/live", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function setConn(conn) {
  state.conn = conn;
  renderConnection(state);
}

function markLive() {
  if (state.socket?.readyState !== WebSocket.OPEN) return;
  if (state.conn !== "live" && state.conn !== "degraded") state.conn = "live";
  judgeConn();
}

function onMessage(message) {
  switch (message.type) {
    case "snapshot":
      if (polled(state)) {
        Object.assign(state.kpis, liveKpis(state, message)); // "now" KPIs; the others are asked for
        renderKpis(state);
      } else applyKpis(message.as_of, message.kpis);
      if (message.full) {
        onMessage({ type: "alert", alerts: message.alerts ?? [] });
        onMessage({ type: "sources", sources: message.sources ?? [] });
      }
      markLive();
      break;
    case "alert":
      state.pushed.alerts += 1;
      applyAlerts(message.alerts);
      break;
    case "sources":
      state.pushed.sources += 1;
      applySources(message.sources);
      break;
    default:
      console.debug("wall: unknown live message", message.type);
  }
}

function retryDelay() {
  const base = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** state.attempts);
  return base * (0.8 + Math.random() * 0.4); // jitter: a room of walls does not reconnect in step
}

function scheduleReconnect() {
  const delay = retryDelay();
  state.attempts += 1;
  state.retryAtMs = Date.now() + delay;
  setConn("reconnecting");
  setTimeout(connect, delay);
}

/**
 * The channel only speaks when something changes, and a connection that died without a close
 * (a cable, a NAT timeout) can look open for minutes: when it has been quiet, ask the server.
 */
async function probe() {
  const socket = state.socket;
  if (state.conn === "connecting" || state.conn === "reconnecting") return;
  if (Date.now() - state.lastMessageMs < QUIET_PROBE_MS) return;
  try {
    await getJson("healthz");
    state.lastMessageMs = Date.now();
  } catch {
    if (state.socket !== socket) return;
    state.socket = null;
    socket.close();
    scheduleReconnect();
  }
}

function connect() {
  const socket = new WebSocket(liveUrl());
  state.socket = socket;
  socket.addEventListener("open", () => {
    const hello = liveHello(); // the token, in the first message: never in the URL
    if (hello) socket.send(hello);
    state.attempts = 0;
    state.asOfMs = 0; // a restarted server's first answers count, whatever its clock says
    state.lastMessageMs = Date.now();
    resync();
    checkReady();
  });
  socket.addEventListener("message", (event) => {
    state.lastMessageMs = Date.now();
    try {
      onMessage(JSON.parse(event.data));
    } catch (error) {
      console.debug("wall: bad live message", error);
    }
  });
  socket.addEventListener("close", () => {
    if (state.socket === socket) scheduleReconnect();
  });
}

// -- timers, language, start ---------------------------------------------------------------------

function renderAll() {
  renderWords(state);
  renderUser();
  renderKpis(state);
  renderAlerts(state);
  renderSources(state);
  for (const area of AREAS) {
    renderBreakdown(state, area);
    renderTrendArea(state, area);
  }
  renderClock(state);
  renderConnection(state);
  renderPlaceBar();
  renderWindowPicker(state);
}

function everySecond() {
  renderClock(state);
  renderAges(state);
  judgeConn();
  renderConnection(state);
}

function whenLive(job) {
  return () => {
    if (state.conn === "live") job();
  };
}

function toggleLanguage() {
  setLang(currentLang() === "vi" ? "en" : "vi");
  renderAll();
}

let resizeTimer = 0;
function onResize() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    fitToRoom();
    for (const area of AREAS) {
      renderBreakdown(state, area);
      renderTrendArea(state, area);
    }
  }, 150);
}

/** The layout the sources declare (api/v1/wall), asked for until the API answers. */
async function loadLayout() {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const body = await getJson("api/v1/wall");
      for (const [lang, suffix] of [["vi", "label_vi"], ["en", "label_en"]]) {
        const words = {};
        for (const area of body.areas) words[`area.${area.id}`] = area[suffix];
        for (const topic of body.topics) words[`src.${topic.topic}`] = topic[suffix];
        for (const dim of body.dimensions) words[`by.${dim.name}`] = dim[suffix];
        addWords(lang, words);
      }
      return body.areas;
    } catch (error) {
      console.debug("wall: layout", error.message ?? error);
      await new Promise((done) => setTimeout(done, Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt)));
    }
  }
}

/** An operator's click on an alert's button: the action box, then the answer by the live channel. */
async function onAlertClick(event) {
  const button = event.target.closest("button[data-action]");
  const chip = button?.closest("[data-fingerprint]");
  const alert = chip && state.alerts.find((a) => a.fingerprint === chip.dataset.fingerprint);
  if (!alert) return;
  if (await actOn(alert, button.dataset.action)) {
    await quietly(() => fetchUnlessPushed("alerts", "api/v1/alerts", applyAlerts));
  }
}

async function start() {
  setLang(currentLang());
  renderWords(state);
  session.onSignedOut = () => location.reload(); // the token was refused: ask again, from the start
  await signIn();
  AREAS = await loadLayout();
  buildAreas($("#areas"), AREAS);
  $("#lang").addEventListener("click", toggleLanguage);
  $("#alerts").addEventListener("click", onAlertClick);
  window.addEventListener("resize", onResize);
  initWindows(state, () => {
    state.asOfMs = 0; // another window's answers replace these, whatever their as_of
    quietly(resync);
  });
  initComparisons({ state, getJson });
  initMap({ state, getJson });
  renderAll();
  initPlaces({ state, getJson, loadNames, areas: () => AREAS, window: () => state.window });
  setInterval(() => polled(state) && whenLive(pollWindowed)(), POLL_EVERY_MS);
  setInterval(everySecond, 1000);
  setInterval(whenLive(refreshBreakdowns), BREAKDOWN_EVERY_MS);
  setInterval(whenLive(refreshTrends), TREND_EVERY_MS);
  setInterval(probe, QUIET_PROBE_MS / 2);
  setInterval(checkReady, READY_EVERY_MS);
  connect();
}

start();
