"""What mail clients do over IMAP comes back to the platform: each message read is in the
audit trail in the name of the account that logged in, \\Seen marks it read, a message
deleted (or moved to Trash) by the client is deleted for its mailbox and restored when moved
back, the client's own Sent copy is not duplicated, and Dovecot keeps nothing in clear.
Real Dovecot, Python's imaplib as the mail client; the log's parsing and its exactly-once
reading are also tested without Dovecot."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.audit import AuditEvent
from esante.messaging import imap, imapsync, reading
from esante.messaging.models import Delivery, ImapCopy, ImapLog, ImapSession, Message
from tests.conftest import on_test_connection
from tests.messaging.conftest import needs_dovecot, principal
from tests.messaging.test_imap import _imaps, _submit

pytestmark = needs_dovecot


def _events(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)
                           .order_by(AuditEvent.id)))


def _until(stack, check: Callable[[], bool], what: str) -> None:  # type: ignore[no-untyped-def]
    """Brings Dovecot's log back until ``check`` holds (its stats process writes the events
    a moment after the command)."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        stack.sync(wait=0.2)
        if check():
            return
    raise AssertionError(f"not brought back: {what}")


def _copy(db: Session, box_id: int, message_id: str, folder: str = "inbox") -> Delivery:
    return db.scalars(select(Delivery).where(Delivery.mailbox_id == box_id,
                                             Delivery.message_id == message_id,
                                             Delivery.folder == folder)).one()


def test_reads_over_imap_audited_in_the_account_name(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    first = _submit(cfg, personas, boxes.doctor.address, boxes.other.address, subject="Un")
    second = _submit(cfg, personas, boxes.doctor.address, boxes.other.address, subject="Deux")
    assert stack.feed()["fed"] == 4
    with _imaps(cfg) as client:
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("INBOX")
        # What a client shows in its list: headers only, no message read.
        client.fetch("1:2", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT FROM DATE)])")
        status, _ = client.fetch("2", "(BODY.PEEK[])")  # read, without \Seen
        assert status == "OK"
        client.fetch("1", "(RFC822)")  # read, \Seen set
    user_id = personas.users["other_doctor"].id
    _until(stack, lambda: len(_events(db, "messaging.message.read")) == 2, "two reads")

    reads = _events(db, "messaging.message.read")
    one, two = (_copy(db, boxes.other.id, m) for m in (first, second))
    assert {e.object_id for e in reads} == {str(one.message_pk), str(two.message_pk)}
    for e in reads:
        assert e.actor_id == user_id and e.actor_label == "imap" and e.ip == "127.0.0.1"
        assert e.details["via"] == "imap" and e.details["folder"] == "INBOX"
        assert e.subject_user_id == boxes.other.owner_user_id
    listed = [e for e in _events(db, "messaging.folder.read") if e.details.get("via") == "imap"]
    assert len(listed) == 1 and listed[0].details["messages"] == 2
    assert listed[0].actor_id == user_id
    # The session the platform granted is the one Dovecot named in its events.
    login = _events(db, "messaging.imap.login")[-1]
    assert db.scalars(select(ImapSession).where(
        ImapSession.session == login.details["session"])).one().user_id == user_id

    _until(stack, lambda: (db.refresh(one), one.read_at is not None)[1], "\\Seen")
    db.refresh(two)
    assert two.read_at is None  # BODY.PEEK: read (audited) but not marked read by the client
    # Nothing is left of the log: each piece is deleted once brought back, once.
    root = stack.prepared.layout.root
    assert imapsync.pieces(root) == []
    assert db.scalar(select(ImapLog.id).limit(1)) is not None


