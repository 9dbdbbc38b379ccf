// What the pages share: the token and URLs they were opened with, the connection status
// they show, and live views through the TypeScript client (leaderboard-client.js, the
// package in client/typescript bundled by esbuild): the sequence rule, resync on gaps,
// reconnects with jittered backoff and the keepalive all live there, not here.

import { LeaderboardClient, RestClient, ServerError, snapshotOf } from "./leaderboard-client.js";

export { ServerError, snapshotOf };

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

/** What the page was opened with: the token, the WebSocket URL, the query parameters. */
export function pageConfig() {
  const params = new URLSearchParams(location.search);
  const meta = document.querySelector('meta[name="leaderboard-ws"]');
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const wsPath = meta ? meta.content : "/ws";
  return {
    params,
    token: params.get("token") || "",
    wsUrl: params.get("ws") || `${scheme}://${location.host}${wsPath}`,
  };
}

/** The claims of a JWT, for display only (the service verifies it, the page never does). */
export function claimsOf(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

/** The REST API of this origin with the page's token (errors are the client's classes). */
export function restOf(config) {
  return new RestClient(location.origin, config.token);
}

/** Whether a REST error means the page cannot work: a refused token or an unknown board. */
export function isFatal(error) {
  return error instanceof ServerError && [401, 403, 404].includes(error.status);
}

/**
 * Live views over one WebSocket, for a page.
 *
 * views: [{ board, options: {view, n, player, k, join}, onState(state), onError(error), optional }]
 * onStatus({ state: "connecting" | "live" | "reconnecting" | "offline", retryInMs, reconnects })
 *
 * "live" once every view has its snapshot on the current connection (an optional view
 * the service refused, e.g. `around` before the player's first score, counts as joined).
 */
export class LivePage {
  constructor({ url, token, onStatus }) {
    this.client = new LeaderboardClient(url, token, { minBackoffMs: MIN_BACKOFF_MS, maxBackoffMs: MAX_BACKOFF_MS });
    this.onStatus = onStatus || (() => {});
    this.subscriptions = [];
    this.client.onStatus(() => this.report());
  }

  /** Connect (redialing until the service answers) and follow every view. */
  start(views) {
    window.addEventListener("online", () => this.client.reconnectNow());
    this.client.start();
    this.subscriptions = views.map((v) => {
      const sub = this.client.follow(v.board, v.options);
      sub.onState((state) => {
        v.onState(state);
        this.report();
      });
      sub.onError((error) => {
        if (v.onError) v.onError(error);
        this.report();
      });
      if (sub.state) v.onState(sub.state);
      return sub;
    });
    this.report();
    return this.subscriptions;
  }

  report() {
    const status = this.client.status;
    let state = status.state;
    if (state === "connected") state = this.subscriptions.every((s) => s.joined) ? "live" : "connecting";
    else if (state === "failed" || state === "closed") state = "offline";
    this.onStatus({ state, retryInMs: status.retryInMs, reconnects: this.client.reconnects });
  }
}

/** Show the connection status in the element with id "status" (data-state for tests). */
export function showStatus(el, status, seqOf) {
  el.dataset.state = status.state;
  el.dataset.reconnects = String(status.reconnects);
  const label = el.querySelector(".label") || el;
  if (status.state === "live") label.textContent = "Live";
  else if (status.state === "connecting") label.textContent = "Connecting…";
  else if (status.state === "reconnecting") {
    label.textContent = status.retryInMs
      ? `Reconnecting in ${Math.max(1, Math.round(status.retryInMs / 1000))}s`
      : "Reconnecting…";
  } else label.textContent = status.state;
  if (seqOf) el.title = `seq ${seqOf()}`;
}

/** Show the seq a page reflects (#seq, with data-seq for tests) and its season (#season). */
export function showSeq(state) {
  const seqEl = document.getElementById("seq");
  seqEl.textContent = String(state.seq);
  seqEl.dataset.seq = String(state.seq);
  if (state.season) document.getElementById("season").textContent = state.season;
}

/** A page-level error banner (bad token, unknown board...). */
export function showProblem(message) {
  const el = document.getElementById("problem");
  if (!el) return;
  el.hidden = !message;
  el.textContent = message || "";
}

/** A service error as the page says it. */
export function describeError(error) {
  return `${error.code || "error"}: ${error.serverMessage || error.message || ""}`;
}

/** A duration as the countdown says it: "2d 03:04:05", "03:04:05", or "now" at zero. */
export function formatCountdown(ms) {
  if (ms <= 0) return "now";
  const s = Math.floor(ms / 1000);
  const pad = (n) => String(n).padStart(2, "0");
  const clock = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return s >= 86400 ? `${Math.floor(s / 86400)}d ${clock}` : clock;
}

const countdowns = new WeakMap();

/** Count down to the season's end (`next_reset_at`, ISO 8601) in `el`, once a second; "never"
 * when the board never resets. `el.dataset.resetAt` holds the instant and
 * `el.dataset.remaining` the whole seconds left; `onDue` runs once when it reaches zero. */
export function showCountdown(el, nextResetAt, onDue) {
  if (!el) return;
  clearInterval(countdowns.get(el));
  el.dataset.resetAt = nextResetAt || "";
  if (!nextResetAt) {
    el.textContent = "never";
    el.dataset.remaining = "";
    return;
  }
  const due = Date.parse(nextResetAt);
  const tick = () => {
    const left = due - Date.now();
    el.textContent = formatCountdown(left);
    el.dataset.remaining = String(Math.max(0, Math.ceil(left / 1000)));
    if (left <= 0) {
      clearInterval(countdowns.get(el));
      if (onDue) onDue();
    }
  };
  countdowns.set(el, setInterval(tick, 1000));
  tick();
}

/** What a page runs when its countdown reaches zero: the season rolls at the reset, so a
 * moment later the board reports its new season (into `#season`) and its next reset (into
 * `#reset`, counting down again). */
export function followResets(config, board) {
  const refresh = () => {
    setTimeout(async () => {
      try {
        const detail = await restOf(config).board(board);
        document.getElementById("season").textContent = detail.season;
        showCountdown(document.getElementById("reset"), detail.next_reset_at, refresh);
      } catch {
        // the live view carries on; the next snapshot brings the countdown back
      }
    }, 2000);
  };
  return refresh;
}

export function formatScore(score) {
  return Number(score).toLocaleString("en-US");
}
