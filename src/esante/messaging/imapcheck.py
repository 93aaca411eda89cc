"""Dovecot's checkpassword program (run by Dovecot's auth process for each IMAP login).

It holds no secret and no database access: it passes the login, the password and the
client's address to the platform over a Unix socket that only Dovecot's account can open
(``esante messaging imap`` answers there, with the same token check as SMTP submission),
then follows the checkpassword interface: exit 1 for a refusal, 111 for a temporary
failure, or exec Dovecot's ``checkpassword-reply`` with ``USER`` set to the mailbox
address. Standard library only: it starts in a few milliseconds."""

from __future__ import annotations

import os
import socket
import sys

REFUSED, TEMPORARY = 1, 111
MAX_INPUT = 4096


def _read_fd3() -> bytes:
    data = b""
    while len(data) <= MAX_INPUT:
        chunk = os.read(3, 1024)
        if not chunk:
            break
        data += chunk
    return data


def ask(socket_path: str, login: str, password: str, ip: str, session: str = "", *,
        timeout: float = 20.0) -> str:
    """The platform's answer: ``OK <address>``, ``NO`` or ``TEMP``; ``session``: Dovecot's
    id of the IMAP session the login opens."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(socket_path)
        s.sendall("\0".join((login, password, ip, session)).encode() + b"\0")
        s.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := s.recv(1024):
            answer += chunk
    return answer.decode(errors="replace").strip()


def main(socket_path: str) -> None:
    try:
        fields = _read_fd3().split(b"\0")
        if len(fields) < 2:
            sys.exit(REFUSED)
        login, password = (f.decode(errors="replace") for f in fields[:2])
        answer = ask(socket_path, login, password, os.environ.get("TCPREMOTEIP", ""),
                     os.environ.get("AUTH_SESSION", ""))
    except OSError:
        sys.exit(TEMPORARY)
    if answer == "NO":
        sys.exit(REFUSED)
    if not answer.startswith("OK ") or len(sys.argv) < 2:
        sys.exit(TEMPORARY)
    os.environ["USER"] = answer[3:]
    os.execv(sys.argv[1], sys.argv[1:])  # noqa: S606 - checkpassword: exec the reply program
