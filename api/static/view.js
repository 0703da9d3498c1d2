// What the wall draws: each source's area (tiles, trend, ranking), the alert bar, the sources.
// Every function here reads the state and writes the DOM; none fetches anything.

import { renderTrend } from "./chart.js";
import { renderComparisons } from "./compare.js";
import { PLACE_KINDS } from "./route.js";
import { windowWords } from "./windows.js";
import { session } from "./session.js";
import { $, $$, h, remPx, setText } from "./dom.js";
import {
  dimensionName,
  formatAge,
  formatCount,
  formatDate,
  formatTime,
  formatValue,
  isMissing,
  kpiLabel,
  pickLanguage,
  plural,
  t,
  unitText,
  withUnit,
} from "./i18n.js";

const ROW_REM = 2.25; // one ranking row: its height plus its margin in wall.css
const MAX_ROWS = 6; // a ranking shows the few worst, not a table
const PER_ROW = 5; // areas side by side before the wall takes a second row of areas
const MIN_FIT = 0.45; // a figure or title shrinks to fit, never below this share of its size
const FIGURE_SHARE = 0.6; // of a headline tile's width, the most its figure takes (wall.css)
const MIN_NAME_FIT = 0.62; // a long place name in a ranking shrinks to fit, never below this
const TRUST_AGE_MS = 10_000; // numbers older than this are not called live
const READY_STALE_MS = 6_000; // a readyz answer older than this means the server is not answering

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

// -- layout, built once --------------------------------------------------------------------------

function aside(name) {
  return h(
    "span",
    { class: "aside", "data-aside": name },
    h("span", { class: "aside-label", "data-label": name }),
    h("span", { class: "aside-value" }),
  );
}

function tile(name, size, area = {}) {
  const ofName = area.of?.[name];
  const asideName = area.aside?.[name];
  const label = h("div", { class: "label", "data-label": name });
  const reading = h(
    "div",
    { class: "reading" },
    h(
      "span",
      { class: "figure" },
      h("span", { class: "value", text: "—" }),
      h("span", { class: "unit" }),
      ofName && h("span", { class: "of", "data-of": ofName }),
    ),
  );
  const attrs = { class: `tile ${size}`, "data-kpi": name, "data-status": "none", "data-raw": "" };
  const age = h("span", { class: "num-age" }); // shown while the numbers cannot be trusted
  if (size !== "big") return h("div", attrs, label, reading, age);
  // A headline tile is one line: words left, figure right; a related figure below, full width.
  return h(
    "div",
    attrs,
    h("div", { class: "text" }, label, h("div", { class: "note" }, h("span", { class: "when" }), age)),
    reading,
    asideName && aside(asideName),
  );
}

function areaSection(area) {
  const { kpi, by } = area.breakdown;
  return h(
    "section",
    { class: "area", "data-area": area.id },
    h(
      "header",
      { class: "area-head" },
      h("h2", {}, h("span", { class: "fit", "data-i18n": `area.${area.id}` })),
      h("span", { class: "area-alerts", hidden: true }),
    ),
    h("div", { class: "headline" }, area.headline.map((n) => tile(n, "big", area))),
    h("div", { class: "secondary" }, area.secondary.map((n) => tile(n, "small"))),
    h(
      "figure",
      { class: "trend", "data-trend": area.id },
      h(
        "figcaption",
        {},
        h("span", { class: "legend" }),
        h("span", { class: "caption", "data-i18n": "trendTitle" }),
      ),
      h("div", { class: "plot" }),
    ),
    h(
      "div",
      { class: "breakdown", "data-breakdown": kpi, "data-by": by },
      h(
        "header",
        {},
        h(
          "span",
          { class: "words" },
          h("span", { class: "what", "data-label": kpi }),
          " ",
          h("span", { class: "by", "data-i18n": `by.${by}` }),
        ),
        h("span", { class: "order", "data-i18n": "worstFirst" }),
        h("span", { class: "num-age" }),
      ),
      h("ol", {}),
    ),
  );
}

/**
 * Lay the areas out by their number, whatever they are: up to PER_ROW side by side (each a tall
 * column, its parts aligned with its neighbours'), more in rows of nearly equal counts, each area
 * then compact (wall.css). Rows of different counts share one grid whose column count both
 * divide: 4 + 3 areas are 12 columns, spans of 3 and 4.
 */
