// The index page: every board (GET /v1/boards, through the TypeScript client's
// RestClient), each linked to its live page, and to the rank ticker when the token is a
// player's. The token comes from the URL (?token=).

import { ServerError, claimsOf, formatScore, pageConfig, restOf, showProblem } from "./live.js";

const config = pageConfig();

function link(href, text, className) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  a.className = className;
  return a;
}

async function main() {
  if (!config.token) {
    document.getElementById("need-token").hidden = false;
    return;
  }
  const claims = claimsOf(config.token);
  if (claims.role === "admin") document.getElementById("admin-link").href = `/admin#token=${encodeURIComponent(config.token)}`;
  const query = `?token=${encodeURIComponent(config.token)}`;
  let listing;
  try {
    listing = await restOf(config).listBoards();
  } catch (error) {
    const refused = error instanceof ServerError && (error.status === 401 || error.status === 403);
    const said = error instanceof ServerError ? error.serverMessage : error.message;
    showProblem(refused ? `The token was refused: ${said}` : `Could not list the boards: ${said}`);
    if (refused) document.getElementById("need-token").hidden = false;
    return;
  }
  const list = document.getElementById("boards");
  for (const board of listing.boards) {
    const item = document.createElement("li");
    item.className = "board-card";
    item.dataset.board = board.id;
    const name = encodeURIComponent(board.id);
    item.appendChild(link(`/boards/${name}${query}`, board.id, "board-link"));
    const facts = document.createElement("span");
    facts.className = "board-facts";
    facts.textContent = `season ${board.season} · ${board.order} · ${board.policy} · seq ${formatScore(board.as_of_seq)}`;
    item.appendChild(facts);
    if (claims.role === "player") item.appendChild(link(`/boards/${name}/ticker${query}`, "My rank ticker", "ticker-link"));
    list.appendChild(item);
  }
  document.getElementById("empty").hidden = listing.boards.length > 0;
}

main();
