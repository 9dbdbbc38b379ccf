// The admin console: boards, seasons, players, bans, erasure and the audit log, through
// the REST API of the origin that serves it (locally the runtime; on AWS the REST API's
// own stage). Every call goes through the TypeScript client's RestClient.call, so errors
// arrive as the client's typed classes with the service's stable `code`.
//
// The token comes from the URL fragment (#token=, never sent to a server), or ?token=
// as the other pages take it, or the form the page shows without one. Only an admin
// token opens the console: the page says so at once for another role (read from the
// token, for display) and again when the service refuses a call.

import { RestClient, ServerError } from "./leaderboard-client.js";
import { claimsOf, describeError, formatScore, showProblem } from "./live.js";

const AUDIT_PAGE = 20;
const RESETS = new Set(["daily", "weekly", "monthly"]);
const TIERS_MAX = 16;
const TIER_NAME_MAX = 32;
const TIERS_FORMAT = "write tiers as name:top percent, comma-separated, best first (e.g. Gold:1, Silver:10, Bronze:50)";

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

let rest = null;
let boards = [];
let player = null;
let auditCursor = null;

/** The token the page was opened with: the fragment first, then the query. */
function tokenOfUrl() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const query = new URLSearchParams(location.search);
  return fragment.get("token") || query.get("token") || "";
}

/** The REST API beside this page: its directory (`/` locally, `/{stage}/` on AWS). */
function apiBase() {
  return new URL(".", location.href).href.replace(/\/+$/, "");
}

function notice(message) {
  const el = $("notice");
  el.hidden = !message;
  el.textContent = message || "";
}

function problemOf(error) {
  if (error instanceof ServerError) return describeError(error);
  return `error: ${error.message || error}`;
}

/** Reload what an action changed, keeping the action's message (showing only a failure). */
async function reload(action) {
  try {
    await action();
  } catch (error) {
    showProblem(problemOf(error));
  }
}

function refused(error) {
  return error instanceof ServerError && (error.status === 401 || error.status === 403);
}

/** Run one console action: disable its control, say what happened, keep the page alive. */
async function act(control, done, action) {
  if (control) control.disabled = true;
  showProblem("");
  notice("");
  try {
    const result = await action();
    if (done) notice(typeof done === "function" ? done(result) : done);
    return result;
  } catch (error) {
    showProblem(problemOf(error));
    return undefined;
  } finally {
    if (control) control.disabled = false;
  }
}

function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "–" : String(text);
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}

function button(text, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.textContent = text;
  b.className = className;
  b.addEventListener("click", () => onClick(b));
  return b;
}

function instant(iso) {
  return new Date(iso).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** An input's integer, or null when empty. Beyond ±2^53 a browser cannot keep a score
 * exact, so the console refuses to send one rather than send another number. */
function intOrNull(input) {
  const value = input.value.trim();
  if (value === "") return null;
  const number = Number(value);
  if (!Number.isSafeInteger(number)) {
    throw new Error(`${value} is not an integer the console can send exactly (at most ±${Number.MAX_SAFE_INTEGER})`);
  }
  return number;
}

/** A board's tiers as the console writes them: `Gold:1, Silver:10`; "" for none. */
function tiersText(tiers) {
  return (tiers || []).map((t) => `${t.name}:${t.top_percent}`).join(", ");
}

/** The tiers typed into an input (`Gold:1, Silver:10, Bronze:50`), checked as the service
 * checks them; null when empty. A bad list is refused here with what is wrong. */
function tiersOf(input) {
  const text = input.value.trim();
  if (text === "") return null;
  const parts = text.split(",").map((part) => part.trim());
  if (parts.length > TIERS_MAX) throw new Error(`at most ${TIERS_MAX} tiers, got ${parts.length}: ${TIERS_FORMAT}`);
  const tiers = [];
  for (const part of parts) {
    const colon = part.lastIndexOf(":");
    const name = colon < 0 ? part : part.slice(0, colon).trim();
    const percent = colon < 0 ? "" : part.slice(colon + 1).trim();
    if (part === "" || colon < 0 || name === "" || percent === "") {
      throw new Error(`tier "${part}" is not name:top percent; ${TIERS_FORMAT}`);
    }
    if (name.length > TIER_NAME_MAX || /[\x00-\x1f]/.test(name)) {
      throw new Error(`tier name "${name}" must be 1 to ${TIER_NAME_MAX} characters, without control characters`);
    }
    const top = Number(percent);
    if (!/^\d*\.?\d+$/.test(percent) || !(top > 0 && top <= 100)) {
      throw new Error(`tier ${name}: top percent "${percent}" must be a number above 0 and at most 100`);
    }
    if (tiers.some((t) => t.name === name)) throw new Error(`tier name "${name}" is used twice`);
    const last = tiers[tiers.length - 1];
    if (last && top <= last.top_percent) {
      throw new Error(`tier ${name} (${percent}) must have a larger top percent than ${last.name} (${last.top_percent}): tiers go best first`);
    }
    tiers.push({ name, top_percent: top });
  }
  return tiers;
}

// --- the token ------------------------------------------------------------------------

function askForToken(message) {
  $("console").hidden = true;
  $("token-form").hidden = false;
  if (message) showProblem(message);
}

$("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = $("token-input").value.trim();
  history.replaceState(null, "", `${location.pathname}#token=${enc(token)}`);
  $("token-input").value = "";
  openConsole(token);
});

