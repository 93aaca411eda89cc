"""What professionals' mail clients do over IMAP, brought back to the platform.

Dovecot writes into its info log (``events.log`` in the IMAP dir) one line per message
saved, copied, flagged or expunged (its ``mail_log`` plugin: mailbox, IMAP folder, UID,
Message-ID, flags) and one JSON line each time a client opens a message (its
``mail_opened`` event: IMAP session, folder, UID and what was read). At every feeding cycle
the platform renames that log and asks Dovecot's master to reopen it (``SIGUSR1``); a
renamed piece is read on the next cycle, once Dovecot has left it, in **one transaction
that records its name**, then deleted. So the log never keeps an address or a Message-ID
for more than a few seconds, and a crash at any point neither loses a line nor applies
one twice.

From those lines:

- each copy's UID in each IMAP folder is mapped to the platform's copy (``ImapCopy`` →
  ``Delivery``);
- a client opening a message's **body** (``FETCH BODY[]``, ``RFC822``, a preview) is a
  ``messaging.message.read`` event in the audit trail, in the name of the account whose
  token opened the IMAP session, with the client's address; opening **headers only** (the
  list a client shows) is one ``messaging.folder.read`` per session and folder, with a count;
- ``\\Seen`` set by the client marks the copy read on the platform (no read receipt is sent
  for it: the mail client asks its user and sends its own), removing it marks it unread; the
  other way, a message read on the web gets ``\\Seen`` in Dovecot and one marked unread there
  loses it (``push_seen``, through ``doveadm``);
- a copy whose IMAP copies are all gone, or only in ``Trash``, is deleted for its mailbox
  (``Delivery.deleted_at``: in the web mailbox's trash, kept in the platform's record),
  audited; moved back out of Trash, it is restored. The other way, a copy deleted or
  restored on the web or by the API is moved into or out of ``Trash`` (``push_moves``);
- a message the client saved itself in ``Sent`` after sending it through the submission
  port is taken as the platform's sent copy, which is then not filed again (no duplicate).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from esante.core import audit
from esante.core.audit import Actor
from esante.core.db import utcnow
from esante.messaging import mailboxes, reading
from esante.messaging.models import Delivery, ImapCopy, ImapLog, ImapSession, Mailbox

log = logging.getLogger("esante.messaging.imap")

LOG_NAME = "events.log"
TRASH = "Trash"
PLATFORM_FOLDERS = {"INBOX": "inbox", "Sent": "sent"}
# What Dovecot says it read when a client opens a message's content, not only its headers.
BODY_REASONS = {"imap:fetch_body", "mail:snippet"}

# mail_log, with ``mail_log_prefix = "%s(%u)<%{pid}><%{session}>: "``:
# 2026-11-29T20:41:06 imap(dr.a@x)<10137><oJv2T3BhCKV/AAAB>: Info: expunge: box=INBOX,
#   uid=2, msgid=<...>, flags=(\Deleted \Seen)
# and the same without time nor session when ``doveadm`` (run by the platform) prints it:
# doveadm(dr.a@x): Info: copy from INBOX: box=Trash, uid=1, msgid=<...>, flags=()
_MAIL = re.compile(
    r"^(?:(?P<at>\S+) )?(?:imap|lmtp|doveadm)\((?P<user>[^)]*)\)(?:<\d+><(?P<session>[^>]*)>)?"
    r": Info: "
    r"(?P<event>save|copy from .+?|flag_change|expunge): box=(?P<box>.*?), uid=(?P<uid>\d+), "
    r"msgid=(?P<msgid>.*?), flags=\((?P<flags>[^)]*)\)$")
_FOLDER = re.compile(
    r"^(?P<at>\S+) imap\((?P<user>[^)]*)\)<\d+><(?P<session>[^>]*)>: Info: "
    r"Mailbox (?P<event>renamed|deleted): (?P<box>.*?)(?: -> (?P<new>.*))?$")
_EVENT = re.compile(r"^(?P<at>\S+) stats: Info: (?P<json>\{.*\})$")


@dataclass(frozen=True)
class Line:
    at: datetime
    kind: str  # save, copy, flag_change, expunge, mailbox_delete, mailbox_rename, opened
    user: str  # the mailbox address Dovecot serves
    session: str
    folder: str
    uid: int = 0
    msgid: str = ""
    flags: frozenset[str] = frozenset()
    new_folder: str = ""
    body: bool = False
    ip: str = ""


def _at(text: str) -> datetime:
    """Dovecot's times (its log's ``log_timestamp``, its events' RFC 3339), in UTC."""
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return utcnow()
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def parse(lines: Iterable[str]) -> list[Line]:
    """The lines this module acts on, in order; anything else (logins, deliveries) is
    skipped."""
    out: list[Line] = []
    for raw in lines:
        raw = raw.rstrip("\n")
        if m := _MAIL.match(raw):
            event = m["event"]
            out.append(Line(at=_at(m["at"] or ""),
                            kind="copy" if event.startswith("copy") else event,
                            user=m["user"].lower(), session=m["session"] or "", folder=m["box"],
                            uid=int(m["uid"]), msgid=m["msgid"],
                            flags=frozenset(m["flags"].split())))
        elif m := _FOLDER.match(raw):
            kind = "mailbox_rename" if m["event"] == "renamed" else "mailbox_delete"
            out.append(Line(at=_at(m["at"]), kind=kind, user=m["user"].lower(),
                            session=m["session"], folder=m["box"], new_folder=m["new"] or ""))
        elif m := _EVENT.match(raw):
            try:
                event = json.loads(m["json"])
            except ValueError:
                continue
            fields = event.get("fields") or {}
            if event.get("event") != "mail_opened" or "cmd_name" not in fields:
                continue  # LMTP's own openings while the platform feeds Dovecot
            reasons = set(fields.get("reason_code") or [])
            out.append(Line(at=_at(str(event.get("start_time", ""))), kind="opened",
                            user=str(fields.get("user", "")).lower(),
                            session=str(fields.get("session", "")),
                            folder=str(fields.get("mailbox", "")), uid=int(fields.get("uid", 0)),
                            body=bool(reasons & BODY_REASONS),
                            ip=str(fields.get("remote_ip", ""))[:64]))
    return out


