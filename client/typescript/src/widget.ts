/**
 * Embeddable widgets: custom elements a studio drops into its own site with one
 * `<script type="module">`.
 *
 *     <script type="module" src="https://lb.example.com/web/leaderboard-widget.js"></script>
 *     <leaderboard-top board="arena" n="10" url="wss://…/prod" token="<spectator JWT>"></leaderboard-top>
 *     <leaderboard-ticker board="arena" url="wss://…/prod" token="<player JWT>"></leaderboard-ticker>
 *
 * Attributes: `board` (required), `n` (top rows, 1-100, default 10), `url` (the
 * WebSocket URL; default: `/ws` on the origin the script came from), `token` (a JWT:
 * a spectator token for a public page, since anyone can read it; a player token for the
 * ticker, which follows that token's player), `season`, `heading` (a title; default the
 * board id). Elements with the same `url` and `token` share one connection.
 *
 * Styling: CSS custom properties on the element or any ancestor (`--lb-bg`, `--lb-fg`,
 * `--lb-muted`, `--lb-accent`, `--lb-row-bg`, `--lb-row-alt-bg`, `--lb-border`,
 * `--lb-radius`, `--lb-font`, `--lb-font-size`, `--lb-gap`, `--lb-gold`, `--lb-silver`,
 * `--lb-bronze`, `--lb-up`, `--lb-down`), and `::part()` for anything else (`header`,
 * `title`, `status`, `reset`, `rows`, `row`, `rank`, `player`, `score`, `empty`, `me`, `moment`).
 *
 * Ranks shown are display ranks (the board's tie mode); a row's `data-rank` is the exact
 * rank and `data-tier` its tier. The header counts down to the season's end (`reset`
 * part, `data-reset-at` on it) on boards that reset.
 *
 * The element reflects its connection in `data-state` (`connecting`, `live`,
 * `reconnecting`, `offline`) and the seq it shows in `data-seq`, and fires
 * `leaderboard-state` (detail: the ViewState) and `leaderboard-error` (detail: the error).
 */

import { LeaderboardClient, type Subscription } from "./client.js";
import type { ServerError } from "./errors.js";
import type { ViewState } from "./tracking.js";

const STYLE = `
:host {
  display: block;
  font-family: var(--lb-font, system-ui, -apple-system, "Segoe UI", sans-serif);
  font-size: var(--lb-font-size, 1rem);
  color: var(--lb-fg, #e8ecf4);
  background: var(--lb-bg, #10131c);
  border: 1px solid var(--lb-border, transparent);
  border-radius: var(--lb-radius, 12px);
  padding: var(--lb-gap, 0.75em);
  box-sizing: border-box;
  font-variant-numeric: tabular-nums;
}
:host([hidden]) { display: none; }
header { display: flex; align-items: center; justify-content: space-between; gap: var(--lb-gap, 0.75em); margin-bottom: calc(var(--lb-gap, 0.75em) / 2); }
.title { font-weight: 700; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.reset { margin-left: auto; color: var(--lb-muted, #8a93a6); font-size: 0.85em; white-space: nowrap; }
.status { width: 0.6em; height: 0.6em; border-radius: 50%; flex: none; background: var(--lb-muted, #8a93a6); }
:host([data-state="live"]) .status { background: var(--lb-up, #3ecf8e); }
:host([data-state="reconnecting"]) .status, :host([data-state="connecting"]) .status { background: var(--lb-accent, #f5b942); }
:host([data-state="offline"]) .status { background: var(--lb-down, #ef5b5b); }
ol { list-style: none; margin: 0; padding: 0; display: grid; gap: 2px; }
li { display: grid; grid-template-columns: 2.5em 1fr auto; align-items: center; gap: var(--lb-gap, 0.75em);
     padding: 0.35em 0.6em; background: var(--lb-row-bg, rgba(255, 255, 255, 0.04)); border-radius: calc(var(--lb-radius, 12px) / 2); }
li:nth-child(even) { background: var(--lb-row-alt-bg, rgba(255, 255, 255, 0.07)); }
.rank { font-weight: 700; color: var(--lb-muted, #8a93a6); }
li[data-rank="1"] .rank { color: var(--lb-gold, #f5c542); }
li[data-rank="2"] .rank { color: var(--lb-silver, #c7d0dc); }
li[data-rank="3"] .rank { color: var(--lb-bronze, #d08a4f); }
.player { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.score { font-weight: 600; }
.empty, .problem { color: var(--lb-muted, #8a93a6); margin: 0.25em 0; }
.problem { color: var(--lb-down, #ef5b5b); }
.me { display: flex; align-items: baseline; gap: var(--lb-gap, 0.75em); }
.me .rank { font-size: 2.2em; color: var(--lb-accent, #f5b942); }
.moment[data-kind="up"] { color: var(--lb-up, #3ecf8e); }
.moment[data-kind="down"] { color: var(--lb-down, #ef5b5b); }
`;

