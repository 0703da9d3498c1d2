// The lists behind a place's numbers (api/v1/places/{dimension}/{code}/lists), shown in a
// place's view where the province's trends were: under the video conferences the sites offline
// now (longest silent first), under e-office the overdue documents, under the portal the overdue
// applications (most overdue first), each with its full count. As many rows as fit, none cut.

import { $, $$, h, setText } from "./dom.js";
import { addWords, dimensionName, formatAge, formatCount, t } from "./i18n.js";

/** Which area's slot shows which list (areas without one keep their slot empty). */
const SLOTS = { vc: "offline_sites", eoffice: "overdue_documents", portal: "overdue_applications" };

addWords("vi", {
  "list.offline_sites": "Điểm cầu mất kết nối",
  "list.overdue_documents": "Văn bản quá hạn",
  "list.overdue_applications": "Hồ sơ quá hạn",
  "list.none": "Không có",
  "list.neverSeen": "chưa từng kết nối",
  "list.late": "trễ {d}",
  "dur.m": "{n} phút",
  "dur.h": "{n} giờ",
  "dur.d": "{n} ngày",
});
addWords("en", {
  "list.offline_sites": "Sites offline",
  "list.overdue_documents": "Overdue documents",
  "list.overdue_applications": "Overdue applications",
  "list.none": "None",
  "list.neverSeen": "never seen",
  "list.late": "{d} late",
  "dur.m": "{n} min",
  "dur.h": "{n} h",
  "dur.d": "{n} d",
});

function duration(seconds) {
  if (seconds < 3600) return t("dur.m", { n: Math.max(1, Math.floor(seconds / 60)) });
  if (seconds < 86400) return t("dur.h", { n: Math.floor(seconds / 3600) });
  return t("dur.d", { n: Math.floor(seconds / 86400) });
}

function row(kind, item, nowMs) {
  if (kind === "offline_sites") {
    const seen = item.last_seen ? formatAge(nowMs - Date.parse(item.last_seen)) : t("list.neverSeen");
    const name = dimensionName("endpoint", item.endpoint_id);
    return h("li", { "data-id": item.endpoint_id }, h("span", { class: "name", text: name, title: name }), h("span", { class: "age", text: seen }));
  }
  const who = item.agency ? dimensionName("agency", item.agency) : "";
  return h(
    "li",
    { "data-id": item.id },
    h("span", { class: "name", text: `${item.id} · ${who}`, title: `${item.id} · ${who}` }),
    h("span", { class: "age", text: t("list.late", { d: duration(item.overdue_s) }) }),
  );
}

/** The list slots, built once per area the first time a place's view is shown. */
function slotOf(area) {
  const figure = $(`section.area[data-area="${area}"] .trend`);
  if (!figure) return null;
  let slot = $(".place-list", figure);
  if (!slot) {
    slot = h(
      "div",
      { class: "place-list", "data-list": SLOTS[area] },
      h("div", { class: "list-head" }, h("span", { class: "list-title" }), h("span", { class: "list-count" })),
      h("ol", {}),
    );
    figure.append(slot);
  }
  return slot;
}

/** Draw the place's lists (state.place.lists), each trimmed to the rows its slot holds. */
export function renderLists(state) {
  const lists = state.place?.lists;
  for (const [area, kind] of Object.entries(SLOTS)) {
    const slot = slotOf(area);
    if (!slot) continue;
    setText($(".list-title", slot), t(`list.${kind}`));
    if (!lists) {
      setText($(".list-count", slot), "");
      $("ol", slot).replaceChildren();
      continue;
    }
    const items = lists[kind] ?? [];
    setText($(".list-count", slot), formatCount(lists[`${kind}_total`] ?? items.length));
    const list = $("ol", slot);
    const nowMs = Date.parse(lists.as_of);
    list.replaceChildren(...(items.length ? items.map((item) => row(kind, item, nowMs)) : [h("li", { class: "none", text: t("list.none") })]));
    for (const li of $$("li", list)) if (li.offsetTop + li.offsetHeight > list.clientHeight + 1) li.remove();
  }
}

/** Fetch a place's lists and the names they show; `getJson` and `loadNames` are the wall's. */
export async function loadLists(place, getJson, loadNames) {
  const path = `api/v1/places/${encodeURIComponent(place.dim)}/${encodeURIComponent(place.code)}/lists`;
  const [body] = await Promise.all([
    getJson(path),
    loadNames("endpoint").catch(() => {}),
    loadNames("agency").catch(() => {}),
  ]);
  return body;
}