async function openConsole(token) {
  showProblem("");
  notice("");
  if (!token) return askForToken("");
  const role = claimsOf(token).role;
  if (role !== "admin") {
    return askForToken(
      `This token's role is '${role || "unknown"}': the console needs an admin token (leaderboard token --role admin).`,
    );
  }
  rest = new RestClient(apiBase(), token);
  try {
    await loadBoards();
    await loadAudit({ reset: true });
  } catch (error) {
    if (refused(error)) return askForToken(`The token was refused: ${problemOf(error)}`);
    showProblem(problemOf(error));
  }
  const who = claimsOf(token).sub;
  $("who").textContent = who ? `admin: ${who}` : "admin";
  $("who").hidden = false;
  $("token-form").hidden = true;
  $("console").hidden = false;
}

// --- boards and seasons ---------------------------------------------------------------

async function loadBoards() {
  const listing = await rest.call("GET", "/v1/boards");
  boards = listing.boards;
  const body = $("boards").querySelector("tbody");
  body.replaceChildren();
  for (const b of boards) {
    const detail = await rest.call("GET", `/v1/boards/${enc(b.id)}`);
    const row = document.createElement("tr");
    row.dataset.board = b.id;
    cell(row, b.id, "board-id");
    cell(row, detail.order);
    cell(row, detail.policy);
    cell(row, detail.current_season, "season");
    cell(row, formatScore(detail.entries), "entries").dataset.entries = String(detail.entries);
    cell(row, `${formatScore(detail.min_score)} … ${formatScore(detail.max_score)}`, "bounds");
    cell(row, detail.reset || "never", "reset");
    cell(row, detail.tie_mode, "tie-mode");
    cell(row, tiersText(detail.tiers) || "none", "tiers");
    cell(row, detail.all_time ? "yes" : "no", "all-time");
    const actions = cell(row, "");
    actions.replaceChildren(
      button("Configure", "configure", () => startConfigure(detail)),
      button("Roll season", "roll", () => startRoll(b.id)),
    );
    body.appendChild(row);
  }
  $("boards-empty").hidden = boards.length > 0;
  const scope = $("ban-board");
  scope.replaceChildren(new Option("All boards", ""));
  for (const b of boards) scope.appendChild(new Option(b.id, b.id));
}

function startConfigure(detail) {
  $("roll-form").hidden = true;
  const form = $("configure-form");
  form.dataset.board = detail.id;
  $("configure-board").textContent = detail.id;
  for (const [id, value] of [["configure-min", detail.min_score], ["configure-max", detail.max_score]]) {
    $(id).value = String(value);
    $(id).dataset.shown = String(value);
  }
  $("configure-reset").value = "keep";
  $("configure-tie-mode").value = detail.tie_mode;
  $("configure-tie-mode").dataset.shown = detail.tie_mode;
  $("configure-tiers").value = tiersText(detail.tiers);
  $("configure-tiers").dataset.shown = tiersText(detail.tiers);
  form.hidden = false;
}

$("configure-cancel").addEventListener("click", () => {
  $("configure-form").hidden = true;
});

$("configure-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("configure-form");
  const board = form.dataset.board;
  const saved = await act(event.submitter, `Saved ${board}.`, () => {
    // Only what the admin changed: a bound shown rounded (beyond 2^53) is left as stored.
    const change = {};
    for (const [field, id] of [["min_score", "configure-min"], ["max_score", "configure-max"]]) {
      if ($(id).value.trim() !== $(id).dataset.shown) change[field] = intOrNull($(id));
    }
    const reset = $("configure-reset").value;
    if (reset !== "keep") change.reset = RESETS.has(reset) ? reset : null;
    const tieMode = $("configure-tie-mode").value;
    if (tieMode !== $("configure-tie-mode").dataset.shown) change.tie_mode = tieMode;
    // Emptied, the tiers are cleared (null); otherwise the list replaces the board's.
    if ($("configure-tiers").value.trim() !== $("configure-tiers").dataset.shown) change.tiers = tiersOf($("configure-tiers"));
    return rest.call("PATCH", `/v1/boards/${enc(board)}`, { body: change });
  });
  if (saved) {
    form.hidden = true;
    await reload(loadBoards);
  }
});

