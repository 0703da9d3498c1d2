// Drawing everything again: after the catalog comes, the language changes or the window is
// resized; and the few things that tick every second (the clock, ages, the connection's state).

import { renderAlerts } from "./alerts.js";
import { renderAges, renderClock, renderConnection, renderSources } from "./health.js";
import { renderWords } from "./layout.js";
import { judgeConn } from "./live.js";
import { renderPlaceBar } from "./place.js";
import { renderBreakdown } from "./rankings.js";
import { renderUser } from "./session.js";
import { state } from "./state.js";
import { fitToRoom, renderKpis } from "./tiles.js";
import { renderTrendArea } from "./trends.js";
import { renderWindowPicker } from "./windows.js";

/** Rankings and trends, whose rows and pixels follow their boxes' sizes. */
export function renderSized() {
  for (const area of state.areas) {
    renderBreakdown(state, area);
    renderTrendArea(state, area);
  }
}

export function renderAll() {
  renderWords(state);
  renderUser();
  renderKpis(state);
  renderAlerts(state);
  renderSources(state);
  renderSized();
  renderClock(state);
  renderConnection(state);
  renderPlaceBar();
  renderWindowPicker(state);
}

export function everySecond() {
  renderClock(state);
  renderAges(state);
  judgeConn();
  renderConnection(state);
}

let resizeTimer = 0;
/** After a resize has settled: figures re-fitted, rankings and trends re-drawn to their boxes. */
export function onResize() {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    fitToRoom();
    renderSized();
  }, 150);
}
