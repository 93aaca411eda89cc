"""Who may do what with identities.

The desk (identity clerks) and the identity-vigilance cell of an establishment search,
create and qualify its local identities, and query the reference directory; only the
vigilance cell decides on duplicates and collisions. Nobody sees another establishment's
local identities: the rules take the establishment's FINESS, never a wider scope. Checking
a NIR's format and key (no personal data) is open to every logged-in account."""

from __future__ import annotations

from typing import Any

from esante.core.accounts.models import Role, ScopeKind
from esante.core.policy import Principal, covers, rule

DESK = (Role.IDENTITY_CLERK, Role.IDENTITY_VIGILANCE)


def of_establishment(p: Principal, finess: str, *roles: Role) -> bool:
    return any(g.scope_kind == ScopeKind.ESTABLISHMENT and covers(g, finess=finess)
               for g in p.grants_for(*roles))


def desk_establishments(p: Principal) -> list[str]:
    """The FINESS of the establishments where the principal works an identity desk."""
    return sorted({g.scope_ref for g in p.grants_for(*DESK)
                   if g.scope_kind == ScopeKind.ESTABLISHMENT})


@rule("identity.ins.check", write=False, label_fr="contrôler un NIR ou un NIA")
def _ins_check(_p: Principal, _t: Any) -> bool:
    return True


@rule("identity.directory.query", write=False,
      label_fr="interroger l'annuaire de référence des identités (INSi)")
def _directory(p: Principal, _t: Any) -> bool:
    return p.has_role(*DESK)


@rule("identity.local.read", write=False,
      label_fr="consulter les identités locales de l'établissement")
def _local_read(p: Principal, finess: str) -> bool:
    return of_establishment(p, finess, *DESK)


@rule("identity.local.write", write=True,
      label_fr="créer ou qualifier une identité locale de l'établissement")
def _local_write(p: Principal, finess: str) -> bool:
    return of_establishment(p, finess, *DESK)


@rule("identity.vigilance", write=True,
      label_fr="traiter les doublons et collisions d'identités de l'établissement")
def _vigilance(p: Principal, finess: str) -> bool:
    return of_establishment(p, finess, Role.IDENTITY_VIGILANCE)


@rule("identity.vigilance.read", write=False,
      label_fr="consulter la file d'identitovigilance de l'établissement")
def _vigilance_read(p: Principal, finess: str) -> bool:
    return of_establishment(p, finess, Role.IDENTITY_VIGILANCE)
