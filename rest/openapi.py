"""The OpenAPI 3.1 document of the REST API, generated from the route table and models.

Nothing here is written by hand: component schemas come from pydantic
(``models_json_schema`` with ``#/components/schemas/{model}`` references), parameters
are the properties of each route's parameter model (path or query by the template),
and each operation lists its success status, 304 for ``GET`` snapshots, and its
documented problem statuses (``application/problem+json``). The document is built
once per process and is the same for every caller.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, Final, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from rest.models import Problem
from rest.routing import Access, Route, Router

REF: Final = "#/components/schemas/{model}"
SECURITY_SCHEME: Final = "bearerAuth"
TITLE: Final = "Leaderboard REST snapshot API"
VERSION: Final = "1.0.0"
DESCRIPTION: Final = """Snapshots of leaderboards, read from the read replica.

Every snapshot carries `as_of_seq`, the board sequence number it includes: subscribe on
the WebSocket API and apply events with a higher `seq`. `GET` answers carry a strong
`ETag`; send it back in `If-None-Match` for a 304. Errors are RFC 9457
`application/problem+json` with a stable `type` ending in `code`.

Auth: every `/v1` operation needs `Authorization: Bearer <JWT>` (the REST authorizer).
Reads take any role; creating and configuring boards and rolling seasons take `admin`;
a batch of scores takes `server`, and a player's metadata the player or a `server`.
Score writes answer the board `seq` they were numbered with: pass it as `min_seq` to a
read to read your write.
There is no anonymous access. Scores are 64-bit integers: parse them as big integers in
JavaScript when they may exceed 2^53."""

Mode = Literal["validation", "serialization"]
_TAGS: Final = {Access.PUBLIC: "snapshots", Access.READ: "snapshots", Access.ADMIN: "admin",
                Access.SUBMIT: "scores"}  # fmt: skip


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional parameter's schema without its ``null`` branch (a query string has no null)."""
    schema = dict(schema)
    options = schema.pop("anyOf", None)
    if options is not None:
        rest = [o for o in options if o != {"type": "null"}]
        if len(rest) == 1:
            schema = {**rest[0], **schema}
        else:
            schema["anyOf"] = rest
    if schema.get("default", ...) is None:
        del schema["default"]
    return schema


def _parameters(route: Route, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    model = schemas[route.params.__name__]
    required = set(model.get("required", []))
    in_path = set(route.path_names)
    params = []
    for name, prop in model.get("properties", {}).items():
        where = "path" if name in in_path else "query"
        schema = _without_null(prop)
        param: dict[str, Any] = {
            "name": name, "in": where, "required": where == "path" or name in required,
            "schema": {k: v for k, v in schema.items() if k not in ("title", "description")},
        }  # fmt: skip
        if "description" in schema:
            param["description"] = schema["description"]
        params.append(param)
    if route.method == "GET" and route.access is not Access.PUBLIC:
        params.append({
            "name": "If-None-Match", "in": "header", "required": False,
            "description": "An ETag of an earlier answer: 304 when it still matches.",
            "schema": {"type": "string"},
        })  # fmt: skip
    return params


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _responses(route: Route, router: Router, refs: Mapping[Any, Any]) -> dict[str, Any]:
    success: dict[str, Any] = {"description": HTTPStatus(route.status).phrase}
    schema = refs[(route.response, "serialization")] if route.response else {"type": "object"}
    success["content"] = {"application/json": {"schema": schema}}
    if route.method == "GET" and route.access is not Access.PUBLIC:
        success["headers"] = {
            "ETag": {"schema": {"type": "string"}, "description": "Strong validator of the body."},
            "Cache-Control": {"schema": {"type": "string"}},
        }
    if route.status == 201 and route.response is not None and "id" in route.response.model_fields:
        success["links"] = {
            other.operation_id: {
                "operationId": other.operation_id,
                "parameters": {"board": "$response.body#/id"},
            }
            for other in router.routes
            if other.path_names == ["board"]
        }
    responses: dict[str, Any] = {str(route.status): success}
    if route.method == "GET" and route.access is not Access.PUBLIC:
        responses["304"] = {"description": "Not Modified: `If-None-Match` matched the ETag."}
    for status in route.errors:
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": {"application/problem+json": {"schema": refs[(Problem, "serialization")]}},
        }
    return responses


def _operation(
    route: Route, router: Router, schemas: dict[str, Any], refs: Mapping[Any, Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id,
        "summary": route.summary,
        "tags": [_TAGS[route.access]],
        "parameters": _parameters(route, schemas),
        "responses": _responses(route, router, refs),
        "security": [] if route.access is Access.PUBLIC else [{SECURITY_SCHEME: []}],
    }
    if route.body is not None:
        op["requestBody"] = {
            "required": not route.optional_body,
            "content": {"application/json": {"schema": refs[(route.body, "validation")]}},
        }
    if not op["parameters"]:
        del op["parameters"]
    return op


@functools.cache
def _document(router: Router) -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], Mode]] = [(Problem, "serialization")]
    for route in router.routes:
        wanted.append((route.params, "validation"))
        if route.body is not None:
            wanted.append((route.body, "validation"))
        if route.response is not None:
            wanted.append((route.response, "serialization"))
    wanted = list(dict.fromkeys(wanted))
    refs, defs = models_json_schema(wanted, ref_template=REF)
    schemas: dict[str, Any] = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for route in router.routes:
        paths.setdefault(route.template, {})[route.method.lower()] = _operation(
            route, router, schemas, refs
        )
    for params in {route.params for route in router.routes}:
        schemas.pop(params.__name__, None)  # they became parameters
    return {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }


def openapi_document(router: Router) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``router``'s routes (a fresh copy; the build cost is
    paid once per process)."""
    return copy.deepcopy(_document(router))


__all__ = ["openapi_document"]
