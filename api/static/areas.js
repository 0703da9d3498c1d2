// The sources' own scripts: what an area shows beyond its tiles, written in the source's folder
// (sources/<name>/wall.js, served as api/v1/wall/<name>/wall.js), so adding a source is its
// folder and its registration, never an edit here. A source's script imports nothing: its
// default export is called with the kit below and answers what the area adds:
//   { lists: [{ kind, row(item, nowMs), names: [dimension, ...], hideEmpty }] }
// `kind` names a list of api/v1/places/{dimension}/{code}/lists (and its `${kind}_total`), shown
// in the place's view with the title `list.${kind}` (the script adds its words), one row per item
// drawn by `row`; `names` are the dimensions whose names its rows show; a `hideEmpty` list takes
// no room while it is empty. A source without a script (`script` null in the layout) shows its
// tiles alone.

import { h } from "./dom.js";
import { addWords, dimensionName, formatAge, formatCount, t } from "./i18n.js";
import { duration, overdueRow, registerLists } from "./lists.js";

/** What a source's script may use: the page's DOM helper, words, formats and shared rows. */
const KIT = Object.freeze({ h, t, addWords, dimensionName, formatAge, formatCount, duration, overdueRow });

async function loadOne(area) {
  if (!area.script) return; // the layout says which sources ship a script
  const url = new URL(area.script, document.baseURI);
  let module;
  try {
    module = await import(url.href);
  } catch (error) {
    console.debug(`wall: no script of ${area.id}`, error.message ?? error);
    return;
  }
  const added = module.default?.(KIT) ?? {};
  registerLists(area.id, added.lists ?? []);
}

/** Load every area's script (in parallel; one that fails leaves its area plain). */
export function loadSourceAreas(areas) {
  return Promise.all(areas.map(loadOne));
}
