"""Demo data of messaging (``esante demo``, never in production): the test authority and
certificates of the gateway (so that ``esante run`` starts SMTP and IMAP), and the personal
mailboxes of the two demo doctors."""

from __future__ import annotations

from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.policy import Principal
from esante.messaging import mailboxes, tls
from esante.messaging.config import get_mss_settings

DOCTORS = (("dr.bernard", "dr.bernard@demo.esante.fr", "Dr Louis Bernard", "Paris"),
           ("dr.petit", "dr.petit@demo.esante.fr", "Dr Inès Petit", "Lyon"))


ADMIN = "admin@demo.esante.fr"


def seed(session: Session, *, admin_email: str = ADMIN,
         doctors: tuple[tuple[str, str, str, str], ...] = DOCTORS) -> str:
    cfg = get_mss_settings()
    folder = cfg.resolved_tls_dir
    made_certs = not (folder / "server.crt").exists()
    if made_certs:
        tls.make_all(folder, domain=cfg.domain, clients=[])
    admin = accounts.get_user_by_email(session, admin_email)
    made = 0
    for local, owner, name, town in doctors:
        if admin is None or accounts.get_user_by_email(session, owner) is None \
                or mailboxes.by_address(session, f"{local}@{cfg.domain}") is not None:
            continue
        mailboxes.create(session, Principal.of(admin), kind="personal", local_part=local,
                         display_name=name, owner_email=owner, profession="Médecin",
                         town=town)
        made += 1
    certs = f"certificats de test créés dans {folder}" if made_certs else \
        "certificats déjà présents"
    return f"Messagerie : {made} boîte(s) créée(s), {certs}."
