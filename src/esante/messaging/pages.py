"""Pages of the web mailbox (French, DSFR): folders, a message with its thread and
receipts, compose with directory look-up, and the directory of professional addresses."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from esante.core import policy
from esante.core.errors import DomainError
from esante.core.policy import Principal
from esante.messaging import delivery, mailboxes, mime, reading
from esante.messaging.config import get_mss_settings
from esante.messaging.models import Mailbox
from esante.web.deps import Csrf, PagePrincipal, SessionDep, WebSessionDep
from esante.web.render import render

router = APIRouter(include_in_schema=False)
BASE = "/messagerie"
FOLDERS = {"inbox": "Boîte de réception", "sent": "Messages envoyés", "trash": "Corbeille"}
RECEIPTS = {"delivered": "remis", "displayed": "lu", "failed": "non distribué",
            "relayed": "transmis à l'opérateur"}


def _box(session: Session, p: Principal, mailbox_id: int | None) -> tuple[Mailbox | None,
                                                                          list[Mailbox]]:
    mine = mailboxes.of_user(session, p)
    if mailbox_id is None:
        return (mine[0] if mine else None), mine
    return mailboxes.get(session, p, mailbox_id), mine


@router.get(BASE)
def inbox(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
          boite: int | None = Query(default=None), dossier: str = Query(default="inbox",
                                                                       max_length=10)) -> Response:
    policy.authorize(p, "messaging.mailbox.own")
    box, mine = _box(session, p, boite)
    items = reading.folder(session, p, box, dossier) if box else []
    return render(request, "messaging/inbox.html", {
        "box": box, "mine": mine, "items": items, "folder": dossier, "folders": FOLDERS,
        "when": reading.when, "sent": request.query_params.get("envoye", ""),
        "deleted": request.query_params.get("supprime", "")},
        principal=p, ws=ws)


@router.get(BASE + "/messages/{delivery_id}")
def message(request: Request, delivery_id: int, p: PagePrincipal, session: SessionDep,
            ws: WebSessionDep) -> Response:
    item, thread = reading.open_message(session, p, delivery_id)
    box = session.get_one(Mailbox, item.delivery.mailbox_id)
    receipts = reading.receipts(session, p, delivery_id) if item.delivery.folder == "sent" else []
    return render(request, "messaging/message.html", {
        "item": item, "thread": thread, "box": box, "receipts": receipts,
        "receipt_labels": RECEIPTS, "when": reading.when, "previewable": mime.previewable,
        "may_reply": box.kind != "citizen" or not item.message.mss_fin,
        "error": request.query_params.get("erreur", "")[:300]}, principal=p, ws=ws)


@router.post(BASE + "/messages/{delivery_id}/hameconnage", dependencies=[Csrf])
def report_phishing(delivery_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    try:
        reading.report_phishing(session, p, delivery_id)
    except DomainError as exc:
        if exc.status != 422:
            raise
        session.rollback()
        return RedirectResponse(f"{BASE}/messages/{delivery_id}?erreur={quote(exc.fr[:300])}",
                                status_code=303)
    return RedirectResponse(f"{BASE}/messages/{delivery_id}", status_code=303)


@router.post(BASE + "/messages/{delivery_id}/supprimer", dependencies=[Csrf])
def delete(delivery_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    copy = reading.delete(session, p, delivery_id, via="web")
    return RedirectResponse(f"{BASE}?boite={copy.mailbox_id}&dossier={copy.folder}"
                            f"&supprime={copy.id}", status_code=303)


@router.post(BASE + "/messages/{delivery_id}/non-lu", dependencies=[Csrf])
def mark_unread(delivery_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    copy = reading.mark_unread(session, p, delivery_id)
    return RedirectResponse(f"{BASE}?boite={copy.mailbox_id}", status_code=303)


@router.post(BASE + "/messages/{delivery_id}/restaurer", dependencies=[Csrf])
def restore(delivery_id: int, p: PagePrincipal, session: SessionDep) -> Response:
    reading.restore(session, p, delivery_id, via="web")
    return RedirectResponse(f"{BASE}/messages/{delivery_id}", status_code=303)


@router.get(BASE + "/messages/{delivery_id}/pieces/{index}")
def attachment(delivery_id: int, index: int, p: PagePrincipal, session: SessionDep) -> Response:
    att = reading.attachment(session, p, delivery_id, index)
    safe = "".join(c for c in att.filename if c.isalnum() or c in "._-")[:100] or "piece"
    return Response(att.data, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe}"',
                             "X-Content-Type-Options": "nosniff",
                             "Cache-Control": "no-store, private"})


# The preview is framed by the message page only; an image gets no script at all, a PDF
# only Chromium's or Firefox's own viewer (a sandbox would keep it from rendering).
PREVIEW_CSP = {
    "image": "default-src 'none'; img-src 'self'; sandbox; frame-ancestors 'self'",
    "application": "default-src 'none'; object-src 'self'; frame-ancestors 'self'",
}


@router.get(BASE + "/messages/{delivery_id}/pieces/{index}/apercu")
def attachment_preview(delivery_id: int, index: int, p: PagePrincipal,
                       session: SessionDep) -> Response:
    """A PDF or an image shown in the message page: its own type (checked against its
    content), inline, for the mailbox's holders only, audited."""
    att = reading.attachment(session, p, delivery_id, index, inline=True)
    ctype = att.content_type.lower()
    safe = "".join(c for c in att.filename if c.isalnum() or c in "._-")[:100] or "piece"
    return Response(att.data, media_type=ctype, headers={
        "Content-Disposition": f'inline; filename="{safe}"',
        "Content-Security-Policy": PREVIEW_CSP[ctype.partition("/")[0]],
        "X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin", "Cache-Control": "no-store, private"})


