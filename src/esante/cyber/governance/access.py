"""Who reads an establishment's governance page: its security officer and director, the
regional agency of its region, and the national cell."""

from __future__ import annotations

from typing import Any

from esante.core.policy import Principal, rule
from esante.cyber.scopes import in_cell, officer_of_region, staff_of


@rule("cyber.governance.read", write=False,
      label_fr="consulter la page de gouvernance cyber d'un établissement")
def _read(p: Principal, est: Any) -> bool:
    return staff_of(p, est.finess) or officer_of_region(p, est.region_code) or in_cell(p)
