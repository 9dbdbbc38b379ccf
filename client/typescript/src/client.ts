/**
 * The client: one WebSocket, request/reply by `request_id`, live views with resync.
 *
 * - Every frame is dispatched in arrival order. Replies settle their request; view
 *   frames go through the view's ViewTracker (the sequence rule) and the states it
 *   produces go to the view's subscriptions (listeners, and a bounded queue for
 *   `for await`: when a consumer lags, the oldest states are dropped, which is safe
 *   because every state is complete).
 * - A subscribe's snapshot is applied before any later frame of its view, so no update
 *   slips between a snapshot and the stream that continues it.
 * - When the connection drops, every waiting request fails with ConnectionLost and the
 *   client redials with jittered exponential backoff (`minBackoffMs` doubling up to
 *   `maxBackoffMs`). After the redial every view is resubscribed; its fresh snapshot is
 *   the next state, marked `resynced`. A redial refused with 401/403 is final.
 * - `submit` always carries a submission id (generated when not given) and resends the
 *   very same message on ConnectionLost, RequestTimeout and retryable server errors
 *   (waiting at least the `retry_after_ms` the service asked for) until its time budget
 *   runs out, so a retry never counts twice.
 */

import { ConnectionLost, LeaderboardError, RequestTimeout, ServerError } from "./errors.js";
import { ForbiddenError, UnauthorizedError } from "./generated/errors.js";
import type { AckFrame, ScoreItem, SnapshotFrame } from "./generated/protocol.js";
import { OPEN, openSocket, textOf, webSocketClass, type SocketLike, type WebSocketConstructor } from "./socket.js";
import {
  Ack,
  BatchAck,
  MAX_BATCH,
  MAX_FRAME_BYTES,
  assertFits,
  batchMessages,
  newSubmissionId,
  submitMessage,
  type SubmitMessage,
} from "./submissions.js";
import { APPLIED, GAP, ViewTracker, type ViewFrame, type ViewKind, type ViewState } from "./tracking.js";
import { errorFromFrame, errorFromGateway, isGatewayError } from "./wire-errors.js";

export interface ClientOptions {
  /** How long a request waits for its reply (RequestTimeout). Default 10 s. */
  requestTimeoutMs?: number;
  /** How long a dial may take. Default 10 s. */
  openTimeoutMs?: number;
  /** Redial and retry backoff: doubling from min to max, with jitter. Default 100 ms, 5 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long a submit keeps retrying (same submission id). Default 120 s. */
  submitBudgetMs?: number;
  /** The largest message sent (API Gateway's frame limit). Default 32,768 bytes. */
  maxFrameBytes?: number;
  /** The most scores one batch message holds. Default 1,000. */
  maxBatch?: number;
  /** Resubscribe every view this often, which keeps a quiet connection under API
   * Gateway's 10-minute idle timeout and re-checks the state. Default 4 min; 0: never. */
  keepaliveMs?: number;
  /** States queued per subscription for `for await` before the oldest are dropped. */
  maxPendingStates?: number;
  /** A WebSocket class to use instead of the global one (or `ws` on Node 20). */
  WebSocket?: WebSocketConstructor;
  /** Called on every change of the connection's status. */
  onStatus?: (status: ConnectionStatus) => void;
}

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "failed" | "closed";

export interface ConnectionStatus {
  state: ConnectionState;
  /** Failed dials since the last success. */
  attempt: number;
  /** When reconnecting: the wait before the next dial. */
  retryInMs: number;
  /** Successful redials so far. */
  reconnects: number;
  /** What ended the connection for good (state "failed"). */
  error?: LeaderboardError;
}

export interface ViewOptions {
  /** `top` (n rows), `around` (player ± k) or `me` (the token's player). Default `top`. */
  view?: ViewKind;
  n?: number;
  player?: string;
  k?: number;
  season?: string;
  /** A state known before the subscribe answers (a REST snapshot: see `snapshotOf`):
   * shown first, and the subscription continues from its seq. */
  join?: ViewFrame;
}

export interface SubmitOptions {
  player?: string;
  metadata?: Record<string, unknown>;
  /** The idempotency key: the same id and scores never count twice. Default: random. */
  submissionId?: string;
  /** How long to keep retrying; default the client's `submitBudgetMs`. */
  budgetMs?: number;
}

export interface BatchOptions {
  submissionId?: string;
  budgetMs?: number;
}

