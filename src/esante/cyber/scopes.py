"""Who stands where in cyber-vigilance, for every cyber domain's access rules: an
establishment's security staff, a region's agency officers, the national cell."""

from __future__ import annotations

from esante.core.accounts.models import Role, ScopeKind
from esante.core.policy import Principal, covers

ESTABLISHMENT_STAFF = (Role.SECURITY_OFFICER, Role.DIRECTOR)


def in_cell(p: Principal) -> bool:
    """A national cyber cell analyst."""
    return p.has_role(Role.CYBER_ANALYST)


def staff_of(p: Principal, finess: str) -> bool:
    """The security officer or director of this establishment (not a wider scope)."""
    return any(g.scope_kind == ScopeKind.ESTABLISHMENT and covers(g, finess=finess)
               for g in p.grants_for(*ESTABLISHMENT_STAFF))


def officer_of_region(p: Principal, region_code: str) -> bool:
    """An agency officer of this region."""
    return any(covers(g, region=region_code) for g in p.grants_for(Role.REGIONAL_OFFICER))
