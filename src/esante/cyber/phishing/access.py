"""Who may report a message and who reads a report.

Anyone who works in an establishment (any role scoped to it: professional, security
officer, director, identity desks) reports a suspicious message for it. A report is read by
its reporter, by the establishment's security officer and director, and by the national
cell; the security officer (or the cell) publishes indicators from it. Counts are read by
the security staff for their establishment, the agency for its region, the cell for all."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role, ScopeKind
from esante.core.policy import Principal, rule
from esante.cyber.indicators.access import security_officer_of
from esante.cyber.scopes import in_cell, staff_of


def works_at(p: Principal, finess: str) -> bool:
    return any(g.scope_kind == ScopeKind.ESTABLISHMENT and g.scope_ref == finess
               for g in p.grants)


@rule("cyber.phishing.report", write=True,
      label_fr="signaler un message suspect pour son établissement")
def _report(p: Principal, finess: str) -> bool:
    return works_at(p, finess)


@rule("cyber.phishing.list", write=False, label_fr="consulter les signalements d'hameçonnage")
def _list(p: Principal, _t: Any) -> bool:
    return in_cell(p) or any(g.scope_kind == ScopeKind.ESTABLISHMENT for g in p.grants)


@rule("cyber.phishing.read", write=False, label_fr="consulter un signalement d'hameçonnage")
def _read(p: Principal, report: Any) -> bool:
    return p.user.id == report.reporter_id or staff_of(p, report.finess) or in_cell(p)


@rule("cyber.phishing.publish", write=True,
      label_fr="publier des indicateurs tirés d'un signalement (RSSI ou cellule nationale)")
def _publish(p: Principal, report: Any) -> bool:
    return security_officer_of(p, report.finess) or in_cell(p)


@rule("cyber.phishing.counts", write=False,
      label_fr="consulter le nombre de signalements d'hameçonnage")
def _counts(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.SECURITY_OFFICER, Role.DIRECTOR, Role.REGIONAL_OFFICER,
                      Role.CYBER_ANALYST)
