"""What a submit costs on the wire: one score is one round trip, its ack numbered."""

from __future__ import annotations

from core.boards import BoardSpec
from core.ids import SubmissionId
from core.ranking import ScoreInput
from core.settings import Settings
from db.store import Store
from tests.db.proxy_wire import PinningRelay


async def test_a_single_score_is_one_round_trip_with_its_seq(
    database_dsn: str, settings: Settings
) -> None:
    """Submitting one score sends one statement, and the ack's seq is the seq its change
    event was numbered with: committed and numbered without a second round trip."""
    unnamed = settings.model_copy(update={"db_proxy": True})  # every statement on the wire
    async with PinningRelay(database_dsn) as relay:
        store = await Store.open(unnamed, dsn=relay.dsn)
        try:
            await store.create_board(BoardSpec(id="arena"))
            await store.submit("arena", [ScoreInput("bob", 5)])
            sent = len(relay.audit.statements)
            [ack] = await store.submit("arena", [ScoreInput("alice", 10)])
            during = relay.audit.statements[sent:]
            numbered = await store.pool.fetchval(
                "SELECT seq FROM lb_event WHERE player_id = 'alice'"
            )
        finally:
            await store.close()
    # asyncpg without a statement cache parses each statement, then binds it unnamed
    assert len(set(during)) == 1, during
    assert (ack.rank, ack.total) == (1, 2)
    assert ack.seq == numbered == 2


async def test_a_replayed_single_score_answers_the_first_seq(store: Store) -> None:
    """A retry of a single score under its submission id replays the first ack, seq
    included, even after later writes moved the board on."""
    await store.create_board(BoardSpec(id="arena"))
    sid = SubmissionId("m1")
    [first] = await store.submit("arena", [ScoreInput("alice", 10)], submission_id=sid)
    await store.submit("arena", [ScoreInput("bob", 20)])
    [again] = await store.submit("arena", [ScoreInput("alice", 10)], submission_id=sid)
    assert again.replayed and not first.replayed
    assert again.seq == first.seq == 1
    assert (again.rank, again.score) == (first.rank, first.score)
