"""The AsyncAPI 3.0 document of the WebSocket API, generated from the wire models.

Nothing here is written by hand that the code already says: the message and frame
schemas come from the pydantic models of :mod:`core.protocol` (``models_json_schema``
with ``#/components/schemas/{model}`` references), the error codes from
:data:`core.errors.CODES`, the limits from :class:`~core.settings.Settings`' defaults.

Two facts of the wire shape the frame schemas beyond what pydantic derives:

- frames are dumped with ``exclude_none`` (``_Frame.dump``), so a field that may be
  ``None`` is *absent* rather than ``null``, and every other field is always present;
  the frame schemas say exactly that (no ``null``, and ``required`` lists the rest);
- an ``error`` frame's ``error`` is the service's error body (``LeaderboardError.to_dict``):
  ``code`` (one of the catalogue, ``ErrorCode``), ``status``, ``message``, ``details``,
  and ``retry_after_ms`` when the service knows when a retry may succeed.

The document describes the service: it *receives* client messages (each with a reply)
and *sends* updates and unsolicited errors. ``x-error-kinds`` lists the error classes
(status and parent) the codes belong to, so SDKs can generate one class per code under
one class per kind. ``python -m connect.asyncapi`` prints it (``docs/asyncapi.json``).
"""

from __future__ import annotations

import copy
import functools
import json
import sys
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import models_json_schema

from core.errors import CODES, LeaderboardError
from core.protocol import (
    AckFrame,
    AuditMessage,
    BanMessage,
    ErasePlayerMessage,
    ErrorFrame,
    ModeratedFrame,
    RemoveEntryMessage,
    SnapshotFrame,
    SubmitMessage,
    SubscribeMessage,
    UnbanMessage,
    UnsubscribedFrame,
    UnsubscribeMessage,
    UpdateFrame,
)
from core.settings import Settings

REF: Final = "#/components/schemas/{model}"
CHANNEL: Final = "leaderboard"
TITLE: Final = "Leaderboard WebSocket API"
VERSION: Final = "1.0.0"

Mode = Literal["validation", "serialization"]

CLIENT_MESSAGES: Final[tuple[tuple[str, type[BaseModel], str], ...]] = (
    ("submit", SubmitMessage, "Submit one score, or a batch of scores (server role)."),
    ("subscribe", SubscribeMessage, "Follow a view: `top` n, `around` a player, or `me`."),
    ("unsubscribe", UnsubscribeMessage, "Stop following a view of this connection."),
    ("remove_entry", RemoveEntryMessage, "Remove a player's entry from a ladder (admin)."),
    ("ban", BanMessage, "Ban a player on a board, or on every board (admin)."),
    ("unban", UnbanMessage, "Lift a player's ban on a board, or on every board (admin)."),
    ("erase_player", ErasePlayerMessage, "Erase a player everywhere (admin)."),
    ("audit", AuditMessage, "A page of the moderation audit log, newest first (admin)."),
)
SERVER_FRAMES: Final[tuple[tuple[str, type[BaseModel], str], ...]] = (
    ("ack", AckFrame, "The reply to a submit, sent after its transaction committed."),
    ("snapshot", SnapshotFrame, "A view's full state: the reply to subscribe, and a resync."),
    ("update", UpdateFrame, "A view's new full state; `prev_seq` lets the client see a gap."),
    ("unsubscribed", UnsubscribedFrame, "The reply to unsubscribe."),
    ("moderated", ModeratedFrame, "The reply to a moderation action, after its commit."),
    ("error", ErrorFrame, "An error; the connection stays open."),
)
REPLIES: Final = {
    "submit": "ack",
    "subscribe": "snapshot",
    "unsubscribe": "unsubscribed",
    "remove_entry": "moderated",
    "ban": "moderated",
    "unban": "moderated",
    "erase_player": "moderated",
    "audit": "moderated",
}


class ErrorBody(BaseModel):
    """What an error frame's `error` holds: `LeaderboardError.to_dict()`."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="The stable machine code: one of `ErrorCode`.")
    status: int = Field(ge=100, le=599, description="The HTTP-like status of the code.")
    message: str = Field(description="For humans: what was expected and what arrived.")
    details: dict[str, Any] | None = Field(default=None, description="Machine-readable context.")
    retry_after_ms: int | None = Field(
        default=None,
        ge=0,
        description="On a retryable error, when the service knows it: wait at least this "
        "long before retrying.",
    )


DESCRIPTION: Final = """Live leaderboards over one WebSocket: submit scores, follow views.

Connect with a token in the query string (`?token=<JWT>`; browsers cannot set headers
on a WebSocket). A refused token fails the upgrade with 401 (403 when its role grants
nothing). Every client message is a JSON object with an `action`; a `request_id` (1-64
characters) is echoed in its reply, which is how a client matches replies to requests.

