// The window selector: which window the wall's windowed KPIs cover (5 minutes to 7 days), kept
// in the URL (route.js) with the view. The live channel pushes the default window (1 h); in
// another window its pushes bring only the "now" (state) KPIs, and the windowed ones are asked
// for by HTTP every few seconds.

import { $, h } from "./dom.js";
import { addWords, t } from "./i18n.js";
import { DEFAULT_WINDOW, WINDOWS, go, parseRoute, watchRoute } from "./route.js";

export const POLL_EVERY_MS = 5_000;

addWords("vi", {
  "win.label": "Khung thời gian",
  "win.5m": "5 phút qua",
  "win.15m": "15 phút qua",
  "win.1h": "1 giờ qua",
  "win.6h": "6 giờ qua",
  "win.24h": "24 giờ qua",
  "win.7d": "7 ngày qua",
});
addWords("en", {
  "win.label": "Time window",
  "win.5m": "last 5 min",
  "win.15m": "last 15 min",
  "win.1h": "last hour",
  "win.6h": "last 6 h",
  "win.24h": "last 24 h",
  "win.7d": "last 7 days",
});

/** The words of the window shown ("1 giờ qua"), for tiles' notes. */
export function windowWords(window) {
  return t(`win.${window ?? DEFAULT_WINDOW}`);
}

/** Of a live message's KPIs, those the wall may show in `window`: all of them in the window the
 *  channel pushes, else only the state KPIs (they have no window). */
export function liveKpis(state, message) {
  if ((message.window ?? DEFAULT_WINDOW) === state.window) return message.kpis;
  return Object.fromEntries(
    Object.entries(message.kpis).filter(([name]) => state.catalog.get(name)?.kind !== "window"),
  );
}

/** Whether windowed values must be asked for by HTTP (the channel pushes another window). */
export function polled(state) {
  return state.window !== DEFAULT_WINDOW;
}

export function renderWindowPicker(state) {
  const picker = $("#window");
  if (!picker) return;
  picker.title = t("win.label");
  picker.setAttribute("aria-label", t("win.label"));
  for (const option of picker.options) option.textContent = windowWords(option.value);
  if (picker.value !== state.window) picker.value = state.window;
}

/** Build the picker in the header and follow the URL; `onChange()` runs after state.window
 *  changed, before the place's view asks for its numbers (its listener is added later). */
export function initWindows(state, onChange) {
  state.window = parseRoute().window;
  const picker = h("select", { id: "window", class: "window" }, WINDOWS.map((w) => h("option", { value: w })));
  $(".brand").append(picker);
  picker.addEventListener("change", () => {
    const route = parseRoute();
    go(route.dim, route.code, picker.value);
  });
  watchRoute((route) => {
    if (route.window === state.window) return;
    state.window = route.window;
    renderWindowPicker(state);
    onChange();
  });
  renderWindowPicker(state);
}