def test_delete_and_restore_from_the_mail_client(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    message_id = _submit(cfg, personas, boxes.doctor.address, boxes.other.address)
    stack.feed()
    copy = _copy(db, boxes.other.id, message_id)
    other = principal(personas, "other_doctor")
    assert [i.delivery.id for i in reading.folder(db, other, boxes.other)] == [copy.id]

    with _imaps(cfg) as client:  # to Trash: deleted for the mailbox
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("INBOX")
        client.copy("1", "Trash")
        client.store("1", "+FLAGS", "\\Deleted")
        client.expunge()
    _until(stack, lambda: (db.refresh(copy), copy.deleted_at is not None)[1], "deletion")
    assert reading.folder(db, other, boxes.other) == []
    assert reading.unread(db, other) == 0
    (deleted,) = _events(db, "messaging.message.delete")
    assert deleted.actor_id == personas.users["other_doctor"].id
    assert deleted.object_id == str(copy.message_pk) and deleted.details["via"] == "imap"
    # Its record stays: the message itself, opened by id, says it was deleted.
    item, _thread = reading.open_message(db, other, copy.id)
    assert item.delivery.deleted_at is not None

    with _imaps(cfg) as client:  # back to a folder of one's own: restored
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.create("Patients")
        client.select("Trash")
        client.copy("1", "Patients")
        client.store("1", "+FLAGS", "\\Deleted")
        client.expunge()
    _until(stack, lambda: (db.refresh(copy), copy.deleted_at is None)[1], "restoration")
    assert len(_events(db, "messaging.message.restore")) == 1
    assert [i.delivery.id for i in reading.folder(db, other, boxes.other)] == [copy.id]
    folders = set(db.scalars(select(ImapCopy.folder).where(ImapCopy.delivery_id == copy.id)))
    assert folders == {"Patients"}

    with _imaps(cfg) as client:  # the folder renamed, then deleted with the message in it
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.rename("Patients", "Dossiers")
    _until(stack, lambda: set(db.scalars(select(ImapCopy.folder).where(
        ImapCopy.delivery_id == copy.id))) == {"Dossiers"}, "rename")
    with _imaps(cfg) as client:
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("Dossiers")
        client.store("1", "+FLAGS", "\\Deleted")
        client.expunge()
        client.close()
        client.delete("Dossiers")
    _until(stack, lambda: (db.refresh(copy), copy.deleted_at is not None)[1], "deletion")
    assert len(_events(db, "messaging.message.delete")) == 2


def test_read_on_the_web_is_seen_in_the_mail_client(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    message_id = _submit(cfg, personas, boxes.doctor.address, boxes.other.address)
    stack.feed()
    copy = _copy(db, boxes.other.id, message_id)
    _until(stack, lambda: db.scalar(select(ImapCopy.id).where(
        ImapCopy.delivery_id == copy.id)) is not None, "the UID")
    assert stack.push() == 0  # not read yet
    reading.open_message(db, principal(personas, "other_doctor"), copy.id)
    db.flush()
    assert stack.push() == 1
    assert stack.push() == 0  # once
    with _imaps(cfg) as client:
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("INBOX", readonly=True)
        status, data = client.fetch("1", "(FLAGS)")
    assert status == "OK" and b"\\Seen" in data[0]

    # Marked unread on the web: \Seen taken away in Dovecot.
    reading.mark_unread(db, principal(personas, "other_doctor"), copy.id)
    db.flush()
    assert stack.push() == 1
    with _imaps(cfg) as client:
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("INBOX")
        assert b"\\Seen" not in client.fetch("1", "(FLAGS)")[1][0]
        client.store("1", "+FLAGS", "\\Seen")  # read in the client, then unread again
    _until(stack, lambda: (db.refresh(copy), copy.read_at is not None)[1], "\\Seen")
    with _imaps(cfg) as client:
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("INBOX")
        client.store("1", "-FLAGS", "\\Seen")
    _until(stack, lambda: (db.refresh(copy), copy.read_at is None)[1], "unread")
    assert stack.push() == 0  # nothing to give back


def _uids(cfg, box, token, folder: str) -> list[bytes]:  # type: ignore[no-untyped-def]
    with _imaps(cfg) as client:
        client.login(box.address, token)
        client.select(folder, readonly=True)
        return list(client.uid("SEARCH", "ALL")[1][0].split())


def _folders(db: Session, copy: Delivery) -> set[str]:
    return set(db.scalars(select(ImapCopy.folder).where(ImapCopy.delivery_id == copy.id)))


def test_deleted_and_restored_on_the_web_moves_in_the_mail_client(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg, token = stack.cfg, personas.tokens["other_doctor"]
    message_id = _submit(cfg, personas, boxes.doctor.address, boxes.other.address)
    stack.feed()
    copy = _copy(db, boxes.other.id, message_id)
    _until(stack, lambda: _folders(db, copy) == {"INBOX"}, "the UID")
    other = principal(personas, "other_doctor")
    reading.delete(db, other, copy.id, via="web")
    db.flush()
    assert reading.folder(db, other, boxes.other) == []
    assert [i.delivery.id for i in reading.folder(db, other, boxes.other, "trash")] == [copy.id]
    assert stack.push() == 1
    assert stack.push() == 0  # once
    assert _uids(cfg, boxes.other, token, "INBOX") == []
    assert len(_uids(cfg, boxes.other, token, "Trash")) == 1
    _until(stack, lambda: _folders(db, copy) == {"Trash"}, "the move to Trash")
    db.refresh(copy)
    assert copy.deleted_at is not None
    (deleted,) = _events(db, "messaging.message.delete")  # the web's, not again from IMAP
    assert deleted.details == {"via": "web", "folder": "inbox"}

    reading.restore(db, other, copy.id, via="api")
    db.flush()
    assert stack.push() == 1
    assert len(_uids(cfg, boxes.other, token, "INBOX")) == 1
    assert _uids(cfg, boxes.other, token, "Trash") == []
    _until(stack, lambda: _folders(db, copy) == {"INBOX"}, "the move back")
    db.refresh(copy)
    assert copy.deleted_at is None and not copy.imap_pending
    assert len(_events(db, "messaging.message.restore")) == 1
    assert len(_events(db, "messaging.message.delete")) == 1

    # Erased by the client (Trash emptied), then restored on the web: handed over again.
    with _imaps(cfg) as client:
        client.login(boxes.other.address, token)
        client.select("INBOX")
        client.store("1", "+FLAGS", "\\Deleted")
        client.expunge()
    _until(stack, lambda: (db.refresh(copy), copy.deleted_at is not None)[1], "the erasure")
    reading.restore(db, other, copy.id, via="web")
    db.flush()
    assert copy.imap_pending
    assert stack.feed()["fed"] == 1
    _until(stack, lambda: _folders(db, copy) == {"INBOX"}, "the copy handed over again")

    # Deleted before Dovecot had it: never handed over.
    later = _submit(cfg, personas, boxes.doctor.address, boxes.other.address, subject="Plus tard")
    reading.delete(db, other, _copy(db, boxes.other.id, later).id, via="web")
    db.flush()
    assert stack.feed()["fed"] == 1  # the doctor's Sent copy only


def test_the_clients_own_sent_copy_is_not_duplicated(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg.model_copy(update={"imap_sent_grace_seconds": 300})
    stack.cfg = cfg
    message_id = _submit(cfg, personas, boxes.doctor.address, boxes.other.address)
    assert stack.feed()["fed"] == 1  # the other's INBOX; the doctor's Sent waits
    sent = _copy(db, boxes.doctor.id, message_id, "sent")
    assert sent.imap_pending
    message = db.get(Message, sent.message_pk)
    raw = reading.raw_of(db, message)
    with _imaps(cfg) as client:  # what a mail client does after sending: its own copy
        client.login(boxes.doctor.address, personas.tokens["doctor"])
        assert client.append("Sent", "(\\Seen)", None, raw)[0] == "OK"
    _until(stack, lambda: (db.refresh(sent), not sent.imap_pending)[1], "the client's copy")
    assert stack.feed()["fed"] == 0
    with _imaps(cfg) as client:
        client.login(boxes.doctor.address, personas.tokens["doctor"])
        assert client.select("Sent") == ("OK", [b"1"])
        client.fetch("1", "(RFC822)")
    _until(stack, lambda: any(e.object_id == str(sent.message_pk) for e in _events(
        db, "messaging.message.read")), "read of the client's copy")

    # A client that keeps no copy: the platform files its own once the grace is over.
    stack.cfg = cfg.model_copy(update={"imap_sent_grace_seconds": 0})
    _submit(stack.cfg, personas, boxes.doctor.address, boxes.other.address,
                    subject="Sans copie")
    assert stack.feed()["fed"] == 2


def test_nothing_in_clear_in_dovecots_files(db, personas, boxes, stack):  # type: ignore[no-untyped-def]
    cfg = stack.cfg
    message_id = _submit(cfg, personas, boxes.doctor.address, boxes.other.address,
                         subject="Sérologie confidentielle")
    stack.feed()
    with _imaps(cfg) as client:
        client.login(boxes.other.address, personas.tokens["other_doctor"])
        client.select("INBOX")
        client.fetch("1", "(ENVELOPE BODY.PEEK[HEADER] BODYSTRUCTURE RFC822)")
    _until(stack, lambda: bool(_events(db, "messaging.message.read")), "the read")
    root = stack.prepared.layout.root
    for path in (root / "mail").rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"confidentielle" not in data and b"Compte" not in data, path
            assert message_id.strip("<>").encode() not in data, path
    assert imapsync.pieces(root) == []
    # A cache an earlier configuration let Dovecot write is removed at the next start.
    old = root / "mail" / boxes.other.address / "Maildir" / "dovecot.index.cache"
    old.write_bytes(b"Subject: Serologie confidentielle")
    imap.prepare(db, cfg)
    assert not old.exists()


# --- without Dovecot: the log's lines and reading a piece exactly once --------------------

_LOG = [
    "2026-11-29T20:41:06 lmtp(dr.a@x.fr)<10133><O/he:T2>: Info: save: box=INBOX, uid=7, "
    "msgid=<m1@x>, flags=()",
    "2026-11-29T20:41:06 lmtp(dr.a@x.fr)<10133><O/he:T2>: Info: saved mail to INBOX",
    "2026-11-29T20:41:07 imap-login: Info: Login: method=PLAIN, TLS, session=<oJv2>",
    '2026-11-29T20:41:08 stats: Info: {"event":"mail_opened","start_time":'
    '"2026-11-29T20:41:08.086745Z","fields":{"user":"dr.a@x.fr","remote_ip":"192.0.2.4",'
    '"session":"oJv2","cmd_name":"FETCH","reason_code":["imap:cmd_fetch","imap:fetch_body"],'
    '"mailbox":"INBOX","uid":7}}',
    '2026-11-29T20:41:08 stats: Info: {"event":"mail_opened","start_time":'
    '"2026-11-29T20:41:08Z","fields":{"protocol":"lmtp","user":"dr.a@x.fr",'
    '"mailbox":"INBOX","uid":0}}',
    "2026-11-29T20:41:09 imap(dr.a@x.fr)<10137><oJv2>: Info: copy from INBOX: box=Trash, "
    "uid=3, msgid=<m1@x>, flags=(\\Seen)",
    "2026-11-29T20:41:09 imap(dr.a@x.fr)<10137><oJv2>: Info: flag_change: box=INBOX, uid=7, "
    "msgid=<m1@x>, flags=(\\Seen \\Recent)",
    "2026-11-29T20:41:09 imap(dr.a@x.fr)<10137><oJv2>: Info: expunge: box=INBOX, uid=7, "
    "msgid=<m1@x>, flags=(\\Deleted \\Seen)",
    "2026-11-29T20:41:10 imap(dr.a@x.fr)<10137><oJv2>: Info: Mailbox renamed: Old -> New",
    "2026-11-29T20:41:10 imap(dr.a@x.fr)<10137><oJv2>: Info: Mailbox deleted: New",
    '2026-11-29T20:41:10 stats: Info: {"event":"mail_opened", broken',
]


def test_parse_keeps_what_the_platform_acts_on() -> None:
    lines = imapsync.parse(_LOG)
    assert [x.kind for x in lines] == ["save", "opened", "copy", "flag_change", "expunge",
                                       "mailbox_rename", "mailbox_delete"]
    save, opened, copy, flag, expunge, rename, gone = lines
    assert (save.user, save.folder, save.uid, save.msgid) == ("dr.a@x.fr", "INBOX", 7, "<m1@x>")
    assert opened.body and opened.session == "oJv2" and opened.ip == "192.0.2.4"
    assert opened.at.isoformat() == "2026-11-29T20:41:08.086745+00:00"
    assert (copy.folder, copy.uid) == ("Trash", 3) and "\\Seen" in flag.flags
    assert expunge.at.isoformat() == "2026-11-29T20:41:09+00:00"
    assert (rename.folder, rename.new_folder) == ("Old", "New") and gone.folder == "New"
    # What doveadm prints when the platform moves a copy: no time, no session.
    (moved,) = imapsync.parse(["doveadm(Dr.A@x.fr): Info: copy from INBOX: box=Trash, uid=4, "
                               "msgid=<m1@x>, flags=(\\Seen)"])
    assert (moved.kind, moved.user, moved.folder, moved.uid, moved.session) == (
        "copy", "dr.a@x.fr", "Trash", 4, "")


def test_a_piece_is_read_once_even_if_found_again(db, personas, boxes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A copy fed to Dovecot as UID 1, read, then deleted from the mailbox: one line each.
    from esante.messaging import delivery, mime

    msg = delivery.send(db, principal(personas, "doctor"), from_mailbox_id=boxes.doctor.id, draft=mime.Draft(
        sender="", to=[boxes.other.address], subject="Objet", text="Texte"))
    copy = _copy(db, boxes.other.id, msg.message_id)
    db.add(ImapSession(session="s1", user_id=personas.users["other_doctor"].id,
                       mailbox_id=boxes.other.id, ip="192.0.2.9"))
    db.flush()
    a = boxes.other.address
    text = (f"2026-11-29T20:00:00 lmtp({a})<1><L1>: Info: save: box=INBOX, uid=1, "
            f"msgid={msg.message_id}, flags=()\n"
            '2026-11-29T20:00:01 stats: Info: {"event":"mail_opened","start_time":'
            '"2026-11-29T20:00:01Z","fields":{"user":"' + a + '","session":"s1","cmd_name":'
            '"FETCH","reason_code":["imap:fetch_body"],"mailbox":"INBOX","uid":1}}\n'
            f"2026-11-29T20:00:02 imap({a})<2><s1>: Info: expunge: box=INBOX, uid=1, "
            f"msgid={msg.message_id}, flags=(\\Deleted)\n")
    factory = on_test_connection(db)
    piece = tmp_path / f"{imapsync.LOG_NAME}.1"
    piece.write_text(text)
    assert imapsync.consume(factory, piece) == 3
    assert not piece.exists()
    piece.write_text(text)  # a crash between the commit and the deletion: found again
    assert imapsync.consume(factory, piece) == 0
    assert not piece.exists()
    (read,) = _events(db, "messaging.message.read")
    assert read.actor_id == personas.users["other_doctor"].id and read.ip == "192.0.2.9"
    (deleted,) = _events(db, "messaging.message.delete")
    db.refresh(copy)
    assert deleted.object_id == str(copy.message_pk) and copy.deleted_at is not None
    assert db.scalars(select(ImapCopy)).all() == []


def test_rotation_only_when_there_is_something(tmp_path: Path) -> None:
    assert imapsync.rotate(tmp_path, None) is None
    (tmp_path / imapsync.LOG_NAME).write_text("")
    assert imapsync.rotate(tmp_path, None) is None
    (tmp_path / imapsync.LOG_NAME).write_text("x\n")
    piece = imapsync.rotate(tmp_path, None)
    assert piece is not None and piece.read_text() == "x\n"
    assert not (tmp_path / imapsync.LOG_NAME).exists()
    assert imapsync.pieces(tmp_path) == [piece]