Every `snapshot` and `update` carries `seq`, the board sequence number it reflects;
an `update` also carries `prev_seq`, the `seq` of the previous frame of that view on
this connection. The client rule: a snapshot replaces the state; an update at or below
the last `seq` is dropped; an update whose `prev_seq` is the last `seq` applies; any
other update is a gap: resubscribe. After a reconnect, resubscribe every view. Frames
carry the full state of their view, never diffs.

Limits (API Gateway's): {frame} bytes per frame, {message} bytes per message
(close 1009), {idle} s idle and {life} s per connection (close 1001). A batch holds at
most {batch} scores; metadata is at most {metadata} bytes of JSON; a `top` view at most
{top} rows. Scores are signed 64-bit integers: parse them as big integers in JavaScript
when they may exceed 2^53."""


def _limits() -> dict[str, int]:
    fields = Settings.model_fields
    return {
        "frame": fields["max_frame_bytes"].default,
        "message": fields["max_message_bytes"].default,
        "idle": int(fields["idle_timeout_s"].default),
        "life": int(fields["max_connection_s"].default),
        "batch": fields["batch_max"].default,
        "metadata": fields["metadata_max_bytes"].default,
        "top": fields["view_top_max"].default,
    }


def _without_titles(schema: dict[str, Any]) -> dict[str, Any]:
    """A model schema without pydantic's per-property titles ("Request Id"): generated
    types would otherwise name one alias per property."""
    schema = copy.deepcopy(schema)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


def _as_dumped(model: type[BaseModel], schema: dict[str, Any]) -> dict[str, Any]:
    """A frame model's schema as ``dump`` (``exclude_none``) writes it: optional fields
    are absent, never ``null``; every other field is always there."""
    schema = copy.deepcopy(schema)
    required: list[str] = []
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        nullable = options is not None and {"type": "null"} in options
        if nullable:
            rest = [o for o in options if o != {"type": "null"}]
            del prop["anyOf"]
            if len(rest) == 1:
                prop.update(rest[0])
            else:
                prop["anyOf"] = rest
            if prop.get("default", ...) is None:
                del prop["default"]
        field = model.model_fields.get(name)
        if not nullable and field is not None:
            required.append(name)
    schema["required"] = required
    return schema


def _reachable(model: type[BaseModel]) -> set[type[BaseModel]]:
    """``model`` and every model its fields hold (ack results, view entries)."""
    found = {model}
    for field in model.model_fields.values():
        for arg in _type_args(field.annotation):
            if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in found:
                found |= _reachable(arg)
    return found


def _type_args(annotation: Any) -> list[Any]:
    args = list(getattr(annotation, "__args__", ()) or ())
    return [annotation, *[a for arg in args for a in _type_args(arg)]]


def _error_kinds() -> dict[str, Any]:
    """Every class the catalogue's codes belong to, with its status, default code and parent."""
    kinds: dict[str, Any] = {}
    for entry in CODES.values():
        for cls in entry.kind.__mro__:
            if not (isinstance(cls, type) and issubclass(cls, LeaderboardError)):
                continue
            if cls.__name__ in kinds:
                continue
            parent = cls.__mro__[1]
            kinds[cls.__name__] = {
                "status": cls.status,
                "code": cls.code,
                "parent": parent.__name__ if issubclass(parent, LeaderboardError) else None,
            }
    return dict(sorted(kinds.items(), key=lambda kv: (kv[1]["parent"] is not None, kv[0])))


def _error_code_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "description": "A stable error code (docs/errors.md). `x-status` is its status, "
        "`x-retryable` whether the same request may succeed later, `x-kind` its class.",
        "oneOf": [
            {
                "const": c.code,
                "description": c.meaning,
                "x-status": c.status,
                "x-retryable": c.retryable,
                "x-kind": c.kind.__name__,
            }
            for c in CODES.values()
        ],
    }


