// The client against the real local runtime (`leaderboard up` on a free port, temp data
// dir): connecting, submits and their retries, batches split to fit frames, the three
// views, the sequence rule with a forced gap, reconnects, typed errors, REST joins.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  BatchNotAllowedError,
  ConflictError,
  ConnectionLost,
  ForbiddenError,
  LeaderboardClient,
  NotFoundError,
  NotYourPlayerError,
  RequestTimeout,
  RestClient,
  SubmissionConflictError,
  UnauthorizedError,
  UnknownBoardError,
  ViewTooLargeError,
  BadRequestError,
  snapshotOf,
} from "../dist/index.js";
import { WebSocket } from "ws";
import { Relay, Runtime, eventually, serverToken, sleep, spectatorToken, token, until } from "./support.mjs";

let rt;
const clients = [];

async function connect(tok, options = {}) {
  const client = await LeaderboardClient.connect(rt.ws, tok, { minBackoffMs: 50, maxBackoffMs: 500, ...options });
  clients.push(client);
  return client;
}

async function truth(board, limit = 10) {
  const page = await new RestClient(rt.http, spectatorToken()).top(board, { limit });
  return page.entries.map((e) => [e.player_id, e.rank, e.score]);
}

/** REST (read from the replica, which may lag a moment) comes to show `shown`. */
async function converged(board, shown, limit = 10) {
  const same = async () => JSON.stringify(await truth(board, limit)) === JSON.stringify(shown);
  await eventually(same, 10_000, `the REST top of ${board} to show ${JSON.stringify(shown)}`);
}

const rows = (state) => state.entries.map((e) => [e.player, e.rank, e.score]);

before(async () => {
  rt = await Runtime.start();
  for (const id of ["arena", "batches", "views", "gaps", "relay", "joins"]) await rt.createBoard({ id });
});

after(async () => {
  for (const client of clients) await client.close();
  await rt?.stop();
});

describe("connecting", () => {
  test("a valid token connects; a token signed with another secret is refused with UnauthorizedError", async () => {
    const lb = await connect(spectatorToken());
    assert.ok(lb.connected);
    assert.equal(lb.status.state, "connected");
    const forged = token({ role: "spectator", sub: "x", secret: "another-secret-another-secret-another!" });
    // ws reports the refused upgrade's status (it is what Node 20 uses)
    await assert.rejects(LeaderboardClient.connect(rt.ws, forged, { WebSocket }), UnauthorizedError);
    if (typeof globalThis.WebSocket === "function") {
      // the standard WebSocket (Node 22+, browsers) hides the status: an unreachable host
      await assert.rejects(LeaderboardClient.connect(rt.ws, forged), ConnectionLost);
    }
  });
});

