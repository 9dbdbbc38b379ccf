// The rank ticker: one player's live rank and score (the `me` view), their neighbours
// (an `around` view with k=1), and the moments: "You passed ..." and "Overtaken by ...".
//
// The `me` view is the truth for rank and score. The neighbours only name names: a
// moment is named when the neighbours prove who it was (the player just below you is
// now just above you: they overtook you; the one just above is now below: you passed
// them); otherwise it counts players.

import {
  LivePage,
  claimsOf,
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
} from "./live.js";

const MOMENTS_KEPT = 6;
const MOMENT_SHOWN_MS = 5000;
const NAME_WITHIN_MS = 3000;

const config = pageConfig();
const board = decodeURIComponent(location.pathname.split("/")[2] || "");
const claims = claimsOf(config.token);
const statusEl = document.getElementById("status");
let mine = null; // the last {rank, score} shown; null before the player's first score
let started = false;
let lastSeq = -1;
let current = null; // neighbours now: {rank, above, below}
const neighboursByRank = new Map();
let moment = null;
let momentTimer = null;
let aroundSub = null; // the around view: refused until the player has a score

document.title = `${board} · Rank ticker`;
document.getElementById("board-title").textContent = board;
document.getElementById("player").textContent = claims.player_id || claims.sub || "";
document.getElementById("home").href = `/?token=${encodeURIComponent(config.token)}`;

function plural(count, one) {
  return count === 1 ? `1 ${one}` : `${count} ${one}s`;
}

function momentText(m) {
  const who = m.name || plural(m.count, "player");
  if (m.kind === "passed") return `You passed ${who}`;
  if (m.kind === "overtaken") return `Overtaken by ${who}`;
  if (m.kind === "entered") return `On the board at #${m.rankAfter}`;
  return `New score: ${formatScore(m.score)}`;
}

function showMoment(m) {
  const banner = document.getElementById("moment");
  banner.hidden = false;
  banner.dataset.kind = m.kind;
  banner.textContent = momentText(m);
  banner.classList.remove("pop");
  void banner.offsetWidth;
  banner.classList.add("pop");
  clearTimeout(momentTimer);
  momentTimer = setTimeout(() => banner.classList.add("fade"), MOMENT_SHOWN_MS);
  banner.classList.remove("fade");
  const item = m.item || document.createElement("li");
  item.dataset.kind = m.kind;
  item.textContent = m.rankBefore
    ? `${momentText(m)} · #${m.rankBefore} → #${m.rankAfter}`
    : momentText(m);
  if (!m.item) {
    const list = document.getElementById("moments");
    list.prepend(item);
    while (list.children.length > MOMENTS_KEPT) list.lastElementChild.remove();
    m.item = item;
  }
}

function nameMoment() {
  if (!moment || moment.name || !current || Date.now() - moment.at > NAME_WITHIN_MS) return;
  if (moment.count !== 1 || current.rank !== moment.rankAfter || !moment.before) return;
  if (moment.kind === "overtaken" && moment.before.below && current.above === moment.before.below) {
    moment.name = moment.before.below;
  } else if (moment.kind === "passed" && moment.before.above && current.below === moment.before.above) {
    moment.name = moment.before.above;
  } else return;
  showMoment(moment);
}

/** "Gold · top 5%": the tier (when one applies) and the share of the ladder at or above. */
function showStanding(me, total) {
  const el = document.getElementById("standing");
  el.dataset.tier = (me && me.tier) || "";
  el.dataset.percentile = me ? String(me.percentile) : "";
  if (!me || !total) {
    el.textContent = "";
    return;
  }
  const top = Math.max(0.1, Math.ceil((1000 * me.rank) / total) / 10);
  el.textContent = [me.tier, `top ${top.toLocaleString("en-US")}%`].filter(Boolean).join(" · ");
}

