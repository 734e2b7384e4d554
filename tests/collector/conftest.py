from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.auth import ProducerGrant
from collector.forwarder import ForwarderConfig
from collector.testing import running_collector
from tests.collector.jetstream import delete_stream, own_target, require_nats

ENGINE_TOKEN = "engine-secret-token-0123456789"
TESTS_TOKEN = "tests-secret-token-9876543210"
TOKENS = {
    ENGINE_TOKEN: ProducerGrant(
        producer="engine", sources=("/threadline/",), types=("io.threadline.",)
    ),
    TESTS_TOKEN: ProducerGrant(producer="tests", sources=("/tests/",), types=("com.example.",)),
}


@dataclass
class Collector:
    """A running collector and a client carrying a producer's token."""

    url: str
    database_url: str
    client: httpx.Client

    def post(self, body: Any, content_type: str, token: str = TESTS_TOKEN, **headers: str):
        content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
        return self.client.post(
            "/events",
            content=content,
            headers={"content-type": content_type, "authorization": f"Bearer {token}", **headers},
        )

    def events(self, token: str = TESTS_TOKEN, **params: Any) -> list[dict[str, Any]]:
        response = self.client.get(
            "/events",
            params={"limit": 1000, **params},
            headers={"authorization": f"Bearer {token}"},
        )
        assert response.status_code == 200, response.text
        return list(response.json()["events"])


def new_source() -> str:
    return f"/tests/{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def sqlite_collector(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Collector]:
    """One collector on SQLite for a whole module of HTTP tests (events never collide:
    every test posts under a source of its own)."""
    path = tmp_path_factory.mktemp("collector") / "threadline.db"
    shutil.copyfile(sqlite_template, path)
    url = f"sqlite+pysqlite:///{path}"
    with running_collector(url, TOKENS) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield Collector(base, url, client)


@pytest.fixture
def collector(database_url: str) -> Iterator[Collector]:
    """A collector on a fresh database of the dialect under test."""
    with (
        running_collector(database_url, TOKENS) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        yield Collector(base, database_url, client)


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database, for tests that do not depend on the dialect."""
    path = tmp_path / "threadline.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite+pysqlite:///{path}"


@pytest.fixture
def nats_target() -> Iterator[Callable[..., ForwarderConfig]]:
    """Makes stream configurations of this test's own; deletes their streams afterwards."""
    require_nats()
    made: list[ForwarderConfig] = []

    def make(url: str | None = None, **options: Any) -> ForwarderConfig:
        config = own_target(url, **options) if url else own_target(**options)
        made.append(config)
        return config

    yield make
    for config in made:
        delete_stream(config)
