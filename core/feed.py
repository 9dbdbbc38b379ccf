"""The change feed's event: one entry's move within one ladder.

Events are numbered per board (``seq``), densely and in commit order; see
db/functions/lb_sequence_settled.sql for how the store guarantees that.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class ChangeEvent(BaseModel):
    """An entry moved: it was inserted (``old_*`` is None), its score/time changed, or it
    was removed (``new_*`` is None: docs/moderation.md)."""

    model_config = ConfigDict(frozen=True)

    board_id: str
    season: str
    seq: int
    player_id: str
    old_score: int | None
    new_score: int | None
    old_at: datetime | None
    new_at: datetime | None
