"""Who may do what in a citizen space, as rules of the platform's access policy. What a
professional reaches inside the record is the FHIR access layer's decision
(``esante.fhir.access``: care relationship, Consents, break-glass), never this one's."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role
from esante.core.policy import Principal, rule


@rule("space.activate", write=True, label_fr="activer ou refuser son espace santé")
def _activate(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.CITIZEN)


@rule("space.use", write=False, label_fr="consulter son espace santé")
def _use(p: Principal, space: Any) -> bool:
    return space is not None and space.holder_id == p.user.id and space.status == "active"


@rule("space.manage", write=True, label_fr="gérer son espace santé")
def _manage(p: Principal, space: Any) -> bool:
    return space is not None and space.holder_id == p.user.id and space.status == "active"


@rule("space.admin", write=True, label_fr="administrer les espaces santé")
def _admin(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("space.guardian.use", write=False, label_fr="consulter l'espace santé d'un mineur (tuteur)")
def _guardian_use(p: Principal, t: Any) -> bool:
    """``t`` is ``(space, is_active_guardian)``: a guardian of a space that is not closed."""
    space, guardian = t
    return p.has_role(Role.CITIZEN) and bool(guardian) and space is not None \
        and space.status != "closed"


@rule("space.guardian.list", write=False, label_fr="voir les espaces des mineurs dont on est tuteur")
def _guardian_list(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.CITIZEN)


@rule("space.guardian.manage", write=True, label_fr="gérer l'espace santé d'un mineur (tuteur)")
def _guardian_manage(p: Principal, t: Any) -> bool:
    """``t`` is ``(space, is_active_guardian)``: a guardian of a space that is neither
    closed nor refused (a minor's space is often never activated: her guardian manages it)."""
    space, guardian = t
    return p.has_role(Role.CITIZEN) and bool(guardian) and space is not None \
        and space.status not in ("closed", "objected")


@rule("space.shared.use", write=False,
      label_fr="consulter, en lecture seule, le dossier d'un ancien pupille qui l'a permis")
def _shared_use(p: Principal, t: Any) -> bool:
    """``t`` is ``(space, granted)``: the adult holder let this former guardian read."""
    space, granted = t
    return p.has_role(Role.CITIZEN) and bool(granted) and space is not None \
        and space.status == "active"
