"""The REST route table's machinery: a route, who may call it, and matching a request.

:class:`Route` describes one operation (method, path template, endpoint, the pydantic
models of its parameters, body and answer, and its :class:`Access`); a :class:`Router`
matches a method and path to a route. ``rest.api`` holds the table itself
(``ROUTES``), and ``rest.openapi`` derives the OpenAPI document from any router.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from core.errors import MethodNotAllowed, NotFound
from rest.models import NoParams


class Access(StrEnum):
    PUBLIC = "public"  # no authorizer (the OpenAPI document)
    READ = "read"  # any role
    ADMIN = "admin"  # the admin role
    SUBMIT = "submit"  # a player (for themselves) or a server: the endpoint gets the principal


Endpoint = Callable[..., Awaitable[BaseModel | dict[str, Any]]]
"""A route function: (path and query parameters, body, the services) -> the answer; a
:attr:`Access.SUBMIT` route's also gets the caller's principal."""


@dataclass(frozen=True)
class Route:
    """One operation: what it takes, what it returns, who may call it."""

    method: str
    template: str
    endpoint: Endpoint
    operation_id: str
    summary: str
    access: Access
    params: type[BaseModel] = NoParams
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = ()
    max_body_bytes: int = 64 * 1024
    optional_body: bool = False  # the body may be absent (the endpoint then gets None)
    with_principal: bool = False  # the endpoint also gets the caller's principal

    @property
    def path_names(self) -> list[str]:
        return re.findall(r"\{(\w+)\}", self.template)

    @property
    def pattern(self) -> re.Pattern[str]:
        return re.compile(
            "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template)) + "$"
        )


@dataclass(frozen=True)
class Router:
    routes: tuple[Route, ...]

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route and its path parameters; NotFound or MethodNotAllowed if none."""
        allowed: list[str] = []
        for route in self.routes:
            m = route.pattern.fullmatch(path)
            if m is None:
                continue
            if route.method == method:
                return route, m.groupdict()
            allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(
                f"method {method} is not allowed on {path}: expected one of {allowed}",
                allow=", ".join(allowed),
            )
        raise NotFound(f"no route for {path}: see /openapi.json", code="unknown_route")


__all__ = ["Access", "Endpoint", "Route", "Router"]
