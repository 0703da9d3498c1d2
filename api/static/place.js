// A place's view: click (or Enter on) a ranking row and the wall shows that district, commune,
// agency or market: its KPIs in the same tiles, each area's ranking one level down inside it
// (api/v1/places/{dimension}/{code}), its lists or its own trend (lists.js, trends.js), and a
// way back (the "back" button, Escape, Backspace). Each view has its own URL (route.js), so a
// reload or a colleague's link opens the same view. Arrow keys move through the ranking rows, for
// a keyboard or a wall's remote control.

import { $, $$, h, setText } from "./dom.js";
import { addWords, currentLang, t } from "./i18n.js";
import { loadLists, renderLists } from "./lists.js";
import { go, parseRoute, watchRoute } from "./route.js";
import { startTour, stopTour, touring, tourNote } from "./tour.js";
import { renderBreakdown } from "./rankings.js";
import { renderKpis } from "./tiles.js";
import { placeTrendsDue, refreshPlaceTrends, renderTrendArea } from "./trends.js";

const PLACE_EVERY_MS = 5_000; // a place's numbers are asked for this often while it is shown

addWords("vi", {
  "place.back": "Quay lại",
  "place.province": "Toàn tỉnh",
  "place.loading": "Đang tải…",
  "place.refused": "Mã truy cập này không được xem nơi này",
  "place.missing": "Không có nơi này",
  "place.failed": "Chưa tải được số liệu của nơi này",
});
addWords("en", {
  "place.back": "Back",
  "place.province": "Whole province",
  "place.loading": "Loading…",
  "place.refused": "This token may not see this place",
  "place.missing": "No such place",
  "place.failed": "This place's numbers could not be loaded yet",
});

/** What wall.js shares: its state, fetch, names loader, the sources' scripts (a promise: the
 *  lists wait for them), areas and window. */
let wall = null;

function named(item) {
  return currentLang() === "en" ? item.name_en : item.name_vi;
}

/** The place bar in the header: a back button naming where it leads, and the place's name. */
export function renderPlaceBar() {
  const bar = $("#place");
  const place = wall?.state.place;
  if (!bar) return;
  bar.hidden = !place;
  if (!place) return;
  const up = place.path.at(-1);
  setText($("#back .to", bar), up ? named(up) : t("place.province"));
  setText($("#back .word", bar), t("place.back"));
  setText($("#place-name", bar), place.name_vi ? named(place) : place.code);
  const problem = place.error ? t(`place.${place.error}`) : place.loading ? t("place.loading") : tourNote();
  setText($("#place-note", bar), problem);
  bar.dataset.problem = place.error ?? "";
}

function render() {
  renderKpis(wall.state);
  for (const area of wall.areas()) {
    renderBreakdown(wall.state, area);
    renderTrendArea(wall.state, area);
  }
  if (wall.state.place) renderLists(wall.state);
  renderPlaceBar();
}

function problemOf(error) {
  const status = Number(/HTTP (\d+)/.exec(error?.message ?? "")?.[1]);
  return status === 403 ? "refused" : status === 404 ? "missing" : "failed";
}

/** Ask for the place shown; an answer for a place no longer shown is dropped. Its numbers are
 *  drawn as soon as they come, then again with the names and lists that follow them. */
async function refresh() {
  const place = wall.state.place;
  if (!place) return;
  const listed = wall.scripts.then(() => loadLists(place, wall.getJson, wall.loadNames)).catch(() => null);
  let names = Promise.resolve();
  try {
    const path = `api/v1/places/${encodeURIComponent(place.dim)}/${encodeURIComponent(place.code)}`;
    const body = await wall.getJson(`${path}?window=${encodeURIComponent(wall.window())}`);
    if (wall.state.place !== place) return;
    Object.assign(place, body, { loading: false, error: null, asOfMs: Date.parse(body.as_of) });
    const bys = [...new Set(Object.values(body.rankings).map((r) => r.by))];
    names = Promise.all(bys.map((by) => wall.loadNames(by).catch(() => {})));
  } catch (error) {
    if (wall.state.place !== place) return;
    Object.assign(place, { loading: false, error: problemOf(error) });
  }
  render();
  if (placeTrendsDue(place)) wall.scripts.then(() => refreshPlaceTrends(place)); // after its numbers
  const [lists] = await Promise.all([listed, names]);
  if (wall.state.place !== place) return;
  if (lists) place.lists = lists;
  render();
}