describe("submitting", () => {
  test("a submit is acked with its exact rank and total; the same id again replays, other scores conflict", async () => {
    const lb = await connect(serverToken());
    const first = await lb.submit("arena", 500, { player: "alice", submissionId: "m1-alice" });
    assert.deepEqual([first.result.rank, first.result.total, first.replayed], [1, 1, false]);
    const second = await lb.submit("arena", 700, { player: "bob" });
    assert.deepEqual([second.result.rank, second.result.total], [1, 2]);
    const again = await lb.submit("arena", 500, { player: "alice", submissionId: "m1-alice" });
    assert.ok(again.replayed);
    assert.equal(again.result.score, 500);
    const clash = lb.submit("arena", 999, { player: "alice", submissionId: "m1-alice" });
    await assert.rejects(clash, (e) => e instanceof SubmissionConflictError && e instanceof ConflictError && !e.retryable);
    await converged("arena", [["bob", 1, 700], ["alice", 2, 500]]);
  });

  test("refusals are typed by code and kind: another's player, a player's batch, an unknown board, a bad view", async () => {
    const alice = await connect(token({ player: "alice" }));
    await assert.rejects(alice.submit("arena", 1, { player: "bob" }), (e) => e instanceof NotYourPlayerError && e instanceof ForbiddenError);
    await assert.rejects(alice.submitBatch("arena", [["alice", 1]]), BatchNotAllowedError);
    await assert.rejects(alice.submit("no-such-board", 1), (e) => e instanceof UnknownBoardError && e instanceof NotFoundError);
    await assert.rejects(alice.subscribe("arena", { view: "top", n: 1000 }), (e) => e instanceof ViewTooLargeError && e instanceof BadRequestError);
    const ack = await alice.submit("arena", 600); // her own player: allowed
    assert.equal(ack.result.player, "alice");
  });

  test("a 1,000-score batch over 32 KB is split into parts that each fit a frame, and a retry replays every part", async () => {
    const lb = await connect(serverToken());
    const scores = Array.from({ length: 1000 }, (_, i) => ({ player: crypto.randomUUID(), score: 100_000 - i }));
    const ack = await lb.submitBatch("batches", scores, { submissionId: "season-end-1" });
    assert.ok(ack.parts.length >= 2, `expected parts, got ${ack.parts.length}`);
    assert.equal(ack.results.length, 1000);
    assert.deepEqual(ack.parts.map((p) => p.submissionId), ack.parts.map((_, i) => `season-end-1.${i + 1}of${ack.parts.length}`));
    assert.ok(!ack.replayed);
    const retry = await lb.submitBatch("batches", scores, { submissionId: "season-end-1" });
    assert.ok(retry.replayed && retry.parts.every((p) => p.replayed));
    const rest = new RestClient(rt.http, spectatorToken());
    const page = await eventually(async () => {
      const top = await rest.top("batches", { limit: 1 });
      return top.total === 1000 && top;
    }, 10_000, "the replica to show the batch");
    assert.equal(page.entries[0].score, 100_000);
  });

  test("an ack lost with the connection is retried under the same submission id and counted once", async () => {
    const relay = await Relay.start(rt.ws);
    try {
      const lb = await LeaderboardClient.connect(relay.url, serverToken(), { minBackoffMs: 300, maxBackoffMs: 300 });
      clients.push(lb);
      relay.cutAfter("submit"); // the service commits; its ack never reaches the client
      const ack = await lb.submit("relay", 4200, { player: "carol" });
      const submits = relay.sent.filter((m) => m.action === "submit");
      assert.equal(submits.length, 2);
      assert.equal(submits[0].submission_id, submits[1].submission_id);
      assert.equal(relay.dropped[0]?.type, "ack", "the service acked the first attempt");
      assert.ok(ack.replayed, "the retry found the first attempt applied");
      assert.equal(lb.reconnects, 1);
      const rest = new RestClient(rt.http, spectatorToken());
      const standing = await eventually(() => rest.player("relay", "carol").catch(() => null), 10_000, "carol's entry");
      assert.deepEqual([standing.entry.score, standing.entry.updates], [4200, 1]);
    } finally {
      await relay.stop();
    }
  });

  test("a submit gives up when its time budget runs out while the service cannot be reached", async () => {
    const relay = await Relay.start(rt.ws);
    const lb = await LeaderboardClient.connect(relay.url, serverToken(), { minBackoffMs: 50, maxBackoffMs: 200, requestTimeoutMs: 400 });
    clients.push(lb);
    await relay.stop(); // the path to the service is gone: every redial fails
    await eventually(() => !lb.connected, 5_000, "the drop");
    const started = Date.now();
    await assert.rejects(lb.submit("relay", 1, { player: "dave", budgetMs: 1500 }), (e) => e instanceof ConnectionLost || e instanceof RequestTimeout);
    const took = Date.now() - started;
    assert.ok(took >= 1000 && took < 4000, `gave up after ${took} ms`);
  });
});

