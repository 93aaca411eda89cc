"""Demo data of messaging (``esante demo``, never in production): the test authority and
certificates of the gateway (so that ``esante run`` starts SMTP and IMAP), the personal
mailboxes of the two demo doctors (in their establishments) and a first exchange between
them: a consultation report with its PDF, asking for a read receipt, and the reply."""

from __future__ import annotations

from sqlalchemy.orm import Session

from esante.core import demo
from esante.core.accounts import service as accounts
from esante.core.policy import Principal
from esante.messaging import delivery, mailboxes, mime, tls
from esante.messaging.config import get_mss_settings
from esante.messaging.models import Mailbox

PARIS, LYON = demo.anchor_finess()
DOCTORS = (("dr.bernard", "dr.bernard@demo.esante.fr", "Dr Louis Bernard", "Paris", PARIS),
           ("dr.petit", "dr.petit@demo.esante.fr", "Dr Inès Petit", "Lyon", LYON))


ADMIN = "admin@demo.esante.fr"


def seed(session: Session, *, admin_email: str = ADMIN,
         doctors: tuple[tuple[str, str, str, str, str], ...] = DOCTORS) -> str:
    """``doctors``: (local part, account, name, town, FINESS) of each personal mailbox."""
    cfg = get_mss_settings()
    folder = cfg.resolved_tls_dir
    made_certs = not (folder / "server.crt").exists()
    if made_certs:
        tls.make_all(folder, domain=cfg.domain, clients=[])
    admin = accounts.get_user_by_email(session, admin_email)
    made: list[tuple[Mailbox, Principal]] = []
    for local, owner, name, town, finess in doctors:
        user = accounts.get_user_by_email(session, owner)
        if admin is None or user is None \
                or mailboxes.by_address(session, f"{local}@{cfg.domain}") is not None:
            continue
        made.append((mailboxes.create(session, Principal.of(admin), kind="personal",
                                      local_part=local, display_name=name, owner_email=owner,
                                      profession="Médecin", town=town, finess=finess),
                     Principal.of(user)))
    exchanged = _first_exchange(session, made) if len(made) == 2 else 0
    certs = f"certificats de test créés dans {folder}" if made_certs else \
        "certificats déjà présents"
    return f"Messagerie : {len(made)} boîte(s) créée(s), {exchanged} message(s), {certs}."


def _first_exchange(session: Session, made: list[tuple[Mailbox, Principal]]) -> int:
    """Dr Petit sends Dr Bernard a report (PDF, read receipt asked); he answers."""
    from fpdf import FPDF

    (bernard, as_bernard), (petit, as_petit) = made
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.multi_cell(0, 8, "Compte rendu de consultation de cardiologie - Dr Petit\n"
                         "ECG normal, échographie sans anomalie.")
    first = delivery.send(session, as_petit, from_mailbox_id=petit.id, draft=mime.Draft(
        "", [bernard.address], "Compte rendu de consultation",
        "Bonjour,\n\nVoici le compte rendu de la consultation de votre patient.\n\n"
        "Bien confraternellement,\nDr Inès Petit",
        attachments=[mime.Attachment("compte-rendu.pdf", "application/pdf", bytes(pdf.output()))],
        want_mdn=True))
    delivery.send(session, as_bernard, from_mailbox_id=bernard.id, draft=mime.Draft(
        "", [petit.address], "Re: Compte rendu de consultation",
        "Merci, je le revois en consultation le mois prochain.\n\nDr Louis Bernard",
        in_reply_to=first.message_id))
    return 2
