// Each headline tile against the same time yesterday and last week (api/v1/comparisons, over the
// same window and the same place) and against the province's target where one is configured
// (the catalog's `target`, IOC_KPI_TARGETS): an arrow, the signed difference and its words,
// green when the change is good for that KPI, red when bad. No data then is a dash, never 0.

import { $, $$, h, setText } from "./dom.js";
import { addWords, formatCount, formatValue, isMissing, t, unitText, withUnit } from "./i18n.js";

const COMPARE_EVERY_MS = 60_000; // past values barely move; the differences follow every push
const PAST = ["yesterday", "last_week"];
const MIN_FIT = 0.6; // a line of changes too wide for its tile shrinks, never below this share

addWords("vi", {
  "cmp.yesterday": "vs hôm qua",
  "cmp.last_week": "vs tuần trước",
  "cmp.target": "mục tiêu",
  "cmp.then.yesterday": "Cùng giờ hôm qua: {v}",
  "cmp.then.last_week": "Cùng giờ tuần trước: {v}",
  "cmp.met": "đạt mục tiêu",
  "cmp.missed": "chưa đạt mục tiêu",
});
addWords("en", {
  "cmp.yesterday": "vs yesterday",
  "cmp.last_week": "vs last week",
  "cmp.target": "target",
  "cmp.then.yesterday": "Same time yesterday: {v}",
  "cmp.then.last_week": "Same time last week: {v}",
  "cmp.met": "target met",
  "cmp.missed": "target not met",
});

/** The change from `then` to `now`; null when either is no data. */
export function change(now, then) {
  return isMissing(now) || isMissing(then) ? null : now - then;
}

/** Whether a change (or a gap to a target) is good or bad for a KPI that is better `higher`
 *  or `lower`; "flat" for none, "plain" for a KPI neither way. */
export function judge(better, delta) {
  if (delta === null) return "none";
  if (delta === 0) return "flat";
  if (better !== "higher" && better !== "lower") return "plain";
  return delta > 0 === (better === "higher") ? "good" : "bad";
}

/** "▲ +2,1", "▼ −3", "= 0": the change as the tile's own number format writes it. */
export function signed(unit, delta) {
  if (delta === null) return "—";
  const text = formatValue(unit, Math.abs(delta));
  if (text === formatValue(unit, 0)) return `= ${text}`; // too small to show: no arrow
  return delta > 0 ? `▲ +${text}` : `▼ −${text}`;
}

let wall = null; // {state, getJson}
const shown = { key: null, body: null, atMs: 0 }; // the comparisons drawn, the view they are for
let asking = null; // the key being asked for

function viewKey(state) {
  const place = state.place;
  return place ? `${place.dim}/${place.code}?${state.window}` : `?${state.window}`;
}

async function load(state, key) {
  asking = key;
  const query = new URLSearchParams({ window: state.window });
  if (state.place) {
    query.set("dimension", state.place.dim);
    query.set("code", state.place.code);
  }
  let body = null;
  try {
    body = await wall.getJson(`api/v1/comparisons?${query}`);
  } catch (error) {
    console.debug("wall: comparisons", error.message ?? error);
  }
  if (asking === key) asking = null;
  if (viewKey(state) !== key) return;
  Object.assign(shown, { key, body, atMs: Date.now() });
  renderComparisons(state);
}

function item(kind) {
  return h(
    "span",
    { class: "cmp", "data-cmp": kind },
    h("b", { class: "cmp-delta" }),
    h("span", { class: "cmp-words" }),
  );
}

/** A tile's line of changes (one line, whose room is kept before the past values come, so the
 *  rankings and lists fitted below stay fitted), and its target, in its note in place of the
 *  period (the header says the window). */
