"""The OpenAPI 3.1 document is generated from the route table and models."""

from __future__ import annotations

import json

from rest.api import ROUTES
from rest.openapi import openapi_document
from rest.routing import Access


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def test_every_route_is_an_operation() -> None:
    """Each route of the table is an operation with its id, security and responses."""
    doc = openapi_document(ROUTES)
    assert doc["openapi"] == "3.1.0"
    for route in ROUTES.routes:
        op = doc["paths"][route.template][route.method.lower()]
        assert op["operationId"] == route.operation_id
        assert str(route.status) in op["responses"]
        assert (op["security"] == []) is (route.access is Access.PUBLIC)


def test_every_reference_resolves() -> None:
    """Every $ref points at a schema under components."""
    doc = openapi_document(ROUTES)
    names = set(doc["components"]["schemas"])
    assert {r.removeprefix("#/components/schemas/") for r in _refs(doc)} <= names


def test_errors_are_problem_json() -> None:
    """Every documented error status answers application/problem+json with the Problem schema."""
    doc = openapi_document(ROUTES)
    for methods in doc["paths"].values():
        for op in methods.values():
            for status, answer in op["responses"].items():
                if int(status) >= 400:
                    schema = answer["content"]["application/problem+json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problem"}


def test_limits_are_in_the_schema() -> None:
    """The page limit is 1..1000 in the document, as enforced."""
    top = openapi_document(ROUTES)["paths"]["/v1/boards/{board}/top"]["get"]
    limit = next(p for p in top["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["minimum"], limit["schema"]["maximum"]) == (1, 1000)


def test_document_is_deterministic() -> None:
    """Two builds serialize identically (the ETag of /openapi.json is stable)."""
    assert json.dumps(openapi_document(ROUTES), sort_keys=True) == json.dumps(
        openapi_document(ROUTES), sort_keys=True
    )
