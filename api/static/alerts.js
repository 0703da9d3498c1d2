// The alert bar: the firing alerts, worst first as the API lists them, each with its place's
// name, since when, and (for an operator) its buttons; each area's count of its own alerts.

import { $, $$, h, setText } from "./dom.js";
import { dimensionName, formatCount, formatTime, pickLanguage, plural, t } from "./i18n.js";
import { session } from "./session.js";
import { fitToRoom } from "./tiles.js";

function alertText(alert) {
  const summary = pickLanguage(alert.annotations?.summary);
  if (summary) return summary;
  const where = alert.by_value ? ` · ${alert.by ? dimensionName(alert.by, alert.by_value) : alert.by_value}` : "";
  return `${alert.rule}${where} = ${formatCount(alert.value)}`;
}

function alertChip(alert) {
  const since = Date.parse(alert.firing_since ?? alert.active_since);
  return h(
    "div",
    {
      class: "alert",
      "data-rule": alert.rule,
      "data-fingerprint": alert.fingerprint,
      "data-severity": alert.severity,
      "data-silenced": alert.silenced ? "true" : "false",
    },
    h("span", { class: "sev", text: t(`sev.${alert.severity}`) }),
    h("span", { class: "summary", text: alertText(alert) }),
    h("span", { class: "since", text: t("since", { t: formatTime(since, false) }) }),
    alert.silenced && h("span", { class: "silenced", text: t("silenced") }),
    alert.acknowledgement &&
      h("span", {
        class: "acked",
        title: alert.acknowledgement.comment,
        text: t("acked", { name: alert.acknowledgement.acked_by }),
      }),
    alert.escalated_at && h("span", { class: "escalated", text: t("escalated") }),
    ...alertActions(alert),
  );
}

/** Buttons for a user who may act (an operator or admin, within their scope). */
function alertActions(alert) {
  if (!session.me?.may_act) return [];
  const button = (action) =>
    h("button", { type: "button", class: "act", "data-action": action, text: t(`btn.${action}`) });
  return [button(alert.acknowledgement ? "unack" : "ack"), !alert.silenced && button("silence")];
}

const MAX_ALERT_CHIPS = 3;

export function renderAlerts(state) {
  const bar = $("#alerts");
  const alerts = state.alerts;
  bar.dataset.count = String(alerts.length);
  if (!alerts.length) {
    bar.replaceChildren(h("div", { class: "all-clear" }, h("span", { class: "tick" }), t("noAlerts")));
  } else {
    const shown = alerts.slice(0, MAX_ALERT_CHIPS).map(alertChip);
    const more = alerts.length - shown.length;
    const count = h("div", { class: "alert-count", text: plural("alertCount", alerts.length) });
    const rest = more > 0 ? [h("div", { class: "more", text: t("moreAlerts", { n: more }) })] : [];
    bar.replaceChildren(count, ...shown, ...rest);
  }
  for (const section of $$("section.area")) {
    const n = alerts.filter((a) => a.kpi.startsWith(`${section.dataset.area}.`)).length;
    const badge = $(".area-alerts", section);
    badge.hidden = n === 0;
    setText(badge, String(n));
  }
  fitToRoom(); // a badge takes room from its area's title
}
