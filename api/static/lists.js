// The lists behind a place's numbers (api/v1/places/{dimension}/{code}/lists), shown in a
// place's view under each area's trend: which lists an area shows, and how a row looks, are the
// source's own (its wall.js, areas.js); here they are laid out: a title and the full count, then
// as many rows as fit, none cut. Under the video conferences, for example, the meetings missing
// sites and the sites offline now; under e-office the overdue documents, most overdue first.

import { $, $$, h, setText } from "./dom.js";
import { addWords, dimensionName, formatCount, t } from "./i18n.js";

/** Per area, its lists in order: [{kind, row, names, hideEmpty}] (areas.js registers them). */
const SLOTS = new Map();

addWords("vi", {
  "list.none": "Không có",
  "list.late": "trễ {d}",
  "dur.m": "{n} phút",
  "dur.h": "{n} giờ",
  "dur.d": "{n} ngày",
});
addWords("en", {
  "list.none": "None",
  "list.late": "{d} late",
  "dur.m": "{n} min",
  "dur.h": "{n} h",
  "dur.d": "{n} d",
});

export function registerLists(area, lists) {
  if (lists.length) SLOTS.set(area, lists);
}

/** Whether an area's slot shows lists in a place's view (then not the place's trend). */
export function hasLists(area) {
  return SLOTS.has(area);
}

/** "5 phút", "2 giờ", "3 ngày": a duration in its largest whole unit. */
export function duration(seconds) {
  if (seconds < 3600) return t("dur.m", { n: Math.max(1, Math.floor(seconds / 60)) });
  if (seconds < 86400) return t("dur.h", { n: Math.floor(seconds / 3600) });
  return t("dur.d", { n: Math.floor(seconds / 86400) });
}

/** A row of something past its due time (a document, an application): id, agency, how late. */
export function overdueRow(item) {
  const who = item.agency ? dimensionName("agency", item.agency) : "";
  return h(
    "li",
    { "data-id": item.id },
    h("span", { class: "name", text: `${item.id} · ${who}`, title: `${item.id} · ${who}` }),
    h("span", { class: "age", text: t("list.late", { d: duration(item.overdue_s) }) }),
  );
}

/** A list's box in its area's trend slot, built the first time a place's view shows it. */
function slotOf(area, { kind, hideEmpty }) {
  const figure = $(`section.area[data-area="${area}"] .trend`);
  if (!figure) return null;
  let slot = $(`.place-list[data-list="${kind}"]`, figure);
  if (!slot) {
    slot = h(
      "div",
      { class: "place-list", "data-list": kind, "data-first": hideEmpty },
      h("div", { class: "list-head" }, h("span", { class: "list-title" }), h("span", { class: "list-count" })),
      h("ol", {}),
    );
    figure.append(slot);
  }
  return slot;
}

/** Draw the place's lists (state.place.lists), each trimmed to the rows its box holds. */
export function renderLists(state) {
  const lists = state.place?.lists;
  for (const [area, kinds] of SLOTS) {
    for (const { kind, row, hideEmpty } of kinds) {
      const slot = slotOf(area, { kind, hideEmpty });
      if (!slot) continue;
      setText($(".list-title", slot), t(`list.${kind}`));
      const items = lists?.[kind] ?? [];
      const total = lists?.[`${kind}_total`] ?? items.length;
      slot.hidden = Boolean(hideEmpty && !total);
      const list = $("ol", slot);
      if (!lists) {
        setText($(".list-count", slot), "");
        list.replaceChildren();
        continue;
      }
      setText($(".list-count", slot), formatCount(total));
      const nowMs = Date.parse(lists.as_of);
      const rows = items.length ? items.map((item) => row(item, nowMs)) : [h("li", { class: "none", text: t("list.none") })];
      list.replaceChildren(...rows);
    }
  }
  // measured after all are drawn: a list's room depends on its neighbours' (one may be hidden)
  for (const list of $$(".place-list ol")) {
    for (const li of $$("li", list)) if (li.offsetTop + li.offsetHeight > list.clientHeight + 1) li.remove();
  }
}

/** Fetch a place's lists and the names they show; `getJson` and `loadNames` are the wall's. */
export async function loadLists(place, getJson, loadNames) {
  const path = `api/v1/places/${encodeURIComponent(place.dim)}/${encodeURIComponent(place.code)}/lists`;
  const names = new Set([...SLOTS.values()].flat().flatMap((l) => l.names ?? []));
  const [body] = await Promise.all([getJson(path), ...[...names].map((n) => loadNames(n).catch(() => {}))]);
  return body;
}
