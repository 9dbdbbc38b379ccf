"""ETags are strong validators of the body, and If-None-Match follows RFC 9110."""

from __future__ import annotations

import pytest

from rest.snapshots import etag_for, not_modified


def test_etag_is_stable_and_changes_with_the_body() -> None:
    """The same body gives the same quoted ETag; another body another one."""
    assert etag_for(b'{"a":1}') == etag_for(b'{"a":1}')
    assert etag_for(b'{"a":1}') != etag_for(b'{"a":2}')
    assert etag_for(b"x").startswith('"') and etag_for(b"x").endswith('"')


@pytest.mark.parametrize(
    ("header", "hit"),
    [
        (None, False),
        ("", False),
        ('"abc"', True),
        ('W/"abc"', True),
        ('"zzz", "abc"', True),
        ("*", True),
        ('"abcd"', False),
        ("abc", False),
    ],
)
def test_if_none_match(header: str | None, hit: bool) -> None:
    """If-None-Match matches by weak comparison, in a list, or with *."""
    assert not_modified(header, '"abc"') is hit
