"""Who may do what with awareness campaigns.

The national cell writes and publishes campaigns; the security staff of establishments,
the regional agencies and the cell read published ones. An establishment's security officer
or director enrols it and records participation (counts); only its security officer runs a
phishing simulation (they hold the staff list). Participation is read by the establishment,
its region and the cell; the national view by the cell."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, covers, rule
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell, officer_of_region, staff_of

BOARD = (*ESTABLISHMENT_STAFF, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST)


def security_officer_of(p: Principal, finess: str) -> bool:
    return any(g.scope_kind == "establishment" and covers(g, finess=finess)
               for g in p.grants_for(Role.SECURITY_OFFICER))


@rule("cyber.awareness.board", write=False, label_fr="consulter les campagnes de sensibilisation")
def _board(p: Principal, _t: Any) -> bool:
    return p.has_role(*BOARD)


@rule("cyber.awareness.campaign.read", write=False,
      label_fr="consulter une campagne de sensibilisation")
def _campaign_read(p: Principal, campaign: Any) -> bool:
    if in_cell(p):
        return True
    return campaign.status != "draft" and p.has_role(*BOARD)


@rule("cyber.awareness.campaign.manage", write=True,
      label_fr="rédiger et publier les campagnes de sensibilisation")
def _campaign_manage(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.awareness.enrol", write=True,
      label_fr="inscrire son établissement et enregistrer sa participation")
def _enrol(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess)


@rule("cyber.awareness.participation.read", write=False,
      label_fr="consulter la participation d'un établissement")
def _participation(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess) or officer_of_region(p, est.region_code) or in_cell(p)


@rule("cyber.awareness.region.read", write=False,
      label_fr="consulter la participation d'une région")
def _region(p: Principal, region_code: str) -> bool:
    return officer_of_region(p, region_code) or in_cell(p)


@rule("cyber.awareness.nation.read", write=False,
      label_fr="consulter la participation nationale")
def _nation(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.awareness.simulate", write=True,
      label_fr="mener une simulation d'hameçonnage pour son établissement")
def _simulate(p: Principal, est: Any) -> bool:
    return security_officer_of(p, est.finess)
