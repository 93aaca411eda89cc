"""The access matrix's lines for secure messaging (/api/messaging, /messagerie).

A mailbox is read and written only by its holder: the doctor holds dr.doctor, the other
doctor dr.other; nobody else reads them, the administrator included. The administrator
manages mailboxes and the trust space. The directory is for everyone but citizens and
accounts without a role."""

from __future__ import annotations

from typing import Any

from esante.messaging import delivery, mailboxes, mime
from esante.messaging.models import Delivery, Mailbox, Message, OperatorDomain
from tests.core.policy_base import EVERYONE, Case, _c, _p

M = "/api/messaging"
DOCTOR = frozenset({"doctor"})
OTHER = frozenset({"other_doctor"})
ADMIN = frozenset({"admin"})
DIRECTORY = EVERYONE - {"citizen", "outsider"}
COPY = M + "/messages/{delivery_id}"

API_CASES: list[Case] = [
    _c("GET", M + "/mailboxes", EVERYONE),
    _c("GET", M + "/mailboxes/{mailbox_id}/messages", DOCTOR,
       label=M + "/mailboxes/{doctor_box}/messages"),
    _c("GET", COPY, OTHER, label=M + "/messages/{other_copy}"),
    _c("GET", COPY + "/attachments/{index}", OTHER, label=M + "/messages/{other_copy}/attachments/0"),
    _c("GET", COPY + "/receipts", OTHER, label=M + "/messages/{other_copy}/receipts"),
    _c("POST", COPY + "/phishing", OTHER, label=M + "/messages/{other_copy}/phishing"),
    _c("DELETE", COPY, OTHER, label=M + "/messages/{other_copy}"),
    _c("POST", COPY + "/restore", OTHER, label=M + "/messages/{other_copy}/restore"),
    _c("POST", COPY + "/unread", OTHER, label=M + "/messages/{other_copy}/unread"),
    _c("POST", M + "/messages", DOCTOR, ok=(201,),
       body={"from_mailbox_id": "{doctor_box}", "to": ["dr.other@mss.esante.localhost"],
             "subject": "Matrice", "text": "Texte"}),
    _c("GET", M + "/directory", DIRECTORY),
    _c("GET", M + "/admin/mailboxes", ADMIN),
    _c("POST", M + "/admin/mailboxes", ADMIN, ok=(201,),
       body={"kind": "organisational", "local_part": "matrice.service",
             "display_name": "Service matrice"}),
    _c("GET", M + "/admin/domains", ADMIN),
    _c("POST", M + "/admin/domains", ADMIN, ok=(201,),
       body={"domain": "mss.matrice-operateur.fr", "operator": "Matrice"}),
]

ROLE_PAGES: list[Case] = [
    _p("GET", "/messagerie/messages/{delivery_id}", OTHER, label="/messagerie/messages/{other_copy}"),
    _p("GET", "/messagerie/messages/{delivery_id}/pieces/{index}", OTHER,
       label="/messagerie/messages/{other_copy}/pieces/0"),
    _p("GET", "/messagerie/messages/{delivery_id}/pieces/{index}/apercu", OTHER,
       label="/messagerie/messages/{other_copy}/pieces/0/apercu"),
    _p("GET", "/messagerie/annuaire", DIRECTORY),
    _p("POST", "/messagerie/messages/{delivery_id}/hameconnage", OTHER,
       label="/messagerie/messages/{other_copy}/hameconnage",
       extra={"to": "/messagerie/messages/{other_copy}", "rewrites": True}),
    _p("POST", "/messagerie/messages/{delivery_id}/supprimer", OTHER,
       label="/messagerie/messages/{other_copy}/supprimer",
       extra={"to": "/messagerie?boite=", "rewrites": True}),
    _p("POST", "/messagerie/messages/{delivery_id}/non-lu", OTHER,
       label="/messagerie/messages/{other_copy}/non-lu",
       extra={"to": "/messagerie?boite=", "rewrites": True}),
    _p("POST", "/messagerie/messages/{delivery_id}/restaurer", OTHER,
       label="/messagerie/messages/{other_copy}/restaurer",
       extra={"to": "/messagerie/messages/{other_copy}", "rewrites": True}),
]

PAGE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/messagerie"): "page",
    ("GET", "/messagerie/nouveau"): "page",
}

OTHER_ROUTES: dict[tuple[str, str], str] = {
    ("POST", "/messagerie/nouveau"): "a form whose refusal is the form again with its error: "
                                      "tests/messaging/test_pages.py",
}

COUNTED = (Mailbox, Message, Delivery, OperatorDomain)


def placeholders(targets: Any, name: str) -> dict[str, Any]:
    db = targets.db

    def boxes() -> dict[str, int]:
        def make() -> dict[str, int]:
            admin = targets.principal("admin")
            doctor = mailboxes.create(db, admin, kind="personal", local_part="dr.doctor",
                                      display_name="Dr Doctor",
                                      owner_email="doctor@test.esante.fr")
            other = mailboxes.create(db, admin, kind="personal", local_part="dr.other",
                                     display_name="Dr Other",
                                     owner_email="other_doctor@test.esante.fr")
            msg = delivery.send(db, targets.principal("doctor"), from_mailbox_id=doctor.id,
                                draft=mime.Draft("", [other.address], "Matrice", "Texte",
                                                 attachments=[mime.Attachment(
                                                     "cr.pdf", "application/pdf", b"%PDF-1.4")]))
            copy = db.query(Delivery).filter_by(mailbox_id=other.id,
                                                message_pk=msg.id).one()
            return {"doctor": doctor.id, "other": other.id, "copy": copy.id}
        return dict(targets.once("msg_boxes", make))

    return {"{doctor_box}": lambda: boxes()["doctor"], "{other_copy}": lambda: boxes()["copy"]}
