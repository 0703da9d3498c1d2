// Whether the wall can be trusted, in its header and footer: the clock, the connection's state
// (live, or why not, with the numbers' age on every tile and ranking), and each source topic's
// newest event, lag and counts (stale only when silent past its expectation, quiet off hours).

import { $, $$, h, setText } from "./dom.js";
import { formatAge, formatCount, formatDate, formatTime, isMissing, t } from "./i18n.js";

const TRUST_AGE_MS = 10_000; // numbers older than this are not called live
const READY_STALE_MS = 6_000; // a readyz answer older than this means the server is not answering

function sourceCard(topic) {
  return h(
    "div",
    { class: "source", "data-topic": topic, "data-stale": "false" },
    h(
      "div",
      { class: "head" },
      h("span", { class: "name", "data-i18n": `src.${topic}` }),
      h("span", { class: "age" }),
    ),
    h(
      "div",
      { class: "meta" },
      h("span", { class: "lag" }),
      h("span", { class: "counts" }),
      h("span", { class: "stale-flag", "data-i18n": "stale" }),
      h("span", { class: "quiet-flag", "data-i18n": "quiet" }),
    ),
  );
}

export function renderSources(state) {
  const root = $("#sources");
  for (const src of state.sources) {
    let card = $(`[data-topic="${CSS.escape(src.topic)}"]`, root);
    if (!card) {
      card = sourceCard(src.topic);
      root.append(card);
      setText($(".name", card), t(`src.${src.topic}`));
      setText($(".stale-flag", card), t("stale"));
      setText($(".quiet-flag", card), t("quiet"));
    }
    card.dataset.stale = src.stale ? "true" : "false";
    card.dataset.active = src.active === false ? "false" : "true"; // outside its hours: quiet, not stale
    const lag = src.consumer_lag;
    card.dataset.lag = isMissing(lag) ? "" : String(lag);
    setText($(".lag", card), isMissing(lag) ? t("lagUnknown") : t("lag", { n: formatCount(lag) }));
    const rejected = src.rejected_5m ? ` · ${t("rejected5m", { n: formatCount(src.rejected_5m) })}` : "";
    setText($(".counts", card), t("accepted5m", { n: formatCount(src.accepted_5m) }) + rejected);
  }
  renderAges(state);
}

/** Data age ticks every second between messages: newest event time against the server's clock. */
export function renderAges(state) {
  const now = Date.now() + state.skewMs;
  for (const src of state.sources) {
    const card = $(`#sources [data-topic="${CSS.escape(src.topic)}"]`);
    if (!card) continue;
    const newest = src.newest_event_at ? Date.parse(src.newest_event_at) : null;
    setText($(".age", card), newest === null ? t("neverSeen") : formatAge(now - newest));
  }
}

export function renderClock(state) {
  const now = Date.now() + state.skewMs;
  setText($("#clock-time"), formatTime(now));
  setText($("#clock-date"), formatDate(now));
}

/** Why the numbers cannot be trusted though the channel is open, or null: readyz (database,
 * broker, the server itself) first, then the numbers' age. */
export function trustProblem(state) {
  const ready = state.ready;
  if (ready && Date.now() - ready.atMs > READY_STALE_MS) return "api";
  if (ready && !ready.ok) {
    if (ready.database && ready.database !== "ok") return "database";
    if (ready.broker && ready.broker !== "ok") return "broker";
    return "api";
  }
  return numbersAgeMs(state) > TRUST_AGE_MS ? "old" : null;
}

/** How old the numbers shown are, by the server's clock. */
function numbersAgeMs(state) {
  return state.confirmedMs ? Date.now() + state.skewMs - state.confirmedMs : Infinity;
}

/** While the numbers cannot be trusted, each tile and ranking says how old its numbers are. */
function renderNumberAges(state, trusted) {
  const now = Date.now() + state.skewMs;
  const tileAge = !trusted && state.confirmedMs ? formatAge(now - state.confirmedMs) : "";
  for (const node of $$(".tile .num-age")) setText(node, tileAge);
  for (const section of $$("section.area")) {
    const ranked = state.rankedMs[section.dataset.area];
    setText($(".breakdown .num-age", section), !trusted && ranked ? formatAge(now - ranked) : "");
  }
}

export function renderConnection(state) {
  const trusted = state.conn === "live";
  document.body.dataset.conn = state.conn;
  document.body.dataset.trust = trusted ? "true" : "false";
  renderNumberAges(state, trusted);
  const detail = $("#conn-detail");
  const figures = state.confirmedMs ? t("figuresFrom", { age: formatAge(numbersAgeMs(state)) }) : "";
  if (state.conn === "degraded") {
    setText($("#conn-text"), t(`why.${trustProblem(state) ?? "old"}`));
    setText(detail, figures);
    return;
  }
  setText($("#conn-text"), t(`conn.${state.conn}`));
  if (state.conn !== "reconnecting") {
    setText(detail, "");
    return;
  }
  const seconds = Math.ceil((state.retryAtMs - Date.now()) / 1000);
  const retry = seconds > 0 ? t("retryIn", { n: seconds }) : t("retryNow");
  const asOf = state.asOfMs ? ` · ${t("shownAsOf", { t: formatTime(state.asOfMs) })}` : "";
  setText(detail, retry + asOf);
}
