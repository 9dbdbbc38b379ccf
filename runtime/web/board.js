// The board page: a board's live top-N for a big screen.
//
// Joins with a REST snapshot (GET /v1/boards/{board} for the season and order, and
// GET /v1/boards/{board}/top?limit=N for the rows and their as_of_seq), then follows a
// top-N view through the TypeScript client, which applies the sequence rule from that
// as_of_seq on. Rows are keyed by player and move with FLIP animations: measure,
// reorder, invert, play.

import {
  LivePage,
  describeError,
  followResets,
  formatScore,
  isFatal,
  pageConfig,
  restOf,
  showCountdown,
  showProblem,
  showSeq,
  showStatus,
  snapshotOf,
} from "./live.js";

const MAX_ROWS = 100;
const MOVE_MS = 700;
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

const config = pageConfig();
const board = decodeURIComponent(location.pathname.split("/")[2] || "");
const rowsWanted = Math.min(MAX_ROWS, Math.max(1, Number.parseInt(config.params.get("n") || "10", 10) || 10));
const list = document.getElementById("rows");
const statusEl = document.getElementById("status");
const rowsByPlayer = new Map();
let lastSeq = -1;

document.title = `${board} · Leaderboard`;
document.getElementById("board-title").textContent = board;
document.getElementById("home").href = `/?token=${encodeURIComponent(config.token)}`;
document.documentElement.style.setProperty("--rows", String(Math.min(rowsWanted, 12)));

function makeRow(player) {
  const row = document.createElement("li");
  row.className = "row";
  row.dataset.player = player;
  for (const part of ["rank", "player", "delta", "score"]) {
    const cell = document.createElement("span");
    cell.className = part;
    row.appendChild(cell);
  }
  row.querySelector(".player").textContent = player;
  return row;
}

function flash(row, kind) {
  row.classList.remove("up", "down", "bump");
  void row.offsetWidth; // restart the CSS animation
  row.classList.add(kind);
}

function render(state) {
  const before = new Map();
  for (const row of list.children) before.set(row.dataset.player, row.getBoundingClientRect().top);
  const seen = new Set();
  for (const entry of state.entries) {
    seen.add(entry.player);
    let row = rowsByPlayer.get(entry.player);
    const isNew = row === undefined;
    if (isNew) {
      row = makeRow(entry.player);
      rowsByPlayer.set(entry.player, row);
    }
    const oldRank = Number(row.dataset.rank || 0);
    const oldScore = row.dataset.score;
    row.dataset.rank = String(entry.rank);
    row.dataset.score = String(entry.score);
    row.classList.toggle("podium", entry.rank <= 3);
    row.dataset.medal = entry.rank <= 3 ? String(entry.rank) : "";
    row.dataset.displayRank = String(entry.display_rank ?? entry.rank);
    row.dataset.tier = entry.tier || "";
    row.querySelector(".rank").textContent = String(entry.display_rank ?? entry.rank);
    row.querySelector(".rank").title = entry.tier || "";
    row.querySelector(".score").textContent = formatScore(entry.score);
    const delta = row.querySelector(".delta");
    if (!isNew && oldRank && oldRank !== entry.rank) {
      const up = entry.rank < oldRank;
      delta.textContent = `${up ? "▲" : "▼"}${Math.abs(oldRank - entry.rank)}`;
      delta.dataset.dir = up ? "up" : "down";
      flash(row, up ? "up" : "down");
    } else if (!isNew && oldScore !== String(entry.score)) {
      flash(row, "bump");
    }
    list.appendChild(row); // appending an attached node moves it: the DOM follows the ranks
  }
  for (const [player, row] of rowsByPlayer) {
    if (!seen.has(player)) {
      row.remove();
      rowsByPlayer.delete(player);
    }
  }
  if (reducedMotion) return;
  for (const row of list.children) {
    const first = before.get(row.dataset.player);
    const last = row.getBoundingClientRect().top;
    if (first === undefined) {
      row.animate(
        [{ opacity: 0, transform: "translateX(-2rem)" }, { opacity: 1, transform: "none" }],
        { duration: MOVE_MS, easing: "cubic-bezier(.2,.8,.2,1)" },
      );
    } else if (first !== last) {
      row.animate([{ transform: `translateY(${first - last}px)` }, { transform: "none" }], {
        duration: MOVE_MS,
        easing: "cubic-bezier(.2,.8,.2,1)",
      });
    }
  }
}

function show(state) {
  lastSeq = state.seq;
  showSeq(state);
  const total = document.getElementById("total");
  total.textContent = formatScore(state.total);
  total.dataset.total = String(state.total);
  document.getElementById("empty").hidden = state.entries.length > 0;
  const reset = document.getElementById("reset");
  if (state.nextResetAt && state.nextResetAt !== reset.dataset.resetAt) {
    showCountdown(reset, state.nextResetAt, refreshDetail);
  }
  render(state);
  document.body.dataset.seq = String(state.seq);
}

const refreshDetail = followResets(config, board);

async function main() {
  if (!config.token) {
    showProblem("No token: open this page with ?token=<spectator token> (see the index page).");
    showStatus(statusEl, { state: "offline", reconnects: 0 });
    statusEl.querySelector(".label").textContent = "No token";
    return;
  }
  const rest = restOf(config);
  let join;
  try {
    const [detail, top] = await Promise.all([rest.board(board), rest.top(board, { limit: rowsWanted })]);
    document.getElementById("season").textContent = detail.season;
    showCountdown(document.getElementById("reset"), detail.next_reset_at, refreshDetail);
    document.body.dataset.order = detail.order;
    const title = detail.metadata && typeof detail.metadata.title === "string" ? detail.metadata.title : "";
    if (title) {
      document.getElementById("board-title").textContent = title;
      document.title = `${title} · Leaderboard`;
    }
    join = snapshotOf(top);
  } catch (error) {
    if (isFatal(error)) {
      showProblem(error.status === 404 ? `No board "${board}".` : `The token was refused: ${error.serverMessage}`);
      showStatus(statusEl, { state: "offline", reconnects: 0 });
      statusEl.querySelector(".label").textContent = error.status === 404 ? "Unknown board" : "Unauthorized";
      return;
    }
    // REST is only the fast first paint; the WebSocket snapshot is the truth.
  }
  const live = new LivePage({
    url: config.wsUrl,
    token: config.token,
    onStatus: (status) => showStatus(statusEl, status, () => lastSeq),
  });
  live.start([
    {
      board,
      options: { view: "top", n: rowsWanted, join },
      onState: show,
      onError: (error) => showProblem(describeError(error)),
    },
  ]);
}

main();
