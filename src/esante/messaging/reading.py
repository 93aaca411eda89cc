"""Reading mailboxes: a folder's list, a message with its thread, attachments, receipts;
moving a copy to the mailbox's trash and back. Every opening of a message is audited;
opening a message that asks for a read receipt sends it (MDN) once."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.audit import Actor
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import Invalid, NotFound
from esante.core.policy import Principal
from esante.messaging import delivery, mailboxes, mime, reports
from esante.messaging.config import get_mss_settings
from esante.messaging.models import Delivery, ImapCopy, Mailbox, Message, Receipt, Thread


@dataclass
class Item:
    delivery: Delivery
    message: Message
    parsed: mime.Parsed


def decode(session: Session, message: Message) -> mime.Parsed:
    raw = Vault(session).decrypt(message.raw_enc, context=message.message_id)
    return mime.parse(raw)


def raw_of(session: Session, message: Message) -> bytes:
    return Vault(session).decrypt(message.raw_enc, context=message.message_id)


FOLDERS = ("inbox", "sent", "trash")


def folder(session: Session, p: Principal, box: Mailbox, name: str = "inbox",
           limit: int = 50) -> list[Item]:
    """A folder's newest copies; ``trash`` holds the deleted ones of both folders."""
    if name not in FOLDERS:
        raise Invalid("dossier : inbox, sent ou trash", "folder must be inbox, sent or trash",
                      code="folder")
    policy.authorize(p, "messaging.mailbox.use", (session, box))
    where = (Delivery.deleted_at.is_not(None) if name == "trash"
             else and_(Delivery.folder == name, Delivery.deleted_at.is_(None)))
    rows = session.execute(select(Delivery, Message).join(Message, Message.id == Delivery.message_pk)
                           .where(Delivery.mailbox_id == box.id, where)
                           .order_by(Delivery.id.desc()).limit(limit)).all()
    audit.record(session, actor=p.actor, action="messaging.folder.read", object_type="Mailbox",
                 object_id=box.id, subject_user_id=box.owner_user_id, details={"folder": name})
    return [Item(d, m, decode(session, m)) for d, m in rows]


def get_delivery(session: Session, p: Principal, delivery_id: int) -> tuple[Delivery, Mailbox]:
    row = session.get(Delivery, delivery_id)
    if row is None:
        raise NotFound("message introuvable", "message not found")
    box = session.get_one(Mailbox, row.mailbox_id)
    policy.authorize(p, "messaging.mailbox.use", (session, box))
    return row, box


def open_message(session: Session, p: Principal, delivery_id: int) -> tuple[Item, list[Item]]:
    """The message and its thread (as this mailbox holds it), marked read; MDN sent."""
    row, box = get_delivery(session, p, delivery_id)
    message = session.get_one(Message, row.message_pk)
    item = Item(row, message, decode(session, message))
    audit.record(session, actor=p.actor, action="messaging.message.read", object_type="Message",
                 object_id=message.id, subject_user_id=box.owner_user_id)
    if row.folder == "inbox":
        row.read_at = row.read_at or utcnow()
        if row.mdn_settled_at is None:
            row.mdn_settled_at = row.read_at
            if message.wants_mdn and not message.report_kind:
                _send_mdn(session, p, box, message, item.parsed)
    thread = [Item(d, m, decode(session, m)) for d, m in session.execute(
        select(Delivery, Message).join(Message, Message.id == Delivery.message_pk).where(
            Delivery.mailbox_id == box.id, Message.thread_id == message.thread_id)
        .order_by(Message.id)).all()]
    session.flush()
    return item, thread


def _send_mdn(session: Session, p: Principal, box: Mailbox, message: Message,
              parsed: mime.Parsed) -> None:
    cfg = get_mss_settings()
    raw = reports.mdn(reader=box.address, to=parsed.sender, original_id=message.message_id,
                      domain=cfg.domain)
    # The sender's address may be gone or out of the trust space: the reading stands.
    with contextlib.suppress(Invalid, NotFound, policy.Forbidden):
        delivery.accept(session, raw=raw, envelope=delivery.Envelope(box.address, [parsed.sender],
                                                                     "system"),
                        sender_box=None, actor=p.actor)


