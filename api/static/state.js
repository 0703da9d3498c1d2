// What the wall knows, in one object every module reads: the numbers shown, where they came
// from and how much they can be trusted. Modules change it and call the renderers.

export const state = {
  conn: "connecting", // connecting | live | reconnecting (the channel) | degraded (open, numbers not trusted)
  ready: null, // the last readyz answer: {ok, broker, database, atMs}; null before the first
  confirmedMs: 0, // server time up to which the numbers shown are known to be the server's
  rankedMs: {}, // per area: as_of of its ranking
  named: new Set(), // dimensions whose names were fetched (or are being)
  retryAtMs: 0,
  attempts: 0,
  socket: null,
  lastMessageMs: 0,
  skewMs: 0, // server clock minus ours, measured with each /api/v1/alerts answer
  asOfMs: 0, // as_of of the KPI values shown
  pushed: { alerts: 0, sources: 0 }, // lists received on the live channel
  catalog: new Map(),
  kpis: {},
  alerts: [],
  sources: [],
  breakdowns: {},
  trends: {},
  place: null, // the place shown (place.js), null for the province
  window: "1h", // of the windowed KPIs, from the URL (windows.js)
  /**
   * What each area shows, from api/v1/wall (each source declares its own): headline tiles (`of`:
   * a total shown as "/ N" after the value; `aside`: a related KPI named in the tile's note),
   * smaller tiles, a trend and a worst-first ranking.
   */
  areas: [],
};
