// Who is at the wall: the sign-in box when the API needs a token, the token kept for this
// browser session only (sessionStorage, never a URL), the user's name, role and scope in the
// header, and the operator's actions on alerts (acknowledge, silence for a chosen time).
//
// api/v1/me answers who the token is; a 401 anywhere means "sign in (again)". The live channel
// gets the token in its first message (a browser cannot set a WebSocket's headers).

import { $, h, setText } from "./dom.js";
import { t } from "./i18n.js";

const TOKEN_KEY = "ioc.wall.token";
const FETCH_TIMEOUT_MS = 8_000;

export const session = {
  me: null, // {name, role, scope, may_act, may_audit, tokens_required}
  onSignedOut: () => {},
};

function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

/** Headers that carry the token, when there is one. */
export function authHeaders() {
  const value = token();
  return value ? { Authorization: `Bearer ${value}` } : {};
}

/** The live channel's first message: the token, when the API needs one. */
export function liveHello() {
  const value = token();
  return value ? JSON.stringify({ token: value }) : null;
}

export class Unauthorized extends Error {}

/** fetch a path relative to the page with the token; a 401 forgets the token and signs out. */
export async function apiFetch(path, init = {}) {
  const response = await fetch(path, {
    cache: "no-store",
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    ...init,
    headers: { ...authHeaders(), ...(init.headers ?? {}) },
  });
  if (response.status === 401) {
    signOut();
    throw new Unauthorized(`${path}: HTTP 401`);
  }
  return response;
}

export function signOut() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // private mode: nothing was kept
  }
  if (session.me?.tokens_required !== false) {
    session.me = null;
    session.onSignedOut();
  }
}

async function whoAmI() {
  const response = await fetch("api/v1/me", {
    headers: authHeaders(),
    cache: "no-store",
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  if (response.status === 401) return null;
  if (!response.ok) throw new Error(`api/v1/me: HTTP ${response.status}`);
  return response.json();
}

/** Resolves with who is signed in, asking for a token first if the API needs one. */
export async function signIn() {
  for (;;) {
    let me = null;
    try {
      me = await whoAmI();
    } catch (error) {
      console.debug("wall: me", error.message ?? error);
      await new Promise((done) => setTimeout(done, 2_000)); // the API is not up yet
      continue;
    }
    if (me) {
      session.me = me;
      renderUser();
      return me;
    }
    await askForToken();
  }
}

function askForToken() {
  const dialog = $("#sign-in");
  const input = $("#sign-in-token", dialog);
  const error = $("#sign-in-error", dialog);
  setText(error, token() === null ? "" : t("signIn.refused"));
  input.value = "";
  if (!dialog.open) dialog.showModal();
  input.focus();
  return new Promise((done) => {
    dialog.querySelector("form").onsubmit = (event) => {
      event.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      try {
        sessionStorage.setItem(TOKEN_KEY, value);
      } catch {
        // without storage the token lives until the page closes
      }
      dialog.close();
      done();
    };
  });
}

/** The header's user badge: name, role and scope, and a sign-out button when tokens are used. */
export function renderUser() {
  const badge = $("#user");
  const me = session.me;
  badge.hidden = !me || !me.tokens_required;
  if (!me || !me.tokens_required) return;
  const scope = me.scope === "all" ? t("scope.all") : me.scope;
  const out = h("button", { type: "button", class: "sign-out", text: t("signOut") });
  out.addEventListener("click", () => signOut());
  badge.replaceChildren(
    h("span", { class: "user-name", text: me.name }),
    h("span", { class: "user-role", text: `${t(`role.${me.role}`)} · ${scope}` }),
    out,
  );
}

// -- acting on alerts ------------------------------------------------------------------------------

export const SILENCE_CHOICES_MIN = [60, 240, 1440]; // 1 h, 4 h, 1 day

async function send(method, path, body) {
  const response = await apiFetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new Error(detail.detail ?? `HTTP ${response.status}`);
  }
}

export function acknowledge(alert, comment) {
  return send("POST", `api/v1/alerts/${alert.fingerprint}/ack`, { comment });
}

export function unacknowledge(alert) {
  return send("DELETE", `api/v1/alerts/${alert.fingerprint}/ack`);
}

/** Silence this alert (its exact labels) for `minutes`, from now. */
export function silence(alert, minutes, comment) {
  const now = Date.now();
  const matchers = Object.entries(alert.labels).map(([name, value]) => ({
    name,
    value,
    isRegex: false,
    isEqual: true,
  }));
  return send("POST", "api/v1/silences", {
    matchers,
    startsAt: new Date(now).toISOString(),
    endsAt: new Date(now + minutes * 60_000).toISOString(),
    comment,
  });
}

/**
 * The action box for one alert: a comment, and for a silence its duration. Resolves when the
 * action was taken (the live channel then shows it), or when the operator cancels.
 */
export function actOn(alert, action) {
  const dialog = $("#act");
  const form = dialog.querySelector("form");
  const comment = $("#act-comment", dialog);
  const duration = $("#act-duration", dialog);
  const error = $("#act-error", dialog);
  setText($("#act-title", dialog), t(`act.${action}`));
  setText(error, "");
  comment.value = "";
  duration.closest("label").hidden = action !== "silence";
  dialog.showModal();
  comment.focus();
  return new Promise((done) => {
    $("#act-cancel", dialog).onclick = () => {
      dialog.close();
      done(false);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      const text = comment.value.trim() || t(`act.default.${action}`, { name: session.me?.name ?? "" });
      try {
        if (action === "ack") await acknowledge(alert, text);
        else if (action === "unack") await unacknowledge(alert);
        else await silence(alert, Number(duration.value), text);
        dialog.close();
        done(true);
      } catch (failure) {
        setText(error, failure.message);
      }
    };
  });
}
