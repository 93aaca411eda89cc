"""Tables of messaging: mailboxes and who may open them, messages (raw MIME encrypted at
rest), their copies in mailboxes, threads, the outbound queue, receipts, and the whitelist
of operator domains of the trust space."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class Mailbox(Base):
    """An address of the trust space. ``kind``: personal (a professional), organisational
    (a service or an establishment), applicative (software), citizen (a patient, opened only
    for a qualified INS). The directory fields are public for professional mailboxes."""

    __tablename__ = "msg_mailboxes"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(254), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    owner_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    rpps: Mapped[str] = mapped_column(String(11), default="", index=True)
    profession: Mapped[str] = mapped_column(String(100), default="")
    finess: Mapped[str] = mapped_column(String(9), default="", index=True)
    establishment: Mapped[str] = mapped_column(String(200), default="")
    town: Mapped[str] = mapped_column(String(100), default="")
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class MailboxMember(Base):
    """A user who reads an organisational or applicative mailbox."""

    __tablename__ = "msg_mailbox_members"
    __table_args__ = (UniqueConstraint("mailbox_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("msg_mailboxes.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)


class OperatorDomain(Base):
    """A domain of the trust space's whitelist: mail from any other domain is refused."""

    __tablename__ = "msg_operator_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(200), unique=True)
    operator: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Thread(Base):
    """A conversation. ``patient_address``: the citizen mailbox taking part, if any;
    ``closed_for_patient``: a professional's message carried ``X-MSS-MES: FIN``."""

    __tablename__ = "msg_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    root_message_id: Mapped[str] = mapped_column(String(250), unique=True)
    patient_address: Mapped[str] = mapped_column(String(254), default="", index=True)
    closed_for_patient: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message as received or sent: the whole RFC 5322 text encrypted at rest; in clear
    only what routing and the trust-space rules need (no subject, no body)."""

    __tablename__ = "msg_messages"
    # One sender's Message-ID is stored once, whichever gateway process takes it.
    __table_args__ = (Index("ix_msg_messages_thread", "thread_id", "id"),
                      UniqueConstraint("sender", "message_id", name="uq_msg_messages_sender_mid"))

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(250), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("msg_threads.id"))
    sender: Mapped[str] = mapped_column(String(254))
    sender_kind: Mapped[str] = mapped_column(String(16))  # a mailbox kind, or "operator"
    raw_enc: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    mss_fin: Mapped[bool] = mapped_column(Boolean, default=False)
    mss_ins: Mapped[str] = mapped_column(String(1), default="N")
    mss_codecda: Mapped[str] = mapped_column(String(40), default="")
    mss_nil: Mapped[str] = mapped_column(String(40), default="")
    wants_mdn: Mapped[bool] = mapped_column(Boolean, default=False)
    report_kind: Mapped[str] = mapped_column(String(10), default="")  # "", dsn, mdn
    received_via: Mapped[str] = mapped_column(String(12))  # web, api, submission, relay
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """A copy of a message in a mailbox (its inbox or its sent folder). One per mailbox,
    folder and Message-ID: delivering the same message twice is a no-op."""

    __tablename__ = "msg_deliveries"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "message_id"),
                      Index("ix_msg_deliveries_box", "mailbox_id", "folder", "id"),
                      Index("ix_msg_deliveries_imap", "imap_pending", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("msg_mailboxes.id", ondelete="CASCADE"))
    message_pk: Mapped[int] = mapped_column(ForeignKey("msg_messages.id", ondelete="CASCADE"),
                                            index=True)
    message_id: Mapped[str] = mapped_column(String(250))
    folder: Mapped[str] = mapped_column(String(10))  # inbox, sent
    # Read (inbox): set when first opened, on the web, by the API or by a mail client's
    # \Seen; cleared when marked unread again.
    read_at: Mapped[datetime | None]
    # When its read receipt was settled: sent when first opened here, or left to the mail
    # client that showed it first (it asks its user). Never twice.
    mdn_settled_at: Mapped[datetime | None]
    flagged_phishing: Mapped[bool] = mapped_column(Boolean, default=False)
    # Shared indicators found in its links or attachments when it arrived (one per line).
    safety: Mapped[str] = mapped_column(Text, default="")
    # Still to hand to the IMAP server (Dovecot, over LMTP): professional mailboxes only.
    imap_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    # In the mailbox's trash: deleted on the web or by the API, or by the holder's mail
    # client (no IMAP copy left but in Trash, ``imapsync``); out of the folder's lists,
    # kept in the platform's record.
    deleted_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Receipt(Base):
    """What happened to a message for one recipient: delivered, relayed, failed (DSN) or
    displayed (MDN)."""

    __tablename__ = "msg_receipts"
    __table_args__ = (Index("ix_msg_receipts_msg", "message_pk"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("msg_messages.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(12))
    detail: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime] = mapped_column(default=utcnow)


class OutboundItem(Base):
    """A message waiting to be relayed to another operator (persistent queue)."""

    __tablename__ = "msg_outbound"
    __table_args__ = (Index("ix_msg_outbound_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("msg_messages.id", ondelete="CASCADE"),
                                            index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    domain: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="queued")  # queued, sent, bounced
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImapSession(Base):
    """An IMAP login the platform granted: Dovecot's session id, the account whose token
    opened it, the mailbox and the client's address (what a mail client then does is
    audited in that account's name)."""

    __tablename__ = "msg_imap_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    session: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("msg_mailboxes.id", ondelete="CASCADE"),
                                            index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImapCopy(Base):
    """Where a mailbox's copy of a message is in Dovecot: an IMAP folder and its UID there
    (a message moved or copied by the mail client has one row per folder)."""

    __tablename__ = "msg_imap_copies"
    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "uid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox_id: Mapped[int] = mapped_column(ForeignKey("msg_mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(200))
    uid: Mapped[int] = mapped_column(Integer)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("msg_deliveries.id", ondelete="CASCADE"), index=True)
    # \Seen there, as Dovecot last said (a message read on the web gets it too).
    seen: Mapped[bool] = mapped_column(Boolean, default=False)


class ImapLog(Base):
    """A piece of Dovecot's event log already brought back (read once, then deleted)."""

    __tablename__ = "msg_imap_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    lines: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime] = mapped_column(default=utcnow)
