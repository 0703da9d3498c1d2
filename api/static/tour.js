// The tour for an unattended wall: "#/tour" shows each district's view in turn, every 20 s
// ("#/tour?every=30" for another pace, at least 5 s), round and round, the window as the URL
// says. The URL stays "#/tour", so a reload resumes it; Escape, Backspace or the back button
// end it (the province's view), a click on a row leaves it for that place.

import { addWords, t } from "./i18n.js";

export const TOUR_EVERY_S = 20;
const TOUR_MIN_S = 5;

addWords("vi", { "tour.on": "Tự động xoay vòng {i}/{n}" });
addWords("en", { "tour.on": "Touring {i}/{n}" });

/** The pace a tour's hash asks for, in ms. */
export function tourEveryMs(hash = location.hash) {
  const asked = Number(new URLSearchParams(hash.split("?")[1] ?? "").get("every"));
  return Math.max(TOUR_MIN_S, Number.isFinite(asked) && asked > 0 ? asked : TOUR_EVERY_S) * 1000;
}

let timer = 0;
let stops = [];
let at = 0;

/** The tour's words for the place bar ("3/7"), or "" when no tour is on. */
export function tourNote() {
  return timer ? t("tour.on", { i: at + 1, n: stops.length }) : "";
}

/** Start touring the districts the token may see (`getJson` is the wall's); `show(dim, code)`
 *  draws one. The province's own code (PROVINCE) is not a stop. */
export async function startTour(getJson, show) {
  stopTour();
  const body = await getJson("api/v1/dimensions/district");
  stops = body.values.filter((v) => v.code !== "PROVINCE").map((v) => v.code);
  if (!stops.length) return;
  at = 0;
  const step = () => show("district", stops[at]);
  timer = setInterval(() => {
    at = (at + 1) % stops.length;
    step();
  }, tourEveryMs());
  step();
}

export function stopTour() {
  clearInterval(timer);
  timer = 0;
}

export function touring() {
  return timer !== 0;
}