class _Apply:
    """Applies one piece of log in the caller's transaction."""

    def __init__(self, session: Session) -> None:
        self.s = session
        self.boxes: dict[str, Mailbox | None] = {}
        self.sessions: dict[str, ImapSession | None] = {}
        self.listed: Counter[tuple[str, str, str]] = Counter()  # session, user, folder
        # Copies whose IMAP copies changed, settled once the piece is applied (a move is a
        # copy then an expunge: only where it ends counts), with their last line.
        self.touched: dict[int, tuple[Mailbox, Delivery, Line]] = {}

    def box(self, address: str) -> Mailbox | None:
        if address not in self.boxes:
            self.boxes[address] = mailboxes.by_address(self.s, address)
        return self.boxes[address]

    def actor(self, line: Line) -> Actor:
        if line.session not in self.sessions:
            self.sessions[line.session] = self.s.scalar(
                select(ImapSession).where(ImapSession.session == line.session))
        known = self.sessions[line.session]
        return Actor(user_id=known.user_id if known else None, label="imap",
                     ip=line.ip or (known.ip if known else ""))

    def copy_of(self, box: Mailbox, folder: str, uid: int) -> ImapCopy | None:
        return self.s.scalar(select(ImapCopy).where(
            ImapCopy.mailbox_id == box.id, ImapCopy.folder == folder, ImapCopy.uid == uid))

    def delivery_for(self, box: Mailbox, line: Line) -> Delivery | None:
        """The platform's copy a saved or copied message is: same mailbox and Message-ID,
        the folder's own first (a message sent to oneself is in both)."""
        if not line.msgid:
            return None
        found = list(self.s.scalars(select(Delivery).where(
            Delivery.mailbox_id == box.id, Delivery.message_id == line.msgid)))
        wanted = PLATFORM_FOLDERS.get(line.folder, "inbox")
        found.sort(key=lambda d: d.folder != wanted)
        return found[0] if found else None

    def __call__(self, line: Line) -> None:
        box = self.box(line.user)
        if box is None:
            return
        handler = getattr(self, f"on_{line.kind}")
        handler(box, line)

    def on_save(self, box: Mailbox, line: Line) -> None:
        copy = self.delivery_for(box, line)
        if copy is None:
            return  # a draft, or mail the platform never carried
        if line.folder == "Sent" and copy.folder == "sent" and copy.imap_pending:
            copy.imap_pending = False  # the client filed its own: the platform will not
        self.map(box, line, copy)

    on_copy = on_save

    def map(self, box: Mailbox, line: Line, copy: Delivery) -> None:
        row = self.copy_of(box, line.folder, line.uid)
        seen = "\\Seen" in line.flags
        if row is None:
            self.s.add(ImapCopy(mailbox_id=box.id, folder=line.folder, uid=line.uid,
                                delivery_id=copy.id, seen=seen))
        else:
            row.delivery_id, row.seen = copy.id, seen
        self.s.flush()
        self.touched[copy.id] = (box, copy, line)

    def on_flag_change(self, box: Mailbox, line: Line) -> None:
        row = self.copy_of(box, line.folder, line.uid)
        if row is None:
            return
        copy = self.s.get_one(Delivery, row.delivery_id)
        row.seen = "\\Seen" in line.flags
        if copy.folder != "inbox":
            return
        if row.seen and copy.read_at is None:
            copy.read_at = line.at
            # The client asks its user about a read receipt: the platform sends none.
            copy.mdn_settled_at = copy.mdn_settled_at or line.at
        elif not row.seen and copy.read_at is not None:
            copy.read_at = None  # marked unread in the mail client

    def on_expunge(self, box: Mailbox, line: Line) -> None:
        row = self.copy_of(box, line.folder, line.uid)
        if row is None:
            return
        copy = self.s.get_one(Delivery, row.delivery_id)
        self.s.delete(row)
        self.s.flush()
        self.touched[copy.id] = (box, copy, line)

    def on_mailbox_delete(self, box: Mailbox, line: Line) -> None:
        affected = list(self.s.scalars(select(Delivery).join(
            ImapCopy, ImapCopy.delivery_id == Delivery.id).where(
            ImapCopy.mailbox_id == box.id, ImapCopy.folder == line.folder)))
        self.s.execute(delete(ImapCopy).where(ImapCopy.mailbox_id == box.id,
                                              ImapCopy.folder == line.folder))
        for copy in affected:
            self.touched[copy.id] = (box, copy, line)

    def on_mailbox_rename(self, box: Mailbox, line: Line) -> None:
        if not line.new_folder:
            return
        for row in self.s.scalars(select(ImapCopy).where(ImapCopy.mailbox_id == box.id,
                                                         ImapCopy.folder == line.folder)):
            row.folder = line.new_folder

    def settle(self, box: Mailbox, copy: Delivery, line: Line) -> None:
        """Deleted when no IMAP copy is left outside Trash; restored when one is back."""
        left = set(self.s.scalars(select(ImapCopy.folder).where(
            ImapCopy.delivery_id == copy.id)))
        gone = not (left - {TRASH})
        if gone == (copy.deleted_at is not None):
            return
        copy.deleted_at = line.at if gone else None
        reading.record_trash(self.s, self.actor(line), copy, box, deleted=gone, via="imap")

    def on_opened(self, box: Mailbox, line: Line) -> None:
        if not line.body:
            self.listed[(line.session, line.user, line.folder)] += 1
            return
        row = self.copy_of(box, line.folder, line.uid)
        if row is None:
            return  # a message of the client's own (a draft)
        copy = self.s.get_one(Delivery, row.delivery_id)
        audit.record(self.s, actor=self.actor(line), action="messaging.message.read",
                     object_type="Message", object_id=copy.message_pk,
                     subject_user_id=box.owner_user_id,
                     details={"via": "imap", "folder": line.folder,
                              "at": line.at.isoformat(timespec="seconds")})

    def finish(self) -> None:
        self.s.flush()
        for holder, copy, last in self.touched.values():
            self.settle(holder, copy, last)
        for (session, user, folder), count in self.listed.items():
            box = self.box(user)
            if box is None:
                continue
            actor = self.actor(Line(at=utcnow(), kind="opened", user=user, session=session,
                                    folder=folder))
            audit.record(self.s, actor=actor, action="messaging.folder.read",
                         object_type="Mailbox", object_id=box.id,
                         subject_user_id=box.owner_user_id,
                         details={"via": "imap", "folder": folder, "messages": count})


