// The province as a schematic tile map (api/v1/map): one tile per district, or, in a district's or
// a commune's view (and for a token scoped to a district or a commune), one per commune of that
// district, coloured by its worst KPI against the wall's thresholds, with its video-conference
// sites offline. No package here ships the province's boundaries, so this is no drawing of them:
// tiles follow the registry's order, row by row, in as many columns as suit the screen. A click
// (or Enter) on a tile opens that place as a ranking row does (route.js); arrow keys move between
// tiles. The header's "Bản đồ" button shows the map in the areas' place, or the areas again;
// the choice lasts for the browser session.

import { $, $$, h, setText } from "./dom.js";
import { addWords, currentLang, kpiLabel, plural, t, withUnit } from "./i18n.js";
import { go } from "./route.js";

const MAP_EVERY_MS = 10_000; // the map's numbers are asked for this often while it is shown
const TICK_MS = 500; // how soon the map follows a new view, window or language
const MODE_KEY = "ioc.wall.map";
const TILE_ASPECT = 1.6; // a tile's width over its height, about: the grid's columns follow
const MIN_NAME_FIT = 0.5; // a long name shrinks to its tile, never below this share of its size

addWords("vi", {
  "map.show": "Bản đồ",
  "map.hide": "Chỉ số",
  "map.province": "Bản đồ các huyện, thành phố",
  "map.district": "Các xã của {name}",
  "map.legend": "Màu theo chỉ số kém nhất so với ngưỡng · sơ đồ, không theo ranh giới",
  "map.ok": "Đạt ngưỡng",
  "map.warn": "Cần chú ý",
  "map.bad": "Dưới ngưỡng",
  "map.none": "Không có dữ liệu",
  "map.offline.other": "{n} điểm cầu mất kết nối",
  "map.allOnline": "Mọi điểm cầu đều trực tuyến",
  "map.noSites": "Không có điểm cầu",
  "map.more": "+{n} chỉ số khác",
  "map.empty": "Không có nơi nào để hiển thị",
  "map.failed": "Chưa tải được bản đồ",
});
addWords("en", {
  "map.show": "Map",
  "map.hide": "Figures",
  "map.province": "Districts of the province",
  "map.district": "Communes of {name}",
  "map.legend": "Coloured by the worst KPI against its threshold · schematic, not boundaries",
  "map.ok": "Within thresholds",
  "map.warn": "Needs attention",
  "map.bad": "Past threshold",
  "map.none": "No data",
  "map.offline.one": "{n} site offline",
  "map.offline.other": "{n} sites offline",
  "map.allOnline": "All sites online",
  "map.noSites": "No sites",
  "map.more": "+{n} more",
  "map.empty": "Nothing to show here",
  "map.failed": "The map could not be loaded yet",
});

/** Columns and rows of a grid of `n` tiles that fills a `width` × `height` box best: tiles near
 *  TILE_ASPECT in shape, and few empty cells in the last row. */
export function gridOf(n, width, height) {
  if (n <= 0) return { columns: 1, rows: 1 };
  const ratio = width > 0 && height > 0 ? width / height : 16 / 9;
  let best = { columns: n, rows: 1, score: Infinity };
  for (let columns = 1; columns <= n; columns += 1) {
    const rows = Math.ceil(n / columns);
    const shape = Math.abs(Math.log((ratio * rows) / columns / TILE_ASPECT));
    const score = shape + (columns * rows - n) / n;
    if (score < best.score) best = { columns, rows, score };
  }
  return { columns: best.columns, rows: best.rows };
}

let wall = null; // {state, getJson}
const map = { on: false, key: null, body: null, atMs: 0, asking: null, drawn: "" };

/** The district whose communes the view shows (a district's, or a place's within one), or null
 *  for the province's districts. */
function districtOf(place) {
  if (!place) return null;
  if (place.dim === "district") return place.code;
  return place.path?.find((p) => p.dimension === "district")?.code ?? null;
}

function viewKey(state) {
  const district = districtOf(state.place);
  return `${district ?? ""}?${state.window}`;
}

async function load(state, key) {
  map.asking = key;
  const query = new URLSearchParams({ window: state.window });
  const district = districtOf(state.place);
  if (district) query.set("district", district);
  let body = null;
  try {
    body = await wall.getJson(`api/v1/map?${query}`);
  } catch (error) {
    console.debug("wall: map", error.message ?? error);
  }
  if (map.asking === key) map.asking = null;
  if (viewKey(state) !== key) return;
  Object.assign(map, { key, body, atMs: Date.now(), drawn: "" });
  draw(state);
}

function named(item) {
  return currentLang() === "en" ? item.name_en : item.name_vi;
}

function offlineText(tile) {
  if (tile.sites_offline === null) return t("map.none");
  if (!tile.sites_known) return t("map.noSites");
  return tile.sites_offline ? plural("map.offline", tile.sites_offline) : t("map.allOnline");
}

function problemText(state, problem) {
  const entry = state.catalog.get(problem.kpi);
  return `${kpiLabel(entry)}: ${withUnit(entry?.unit, problem.value)}`;
}

/** A commune's name without its district's, on that district's map: "Xã số 01", not "Xã số 01,
 *  Huyện Hàm Yên". */
function shortName(tile, district) {
  const name = named(tile);
  const suffix = district ? `, ${named(district)}` : "";
  return suffix && name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
}

