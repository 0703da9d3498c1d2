// The e-office system's part of the wall beyond its tiles (those are data: `WallArea` in
// __init__.py). In a place's view: the documents received and not processed whose due time
// has passed, most overdue first (api/v1/places/{dimension}/{code}/lists, `overdue_documents`,
// the rule of eoffice.overdue). Loaded by the wall (api/static/areas.js), which hands it `kit`.

export default function eofficeArea(kit) {
  kit.addWords("vi", { "list.overdue_documents": "Văn bản quá hạn" });
  kit.addWords("en", { "list.overdue_documents": "Overdue documents" });
  return { lists: [{ kind: "overdue_documents", row: kit.overdueRow, names: ["agency"] }] };
}
