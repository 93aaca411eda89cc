"""A message acknowledged with 250 is never lost: four clients at once (the gateway commits
their messages in groups) submit messages through the real gateway (``esante messaging
smtp``: STARTTLS, AUTH) as fast as they can, the gateway is killed with SIGKILL mid-stream
and restarted on the same database; every acknowledged message is in its mailbox exactly
once, and sending again the messages whose outcome was unknown (or acknowledged ones: a
client retrying) stores none twice."""

from __future__ import annotations

import contextlib
import os
import signal
import smtplib
import socket
import ssl
import subprocess
import threading
import time
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.conftest import instance  # noqa: F401 - the fixture
from tests.e2e.server import PASSWORD, PYTHON, ROOT, Instance, free_port

pytestmark = pytest.mark.slow

ADMIN = "admin@e2e.esante.fr"
DOMAIN = "mss.esante.localhost"
SENDER, DEST = f"dr.crash@{DOMAIN}", f"dr.dest@{DOMAIN}"
SENDERS = 4


def _raw(message_id: str, i: int) -> bytes:
    return (f"Message-ID: {message_id}\r\nFrom: {SENDER}\r\nTo: {DEST}\r\n"
            f"Subject: crash {i}\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"message {i}\r\n").encode()


class Gateway:
    def __init__(self, inst: Instance, log: Path, *options: str) -> None:
        self.inst, self.log, self.options = inst, log, options
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen([PYTHON, "-m", "esante.cli", "messaging", "smtp",
                                          *self.options],
                                         env=self.inst.env, cwd=ROOT, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        port = int(self.inst.env["ESANTE_MSS_SUBMISSION_PORT"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                return
            time.sleep(0.1)
        raise AssertionError(self.log.read_text())

    def kill(self) -> None:
        """SIGKILL to the gateway's first process; the others sharing its ports die with it
        (PR_SET_PDEATHSIG) but not at the same instant: wait until nothing answers, so that a
        dying one does not pass for the next start's listener."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        port = int(self.inst.env["ESANTE_MSS_SUBMISSION_PORT"])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
            except OSError:
                return
            time.sleep(0.05)
        raise AssertionError(f"port {port} still answers: processes outlived the killed gateway")


class Sender(threading.Thread):
    def __init__(self, inst: Instance, token: str, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.inst, self.token, self.stop = inst, token, stop
        self.acked: list[str] = []
        self.unknown: list[tuple[str, int]] = []
        self.ctx = ssl.create_default_context(
            cafile=str(Path(inst.env["ESANTE_MSS_TLS_DIR"]) / "trust.pem"))

    def run(self) -> None:
        i = 0
        while not self.stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", int(self.inst.env["ESANTE_MSS_SUBMISSION_PORT"]),
                                  timeout=10) as smtp:
                    smtp.starttls(context=self.ctx)
                    smtp.login(ADMIN, self.token)
                    while not self.stop.is_set():
                        i += 1
                        mid = make_msgid(domain=DOMAIN)
                        try:
                            smtp.sendmail(SENDER, [DEST], _raw(mid, i))
                        except (OSError, smtplib.SMTPException):
                            self.unknown.append((mid, i))
                            raise
                        self.acked.append(mid)
            except (OSError, smtplib.SMTPException):
                self.stop.wait(0.05)


def _copies(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT d.message_id, count(*) FROM msg_deliveries d JOIN msg_mailboxes b "
                "ON b.id = d.mailbox_id WHERE b.address = :a AND d.folder = 'inbox' "
                "GROUP BY d.message_id"), {"a": DEST}).all()
    finally:
        engine.dispose()
    return {r[0]: r[1] for r in rows}


def test_acknowledged_messages_survive_sigkill_exactly_once(instance: Instance,  # noqa: F811
                                                             tmp_path: Path) -> None:
    instance.env.update({"ESANTE_MSS_SUBMISSION_PORT": str(free_port()),
                         "ESANTE_MSS_RELAY_PORT": str(free_port()),
                         "ESANTE_MSS_TLS_DIR": str(tmp_path / "tls")})
    instance.seed({"regions": True})
    instance.cli("user", "create", "--email", ADMIN, "--password", PASSWORD, "--role", "admin")
    for part in ("dr.crash", "dr.dest"):
        instance.cli("messaging", "mailbox-create", part, "--owner", ADMIN, "--as", ADMIN)
    instance.cli("messaging", "ca")
    token = instance.token(ADMIN, "read", "write")
    gateway = Gateway(instance, tmp_path / "smtp.log")
    gateway.start()
    stop = threading.Event()
    # Several clients at once: the gateway commits their messages in groups.
    senders = [Sender(instance, token, stop) for _ in range(SENDERS)]
    for sender in senders:
        sender.start()
    started = time.monotonic()
    while time.monotonic() - started < 1.5 or sum(len(s.acked) for s in senders) < 30:
        assert time.monotonic() - started < 60, (tmp_path / "smtp.log").read_text()[-3000:]
        time.sleep(0.05)
    gateway.kill()
    stop.set()
    for sender in senders:
        sender.join(15)
    acked = [m for s in senders for m in s.acked]
    unknown = [u for s in senders for u in s.unknown]
    print(f"{len(acked)} acknowledged, {len(unknown)} cut by the kill")

    gateway.start()
    try:
        copies = _copies(instance.database_url)
        lost = [m for m in acked if m not in copies]
        assert not lost, f"{len(lost)} acknowledged message(s) lost"
        assert all(n == 1 for n in copies.values())
        # The client retries what it does not know, and some acknowledged ones: stored once.
        ctx = ssl.create_default_context(cafile=str(tmp_path / "tls" / "trust.pem"))
        with smtplib.SMTP("127.0.0.1", int(instance.env["ESANTE_MSS_SUBMISSION_PORT"]),
                          timeout=10) as smtp:
            smtp.starttls(context=ctx)
            smtp.login(ADMIN, token)
            for mid, i in [*unknown, *[(m, 0) for m in acked[-5:]]]:
                smtp.sendmail(SENDER, [DEST], _raw(mid, i))
        copies = _copies(instance.database_url)
        assert all(n == 1 for n in copies.values())
        assert len(copies) == len(set(acked) | {m for m, _ in unknown})
    finally:
        gateway.kill()


def _children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def test_the_gateway_processes_sharing_its_ports_all_start_and_come_back(
        instance: Instance, tmp_path: Path) -> None:  # noqa: F811
    """Four processes share the ports: each gets ready although aiosmtpd's readiness check
    connects to the port, which may reach another of them; one that dies is started again."""
    instance.env.update({"ESANTE_MSS_SUBMISSION_PORT": str(free_port()),
                         "ESANTE_MSS_RELAY_PORT": str(free_port()),
                         "ESANTE_MSS_TLS_DIR": str(tmp_path / "tls"),
                         "ESANTE_MSS_SMTP_PROCESSES": "4"})
    instance.cli("messaging", "ca")
    gateway = Gateway(instance, tmp_path / "smtp.log", "--queue-every", "0.5")
    gateway.start()
    assert gateway.proc is not None
    try:
        deadline = time.monotonic() + 30
        while (log := (tmp_path / "smtp.log").read_text()).count("de la passerelle prêt") < 3:
            assert time.monotonic() < deadline, log
            time.sleep(0.1)
        first = _children(gateway.proc.pid)
        assert len(first) == 3 and all(f"processus {c} de la passerelle prêt" in log
                                       for c in first)
        victim = min(first)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while len(now := _children(gateway.proc.pid) - {victim}) < 3:
            assert time.monotonic() < deadline, (tmp_path / "smtp.log").read_text()
            time.sleep(0.1)
        assert first - {victim} < now
        (again,) = now - first
        while f"processus {again} de la passerelle prêt" not in (
                log := (tmp_path / "smtp.log").read_text()):
            assert time.monotonic() < deadline, log
            time.sleep(0.1)
        assert f"processus {victim} de la passerelle arrêté (code -9) : relancé" in log
    finally:
        gateway.kill()
