"""Who may see which dashboard.

The national cell (analysts) sees every dashboard; a regional officer sees the dashboard of
their region and of its establishments; an establishment's security officer and director see
their establishment's. The platform administrator is not part of incident handling and sees
none of them."""

from __future__ import annotations

from typing import Any

from esante.core.policy import Principal, rule
from esante.cyber.scopes import in_cell, officer_of_region, staff_of


@rule("cyber.dashboard.national", write=False,
      label_fr="consulter le tableau de bord national de cybervigilance")
def _national(p: Principal, _t: Any) -> bool:
    return in_cell(p)


@rule("cyber.dashboard.region", write=False,
      label_fr="consulter le tableau de bord régional de cybervigilance")
def _region(p: Principal, region: Any) -> bool:
    return in_cell(p) or officer_of_region(p, region.code)


@rule("cyber.dashboard.establishment", write=False,
      label_fr="consulter le tableau de bord de cybervigilance d'un établissement")
def _establishment(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess) or officer_of_region(p, est.region_code) or in_cell(p)
