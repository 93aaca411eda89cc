"""Who may see which dashboard.

The national cell (analysts) sees every dashboard; a regional officer sees the dashboard of
their region and of its establishments; an establishment's security officer and director see
their establishment's. The platform administrator is not part of incident handling and sees
none of them."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role, ScopeKind
from esante.core.policy import Principal, covers, rule

ESTABLISHMENT_STAFF = (Role.SECURITY_OFFICER, Role.DIRECTOR)


def _cell(p: Principal) -> bool:
    return p.has_role(Role.CYBER_ANALYST)


def _of_region(p: Principal, region_code: str) -> bool:
    return any(covers(g, region=region_code) for g in p.grants_for(Role.REGIONAL_OFFICER))


@rule("cyber.dashboard.national", write=False,
      label_fr="consulter le tableau de bord national de cybervigilance")
def _national(p: Principal, _t: Any) -> bool:
    return _cell(p)


@rule("cyber.dashboard.region", write=False,
      label_fr="consulter le tableau de bord régional de cybervigilance")
def _region(p: Principal, region: Any) -> bool:
    return _cell(p) or _of_region(p, region.code)


@rule("cyber.dashboard.establishment", write=False,
      label_fr="consulter le tableau de bord de cybervigilance d'un établissement")
def _establishment(p: Principal, est: Any) -> bool:
    staff = any(g.scope_kind == ScopeKind.ESTABLISHMENT and covers(g, finess=est.finess)
                for g in p.grants_for(*ESTABLISHMENT_STAFF))
    return staff or _of_region(p, est.region_code) or _cell(p)
