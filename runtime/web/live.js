// The pages' connection to the service: the token, REST reads, and live views over one
// WebSocket with the sequence rule (tracker.js), resync on gaps, and reconnects with
// jittered exponential backoff. No I/O happens outside this module.

import { APPLIED, GAP, ViewTracker } from "./tracker.js";

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;
// API Gateway closes a connection after 10 minutes without client data; resubscribing
// (which also re-checks the state) every 4 minutes keeps a quiet screen connected.
const KEEPALIVE_MS = 240_000;

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

export class RestError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.message)) || `HTTP ${status}`);
    this.status = status;
    this.code = (problem && problem.code) || "";
  }
}

/** GET a REST resource with the token as the bearer; the parsed body, or RestError. */
export async function restGet(path, token) {
  const response = await fetch(path, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    cache: "no-store",
  });
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok) throw new RestError(response.status, body);
  return body;
}

/** A REST top page as a snapshot frame, to seed a top view before the socket answers. */
export function snapshotOfTopPage(page) {
  return {
    type: "snapshot",
    board: page.board,
    season: page.season,
    seq: page.as_of_seq,
    total: page.total,
    entries: page.entries.map((e) => ({ player: e.player_id, score: e.score, rank: e.rank })),
  };
}

/**
 * Live views over one WebSocket.
 *
 * views: [{ request: {action: "subscribe", ...}, onState(state), onError(error), optional }]
 * onStatus({ state: "connecting" | "live" | "reconnecting", attempt, retryInMs, reconnects })
 */
export class LiveConnection {
  constructor({ url, token, views, onStatus }) {
    this.url = `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
    this.views = views.map((v) => ({ ...v, tracker: new ViewTracker(), viewId: null, resyncing: false, joined: false }));
    this.onStatus = onStatus || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.reconnects = 0;
    this.nextId = 1;
    this.timer = null;
    this.keepalive = null;
    this.stopped = false;
  }

  /** Seed a view with a state known before the socket answers (a REST snapshot). */
  seed(index, frame) {
    const view = this.views[index];
    if (view.tracker.apply(frame) === APPLIED) view.onState(view.tracker.state);
  }

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.keepalive);
    if (this.ws) this.ws.close(1000, "page closed");
  }

  reconnectNow() {
    if (this.stopped || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    clearTimeout(this.timer);
    this.connect();
  }

  connect() {
    this.status(this.reconnects || this.attempt ? "reconnecting" : "connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => {
      for (const view of this.views) this.subscribe(view);
      clearInterval(this.keepalive);
      this.keepalive = setInterval(() => this.views.forEach((v) => this.subscribe(v)), KEEPALIVE_MS);
    };
    ws.onmessage = (event) => this.dispatch(event.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      clearInterval(this.keepalive);
      for (const view of this.views) {
        view.tracker.lostConnection();
        view.resyncing = false;
        view.joined = false;
      }
      if (!this.stopped) this.schedule();
    };
  }

  schedule() {
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() / 2));
    this.attempt += 1;
    this.status("reconnecting", delay);
    this.timer = setTimeout(() => {
      this.reconnects += 1;
      this.connect();
    }, delay);
  }

  status(state, retryInMs = 0) {
    this.onStatus({ state, attempt: this.attempt, retryInMs, reconnects: this.reconnects });
  }

  subscribe(view) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    view.requestId = `p${this.nextId++}`;
    this.ws.send(JSON.stringify({ ...view.request, request_id: view.requestId }));
  }

  resync(view) {
    if (view.resyncing) return;
    view.resyncing = true;
    this.subscribe(view);
  }

  dispatch(raw) {
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return;
    }
    const view = this.views.find(
      (v) => (frame.request_id && v.requestId === frame.request_id) || (frame.view_id && v.viewId === frame.view_id),
    );
    if (!view) return;
    if (frame.type === "error") {
      view.resyncing = false;
      if (view.optional) view.joined = true; // an optional view may fail (e.g. no entry yet)
      if (view.onError) view.onError(frame.error || {});
      if (view.optional && this.views.every((v) => v.joined)) this.status("live");
      return;
    }
    if (frame.type !== "snapshot" && frame.type !== "update") return;
    if (frame.type === "snapshot") {
      view.viewId = frame.view_id;
      view.resyncing = false;
      view.joined = true;
      this.attempt = 0;
    }
    const outcome = view.tracker.apply(frame);
    if (outcome === APPLIED) view.onState(view.tracker.state);
    else if (outcome === GAP) this.resync(view);
    if (frame.type === "snapshot" && this.views.every((v) => v.joined)) this.status("live");
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

export function formatScore(score) {
  return Number(score).toLocaleString("en-US");
}