function startRoll(board) {
  $("configure-form").hidden = true;
  const form = $("roll-form");
  form.dataset.board = board;
  $("roll-board").textContent = board;
  $("roll-season").value = "";
  form.hidden = false;
}

$("roll-cancel").addEventListener("click", () => {
  $("roll-form").hidden = true;
});

$("roll-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = $("roll-form");
  const board = form.dataset.board;
  const season = $("roll-season").value.trim();
  const rolled = await act(
    event.submitter,
    (detail) => `${board} is now in season ${detail.current_season}.`,
    () => rest.call("POST", `/v1/boards/${enc(board)}/seasons`, { body: season ? { season } : {} }),
  );
  if (rolled) {
    form.hidden = true;
    await reload(loadBoards);
  }
});

$("create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const created = await act(event.submitter, (d) => `Created ${d.id} (season ${d.current_season}).`, () => {
    const spec = { id: $("create-id").value.trim(), order: $("create-order").value, policy: $("create-policy").value };
    const min = intOrNull($("create-min"));
    const max = intOrNull($("create-max"));
    if (min !== null) spec.min_score = min;
    if (max !== null) spec.max_score = max;
    if (RESETS.has($("create-reset").value)) spec.reset = $("create-reset").value;
    if ($("create-tie-mode").value !== "ordinal") spec.tie_mode = $("create-tie-mode").value;
    const tiers = tiersOf($("create-tiers"));
    if (tiers !== null) spec.tiers = tiers;
    if ($("create-all-time").checked) spec.all_time = true;
    return rest.call("POST", "/v1/boards", { body: spec });
  });
  if (created) {
    $("create-id").value = "";
    $("create-tiers").value = "";
    $("create-all-time").checked = false;
    await reload(loadBoards);
  }
});

// --- players: entries, removal, bans, erasure -----------------------------------------

$("find-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = $("find-player").value.trim();
  await act(event.submitter, null, () => showPlayer(id));
});

function entryRow(e, rank, of) {
  const row = document.createElement("tr");
  row.dataset.board = e.board;
  row.dataset.season = e.season;
  cell(row, e.board, "board");
  cell(row, e.season, "season");
  cell(row, rank, "rank").title = of;
  cell(row, formatScore(e.score), "score");
  cell(row, "");
  return row;
}

async function showPlayer(id) {
  const found = await rest.call("GET", `/v1/players/${enc(id)}`);
  player = id;
  $("player-name").textContent = id;
  $("erase-report").hidden = true;
  closeErase();
  const body = $("player-entries").querySelector("tbody");
  body.replaceChildren();
  for (const e of found.entries) {
    const row = entryRow(e, e.rank, `of ${formatScore(e.total)}`);
    row.lastChild.replaceChildren(button("Remove", "remove", (b) => removeEntry(b, e)));
    body.appendChild(row);
  }
  for (const e of found.hidden_entries) {
    const row = entryRow(e, "hidden", "while banned");
    row.classList.add("hidden-entry");
    row.lastChild.replaceChildren(button("Remove", "remove", (b) => removeEntry(b, e)));
    body.appendChild(row);
  }
  const none = found.entries.length + found.hidden_entries.length === 0;
  $("player-no-entries").hidden = !none;
  const bans = $("player-bans");
  bans.replaceChildren();
  for (const ban of found.bans) {
    const item = document.createElement("li");
    item.dataset.board = ban.board || "";
    const scope = ban.board ? `on ${ban.board}` : "on all boards";
    const text = document.createElement("span");
    text.textContent = `Banned ${scope} since ${instant(ban.since)}${ban.reason ? `: ${ban.reason}` : ""}`;
    item.append(text, button("Unban", "unban", (b) => unban(b, ban.board)));
    bans.appendChild(item);
  }
  $("player-no-bans").hidden = found.bans.length > 0;
  $("ban-form").hidden = false;
  $("player-view").hidden = false;
}

function reasonQuery() {
  const reason = $("reason").value.trim();
  return reason ? { reason } : {};
}