describe("views", () => {
  test("top, around and me views start from a snapshot and follow each update by the sequence rule", async () => {
    const server = await connect(serverToken());
    await server.submitBatch("views", [["a", 30], ["b", 20], ["c", 10]]);
    const viewer = await connect(token({ player: "c" }));
    const top = await viewer.subscribe("views", { view: "top", n: 2 });
    const around = await viewer.subscribe("views", { view: "around", player: "b", k: 1 });
    const me = await viewer.subscribe("views", { view: "me" });
    const tops = top[Symbol.asyncIterator]();
    const first = (await tops.next()).value;
    assert.deepEqual(rows(first), [["a", 1, 30], ["b", 2, 20]]);
    assert.deepEqual(rows(around.state), [["a", 1, 30], ["b", 2, 20], ["c", 3, 10]]);
    assert.deepEqual(me.state.me, { player: "c", score: 10, rank: 3, display_rank: 3, percentile: 33.3333 });
    const ack = await server.submit("views", 40, { player: "c" });
    const next = await until(tops, (s) => s.seq > first.seq);
    assert.deepEqual(rows(next), [["c", 1, 40], ["a", 2, 30]]);
    assert.ok(!next.resynced);
    assert.equal(ack.result.rank, 1);
    await eventually(() => me.state.me.rank === 1, 5_000, "the me view's update");
    await eventually(() => around.state.entries[0].rank === 2, 5_000, "the around view's update");
    assert.deepEqual(rows(around.state), [["a", 2, 30], ["b", 3, 20]]);
    assert.equal(me.state.total, 3);
  });

  test("a missed frame (a forced gap) makes the client resubscribe, and the fresh snapshot shows the truth", async () => {
    const server = await connect(serverToken());
    await server.submitBatch("gaps", [["x", 5], ["y", 4]]);
    const viewer = await connect(spectatorToken());
    const sub = await viewer.subscribe("gaps", { view: "top", n: 5 });
    const states = sub[Symbol.asyncIterator]();
    await states.next();
    // the service now believes it last sent seq 999: the next update's prev_seq is a gap
    await rt.sql("UPDATE lb_subscription SET last_seq = 999, change_no = nextval('lb_subscription_change') WHERE kind = 'top' AND board_id = 'gaps'");
    await server.submit("gaps", 6, { player: "z" });
    const resynced = await until(states, (s) => s.resynced);
    assert.deepEqual(rows(resynced), [["z", 1, 6], ["x", 2, 5], ["y", 3, 4]]);
    await server.submit("gaps", 7, { player: "w" });
    const after = await until(states, (s) => s.entries.length === 4);
    assert.ok(!after.resynced);
    assert.deepEqual(rows(after), [["w", 1, 7], ["z", 2, 6], ["x", 3, 5], ["y", 4, 4]]);
    await converged("gaps", rows(after));
  });

  test("a dropped connection is redialed with backoff, every view resubscribed, and its next state resynced", async () => {
    const relay = await Relay.start(rt.ws);
    try {
      const statuses = [];
      const lb = await LeaderboardClient.connect(relay.url, spectatorToken(), {
        minBackoffMs: 50, maxBackoffMs: 300, onStatus: (s) => statuses.push(s.state),
      });
      clients.push(lb);
      const sub = await lb.subscribe("relay", { view: "top", n: 3 });
      const states = sub[Symbol.asyncIterator]();
      await states.next();
      for (const client of relay.server.clients) client.terminate();
      const server = await connect(serverToken());
      await server.submit("relay", 9000, { player: "while-away" });
      const state = await until(states, (s) => s.resynced && s.entries.some((e) => e.player === "while-away"));
      await converged("relay", rows(state), 3);
      assert.equal(lb.reconnects, 1);
      assert.ok(statuses.includes("reconnecting") && statuses.at(-1) === "connected", statuses.join(","));
      assert.equal(relay.sent.filter((m) => m.action === "subscribe").length, 2);
    } finally {
      await relay.stop();
    }
  });

  test("a REST snapshot is shown at its as_of_seq and the live view continues from it", async () => {
    const server = await connect(serverToken());
    await server.submitBatch("joins", [["p", 3], ["q", 2]]);
    const rest = new RestClient(rt.http, spectatorToken());
    const page = await eventually(async () => {
      const top = await rest.top("joins", { limit: 5 });
      return top.entries.length === 2 && top;
    }, 10_000, "the replica to show the scores");
    assert.equal(typeof page.as_of_seq, "number");
    const viewer = await connect(spectatorToken());
    const sub = await viewer.subscribe("joins", { view: "top", n: 5, join: snapshotOf(page) });
    const states = sub[Symbol.asyncIterator]();
    const shown = (await states.next()).value;
    assert.equal(shown.seq, page.as_of_seq);
    assert.deepEqual(rows(shown), [["p", 1, 3], ["q", 2, 2]]);
    await server.submit("joins", 4, { player: "r" });
    const live = await until(states, (s) => s.entries.length === 3);
    assert.ok(live.seq > page.as_of_seq);
    assert.deepEqual(rows(live), [["r", 1, 4], ["p", 2, 3], ["q", 3, 2]]);
    const standing = await eventually(() => rest.player("joins", "r").catch(() => null), 10_000, "r's entry");
    assert.equal(standing.entry.rank, 1);
    await assert.rejects(rest.board("no-such-board"), (e) => e instanceof UnknownBoardError && e.status === 404);
  });
});

test("closing the client ends its iterations and fails what waits", async () => {
  const lb = await connect(spectatorToken());
  const sub = await lb.subscribe("arena", { view: "top", n: 3 });
  const states = sub[Symbol.asyncIterator]();
  await states.next();
  const pending = states.next();
  await lb.close();
  assert.deepEqual(await pending, { value: undefined, done: true });
  await assert.rejects(lb.submit("arena", 1), ConnectionLost);
  await sleep(0);
});
