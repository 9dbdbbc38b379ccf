"""The wire models: the broadcaster's fast ticker frame is the model's frame, byte for byte."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from core.protocol import UpdateFrame, ViewEntry

ids = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=20)
ints = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)


@given(
    view_id=ids, board=ids, season=ids, seq=ints, prev_seq=ints, total=ints,
    me=st.none() | st.builds(
        ViewEntry, player=ids, score=ints, rank=st.integers(min_value=1, max_value=10**9),
        display_rank=st.integers(min_value=1, max_value=10**9),
        percentile=st.floats(min_value=0, max_value=100), tier=st.none() | ids,
    ),
)  # fmt: skip
def test_a_ticker_frame_is_the_update_frame_a_client_parses(
    view_id: str, board: str, season: str, seq: int, prev_seq: int, total: int,
    me: ViewEntry | None,
) -> None:  # fmt: skip
    fast = UpdateFrame.dump_ticker(
        view_id=view_id, board=board, season=season, seq=seq, prev_seq=prev_seq, total=total,
        me=me,
    )  # fmt: skip
    model = UpdateFrame(
        view_id=view_id, board=board, season=season, view="me", seq=seq, prev_seq=prev_seq,
        total=total, me=me,
    ).dump()  # fmt: skip
    assert fast == model
    assert json.loads(fast).get("me") == (None if me is None else me.model_dump(exclude_none=True))
