// Which view the wall shows, from the URL's hash, so a view can be sent to a colleague and a
// reload restores it: "#/" (or nothing) is the province, "#/district/YEN_SON" a place's view
// (district, commune, agency or market), "#/tour" the districts in turn; "?w=24h" after either chooses the window of windowed
// KPIs (1h when absent). Hash routing: the server serves one page for every view.

/** Places a view can show (a ranking row of another dimension, a site or a level, opens none). */
export const PLACE_KINDS = ["district", "commune", "agency", "market"];
export const WINDOWS = ["5m", "15m", "1h", "6h", "24h", "7d"]; // contract/KPIS.md, "Windows"
export const DEFAULT_WINDOW = "1h";

/** The view a hash names: {dim, code, window, tour}; dim and code are null for the province
 *  and for the tour ("#/tour", tour.js). */
export function parseRoute(hash = location.hash) {
  const [path, query = ""] = hash.replace(/^#\/?/, "").split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const asked = new URLSearchParams(query).get("w");
  const window = WINDOWS.includes(asked) ? asked : DEFAULT_WINDOW;
  if (parts.length === 2 && PLACE_KINDS.includes(parts[0])) {
    return { dim: parts[0], code: parts[1], window, tour: false };
  }
  return { dim: null, code: null, window, tour: parts[0] === "tour" };
}

/** The hash of a view. */
export function routeHash(dim = null, code = null, window = DEFAULT_WINDOW) {
  const path = dim ? `#/${dim}/${encodeURIComponent(code)}` : "#/";
  return window === DEFAULT_WINDOW ? path : `${path}?w=${window}`;
}

/** Show a place (null: the province), in the window shown now unless another is given: a new
 *  history entry, so the browser's own back button also works. */
export function go(dim = null, code = null, window = parseRoute().window) {
  const hash = routeHash(dim, code, window);
  if (location.hash !== hash) location.hash = hash;
}

/** Call `onRoute(route)` whenever the hash changes. */
export function watchRoute(onRoute) {
  window.addEventListener("hashchange", () => onRoute(parseRoute()));
}
