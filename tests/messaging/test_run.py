"""`esante run` (hence `make run`) starts the messaging alongside the web server: the SMTP
gateway and IMAP (Dovecot), as real processes, once the gateway has its certificates; the
demo data make test certificates and the demo doctors' mailboxes."""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from esante import cli
from esante.core.policy import Principal
from esante.messaging import demo, mailboxes, reading, tls
from esante.messaging.config import get_mss_settings
from tests.freshdb import fresh_database_url
from tests.messaging.test_smtp import _port


def _wait(check, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


@pytest.mark.skipif(not Path("/usr/sbin/dovecot").exists(), reason="Dovecot absent")
def test_run_starts_smtp_and_imap(tmp_path, monkeypatch, capsys):  # type: ignore[no-untyped-def]
    with fresh_database_url(tmp_path) as url:  # the children's own database
        _run_starts_smtp_and_imap(tmp_path, monkeypatch, capsys, url)


def _run_starts_smtp_and_imap(tmp_path, monkeypatch, capsys, url: str) -> None:  # type: ignore[no-untyped-def]
    certs = tmp_path / "certs"
    imap_dir = Path(tempfile.mkdtemp(prefix="esante-run-imap-"))  # reachable by Dovecot's account
    ports = {"SUBMISSION_PORT": _port(), "RELAY_PORT": _port(), "IMAP_PORT": _port(),
             "IMAPS_PORT": _port()}
    for name, value in {**ports, "TLS_DIR": certs, "IMAP_DIR": imap_dir}.items():
        monkeypatch.setenv(f"ESANTE_MSS_{name}", str(value))
    monkeypatch.setenv("ESANTE_DATABASE_URL", url)
    get_mss_settings.cache_clear()
    exe = [sys.executable, "-m", "esante.cli"]
    subprocess.run([*exe, "db", "upgrade"], check=True, capture_output=True, timeout=300)
    try:
        assert cli._messaging_procs(exe) == []  # no certificates: nothing started, said so
        assert "certificats absents" in capsys.readouterr().out
        tls.make_all(certs, domain=get_mss_settings().domain, clients=[])
        # Started with SIGINT ignored (inherited, as under a shell's `&` or os.system): the
        # commands must still stop on it.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            procs = cli._messaging_procs(exe)
        finally:
            signal.signal(signal.SIGINT, previous)
        assert [p.args[-1] for p in procs] == ["smtp", "imap"]
        try:
            ctx = ssl.create_default_context(cafile=str(certs / "trust.pem"))

            def smtp_up() -> None:
                with smtplib.SMTP("127.0.0.1", ports["SUBMISSION_PORT"], timeout=5) as s:
                    assert s.ehlo()[0] == 250 and s.has_extn("starttls")

            def imap_up() -> None:
                with imaplib.IMAP4_SSL("127.0.0.1", ports["IMAPS_PORT"], ssl_context=ctx,
                                       timeout=5) as c:
                    assert "AUTH=PLAIN" in c.capabilities

            _wait(smtp_up)
            _wait(imap_up)
        finally:
            for p in procs:
                p.send_signal(signal.SIGINT)
            codes: list[int | None] = []
            for p in procs:
                try:
                    codes.append(p.wait(timeout=30))
                except subprocess.TimeoutExpired:  # deaf to Ctrl-C: ended, and the test fails
                    p.terminate()
                    p.wait(30)
                    codes.append(None)
            assert codes == [0, 0]
    finally:
        get_mss_settings.cache_clear()
        shutil.rmtree(imap_dir, ignore_errors=True)


def test_demo_makes_certificates_mailboxes_and_a_first_exchange(db: Session, personas, tmp_path,  # type: ignore[no-untyped-def]
                                                               monkeypatch):
    monkeypatch.setenv("ESANTE_MSS_TLS_DIR", str(tmp_path / "certs"))
    get_mss_settings.cache_clear()
    doctors = (("dr.demo", personas.users["doctor"].email, "Dr Démo", "Paris",
                personas.est["A"].finess),
               ("dr.autre", personas.users["other_doctor"].email, "Dr Autre", "Lyon",
                personas.est["B"].finess))
    admin = personas.users["admin"].email
    try:
        said = demo.seed(db, admin_email=admin, doctors=doctors)
        assert "2 boîte(s) créée(s), 2 message(s)" in said
        assert (tmp_path / "certs" / "server.crt").exists()
        box = mailboxes.by_address(db, f"dr.demo@{get_mss_settings().domain}")
        assert box is not None and box.owner_user_id == personas.users["doctor"].id
        assert box.finess == personas.est["A"].finess
        [report] = reading.folder(db, Principal.of(personas.users["doctor"]), box)
        assert report.parsed.subject == "Compte rendu de consultation"
        assert report.message.wants_mdn and report.parsed.attachments[0].data.startswith(b"%PDF")
        assert "0 boîte(s) créée(s), 0 message(s), certificats déjà présents" in demo.seed(
            db, admin_email=admin, doctors=doctors)
    finally:
        get_mss_settings.cache_clear()


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Dovecot's included: it runs in a session of its own)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        here = todo.pop()
        kids = [p for p, parent in parents.items() if parent == here]
        found.update(kids)
        todo.extend(kids)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/usr/sbin/dovecot").exists(), reason="Dovecot absent")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_run_leaves_nothing_behind(tmp_path, sig):  # type: ignore[no-untyped-def]
    """Stopped (SIGTERM, as systemd does) or killed outright, `esante run` leaves none of
    its processes running: the worker, the gateway's, IMAP's and Dovecot's."""
    imap_dir = Path(tempfile.mkdtemp(prefix="esante-run-imap-"))
    web, submission = _port(), _port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESANTE_")}
    env.update({"ESANTE_MODE": "test", "ESANTE_DATA_DIR": str(tmp_path / "data"),
                "ESANTE_MSS_SUBMISSION_PORT": str(submission),
                "ESANTE_MSS_RELAY_PORT": str(_port()), "ESANTE_MSS_IMAP_PORT": str(_port()),
                "ESANTE_MSS_IMAPS_PORT": str(_port()), "ESANTE_MSS_IMAP_DIR": str(imap_dir),
                "ESANTE_MSS_TLS_DIR": str(tmp_path / "certs")})
    exe = [sys.executable, "-m", "esante.cli"]
    proc: subprocess.Popen[bytes] | None = None
    try:
        with fresh_database_url(tmp_path) as url:
            env["ESANTE_DATABASE_URL"] = url
            subprocess.run([*exe, "db", "upgrade"], env=env, check=True, capture_output=True,
                           timeout=300)
            subprocess.run([*exe, "messaging", "ca"], env=env, check=True, capture_output=True,
                           timeout=60)
            proc = subprocess.Popen([*exe, "run", "--port", str(web)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    start_new_session=True)

            def up() -> None:
                with smtplib.SMTP("127.0.0.1", submission, timeout=5) as s:
                    assert s.ehlo()[0] == 250
                socket.create_connection(("127.0.0.1", web), 5).close()

            _wait(up)
            deadline = time.monotonic() + 30
            while not any(b"dovecot" in Path(f"/proc/{p}/cmdline").read_bytes()
                          for p in _descendants(proc.pid) if _alive(p)):
                assert time.monotonic() < deadline, "Dovecot never started"
                time.sleep(0.3)
            below = _descendants(proc.pid)
            assert len(below) >= 5  # worker, gateway (2), IMAP, Dovecot and its own
            os.kill(proc.pid, sig)
            proc.wait(40)
            deadline = time.monotonic() + 30
            while left := [p for p in below if _alive(p)]:
                assert time.monotonic() < deadline, [
                    Path(f"/proc/{p}/cmdline").read_bytes() for p in left if _alive(p)]
                time.sleep(0.3)
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(imap_dir, ignore_errors=True)
