// The operations wall: live KPIs of every source the pipeline has (video conferences, e-office,
// the public-service portal, markets, community teams, ...), for a large screen seen from
// across the room. The areas are data: one per source, as api/v1/wall lists them, each with
// its own script for what it shows beyond its tiles (sources/<name>/wall.js, areas.js).
//
// Data, by paths relative to the page: api/v1/wall (the areas and their words, one per source),
// api/v1/catalog (labels, units, thresholds), api/v1/dimensions/{name} (the names behind the
// codes, once per dimension), the WebSocket api/v1/live (a full snapshot, then changes, alerts
// and sources), and, on a timer, api/v1/kpis/{name}?by= (rankings), api/v1/series/{name}
// (trends) and readyz (whether the numbers can be trusted: broker, database, their age).
// Plain ES modules, no build step, no dependencies. One job per module:
//   state.js    what the wall knows          api.js      asking the API
//   data.js     answers by HTTP, applied     live.js     the live channel and readyz
//   layout.js   the areas, built once        tiles.js    KPI tiles and fitting figures
//   rankings.js worst-first rankings         trends.js   trend lines (province and place)
//   alerts.js   the alert bar                health.js   connection, clock, sources
//   render.js   drawing it all again         areas.js    the sources' own scripts
//   place.js, lists.js, route.js, tour.js, windows.js, compare.js, map.js: views and their parts

import { getJson, quietly } from "./api.js";
import { loadSourceAreas } from "./areas.js";
import { initComparisons } from "./compare.js";
import { applyAlerts, fetchUnlessPushed, loadNames, pollWindowed, refreshBreakdowns, resync } from "./data.js";
import { $ } from "./dom.js";
import { addWords, currentLang, setLang } from "./i18n.js";
import { buildAreas, renderWords } from "./layout.js";
import { QUIET_PROBE_MS, READY_EVERY_MS, backoffMs, checkReady, connect, probe } from "./live.js";
import { initMap } from "./map.js";
import { initPlaces } from "./place.js";
import { everySecond, onResize, renderAll } from "./render.js";
import { actOn, session, signIn } from "./session.js";
import { state } from "./state.js";
import { TREND_EVERY_MS, refreshTrends } from "./trends.js";
import { POLL_EVERY_MS, initWindows, polled } from "./windows.js";

const BREAKDOWN_EVERY_MS = 20_000;

function whenLive(job) {
  return () => {
    if (state.conn === "live") job();
  };
}

function toggleLanguage() {
  setLang(currentLang() === "vi" ? "en" : "vi");
  renderAll();
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
      await new Promise((done) => setTimeout(done, backoffMs(attempt)));
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
  state.areas = await loadLayout();
  const scripts = loadSourceAreas(state.areas); // a place's lists need them, the first figures not
  buildAreas($("#areas"), state.areas);
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
  initPlaces({ state, getJson, loadNames, scripts, areas: () => state.areas, window: () => state.window });
  setInterval(() => polled(state) && whenLive(pollWindowed)(), POLL_EVERY_MS);
  setInterval(everySecond, 1000);
  setInterval(whenLive(refreshBreakdowns), BREAKDOWN_EVERY_MS);
  setInterval(whenLive(refreshTrends), TREND_EVERY_MS);
  setInterval(probe, QUIET_PROBE_MS / 2);
  setInterval(checkReady, READY_EVERY_MS);
  connect();
}

start();
