// The live channel (WebSocket api/v1/live: a full snapshot, then changes, alerts and sources)
// and whether the numbers it brought can be trusted: readyz (broker, database, when the server's
// numbers were computed) every few seconds, a reconnection with backoff when the channel closes,
// and a probe when it has been quiet too long to be sure it is still there.

import { getJson } from "./api.js";
import { applyAlerts, applyKpis, applySources, resync } from "./data.js";
import { renderConnection, trustProblem } from "./health.js";
import { liveHello } from "./session.js";
import { state } from "./state.js";
import { renderKpis } from "./tiles.js";
import { liveKpis, polled } from "./windows.js";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 8_000;
export const QUIET_PROBE_MS = 20_000; // a live channel this quiet gets its server asked whether it is there
export const READY_EVERY_MS = 2_000; // readyz is asked this often: a database that stops shows within 5 s
const READY_TIMEOUT_MS = 2_500;

/** A retry's delay after `attempt` failures: doubling from RETRY_MIN_MS up to RETRY_MAX_MS. */
export function backoffMs(attempt) {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt);
}

// -- can the numbers be trusted ------------------------------------------------------------------

/**
 * readyz says whether the broker and the database answer, and when the server's numbers were
 * computed; with the channel open and nothing pushed since, the numbers shown are those. The
 * state shown is then "live", or "degraded" with why (renderConnection), greying the numbers.
 */
export async function checkReady() {
  let ready;
  try {
    const response = await fetch("readyz", { signal: AbortSignal.timeout(READY_TIMEOUT_MS), cache: "no-store" });
    const body = await response.json();
    ready = { ok: response.ok, broker: body.broker, database: body.database, atMs: Date.now() };
    const computed = Date.parse(body.snapshot_as_of ?? "");
    if (response.ok && state.socket?.readyState === WebSocket.OPEN && !Number.isNaN(computed)) {
      state.confirmedMs = Math.max(state.confirmedMs, computed);
    }
  } catch {
    ready = { ok: false, broker: null, database: null, atMs: Date.now() };
  }
  state.ready = ready;
  judgeConn();
}

/** live or degraded, while the channel is open: by readyz and the numbers' age. */
export function judgeConn() {
  if (state.conn !== "live" && state.conn !== "degraded") return;
  const next = trustProblem(state) ? "degraded" : "live";
  if (next !== state.conn) setConn(next);
  else renderConnection(state);
}

// -- the channel ---------------------------------------------------------------------------------

function liveUrl() {
  const url = new URL("api/v1/live", location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function setConn(conn) {
  state.conn = conn;
  renderConnection(state);
}

export function markLive() {
  if (state.socket?.readyState !== WebSocket.OPEN) return;
  if (state.conn !== "live" && state.conn !== "degraded") state.conn = "live";
  judgeConn();
}

function onMessage(message) {
  switch (message.type) {
    case "snapshot":
      if (polled(state)) {
        Object.assign(state.kpis, liveKpis(state, message)); // "now" KPIs; the others are asked for
        renderKpis(state);
      } else applyKpis(message.as_of, message.kpis);
      if (message.full) {
        onMessage({ type: "alert", alerts: message.alerts ?? [] });
        onMessage({ type: "sources", sources: message.sources ?? [] });
      }
      markLive();
      break;
    case "alert":
      state.pushed.alerts += 1;
      applyAlerts(message.alerts);
      break;
    case "sources":
      state.pushed.sources += 1;
      applySources(message.sources);
      break;
    default:
      console.debug("wall: unknown live message", message.type);
  }
}

function retryDelay() {
  return backoffMs(state.attempts) * (0.8 + Math.random() * 0.4); // jitter: a room of walls does not reconnect in step
}

function scheduleReconnect() {
  const delay = retryDelay();
  state.attempts += 1;
  state.retryAtMs = Date.now() + delay;
  setConn("reconnecting");
  setTimeout(connect, delay);
}

/**
 * The channel only speaks when something changes, and a connection that died without a close
 * (a cable, a NAT timeout) can look open for minutes: when it has been quiet, ask the server.
 */
export async function probe() {
  const socket = state.socket;
  if (state.conn === "connecting" || state.conn === "reconnecting") return;
  if (Date.now() - state.lastMessageMs < QUIET_PROBE_MS) return;
  try {
    await getJson("healthz");
    state.lastMessageMs = Date.now();
  } catch {
    if (state.socket !== socket) return;
    state.socket = null;
    socket.close();
    scheduleReconnect();
  }
}

export function connect() {
  const socket = new WebSocket(liveUrl());
  state.socket = socket;
  socket.addEventListener("open", () => {
    const hello = liveHello(); // the token, in the first message: never in the URL
    if (hello) socket.send(hello);
    state.attempts = 0;
    state.asOfMs = 0; // a restarted server's first answers count, whatever its clock says
    state.lastMessageMs = Date.now();
    resync();
    checkReady();
  });
  socket.addEventListener("message", (event) => {
    state.lastMessageMs = Date.now();
    try {
      onMessage(JSON.parse(event.data));
    } catch (error) {
      console.debug("wall: bad live message", error);
    }
  });
  socket.addEventListener("close", () => {
    if (state.socket === socket) scheduleReconnect();
  });
}