def _schemas() -> dict[str, Any]:
    wanted: list[tuple[type[BaseModel], Mode]] = [
        *((model, "validation") for _, model, _ in CLIENT_MESSAGES),
        *((model, "serialization") for _, model, _ in SERVER_FRAMES),
        (ErrorBody, "serialization"),
    ]
    _, defs = models_json_schema(wanted, ref_template=REF)
    schemas: dict[str, Any] = {
        name: _without_titles(schema) for name, schema in defs.get("$defs", {}).items()
    }
    dumped = set().union(*(_reachable(model) for _, model, _ in SERVER_FRAMES))
    for model in dumped:
        if model.__name__ in schemas:
            schemas[model.__name__] = _as_dumped(model, schemas[model.__name__])
    error_frame = schemas[ErrorFrame.__name__]
    error_frame["properties"]["error"] = {"$ref": REF.format(model=ErrorBody.__name__)}
    body = schemas[ErrorBody.__name__]
    body["properties"]["code"] = {
        "$ref": REF.format(model="ErrorCode"),
        "description": body["properties"]["code"]["description"],
    }
    body["required"] = ["code", "status", "message"]
    for prop in ("details", "retry_after_ms"):
        options = body["properties"][prop].pop("anyOf")
        body["properties"][prop].update(next(o for o in options if o != {"type": "null"}))
        body["properties"][prop].pop("default", None)
    schemas["ErrorCode"] = _error_code_schema()
    return dict(sorted(schemas.items()))


def _message(name: str, model: type[BaseModel], summary: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": name,
        "title": model.__name__,
        "summary": summary,
        "contentType": "application/json",
        "payload": {"$ref": REF.format(model=model.__name__)},
    }
    if "request_id" in model.model_fields:
        message["correlationId"] = {"$ref": "#/components/correlationIds/requestId"}
    return message


def _channel_message(name: str) -> dict[str, str]:
    return {"$ref": f"#/channels/{CHANNEL}/messages/{name}"}


def _operations() -> dict[str, Any]:
    channel = {"$ref": f"#/channels/{CHANNEL}"}
    ops: dict[str, Any] = {}
    for action, _, summary in CLIENT_MESSAGES:
        ops[action] = {
            "action": "receive",
            "channel": channel,
            "summary": summary,
            "messages": [_channel_message(action)],
            "reply": {
                "channel": channel,
                "messages": [_channel_message(REPLIES[action]), _channel_message("error")],
            },
        }
    ops["update"] = {
        "action": "send",
        "channel": channel,
        "summary": "Push a subscribed view's new state (at most one per view per conflation "
        "window; frames are never diffs).",
        "messages": [_channel_message("update")],
    }
    ops["error"] = {
        "action": "send",
        "channel": channel,
        "summary": "An error for a message that could not be read far enough to name a "
        "request_id (it carries the request_id whenever one was readable).",
        "messages": [_channel_message("error")],
    }
    return ops


@functools.cache
def _document() -> dict[str, Any]:
    messages = {
        name: _message(name, model, summary)
        for name, model, summary in (*CLIENT_MESSAGES, *SERVER_FRAMES)
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
            "description": DESCRIPTION.format(**_limits()),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8080",
                "protocol": "ws",
                "description": "`leaderboard up` (the stage is `prod` unless "
                "LEADERBOARD_WS_STAGE says otherwise).",
                "security": [{"$ref": "#/components/securitySchemes/token"}],
            },
            "aws": {
                "host": "{apiId}.execute-api.{region}.amazonaws.com",
                "protocol": "wss",
                "description": "The API Gateway WebSocket API of a deployed stage.",
                "variables": {
                    "apiId": {"description": "The WebSocket API's id."},
                    "region": {"description": "The AWS region.", "default": "us-east-1"},
                },
                "security": [{"$ref": "#/components/securitySchemes/token"}],
            },
        },
        "channels": {
            CHANNEL: {
                "address": "/{stage}",
                "title": "The connection",
                "description": "One WebSocket per client: it sends client messages and "
                "receives replies, updates of the views it subscribed to, and errors.",
                "parameters": {
                    "stage": {"description": "The API stage.", "default": "prod"},
                },
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {
                    "ws": {
                        "bindingVersion": "0.1.0",
                        "query": {
                            "type": "object",
                            "properties": {
                                "token": {
                                    "type": "string",
                                    "description": "The bearer JWT (the API's identity source).",
                                }
                            },
                            "required": ["token"],
                        },
                    }
                },
            }
        },
        "operations": _operations(),
        "components": {
            "schemas": _schemas(),
            "messages": messages,
            "correlationIds": {
                "requestId": {
                    "description": "The `request_id` a client message carries; its reply "
                    "echoes it.",
                    "location": "$message.payload#/request_id",
                }
            },
            "securitySchemes": {
                "token": {
                    "type": "httpApiKey",
                    "name": "token",
                    "in": "query",
                    "description": "A JWT: HS256 locally (`leaderboard token`), or from the "
                    "configured identity provider.",
                }
            },
        },
        "x-error-kinds": _error_kinds(),
    }


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the WebSocket API (a fresh copy; built once per process)."""
    return copy.deepcopy(_document())


def dumps(document: dict[str, Any]) -> str:
    """A document as committed under ``docs/``: indented, key order kept, one final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dumps(asyncapi_document()))


__all__ = ["ErrorBody", "asyncapi_document", "dumps"]