type Frame = Record<string, unknown>;
type Listener<T> = (value: T) => void;

interface Pending {
  resolve: (frame: Frame) => void;
  reject: (error: Error) => void;
  onReply?: (frame: Frame) => void;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** One consumer of a live view: listeners (`onState`) and/or `for await (const state of sub)`.
 *
 * The first state is the snapshot (or the joined REST state); then one per applied
 * update, and a `resynced` state after every resync or reconnect. Iteration ends when the
 * subscription or the client closes, and throws the error that ended the view. */
export class Subscription implements AsyncIterable<ViewState> {
  private readonly queue: ViewState[] = [];
  private readonly stateListeners = new Set<Listener<ViewState>>();
  private readonly errorListeners = new Set<Listener<ServerError>>();
  private wake: (() => void) | null = null;
  private failure: Error | null = null;
  private ended = false;

  /** @internal */
  constructor(
    private readonly client: LeaderboardClient,
    /** @internal */ readonly view: LiveView,
    private readonly maxPending: number,
  ) {}

  /** The server's id of the view (known once a snapshot arrived). */
  get viewId(): string {
    return this.view.viewId;
  }

  /** The newest state of the view, whether consumed yet or not. */
  get state(): ViewState | null {
    return this.view.tracker.state;
  }

  /** Whether the view's snapshot arrived on the current connection. */
  get joined(): boolean {
    return this.view.joined;
  }

