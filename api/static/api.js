// Asking the API: paths relative to the page (so the wall also works behind a proxy that adds a
// prefix), with the token (session.js), within a time limit.

import { apiFetch } from "./session.js";

const FETCH_TIMEOUT_MS = 8_000;

/** GET a path relative to the page, as JSON; anything but a 2xx is an error naming the status. */
export async function getJson(path) {
  const response = await apiFetch(path, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

/** Run `job`; a failure leaves the last values on screen (the connection state says why). */
export async function quietly(job) {
  try {
    await job();
  } catch (error) {
    console.debug("wall:", error.message ?? error);
  }
}
