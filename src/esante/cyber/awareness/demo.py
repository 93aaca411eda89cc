"""Demo awareness campaign: "Tous cybervigilants", published by the cell, with three modules
and their quizzes; a deterministic third of the establishments enrolled with participation
counts, some with a closed phishing simulation (counts only: a closed simulation keeps no
address).

Assumptions (stated so they can be changed): targeted staff 150-4,000 by size; 30-90 % of
them followed each module; 70-95 % of quiz takers passed; simulations: 8-25 % clicked,
5-30 % reported."""

from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.core.db import utcnow
from esante.core.demo import anchor_finess
from esante.core.orgs.models import Establishment
from esante.cyber.awareness.models import (
    AwarenessCampaign,
    AwarenessEnrolment,
    AwarenessModule,
    AwarenessResult,
    PhishingSimulation,
)

TITLE = "Tous cybervigilants — campagne nationale de sensibilisation"
SEED = 2019_11_28
STAFF = {"CHU": (2500, 4000), "CH": (600, 1800), "CLCC": (500, 1200), "CHS": (300, 900),
         "ESPIC": (300, 900)}
MODULES = [
    ("Reconnaître un courriel d'hameçonnage",
     "Expéditeur, urgence, lien survolé, pièce jointe inattendue : les indices, et le réflexe "
     "de signaler.",
     [("Un courriel vous demande de confirmer votre mot de passe sous 24 h :",
       ["je clique sur le lien", "je signale le message au RSSI", "je réponds"], 1),
      ("Avant de cliquer sur un lien, je…",
       ["survole le lien pour voir l'adresse réelle", "fais confiance au logo"], 0)]),
    ("Mots de passe et double authentification",
     "Longueur plutôt que complexité, un mot de passe par service, gestionnaire de mots de "
     "passe, second facteur.",
     [("Le meilleur mot de passe est :", ["court et complexe", "long et unique"], 1)]),
    ("Réagir à un incident",
     "Débrancher le réseau, ne pas éteindre, prévenir le support et le RSSI, noter l'heure.",
     [("Votre poste affiche une demande de rançon :",
       ["je l'éteins", "je débranche le câble réseau et je préviens le support"], 1)]),
]


def seed_campaign(session: Session) -> int:
    """Create the demo campaign once; returns the enrolments created (0 if present)."""
    if session.scalar(select(AwarenessCampaign.id).where(AwarenessCampaign.title == TITLE)):
        return 0
    rng = random.Random(SEED)
    now = utcnow()
    campaign = AwarenessCampaign(title=TITLE, status="published", published_at=now,
                                 description="Campagne nationale : reconnaître l'hameçonnage, "
                                             "protéger ses accès, réagir à un incident.",
                                 starts_on=(now - timedelta(days=60)).date(),
                                 ends_on=(now + timedelta(days=120)).date())
    session.add(campaign)
    session.flush()
    modules = []
    for i, (title, content, quiz) in enumerate(MODULES, start=1):
        module = AwarenessModule(campaign_id=campaign.id, position=i, title=title,
                                 content=content, duration_minutes=15, pass_mark=80,
                                 quiz=[{"question": q, "choices": c, "answer": a}
                                       for q, c, a in quiz])
        session.add(module)
        modules.append(module)
    session.flush()
    anchors = set(anchor_finess())
    enrolled = 0
    for est in session.scalars(select(Establishment).order_by(Establishment.finess)):
        if est.finess not in anchors and rng.random() > 1 / 3:
            continue
        low, high = STAFF.get(est.category, (150, 500))
        enrolment = AwarenessEnrolment(campaign_id=campaign.id, establishment_id=est.id,
                                       finess=est.finess, region_code=est.region_code,
                                       staff_count=rng.randint(low, high))
        session.add(enrolment)
        session.flush()
        _results(session, rng, enrolment, modules)
        enrolled += 1
    session.flush()
    return enrolled


def _results(session: Session, rng: random.Random, enrolment: AwarenessEnrolment,
             modules: list[AwarenessModule]) -> None:
    staff = enrolment.staff_count
    for module in modules:
        participants = int(staff * rng.uniform(0.3, 0.9))
        taken = int(participants * rng.uniform(0.6, 1.0))
        session.add(AwarenessResult(enrolment_id=enrolment.id, module_id=module.id,
                                    participants=max(1, participants), quiz_taken=taken,
                                    quiz_passed=int(taken * rng.uniform(0.7, 0.95))))
    if rng.random() < 0.4:
        recipients = min(staff, rng.randint(50, 400))
        session.add(PhishingSimulation(
            enrolment_id=enrolment.id, finess=enrolment.finess,
            region_code=enrolment.region_code, status="closed",
            subject="Votre boîte aux lettres a atteint sa limite", recipients=recipients,
            clicked=int(recipients * rng.uniform(0.08, 0.25)),
            reported=int(recipients * rng.uniform(0.05, 0.3)), closed_at=utcnow()))
