"""Throughput of the SMTP gateway's submission port next to a bare aiosmtpd server.

    python bench/messaging.py [--clients 10] [--duration 10] [--database-url URL]

1. builds a fresh instance (SQLite file by default, or an empty PostgreSQL database):
   migrations, an account, two mailboxes, an API token (the SMTP password), a test CA
   (`esante messaging ca`);
2. starts `esante messaging smtp` (a real process) and, in another process, a bare aiosmtpd
   server with the same TLS context, STARTTLS and AUTH required, whose handler only reads
   the message and answers 250 (the limit of the protocol stack on this machine);
3. N concurrent clients (smtplib, one connection each: STARTTLS, AUTH, then messages in a
   loop) send ~50 KB messages with one PDF attachment for `--duration` seconds to each;
4. prints messages/s for both and the ratio (the issue's target: >= 0.5), and checks that
   every message the gateway acknowledged is in the recipient's mailbox exactly once.

    python bench/messaging.py --parse-only

times the gateway's MIME reading (``esante.messaging.mime.parse``, the legacy ``compat32``
policy) next to the standard library's modern policy reading the same messages the same way
(every header, every part, text decoded), in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import email.policy
import os
import secrets
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from _setup import require_empty

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DOMAIN = "mss.esante.localhost"
USER, PASSWORD = "bench@bench.esante.fr", "correct-horse-battery-staple-42"
SENDER, DEST = f"dr.bench@{DOMAIN}", f"dr.dest@{DOMAIN}"


SEED_ESTABLISHMENTS = """
from sqlalchemy import select
from esante.core import demo
from esante.core.db import transaction
from esante.core.orgs.models import Establishment
with transaction() as session:
    demo.seed_establishments(session)
    print(session.scalar(select(Establishment.finess).order_by(Establishment.finess).limit(1)))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def message() -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["Message-ID"] = make_msgid(domain=DOMAIN)
    msg["From"], msg["To"], msg["Subject"] = SENDER, DEST, "Compte rendu"
    msg.set_content("Bonjour,\n\nci-joint le compte rendu.\n" * 20)
    pdf = b"%PDF-1.4\n" + secrets.token_bytes(36_000)  # ~48 KB once in base64
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename="cr.pdf")
    return msg.as_bytes()


def bare_server(port: int, tls_dir: str) -> None:
    """The peer: aiosmtpd with the same TLS and AUTH, a handler that only reads."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from esante.messaging import tls

    class Reader:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802, ARG002
            _ = len(envelope.original_content or b"")
            return "250 2.0.0 OK"

    ctl = Controller(Reader(), hostname="127.0.0.1", port=port, require_starttls=True,
                     tls_context=tls.server_context(Path(tls_dir), mutual=False),
                     auth_required=True, auth_require_tls=True, data_size_limit=20 << 20,
                     authenticator=lambda *_a: AuthResult(success=True))
    ctl.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    ctl.stop()


class Client(threading.Thread):
    def __init__(self, port: int, token: str, ctx: ssl.SSLContext, until: float) -> None:
        super().__init__(daemon=True)
        self.port, self.token, self.ctx, self.until = port, token, ctx, until
        self.acked: list[str] = []
        self.errors = 0
        self.first_error = ""

    def run(self) -> None:
        with smtplib.SMTP("127.0.0.1", self.port, timeout=30) as smtp:
            smtp.starttls(context=self.ctx)
            smtp.login(USER, self.token)
            while time.monotonic() < self.until:
                raw = message()
                try:
                    smtp.sendmail(SENDER, [DEST], raw)
                except smtplib.SMTPException as exc:
                    self.errors += 1
                    self.first_error = self.first_error or repr(exc)[:200]
                    continue
                self.acked.append(raw.split(b"Message-ID: ", 1)[1].split(b"\n", 1)[0].strip()
                                  .decode())


def run_clients(port: int, token: str, ctx: ssl.SSLContext, n: int, duration: float
                ) -> tuple[float, list[str], int]:
    until = time.monotonic() + duration
    clients = [Client(port, token, ctx, until) for _ in range(n)]
    started = time.monotonic()
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    elapsed = time.monotonic() - started
    acked = [m for c in clients for m in c.acked]
    for c in clients:
        if c.first_error:
            print(f"  first refusal on port {port}: {c.first_error}")
            break
    return len(acked) / elapsed, acked, sum(c.errors for c in clients)


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"port {port} never opened")


def modern_read(raw: bytes) -> int:
    """The peer: the standard library's modern policy, every header and part read."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    n = sum(len(str(v)) for _k, v in msg.items())
    for part in msg.walk():
        if part.is_multipart():
            continue
        part.get_content_type(), part.get_content_disposition(), part.get_filename()
        n += len(part.get_content())
    return n


