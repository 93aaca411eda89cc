"""What the benchmarks do first: a data folder, the platform's settings pointing at it and
at the database to measure, the source tree on the path; then, for those that seed their
own data, a fresh platform (migrated, with the demo's establishments and personas); and,
for those that measure over HTTP, a real ``esante serve`` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
READY = "Application startup complete"


def configure(work: str, database_url: str, prefix: str) -> Path:
    """The data folder (``work`` or a new temporary one) and the database (``database_url``
    or a SQLite file in that folder), set in the environment before the platform loads."""
    folder = Path(work or tempfile.mkdtemp(prefix=f"esante-bench-{prefix}-"))
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["ESANTE_DATA_DIR"] = str(folder)
    os.environ.setdefault("ESANTE_MODE", "development")
    os.environ["ESANTE_DATABASE_URL"] = database_url or f"sqlite:///{folder / 'bench.db'}"
    sys.path.insert(0, str(ROOT / "src"))
    return folder


def fresh_platform(*, personas: bool = True) -> dict[str, Any]:
    """Migrates an empty database (exits if it holds tables: a benchmark never writes into
    someone's data) and seeds the demo's 3,089 establishments and, unless told not to, its
    personas; returns the personas' users by key."""
    from esante.core import demo, migrate
    from esante.core.db import get_engine, transaction

    engine = get_engine()
    require_empty(engine)
    migrate.upgrade(engine)
    with transaction() as session:
        demo.seed_establishments(session)
        if not personas:
            return {}
        return {p.key: user for p, user, _ in demo.seed_personas(session)}


def require_empty(engine: Any) -> None:
    """Exits unless the database holds no table: a benchmark never writes into someone's
    data."""
    from sqlalchemy import inspect

    if inspect(engine).get_table_names():
        sys.exit("la base n'est pas vide : donnez une base neuve (--database-url) / "
                 "the database is not empty: give a fresh one")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], *, workers: int = 1, profile: Path | None = None
                 ) -> tuple[subprocess.Popen[bytes], str]:
    """``esante serve`` on a free port, its log in the data folder; returns once every
    worker process has started and ``/health`` answers. ``profile``: one process under
    cProfile, its figures written there."""
    import httpx

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [PYTHON, "-m", "esante.cli", "serve", "--port", str(port), "--workers", str(workers)]
    if profile:
        cmd = [PYTHON, "-m", "cProfile", "-o", str(profile), "-m", "esante.cli", "serve",
               "--port", str(port)]
        workers = 1
    log_path = Path(env["ESANTE_DATA_DIR"]) / "server.log"
    seen = log_path.read_text().count(READY) if log_path.exists() else 0
    log = open(log_path, "ab")  # noqa: SIM115 - the server's lifetime
    proc = subprocess.Popen(cmd, env=env | {"ESANTE_BASE_URL": base}, cwd=ROOT,  # noqa: S603
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    # Every worker process must have started: the first one answers /health while the
    # others may still be importing the application (seconds on a busy machine).
    for _ in range(1200):
        ready = log_path.read_text().count(READY) - seen >= workers
        try:
            if ready and httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    sys.exit("le serveur ne répond pas")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """Stops a server of ``start_server`` as Ctrl-C would, killed if it lingers."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
