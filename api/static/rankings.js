// Rankings: each area's KPI by its breakdown (a place's: one level down), worst first, as many
// rows as fit; a row that names a place opens it (place.js).

import { $, $$, h, remPx, setText } from "./dom.js";
import { dimensionName, isMissing, t, withUnit } from "./i18n.js";
import { PLACE_KINDS } from "./route.js";
import { statusOf } from "./tiles.js";

const ROW_REM = 2.25; // one ranking row: its height plus its margin in wall.css
const COMPACT_ROW_REM = 1.6; // the same, compact (wall.css: ol[data-compact])
const MARGIN_REM = 0.2; // of a row, its margin at least: the last row needs none below it
const MIN_ROWS = 3; // a ranking shows at least this many, compact if it must
const MAX_ROWS = 6; // a ranking shows the few worst, not a table
const MIN_NAME_FIT = 0.62; // a long place name in a ranking shrinks to fit, never below this

function worstFirst(entry, values) {
  const direction = entry?.better === "higher" ? 1 : -1;
  return Object.entries(values).sort(([ka, a], [kb, b]) => {
    if (isMissing(a) !== isMissing(b)) return isMissing(a) ? 1 : -1;
    if (isMissing(a)) return ka.localeCompare(kb);
    return (a - b) * direction || ka.localeCompare(kb);
  });
}

function rankRow(entry, by, code, value, max) {
  const share = isMissing(value) ? 0 : entry.unit === "percent" ? value / 100 : value / (max || 1);
  const width = `width:${(Math.min(1, share) * 100).toFixed(1)}%`;
  return h(
    "li",
    {
      "data-dim": code,
      "data-raw": isMissing(value) ? "" : String(value),
      "data-status": statusOf(entry, value),
      "data-by": by,
      tabindex: PLACE_KINDS.includes(by) ? "0" : null,
    },
    h("span", { class: "name", text: dimensionName(by, code), title: dimensionName(by, code) }),
    h("span", { class: "bar" }, h("span", { class: "fill", style: width })),
    h("span", { class: "value", text: withUnit(entry.unit, value) }),
  );
}

export function renderBreakdown(state, area) {
  const ranked = state.place ? state.place.rankings[area.id] : null;
  const { kpi, by } = ranked ?? area.breakdown;
  const values = state.place ? (ranked?.values ?? {}) : state.breakdowns[area.id];
  const entry = state.catalog.get(kpi);
  const list = $(`section.area[data-area="${area.id}"] .breakdown ol`);
  if (!values || !entry || !list) return;
  const byLabel = $(`section.area[data-area="${area.id}"] .breakdown .by`);
  if (byLabel && byLabel.dataset.i18n !== `by.${by}`) {
    byLabel.dataset.i18n = `by.${by}`;
    setText(byLabel, t(`by.${by}`));
  }
  const rowsIn = (rowRem) => Math.floor((list.clientHeight + MARGIN_REM * remPx()) / (rowRem * remPx()));
  // compact rows when full-height ones would show fewer than MIN_ROWS (a comparison line above
  // each headline tile costs a 1920x1080 wall a row): the list's height itself never changes
  const compact = rowsIn(ROW_REM) < MIN_ROWS && Object.keys(values).length >= MIN_ROWS;
  list.toggleAttribute("data-compact", compact);
  const fits = Math.max(1, Math.min(MAX_ROWS, rowsIn(compact ? COMPACT_ROW_REM : ROW_REM)));
  const numbers = Object.values(values).filter((v) => !isMissing(v));
  const max = Math.max(0, ...numbers);
  const rows = worstFirst(entry, values).slice(0, fits);
  const focused = list.contains(document.activeElement) ? document.activeElement.dataset.dim : null;
  list.replaceChildren(...rows.map(([code, value]) => rankRow(entry, by, code, value, max)));
  if (focused) $$("li", list).find((row) => row.dataset.dim === focused)?.focus(); // kept across refreshes
  fitNames(list);
}

/** Long registry names ("Sở Tài nguyên và Môi trường") shrink to their row rather than lose
 * their end: all measured, then all set. */
function fitNames(list) {
  const names = $$(".name", list);
  const fits = names.map((n) => (n.scrollWidth > n.clientWidth ? n.clientWidth / n.scrollWidth : 1));
  names.forEach((n, i) => {
    if (fits[i] < 1) n.style.fontSize = `${Math.max(MIN_NAME_FIT, fits[i] * 0.98).toFixed(3)}em`;
  });
}
