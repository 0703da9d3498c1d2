// The video-conference network's part of the wall beyond its tiles (those are data: `WallArea`
// in __init__.py). In a place's view (api/v1/places/{dimension}/{code}/lists): the meetings in
// progress whose planned sites in the place are not all online, naming the missing ones (the
// rule of vc.meeting_endpoints_offline; shown only while there are such meetings), then the
// sites offline now, longest silent first (vc.endpoints_online). Loaded by the wall
// (api/static/areas.js), which hands it `kit`.

export default function vcArea(kit) {
  const { h, t } = kit;
  kit.addWords("vi", {
    "list.offline_sites": "Điểm cầu mất kết nối",
    "list.neverSeen": "chưa từng kết nối",
    "list.meetings_missing_endpoints": "Cuộc họp thiếu điểm cầu",
    "list.missing": "thiếu {n}/{of}",
  });
  kit.addWords("en", {
    "list.offline_sites": "Sites offline",
    "list.neverSeen": "never seen",
    "list.meetings_missing_endpoints": "Meetings missing sites",
    "list.missing": "{n} of {of} missing",
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

  /** A meeting, on one line: the missing sites' names first (what an operator chases), then
   *  the meeting's title; at the right how many of its planned sites here are missing. */
  function meetingRow(item) {
    const title = item.title || item.meeting_id;
    const missing = item.endpoints_offline.map((e) => kit.dimensionName("endpoint", e.endpoint_id)).join(", ");
    const count = t("list.missing", { n: item.endpoints_offline.length, of: item.planned_endpoints });
    return h(
      "li",
      { "data-id": item.meeting_id, class: "meeting" },
      h("span", { class: "name", title: `${title}: ${missing}` }, h("b", { class: "missing", text: missing }), ` · ${title}`),
      h("span", { class: "age", text: count }),
    );
  }

  return {
    lists: [
      { kind: "meetings_missing_endpoints", row: meetingRow, names: ["endpoint"], hideEmpty: true },
      { kind: "offline_sites", row: siteRow, names: ["endpoint"] },
    ],
  };
}
