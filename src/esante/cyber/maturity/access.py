"""Who may do what with the maturity self-assessment.

The establishment's security officer and director answer it and read everything; the
regional agency reads the scores of its region's establishments (not the answers); the
national cell reads everything; nobody else. Peers' figures reach an establishment only as
a median (see ``scoring.peer_median``)."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell, officer_of_region, staff_of


@rule("cyber.maturity.assess", write=True,
      label_fr="remplir l'auto-évaluation de maturité de son établissement")
def _assess(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess)


@rule("cyber.maturity.scores.read", write=False,
      label_fr="consulter les scores de maturité d'un établissement")
def _scores(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess) or officer_of_region(p, est.region_code) or in_cell(p)


@rule("cyber.maturity.answers.read", write=False,
      label_fr="consulter les réponses détaillées d'une auto-évaluation")
def _answers(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess) or in_cell(p)


@rule("cyber.maturity.region.read", write=False,
      label_fr="consulter la maturité des établissements d'une région")
def _region(p: Principal, region_code: str) -> bool:
    return officer_of_region(p, region_code) or in_cell(p)


@rule("cyber.maturity.board", write=False, label_fr="consulter l'auto-évaluation de maturité")
def _board(p: Principal, _t: Any) -> bool:
    return p.has_role(*ESTABLISHMENT_STAFF, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST)


@rule("cyber.maturity.catalogue", write=False,
      label_fr="consulter le questionnaire de maturité (guide public de l'ANSSI)")
def _catalogue(_p: Principal, _t: Any) -> bool:
    return True  # the guide is public; signing in is still required