export function buildAreas(root, areas) {
  const n = Math.max(1, areas.length);
  const rows = Math.ceil(n / PER_ROW);
  const wide = Math.ceil(n / rows); // the fullest rows' count; the others have one fewer
  const narrowRows = wide * rows - n;
  const columns = narrowRows ? wide * (wide - 1) : wide;
  root.dataset.rows = String(rows);
  root.style.setProperty("--columns", String(columns));
  root.style.setProperty("--rows", String(rows));
  const sections = areas.map(areaSection);
  sections.forEach((section, i) => {
    const row = rowOf(i, rows, wide, narrowRows);
    const span = !narrowRows ? 1 : row < rows - narrowRows ? wide - 1 : wide;
    section.style.gridColumn = `span ${span}`;
  });
  root.replaceChildren(...sections);
}

/** The row of area `i`: full rows first, then the rows with one area fewer. */
function rowOf(i, rows, wide, narrowRows) {
  const fullRows = rows - narrowRows;
  const inFull = fullRows * wide;
  return i < inFull ? Math.floor(i / wide) : fullRows + Math.floor((i - inFull) / (wide - 1));
}

// -- words (re-applied when the language changes) ------------------------------------------------

export function renderWords(state) {
  document.title = `${t("title")} — IOC`;
  for (const node of $$("[data-i18n]")) setText(node, t(node.dataset.i18n));
  for (const node of $$("[data-label]")) setText(node, kpiLabel(state.catalog.get(node.dataset.label)));
  setText($("#lang"), t("switchTo"));
}

// -- KPI tiles -----------------------------------------------------------------------------------

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

// -- alerts --------------------------------------------------------------------------------------

function alertText(alert) {
  const summary = pickLanguage(alert.annotations?.summary);
  if (summary) return summary;
  const where = alert.by_value ? ` · ${alert.by ? dimensionName(alert.by, alert.by_value) : alert.by_value}` : "";
  return `${alert.rule}${where} = ${formatCount(alert.value)}`;
}

function alertChip(alert) {
  const since = Date.parse(alert.firing_since ?? alert.active_since);
  return h(
    "div",
    {
      class: "alert",
      "data-rule": alert.rule,
      "data-fingerprint": alert.fingerprint,
      "data-severity": alert.severity,
      "data-silenced": alert.silenced ? "true" : "false",
    },
    h("span", { class: "sev", text: t(`sev.${alert.severity}`) }),
    h("span", { class: "summary", text: alertText(alert) }),
    h("span", { class: "since", text: t("since", { t: formatTime(since, false) }) }),
    alert.silenced && h("span", { class: "silenced", text: t("silenced") }),
    alert.acknowledgement &&
      h("span", {
        class: "acked",
        title: alert.acknowledgement.comment,
        text: t("acked", { name: alert.acknowledgement.acked_by }),
      }),
    alert.escalated_at && h("span", { class: "escalated", text: t("escalated") }),
    ...alertActions(alert),
  );
}

/** Buttons for a user who may act (an operator or admin, within their scope). */
function alertActions(alert) {
  if (!session.me?.may_act) return [];
  const button = (action) =>
    h("button", { type: "button", class: "act", "data-action": action, text: t(`btn.${action}`) });
  return [button(alert.acknowledgement ? "unack" : "ack"), !alert.silenced && button("silence")];
}

const MAX_ALERT_CHIPS = 3;

export function renderAlerts(state) {
  const bar = $("#alerts");
  const alerts = state.alerts;
  bar.dataset.count = String(alerts.length);
  if (!alerts.length) {
    bar.replaceChildren(h("div", { class: "all-clear" }, h("span", { class: "tick" }), t("noAlerts")));
  } else {
    const shown = alerts.slice(0, MAX_ALERT_CHIPS).map(alertChip);
    const more = alerts.length - shown.length;
    const count = h("div", { class: "alert-count", text: plural("alertCount", alerts.length) });
    const rest = more > 0 ? [h("div", { class: "more", text: t("moreAlerts", { n: more }) })] : [];
    bar.replaceChildren(count, ...shown, ...rest);
  }
  for (const section of $$("section.area")) {
    const n = alerts.filter((a) => a.kpi.startsWith(`${section.dataset.area}.`)).length;
    const badge = $(".area-alerts", section);
    badge.hidden = n === 0;
    setText(badge, String(n));
  }
  fitToRoom(); // a badge takes room from its area's title
}

// -- sources -------------------------------------------------------------------------------------

function sourceCard(topic) {
  return h(
    "div",
    { class: "source", "data-topic": topic, "data-stale": "false" },
    h(
      "div",
      { class: "head" },
      h("span", { class: "name", "data-i18n": `src.${topic}` }),
      h("span", { class: "age" }),
    ),
    h(
      "div",
      { class: "meta" },
      h("span", { class: "lag" }),
      h("span", { class: "counts" }),
      h("span", { class: "stale-flag", "data-i18n": "stale" }),
      h("span", { class: "quiet-flag", "data-i18n": "quiet" }),
    ),
  );
}

