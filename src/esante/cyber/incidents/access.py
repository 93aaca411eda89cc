"""Who may do what with security profiles and incidents.

An establishment's security officer and director declare and follow its incidents; the
regional agency sees (and annotates) those of its region; the national cell (analysts)
sees and handles all of them. The platform administrator is not part of incident handling."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, covers, rule

ESTABLISHMENT_STAFF = (Role.SECURITY_OFFICER, Role.DIRECTOR)


def _of_establishment(p: Principal, t: Any) -> bool:
    return any(covers(g, finess=t.finess) and g.scope_kind == "establishment"
               for g in p.grants_for(*ESTABLISHMENT_STAFF))


def _of_region(p: Principal, t: Any) -> bool:
    return any(covers(g, region=t.region_code) for g in p.grants_for(Role.REGIONAL_OFFICER))


def _cell(p: Principal) -> bool:
    return p.has_role(Role.CYBER_ANALYST)


@rule("cyber.profile.read", write=False, label_fr="consulter le profil de sécurité")
def _profile_read(p: Principal, est: Any) -> bool:
    return _of_establishment(p, est) or _of_region(p, est) or _cell(p)


@rule("cyber.profile.update", write=True, label_fr="modifier le profil de sécurité")
def _profile_update(p: Principal, est: Any) -> bool:
    return _of_establishment(p, est)


@rule("cyber.incident.declare", write=True, label_fr="déclarer un incident")
def _declare(p: Principal, est: Any) -> bool:
    return _of_establishment(p, est)


@rule("cyber.incident.read", write=False, label_fr="consulter un incident")
def _read(p: Principal, incident: Any) -> bool:
    return _of_establishment(p, incident) or _of_region(p, incident) or _cell(p)


@rule("cyber.incident.edit", write=True, label_fr="compléter un incident de son établissement")
def _edit(p: Principal, incident: Any) -> bool:
    return _of_establishment(p, incident)


@rule("cyber.incident.triage", write=True, label_fr="traiter un incident (cellule nationale)")
def _triage(p: Principal, _t: Any) -> bool:
    return _cell(p)


@rule("cyber.incident.note", write=True, label_fr="annoter un incident")
def _note(p: Principal, incident: Any) -> bool:
    return _of_region(p, incident) or _cell(p)


@rule("cyber.incident.queue", write=False, label_fr="voir la file des incidents")
def _queue(p: Principal, _t: Any) -> bool:
    return _cell(p) or p.has_role(Role.REGIONAL_OFFICER, *ESTABLISHMENT_STAFF)
