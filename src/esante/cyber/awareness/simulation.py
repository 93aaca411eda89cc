"""Phishing simulation: the establishment's security officer gives a staff address list; the
platform sends each person a harmless test message through its outbound mail (the outbox
the worker delivers), with a link carrying a per-recipient token; following the link lands
on a page that explains it was a test, and counts a click. A staff member who reports the
message (the security officer passes on the reported .eml) counts a report.

Addresses are kept encrypted, only while the simulation runs: closing it deletes them and
the queued or sent mails, and keeps only the counts. Tokens are stored as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import re
import secrets
from email import message_from_string
from email import policy as email_policy

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from esante.core import audit, policy
from esante.core.audit import Actor
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import Conflict, Invalid, NotFound
from esante.core.notifications.models import OutboundMail
from esante.core.orgs.models import Establishment
from esante.core.policy import Principal
from esante.core.settings import Settings, get_settings
from esante.cyber.awareness.models import (
    AwarenessEnrolment,
    PhishingSimulation,
    SimulationRecipient,
)
from esante.cyber.awareness.service import establishment_of

PURPOSE = "cyber.awareness.recipients"
LANDING = "/cyber/sensibilisation/test/"
TOKEN_RE = re.compile(re.escape(LANDING) + r"([A-Za-z0-9_-]{20,64})")
MAX_RECIPIENTS = 5000

BODY = """Bonjour,

Votre boîte de messagerie a atteint sa limite de stockage. Pour éviter la suspension de
votre compte, confirmez votre identifiant dans les 24 heures :

{link}

Le service informatique
"""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def clean_recipients(raw: list[str]) -> list[str]:
    """Normalised, de-duplicated addresses; a precise error on the first bad one."""
    seen: dict[str, None] = {}
    for n, line in enumerate(raw, start=1):
        value = line.strip()
        if not value:
            continue
        try:
            address = validate_email(value[:254], check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise Invalid(f"adresse n° {n} invalide : {exc}", f"address {n} is invalid",
                          code="address", line=n) from None
        seen[address.lower()] = None
    if not seen:
        raise Invalid("la liste ne contient aucune adresse", "no address given",
                      code="no-address")
    if len(seen) > MAX_RECIPIENTS:
        raise Invalid(f"au plus {MAX_RECIPIENTS} adresses par simulation",
                      "too many addresses", code="too-many")
    return list(seen)


def start(session: Session, p: Principal, enrolment: AwarenessEnrolment, *,
          recipients: list[str], subject: str,
          settings: Settings | None = None) -> PhishingSimulation:
    settings = settings or get_settings()
    est = establishment_of(session, enrolment)
    policy.authorize(p, "cyber.awareness.simulate", est)
    addresses = clean_recipients(recipients)
    if not settings.smtp_host:
        raise Invalid("aucun relais de messagerie sortante n'est configuré "
                      "(ESANTE_SMTP_HOST) : la simulation ne peut pas être envoyée",
                      "no outbound mail relay configured", code="no-relay")
    if session.scalar(select(PhishingSimulation.id).where(
            PhishingSimulation.enrolment_id == enrolment.id,
            PhishingSimulation.status == "running")):
        raise Conflict("une simulation est déjà en cours pour cet établissement : "
                       "clôturez-la d'abord", "a simulation is already running",
                       code="running")
    sim = PhishingSimulation(enrolment_id=enrolment.id, finess=est.finess,
                             region_code=est.region_code, status="running",
                             subject=subject.strip(), created_by=p.user.id,
                             recipients=len(addresses))
    session.add(sim)
    session.flush()
    vault = Vault(session)
    for address in addresses:
        token = secrets.token_urlsafe(24)
        mail = OutboundMail(to_addr=address, subject=sim.subject[:200], body=BODY.format(
            link=f"{settings.base_url.rstrip('/')}{LANDING}{token}"))
        session.add(mail)
        session.flush()
        session.add(SimulationRecipient(
            simulation_id=sim.id, token_hash=token_hash(token), mail_id=mail.id,
            email=vault.encrypt_text(address, purpose=PURPOSE, context=f"simulation:{sim.id}")))
    audit.record(session, actor=p.actor, action="cyber.awareness.simulation.start",
                 object_type="phishing_simulation", object_id=sim.id,
                 details={"finess": est.finess, "recipients": len(addresses)})
    session.flush()
    return sim


def get(session: Session, p: Principal, simulation_id: int) -> PhishingSimulation:
    sim = session.get(PhishingSimulation, simulation_id)
    est = session.get(Establishment, _est_id(session, sim)) if sim else None
    if sim is None or est is None or not policy.can(
            p, "cyber.awareness.participation.read", est):
        raise NotFound("simulation introuvable", "simulation not found")
    return sim


def _est_id(session: Session, sim: PhishingSimulation | None) -> int | None:
    if sim is None:
        return None
    enrolment = session.get(AwarenessEnrolment, sim.enrolment_id)
    return enrolment.establishment_id if enrolment else None


def click(session: Session, token: str, *, ip: str = "") -> bool:
    """Count the first click of a recipient; False for an unknown or closed token (the
    landing page is the same either way)."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{20,64}", token or ""):
        return False
    row = session.scalar(select(SimulationRecipient).where(
        SimulationRecipient.token_hash == token_hash(token)))
    if row is None:
        return False
    if row.clicked_at is None:
        row.clicked_at = utcnow()
        sim = session.get(PhishingSimulation, row.simulation_id)
        assert sim is not None
        sim.clicked += 1
        audit.record(session, actor=Actor(user_id=None, label="destinataire d'une simulation",
                                          ip=ip), action="cyber.awareness.simulation.click",
                     object_type="phishing_simulation", object_id=sim.id)
    session.flush()
    return True


