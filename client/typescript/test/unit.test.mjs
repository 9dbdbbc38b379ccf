// The client's pure parts, without a server: the sequence rule, batch splitting and
// derived submission ids, errors from the wire, REST snapshots as join states.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  Ack,
  BadRequestError,
  ClientError,
  ConflictError,
  ERROR_CLASSES,
  InternalError,
  LeaderboardClient,
  MessageTooLargeError,
  NotFoundError,
  PayloadTooLargeError,
  ServerError,
  SubmissionConflictError,
  UnavailableError,
  UnknownBoardError,
  ViewTracker,
  batchMessages,
  errorFromFrame,
  errorFromProblem,
  partId,
  snapshotOf,
} from "../dist/index.js";
import { REPO } from "./support.mjs";

function frame(type, seq, prev, ...players) {
  const f = {
    type, view_id: "top:arena:s1:3", board: "arena", season: "s1", view: "top", seq, total: players.length,
    entries: players.map((p, i) => ({ player: p, score: 10 - i, rank: i + 1 })),
  };
  if (prev !== null) f.prev_seq = prev;
  return f;
}

describe("the sequence rule", () => {
  test("snapshots, applied updates, stale re-sends, gaps and reconnects give the Python SDK's outcomes", () => {
    // The same script as tests/web/test_tracker_parity.py runs through the Python tracker.
    const script = [
      [frame("update", 3, 2, "a"), "gap"],
      [frame("snapshot", 5, null, "a", "b"), "applied"],
      [frame("update", 6, 5, "b", "a"), "applied"],
      [frame("update", 6, 5, "b", "a"), "stale"],
      [frame("update", 4, 3, "a"), "stale"],
      [frame("update", 9, 7, "c"), "gap"],
      [frame("snapshot", 4, null, "a"), "stale"],
      [frame("snapshot", 9, null, "c", "b", "a"), "applied"],
      ["lost"],
      [frame("snapshot", 9, null, "c", "b", "a"), "applied"],
      [frame("update", 10, 9, "c", "a", "b"), "applied"],
    ];
    const tracker = new ViewTracker();
    const resynced = [];
    for (const [step, expected] of script) {
      if (step === "lost") {
        tracker.lostConnection();
        continue;
      }
      assert.equal(tracker.apply(step), expected, JSON.stringify(step));
      resynced.push(tracker.state ? tracker.state.resynced : false);
    }
    assert.deepEqual(resynced, [false, true, false, false, false, false, false, true, true, false]);
    assert.deepEqual(tracker.state.entries.map((e) => e.player), ["c", "a", "b"]);
    assert.equal(tracker.seq, 10);
  });
});

describe("batches", () => {
  const players = Array.from({ length: 1000 }, (_, i) => `${crypto.randomUUID()}-${i}`);
  const scores = players.map((player, i) => ({ player, score: 1_000_000 - i, metadata: { match: "m-42", slot: i } }));

  test("a batch over one frame splits into parts that each fit 32,768 bytes, in order", () => {
    const parts = batchMessages("arena", scores, "match-42");
    assert.ok(parts.length >= 3, `expected several parts, got ${parts.length}`);
    for (const part of parts) {
      const bytes = new TextEncoder().encode(JSON.stringify({ ...part, request_id: "r".repeat(64) })).length;
      assert.ok(bytes <= 32_768, `a part of ${bytes} bytes`);
    }
    assert.deepEqual(parts.flatMap((p) => p.scores.map((s) => s.player)), players);
    assert.deepEqual(parts.map((p) => p.submission_id), parts.map((_, i) => `match-42.${i + 1}of${parts.length}`));
  });

  test("the split is deterministic, so a retry under the same id replays the same parts", () => {
    assert.deepEqual(batchMessages("arena", scores, "match-42"), batchMessages("arena", scores, "match-42"));
  });

  test("a batch that fits keeps its id; the score cap splits too", () => {
    const small = scores.slice(0, 10).map(({ player, score }) => ({ player, score }));
    const [only] = batchMessages("arena", small, "m1");
    assert.equal(only.submission_id, "m1");
    const capped = batchMessages("arena", small, "m1", { maxBatch: 4 });
    assert.deepEqual(capped.map((p) => p.scores.length), [4, 4, 2]);
  });

  test("derived ids stay valid submission ids, however long the given one", () => {
    const long = "x".repeat(128);
    const id = partId(long, 3, 12);
    assert.ok(id.length <= 128 && /^[A-Za-z0-9_.:-]{1,128}$/.test(id), id);
    assert.notEqual(partId(long, 3, 12), partId(`${"x".repeat(127)}y`, 3, 12));
  });

  test("a score that cannot fit any frame is refused before sending", () => {
    const huge = [{ player: "p", score: 1, metadata: { blob: "z".repeat(40_000) } }];
    assert.throws(() => batchMessages("arena", huge, "m"), MessageTooLargeError);
  });
});