def apply(session: Session, lines: Iterable[Line]) -> int:
    """Applies parsed lines in the caller's transaction; returns how many."""
    work = _Apply(session)
    n = 0
    for line in lines:
        work(line)
        n += 1
    work.finish()
    session.flush()
    return n


def push_seen(factory: Callable[[], Session],
              mark: Callable[[str, str, list[int], bool], bool], *, limit: int = 500) -> int:
    """Gives ``\\Seen`` in Dovecot to the copies read on the platform, and takes it from
    those marked unread there: ``mark(address, folder, uids, seen)`` does it (``doveadm``)
    and says whether it did; returns how many."""
    done = 0
    with factory() as session:
        rows = session.execute(
            select(ImapCopy, Mailbox.address)
            .join(Delivery, Delivery.id == ImapCopy.delivery_id)
            .join(Mailbox, Mailbox.id == ImapCopy.mailbox_id)
            .where(Delivery.folder == "inbox", or_(
                and_(ImapCopy.seen.is_(False), Delivery.read_at.is_not(None)),
                and_(ImapCopy.seen.is_(True), Delivery.read_at.is_(None))))
            .order_by(ImapCopy.id).limit(limit)).all()
        groups: dict[tuple[str, str, bool], list[ImapCopy]] = {}
        for row, address in rows:
            groups.setdefault((address, row.folder, not row.seen), []).append(row)
        for (address, folder, seen), copies in groups.items():
            if mark(address, folder, [c.uid for c in copies], seen):
                for c in copies:
                    c.seen = seen
                done += len(copies)
        session.commit()
    return done


