/**
 * Submissions: the `submit` messages a call sends, how a large batch is split to fit
 * API Gateway's frames, and the typed ack it gets back.
 *
 * Every submit carries a submission id (generated when the caller gives none). The
 * service stores the first result under that id for a day: a retry of the same message
 * (same id, same scores) answers that first result again with `replayed: true` and never
 * counts twice; the same id with other scores is a `SubmissionConflictError`.
 *
 * A batch whose message would not fit one frame (32,768 bytes on API Gateway; a bigger
 * frame closes the connection with 1009) or holds more scores than a batch may is split
 * into parts, in order, each as large as fits. Part i of n is submitted under the
 * derived id `<id>.<i>of<n>` (ids longer than fits are shortened with a hash of the
 * whole id), so the same batch under the same id splits the same way and every part
 * replays on a retry, even from another process. Each part commits on its own.
 */

import type { AckFrame, AckResult, ScoreItem } from "./generated/protocol.js";
import { MessageTooLargeError } from "./generated/errors.js";

export type { AckResult, ScoreItem };

/** API Gateway's WebSocket frame limit, in bytes. */
export const MAX_FRAME_BYTES = 32_768;
/** The service's default cap on scores per batch. */
export const MAX_BATCH = 1000;
/** The longest submission id the service accepts. */
export const MAX_SUBMISSION_ID = 128;
/** The longest request id the service echoes; messages are sized with room for one. */
export const MAX_REQUEST_ID = 64;

const encoder = new TextEncoder();

/** Bytes of a string as UTF-8 (what a frame carries). */
export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** A fresh submission id: 32 hex digits of randomness (no secure context needed). */
export function newSubmissionId(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The reply to a submit, sent only after its transaction committed. */
export class Ack {
  constructor(
    readonly board: string,
    readonly submissionId: string | null,
    readonly results: readonly AckResult[],
  ) {}

  static of(frame: AckFrame): Ack {
    const results = (frame.results ?? []).map((r) => ({
      player: r.player,
      score: r.score,
      rank: r.rank,
      total: r.total,
      improved: Boolean(r.improved),
      replayed: Boolean(r.replayed),
      ...(r.percentile != null ? { percentile: r.percentile } : {}),
    }));
    return new Ack(frame.board, frame.submission_id ?? null, results);
  }

  /** True when this answers a retry of a submission the service already applied. */
  get replayed(): boolean {
    return this.results.length > 0 && this.results.every((r) => r.replayed);
  }

  /** The one result of a single-score submit. */
  get result(): AckResult {
    if (this.results.length !== 1) {
      throw new RangeError(`expected one result, got ${this.results.length}: use .results`);
    }
    return this.results[0]!;
  }
}

/** The acks of a batch: one per part (one part unless it had to be split). */
export class BatchAck extends Ack {
  constructor(
    board: string,
    submissionId: string,
    readonly parts: readonly Ack[],
  ) {
    super(board, submissionId, parts.flatMap((p) => p.results));
  }
}

export interface SubmitFields {
  player?: string;
  metadata?: Record<string, unknown>;
}

export interface SubmitMessage {
  action: "submit";
  board: string;
  submission_id: string;
  score?: number;
  player?: string;
  metadata?: Record<string, unknown>;
  scores?: ScoreItem[];
}

/** A single-score submit (for the token's player unless `player` is named). */
export function submitMessage(board: string, score: number, submissionId: string, fields: SubmitFields = {}): SubmitMessage {
  const message: SubmitMessage = { action: "submit", board, score, submission_id: submissionId };
  if (fields.player !== undefined) message.player = fields.player;
  if (fields.metadata !== undefined) message.metadata = fields.metadata;
  return message;
}

/** The bytes a message takes on the wire with the longest request id added. */
export function wireBytes(message: object): number {
  return byteLength(JSON.stringify({ ...message, request_id: "r".repeat(MAX_REQUEST_ID) }));
}

/** Refuse, before sending, a message no frame can carry (the service would close the
 * connection with 1009). */
export function assertFits(message: object, maxFrameBytes: number): void {
  const size = wireBytes(message);
  if (size > maxFrameBytes) {
    throw new MessageTooLargeError(
      "message_too_large",
      413,
      `a submit of ${size} bytes does not fit a ${maxFrameBytes}-byte frame (smaller metadata?)`,
    );
  }
}

function fnv1a(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of encoder.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}

/** The submission id of part `index` (1-based) of `count` of a batch submitted as `id`. */
export function partId(id: string, index: number, count: number): string {
  if (count === 1) return id;
  const suffix = `.${index}of${count}`;
  if (id.length + suffix.length <= MAX_SUBMISSION_ID) return id + suffix;
  const keep = MAX_SUBMISSION_ID - suffix.length - 9;
  return `${id.slice(0, keep)}-${fnv1a(id)}${suffix}`;
}

export interface SplitLimits {
  maxFrameBytes?: number;
  maxBatch?: number;
}

/** A batch as the messages to send: one when it fits, else parts in order, each with its
 * derived id. Deterministic: the same scores, id and limits give the same parts. */
export function batchMessages(board: string, scores: readonly ScoreItem[], submissionId: string, limits: SplitLimits = {}): SubmitMessage[] {
  const maxFrameBytes = limits.maxFrameBytes ?? MAX_FRAME_BYTES;
  const maxBatch = limits.maxBatch ?? MAX_BATCH;
  if (scores.length === 0) throw new RangeError("a batch needs at least one score");
  const items = scores.map((s) => {
    const item: ScoreItem = { player: s.player, score: s.score };
    if (s.metadata !== undefined && s.metadata !== null) item.metadata = s.metadata;
    return item;
  });
  // Size every part with the longest id a part may get, so the split never depends on
  // how many parts there turn out to be.
  const longestId = "x".repeat(Math.max(submissionId.length, Math.min(MAX_SUBMISSION_ID, submissionId.length + 16)));
  const envelope = wireBytes({ action: "submit", board, submission_id: longestId, scores: [] });
  const groups: ScoreItem[][] = [];
  let group: ScoreItem[] = [];
  let size = envelope;
  for (const item of items) {
    const itemBytes = byteLength(JSON.stringify(item)) + (group.length ? 1 : 0);
    if (group.length && (size + itemBytes > maxFrameBytes || group.length >= maxBatch)) {
      groups.push(group);
      group = [];
      size = envelope;
    }
    const first = byteLength(JSON.stringify(item));
    if (envelope + first > maxFrameBytes) {
      throw new MessageTooLargeError(
        "message_too_large",
        413,
        `the score of ${item.player} alone takes ${envelope + first} bytes, over a ${maxFrameBytes}-byte frame`,
      );
    }
    size += group.length ? itemBytes : first;
    group.push(item);
  }
  groups.push(group);
  return groups.map((part, i) => ({
    action: "submit",
    board,
    submission_id: partId(submissionId, i + 1, groups.length),
    scores: part,
  }));
}