  /** Call `listener` with every new state; returns a function that removes it. */
  onState(listener: Listener<ViewState>): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Call `listener` when the service refuses the view (e.g. `unknown_player` for an
   * `around` view before the player's first score); the view waits for `resync()` or the
   * next reconnect. Returns a function that removes it. */
  onError(listener: Listener<ServerError>): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  /** Ask for a fresh snapshot now (after a refusal, or to re-check). */
  resync(): void {
    this.client.resyncView(this.view);
  }

  /** Stop following the view (unsubscribes when no other subscription follows it). */
  async close(): Promise<void> {
    if (this.ended) return;
    this.end();
    this.queue.length = 0;
    await this.client.release(this.view, this);
  }

  [Symbol.asyncIterator](): AsyncIterator<ViewState> {
    return {
      next: async () => {
        for (;;) {
          const state = this.queue.shift();
          if (state !== undefined) return { value: state, done: false };
          if (this.failure !== null) throw this.failure;
          if (this.ended) return { value: undefined, done: true };
          await new Promise<void>((resolve) => (this.wake = resolve));
        }
      },
      return: async () => {
        await this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** @internal */
  push(state: ViewState): void {
    if (this.ended) return;
    if (this.queue.length >= this.maxPending) {
      const dropped = this.queue.shift()!;
      if (dropped.resynced && this.queue.length) this.queue[0] = { ...this.queue[0]!, resynced: true };
      else if (dropped.resynced) state = { ...state, resynced: true };
    }
    this.queue.push(state);
    this.wakeUp();
    for (const listener of this.stateListeners) listener(state);
  }

  /** @internal */
  readonly joinListeners = new Set<() => void>();

  /** @internal */
  refuse(error: ServerError): void {
    for (const listener of this.errorListeners) listener(error);
  }

  /** @internal */
  fail(error: Error): void {
    this.failure = error;
    this.wakeUp();
  }

  /** @internal */
  end(): void {
    this.ended = true;
    this.wakeUp();
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** A view as the client keeps it: its subscribe message, tracker and subscriptions. @internal */
export class LiveView {
  viewId = "";
  joined = false;
  resyncing = false;
  refused = false;
  readonly tracker = new ViewTracker();
  readonly subscriptions = new Set<Subscription>();

  constructor(
    readonly key: string,
    readonly request: Frame,
  ) {}
}

/** A connection to the service. */
export class LeaderboardClient {
  readonly url: string;
  readonly requestTimeoutMs: number;
  readonly openTimeoutMs: number;
  readonly minBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly submitBudgetMs: number;
  readonly maxFrameBytes: number;
  readonly maxBatch: number;
  readonly keepaliveMs: number;
  readonly maxPendingStates: number;
  /** Successful redials so far. */
  reconnects = 0;

  private readonly dialUrl: string;
  private readonly implementation?: WebSocketConstructor;
  private readonly statusListeners = new Set<Listener<ConnectionStatus>>();
  private socket: SocketLike | null = null;
  private readonly pending = new Map<string, Pending>();
  private readonly views = new Map<string, LiveView>();
  private nextId = 1;
  private attempt = 0;
  private started = false;
  private closing = false;
  private failure: LeaderboardError | null = null;
  private readyWaiters = new Set<() => void>();
  private redialTimer: ReturnType<typeof setTimeout> | null = null;
  private keepaliveTimer: ReturnType<typeof setInterval> | null = null;
  private lastStatus: ConnectionStatus = { state: "connecting", attempt: 0, retryInMs: 0, reconnects: 0 };

  /** A client for `url` (`ws://127.0.0.1:8080/prod`, `wss://{api}.execute-api…/{stage}`); the
   * token travels as the `token` query parameter, the API's identity source. Call `open()`
   * (or use `LeaderboardClient.connect`) or `start()`. */
  constructor(url: string, token: string, options: ClientOptions = {}) {
    this.url = url;
    this.dialUrl = `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.openTimeoutMs = options.openTimeoutMs ?? 10_000;
    this.minBackoffMs = options.minBackoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 5_000;
    this.submitBudgetMs = options.submitBudgetMs ?? 120_000;
    this.maxFrameBytes = options.maxFrameBytes ?? MAX_FRAME_BYTES;
    this.maxBatch = options.maxBatch ?? MAX_BATCH;
    this.keepaliveMs = options.keepaliveMs ?? 240_000;
    this.maxPendingStates = options.maxPendingStates ?? 1024;
    this.implementation = options.WebSocket;
    if (options.onStatus) this.statusListeners.add(options.onStatus);
  }

  /** Connect; resolves once connected, rejects with the dial's error (a refused token:
   * UnauthorizedError or ForbiddenError where the WebSocket reports the status). */
  static async connect(url: string, token: string, options: ClientOptions = {}): Promise<LeaderboardClient> {
    const client = new LeaderboardClient(url, token, options);
    await client.open();
    return client;
  }

  /** Whether the socket is open and usable. */
  get connected(): boolean {
    return this.socket !== null && this.socket.readyState === OPEN && this.failure === null && !this.closing;
  }

  /** The connection's current status. */
  get status(): ConnectionStatus {
    return this.lastStatus;
  }

  /** Call `listener` on every status change; returns a function that removes it. */
  onStatus(listener: Listener<ConnectionStatus>): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Connect once; a failed dial rejects (no retry). Then reconnects on its own. */
  async open(): Promise<void> {
    if (this.started) throw new Error("the client is already open");
    this.started = true;
    this.setStatus("connecting");
    try {
      this.attach(await openSocket(await webSocketClass(this.implementation), this.dialUrl, this.openTimeoutMs));
    } catch (error) {
      this.started = false;
      this.setStatus("closed");
      throw error;
    }
  }

  /** Connect in the background, redialing with backoff until it succeeds (for pages and
   * widgets, which must outlive a server that is down when they load). */
  start(): this {
    if (this.started) throw new Error("the client is already open");
    this.started = true;
    this.setStatus("connecting");
    void this.redial(false);
    return this;
  }

  /** Dial now if waiting to redial (e.g. the browser came back online). */
  reconnectNow(): void {
    if (this.redialTimer === null || this.closing || this.failure) return;
    clearTimeout(this.redialTimer);
    this.redialTimer = null;
    void this.redial(false, true);
  }

  /** Close the socket: waiting requests fail with ConnectionLost, iterations end. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.redialTimer !== null) clearTimeout(this.redialTimer);
    this.stopKeepalive();
    const socket = this.socket;
    this.socket = null;
    if (socket !== null) {
      socket.onclose = socket.onmessage = socket.onerror = null;
      try {
        socket.close(1000, "client closed");
      } catch {
        /* already closed */
      }
    }
    this.failPending(new ConnectionLost("the client was closed"));
    for (const view of this.views.values()) for (const sub of view.subscriptions) sub.end();
    this.views.clear();
    this.wakeReady();
    this.setStatus("closed");
  }

  // --- requests -----------------------------------------------------------------------

  /** Send one protocol message and wait for its reply frame (error frames reject with
   * their ServerError); a `request_id` is added. */
  request(message: Frame, options: { timeoutMs?: number } = {}): Promise<Frame> {
    return this.send(message, options.timeoutMs ?? this.requestTimeoutMs);
  }

  private async send(message: Frame, timeoutMs: number, onReply?: (frame: Frame) => void): Promise<Frame> {
    if (!this.started && !this.closing) throw new Error("the client is not open: call open() or start()");
    const rid = `r${this.nextId++}`;
    const call = { settled: false };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RequestTimeout(`no reply to ${String(message.action)} in ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([timeout, this.exchange(rid, message, call, onReply)]);
    } finally {
      call.settled = true; // a request that timed out waiting for the connection is never sent
      clearTimeout(timer);
      this.pending.delete(rid);
    }
  }

  private async exchange(
    rid: string,
    message: Frame,
    call: { settled: boolean },
    onReply?: (frame: Frame) => void,
  ): Promise<Frame> {
    await this.ready();
    if (call.settled) throw new RequestTimeout("timed out before it was sent");
    this.checkUsable();
    const socket = this.socket!;
    const reply = new Promise<Frame>((resolve, reject) => {
      this.pending.set(rid, { resolve, reject, onReply });
    });
    try {
      socket.send(JSON.stringify({ ...message, request_id: rid }));
    } catch {
      throw new ConnectionLost("the connection dropped while sending");
    }
    const frame = await reply;
    if (frame.type === "error") throw errorFromFrame(frame);
    return frame;
  }

  private ready(): Promise<void> {
    if (this.connected || this.failure || this.closing) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.add(resolve));
  }

  private wakeReady(): void {
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const wake of waiters) wake();
  }

  private checkUsable(): void {
    if (this.failure) throw this.failure;
    if (this.closing) throw new ConnectionLost("the client is closed");
    if (!this.connected) throw new ConnectionLost("not connected");
  }

  // --- submissions --------------------------------------------------------------------

  /** Submit one score (for the token's player, or `player` with the server role).
   *
   * Acked after commit. Retries resend the same submission id until the time budget runs
   * out, so the service applies the score once; a retry's ack that hit an applied
   * submission has `replayed` set. */
  async submit(board: string, score: number, options: SubmitOptions = {}): Promise<Ack> {
    const message = submitMessage(board, score, options.submissionId ?? newSubmissionId(), options);
    assertFits(message, this.maxFrameBytes);
    return this.withRetry(message, Date.now() + (options.budgetMs ?? this.submitBudgetMs));
  }

  /** Submit scores of many players (server role), acked after commit. A batch that does
   * not fit one frame is split into parts with derived ids (see submissions.ts), sent in
   * order; each part is all or nothing, and a retry of the whole batch under the same id
   * replays the parts already applied. */
  async submitBatch(board: string, scores: readonly ScoreItem[] | readonly [string, number][], options: BatchOptions = {}): Promise<BatchAck> {
    const items: ScoreItem[] = scores.map((s) => (Array.isArray(s) ? { player: s[0], score: s[1] } : (s as ScoreItem)));
    const id = options.submissionId ?? newSubmissionId();
    const deadline = Date.now() + (options.budgetMs ?? this.submitBudgetMs);
    const parts: Ack[] = [];
    for (const message of batchMessages(board, items, id, { maxFrameBytes: this.maxFrameBytes, maxBatch: this.maxBatch })) {
      parts.push(await this.withRetry(message, deadline));
    }
    return new BatchAck(board, id, parts);
  }

  private async withRetry(message: SubmitMessage, deadline: number): Promise<Ack> {
    for (let attempt = 0; ; attempt++) {
      const left = deadline - Date.now();
      try {
        const frame = await this.send(message as unknown as Frame, Math.max(1, Math.min(this.requestTimeoutMs, left)));
        return Ack.of(frame as unknown as AckFrame);
      } catch (error) {
        const retryable =
          error instanceof ConnectionLost ||
          error instanceof RequestTimeout ||
          (error instanceof ServerError && error.retryable);
        if (!retryable || this.closing || this.failure) throw error;
        const wait = Math.max(this.backoff(attempt), error instanceof ServerError ? (error.retryAfterMs ?? 0) : 0);
        if (Date.now() + wait >= deadline) throw error;
        await sleep(wait);
      }
    }
  }

  /** The wait before retry or redial number `attempt` (0-based): doubling, with jitter. */
  backoff(attempt: number): number {
    const base = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** attempt);
    return base * (0.5 + Math.random() / 2);
  }

  // --- views --------------------------------------------------------------------------

  /** Follow a view and wait for its first state: `top` (n rows), `around` (player ± k)
   * or `me`. Rejects with the service's error when it refuses the view. */
  async subscribe(board: string, options: ViewOptions = {}): Promise<Subscription> {
    const sub = this.follow(board, options);
    if (sub.view.tracker.state !== null && sub.view.joined) return sub;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        sub.joinListeners.delete(joined);
        offError();
        clearTimeout(timer);
      };
      const joined = () => {
        done();
        resolve();
      };
      sub.joinListeners.add(joined); // the snapshot arrived (shown, or older than a joined state)
      const offError = sub.onError((error) => {
        done();
        void sub.close();
        reject(error);
      });
      const timer = setTimeout(() => {
        done();
        void sub.close();
        reject(new RequestTimeout(`no snapshot of ${board} in ${this.requestTimeoutMs} ms`));
      }, this.requestTimeoutMs);
      if (this.failure) {
        done();
        reject(this.failure);
      }
    });
    return sub;
  }

