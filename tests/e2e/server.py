"""Helpers of the end-to-end tests: a real ``esante serve`` process on its own database.

``Instance`` is one installation: a data directory (key ring, SQLite file, queue) and a
database of its own (a SQLite file, or a fresh PostgreSQL database when the suite runs
on PostgreSQL). Its ``cli`` runs the real ``esante`` command against it; ``seed`` runs a
short script of service-layer calls in a child process with the same environment (so
that TOTP secrets are encrypted with the instance's own key ring). ``Server`` is one
``esante serve`` process: started, polled until ``/health`` answers, killed.

Run as ``python -m tests.e2e.server seed`` it reads a JSON seeding plan on stdin.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.freshdb import fresh_database_url

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PASSWORD = "correct-horse-battery-staple-42"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def fresh_database(data_dir: Path) -> Iterator[str]:
    """A brand-new, empty database; a PostgreSQL one is dropped at the end."""
    with fresh_database_url(data_dir, prefix="esante_e2e", sqlite_name="esante.db") as url:
        yield url


@dataclass
class Instance:
    data_dir: Path
    database_url: str
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ESANTE_")}
        env.update({
            "ESANTE_MODE": "test",
            "ESANTE_DATA_DIR": str(self.data_dir),
            "ESANTE_DATABASE_URL": self.database_url,
            "ESANTE_SECRET_KEY": secrets.token_urlsafe(48),
            "ESANTE_ARGON2_TIME_COST": "1",
            "ESANTE_ARGON2_MEMORY_KIB": "1024",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(
                [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
        })
        self.env = env | self.env

    def cli(self, *args: str, check: bool = True, timeout: float = 60
            ) -> subprocess.CompletedProcess[str]:
        """Runs ``esante ARGS`` against this instance."""
        proc = subprocess.run(
            [PYTHON, "-m", "esante.cli", *args], env=self.env, cwd=ROOT, text=True,
            capture_output=True, timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"esante {' '.join(args)} → exit {proc.returncode}\n"
                                 f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def seed(self, plan: dict[str, Any]) -> dict[str, Any]:
        """Applies a seeding plan (see ``_seed``) through the service layer, in a child
        process with this instance's environment; returns what it created."""
        proc = subprocess.run(
            [PYTHON, "-m", "tests.e2e.server", "seed"], input=json.dumps(plan),
            env=self.env, cwd=ROOT, text=True, capture_output=True, timeout=60, check=False)
        if proc.returncode != 0:
            raise AssertionError(f"seeding failed (exit {proc.returncode})\n{proc.stderr}")
        return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]

    def token(self, email: str, *scopes: str) -> str:
        args = ["token", "create", "--user", email]
        for s in scopes:
            args += ["--scope", s]
        out = self.cli(*args).stdout.strip().splitlines()[-1]
        assert out.startswith("esk_"), out
        return out


class Server:
    """One ``esante serve`` process. ``pid`` is the uvicorn process itself: the command
    is Python running uvicorn in-process (one worker, no reloader), with no wrapper."""

    def __init__(self, instance: Instance, name: str = "server") -> None:
        self.instance = instance
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = instance.log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 20) -> Server:
        log = self.log_path.open("wb")
        try:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "esante.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                # Its public base URL (OAuth issuer, FHIR audience) is its own address.
                env=self.instance.env | {"ESANTE_BASE_URL": self.base_url}, cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"the server exited before answering:\n{self.log_tail()}")
            try:
                r = httpx.get(f"{self.base_url}/health", timeout=2)
                if r.status_code == 200 and r.json().get("database") == "ok":
                    return
                last = r.text
            except httpx.TransportError as exc:
                last = exc
            time.sleep(0.05)
        raise AssertionError(f"no healthy /health after {timeout}s ({last!r}):\n{self.log_tail()}")

    def is_uvicorn_process(self) -> bool:
        """The pid we hold runs ``esante.cli serve`` itself (Linux /proc)."""
        cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes().split(b"\0")
        return b"esante.cli" in cmdline and b"serve" in cmdline

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no atexit."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except FileNotFoundError:
            return "(no log)"


# --- seeding, run in the child process ----------------------------------------------------

def _seed(plan: dict[str, Any]) -> dict[str, Any]:
    """Plan keys, all optional:
    ``regions`` (bool): insert the 18 regions;
    ``establishments``: [{finess, name, category, department, town}];
    ``totp``: {email: base32 secret}: store the secret and confirm it with the current
    code, as the account page does (returns the recovery codes);
    ``datahub`` (bool): the data hub's demo (synthetic population, catalogue, projects)."""
    import pyotp

    from esante.core.accounts import service as accounts
    from esante.core.audit import Actor
    from esante.core.db import transaction
    from esante.core.orgs import service as orgs

    actor = Actor.system("tests-e2e")
    out: dict[str, Any] = {"establishments": [], "recovery_codes": {}}
    with transaction() as session:
        if plan.get("regions"):
            orgs.ensure_regions(session)
        for est in plan.get("establishments", []):
            out["establishments"].append(
                orgs.create_establishment(session, actor=actor, **est).finess)
        for email, secret in plan.get("totp", {}).items():
            user = accounts.get_user_by_email(session, email)
            assert user is not None, email
            accounts.start_totp_setup(session, user=user, secret=secret)
            out["recovery_codes"][email] = accounts.confirm_totp(
                session, actor=actor, user=user, code=pyotp.TOTP(secret).now())
        if plan.get("datahub"):
            from esante.datahub.demo import seed_datahub

            seed_datahub(session)
    return out


if __name__ == "__main__":
    if sys.argv[1:] != ["seed"]:
        sys.exit("usage: python -m tests.e2e.server seed < plan.json")
    print(json.dumps(_seed(json.load(sys.stdin))))