describe("errors", () => {
  test("an error frame becomes the class of its code, under the class of its kind", () => {
    const error = errorFromFrame({ type: "error", error: { code: "unknown_board", status: 404, message: "no board" } });
    assert.ok(error instanceof UnknownBoardError && error instanceof NotFoundError && error instanceof ClientError);
    assert.equal(error.code, "unknown_board");
    assert.equal(error.retryable, false);
    const conflict = errorFromFrame({ type: "error", error: { code: "submission_conflict", status: 409, message: "" } });
    assert.ok(conflict instanceof SubmissionConflictError && conflict instanceof ConflictError);
    assert.ok(new MessageTooLargeError("message_too_large", 413, "") instanceof PayloadTooLargeError);
    assert.ok(PayloadTooLargeError.prototype instanceof BadRequestError);
  });

  test("every code of the committed catalogue has a class with its status and retryability", async () => {
    const doc = JSON.parse(await readFile(join(REPO, "docs", "asyncapi.json"), "utf8"));
    for (const option of doc.components.schemas.ErrorCode.oneOf) {
      const cls = ERROR_CLASSES[option.const];
      assert.ok(cls, option.const);
      assert.equal(cls.status, option["x-status"], option.const);
      const error = errorFromFrame({ error: { code: option.const, status: option["x-status"], message: "m" } });
      assert.ok(error instanceof cls, option.const);
      assert.equal(error.retryable, option["x-retryable"], option.const);
    }
  });

  test("retry_after_ms is kept (in the body or its details); an unknown code falls back to its status", () => {
    const busy = errorFromFrame({ error: { code: "overloaded", status: 503, message: "busy", retry_after_ms: 750 } });
    assert.ok(busy instanceof UnavailableError && busy.retryable);
    assert.equal(busy.retryAfterMs, 750);
    const limited = errorFromFrame({ error: { code: "rate_limited", status: 429, message: "slow", details: { retry_after_ms: 40 } } });
    assert.ok(limited instanceof ClientError && limited.retryable);
    assert.equal(limited.retryAfterMs, 40);
    const plain = errorFromFrame({ error: { code: "internal", status: 500, message: "x" } });
    assert.ok(plain instanceof InternalError && plain.retryAfterMs === null && plain.retryable);
    const rest = errorFromProblem(503, { code: "unavailable", status: 503, detail: "down" }, "2");
    assert.equal(rest.retryAfterMs, 2000);
    assert.ok(rest instanceof ServerError);
  });

  test("a retry waits at least what retry_after_ms asks", () => {
    const client = new LeaderboardClient("ws://127.0.0.1:1/prod", "t", { minBackoffMs: 10, maxBackoffMs: 40 });
    for (let attempt = 0; attempt < 8; attempt++) {
      const wait = client.backoff(attempt);
      assert.ok(wait >= 5 && wait <= 40, `attempt ${attempt}: ${wait}`);
    }
  });
});

describe("REST snapshots", () => {
  test("a top page, an around page and a standing become join states at their as_of_seq", () => {
    const entry = (player_id, rank, score) => ({
      player_id, rank, score, display_rank: rank, percentile: 100 * (3 - rank) / 2, tier: rank === 1 ? "Gold" : null,
      achieved_at: "", updates: 1,
    });
    const top = {
      board: "arena", season: "s1", as_of_seq: 7, total: 2, entries: [entry("a", 1, 9), entry("b", 2, 5)], next_cursor: null,
      next_reset_at: "2026-12-07T00:00:00Z",
    };
    assert.deepEqual(snapshotOf(top), {
      type: "snapshot", board: "arena", season: "s1", seq: 7, total: 2, view: "top",
      next_reset_at: "2026-12-07T00:00:00Z",
      entries: [
        { player: "a", score: 9, rank: 1, display_rank: 1, percentile: 100, tier: "Gold" },
        { player: "b", score: 5, rank: 2, display_rank: 2, percentile: 50 },
      ],
    });
    const around = { ...top, player: "b", next_reset_at: null };
    assert.deepEqual(snapshotOf(around).me, { player: "b", score: 5, rank: 2, display_rank: 2, percentile: 50 });
    assert.equal(snapshotOf(around).next_reset_at, undefined);
    const standing = { board: "arena", season: "s1", as_of_seq: 7, total: 2, entry: entry("b", 2, 5), percentile: 50 };
    assert.equal(snapshotOf(standing).view, "me");
    const tracker = new ViewTracker();
    assert.equal(tracker.apply(snapshotOf(top)), "applied");
    assert.equal(tracker.apply({ ...frame("update", 8, 7, "b", "a") }), "applied");
  });

  test("an ack knows its one result and whether it was replayed", () => {
    const ack = Ack.of({ type: "ack", board: "arena", submission_id: "s", results: [{ player: "a", score: 1, rank: 1, total: 1, improved: true, replayed: true }] });
    assert.equal(ack.result.rank, 1);
    assert.ok(ack.replayed);
  });
});
