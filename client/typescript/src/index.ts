/**
 * The TypeScript client of the leaderboard service.
 *
 *     const lb = await LeaderboardClient.connect("ws://127.0.0.1:8080/prod", token);
 *     const ack = await lb.submit("arena", 1200);
 *     for await (const state of await lb.subscribe("arena", { view: "top", n: 10 })) {
 *       console.log(state.seq, state.entries);
 *     }
 *
 * Modules, by what they own: `tracking` (the sequence rule, no I/O), `submissions`
 * (messages, batch splitting, acks), `errors` and the generated error classes (one per
 * code), `client` (the socket, retries, reconnects and resubscription), `rest` (REST
 * snapshots and joining a live view from one). The guide is docs/sdk-typescript.md.
 */

export { Ack, BatchAck, MAX_BATCH, MAX_FRAME_BYTES, batchMessages, newSubmissionId, partId } from "./submissions.js";
export type { AckResult, ScoreItem } from "./submissions.js";
export { LeaderboardClient, Subscription } from "./client.js";
export type {
  BatchOptions,
  ClientOptions,
  ConnectionState,
  ConnectionStatus,
  SubmitOptions,
  ViewOptions,
} from "./client.js";
export { APPLIED, GAP, STALE, ViewTracker } from "./tracking.js";
export type { Entry, Outcome, ViewFrame, ViewKind, ViewState } from "./tracking.js";
export { ConnectionLost, LeaderboardError, RequestTimeout, ServerError } from "./errors.js";
export * from "./generated/errors.js";
export { errorFromBody, errorFromFrame, errorFromProblem } from "./wire-errors.js";
export { RestClient, snapshotOf } from "./rest.js";
export type {
  AroundPage,
  BoardDetail,
  BoardList,
  BoardSummary,
  CreateBoard,
  FriendsPage,
  PlayerStanding,
  Problem,
  RestEntry,
  RestOptions,
  SeasonList,
  TopPage,
} from "./rest.js";
export type { SocketLike, WebSocketConstructor } from "./socket.js";
export type * as protocol from "./generated/protocol.js";
export type * as openapi from "./generated/openapi.js";