  /** Follow a view without waiting: it is subscribed whenever the client is connected,
   * its states go to `onState` listeners and `for await`, and a refusal goes to
   * `onError` listeners (the view then waits for `resync()` or the next reconnect). */
  follow(board: string, options: ViewOptions = {}): Subscription {
    if (this.closing) throw new ConnectionLost("the client is closed");
    const view = options.view ?? "top";
    const request: Frame = { action: "subscribe", board, view };
    if (view === "top") request.n = options.n ?? 10;
    if (view === "around") request.k = options.k ?? 5;
    if (options.player !== undefined) request.player = options.player;
    if (options.season !== undefined) request.season = options.season;
    const key = JSON.stringify(request);
    let live = this.views.get(key);
    const fresh = live === undefined;
    if (live === undefined) {
      live = new LiveView(key, request);
      this.views.set(key, live);
    }
    const sub = new Subscription(this, live, this.maxPendingStates);
    live.subscriptions.add(sub);
    if (options.join && live.tracker.apply(options.join) === APPLIED) this.publish(live);
    else if (live.tracker.state !== null) sub.push(live.tracker.state);
    if (fresh || live.refused) this.resyncView(live);
    return sub;
  }

  /** @internal */
  resyncView(view: LiveView): void {
    if (view.resyncing || this.closing || this.views.get(view.key) !== view) return;
    view.resyncing = true;
    void this.resubscribe(view);
  }