function tileNode(state, tile, here, district) {
  const worst = tile.problems[0];
  const entry = worst && state.catalog.get(worst.kpi);
  const more = tile.problems.length - 1;
  return h(
    "button",
    {
      type: "button",
      class: "map-tile",
      "data-code": tile.code,
      "data-status": tile.status,
      "data-offline": tile.sites_offline ?? "",
      "data-here": here ? "true" : null,
      title: tile.problems.map((p) => problemText(state, p)).join("\n"),
    },
    h("span", { class: "map-name", text: shortName(tile, district), title: named(tile) }),
    h(
      "span",
      { class: "map-worst" },
      worst
        ? [
            h("span", { class: "map-kpi", text: kpiLabel(entry) }),
            h("b", { class: "map-value", text: withUnit(entry?.unit, worst.value) }),
          ]
        : h("span", { class: "map-kpi", text: t(`map.${tile.status}`) }),
    ),
    more > 0 && h("span", { class: "map-more", text: t("map.more", { n: more }) }),
    h("span", { class: "map-offline", text: offlineText(tile) }),
  );
}

/** The district whose communes the answer holds, with its names, or null for the province's
 *  districts (a token scoped to a district or a commune gets its own district's). */
function districtNamed(state, body) {
  if (!body?.district) return null;
  if (body.district_name_vi) return { name_vi: body.district_name_vi, name_en: body.district_name_en };
  const place = state.place;
  const found = place?.code === body.district ? place : place?.path?.find((p) => p.code === body.district);
  return found?.name_vi ? found : { name_vi: body.district, name_en: body.district };
}

/** Draw the map from its last answer (when anything it shows changed). */
function draw(state) {
  const section = $("#map");
  const body = map.body;
  const size = `${section.clientWidth}x${section.clientHeight}`;
  const drawn = `${map.atMs}|${currentLang()}|${state.place?.code ?? ""}|${state.catalog.size}|${size}`;
  if (drawn === map.drawn) return;
  map.drawn = drawn;
  const district = districtNamed(state, body);
  const title = district ? t("map.district", { name: named(district) }) : t("map.province");
  setText($(".map-title", section), title);
  setText($(".map-legend", section), t("map.legend"));
  const grid = $(".map-grid", section);
  const tiles = body?.tiles ?? [];
  const { columns, rows } = gridOf(tiles.length, grid.clientWidth, grid.clientHeight);
  grid.style.setProperty("--columns", String(columns));
  grid.style.setProperty("--rows", String(rows));
  grid.dataset.columns = String(columns);
  const focused = grid.contains(document.activeElement) ? document.activeElement.dataset.code : null;
  const nodes = tiles.map((tile) => tileNode(state, tile, tile.code === state.place?.code, district));
  const note = !body ? t("map.failed") : tiles.length ? "" : t("map.empty");
  grid.replaceChildren(...nodes, ...(note ? [h("p", { class: "map-note", text: note })] : []));
  if (focused) $$(".map-tile", grid).find((n) => n.dataset.code === focused)?.focus();
  fitNames(grid);
}

/** Long names ("Xã số 01, Huyện Hàm Yên") shrink to their tile: all measured, then all set. */
function fitNames(grid) {
  const names = $$(".map-name", grid);
  const fits = names.map((n) => (n.scrollWidth > n.clientWidth ? n.clientWidth / n.scrollWidth : 1));
  names.forEach((n, i) => {
    if (fits[i] < 1) n.style.fontSize = `${(1.6 * Math.max(MIN_NAME_FIT, fits[i] * 0.97)).toFixed(3)}em`;
  });
}

function setMode(on) {
  map.on = on;
  document.body.dataset.map = on ? "on" : "off";
  $("#map").hidden = !on;
  $("#map-toggle").setAttribute("aria-pressed", on ? "true" : "false");
  try {
    sessionStorage.setItem(MODE_KEY, on ? "on" : "off");
  } catch {
    // storage refused: the choice lasts until the page reloads
  }
  map.drawn = "";
  tick();
}

/** Follow the view, window and language; ask again when the answer is a while old. */
function tick() {
  const state = wall.state;
  setText($("#map-toggle"), t(map.on ? "map.hide" : "map.show"));
  if (!map.on) return;
  const key = viewKey(state);
  const due = map.key !== key || Date.now() - map.atMs > MAP_EVERY_MS;
  if (due && map.asking !== key) load(state, key);
  if (map.key === key) draw(state);
}

function open(tile) {
  if (!tile || !map.body) return;
  go(map.body.level, tile.dataset.code);
}

/** Arrow keys from tile to tile (before the rankings' keys, which the map hides). */
function onKey(event) {
  if (!event.key.startsWith("Arrow") || !event.target.matches?.(".map-tile")) return;
  event.preventDefault();
  event.stopPropagation();
  const tiles = $$("#map .map-tile");
  const columns = Number($("#map .map-grid").dataset.columns) || 1;
  const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns }[event.key];
  const next = tiles.indexOf(event.target) + step;
  tiles[Math.max(0, Math.min(tiles.length - 1, next))]?.focus();
}

/** Build the map (hidden) and its button; `shared` is {state, getJson}. */
export function initMap(shared) {
  wall = shared;
  const section = h(
    "section",
    { id: "map", class: "map", hidden: true },
    h("header", { class: "map-head" }, h("h2", { class: "map-title" }), h("span", { class: "map-legend" })),
    h("div", { class: "map-grid" }),
  );
  $("#areas").after(section);
  const button = h("button", { id: "map-toggle", class: "lang map-toggle", type: "button" });
  $("#lang").before(button);
  button.addEventListener("click", () => setMode(!map.on));
  section.addEventListener("click", (event) => open(event.target.closest(".map-tile")));
  section.addEventListener("keydown", onKey);
  let saved = "off";
  try {
    saved = sessionStorage.getItem(MODE_KEY) ?? "off";
  } catch {
    // no storage: the map starts hidden
  }
  setMode(saved === "on");
  setInterval(tick, TICK_MS);
}
