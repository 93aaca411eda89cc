"""Every message enters here, whatever its way in (web, API, SMTP submission, another
operator's server): checked (size, MIME, X-MSS headers, attachments, trust-space rules),
stored encrypted, delivered to local mailboxes and queued for other operators, in the
caller's transaction. The same Message-ID from the same sender is stored once."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, lazyload

from esante.core import audit
from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.crypto import Vault
from esante.core.errors import Forbidden, Invalid, NotFound
from esante.core.notifications import service as notifications
from esante.core.policy import Principal
from esante.messaging import mailboxes, mime, rules, safety
from esante.messaging.config import get_mss_settings
from esante.messaging.mailboxes import domain_of, is_local, is_patient_address
from esante.messaging.models import (
    Delivery,
    Mailbox,
    MailboxMember,
    Message,
    OutboundItem,
    Receipt,
    Thread,
)

VIA = ("web", "api", "submission", "relay", "system")


@dataclass
class Envelope:
    mail_from: str
    rcpt_to: list[str] = field(default_factory=list)
    via: str = "web"


def check_recipient(session: Session, address: str, *, via: str,
                    found: dict[str, Mailbox | None] | None = None) -> Mailbox | None:
    """The local mailbox, or None for another operator's; refuses unknown local addresses,
    domains outside the trust space, and relaying for outsiders. ``found``: mailboxes the
    caller already looked up in this transaction (``mailboxes.by_addresses``)."""
    address = address.strip().lower()
    if "@" not in address:
        raise Invalid(f"adresse invalide : {address[:100]}", "invalid address",
                      code="bad-address")
    if is_local(address):
        box = found[address] if found is not None and address in found \
            else mailboxes.by_address(session, address)
        if box is None or not box.active:
            raise NotFound(f"destinataire inconnu : {address[:100]}", "unknown recipient",
                           code="unknown-recipient")
        return box
    if via == "relay":
        raise Forbidden("relais refusé : ce serveur ne reçoit que pour ses propres adresses",
                        "relaying denied", code="relay-denied")
    if not mailboxes.is_trusted(session, domain_of(address)):
        raise Forbidden(f"le domaine {domain_of(address)[:100]} n'est pas dans l'espace de "
                        "confiance", "domain outside the trust space", code="untrusted-domain")
    return None


def _check_sender(session: Session, parsed: mime.Parsed, envelope: Envelope,
                  sender_box: Mailbox | None) -> str:
    if envelope.via in ("web", "api", "submission"):
        if sender_box is None or parsed.sender != sender_box.address:
            raise Forbidden("l'expéditeur du message doit être votre boîte aux lettres",
                            "From must be the sender's mailbox", code="sender-mismatch")
        return sender_box.kind
    if envelope.via == "relay":
        if is_local(parsed.sender) or not mailboxes.is_trusted(session, domain_of(parsed.sender)):
            raise Forbidden(f"expéditeur hors de l'espace de confiance : "
                            f"{domain_of(parsed.sender)[:100]}", "sender outside the trust space",
                            code="untrusted-domain")
        return "citizen" if is_patient_address(parsed.sender) else "operator"
    return sender_box.kind if sender_box else "system"


def _check_attachments(parsed: mime.Parsed, max_bytes: int) -> None:
    if parsed.report_kind:
        return
    for att in parsed.attachments:
        mime.check_attachment(att, max_bytes=max_bytes)


def read(raw: bytes) -> mime.Parsed:
    """The first checks of ``accept``, those that need no database: the size, then the MIME
    reading (a caller may do them outside its transaction and hand ``accept`` the result)."""
    cfg = get_mss_settings()
    if len(raw) > cfg.max_message_bytes:
        raise Invalid(f"message trop gros ({len(raw)} octets, {cfg.max_message_bytes} au plus)",
                      "message too large", code="too-large")
    return mime.parse(raw)


def accept(session: Session, *, raw: bytes, envelope: Envelope, sender_box: Mailbox | None,
           actor: Actor, parsed: mime.Parsed | None = None,
           found: dict[str, Mailbox | None] | None = None) -> Message:
    """``parsed``: ``read(raw)``, when the caller already did it; ``found``: mailboxes the
    caller looked up in this transaction (``mailboxes.by_addresses``), those of the
    recipients not looked up again."""
    cfg = get_mss_settings()
    parsed = parsed if parsed is not None else read(raw)
    sender_kind = _check_sender(session, parsed, envelope, sender_box)
    _check_attachments(parsed, cfg.max_attachment_bytes)
    recipients = list(dict.fromkeys(a.lower() for a in (envelope.rcpt_to or parsed.to)))
    if not recipients:
        raise Invalid("aucun destinataire", "no recipient", code="no-recipient")
    local = {r: check_recipient(session, r, via=envelope.via, found=found) for r in recipients}
    same_id = session.execute(select(Message.id, Message.sender).where(
        Message.message_id == parsed.message_id)).all()
    existing = next((pk for pk, sender in same_id if sender == parsed.sender), None)
    if existing is not None:  # acknowledged before: stored once
        message = session.get_one(Message, existing)
        _more_recipients(session, message, local, parsed, envelope, actor)
        return message
    # No message bears this Message-ID yet, so no copy does either (a copy bears its
    # message's): the copies need not be looked for.
    first = not same_id
    thread = rules.find_thread(session, [*parsed.references, parsed.in_reply_to])
    rules.check(session, sender=parsed.sender, recipients=recipients, thread=thread,
                report=bool(parsed.report_kind))
    thread = _thread(session, thread, parsed, recipients)
    message = Message(
        message_id=parsed.message_id, thread_id=thread.id, sender=parsed.sender,
        sender_kind=sender_kind, size=len(raw), mss_fin=parsed.fin, mss_ins=parsed.ins,
        mss_codecda=parsed.codecda[:40], mss_nil=parsed.nil, wants_mdn=parsed.want_mdn,
        report_kind=parsed.report_kind, received_via=envelope.via,
        raw_enc=Vault(session).encrypt(raw, purpose="message", context=parsed.message_id))
    session.add(message)
    session.flush()
    for address, box in local.items():
        if box is not None:
            _deliver(session, message, box, "inbox", parsed, first=first)
            session.add(Receipt(message_pk=message.id, recipient=address, kind="delivered"))
        else:
            session.add(OutboundItem(message_pk=message.id, recipient=address,
                                     domain=domain_of(address)))
    if sender_box is not None:
        _deliver(session, message, sender_box, "sent", first=first)
    if parsed.report_kind:
        _record_report(session, parsed)
    audit.append(session, actor=actor, action="messaging.message.accept",
                 object_type="Message", object_id=message.id,
                 details={"via": envelope.via, "recipients": len(recipients),
                          "report": parsed.report_kind})
    session.flush()
    return message


def _more_recipients(session: Session, message: Message, local: dict[str, Mailbox | None],
                     parsed: mime.Parsed, envelope: Envelope, actor: Actor) -> None:
    """The same message again: a retry (its recipients have it: nothing to do), or the same
    message for other recipients (an operator may split them over several transactions),
    who get it as the first ones did."""
    delivered = set(session.scalars(select(Receipt.recipient).where(
        Receipt.message_pk == message.id, Receipt.kind == "delivered")))
    queued = set(session.scalars(select(OutboundItem.recipient).where(
        OutboundItem.message_pk == message.id)))
    new = {a: box for a, box in local.items()
           if a not in (delivered if box is not None else queued)}
    if not new:
        return
    rules.check(session, sender=parsed.sender, recipients=list(new),
                thread=session.get(Thread, message.thread_id), report=bool(parsed.report_kind))
    for address, box in new.items():
        if box is not None:
            _deliver(session, message, box, "inbox", parsed)
            session.add(Receipt(message_pk=message.id, recipient=address, kind="delivered"))
        else:
            session.add(OutboundItem(message_pk=message.id, recipient=address,
                                     domain=domain_of(address)))
    audit.append(session, actor=actor, action="messaging.message.accept",
                 object_type="Message", object_id=message.id,
                 details={"via": envelope.via, "recipients": len(new), "more_recipients": True})
    session.flush()


def _thread(session: Session, thread: Thread | None, parsed: mime.Parsed,
            recipients: list[str]) -> Thread:
    if thread is None:
        thread = Thread(root_message_id=parsed.message_id)
        session.add(thread)
    patient = next((a for a in [parsed.sender, *recipients] if is_patient_address(a)), "")
    if patient and not thread.patient_address:
        thread.patient_address = patient
    if thread.patient_address and not is_patient_address(parsed.sender) \
            and not parsed.report_kind:
        thread.closed_for_patient = parsed.fin  # each professional message decides anew
    session.flush()
    return thread


def _deliver(session: Session, message: Message, box: Mailbox, folder: str,
             parsed: mime.Parsed | None = None, *, first: bool = False) -> None:
    if not first and session.scalar(select(Delivery.id).where(
            Delivery.mailbox_id == box.id, Delivery.folder == folder,
            Delivery.message_id == message.message_id)) is not None:
        return
    found = safety.warnings(session, parsed, finess=box.finess, citizen=box.kind == "citizen") \
        if parsed is not None and folder == "inbox" else []
    copy = Delivery(mailbox_id=box.id, message_pk=message.id, message_id=message.message_id,
                    folder=folder, safety="\n".join(found)[:5000],
                    imap_pending=box.kind in mailboxes.PROFESSIONAL_KINDS)
    session.add(copy)
    session.flush()
    if folder == "inbox":
        for user in holders(session, box):
            # Nothing personal in a notification: no sender, no subject.
            notifications.notify(session, user=user, title="Nouveau message sécurisé",
                                 body=f"Dans la boîte {box.address}",
                                 link=f"/messagerie/messages/{copy.id}", email=False)


def holders(session: Session, box: Mailbox) -> list[User]:
    who: ColumnElement[bool] = User.id.in_(
        select(MailboxMember.user_id).where(MailboxMember.mailbox_id == box.id))
    if box.owner_user_id:
        who = or_(User.id == box.owner_user_id, who)
    # Their roles are not needed here: not loaded (the model loads them eagerly by default).
    return list(session.scalars(select(User).options(lazyload(User.roles)).where(
        who, User.is_active.is_(True))))


def _record_report(session: Session, parsed: mime.Parsed) -> None:
    original = session.scalar(select(Message).where(Message.message_id == parsed.reported_id)
                              .limit(1))
    if original is None or (parsed.report_kind == "dsn" and is_local(parsed.sender)):
        return  # our own bounces were recorded when the queue gave up
    kind = "displayed" if parsed.report_kind == "mdn" else "failed"
    session.add(Receipt(message_pk=original.id, recipient=parsed.sender, kind=kind,
                        detail=parsed.text[:300]))


def send(session: Session, p: Principal, *, from_mailbox_id: int, draft: mime.Draft,
         patient_identity_id: int | None = None, via: str = "web") -> Message:
    """Compose and send from a mailbox the principal holds."""
    cfg = get_mss_settings()
    box = mailboxes.get(session, p, from_mailbox_id, write=True)
    draft.sender = box.address
    # X-MSS-NIL names the sending software: an API client's own reference, else ours.
    draft.nil = draft.nil or cfg.product_ref
    if box.kind == "citizen" and (draft.cdas or draft.fin):
        raise Forbidden("un usager n'envoie ni document CDA ni message de fin",
                        "citizens send neither CDA nor FIN", code="trust-space-rule")
    if patient_identity_id is not None:
        from esante.identity import service as identities

        identity = identities.get(session, p, patient_identity_id)
        draft.ins = identities.outward_ins_or_none(session, identity)
    if draft.in_reply_to and not draft.references:
        draft.references = _references(session, draft.in_reply_to)
    raw = mime.build(draft, domain=cfg.domain, max_attachment_bytes=cfg.max_attachment_bytes,
                     accept_html=cfg.accept_html).as_bytes()
    return accept(session, raw=raw, envelope=Envelope(box.address, draft.to, via),
                  sender_box=box, actor=p.actor)


def _references(session: Session, in_reply_to: str) -> str:
    thread = rules.find_thread(session, [in_reply_to])
    if thread is None:
        return ""
    return thread.root_message_id if thread.root_message_id != in_reply_to else ""