  private async resubscribe(view: LiveView): Promise<void> {
    for (let attempt = 0; !this.closing && this.views.get(view.key) === view; attempt++) {
      try {
        await this.send(view.request, this.requestTimeoutMs, (frame) => this.applyFrame(view, frame));
        view.resyncing = false;
        return;
      } catch (error) {
        if (error instanceof ConnectionLost) {
          view.resyncing = false; // the redial resubscribes every view
          return;
        }
        if (error instanceof ServerError && !(error.retryable && this.failure === null)) {
          view.resyncing = false;
          view.refused = true;
          view.joined = true; // answered: a refused view does not hold up "live"
          for (const sub of view.subscriptions) sub.refuse(error);
          return;
        }
        if (this.failure) {
          view.resyncing = false;
          return;
        }
        await sleep(this.backoff(attempt));
      }
    }
    view.resyncing = false;
  }

  /** @internal */
  async release(view: LiveView, sub: Subscription): Promise<void> {
    view.subscriptions.delete(sub);
    if (view.subscriptions.size || this.views.get(view.key) !== view) return;
    this.views.delete(view.key);
    const shared = [...this.views.values()].some((v) => v.viewId === view.viewId);
    if (!view.viewId || shared || !this.connected) return;
    try {
      await this.send({ action: "unsubscribe", view_id: view.viewId }, this.requestTimeoutMs);
    } catch {
      /* the view ends with the connection anyway */
    }
  }

  private publish(view: LiveView): void {
    const state = view.tracker.state;
    if (state === null) return;
    for (const sub of view.subscriptions) sub.push(state);
  }

  private applyFrame(view: LiveView, frame: Frame): void {
    const outcome = view.tracker.apply(frame as unknown as ViewFrame);
    if (frame.type === "snapshot") {
      view.viewId = String((frame as unknown as SnapshotFrame).view_id);
      view.joined = true;
      view.refused = false;
    }
    if (outcome === APPLIED) this.publish(view);
    else if (outcome === GAP) this.resyncView(view);
    if (frame.type === "snapshot") {
      for (const sub of view.subscriptions) for (const joined of [...sub.joinListeners]) joined();
    }
  }