def push_moves(factory: Callable[[], Session],
               move: Callable[[str, str, str, list[int]], list[str] | None], *,
               limit: int = 500) -> int:
    """Copies deleted on the platform go to ``Trash`` in Dovecot, restored ones come back
    out of it: ``move(address, from_folder, to_folder, uids)`` moves them (``doveadm``) and
    returns what it logged (None if it failed), applied at once in the same transaction (the
    copies' new UIDs; doveadm logs only there, not in the event log). Returns how many."""
    with factory() as session:
        copies = (select(ImapCopy, Mailbox.address, Delivery.folder)
                  .join(Delivery, Delivery.id == ImapCopy.delivery_id)
                  .join(Mailbox, Mailbox.id == ImapCopy.mailbox_id)
                  .order_by(ImapCopy.id).limit(limit))
        deleted = session.execute(copies.where(Delivery.deleted_at.is_not(None),
                                               ImapCopy.folder != TRASH)).all()
        outside = select(ImapCopy.delivery_id).where(ImapCopy.folder != TRASH)
        restored = session.execute(copies.where(Delivery.deleted_at.is_(None),
                                                ImapCopy.folder == TRASH,
                                                ImapCopy.delivery_id.not_in(outside))).all()
        back = {platform: imap for imap, platform in PLATFORM_FOLDERS.items()}
        groups: dict[tuple[str, str, str], list[int]] = {}
        for row, address, _folder in deleted:
            groups.setdefault((address, row.folder, TRASH), []).append(row.uid)
        for row, address, folder in restored:
            groups.setdefault((address, TRASH, back[folder]), []).append(row.uid)
        done = 0
        for (address, source, target), uids in groups.items():
            logged = move(address, source, target, uids)
            if logged is not None:
                apply(session, parse(logged))
                done += len(uids)
        session.commit()
    return done


# --- the log's pieces --------------------------------------------------------------------

def rotate(root: Path, master_pid: int | None) -> Path | None:
    """Renames the current log (if it holds anything) and asks Dovecot to reopen it."""
    current = root / LOG_NAME
    try:
        if current.stat().st_size == 0:
            return None
    except FileNotFoundError:
        return None
    piece = root / f"{LOG_NAME}.{time.time_ns()}"
    current.rename(piece)
    if master_pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(master_pid, signal.SIGUSR1)
    return piece


def pieces(root: Path) -> list[Path]:
    return sorted(root.glob(f"{LOG_NAME}.*"), key=lambda p: int(p.suffix[1:] or 0))


def consume(factory: Callable[[], Session], piece: Path) -> int:
    """Brings one piece back in one transaction recorded by its name, then deletes it."""
    with factory() as session:
        if session.scalar(select(ImapLog.id).where(ImapLog.name == piece.name)) is None:
            lines = parse(piece.read_text(encoding="utf-8", errors="replace").splitlines())
            n = apply(session, lines)
            session.add(ImapLog(name=piece.name, lines=n))
            try:
                session.commit()
            except IntegrityError:  # another process brought it back first
                session.rollback()
                n = 0
        else:
            n = 0
    piece.unlink(missing_ok=True)
    return n


def sync(factory: Callable[[], Session], root: Path, master_pid: int | None, *,
         wait: float | None = None) -> int:
    """One cycle: the pieces Dovecot has left are brought back, then the current log is
    rotated. ``wait``: bring the new piece back too after that many seconds (Dovecot
    stopped, or in tests); otherwise it is read at the next cycle."""
    done = sum(consume(factory, p) for p in pieces(root))
    if rotate(root, master_pid) is not None and wait is not None:
        time.sleep(wait)
        done += sum(consume(factory, p) for p in pieces(root))
    return done
