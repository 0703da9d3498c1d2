// The public-service portal's part of the wall beyond its tiles (those are data: `WallArea` in
// __init__.py). In a place's view: the applications submitted and not resolved whose due time
// has passed, most overdue first (api/v1/places/{dimension}/{code}/lists,
// `overdue_applications`, the rule of portal.overdue). Loaded by the wall
// (api/static/areas.js), which hands it `kit`.

export default function portalArea(kit) {
  kit.addWords("vi", { "list.overdue_applications": "Hồ sơ quá hạn" });
  kit.addWords("en", { "list.overdue_applications": "Overdue applications" });
  return { lists: [{ kind: "overdue_applications", row: kit.overdueRow, names: ["agency"] }] };
}