let sheet: CSSStyleSheet | null | undefined;

function adoptStyle(root: ShadowRoot): void {
  if (sheet === undefined) {
    try {
      sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLE);
    } catch {
      sheet = null; // no constructable stylesheets: a <style> element instead
    }
  }
  if (sheet && "adoptedStyleSheets" in root) {
    root.adoptedStyleSheets = [sheet];
  } else {
    const style = document.createElement("style");
    style.textContent = STYLE;
    root.appendChild(style);
  }
}

interface Shared {
  client: LeaderboardClient;
  users: number;
}

const connections = new Map<string, Shared>();

function acquire(url: string, token: string): LeaderboardClient {
  const key = `${url}\n${token}`;
  let shared = connections.get(key);
  if (shared === undefined) {
    const client = new LeaderboardClient(url, token, { minBackoffMs: 250, maxBackoffMs: 10_000 }).start();
    globalThis.addEventListener?.("online", () => client.reconnectNow());
    shared = { client, users: 0 };
    connections.set(key, shared);
  }
  shared.users += 1;
  return shared.client;
}

function release(url: string, token: string): void {
  const key = `${url}\n${token}`;
  const shared = connections.get(key);
  if (shared === undefined) return;
  shared.users -= 1;
  if (shared.users <= 0) {
    connections.delete(key);
    void shared.client.close();
  }
}

function defaultUrl(): string {
  const origin = new URL(import.meta.url);
  return `${origin.protocol === "https:" ? "wss" : "ws"}://${origin.host}/ws`;
}

