// A server restart mid-subscription: `leaderboard up` is stopped (every WebSocket closed,
// the database shut down) and started again on the same port and data dir. The client
// redials until it is back, resubscribes, and converges on the truth; a submit issued
// while the service is down lands once, within its time budget.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LeaderboardClient, RestClient } from "../dist/index.js";
import { Runtime, eventually, serverToken, spectatorToken, token, until } from "./support.mjs";

let rt;

before(async () => {
  rt = await Runtime.start();
  await rt.createBoard({ id: "arena" });
});

after(async () => {
  await rt?.stop();
});

const rows = (state) => state.entries.map((e) => [e.player, e.rank, e.score]);

/** The REST top (read from the replica, which may lag a moment) comes to show `shown`. */
async function converged(shown) {
  const rest = new RestClient(rt.http, spectatorToken());
  const same = async () => {
    const page = await rest.top("arena", { limit: 10 });
    return JSON.stringify(page.entries.map((e) => [e.player_id, e.rank, e.score])) === JSON.stringify(shown);
  };
  await eventually(same, 10_000, "the REST top to show what the view shows");
}

test("views survive a restart of the service: reconnect, resubscribe, and converge on the truth", async () => {
  const options = { minBackoffMs: 100, maxBackoffMs: 1000 };
  const server = await LeaderboardClient.connect(rt.ws, serverToken(), options);
  const viewer = await LeaderboardClient.connect(rt.ws, token({ player: "ann" }), options);
  try {
    await server.submitBatch("arena", [["ann", 50], ["ben", 40]]);
    const top = (await viewer.subscribe("arena", { view: "top", n: 5 }))[Symbol.asyncIterator]();
    const me = await viewer.subscribe("arena", { view: "me" });
    const before = (await top.next()).value;
    assert.deepEqual(rows(before), [["ann", 1, 50], ["ben", 2, 40]]);

    await rt.down();
    const late = server.submit("arena", 60, { player: "cid", submissionId: "while-down", budgetMs: 60_000 });
    await rt.up();

    const ack = await late;
    assert.equal(ack.result.rank, 1);
    const seen = [];
    const state = await until(top, (s) => seen.push(s) && s.entries.length === 3, 30_000);
    assert.ok(seen.some((s) => s.resynced), "a resynced snapshot after the reconnect");
    assert.ok(state.seq > before.seq);
    assert.deepEqual(rows(state), [["cid", 1, 60], ["ann", 2, 50], ["ben", 3, 40]]);
    await converged(rows(state));
    assert.ok(viewer.reconnects >= 1 && viewer.connected);
    await eventually(() => me.state?.me?.rank === 2, 10_000, "the me view's convergence");

    await server.submit("arena", 70, { player: "ben" });
    const next = await until(top, (s) => s.entries[0].player === "ben");
    assert.ok(!next.resynced);
    assert.deepEqual(rows(next), [["ben", 1, 70], ["cid", 2, 60], ["ann", 3, 50]]);
    await converged(rows(next));
    const page = await new RestClient(rt.http, spectatorToken()).player("arena", "cid");
    assert.equal(page.entry.updates, 1, "the submit made while the service was down counted once");
  } finally {
    await server.close();
    await viewer.close();
  }
});
