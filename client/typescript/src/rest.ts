/**
 * REST snapshot helpers: typed reads of the REST API (types generated from
 * docs/openapi.json), and `snapshotOf` to join a live view from a snapshot.
 *
 * Every snapshot carries `as_of_seq`, the board sequence number it includes. Show it at
 * once, then `client.subscribe(board, { view, join: snapshotOf(page) })`: the live view
 * starts from that state, and the subscribe snapshot (or the first update) continues
 * from its seq by the usual rule, so the screen never steps back.
 *
 * Errors are the same classes as on the WebSocket (problem+json `code` and `status`),
 * with `retryAfterMs` from the body or the `Retry-After` header.
 */

import type { components } from "./generated/openapi.js";
import { entryOf, type ViewFrame, type ViewKind } from "./tracking.js";
import { errorFromProblem } from "./wire-errors.js";

type Schemas = components["schemas"];
export type BoardList = Schemas["BoardList"];
export type BoardSummary = Schemas["BoardSummary"];
export type BoardDetail = Schemas["BoardDetail"];
export type SeasonList = Schemas["SeasonList"];
export type TopPage = Schemas["TopPage"];
export type AroundPage = Schemas["AroundPage"];
export type PlayerStanding = Schemas["PlayerStanding"];
export type FriendsPage = Schemas["FriendsPage"];
export type RestEntry = Schemas["Entry"];
export type CreateBoard = Schemas["CreateBoard"];
export type Problem = Schemas["Problem"];

export interface RestOptions {
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

type Query = Record<string, string | number | undefined | null>;

/** The REST API at `baseUrl` (`http://127.0.0.1:8080`, `https://{api}.execute-api…/{stage}`). */
export class RestClient {
  private readonly base: string;
  private readonly fetcher: typeof fetch;

  constructor(
    baseUrl: string,
    private readonly token: string,
    options: RestOptions = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, "");
    this.fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Any route: the parsed body, or the service's error (a ServerError subclass). */
  async call<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined && value !== null) params.set(key, String(value));
    }
    const query = params.toString();
    const headers: Record<string, string> = { Authorization: `Bearer ${this.token}`, Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.fetcher(`${this.base}${path}${query ? `?${query}` : ""}`, {
      method,
      headers,
      cache: "no-store",
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw errorFromProblem(response.status, body, response.headers.get("Retry-After"));
    return body as T;
  }

  listBoards(): Promise<BoardList> {
    return this.call("GET", "/v1/boards");
  }

  board(board: string, options: { season?: string } = {}): Promise<BoardDetail> {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}`, { query: options });
  }

  seasons(board: string): Promise<SeasonList> {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/seasons`);
  }

  /** A page of the ladder in rank order (`limit` ≤ 1000; `cursor` from `next_cursor`). */
  top(board: string, options: { limit?: number; cursor?: string; season?: string } = {}): Promise<TopPage> {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/top`, { query: options });
  }

  player(board: string, player: string, options: { season?: string } = {}): Promise<PlayerStanding> {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/players/${encodeURIComponent(player)}`, {
      query: options,
    });
  }

  around(board: string, player: string, options: { k?: number; season?: string } = {}): Promise<AroundPage> {
    return this.call(
      "GET",
      `/v1/boards/${encodeURIComponent(board)}/players/${encodeURIComponent(player)}/around`,
      { query: options },
    );
  }

  friends(board: string, players: readonly string[], options: { season?: string } = {}): Promise<FriendsPage> {
    return this.call("GET", `/v1/boards/${encodeURIComponent(board)}/friends`, {
      query: { ...options, players: players.join(",") },
    });
  }

  /** Create a board (admin token). */
  createBoard(spec: CreateBoard): Promise<BoardDetail> {
    return this.call("POST", "/v1/boards", { body: spec });
  }
}

function viewEntry(e: RestEntry) {
  return entryOf({
    player: e.player_id,
    score: e.score,
    rank: e.rank,
    display_rank: e.display_rank,
    percentile: e.percentile,
    ...(e.tier != null ? { tier: e.tier } : {}),
  });
}

function viewEntries(entries: readonly RestEntry[]) {
  return entries.map(viewEntry);
}

/** A REST snapshot as the state of a live view at its `as_of_seq`, to pass as `join`:
 * a top page for `top`, a player's around page for `around`, a standing for `me`. */
export function snapshotOf(page: TopPage | AroundPage | PlayerStanding): ViewFrame {
  const base = {
    type: "snapshot" as const,
    board: page.board,
    season: page.season,
    seq: page.as_of_seq,
    total: page.total,
    ...(page.next_reset_at != null ? { next_reset_at: page.next_reset_at } : {}),
  };
  if ("entry" in page) {
    const me = viewEntry(page.entry);
    return { ...base, view: "me" satisfies ViewKind, entries: [], me };
  }
  const entries = viewEntries(page.entries);
  if ("player" in page) {
    const me = entries.find((e) => e.player === page.player);
    return { ...base, view: "around" satisfies ViewKind, entries, ...(me ? { me } : {}) };
  }
  return { ...base, view: "top" satisfies ViewKind, entries };
}
