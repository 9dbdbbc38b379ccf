// Helpers of the Node tests: the real local runtime (`leaderboard up`, started on a free
// port over a temp data dir, as the Python tests start things), HS256 tokens signed with
// the secret the test gives the server, the runtime's PostgreSQL, and a WebSocket relay
// that can cut a connection (a network fault between client and server; the server
// behind it is the real one).
import { spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { WebSocket, WebSocketServer } from "ws";

const here = dirname(fileURLToPath(import.meta.url));
export const REPO = join(here, "..", "..", "..");
export const SECRET = `node-tests-${randomBytes(24).toString("hex")}`;
const ISSUER = "leaderboard-local";
const AUDIENCE = "leaderboard";

/** The `leaderboard` command: LEADERBOARD_CLI, the repository's virtualenv, or PATH. */
export function cli() {
  if (process.env.LEADERBOARD_CLI) return process.env.LEADERBOARD_CLI;
  const venv = join(REPO, ".venv", "bin", "leaderboard");
  return existsSync(venv) ? venv : "leaderboard";
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** `leaderboard up` on `port` over `dataDir`; resolves once it printed that it is up. */
function launch(dataDir, port) {
  const child = spawn(cli(), ["--data-dir", dataDir, "up", "--port", String(port)], {
    env: { ...process.env, LEADERBOARD_JWT_SECRET: SECRET, PYTHONUNBUFFERED: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-20_000); // drained, so a full pipe never stalls it
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`leaderboard up did not start in 90 s:\n${output}`)), 90_000);
    const check = () => {
      if (output.includes("leaderboard is up")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on("data", check);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`leaderboard up exited (${code ?? signal}):\n${output}`));
    });
  });
  return { child, ready, exited, output: () => output };
}

/** A running local runtime: `ws`, `http`, tokens, `restart()`, `stop()`. */
export class Runtime {
  static async start() {
    const dataDir = await mkdtemp(join(tmpdir(), "lb-ts-"));
    const runtime = new Runtime(dataDir, await freePort());
    await runtime.up();
    return runtime;
  }

  constructor(dataDir, port) {
    this.dataDir = dataDir;
    this.port = port;
    this.http = `http://127.0.0.1:${port}`;
    this.ws = `ws://127.0.0.1:${port}/prod`;
    this.process = null;
  }

  async up() {
    this.process = launch(this.dataDir, this.port);
    await this.process.ready;
  }

  /** Stop the process (SIGTERM: it closes every WebSocket with 1001 and its database). */
  async down() {
    const proc = this.process;
    if (!proc) return;
    this.process = null;
    proc.child.kill("SIGTERM");
    const killer = setTimeout(() => proc.child.kill("SIGKILL"), 30_000);
    await proc.exited;
    clearTimeout(killer);
  }

  async restart() {
    await this.down();
    await this.up();
  }

  async stop() {
    await this.down();
    await rm(this.dataDir, { recursive: true, force: true });
  }

  /** A connection to the runtime's PostgreSQL primary (its port is in the data dir). */
  async sql(text, params = []) {
    const port = Number(await readFile(join(this.dataDir, "primary.port"), "utf8"));
    const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "leaderboard" });
    await client.connect();
    try {
      return (await client.query(text, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Create a board over REST with an admin token. */
  async createBoard(spec) {
    const response = await fetch(`${this.http}/v1/boards`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token({ role: "admin", sub: "test-admin" })}`, "Content-Type": "application/json" },
      body: JSON.stringify(spec),
    });
    if (response.status !== 201) throw new Error(`create board: ${response.status} ${await response.text()}`);
    return response.json();
  }
}

function b64url(data) {
  return Buffer.from(data).toString("base64url");
}

/** An HS256 token as `leaderboard token` mints it (issuer, audience, role, player_id). */
export function token({ role = "player", player, sub, ttlS = 600, secret = SECRET } = {}) {
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: ISSUER, aud: AUDIENCE, sub: sub ?? player, role, iat: now, nbf: now, exp: now + ttlS };
  if (player !== undefined) claims.player_id = player;
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify(claims));
  const signature = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${signature}`;
}

export const serverToken = () => token({ role: "server", sub: "game-server" });
export const spectatorToken = () => token({ role: "spectator", sub: "screen" });

/** Wait until `predicate()` is truthy (polling), or fail after `ms`. */
export async function eventually(predicate, ms = 10_000, what = "the condition") {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${ms} ms`);
    await sleep(25);
  }
}

/** Take states from a subscription's iterator until one satisfies `predicate`. */
export async function until(iterator, predicate, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`no state matched within ${ms} ms`);
    let timer;
    const next = await Promise.race([
      iterator.next(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no state matched within ${ms} ms`)), left))),
    ]);
    clearTimeout(timer);
    if (next.done) throw new Error("the subscription ended");
    if (predicate(next.value)) return next.value;
  }
}

/** A WebSocket relay in front of the runtime (a network path the test can cut). Every
 * client message is recorded; `cutAfter(action)` closes the client's side right after
 * forwarding the next message with that action, before any reply can come back. */
export class Relay {
  static async start(target) {
    const relay = new Relay(target);
    await new Promise((resolve) => relay.server.on("listening", resolve));
    return relay;
  }

  constructor(target) {
    this.target = target;
    this.sent = [];
    this.dropped = [];
    this.cut = null;
    this.server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    this.server.on("connection", (client, request) => this.pipe(client, request));
  }

  get url() {
    return `ws://127.0.0.1:${this.server.address().port}/prod`;
  }

  cutAfter(action) {
    this.cut = action;
  }

  pipe(client, request) {
    const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
    const upstream = new WebSocket(`${this.target}${query}`);
    const queued = [];
    let severed = false;
    upstream.on("open", () => queued.splice(0).forEach((m) => upstream.send(m)));
    upstream.on("message", (data) => {
      if (severed) {
        this.dropped.push(JSON.parse(data.toString())); // the reply that never reaches the client
        upstream.close();
      } else if (client.readyState === WebSocket.OPEN) client.send(data.toString());
    });
    upstream.on("close", () => client.close(1001, "upstream closed"));
    upstream.on("error", () => client.terminate());
    client.on("message", (data) => {
      const text = data.toString();
      let message = {};
      try {
        message = JSON.parse(text);
      } catch {
        /* not JSON: relayed as is */
      }
      this.sent.push(message);
      if (upstream.readyState === WebSocket.OPEN) upstream.send(text);
      else queued.push(text);
      if (this.cut && message.action === this.cut) {
        this.cut = null;
        severed = true; // the service still answers; the answer is dropped here
        client.terminate();
      }
    });
    client.on("close", () => !severed && upstream.readyState <= WebSocket.OPEN && upstream.close());
  }

  async stop() {
    for (const client of this.server.clients) client.terminate();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
