// The video-conference network's part of the wall beyond its tiles (those are data: `WallArea`
// in __init__.py). In a place's view (api/v1/places/{dimension}/{code}/lists): the sites
// offline now, longest silent first (the rule of vc.endpoints_online). Loaded by the wall
// (api/static/areas.js), which hands it `kit`.

export default function vcArea(kit) {
  const { h, t } = kit;
  kit.addWords("vi", {
    "list.offline_sites": "Điểm cầu mất kết nối",
    "list.neverSeen": "chưa từng kết nối",
  });
  kit.addWords("en", {
    "list.offline_sites": "Sites offline",
    "list.neverSeen": "never seen",
  });

  /** A site: its name, and how long ago it last spoke (or that it never did). */
  function siteRow(item, nowMs) {
    const seen = item.last_seen ? kit.formatAge(nowMs - Date.parse(item.last_seen)) : t("list.neverSeen");
    const name = kit.dimensionName("endpoint", item.endpoint_id);
    return h(
      "li",
      { "data-id": item.endpoint_id },
      h("span", { class: "name", text: name, title: name }),
      h("span", { class: "age", text: seen }),
    );
  }

  return { lists: [{ kind: "offline_sites", row: siteRow, names: ["endpoint"] }] };
}