def parse_only(rounds: int = 5, count: int = 300) -> None:
    from esante.messaging import mime

    raws = [message() for _ in range(count)]
    times: dict[str, list[float]] = {"mime.parse (compat32)": [], "modern policy": []}
    for _ in range(rounds):
        for name, fn in (("mime.parse (compat32)", mime.parse), ("modern policy", modern_read)):
            started = time.perf_counter()
            for raw in raws:
                fn(raw)
            times[name].append((time.perf_counter() - started) / count * 1000)
    print(f"{count} messages of {len(raws[0]) / 1024:.0f} KB, {rounds} rounds (ms per message)")
    for name, values in times.items():
        print(f"  {name:<24} best {min(values):6.2f}   median {sorted(values)[rounds // 2]:6.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--duration", type=float, default=10.0)
    ap.add_argument("--database-url", default="")
    ap.add_argument("--bare-server", nargs=2, metavar=("PORT", "TLS_DIR"), help=argparse.SUPPRESS)
    ap.add_argument("--parse-only", action="store_true",
                    help="time the MIME reading only, next to the modern email policy")
    args = ap.parse_args()
    if args.parse_only:
        parse_only()
        return
    if args.bare_server:
        bare_server(int(args.bare_server[0]), args.bare_server[1])
        return
    work = Path(tempfile.mkdtemp(prefix="esante-bench-mss-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESANTE_")}
    env.update({"ESANTE_MODE": "test", "ESANTE_DATA_DIR": str(work),
                "ESANTE_DATABASE_URL": args.database_url or f"sqlite:///{work / 'esante.db'}",
                "ESANTE_MSS_SUBMISSION_PORT": str(free_port()),
                "ESANTE_MSS_RELAY_PORT": str(free_port()), "ESANTE_MSS_TLS_DIR": str(work / "tls"),
                "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])})

    def cli(*a: str) -> str:
        return subprocess.run([PY, "-m", "esante.cli", *a], env=env, check=True, text=True,  # noqa: S603
                              capture_output=True).stdout

    if args.database_url:
        from sqlalchemy import create_engine

        probe = create_engine(args.database_url)
        require_empty(probe)
        probe.dispose()
    cli("db", "upgrade")
    cli("user", "create", "--email", USER, "--password", PASSWORD, "--role", "admin")
    # Mailboxes of an establishment, as professionals' are: each message received is
    # checked against the shared indicators that establishment may see.
    finess = subprocess.run([PY, "-c", SEED_ESTABLISHMENTS], env=env, check=True, text=True,  # noqa: S603
                            capture_output=True).stdout.strip().splitlines()[-1]
    for part in ("dr.bench", "dr.dest"):
        cli("messaging", "mailbox-create", part, "--owner", USER, "--finess", finess,
            "--as", USER)
    cli("messaging", "ca")
    token = cli("token", "create", "--user", USER, "--scope", "read", "--scope",
                "write").strip().splitlines()[-1]
    ctx = ssl.create_default_context(cafile=str(work / "tls" / "trust.pem"))
    bare_port = free_port()
    procs = [subprocess.Popen([PY, "-m", "esante.cli", "messaging", "smtp"], env=env,  # noqa: S603
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
             subprocess.Popen([PY, __file__, "--bare-server", str(bare_port),  # noqa: S603
                               str(work / "tls")], env=env, stdout=subprocess.DEVNULL)]
    try:
        wait_port(int(env["ESANTE_MSS_SUBMISSION_PORT"]))
        wait_port(bare_port)
        bare, _, bare_err = run_clients(bare_port, token, ctx, args.clients, args.duration)
        ours, acked, errors = run_clients(int(env["ESANTE_MSS_SUBMISSION_PORT"]), token, ctx,
                                          args.clients, args.duration)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
            p.wait(10)
    from sqlalchemy import create_engine, text

    engine = create_engine(env["ESANTE_DATABASE_URL"])
    with engine.connect() as conn:
        rows = dict(conn.execute(text(
            "SELECT d.message_id, count(*) FROM msg_deliveries d JOIN msg_mailboxes b ON "
            "b.id = d.mailbox_id WHERE b.address = :a AND d.folder = 'inbox' "
            "GROUP BY d.message_id"), {"a": DEST}).all())
    engine.dispose()
    missing = [m for m in acked if m not in rows]
    twice = [m for m, n in rows.items() if n != 1]
    size = len(message())
    print(f"{args.clients} clients, {args.duration:.0f} s each, messages of {size / 1024:.0f} KB "
          f"with one PDF attachment, STARTTLS + AUTH ({env['ESANTE_DATABASE_URL'].split(':')[0]})")
    print(f"  bare aiosmtpd (reads only)   {bare:8.1f} msg/s  ({bare_err} refused)")
    print(f"  esante gateway               {ours:8.1f} msg/s  ({errors} refused)")
    print(f"  ratio                        {ours / bare if bare else 0:8.2f}   (target >= 0.5)")
    print(f"  acknowledged {len(acked)}, in the mailbox {len(rows)}, missing {len(missing)}, "
          f"stored twice {len(twice)}")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
