"""Conditional reads of snapshots: ETags, ``If-None-Match`` and caching headers.

Pure functions. The ETag is a strong validator over the exact body bytes, so two
reads of the same state (on the replica or the primary) carry the same ETag, and any
change (a rank, a score, ``as_of_seq``) changes it. ``Cache-Control`` is short and
``private``: every read is authenticated, so shared caches must not keep it.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Final

CACHE_CONTROL: Final = "private, max-age=2"
"""Snapshots age fast: a client may reuse one for 2 s, then revalidates (304 is cheap)."""
VARY: Final = "Authorization"


def etag_for(body: bytes) -> str:
    """The strong ETag of a response body: ``"<22 base64url chars of SHA-256>"``."""
    digest = hashlib.sha256(body).digest()[:16]
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode() + '"'


def _opaque(tag: str) -> str:
    tag = tag.strip()
    return tag[2:] if tag.startswith(("W/", "w/")) else tag


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 13.1.2) or is ``*``."""
    if not if_none_match:
        return False
    wanted = _opaque(etag)
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or (tag and _opaque(tag) == wanted):
            return True
    return False


__all__ = ["CACHE_CONTROL", "VARY", "etag_for", "not_modified"]