async function removeEntry(control, entry) {
  const done = await act(control, `Removed ${player} from ${entry.board} (${entry.season}).`, () =>
    rest.call("DELETE", `/v1/boards/${enc(entry.board)}/players/${enc(player)}`, {
      query: { season: entry.season, ...reasonQuery() },
    }),
  );
  if (done !== undefined) await afterModeration();
}

$("ban-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const board = $("ban-board").value;
  const path = board ? `/v1/boards/${enc(board)}/bans/${enc(player)}` : `/v1/bans/${enc(player)}`;
  const done = await act(event.submitter, `Banned ${player} ${board ? `on ${board}` : "on all boards"}.`, () =>
    rest.call("PUT", path, { body: reasonQuery() }),
  );
  if (done !== undefined) await afterModeration();
});

async function unban(control, board) {
  const path = board ? `/v1/boards/${enc(board)}/bans/${enc(player)}` : `/v1/bans/${enc(player)}`;
  const done = await act(control, `Unbanned ${player} ${board ? `on ${board}` : "on all boards"}.`, () =>
    rest.call("DELETE", path, { query: reasonQuery() }),
  );
  if (done !== undefined) await afterModeration();
}

async function afterModeration() {
  await reload(async () => {
    await showPlayer(player);
    await loadBoards();
    await loadAudit({ reset: true });
  });
}

function closeErase() {
  $("erase-confirm").hidden = true;
  $("erase-start").hidden = false;
  $("erase-typed").value = "";
  $("erase-go").disabled = true;
}

$("erase-start").addEventListener("click", () => {
  $("erase-name").textContent = player;
  $("erase-start").hidden = true;
  $("erase-confirm").hidden = false;
  $("erase-typed").focus();
});

$("erase-cancel").addEventListener("click", closeErase);

$("erase-typed").addEventListener("input", () => {
  $("erase-go").disabled = $("erase-typed").value !== player;
});

$("erase-confirm").addEventListener("submit", async (event) => {
  event.preventDefault();
  if ($("erase-typed").value !== player) return;
  const erased = player;
  const report = await act($("erase-go"), `Erased ${erased}.`, () =>
    rest.call("DELETE", `/v1/players/${enc(erased)}`, { query: reasonQuery() }),
  );
  if (report === undefined) return;
  closeErase();
  // The service no longer knows the player: nothing of theirs is left to show.
  $("player-entries").querySelector("tbody").replaceChildren();
  $("player-bans").replaceChildren();
  $("player-no-entries").hidden = false;
  $("player-no-bans").hidden = false;
  $("ban-form").hidden = true;
  $("erase-start").hidden = true;
  await reload(async () => {
    await loadBoards();
    await loadAudit({ reset: true });
  });
  showReport(erased, report);
});

/** The erase report: what the service removed, kind by kind. */
function showReport(erased, report) {
  $("erase-report-player").textContent = erased;
  const lines = $("erase-report-lines");
  lines.replaceChildren();
  const line = (key, label, value) => {
    const div = document.createElement("div");
    div.dataset.key = key;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    div.append(dt, dd);
    lines.appendChild(div);
  };
  for (const [kind, count] of Object.entries(report.removed)) line(kind, kind.replace(/_/g, " "), formatScore(count));
  line("audit_player", "the audit log now names them", report.audit_player);
  $("erase-report").hidden = false;
}

// --- the audit log --------------------------------------------------------------------

async function loadAudit({ reset }) {
  if (reset) {
    auditCursor = null;
    $("audit").querySelector("tbody").replaceChildren();
  }
  const page = await rest.call("GET", "/v1/audit", { query: { limit: AUDIT_PAGE, cursor: auditCursor } });
  const body = $("audit").querySelector("tbody");
  for (const a of page.records) {
    const row = document.createElement("tr");
    row.dataset.action = a.action;
    row.dataset.id = String(a.id);
    cell(row, instant(a.at), "at");
    cell(row, a.actor, "actor");
    cell(row, a.action, "action");
    cell(row, a.board ? `${a.board}${a.season ? ` (${a.season})` : ""}` : "all boards", "board");
    cell(row, a.player, "player");
    cell(row, a.reason, "reason");
    body.appendChild(row);
  }
  auditCursor = page.next_cursor || null;
  $("audit-more").hidden = !auditCursor;
  $("audit-empty").hidden = body.children.length > 0;
}

$("audit-more").addEventListener("click", (event) => act(event.currentTarget, null, () => loadAudit({ reset: false })));
$("audit-refresh").addEventListener("click", (event) => act(event.currentTarget, null, () => loadAudit({ reset: true })));

window.addEventListener("hashchange", () => openConsole(tokenOfUrl()));
openConsole(tokenOfUrl());
