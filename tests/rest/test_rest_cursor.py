"""Page cursors are opaque, round-trip exactly, and refuse any tampering."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from core.errors import BadRequest, ServerError
from core.ranking import EntryKey
from core.settings import Settings
from rest.cursor import CursorCodec, CursorPosition, cursor_key, derive_cursor_key

SECRET = "cursor-test-secret-cursor-test-secret-0123"
POSITION = CursorPosition(
    "arena", "s1", EntryKey(-4200, datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC), "p:7@x")
)


def codec(secret: str = SECRET) -> CursorCodec:
    return CursorCodec(derive_cursor_key(secret))


def test_round_trip_keeps_the_key_to_the_microsecond() -> None:
    """A cursor decodes to exactly the position it encodes, microseconds included."""
    assert codec().decode(codec().encode(POSITION)) == POSITION


def test_cursor_is_url_safe_and_opaque() -> None:
    """A cursor is unpadded base64url and does not show the board or player in clear."""
    token = codec().encode(POSITION)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert "arena" not in token


@pytest.mark.parametrize("index", [0, 5, 20, -1])
def test_any_changed_byte_is_refused(index: int) -> None:
    """Changing one byte anywhere (MAC or payload) makes the cursor invalid."""
    raw = bytearray(base64.urlsafe_b64decode(codec().encode(POSITION) + "=="))
    raw[index] ^= 0x01
    forged = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(BadRequest) as caught:
        codec().decode(forged)
    assert caught.value.code == "invalid_cursor"


@pytest.mark.parametrize("token", ["", "!!!", "AAAA", "a" * 300])
def test_garbage_is_refused(token: str) -> None:
    """Strings that are not cursors are refused with invalid_cursor."""
    with pytest.raises(BadRequest, match="invalid cursor"):
        codec().decode(token)


def test_another_key_cannot_read_it() -> None:
    """A cursor signed under another secret is refused."""
    with pytest.raises(BadRequest):
        codec("another-secret-another-secret-another-1").decode(codec().encode(POSITION))


def test_key_is_domain_separated_from_the_jwt_secret() -> None:
    """The cursor key is derived from, and differs from, the JWT secret."""
    key = derive_cursor_key(SECRET)
    assert len(key) == 32 and key != SECRET.encode()[:32]
    assert cursor_key(Settings(jwt_secret=SECRET)) == key  # type: ignore[arg-type]


def test_a_cursor_secret_serves_deployments_without_a_shared_jwt_secret() -> None:
    """A JWKS (Cognito) deployment has no HS256 secret: its own cursor secret keys the
    cursors, and where both exist the cursor secret wins."""
    other = "cursor-secret-cursor-secret-cursor-secret-1"
    key = derive_cursor_key(other)
    assert cursor_key(Settings(jwt_secret=None, cursor_secret=other)) == key  # type: ignore[arg-type]
    assert cursor_key(Settings(jwt_secret=SECRET, cursor_secret=other)) == key  # type: ignore[arg-type]
    signed = CursorCodec(key).encode(POSITION)
    assert CursorCodec(cursor_key(Settings(cursor_secret=other))).decode(signed) == POSITION  # type: ignore[arg-type]
    with pytest.raises(BadRequest):
        codec().decode(signed)


def test_no_secret_is_a_configuration_error() -> None:
    """Without a cursor or JWT secret (or their ARNs) there is no cursor key: misconfigured."""
    with pytest.raises(ServerError) as caught:
        cursor_key(Settings(jwt_secret=None, jwt_secret_arn=None))
    assert caught.value.code == "misconfigured"
