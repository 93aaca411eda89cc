"""Who may do what with security profiles and incidents.

An establishment's security officer and director declare and follow its incidents; the
regional agency sees (and annotates) those of its region; the national cell (analysts)
sees and handles all of them. The platform administrator is not part of incident handling."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell, officer_of_region, staff_of


@rule("cyber.profile.read", write=False, label_fr="consulter le profil de sécurité")
def _profile_read(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess) or officer_of_region(p, est.region_code) or in_cell(p)


@rule("cyber.profile.update", write=True, label_fr="modifier le profil de sécurité")
def _profile_update(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess)


@rule("cyber.incident.declare", write=True, label_fr="déclarer un incident")
def _declare(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess)


@rule("cyber.incident.read", write=False, label_fr="consulter un incident")
def _read(p: Principal, incident: Any) -> bool:
    return staff_of(p, incident.finess) or officer_of_region(p, incident.region_code) or in_cell(p)


@rule("cyber.incident.edit", write=True, label_fr="compléter un incident de son établissement")
def _edit(p: Principal, incident: Any) -> bool:
    return staff_of(p, incident.finess)


@rule("cyber.incident.triage", write=True, label_fr="traiter un incident (cellule nationale)")
def _triage(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.incident.note", write=True, label_fr="annoter un incident")
def _note(p: Principal, incident: Any) -> bool:
    return officer_of_region(p, incident.region_code) or in_cell(p)


@rule("cyber.incident.queue", write=False, label_fr="voir la file des incidents")
def _queue(p: Principal, _t: Any) -> bool:
    return in_cell(p) or p.has_role(Role.REGIONAL_OFFICER, *ESTABLISHMENT_STAFF)
