// The wall's areas, built once from the layout the sources declare (api/v1/wall): each area's
// headline and smaller tiles, its trend, its ranking; and the words put on them, again when the
// language changes. Nothing here fetches; the renderers fill what is built here.

import { $, $$, h, setText } from "./dom.js";
import { kpiLabel, t } from "./i18n.js";

const PER_ROW = 5; // areas side by side before the wall takes a second row of areas

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
