"""Crash test: clients write through the JSON API as fast as they can, the server is
killed with SIGKILL mid-stream, restarted on the same database; every write that got a
2xx answer must be there, and the audit chain must verify."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

import httpx
import pytest

from esante.core.identifiers import finess_key
from tests.e2e.server import PASSWORD, Instance, Server

pytestmark = pytest.mark.slow

ADMIN = "admin@e2e.esante.fr"
WRITERS = 2  # concurrent clients: the audit chain's lock is exercised too


def finess(writer: int, i: int) -> str:
    head = f"75{writer}{i:05d}"
    return head + finess_key(head)


class Writer(threading.Thread):
    """Creates establishments one after the other until told to stop; records every
    FINESS whose creation was acknowledged (201)."""

    def __init__(self, n: int, base_url: str, token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True, name=f"writer-{n}")
        self.n, self.base_url, self.stop = n, base_url, stop
        self.headers = {"Authorization": f"Bearer {token}"}
        self.acked: list[str] = []
        self.refused: list[tuple[int, str]] = []  # answers that were not 201
        self.transport_errors = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.base_url, headers=self.headers, timeout=10) as client:
            i = 0
            while not self.stop.is_set():
                i += 1
                number = finess(self.n, i)
                body = {"finess": number, "name": f"Clinique {self.n}-{i}",
                        "category": "CLINIQUE", "department": "75", "town": "Paris"}
                try:
                    r = client.post("/api/establishments", json=body)
                except httpx.TransportError:
                    # The server died with this request in flight: outcome unknown.
                    self.transport_errors += 1
                    self.stop.wait(0.02)
                    continue
                if r.status_code == 201:
                    assert r.json()["finess"] == number
                    self.acked.append(number)
                else:
                    self.refused.append((r.status_code, r.text[:300]))


def test_acknowledged_writes_survive_sigkill(
        instance: Instance, start_server: Callable[..., Server]) -> None:
    instance.seed({"regions": True})
    instance.cli("user", "create", "--email", ADMIN, "--password", PASSWORD, "--role", "admin")
    token = instance.token(ADMIN, "read", "write")
    server = start_server("before-crash")
    assert server.is_uvicorn_process()  # the pid we kill is the server, not a wrapper

    stop = threading.Event()
    writers = [Writer(n, server.base_url, token, stop) for n in range(1, WRITERS + 1)]
    for w in writers:
        w.start()
    started = time.monotonic()
    # Let the writes flow for ~1.5 s (and at least a few dozen acknowledged ones).
    while time.monotonic() - started < 1.5 or sum(len(w.acked) for w in writers) < 30:
        assert time.monotonic() - started < 15, "the writers are not getting through"
        assert all(w.is_alive() for w in writers), "a writer died"
        time.sleep(0.05)
    assert not any(w.transport_errors for w in writers), server.log_tail()
    server.kill()  # SIGKILL while the writers are still sending
    stop.set()
    for w in writers:
        w.join(timeout=15)
        assert not w.is_alive()
    for w in writers:
        assert w.refused == [], f"{w.name}: non-201 answers before the crash: {w.refused[:3]}"
    acked = {number for w in writers for number in w.acked}
    assert len(acked) == sum(len(w.acked) for w in writers) >= 30
    in_flight = sum(w.transport_errors for w in writers)
    print(f"{len(acked)} acknowledged writes, {in_flight} cut by the kill")

    restarted = start_server("after-crash")
    with httpx.Client(base_url=restarted.base_url, timeout=10,
                      headers={"Authorization": f"Bearer {token}"}) as client:
        # The whole directory, page by page: every acknowledged FINESS is listed.
        listed: set[str] = set()
        while True:
            page = client.get("/api/establishments",
                              params={"limit": 500, "offset": len(listed)}).raise_for_status()
            items = page.json()["items"]
            listed |= {e["finess"] for e in items}
            if not items:
                break
        missing = acked - listed
        assert not missing, f"{len(missing)} acknowledged write(s) lost: {sorted(missing)[:10]}"
        # Each writer's last acknowledged writes, the closest to the crash, one by one.
        for w in writers:
            for number in w.acked[-10:]:
                r = client.get(f"/api/establishments/{number}")
                assert r.status_code == 200, (number, r.text)
                assert r.json()["name"].startswith(f"Clinique {w.n}-")
        # The restarted server still writes.
        r = client.post("/api/establishments", json={
            "finess": finess(9, 1), "name": "Clinique après reprise", "category": "CLINIQUE",
            "department": "75", "town": "Paris"})
        assert r.status_code == 201, r.text
    restarted.stop()

    verify = instance.cli("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    checked = int(re.search(r"(\d+) enregistrement", verify.stdout).group(1))  # type: ignore[union-attr]
    # One record per establishment created, plus the setup's (account, role, token) and
    # the write after the restart.
    assert checked >= len(acked) + 4, verify.stdout