  // --- the socket ---------------------------------------------------------------------

  private attach(socket: SocketLike): void {
    this.socket = socket;
    this.attempt = 0;
    socket.onmessage = (event) => this.dispatch(event.data);
    socket.onerror = () => {};
    socket.onclose = (event) => this.lost(socket, event.code);
    this.setStatus("connected");
    this.startKeepalive();
    this.wakeReady();
  }

  private lost(socket: SocketLike, code: number): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.stopKeepalive();
    this.failPending(new ConnectionLost(`the connection dropped (${code})`));
    for (const view of this.views.values()) {
      view.tracker.lostConnection();
      view.joined = false;
      view.resyncing = false;
    }
    if (!this.closing) void this.redial(true);
  }

  private async redial(reconnecting: boolean, now = false): Promise<void> {
    if (this.closing || this.failure) return;
    if (!now && (reconnecting || this.attempt > 0)) {
      const wait = this.backoff(this.attempt);
      this.setStatus("reconnecting", wait);
      await new Promise<void>((resolve) => {
        this.redialTimer = setTimeout(() => {
          this.redialTimer = null;
          resolve();
        }, wait);
      });
      if (this.closing) return;
    }
    let socket: SocketLike;
    try {
      socket = await openSocket(await webSocketClass(this.implementation), this.dialUrl, this.openTimeoutMs);
    } catch (error) {
      if (this.closing) return;
      if (error instanceof UnauthorizedError || error instanceof ForbiddenError) {
        this.fail(error);
        return;
      }
      if (!(error instanceof LeaderboardError)) {
        this.fail(new ConnectionLost(String(error instanceof Error ? error.message : error)));
        return;
      }
      this.attempt += 1;
      void this.redial(true);
      return;
    }
    if (this.closing) {
      socket.close(1000, "client closed");
      return;
    }
    if (reconnecting) this.reconnects += 1;
    this.attach(socket);
    for (const view of this.views.values()) this.resyncView(view); // the server forgot them
  }

  private fail(error: LeaderboardError): void {
    this.failure = error;
    this.failPending(error);
    for (const view of this.views.values()) for (const sub of view.subscriptions) sub.fail(error);
    this.wakeReady();
    this.setStatus("failed", 0, error);
  }

  private failPending(error: Error): void {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(error);
  }

  private startKeepalive(): void {
    this.stopKeepalive();
    if (this.keepaliveMs <= 0) return;
    this.keepaliveTimer = setInterval(() => {
      for (const view of this.views.values()) this.resyncView(view);
    }, this.keepaliveMs);
    (this.keepaliveTimer as { unref?: () => void }).unref?.();
  }

  private stopKeepalive(): void {
    if (this.keepaliveTimer !== null) clearInterval(this.keepaliveTimer);
    this.keepaliveTimer = null;
  }

  private setStatus(state: ConnectionState, retryInMs = 0, error?: LeaderboardError): void {
    this.lastStatus = { state, attempt: this.attempt, retryInMs, reconnects: this.reconnects, ...(error ? { error } : {}) };
    for (const listener of this.statusListeners) listener(this.lastStatus);
  }

  private dispatch(data: unknown): void {
    const text = textOf(data);
    if (text === null) return;
    let frame: Frame;
    try {
      const parsed: unknown = JSON.parse(text);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) return;
      frame = parsed as Frame;
    } catch {
      return;
    }
    const pending = typeof frame.request_id === "string" ? this.pending.get(frame.request_id) : undefined;
    if (pending !== undefined) {
      this.pending.delete(frame.request_id as string);
      if (pending.onReply && frame.type !== "error") pending.onReply(frame);
      pending.resolve(frame);
      return;
    }
    if (frame.type === "update" || frame.type === "snapshot") {
      for (const view of this.views.values()) {
        if (view.viewId && view.viewId === frame.view_id) this.applyFrame(view, frame);
      }
    } else if (isGatewayError(frame)) {
      // API Gateway's answer to a crashed route has no request_id: it can only be
      // attributed when one request is waiting; otherwise the requests time out.
      if (this.pending.size === 1) {
        const [[rid, only]] = [...this.pending.entries()] as [[string, Pending]];
        this.pending.delete(rid);
        only.reject(errorFromGateway(frame));
      }
    }
  }
}