def _compose(request: Request, p: Principal, session: Session, ws: Any, *,
             values: dict[str, str], error: str = "", status_code: int = 200) -> Response:
    mine = mailboxes.of_user(session, p)
    return render(request, "messaging/compose.html", {
        "mine": mine, "values": values, "error": error,
        "max_mb": get_mss_settings().max_attachment_bytes // 1_048_576},
        principal=p, ws=ws, status_code=status_code)


@router.get(BASE + "/nouveau")
def compose_form(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
                 a: str = Query(default="", max_length=254),
                 reponse: int | None = Query(default=None)) -> Response:
    policy.authorize(p, "messaging.mailbox.own")
    values = {"to": a, "subject": "", "in_reply_to": "", "from": ""}
    if reponse is not None:
        item, _thread = reading.open_message(session, p, reponse)
        values.update(to=item.message.sender, from_=str(item.delivery.mailbox_id),
                      subject=("Re: " + item.parsed.subject.removeprefix("Re: "))[:500],
                      in_reply_to=item.message.message_id)
        values["from"] = values.pop("from_")
    return _compose(request, p, session, ws, values=values)


@router.post(BASE + "/nouveau", dependencies=[Csrf])
async def compose(request: Request, p: PagePrincipal, session: SessionDep,
                  ws: WebSessionDep) -> Response:
    form = await request.form()
    values = {k: str(form.get(k) or "")[:2000] for k in ("from", "to", "subject", "text",
                                                         "in_reply_to", "fin", "mdn")}
    try:
        files = [f for f in form.getlist("pieces") if isinstance(f, UploadFile) and f.filename]
        attachments = [mime.Attachment(f.filename or "piece", f.content_type or "", await f.read())
                       for f in files]
        cdas = [a.data for a in attachments if a.content_type in ("text/xml", "application/xml")]
        draft = mime.Draft(
            sender="", to=[t.strip() for t in values["to"].replace(";", ",").split(",")
                           if t.strip()][:50],
            subject=values["subject"][:500], text=str(form.get("text") or "")[:1_000_000],
            attachments=[a for a in attachments if a.data not in cdas], cdas=cdas,
            in_reply_to=values["in_reply_to"], fin=values["fin"] == "on",
            want_mdn=values["mdn"] == "on")
        if not values["from"].isdigit():
            raise DomainError("choisissez la boîte d'envoi", "choose a mailbox")
        delivery.send(session, p, from_mailbox_id=int(values["from"]), draft=draft)
    except DomainError as exc:
        session.rollback()
        return _compose(request, p, session, ws, values=values, error=exc.fr, status_code=422)
    return RedirectResponse(f"{BASE}?boite={values['from']}&dossier=sent&envoye=1",
                            status_code=303)


@router.get(BASE + "/annuaire")
def directory(request: Request, p: PagePrincipal, session: SessionDep, ws: WebSessionDep,
              q: str = Query(default="", max_length=100),
              rpps: str = Query(default="", max_length=11),
              profession: str = Query(default="", max_length=100),
              ville: str = Query(default="", max_length=100),
              etablissement: str = Query(default="", max_length=200)) -> Response:
    rows = mailboxes.search_directory(session, p, q=q, rpps=rpps, profession=profession,
                                      town=ville, establishment=etablissement)
    query = {"q": q, "rpps": rpps, "profession": profession, "ville": ville,
             "etablissement": etablissement}
    if request.headers.get("hx-request"):
        return render(request, "messaging/_directory_rows.html", {"rows": rows}, principal=p,
                      ws=ws)
    return render(request, "messaging/directory.html", {"rows": rows, "query": query},
                  principal=p, ws=ws)