def tokens_in_message(raw: str) -> list[str]:
    """The simulation tokens a reported message carries (in its text or HTML parts)."""
    try:
        msg = message_from_string(raw, policy=email_policy.default)
    except (ValueError, TypeError):
        raise Invalid("le message signalé n'est pas un courriel lisible (.eml)",
                      "not a readable e-mail message", code="eml") from None
    if not msg.keys():
        raise Invalid("le message signalé n'est pas un courriel (aucun en-tête)",
                      "not an e-mail message (no headers)", code="eml")
    texts = [raw]
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            try:
                texts.append(str(part.get_content()))
            except (LookupError, ValueError):
                continue
    return sorted({t for text in texts for t in TOKEN_RE.findall(text)})


def report(session: Session, p: Principal, sim: PhishingSimulation, raw: str) -> bool:
    """Count the report of the test message a staff member forwarded (first one only).
    Returns whether the message was this simulation's."""
    policy.authorize(p, "cyber.awareness.simulate", _est(session, sim))
    if sim.status != "running":
        raise Conflict("la simulation est close", "simulation closed", code="closed")
    tokens = tokens_in_message(raw)
    if not tokens:
        raise Invalid("ce message ne vient pas d'une simulation (aucun lien de test trouvé)",
                      "no simulation link in this message", code="not-simulation")
    rows = list(session.scalars(select(SimulationRecipient).where(
        SimulationRecipient.simulation_id == sim.id,
        SimulationRecipient.token_hash.in_([token_hash(t) for t in tokens]))))
    if not rows:
        raise Invalid("ce message appartient à une autre simulation",
                      "message from another simulation", code="other-simulation")
    counted = False
    for row in rows:
        if row.reported_at is None:
            row.reported_at = utcnow()
            sim.reported += 1
            counted = True
    audit.record(session, actor=p.actor, action="cyber.awareness.simulation.report",
                 object_type="phishing_simulation", object_id=sim.id)
    session.flush()
    return counted


def _est(session: Session, sim: PhishingSimulation) -> Establishment:
    est = session.get(Establishment, _est_id(session, sim))
    assert est is not None
    return est


def close(session: Session, p: Principal, sim: PhishingSimulation) -> PhishingSimulation:
    """End the simulation: delete the addresses and the mails, keep the counts."""
    policy.authorize(p, "cyber.awareness.simulate", _est(session, sim))
    if sim.status == "closed":
        return sim
    mail_ids = [m for m in session.scalars(select(SimulationRecipient.mail_id).where(
        SimulationRecipient.simulation_id == sim.id)) if m is not None]
    session.execute(delete(SimulationRecipient).where(
        SimulationRecipient.simulation_id == sim.id))
    if mail_ids:
        session.execute(delete(OutboundMail).where(OutboundMail.id.in_(mail_ids)))
    sim.status, sim.closed_at = "closed", utcnow()
    audit.record(session, actor=p.actor, action="cyber.awareness.simulation.close",
                 object_type="phishing_simulation", object_id=sim.id,
                 details={"recipients": sim.recipients, "clicked": sim.clicked,
                          "reported": sim.reported})
    session.flush()
    return sim


def simulations_of(session: Session, enrolment: AwarenessEnrolment) -> list[PhishingSimulation]:
    return list(session.scalars(select(PhishingSimulation).where(
        PhishingSimulation.enrolment_id == enrolment.id).order_by(PhishingSimulation.id.desc())))