/** A duration as the countdown says it: "2d 03:04:05", "03:04:05", or "now" at zero. */
export function formatCountdown(ms: number): string {
  if (ms <= 0) return "now";
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  const clock = `${pad(Math.floor((s % 86400) / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return s >= 86400 ? `${Math.floor(s / 86400)}d ${clock}` : clock;
}

function formatScore(score: number): string {
  return Number(score).toLocaleString("en-US");
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, part: string, text = ""): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = part;
  node.setAttribute("part", part);
  if (text) node.textContent = text;
  return node;
}

const BaseElement: typeof HTMLElement = globalThis.HTMLElement ?? (class {} as unknown as typeof HTMLElement);

/** What both widgets share: attributes, the connection, the view, the status. */
abstract class LeaderboardElement extends BaseElement {
  static get observedAttributes(): string[] {
    return ["board", "n", "url", "token", "season", "heading"];
  }

  protected readonly root: ShadowRoot;
  protected readonly header = el("header", "header");
  protected readonly titleEl = el("span", "title");
  protected readonly statusDot = el("span", "status");
  protected readonly resetEl = el("span", "reset");
  protected readonly problem = el("p", "problem");
  private resetTimer: ReturnType<typeof setInterval> | undefined;
  private sub: Subscription | null = null;
  private offs: (() => void)[] = [];
  private connection: { url: string; token: string } | null = null;
  private pending = false;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: "open" });
    adoptStyle(this.root);
    this.statusDot.setAttribute("role", "status");
    this.resetEl.hidden = true;
    this.header.append(this.titleEl, this.resetEl, this.statusDot);
    this.problem.hidden = true;
    this.root.append(this.header, this.problem);
  }

  protected abstract viewOptions(): { view: "top" | "me"; n?: number };
  protected abstract render(state: ViewState): void;

  connectedCallback(): void {
    this.schedule();
  }

  disconnectedCallback(): void {
    this.teardown();
  }

  attributeChangedCallback(): void {
    if (this.isConnected) this.schedule();
  }

  /** Re-follow once per task, however many attributes changed in it. */
  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.teardown();
      if (this.isConnected) this.setup();
    });
  }

  private setup(): void {
    const board = this.getAttribute("board") ?? "";
    const token = this.getAttribute("token") ?? "";
    this.titleEl.textContent = this.getAttribute("heading") || board;
    if (!board || !token) {
      this.show("offline", !board ? "Set the board attribute." : "Set the token attribute.");
      return;
    }
    const url = this.getAttribute("url") || defaultUrl();
    const client = acquire(url, token);
    this.connection = { url, token };
    const season = this.getAttribute("season");
    const sub = client.follow(board, { ...this.viewOptions(), ...(season ? { season } : {}) });
    this.sub = sub;
    const status = () => {
      const state = client.status.state;
      if (state === "failed" || state === "closed") this.show("offline", client.status.error?.message ?? "");
      else if (state === "connected") this.show(sub.joined ? "live" : "connecting");
      else this.show(state);
    };
    this.offs.push(
      client.onStatus(status),
      sub.onState((state) => {
        this.dataset.seq = String(state.seq);
        this.problem.hidden = true;
        this.countDown(state.nextResetAt);
        this.render(state);
        status();
        this.dispatchEvent(new CustomEvent("leaderboard-state", { detail: state }));
      }),
      sub.onError((error: ServerError) => {
        this.show("offline", `${error.code}: ${error.serverMessage}`);
        this.dispatchEvent(new CustomEvent("leaderboard-error", { detail: error }));
      }),
    );
    if (sub.state) this.render(sub.state);
    status();
  }

  /** Count down to the season's end, once a second (hidden when it never resets). */
  private countDown(nextResetAt: string | null): void {
    if ((nextResetAt ?? "") === (this.resetEl.dataset.resetAt ?? "")) return;
    clearInterval(this.resetTimer);
    this.resetEl.dataset.resetAt = nextResetAt ?? "";
    this.resetEl.hidden = !nextResetAt;
    if (!nextResetAt) return;
    const due = Date.parse(nextResetAt);
    const tick = () => {
      const left = due - Date.now();
      this.resetEl.textContent = `resets in ${formatCountdown(left)}`;
      if (left <= 0) clearInterval(this.resetTimer);
    };
    this.resetTimer = setInterval(tick, 1000);
    tick();
  }

  private teardown(): void {
    clearInterval(this.resetTimer);
    for (const off of this.offs) off();
    this.offs = [];
    void this.sub?.close();
    this.sub = null;
    if (this.connection) release(this.connection.url, this.connection.token);
    this.connection = null;
  }

  private show(state: string, problem = ""): void {
    this.dataset.state = state;
    this.statusDot.title = state;
    this.problem.hidden = !problem;
    this.problem.textContent = problem;
  }
}

/** `<leaderboard-top board="arena" n="10">`: a board's live top n. */
export class LeaderboardTop extends LeaderboardElement {
  private readonly list = el("ol", "rows");
  private readonly empty = el("p", "empty", "No scores yet.");
  private readonly rows = new Map<string, HTMLLIElement>();

  constructor() {
    super();
    this.empty.hidden = true;
    this.root.append(this.list, this.empty);
  }

  protected viewOptions() {
    const n = Number.parseInt(this.getAttribute("n") ?? "10", 10);
    return { view: "top" as const, n: Math.min(100, Math.max(1, Number.isFinite(n) ? n : 10)) };
  }

  protected render(state: ViewState): void {
    const seen = new Set<string>();
    for (const entry of state.entries) {
      seen.add(entry.player);
      let row = this.rows.get(entry.player);
      if (row === undefined) {
        row = el("li", "row");
        row.append(el("span", "rank"), el("span", "player", entry.player), el("span", "score"));
        this.rows.set(entry.player, row);
      }
      row.dataset.player = entry.player;
      row.dataset.rank = String(entry.rank);
      row.dataset.tier = entry.tier ?? "";
      row.dataset.score = String(entry.score);
      row.children[0]!.textContent = String(entry.display_rank ?? entry.rank);
      row.children[2]!.textContent = formatScore(entry.score);
      this.list.appendChild(row); // moving an attached node: the list follows the ranks
    }
    for (const [player, row] of this.rows) {
      if (!seen.has(player)) {
        row.remove();
        this.rows.delete(player);
      }
    }
    this.empty.hidden = state.entries.length > 0;
  }
}

/** `<leaderboard-ticker board="arena">`: the token's player's live rank and score. */
export class LeaderboardTicker extends LeaderboardElement {
  private readonly me = el("div", "me");
  private readonly rank = el("span", "rank", "–");
  private readonly of = el("span", "of");
  private readonly score = el("span", "score");
  private readonly moment = el("p", "moment");
  private last: { rank: number; score: number } | null = null;

  constructor() {
    super();
    this.me.append(this.rank, this.of, this.score);
    this.root.append(this.me, this.moment);
  }

  protected viewOptions() {
    return { view: "me" as const };
  }

  protected render(state: ViewState): void {
    const me = state.me;
    this.me.dataset.rank = me ? String(me.rank) : "";
    this.me.dataset.tier = me?.tier ?? "";
    this.me.dataset.score = me ? String(me.score) : "";
    this.rank.textContent = me ? `#${me.display_rank ?? me.rank}` : "–";
    const tier = me?.tier ? ` · ${me.tier}` : "";
    this.of.textContent = me ? `of ${formatScore(state.total)}${tier}` : "no score yet";
    this.score.textContent = me ? formatScore(me.score) : "";
    if (me && this.last && !state.resynced && me.rank !== this.last.rank) {
      const up = me.rank < this.last.rank;
      this.moment.dataset.kind = up ? "up" : "down";
      this.moment.textContent = `${up ? "▲" : "▼"} ${Math.abs(this.last.rank - me.rank)} · #${this.last.rank} → #${me.rank}`;
    }
    this.last = me ? { rank: me.rank, score: me.score } : null;
  }
}

if (globalThis.customElements !== undefined) {
  if (!customElements.get("leaderboard-top")) customElements.define("leaderboard-top", LeaderboardTop);
  if (!customElements.get("leaderboard-ticker")) customElements.define("leaderboard-ticker", LeaderboardTicker);
}
