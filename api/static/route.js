// Which view the wall shows, from the URL's hash, so a view can be sent to a colleague and a
// reload restores it: "#/" (or nothing) is the province, "#/district/YEN_SON" a place's view
// (district, commune, agency or market). Hash routing: the server serves one page for all.

import { PLACE_KINDS } from "./view.js";

/** The view a hash names: {dim: null} for the province, {dim, code} for a place. */
export function parseRoute(hash = location.hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  if (parts.length === 2 && PLACE_KINDS.includes(parts[0])) return { dim: parts[0], code: parts[1] };
  return { dim: null, code: null };
}

/** The hash of a place's view, or of the province's with no place. */
export function routeHash(dim = null, code = null) {
  return dim ? `#/${dim}/${encodeURIComponent(code)}` : "#/";
}

/** Show a view: a new history entry, so the browser's own back button also works. */
export function go(dim = null, code = null) {
  const hash = routeHash(dim, code);
  if (location.hash !== hash) location.hash = hash;
}

/** Call `onRoute(route)` whenever the hash changes. */
export function watchRoute(onRoute) {
  window.addEventListener("hashchange", () => onRoute(parseRoute()));
}
