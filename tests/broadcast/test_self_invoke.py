"""The broadcaster's self-invoke path, for real: a large fan-out sharded across
invocations of itself through the local runtime's Lambda Invoke API.

The broadcaster here has exactly the AWS adapters a Lambda gets from ``open_services``
(boto3 Lambda ``Invoke`` as its waker, the SigV4 ``@connections`` client as its sender),
pointed at the local runtime's endpoints by ``LEADERBOARD_LAMBDA_ENDPOINT`` and
``LEADERBOARD_MANAGEMENT_ENDPOINT``. The runtime serves it as a function, and real
WebSocket clients receive what every invocation posts.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import boto3
import pytest
from websockets.asyncio.client import ClientConnection

from aws.connections import ConnectionsApiSender
from aws.invoke import LambdaWaker
from broadcast.worker import Broadcaster
from core.boards import BoardSpec
from core.ranking import ScoreInput
from core.settings import Settings
from db.services import Services, open_services
from runtime.app import LocalRuntime
from tests.aws.connections_support import clients

REGION = "us-east-1"
FUNCTION = "leaderboard-test-broadcaster"
SUBSCRIBERS = 150
THRESHOLD = 40
"""Above this many frames a round shards its fan-out: 150 frames make 4 shards."""


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@pytest.fixture
async def runtime(database_dsn: str, settings: Settings) -> AsyncIterator[LocalRuntime]:
    """A runtime whose own in-process broadcaster is off: the one under test pushes."""
    async with LocalRuntime(settings, dsn=database_dsn, broadcast=False) as rt:
        yield rt


@pytest.fixture
async def aws_services(
    aws_credentials: None, runtime: LocalRuntime, database_dsn: str, settings: Settings
) -> AsyncIterator[Services]:
    """The services a broadcaster Lambda builds from its environment, aimed at the runtime."""
    lambda_settings = settings.model_copy(update={
        "database_url": database_dsn, "ws_api_id": runtime.api.api_id,
        "ws_stage": runtime.api.stage, "management_endpoint": runtime.management_url,
        "lambda_endpoint": runtime.lambda_url, "broadcast_function_name": FUNCTION,
        "aws_region": REGION, "db_pool_max": 4,
    })  # fmt: skip
    services = await open_services(lambda_settings)
    try:
        yield services
    finally:
        await services.close()
        if isinstance(services.sender, ConnectionsApiSender):
            await services.sender.close()


async def _update_with(ws: ClientConnection, player: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
        if frame.get("type") == "update" and any(e["player"] == player for e in frame["entries"]):
            return dict(frame)


async def test_a_large_fanout_is_sharded_across_invocations_of_itself(
    runtime: LocalRuntime, aws_services: Services
) -> None:
    """A wake-up invoked with boto3 runs a round whose 150-frame fan-out is split: the run
    posts the first shard and invokes itself (boto3, InvocationType=Event) once per other
    shard; those invocations post theirs; every subscriber gets the update exactly once."""
    assert isinstance(aws_services.waker, LambdaWaker)
    assert isinstance(aws_services.sender, ConnectionsApiSender)
    broadcaster = Broadcaster(aws_services, shard_threshold=THRESHOLD)
    runtime.lambda_api.register(FUNCTION, broadcaster.handle)
    await runtime.store.create_board(BoardSpec(id="crowd"))
    await runtime.store.submit("crowd", [ScoreInput("first", 10)])
    async with clients(runtime, SUBSCRIBERS) as sockets:
        for ws in sockets.values():
            await ws.send(json.dumps({"action": "subscribe", "board": "crowd", "view": "top"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["type"] == "snapshot"
        await runtime.store.submit("crowd", [ScoreInput("newcomer", 99)])

        lambda_client = boto3.client("lambda", region_name=REGION, endpoint_url=runtime.lambda_url)
        answer = await asyncio.to_thread(
            lambda_client.invoke, FunctionName=FUNCTION, InvocationType="Event",
            Payload=json.dumps({"source": "postgres", "board": "crowd"}).encode(),
        )  # fmt: skip
        assert answer["StatusCode"] == 202
        updates = await asyncio.gather(*(_update_with(ws, "newcomer") for ws in sockets.values()))
        await runtime.lambda_api.settle()

    assert len({u["seq"] for u in updates}) == 1
    shards = math.ceil(SUBSCRIBERS / THRESHOLD)
    sources = Counter(i.event.get("source") for i in runtime.lambda_api.invocations)
    assert sources == {"postgres": 1, "fanout": shards - 1}
    assert broadcaster.sender.shards_handed_over == shards - 1
    assert all(i.invocation_type == "Event" for i in runtime.lambda_api.invocations)


async def test_the_invoke_api_answers_as_lambda_does(
    aws_credentials: None, runtime: LocalRuntime
) -> None:
    """RequestResponse returns the result; a raising function answers FunctionError; an
    unknown function is ResourceNotFoundException; an oversized event is refused."""

    async def echo(event: Any) -> dict[str, Any]:
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {"echo": event}

    runtime.lambda_api.register("echo", echo)
    client = boto3.client("lambda", region_name=REGION, endpoint_url=runtime.lambda_url)

    def call(**kwargs: Any) -> Any:
        return client.invoke(**kwargs)

    ok = await asyncio.to_thread(call, FunctionName="echo", Payload=b'{"a": 1}')
    assert ok["StatusCode"] == 200 and json.loads(ok["Payload"].read()) == {"echo": {"a": 1}}
    arn = "arn:aws:lambda:us-east-1:123456789012:function:echo"
    failed = await asyncio.to_thread(call, FunctionName=arn, Payload=b'{"fail": true}')
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        await asyncio.to_thread(call, FunctionName="nobody", Payload=b"{}")
    with pytest.raises(client.exceptions.RequestTooLargeException):
        big = json.dumps({"x": "y" * 300_000}).encode()
        await asyncio.to_thread(call, FunctionName="echo", InvocationType="Event", Payload=big)
