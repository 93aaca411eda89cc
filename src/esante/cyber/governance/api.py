"""JSON route of the governance page (``/api/cyber/governance/{finess}``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter

from esante.cyber.governance import service
from esante.cyber.maturity.api import summary_out
from esante.web.deps import ApiPrincipal, SessionDep

router = APIRouter(prefix="/cyber/governance", tags=["cybervigilance : gouvernance"])


@router.get("/{finess}", summary="Gouvernance cyber d'un établissement : maturité, incidents, "
            "sensibilisation, veille")
def governance(finess: str, p: ApiPrincipal, session: SessionDep) -> dict[str, Any]:
    g = service.governance(session, p, finess[:12])
    return {
        "finess": g.est.finess, "establishment": g.est.name, "generated_at": g.generated_at,
        "maturity": summary_out(g.maturity).model_dump(),
        "incidents": {"last_12_months": g.incidents_last_12_months,
                      "open": [vars(i) for i in g.open_incidents]},
        "campaigns": [vars(c) for c in g.campaigns],
        "advisories": {"total": g.advisories.total, "by_status": g.advisories.by_status,
                       "unresolved": [asdict(a) for a in g.advisories.unresolved]},
    }
