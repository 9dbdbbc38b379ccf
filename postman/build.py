"""Writes the Postman collection and environment of the REST API (run ``python -m postman.build``).

The collection is generated so that every request carries the same checks, written
once here:

- the status is the expected one;
- the body matches the schema of that operation and status in the served
  ``/openapi.json`` (fetched once per run by the collection's pre-request script), or
  the ``Problem`` schema for an error; the ``Content-Type`` is the documented one;
- for reads, the same request sent again gives the same status and the same body.

It runs with newman against a fresh local runtime seeded by ``tests/rest/test_postman.py``
(board ``arena``: players p001..p025, p001 first; board ``archive``: 5 players in the
past season ``s1``, current season ``s2``). Tokens come in as environment variables.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

HERE: Final = Path(__file__).parent
COLLECTION: Final = HERE / "leaderboard.postman_collection.json"
ENVIRONMENT: Final = HERE / "local.postman_environment.json"

PRE_REQUEST: Final = """\
if (!pm.collectionVariables.get("openapi")) {
  pm.sendRequest(pm.variables.replaceIn("{{baseUrl}}/openapi.json"), (err, res) => {
    if (!err && res.code === 200) { pm.collectionVariables.set("openapi", res.text()); }
  });
}"""

CHECKS: Final = """\
const doc = JSON.parse(pm.collectionVariables.get("openapi"));
const retarget = (s) => JSON.parse(JSON.stringify(s).split("#/components/schemas/").join("#/definitions/"));
const definitions = retarget(doc.components.schemas);
pm.test(`status is ${spec.status}`, () => pm.response.to.have.status(spec.status));
if (spec.status !== 304) {
  let media = "application/problem+json";
  let schema = {$ref: "#/components/schemas/Problem"};
  if (spec.status < 400) {
    const answer = doc.paths[spec.path][spec.method].responses[String(spec.status)];
    media = Object.keys(answer.content)[0];
    schema = answer.content[media].schema;
  }
  pm.test(`content type is ${media}`, () => pm.expect(pm.response.headers.get("Content-Type")).to.include(media));
  pm.test("body matches the OpenAPI schema", () => pm.response.to.have.jsonSchema({allOf: [retarget(schema)], definitions}));
  if (spec.status >= 400) {
    pm.test(`problem code is ${spec.code}`, () => {
      const body = pm.response.json();
      pm.expect(body.code).to.equal(spec.code);
      pm.expect(body.type).to.match(new RegExp(`/${spec.code}$`));
    });
  }
}
if (spec.repeat) {
  const first = pm.response.text();
  const header = pm.request.headers.all()
    .filter((h) => !h.disabled)
    .map((h) => ({key: h.key, value: pm.variables.replaceIn(h.value)}));
  pm.sendRequest({url: pm.variables.replaceIn(pm.request.url.toString()), method: pm.request.method, header},
    (err, res) => pm.test("the same request gives the same response", () => {
      pm.expect(err).to.equal(null);
      pm.expect(res.code).to.equal(pm.response.code);
      pm.expect(res.text()).to.equal(first);
    }));
}"""


def _request(
    name: str,
    method: str,
    path: str,
    *,
    op: str,
    status: int,
    token: str | None = "spectatorToken",
    query: dict[str, str] | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    code: str | None = None,
    extra: str = "",
) -> dict[str, Any]:
    """One request item with the shared checks; ``op`` is its OpenAPI path template."""
    spec = {"status": status, "path": op, "method": method.lower(), "code": code,
            "repeat": method == "GET" and status != 304}  # fmt: skip
    header = [{"key": "Authorization", "value": f"Bearer {{{{{token}}}}}"}] if token else []
    header += [{"key": k, "value": v} for k, v in (headers or {}).items()]
    segments = [s for s in path.strip("/").split("/")]
    raw = "{{baseUrl}}/" + "/".join(segments)
    url: dict[str, Any] = {"raw": raw, "host": ["{{baseUrl}}"], "path": segments}
    if query:
        url["raw"] += "?" + "&".join(f"{k}={v}" for k, v in query.items())
        url["query"] = [{"key": k, "value": v} for k, v in query.items()]
    request: dict[str, Any] = {"method": method, "header": header, "url": url}
    if body is not None:
        header.append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {"mode": "raw", "raw": json.dumps(body)}
    script = f"const spec = {json.dumps(spec)};\n{CHECKS}\n{extra}".rstrip() + "\n"
    return {
        "name": name,
        "event": [
            {"listen": "test", "script": {"type": "text/javascript", "exec": script.splitlines()}}
        ],
        "request": request,
    }


def _ranks(first: int, last: int) -> str:
    return (
        "pm.test('ranks in order', () => pm.expect(pm.response.json().entries.map((e) => e.rank))"
        f".to.eql(Array.from({{length: {last - first + 1}}}, (_, i) => i + {first})));"
    )


SNAPSHOTS: Final = [
    _request("List boards", "GET", "/v1/boards", op="/v1/boards", status=200,
             extra="pm.test('lists arena', () => pm.expect(pm.response.json().boards.map((b) => b.id)).to.include('arena'));"),
    _request("Board detail", "GET", "/v1/boards/arena", op="/v1/boards/{board}", status=200,
             extra="pm.test('counts 25 entries', () => pm.expect(pm.response.json().entries).to.equal(25));"),
    _request("Board detail, past season", "GET", "/v1/boards/archive", query={"season": "s1"},
             op="/v1/boards/{board}", status=200,
             extra="pm.test('season s1 has 5', () => { const b = pm.response.json(); pm.expect([b.season, b.current_season, b.entries]).to.eql(['s1', 's2', 5]); });"),
    _request("Seasons", "GET", "/v1/boards/archive/seasons", op="/v1/boards/{board}/seasons",
             status=200,
             extra="pm.test('s1 then s2', () => pm.expect(pm.response.json().seasons.map((s) => s.season)).to.eql(['s1', 's2']));"),
    _request("Top page", "GET", "/v1/boards/arena/top", query={"limit": "10"},
             op="/v1/boards/{board}/top", status=200,
             extra=_ranks(1, 10) + "\npm.collectionVariables.set('cursor', pm.response.json().next_cursor);"
             "\npm.test('p001 leads', () => pm.expect(pm.response.json().entries[0].player_id).to.equal('p001'));"),
    _request("Top, next page by cursor", "GET", "/v1/boards/arena/top",
             query={"limit": "10", "cursor": "{{cursor}}"}, op="/v1/boards/{board}/top", status=200,
             extra=_ranks(11, 20)),
    _request("Top, last page", "GET", "/v1/boards/arena/top", query={"limit": "1000"},
             op="/v1/boards/{board}/top", status=200,
             extra=_ranks(1, 25) + "\npm.test('no next page', () => pm.expect(pm.response.json().next_cursor).to.equal(null));"),
    _request("Top, past season", "GET", "/v1/boards/archive/top", query={"season": "s1"},
             op="/v1/boards/{board}/top", status=200, extra=_ranks(1, 5)),
    _request("Player", "GET", "/v1/boards/arena/players/p003", op="/v1/boards/{board}/players/{player}",
             status=200,
             extra="pm.test('rank 3', () => pm.expect(pm.response.json().entry.rank).to.equal(3));"
             "\npm.collectionVariables.set('etag', pm.response.headers.get('ETag'));"),
    _request("Player, not modified", "GET", "/v1/boards/arena/players/p003",
             headers={"If-None-Match": "{{etag}}"}, op="/v1/boards/{board}/players/{player}",
             status=304),
    _request("Player, past season", "GET", "/v1/boards/archive/players/p002", query={"season": "s1"},
             op="/v1/boards/{board}/players/{player}", status=200,
             extra="pm.test('rank 2 in s1', () => pm.expect(pm.response.json().entry.rank).to.equal(2));"),
    _request("Around a player", "GET", "/v1/boards/arena/players/p010/around", query={"k": "2"},
             op="/v1/boards/{board}/players/{player}/around", status=200, extra=_ranks(8, 12)
             + "\npm.collectionVariables.set('up', pm.response.json().prev_cursor);"
             "\npm.collectionVariables.set('down', pm.response.json().next_cursor);"
             "\npm.collectionVariables.set('aroundSeq', pm.response.json().as_of_seq);"
             "\npm.test('display ranks and percentiles', () => { const e = pm.response.json().entries[0]; pm.expect([e.display_rank, e.percentile]).to.eql([8, 72]); });"),
    _request("Around, the page above", "GET", "/v1/boards/arena/players/p010/around",
             query={"k": "3", "cursor": "{{up}}"}, op="/v1/boards/{board}/players/{player}/around",
             status=200, extra=_ranks(5, 7)
             + "\npm.test('same seq', () => pm.expect(pm.response.json().as_of_seq).to.equal(Number(pm.collectionVariables.get('aroundSeq'))));"),
    _request("Around, the page below", "GET", "/v1/boards/arena/players/p010/around",
             query={"k": "3", "cursor": "{{down}}"}, op="/v1/boards/{board}/players/{player}/around",
             status=200, extra=_ranks(13, 15)),
    _request("Friends", "GET", "/v1/boards/arena/friends", query={"players": "p020,p002,nobody"},
             op="/v1/boards/{board}/friends", status=200,
             extra="pm.test('friend ranks', () => { const b = pm.response.json(); pm.expect(b.entries.map((e) => [e.player_id, e.rank, e.friend_rank])).to.eql([['p002', 2, 1], ['p020', 20, 2]]); pm.expect(b.missing).to.eql(['nobody']); });"),
    _request("OpenAPI document", "GET", "/openapi.json", op="/openapi.json", status=200, token=None,
             extra="pm.test('OpenAPI 3.1', () => pm.expect(pm.response.json().openapi).to.equal('3.1.0'));"),
]  # fmt: skip

ERRORS: Final = [
    _request("No token", "GET", "/v1/boards/arena/top", op="/v1/boards/{board}/top", status=401,
             token=None, code="unauthorized"),
    _request("Invalid token", "GET", "/v1/boards/arena/top", op="/v1/boards/{board}/top",
             status=401, token="invalidToken", code="unauthorized"),
    _request("Limit over 1000", "GET", "/v1/boards/arena/top", query={"limit": "1001"},
             op="/v1/boards/{board}/top", status=400, code="invalid_request"),
    _request("Tampered cursor", "GET", "/v1/boards/arena/top", query={"cursor": "AAAA{{cursor}}"},
             op="/v1/boards/{board}/top", status=400, code="invalid_cursor"),
    _request("Invalid board id", "GET", "/v1/boards/Not_A_Slug", op="/v1/boards/{board}",
             status=400, code="invalid_request"),
    _request("Unknown board", "GET", "/v1/boards/ghost", op="/v1/boards/{board}", status=404,
             code="unknown_board"),
    _request("Unknown season", "GET", "/v1/boards/arena/top", query={"season": "s9"},
             op="/v1/boards/{board}/top", status=404, code="unknown_season"),
    _request("Unknown player", "GET", "/v1/boards/arena/players/ghost",
             op="/v1/boards/{board}/players/{player}", status=404, code="unknown_player"),
    _request("Around, k over 100", "GET", "/v1/boards/arena/players/p001/around",
             query={"k": "101"}, op="/v1/boards/{board}/players/{player}/around", status=400,
             code="invalid_request"),
    _request("Friends, none listed", "GET", "/v1/boards/arena/friends", query={"players": ""},
             op="/v1/boards/{board}/friends", status=400, code="invalid_request"),
    _request("Unknown route", "GET", "/v1/leaderboards", op="", status=404, code="unknown_route"),
    _request("Method not allowed", "DELETE", "/v1/boards/arena", op="/v1/boards/{board}",
             status=405, code="method_not_allowed"),
    _request("Player may not create boards", "POST", "/v1/boards", op="/v1/boards", status=403,
             token="playerToken", body={"id": "nope"}, code="role_not_allowed"),
]  # fmt: skip

ADMIN: Final = [
    _request("Create board", "POST", "/v1/boards", op="/v1/boards", status=201, token="adminToken",
             body={"id": "created", "order": "asc", "metadata": {"unit": "ms"}},
             extra="pm.test('Location', () => pm.expect(pm.response.headers.get('Location')).to.equal('/v1/boards/created'));"),
    _request("Create board again", "POST", "/v1/boards", op="/v1/boards", status=409,
             token="adminToken", body={"id": "created"}, code="board_exists"),
    _request("Create board, invalid body", "POST", "/v1/boards", op="/v1/boards", status=400,
             token="adminToken", body={"id": "x", "order": "sideways"}, code="invalid_request"),
    _request("Configure board", "PATCH", "/v1/boards/created", op="/v1/boards/{board}", status=200,
             token="adminToken", body={"max_score": 60000, "reset": "weekly"},
             extra="pm.test('configured', () => { const b = pm.response.json(); pm.expect([b.max_score, b.reset]).to.eql([60000, 'weekly']); });"),
    _request("Configure board, crossed bounds", "PATCH", "/v1/boards/created",
             op="/v1/boards/{board}", status=400, token="adminToken", body={"min_score": 70000},
             code="invalid_bounds"),
    _request("Configure unknown board", "PATCH", "/v1/boards/ghost", op="/v1/boards/{board}",
             status=404, token="adminToken", body={"max_score": 5}, code="unknown_board"),
    _request("Configure tie mode and tiers", "PATCH", "/v1/boards/created", op="/v1/boards/{board}",
             status=200, token="adminToken",
             body={"tie_mode": "dense", "tiers": [{"name": "Gold", "top_percent": 1},
                                                  {"name": "Silver", "top_percent": 10}]},
             extra="pm.test('tie mode', () => pm.expect(pm.response.json().tie_mode).to.equal('dense'));"
             "\npm.test('next reset', () => pm.expect(Date.parse(pm.response.json().next_reset_at)).to.be.above(Date.now()));"),
    _request("Configure tiers out of order", "PATCH", "/v1/boards/created", op="/v1/boards/{board}",
             status=400, token="adminToken",
             body={"tiers": [{"name": "Gold", "top_percent": 10}, {"name": "Silver", "top_percent": 1}]},
             code="invalid_request"),
    _request("Create board with an all-time ladder", "POST", "/v1/boards", op="/v1/boards",
             status=201, token="adminToken", body={"id": "lifetime", "all_time": True},
             extra="pm.test('all-time', () => pm.expect(pm.response.json().all_time).to.equal(true));"),
    _request("Roll into all-time", "POST", "/v1/boards/lifetime/seasons",
             op="/v1/boards/{board}/seasons", status=400, token="adminToken",
             body={"season": "all-time"}, code="reserved_season"),
    _request("Roll season", "POST", "/v1/boards/created/seasons", op="/v1/boards/{board}/seasons",
             status=201, token="adminToken", body={"season": "launch"},
             extra="pm.test('now in launch', () => pm.expect(pm.response.json().current_season).to.equal('launch'));"),
    _request("Roll to an existing season", "POST", "/v1/boards/created/seasons",
             op="/v1/boards/{board}/seasons", status=409, token="adminToken",
             body={"season": "launch"}, code="season_exists"),
    _request("Spectator may not roll", "POST", "/v1/boards/created/seasons",
             op="/v1/boards/{board}/seasons", status=403, body={}, code="role_not_allowed"),
]  # fmt: skip


BATCH: Final = {
    "submission_id": "import-1",
    "scores": [
        {"player": "s001", "score": 10**9, "metadata": {"team": "red"}},
        {"player": "s002", "score": 5},
    ],
}

SCORES: Final = [
    _request("Submit a batch", "POST", "/v1/boards/arena/scores", op="/v1/boards/{board}/scores",
             status=200, token="serverToken", body=BATCH,
             extra="pm.test('acked with ranks and a seq', () => { const b = pm.response.json(); pm.expect(b.results.map((r) => [r.player, r.rank, r.replayed])).to.eql([['s001', 1, false], ['s002', 27, false]]); pm.expect(b.seq).to.be.above(0); pm.collectionVariables.set('seq', b.seq); });"),
    _request("Submit the batch again", "POST", "/v1/boards/arena/scores",
             op="/v1/boards/{board}/scores", status=200, token="serverToken", body=BATCH,
             extra="pm.test('replayed', () => { const b = pm.response.json(); pm.expect(b.results.every((r) => r.replayed)).to.equal(true); pm.expect(String(b.seq)).to.equal(String(pm.collectionVariables.get('seq'))); });"),
    _request("Read the batch back", "GET", "/v1/boards/arena/players/s001",
             query={"min_seq": "{{seq}}"}, op="/v1/boards/{board}/players/{player}", status=200,
             extra="pm.test('rank 1', () => pm.expect(pm.response.json().entry.rank).to.equal(1));"),
    _request("Same id, other scores", "POST", "/v1/boards/arena/scores",
             op="/v1/boards/{board}/scores", status=409, token="serverToken",
             body={**BATCH, "scores": [{"player": "s001", "score": 7}]}, code="submission_conflict"),
    _request("Batch from a player", "POST", "/v1/boards/arena/scores",
             op="/v1/boards/{board}/scores", status=403, token="playerToken",
             body={"scores": [{"player": "p001", "score": 1}]}, code="batch_not_allowed"),
    _request("Batch of a float", "POST", "/v1/boards/arena/scores",
             op="/v1/boards/{board}/scores", status=400, token="serverToken",
             body={"scores": [{"player": "s003", "score": 1.5}]}, code="invalid_request"),
    _request("Set my metadata", "PUT", "/v1/boards/arena/players/p001/metadata",
             op="/v1/boards/{board}/players/{player}/metadata", status=200, token="playerToken",
             body={"metadata": {"name": "Ace"}},
             extra="pm.test('metadata replaced, score kept', () => { const b = pm.response.json(); pm.expect(b.entry.metadata).to.eql({name: 'Ace'}); pm.expect(b.entry.score).to.equal(250); });"),
    _request("Set another player's metadata", "PUT", "/v1/boards/arena/players/p002/metadata",
             op="/v1/boards/{board}/players/{player}/metadata", status=403, token="playerToken",
             body={"metadata": {"name": "Nope"}}, code="not_your_player"),
]  # fmt: skip


MODERATION: Final = [
    _request("Look up a player", "GET", "/v1/players/p005", op="/v1/players/{player}",
             status=200, token="adminToken",
             extra="pm.test('arena and the archive', () => { const b = pm.response.json(); pm.expect(b.entries.map((e) => [e.board, e.season, e.rank])).to.eql([['archive', 's1', 5], ['arena', 's1', 6]]); pm.expect(b.bans).to.eql([]); });"),
    _request("Remove an entry", "DELETE", "/v1/boards/arena/players/p025",
             query={"reason": "cheated"}, op="/v1/boards/{board}/players/{player}", status=200,
             token="adminToken",
             extra="pm.test('removed', () => { const b = pm.response.json(); pm.expect([b.player, b.score]).to.eql(['p025', 10]); pm.collectionVariables.set('seq', b.seq); });"),
    _request("Read after the removal", "GET", "/v1/boards/arena/top",
             query={"limit": "1000", "min_seq": "{{seq}}"}, op="/v1/boards/{board}/top", status=200,
             extra="pm.test('26 left, ranks closed up', () => { const b = pm.response.json(); pm.expect(b.total).to.equal(26); pm.expect(b.entries.map((e) => e.rank)).to.eql(Array.from({length: 26}, (_, i) => i + 1)); });"),
    _request("Remove it again", "DELETE", "/v1/boards/arena/players/p025",
             op="/v1/boards/{board}/players/{player}", status=404, token="adminToken",
             code="unknown_player"),
    _request("Remove from a past season", "DELETE", "/v1/boards/archive/players/p005",
             query={"season": "s1"}, op="/v1/boards/{board}/players/{player}", status=200,
             token="adminToken",
             extra="pm.test('from s1', () => pm.expect(pm.response.json().season).to.equal('s1'));"),
    _request("Ban on a board", "PUT", "/v1/boards/arena/bans/p024",
             op="/v1/boards/{board}/bans/{player}", status=200, token="adminToken",
             body={"reason": "smurf account"},
             extra="pm.test('banned, one entry hidden', () => { const b = pm.response.json(); pm.expect([b.banned, b.changed, b.entries]).to.eql([true, true, 1]); });"),
    _request("Banned player's score", "POST", "/v1/boards/arena/scores",
             op="/v1/boards/{board}/scores", status=403, token="serverToken",
             body={"scores": [{"player": "p024", "score": 1}]}, code="player_banned"),
    _request("Unban on a board", "DELETE", "/v1/boards/arena/bans/p024",
             op="/v1/boards/{board}/bans/{player}", status=200, token="adminToken",
             extra="pm.test('lifted, entry back', () => { const b = pm.response.json(); pm.expect([b.banned, b.changed, b.entries]).to.eql([false, true, 1]); });"),
    _request("Ban everywhere", "PUT", "/v1/bans/p023", op="/v1/bans/{player}", status=200,
             token="adminToken", query={"reason": "chargeback"},
             extra="pm.test('every board', () => pm.expect(pm.response.json().board).to.equal(null));"),
    _request("Unban everywhere", "DELETE", "/v1/bans/p023", op="/v1/bans/{player}", status=200,
             token="adminToken"),
    _request("Erase a player", "DELETE", "/v1/players/p022", op="/v1/players/{player}",
             status=200, token="adminToken", body={"reason": "erasure request"},
             extra="pm.test('report', () => { const b = pm.response.json(); pm.expect(b.removed.entries).to.equal(1); pm.expect(b.audit_player).to.match(/^~erased-/); });"),
    _request("Audit log", "GET", "/v1/audit", query={"limit": "2"}, op="/v1/audit", status=200,
             token="adminToken",
             extra="pm.test('newest first', () => { const b = pm.response.json(); pm.expect(b.records.map((r) => r.action)).to.eql(['erase_player', 'unban']); pm.expect(b.next_cursor).to.be.a('string'); });"),
    _request("Audit log of a board", "GET", "/v1/audit", query={"board": "archive"},
             op="/v1/audit", status=200, token="adminToken",
             extra="pm.test('one removal', () => pm.expect(pm.response.json().records.map((r) => [r.action, r.season])).to.eql([['remove_entry', 's1']]));"),
    _request("Player may not ban", "PUT", "/v1/bans/p001", op="/v1/bans/{player}", status=403,
             token="playerToken", code="role_not_allowed"),
    _request("Look up an unknown player", "GET", "/v1/players/ghost", op="/v1/players/{player}",
             status=404, token="adminToken", code="unknown_player"),
]  # fmt: skip


def collection() -> dict[str, Any]:
    return {
        "info": {
            "name": "Leaderboard REST API",
            "description": __doc__,
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "event": [{"listen": "prerequest", "script": {"type": "text/javascript", "exec": PRE_REQUEST.splitlines()}}],
        "variable": [{"key": "openapi", "value": ""}, {"key": "cursor", "value": ""},
                     {"key": "etag", "value": ""}, {"key": "seq", "value": ""}],
        "item": [
            {"name": "Snapshots", "item": SNAPSHOTS},
            {"name": "Errors", "item": ERRORS},
            {"name": "Admin", "item": ADMIN},
            {"name": "Scores", "item": SCORES},
            {"name": "Moderation", "item": MODERATION},
        ],
    }  # fmt: skip


def environment() -> dict[str, Any]:
    names = ["baseUrl", "adminToken", "playerToken", "serverToken", "spectatorToken",
             "invalidToken"]  # fmt: skip
    defaults = {"baseUrl": "http://127.0.0.1:8080", "invalidToken": "not.a.token"}
    return {
        "name": "leaderboard local",
        "values": [
            {"key": n, "value": defaults.get(n, ""), "type": "secret" if "Token" in n else "default",
             "enabled": True}
            for n in names
        ],
    }  # fmt: skip


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def main() -> None:
    COLLECTION.write_text(render(collection()))
    ENVIRONMENT.write_text(render(environment()))


if __name__ == "__main__":
    main()