export function renderSources(state) {
  const root = $("#sources");
  for (const src of state.sources) {
    let card = $(`[data-topic="${CSS.escape(src.topic)}"]`, root);
    if (!card) {
      card = sourceCard(src.topic);
      root.append(card);
      setText($(".name", card), t(`src.${src.topic}`));
      setText($(".stale-flag", card), t("stale"));
      setText($(".quiet-flag", card), t("quiet"));
    }
    card.dataset.stale = src.stale ? "true" : "false";
    card.dataset.active = src.active === false ? "false" : "true"; // outside its hours: quiet, not stale
    const lag = src.consumer_lag;
    card.dataset.lag = isMissing(lag) ? "" : String(lag);
    setText($(".lag", card), isMissing(lag) ? t("lagUnknown") : t("lag", { n: formatCount(lag) }));
    const rejected = src.rejected_5m ? ` · ${t("rejected5m", { n: formatCount(src.rejected_5m) })}` : "";
    setText($(".counts", card), t("accepted5m", { n: formatCount(src.accepted_5m) }) + rejected);
  }
  renderAges(state);
}

/** Data age ticks every second between messages: newest event time against the server's clock. */
export function renderAges(state) {
  const now = Date.now() + state.skewMs;
  for (const src of state.sources) {
    const card = $(`#sources [data-topic="${CSS.escape(src.topic)}"]`);
    if (!card) continue;
    const newest = src.newest_event_at ? Date.parse(src.newest_event_at) : null;
    setText($(".age", card), newest === null ? t("neverSeen") : formatAge(now - newest));
  }
}

// -- rankings ------------------------------------------------------------------------------------

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
  const fits = Math.max(1, Math.min(MAX_ROWS, Math.floor(list.clientHeight / (ROW_REM * remPx()))));
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

// -- trends --------------------------------------------------------------------------------------

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

// -- header: clock and connection ----------------------------------------------------------------

export function renderClock(state) {
  const now = Date.now() + state.skewMs;
  setText($("#clock-time"), formatTime(now));
  setText($("#clock-date"), formatDate(now));
}

/** Why the numbers cannot be trusted though the channel is open, or null: readyz (database,
 * broker, the server itself) first, then the numbers' age. */
export function trustProblem(state) {
  const ready = state.ready;
  if (ready && Date.now() - ready.atMs > READY_STALE_MS) return "api";
  if (ready && !ready.ok) {
    if (ready.database && ready.database !== "ok") return "database";
    if (ready.broker && ready.broker !== "ok") return "broker";
    return "api";
  }
  return numbersAgeMs(state) > TRUST_AGE_MS ? "old" : null;
}

/** How old the numbers shown are, by the server's clock. */
function numbersAgeMs(state) {
  return state.confirmedMs ? Date.now() + state.skewMs - state.confirmedMs : Infinity;
}

/** While the numbers cannot be trusted, each tile and ranking says how old its numbers are. */
function renderNumberAges(state, trusted) {
  const now = Date.now() + state.skewMs;
  const tileAge = !trusted && state.confirmedMs ? formatAge(now - state.confirmedMs) : "";
  for (const node of $$(".tile .num-age")) setText(node, tileAge);
  for (const section of $$("section.area")) {
    const ranked = state.rankedMs[section.dataset.area];
    setText($(".breakdown .num-age", section), !trusted && ranked ? formatAge(now - ranked) : "");
  }
}

export function renderConnection(state) {
  const trusted = state.conn === "live";
  document.body.dataset.conn = state.conn;
  document.body.dataset.trust = trusted ? "true" : "false";
  renderNumberAges(state, trusted);
  const detail = $("#conn-detail");
  const figures = state.confirmedMs ? t("figuresFrom", { age: formatAge(numbersAgeMs(state)) }) : "";
  if (state.conn === "degraded") {
    setText($("#conn-text"), t(`why.${trustProblem(state) ?? "old"}`));
    setText(detail, figures);
    return;
  }
  setText($("#conn-text"), t(`conn.${state.conn}`));
  if (state.conn !== "reconnecting") {
    setText(detail, "");
    return;
  }
  const seconds = Math.ceil((state.retryAtMs - Date.now()) / 1000);
  const retry = seconds > 0 ? t("retryIn", { n: seconds }) : t("retryNow");
  const asOf = state.asOfMs ? ` · ${t("shownAsOf", { t: formatTime(state.asOfMs) })}` : "";
  setText(detail, retry + asOf);
}
