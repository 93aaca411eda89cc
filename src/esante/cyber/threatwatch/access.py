"""Who may do what in the threat watch.

An establishment's security officer and director keep its inventory and follow up its
alerts; the regional agency reads the inventories and alerts of its region's
establishments; the national cell publishes advisories, reads everything and sees the
national patch progress. An advisory is read according to its TLP: CLEAR and GREEN by the
whole cyber community (establishments' security staff, agencies, cell); AMBER by the cell,
the establishments it alerts and their regional agencies; AMBER+STRICT and RED by the cell
and the alerted establishments only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule
from esante.cyber.scopes import ESTABLISHMENT_STAFF, in_cell, officer_of_region, staff_of

COMMUNITY = (*ESTABLISHMENT_STAFF, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST)
TLPS = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")


@dataclass(frozen=True)
class Reach:
    """An advisory with where its alerts went (the TLP rule reads both)."""

    advisory: Any
    finesses: frozenset[str]
    regions: frozenset[str]


def may_read_advisory(p: Principal, reach: Reach) -> bool:
    if in_cell(p):
        return True
    tlp = reach.advisory.tlp
    if tlp in ("CLEAR", "GREEN"):
        return p.has_role(*COMMUNITY)
    if any(staff_of(p, f) for f in reach.finesses):
        return True
    return tlp == "AMBER" and any(officer_of_region(p, r) for r in reach.regions)


@rule("cyber.tw.watch", write=False, label_fr="consulter la veille des vulnérabilités")
def _watch(p: Principal, _t: Any) -> bool:
    return p.has_role(*COMMUNITY)


@rule("cyber.tw.advisory.read", write=False, label_fr="consulter un avis de sécurité")
def _advisory_read(p: Principal, reach: Reach) -> bool:
    return may_read_advisory(p, reach)


@rule("cyber.tw.advisory.publish", write=True,
      label_fr="publier ou importer un avis de sécurité (cellule nationale)")
def _publish(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.tw.progress.read", write=False,
      label_fr="suivre l'avancement national des correctifs (cellule nationale)")
def _progress(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.tw.inventory.read", write=False, label_fr="consulter l'inventaire d'un établissement")
def _inventory_read(p: Principal, est: Any) -> bool:
    return in_cell(p) or staff_of(p, est.finess) or officer_of_region(p, est.region_code)


@rule("cyber.tw.inventory.write", write=True,
      label_fr="tenir l'inventaire de son établissement")
def _inventory_write(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess)


@rule("cyber.tw.alert.read", write=False, label_fr="consulter une alerte de vulnérabilité")
def _alert_read(p: Principal, alert: Any) -> bool:
    return in_cell(p) or staff_of(p, alert.finess) or officer_of_region(p, alert.region_code)


@rule("cyber.tw.alert.update", write=True,
      label_fr="suivre une alerte de son établissement (prise en compte, correctif…)")
def _alert_update(p: Principal, alert: Any) -> bool:
    return staff_of(p, alert.finess)
