"""The collector's ASGI application (Starlette), served by uvicorn.

Routes: ``POST|OPTIONS|GET /events`` (:mod:`collector.receiver`), ``GET /catalog`` (event
types and their JSON Schemas), ``GET /healthz`` (the process is up), ``GET /readyz`` (the
database answers), ``GET /metrics`` (Prometheus).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from collector.auth import Tokens, load_tokens
from collector.derived import ConfirmationSla
from collector.forwarder import Forwarder, ForwarderConfig
from collector.ingest import GroupCommitter
from collector.metrics import Metrics
from collector.receiver import Receiver, json_response
from collector.store import EventStore
from contracts.schemas import catalog_schemas
from threadline.db import capabilities, create_engine
from threadline.settings import Settings
from threadline.sla import sla_policy


def create_app(
    store: EventStore,
    tokens: Tokens,
    *,
    max_request_bytes: int = 1024 * 1024,
    max_pending_requests: int = 1000,
    max_commit_events: int = 5000,
    writers: int | None = None,
    forward_to: ForwarderConfig | None = None,
) -> CollectorApp:
    """The collector app over ``store``, accepting producers with ``tokens``; with
    ``forward_to``, every stored event also goes to that JetStream stream."""
    metrics = Metrics()
    forwarder = None
    committer = GroupCommitter(
        store,
        metrics,
        max_pending_requests=max_pending_requests,
        max_commit_events=max_commit_events,
        writers=writers or (1 if capabilities(store.engine).single_writer else 2),
    )
    receiver = Receiver(store, tokens, committer, metrics, max_request_bytes)
    if forward_to is not None:
        forwarder = Forwarder(store.engine, forward_to, metrics, ingest_busy=committer.busy)
    catalog = orjson.dumps(
        {
            "types": [
                {
                    "type": event_type,
                    "dataschema": schema["$id"],
                    "description": schema["description"],
                    "schema": schema,
                }
                for event_type, schema in catalog_schemas().items()
            ]
        }
    )

    async def get_catalog(_request: Request) -> Response:
        return Response(catalog, media_type="application/json")

    async def healthz(_request: Request) -> Response:
        return json_response({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        try:
            await run_in_threadpool(store.ping)
        except sa.exc.SQLAlchemyError:
            return json_response({"status": "unavailable", "database": "unreachable"}, 503)
        return json_response({"status": "ok", "database": "reachable"})

    async def get_summary(_request: Request) -> Response:
        try:
            counts = await run_in_threadpool(store.summary)
        except sa.exc.SQLAlchemyError:
            return json_response({"status": "unavailable", "database": "unreachable"}, 503)
        return json_response(counts)

    async def get_metrics(_request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await committer.start()
        if forwarder is not None:
            await forwarder.start()
        try:
            yield
        finally:
            if forwarder is not None:
                await forwarder.stop()
            await committer.stop()

    app = Starlette(
        routes=[
            Route("/events", receiver.options, methods=["OPTIONS"]),
            Route("/events", receiver.get, methods=["GET"]),
            Route("/catalog", get_catalog, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", get_metrics, methods=["GET"]),
            Route("/summary", get_summary, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.metrics = metrics
    app.state.store = store
    return CollectorApp(app, receiver)


class CollectorApp:
    """The collector's ASGI app: ``POST /events`` straight to the receiver, the rest routed.

    Ingest is the hot path: skipping the router, the middleware stack and the request and
    response objects cuts the per-request cost of single events markedly.
    """

    def __init__(self, routed: Starlette, receiver: Receiver) -> None:
        self.routed = routed
        self.receiver = receiver
        self.state = routed.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/events":
            await self.receiver(scope, receive, send)
        else:
            await self.routed(scope, receive, send)


def create_engine_for_collector(database_url: str, **kwargs: Any) -> sa.Engine:
    """The database engine the collector uses (orjson for JSON columns)."""
    return create_engine(
        database_url,
        json_serializer=lambda value: orjson.dumps(value).decode(),
        json_deserializer=orjson.loads,
        **kwargs,
    )


def app_from_settings(settings: Settings) -> CollectorApp:
    """The app configured from ``settings`` (database, tokens, size limit, SLAs)."""
    engine = create_engine_for_collector(settings.database_url)
    sla = ConfirmationSla.from_policy(
        sla_policy(settings), qualification_seconds=settings.engine_qualification_sla
    )
    store = EventStore(engine, sla=sla)
    return create_app(
        store,
        load_tokens(settings),
        max_request_bytes=settings.collector_max_request_bytes,
        forward_to=forwarder_config(settings),
    )


def forwarder_config(settings: Settings) -> ForwarderConfig | None:
    """Where ``settings`` say stored events go (``None``: THREADLINE_NATS_URL is unset)."""
    if settings.nats_url is None:
        return None
    return ForwarderConfig(
        url=settings.nats_url,
        stream=settings.nats_stream,
        subject_prefix=settings.nats_subject_prefix,
    )


def app_from_environment() -> CollectorApp:
    """The app configured from the environment (uvicorn's factory for ``serve``)."""
    from threadline.settings import get_settings

    return app_from_settings(get_settings())
