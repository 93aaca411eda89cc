"""Fixtures of the end-to-end tests: an installation on a fresh database of its own
(SQLite under tmp_path, or a new PostgreSQL database when the suite runs on PostgreSQL),
migrated with ``esante db upgrade``, and real ``esante serve`` processes on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Instance, Server, fresh_database


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with fresh_database(data_dir) as url:
        inst = Instance(data_dir=data_dir, database_url=url, log_dir=tmp_path)
        inst.cli("db", "upgrade")
        yield inst


@pytest.fixture
def start_server(instance: Instance) -> Iterator[Callable[..., Server]]:
    """Starts a server on the instance and waits for /health; every server started is
    stopped at teardown, and its log printed (pytest shows it when the test failed)."""
    servers: list[Server] = []

    def start(name: str = "server") -> Server:
        server = Server(instance, name=f"{name}{len(servers)}")
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()
        print(f"--- {server.log_path} ---\n{server.log_tail()}")