/** Show the view a route names: the province, a place, or the tour of the districts. */
function show(route) {
  if (!route.tour) stopTour();
  else if (touring()) return refresh(); // the window changed
  else return startTour(wall.getJson, (dim, code) => showPlace({ dim, code })).catch(() => showPlace(route));
  return showPlace(route);
}

/** Show the province (no place) or a place, blank until it answers. */
function showPlace(route) {
  const { state } = wall;
  if (!route.dim) {
    state.place = null;
  } else if (state.place?.dim !== route.dim || state.place?.code !== route.code) {
    const blank = { kpis: {}, rankings: {}, path: [], name_vi: "", name_en: "", loading: true, error: null };
    state.place = { ...blank, dim: route.dim, code: route.code };
  }
  document.body.dataset.view = state.place ? "place" : "province";
  render();
  return refresh();
}

/** One level up: the place above (as the API lists it), else the province. */
export function back() {
  const up = wall.state.place?.path.at(-1);
  if (up) go(up.dimension, up.code);
  else go();
}

function open(row) {
  if (row?.dataset.by && row.dataset.dim) go(row.dataset.by, row.dataset.dim);
}

/** Arrow keys through the ranking rows: up/down in a list (then the next), left/right across. */
function moveFocus(key) {
  const lists = $$("#areas .breakdown ol")
    .map((ol) => $$("li[tabindex]", ol))
    .filter((rows) => rows.length);
  if (!lists.length) return;
  let [li, ri] = [-1, -1];
  lists.forEach((rows, i) => {
    const j = rows.indexOf(document.activeElement);
    if (j >= 0) [li, ri] = [i, j];
  });
  const n = lists.length;
  if (li < 0) [li, ri] = [0, 0];
  else if (key === "ArrowDown") [li, ri] = ri + 1 < lists[li].length ? [li, ri + 1] : [(li + 1) % n, 0];
  else if (key === "ArrowUp") [li, ri] = ri > 0 ? [li, ri - 1] : [(li - 1 + n) % n, -1];
  else if (key === "ArrowRight") li = (li + 1) % n;
  else li = (li - 1 + n) % n;
  const rows = lists[li];
  rows[ri < 0 ? rows.length - 1 : Math.min(ri, rows.length - 1)].focus();
}

function onKey(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if ($("dialog[open]") || event.target.closest?.("input, select, textarea")) return;
  const key = event.key;
  if (key === "Escape" || key === "Backspace") {
    if (!wall.state.place) return;
    event.preventDefault();
    back();
  } else if (key.startsWith("Arrow")) {
    event.preventDefault();
    moveFocus(key);
  } else if (key === "Enter" && event.target.matches?.("#areas li[tabindex]")) {
    event.preventDefault();
    open(event.target);
  }
}

/** Start following the URL: `shared` is {state, getJson, loadNames, scripts, areas(), window()}. */
export function initPlaces(shared) {
  wall = shared;
  const bar = h(
    "nav",
    { id: "place", class: "place", hidden: true },
    h(
      "button",
      { id: "back", class: "back", type: "button" },
      h("span", { class: "arrow", "aria-hidden": "true", text: "←" }),
      h("span", { class: "word" }),
      h("span", { class: "to" }),
    ),
    h("span", { id: "place-name", class: "place-name" }),
    h("span", { id: "place-note", class: "place-note", role: "status" }),
  );
  $(".brand").append(bar);
  $("#back").addEventListener("click", back);
  $("#areas").addEventListener("click", (event) => open(event.target.closest("li[tabindex]")));
  document.addEventListener("keydown", onKey);
  watchRoute(show);
  setInterval(() => wall.state.place && refresh(), PLACE_EVERY_MS);
  return show(parseRoute());
}

/** The place shown again, now (after a reconnection, or a new window). */
export function refreshPlace() {
  return refresh();
}