def attachment(session: Session, p: Principal, delivery_id: int, index: int, *,
               inline: bool = False) -> mime.Attachment:
    """An attachment for the mailbox's holder (audited); ``inline``: for a preview, only a
    PDF or an image whose content matches its type."""
    row, box = get_delivery(session, p, delivery_id)
    message = session.get_one(Message, row.message_pk)
    parsed = decode(session, message)
    if not 0 <= index < len(parsed.attachments):
        raise NotFound("pièce jointe introuvable", "attachment not found")
    if inline and not mime.previewable(parsed.attachments[index]):
        raise NotFound("pas d'aperçu pour cette pièce jointe (PDF et images seulement)",
                       "no preview for this attachment", code="no-preview")
    audit.record(session, actor=p.actor, action="messaging.attachment.read",
                 object_type="Message", object_id=message.id, subject_user_id=box.owner_user_id,
                 details={"index": index, "inline": inline})
    return parsed.attachments[index]


def receipts(session: Session, p: Principal, delivery_id: int) -> list[Receipt]:
    row, _box = get_delivery(session, p, delivery_id)
    return list(session.scalars(select(Receipt).where(Receipt.message_pk == row.message_pk)
                                .order_by(Receipt.id)))


def report_phishing(session: Session, p: Principal, delivery_id: int) -> Delivery:
    row, box = get_delivery(session, p, delivery_id)
    if box.kind == "citizen":
        raise Invalid("le signalement d'hameçonnage est réservé aux professionnels",
                      "phishing reports are for professionals", code="not-professional")
    row.flagged_phishing = True
    audit.record(session, actor=p.actor, action="messaging.message.phishing",
                 object_type="Message", object_id=row.message_pk)
    session.flush()
    return row


def delete(session: Session, p: Principal, delivery_id: int, *, via: str) -> Delivery:
    """Moves this mailbox's copy to its trash (kept in the platform's record; the IMAP
    service moves it to ``Trash`` in the mail clients too); deleting it again does nothing."""
    row, box = get_delivery(session, p, delivery_id)
    if row.deleted_at is None:
        row.deleted_at = utcnow()
        record_trash(session, p.actor, row, box, deleted=True, via=via)
        session.flush()
    return row


def mark_unread(session: Session, p: Principal, delivery_id: int) -> Delivery:
    """A received message shown as unread again (its read receipt is not sent again); the
    mail clients' copies lose ``\\Seen``."""
    row, _box = get_delivery(session, p, delivery_id)
    if row.folder != "inbox":
        raise Invalid("seul un message reçu se marque comme non lu",
                      "only a received message can be marked unread", code="not-received")
    row.read_at = None
    session.flush()
    return row


def restore(session: Session, p: Principal, delivery_id: int, *, via: str) -> Delivery:
    """Takes the copy out of the trash, back into its folder (and into the mail clients':
    out of ``Trash``, or handed to Dovecot again when a client had erased it)."""
    row, box = get_delivery(session, p, delivery_id)
    if row.deleted_at is not None:
        row.deleted_at = None
        if box.kind in mailboxes.PROFESSIONAL_KINDS and not row.imap_pending and not \
                session.scalar(select(exists().where(ImapCopy.delivery_id == row.id))):
            row.imap_pending = True
        record_trash(session, p.actor, row, box, deleted=False, via=via)
        session.flush()
    return row


def record_trash(session: Session, actor: Actor, copy: Delivery, box: Mailbox, *,
                 deleted: bool, via: str) -> None:
    """The audit event of a copy put in its mailbox's trash, or taken out of it, and by which
    way (web, api, imap)."""
    audit.record(session, actor=actor,
                 action="messaging.message.delete" if deleted else "messaging.message.restore",
                 object_type="Message", object_id=copy.message_pk,
                 subject_user_id=box.owner_user_id, details={"via": via, "folder": copy.folder})


def thread_of(session: Session, message: Message) -> Thread:
    return session.get_one(Thread, message.thread_id)


def unread(session: Session, p: Principal) -> int:
    boxes = [b.id for b in mailboxes.of_user(session, p)]
    if not boxes:
        return 0
    return len(session.scalars(select(Delivery.id).where(
        Delivery.mailbox_id.in_(boxes), Delivery.folder == "inbox",
        Delivery.read_at.is_(None), Delivery.deleted_at.is_(None)).limit(1000)).all())


def when(value: datetime | None) -> str:
    return value.strftime("%d/%m/%Y %H:%M") if value else ""
