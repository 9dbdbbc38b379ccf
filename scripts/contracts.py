"""Writes the API contracts the code generates to docs/, or checks that they are current.

    .venv/bin/python scripts/contracts.py          # write docs/openapi.json, docs/asyncapi.json
    .venv/bin/python scripts/contracts.py --check  # exit 1 naming each file that drifted

The documents come from ``rest.openapi`` (the REST route table) and ``connect.asyncapi``
(the WebSocket wire models); the TypeScript client's types are generated from these files
(``npm run generate`` in client/typescript), so regenerate both after changing a model.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connect.asyncapi import asyncapi_document, dumps  # noqa: E402
from rest.api import ROUTES  # noqa: E402
from rest.openapi import openapi_document  # noqa: E402


def contracts() -> dict[Path, str]:
    """Each committed contract's path and the text the code generates for it."""
    return {
        ROOT / "docs" / "openapi.json": dumps(openapi_document(ROUTES)),
        ROOT / "docs" / "asyncapi.json": dumps(asyncapi_document()),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    drifted = []
    for path, text in contracts().items():
        if path.exists() and path.read_text() == text:
            continue
        if check:
            drifted.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    for path in drifted:
        print(f"{path} drifted from the code: run scripts/contracts.py", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