function line(node) {
  let row = $(".compare", node);
  if (!row) {
    row = h("div", { class: "compare" }, h("span", { class: "cmp-past" }, ...PAST.map(item)));
    node.append(row);
    const target = item("target");
    target.hidden = true;
    const note = $(".note", node);
    if (note) note.insertBefore(target, $(".num-age", note));
    else row.append(target);
  }
  return row;
}

/** A target as an operator writes it: "95 %", "97,5 %". */
function targetText(unit, target) {
  if (!Number.isInteger(target)) return withUnit(unit, target);
  return `${formatCount(target)} ${unitText(unit)}`.trim();
}

function renderPast(item, entry, value, body, kind) {
  const then = body?.[kind]?.kpis?.[entry?.name];
  const delta = body ? change(value, then) : null;
  item.dataset.raw = delta === null ? "" : String(delta);
  item.dataset.judge = judge(entry?.better, delta);
  item.title = t(`cmp.then.${kind}`, { v: withUnit(entry?.unit, then) });
  setText($(".cmp-delta", item), signed(entry?.unit, delta));
  setText($(".cmp-words", item), t(`cmp.${kind}`));
}

function renderTarget(item, entry, value) {
  const target = entry?.target;
  item.hidden = isMissing(target);
  item.dataset.raw = isMissing(target) ? "" : String(target);
  const gap = change(value, target);
  const verdict = judge(entry?.better, gap);
  item.dataset.judge = verdict === "flat" ? "good" : verdict; // on the target is meeting it
  item.title = gap === null ? "" : t(item.dataset.judge === "good" ? "cmp.met" : "cmp.missed");
  setText($(".cmp-delta", item), t("cmp.target"));
  setText($(".cmp-words", item), isMissing(target) ? "" : targetText(entry?.unit, target));
}

/** Draw each headline tile's comparison line from what is on screen; ask for the past values
 *  of the view shown (the province, or the place) when those drawn are for another. */
export function renderComparisons(state) {
  if (!wall) return;
  const key = viewKey(state);
  const due = shown.key !== key || Date.now() - shown.atMs > COMPARE_EVERY_MS;
  // not before the wall is live with its catalog: the numbers of now come first
  const ready = state.conn === "live" && state.catalog.size > 0;
  if (due && ready && asking !== key) load(state, key);
  const body = shown.key === key ? shown.body : null;
  const values = state.place?.kpis ?? state.kpis;
  for (const node of $$(".tile.big[data-kpi]")) {
    const entry = state.catalog.get(node.dataset.kpi);
    const row = line(node);
    row.toggleAttribute("data-waiting", !body); // room kept, nothing shown, until they come
    const [yesterday, lastWeek] = $$(".cmp", row);
    const target = $('[data-cmp="target"]', node);
    renderPast(yesterday, entry, values[node.dataset.kpi], body, "yesterday");
    renderPast(lastWeek, entry, values[node.dataset.kpi], body, "last_week");
    renderTarget(target, entry, values[node.dataset.kpi]);
  }
  fitLines();
}

/** Shrink each line of changes to its tile (all measured, then all set), and let it grow back
 *  when its figures get shorter: its width scales with its `--fit`. */
function fitLines() {
  const groups = $$(".tile.big .cmp-past");
  const fits = groups.map((group) => {
    const current = parseFloat(group.style.getPropertyValue("--fit")) || 1;
    const width = group.getBoundingClientRect().width;
    const room = group.parentElement.clientWidth;
    return width && room ? Math.max(MIN_FIT, Math.min(1, (current * room) / width)) : current;
  });
  groups.forEach((group, i) => {
    const fit = fits[i].toFixed(3);
    if (group.style.getPropertyValue("--fit") !== fit) group.style.setProperty("--fit", fit);
  });
}

/** Start: `shared` is {state, getJson}; the past values are asked for again every minute (the
 *  drawn ones stay until the new ones come). */
export function initComparisons(shared) {
  wall = shared;
  setInterval(() => renderComparisons(wall.state), COMPARE_EVERY_MS / 4);
}