function showMine(state) {
  const reset = document.getElementById("reset");
  if (state.nextResetAt && state.nextResetAt !== reset.dataset.resetAt) {
    showCountdown(reset, state.nextResetAt, refreshDetail);
  }
  lastSeq = state.seq;
  showSeq(state);
  const me = state.me;
  const rankEl = document.getElementById("rank");
  const scoreEl = document.getElementById("score");
  if (me) {
    document.getElementById("player").textContent = me.player;
    rankEl.textContent = `#${me.display_rank ?? me.rank}`;
    rankEl.dataset.rank = String(me.rank);
    showStanding(me, state.total);
    scoreEl.textContent = formatScore(me.score);
    scoreEl.dataset.score = String(me.score);
    document.getElementById("of").textContent = `of ${formatScore(state.total)}`;
  } else {
    rankEl.textContent = "–";
    rankEl.dataset.rank = "";
    document.getElementById("of").textContent = "no score yet";
    showStanding(null, state.total);
  }
  if (started && !state.resynced) detectMoment(mine, me);
  if (me && current === null && aroundSub) aroundSub.resync();
  started = true;
  mine = me ? { rank: me.rank, score: me.score } : null;
}

function detectMoment(before, after) {
  if (!after) return;
  let kind = null;
  if (!before) kind = "entered";
  else if (after.rank < before.rank) kind = "passed";
  else if (after.rank > before.rank) kind = "overtaken";
  else if (after.score !== before.score) kind = "score";
  if (!kind) return;
  const rankBefore = before ? before.rank : 0;
  moment = {
    kind,
    count: before ? Math.abs(after.rank - before.rank) : 0,
    rankBefore,
    rankAfter: after.rank,
    score: after.score,
    before: neighboursByRank.get(rankBefore) || null,
    at: Date.now(),
    name: null,
    item: null,
  };
  showMoment(moment);
  nameMoment();
  if (["passed", "overtaken"].includes(kind)) {
    const rankEl = document.getElementById("rank");
    rankEl.classList.remove("up", "down");
    void rankEl.offsetWidth;
    rankEl.classList.add(kind === "passed" ? "up" : "down");
  }
}

function showNeighbours(state) {
  if (!state.me) return;
  const at = state.entries.findIndex((e) => e.player === state.me.player);
  if (at < 0) return;
  const above = state.entries[at - 1] || null;
  const below = state.entries[at + 1] || null;
  current = { rank: state.me.rank, above: above && above.player, below: below && below.player };
  neighboursByRank.set(state.me.rank, { above: current.above, below: current.below });
  if (neighboursByRank.size > 32) neighboursByRank.delete(neighboursByRank.keys().next().value);
  const describe = (n) => (n ? `${n.player} · ${formatScore(n.score)} (Δ ${formatScore(Math.abs(n.score - state.me.score))})` : "–");
  document.getElementById("ahead").textContent = describe(above);
  document.getElementById("behind").textContent = describe(below);
  nameMoment();
}

const refreshDetail = followResets(config, board);

async function main() {
  if (!config.token) {
    showProblem("No token: open the ticker with ?token=<player token>.");
    return;
  }
  if (claims.role && claims.role !== "player") {
    showProblem(`The ticker follows the player of a player token; this token's role is ${claims.role}.`);
  }
  try {
    const detail = await restOf(config).board(board);
    document.getElementById("season").textContent = detail.season;
    showCountdown(document.getElementById("reset"), detail.next_reset_at, refreshDetail);
  } catch (error) {
    if (isFatal(error)) {
      showProblem(error.status === 404 ? `No board "${board}".` : `The token was refused: ${error.serverMessage}`);
      return;
    }
  }
  const live = new LivePage({
    url: config.wsUrl,
    token: config.token,
    onStatus: (status) => showStatus(statusEl, status, () => lastSeq),
  });
  const onError = (error) => showProblem(describeError(error));
  [, aroundSub] = live.start([
    { board, options: { view: "me" }, onState: showMine, onError },
    { board, options: { view: "around", k: 1 }, onState: showNeighbours, onError: () => {}, optional: true },
  ]);
}

main();
