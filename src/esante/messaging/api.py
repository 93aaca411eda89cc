"""JSON routes of secure messaging (``/api/messaging``): the caller's mailboxes, folders,
messages with their thread and attachments, sending, receipts, phishing reports, the
directory of professional addresses, and (administrators) mailboxes and the trust space."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Query, status
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from esante.core.errors import Invalid
from esante.messaging import delivery, mailboxes, mime, reading
from esante.messaging.models import Delivery, Message, OutboundItem
from esante.messaging.schemas import (
    AttachmentOut,
    DirectoryEntryOut,
    DomainIn,
    DomainOut,
    MailboxIn,
    MailboxOut,
    MessageIn,
    MessageOut,
    ReceiptOut,
    SentOut,
    SummaryOut,
)
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/messaging", tags=["messagerie sécurisée"])


def summary(item: reading.Item) -> SummaryOut:
    m, parsed = item.message, item.parsed
    return SummaryOut(id=item.delivery.id, message_id=m.message_id, sender=m.sender,
                      to=parsed.to, subject=parsed.subject, received_at=item.delivery.created_at,
                      read=item.delivery.read_at is not None, fin=m.mss_fin, x_mss_ins=m.mss_ins,
                      x_mss_codecda=m.mss_codecda, x_mss_nil=m.mss_nil, report=m.report_kind,
                      attachments=len(parsed.attachments),
                      safety_warnings=item.delivery.safety.splitlines(),
                      deleted_at=item.delivery.deleted_at)


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{what} : base64 invalide", f"{what}: invalid base64",
                      code="base64") from exc


@router.get("/mailboxes", summary="Mes boîtes aux lettres sécurisées")
def my_mailboxes(p: ApiPrincipal, session: SessionDep) -> list[MailboxOut]:
    return [MailboxOut(id=b.id, address=b.address, kind=b.kind, display_name=b.display_name)
            for b in mailboxes.of_user(session, p)]


@router.get("/mailboxes/{mailbox_id}/messages",
            summary="Messages d'un dossier (inbox, sent, trash : la corbeille)")
def folder(mailbox_id: int, p: ApiPrincipal, session: SessionDep,
           folder: str = Query(default="inbox", max_length=10)) -> list[SummaryOut]:
    box = mailboxes.get(session, p, mailbox_id)
    return [summary(i) for i in reading.folder(session, p, box, folder)]


@router.get("/messages/{delivery_id}", summary="Lire un message et sa conversation")
def read(delivery_id: int, p: ApiPrincipal, session: SessionDep) -> MessageOut:
    item, thread = reading.open_message(session, p, delivery_id)
    return MessageOut(
        **summary(item).model_dump(), text=item.parsed.text, html=item.parsed.html,
        in_reply_to=item.parsed.in_reply_to,
        attachment_list=[AttachmentOut(index=i, filename=a.filename, content_type=a.content_type,
                                       size=len(a.data))
                         for i, a in enumerate(item.parsed.attachments)],
        thread=[summary(t) for t in thread])


@router.get("/messages/{delivery_id}/attachments/{index}", summary="Télécharger une pièce jointe")
def attachment(delivery_id: int, index: int, p: ApiPrincipal, session: SessionDep) -> Response:
    att = reading.attachment(session, p, delivery_id, index)
    safe = "".join(c for c in att.filename if c.isalnum() or c in "._-")[:100] or "piece"
    return Response(att.data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"',
                             "X-Content-Type-Options": "nosniff"})


@router.get("/messages/{delivery_id}/receipts", summary="Accusés de remise et de lecture")
def receipts(delivery_id: int, p: ApiPrincipal, session: SessionDep) -> list[ReceiptOut]:
    return [ReceiptOut(recipient=r.recipient, kind=r.kind, detail=r.detail, at=r.at)
            for r in reading.receipts(session, p, delivery_id)]


@router.delete("/messages/{delivery_id}", summary="Placer un message dans la corbeille")
def delete(delivery_id: int, p: ApiPrincipal, session: SessionDep) -> SummaryOut:
    return _summary_of(session, reading.delete(session, p, delivery_id, via="api"))


@router.post("/messages/{delivery_id}/restore", summary="Sortir un message de la corbeille")
def restore(delivery_id: int, p: ApiPrincipal, session: SessionDep) -> SummaryOut:
    return _summary_of(session, reading.restore(session, p, delivery_id, via="api"))


@router.post("/messages/{delivery_id}/unread", summary="Marquer un message reçu comme non lu")
def unread(delivery_id: int, p: ApiPrincipal, session: SessionDep) -> SummaryOut:
    return _summary_of(session, reading.mark_unread(session, p, delivery_id))


def _summary_of(session: Session, copy: Delivery) -> SummaryOut:
    message = session.get_one(Message, copy.message_pk)
    return summary(reading.Item(copy, message, reading.decode(session, message)))


@router.post("/messages/{delivery_id}/phishing", summary="Signaler un message comme hameçonnage")
def phishing(delivery_id: int, p: ApiPrincipal, session: SessionDep) -> dict[str, bool]:
    reading.report_phishing(session, p, delivery_id)
    return {"reported": True}


@router.post("/messages", status_code=status.HTTP_201_CREATED, summary="Envoyer un message")
def send(body: MessageIn, p: ApiPrincipal, session: SessionDep) -> SentOut:
    draft = mime.Draft(
        sender="", to=body.to, subject=body.subject, text=body.text, html=body.html,
        attachments=[mime.Attachment(a.filename, a.content_type, _b64(a.data_base64, a.filename))
                     for a in body.attachments],
        cdas=[_b64(c, "document CDA") for c in body.cda_documents_base64],
        in_reply_to=body.in_reply_to, fin=body.fin, want_mdn=body.want_read_receipt,
        nil=body.nil)
    msg = delivery.send(session, p, from_mailbox_id=body.from_mailbox_id, draft=draft,
                        patient_identity_id=body.patient_identity_id, via="api")
    queued = session.scalar(select(func.count()).select_from(OutboundItem).where(
        OutboundItem.message_pk == msg.id)) or 0
    return SentOut(message_id=msg.message_id, thread_id=msg.thread_id, x_mss_ins=msg.mss_ins,
                   x_mss_codecda=msg.mss_codecda, queued_outbound=queued)


@router.get("/directory", summary="Annuaire des adresses des professionnels")
def directory(p: ApiPrincipal, session: SessionDep,
              q: str = Query(default="", max_length=100),
              rpps: str = Query(default="", max_length=11),
              profession: str = Query(default="", max_length=100),
              establishment: str = Query(default="", max_length=200),
              town: str = Query(default="", max_length=100)) -> list[DirectoryEntryOut]:
    return [DirectoryEntryOut(address=b.address, display_name=b.display_name, rpps=b.rpps,
                              profession=b.profession, establishment=b.establishment,
                              town=b.town)
            for b in mailboxes.search_directory(session, p, q=q, rpps=rpps,
                                                profession=profession,
                                                establishment=establishment, town=town)]


@router.post("/admin/mailboxes", status_code=status.HTTP_201_CREATED,
             summary="Créer une boîte professionnelle (administrateur)")
def create_mailbox(body: MailboxIn, p: ApiPrincipal, session: SessionDep) -> MailboxOut:
    b = mailboxes.create(session, p, **body.model_dump())
    return MailboxOut(id=b.id, address=b.address, kind=b.kind, display_name=b.display_name)


@router.get("/admin/mailboxes", summary="Lister les boîtes (administrateur, sans les messages)")
def list_mailboxes(p: ApiPrincipal, session: SessionDep) -> list[MailboxOut]:
    return [MailboxOut(id=b.id, address=b.address, kind=b.kind, display_name=b.display_name)
            for b in mailboxes.list_all(session, p)]


@router.get("/admin/domains", summary="Domaines de l'espace de confiance")
def list_domains(p: ApiPrincipal, session: SessionDep) -> list[DomainOut]:
    from esante.core import policy

    policy.authorize(p, "messaging.admin.read")
    return [DomainOut(domain=d.domain, operator=d.operator) for d in mailboxes.domains(session)]


@router.post("/admin/domains", status_code=status.HTTP_201_CREATED,
             summary="Ajouter un domaine d'opérateur à l'espace de confiance")
def add_domain(body: DomainIn, p: ApiPrincipal, session: SessionDep) -> DomainOut:
    d = mailboxes.add_domain(session, p, domain=body.domain, operator=body.operator)
    return DomainOut(domain=d.domain, operator=d.operator)
