"""Opaque, tamper-evident page cursors: a ladder position signed with HMAC-SHA256.

A cursor names the board, the season and the last entry's :class:`~core.ranking.EntryKey`
of the page it continues; the next page starts strictly after that key (keyset
pagination, stable under writes), in the same season even if the board rolls meanwhile.

Wire form: ``base64url(mac[:16] || payload)`` without padding, where ``payload`` is the
compact JSON ``[1, board, season, sort_score, achieved_at_us, player]`` and ``mac`` is
HMAC-SHA256 over ``payload``. A cursor of an around window (paging up or down from a
player's position) is pinned to the seq of the read that made it, so every page it leads
to is read at that one seq: ``[2, board, season, sort_score, achieved_at_us, player,
"before" | "after", as_of_seq]``. A cursor that does not decode, verify or parse raises
:class:`~core.errors.BadRequest` (``invalid_cursor``); the MAC is compared in constant
time before the payload is parsed.

The key is derived with a domain-separation label,
``HMAC-SHA256(key=secret, msg=CURSOR_KEY_LABEL)``, from the deployment's cursor secret
(``cursor_secret``, or on AWS the Secrets Manager secret ``cursor_secret_arn``, which the
stack generates and grants to the REST function alone), else, for a self-hosted setup
with one HS256 secret, from the JWT secret; a cursor MAC can never be used as a token
signature or the other way round. Rotating the secret invalidates outstanding cursors
(clients restart from the first page).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from core.errors import BadRequest, ServerError
from core.ports import SecretReader
from core.ranking import EntryKey

if TYPE_CHECKING:
    from core.settings import Settings

CURSOR_KEY_LABEL: Final = b"leaderboard/rest/page-cursor/v1"
VERSION: Final = 1
PINNED_VERSION: Final = 2
MAC_BYTES: Final = 16
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_US: Final = timedelta(microseconds=1)


def derive_cursor_key(secret: str) -> bytes:
    """The cursor HMAC key for a JWT secret (domain-separated, see the module docstring)."""
    return hmac.new(secret.encode(), CURSOR_KEY_LABEL, hashlib.sha256).digest()


def cursor_key(settings: Settings, secrets: SecretReader | None = None) -> bytes:
    """The cursor key of a deployment: from its cursor secret (the value, else the
    secret ARN, read through ``secrets``), else from its JWT HS256 secret (likewise).

    Raises :class:`~core.errors.ServerError` (``misconfigured``) when none is set, or
    when only an ARN is set and there is no ``secrets`` reader to read it.
    """
    for value, arn in (
        (settings.cursor_secret, settings.cursor_secret_arn),
        (settings.jwt_secret, settings.jwt_secret_arn),
    ):
        if value is not None:
            return derive_cursor_key(value.get_secret_value())
        if arn is not None and secrets is not None:
            return derive_cursor_key(secrets.read(arn))
    raise ServerError(
        "no key for page cursors: expected LEADERBOARD_CURSOR_SECRET(_ARN) "
        "or LEADERBOARD_JWT_SECRET(_ARN)",
        code="misconfigured",
    )


@dataclass(frozen=True, slots=True)
class CursorPosition:
    """Where the next page starts: strictly after ``after`` in ``board``'s ``season`` (or,
    with ``before``, strictly before it), as of seq ``as_of`` when the cursor is pinned."""

    board: str
    season: str
    after: EntryKey
    before: bool = False
    as_of: int | None = None


def _invalid(why: str) -> BadRequest:
    return BadRequest(
        f"invalid cursor: {why}; expected the next_cursor of a previous page", code="invalid_cursor"
    )


class CursorCodec:
    """Signs and verifies cursors with one key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError(f"a cursor key needs at least 32 bytes, got {len(key)}")
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:MAC_BYTES]

    def encode(self, position: CursorPosition) -> str:
        key = position.after
        micros = (key.achieved_at.astimezone(UTC) - EPOCH) // _US
        fields: list[object] = [
            VERSION, position.board, position.season, key.sort_score, micros, key.player_id,
        ]  # fmt: skip
        if position.as_of is not None:
            fields[0] = PINNED_VERSION
            fields += ["before" if position.before else "after", position.as_of]
        payload = json.dumps(fields, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(self._mac(payload) + payload).rstrip(b"=").decode()

    def decode(self, token: str) -> CursorPosition:
        """The position a cursor names; :class:`BadRequest` if it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise _invalid("not base64url") from None
        mac, payload = raw[:MAC_BYTES], raw[MAC_BYTES:]
        if len(mac) < MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload)):
            raise _invalid("signature mismatch")
        try:
            version, board, season, sort_score, micros, player, *pin = json.loads(payload)
        except (ValueError, TypeError):
            raise _invalid("unreadable payload") from None
        key = EntryKey(sort_score, EPOCH + micros * _US, player)
        if version == VERSION and not pin:
            return CursorPosition(board, season, key)
        if version == PINNED_VERSION and len(pin) == 2 and pin[0] in ("before", "after"):
            return CursorPosition(board, season, key, before=pin[0] == "before", as_of=int(pin[1]))
        raise _invalid(f"version {version!r}")


__all__ = ["CursorCodec", "CursorPosition", "cursor_key", "derive_cursor_key"]
