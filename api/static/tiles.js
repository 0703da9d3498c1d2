// KPI tiles: each value with its unit, traffic light by the catalog's thresholds, its total
// ("/ N") and related figure; figures too wide for their tile shrink to fit.

import { renderComparisons } from "./compare.js";
import { $, $$, setText } from "./dom.js";
import { formatCount, formatTime, formatValue, isMissing, t, unitText, withUnit } from "./i18n.js";
import { windowWords } from "./windows.js";

const MIN_FIT = 0.45; // a figure or title shrinks to fit, never below this share of its size
const FIGURE_SHARE = 0.6; // of a headline tile's width, the most its figure takes (wall.css)

/**
 * Traffic light of a value by the catalog's thresholds and `better` direction: ok, warn or bad;
 * "plain" for a value with no thresholds, "none" for no value (null is "no data", never 0).
 */
export function statusOf(entry, value) {
  if (isMissing(value)) return "none";
  const limits = entry?.thresholds;
  if (!limits || entry.better === "neither") return "plain";
  if (entry.better === "higher") return value < limits.bad ? "bad" : value < limits.warn ? "warn" : "ok";
  return value > limits.bad ? "bad" : value > limits.warn ? "warn" : "ok";
}

/** The KPI values on screen: the place's in a place view (place.js), else the province's. */
function shownKpis(state) {
  return state.place?.kpis ?? state.kpis;
}

function renderAside(node, state) {
  const name = node.dataset.aside;
  const value = shownKpis(state)[name];
  node.dataset.raw = isMissing(value) ? "" : String(value);
  setText($(".aside-value", node), withUnit(state.catalog.get(name)?.unit, value));
}

function renderTile(node, entry, value, state) {
  node.dataset.status = statusOf(entry, value);
  node.dataset.raw = isMissing(value) ? "" : String(value);
  setText($(".value", node), formatValue(entry?.unit, value));
  setText($(".unit", node), isMissing(value) ? "" : unitText(entry?.unit));
  const of = $(".of", node);
  if (of) {
    const total = shownKpis(state)[of.dataset.of];
    setText(of, isMissing(total) || isMissing(value) ? "" : `/ ${formatCount(total)}`);
  }
  const when = $(".when", node);
  const period = entry?.kind === "window" ? windowWords(state.window) : t("stateNote");
  if (when) setText(when, isMissing(value) ? t("noData") : period);
  const side = $(".aside", node);
  if (side) renderAside(side, state);
}

/** The width `node` may take: a headline figure beside its words shares the tile with them. */
function roomFor(node) {
  const box = node.parentElement;
  const text = box.previousElementSibling;
  const beside = text?.classList.contains("text") && box.offsetLeft > text.offsetLeft;
  return beside ? (text.clientWidth + box.clientWidth) * FIGURE_SHARE : box.clientWidth;
}

/**
 * Shrink what must stay on one line (tiles' figures, areas' titles) to fit its room: all
 * measured first, then all set, so a screen of tiles is laid out twice, not once per tile.
 * Such a node's width scales with its `--fit`, so the fit that fills the room follows from one
 * measurement, and a value that gets shorter grows back.
 */
export function fitToRoom() {
  const nodes = $$(".tile .figure, .area-head .fit");
  const fits = nodes.map((node) => {
    const room = roomFor(node);
    const current = parseFloat(node.style.getPropertyValue("--fit")) || 1;
    const width = node.getBoundingClientRect().width;
    if (!room || !width) return current;
    return Math.max(MIN_FIT, Math.min(1, (current * room) / width));
  });
  nodes.forEach((node, i) => {
    const fit = fits[i].toFixed(3);
    if (node.style.getPropertyValue("--fit") !== fit) node.style.setProperty("--fit", fit);
  });
}

export function renderKpis(state) {
  for (const node of $$("[data-kpi]")) {
    const name = node.dataset.kpi;
    renderTile(node, state.catalog.get(name), shownKpis(state)[name], state);
  }
  renderComparisons(state);
  fitToRoom();
  const asOf = $("#as-of");
  setText(asOf, state.asOfMs ? t("updatedAt", { t: formatTime(state.asOfMs) }) : "");
}
