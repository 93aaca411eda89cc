"""The access policy: who may do what on which object. Every route asks it by name.

A *principal* is a user with scoped roles, acting through a browser session or an API
token (whose scopes can only narrow what the user may do). A *permission* names an
action; its rule receives the principal and the target object, if any, and says yes or no.
Domains register their own permissions with ``rule``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from esante.core.accounts.models import Role, ScopeKind, User
from esante.core.audit import Actor
from esante.core.errors import Forbidden


@dataclass(frozen=True)
class Grant:
    role: str
    scope_kind: str
    scope_ref: str


@dataclass
class Principal:
    user: User
    grants: tuple[Grant, ...]
    token_scopes: frozenset[str] | None = None  # None: a browser session, full rights
    ip: str = ""
    _cache: dict[str, Any] = field(default_factory=dict)
    # A SMART on FHIR access token's context (esante.apps.tokens.SmartContext): its scopes
    # narrow what the FHIR API allows, and patient/ scopes hold to the launch patient.
    smart: Any = None

    @classmethod
    def of(cls, user: User, *, token_scopes: list[str] | None = None, ip: str = "") -> Principal:
        grants = tuple(Grant(r.role, r.scope_kind, r.scope_ref) for r in user.roles)
        return cls(user=user, grants=grants,
                   token_scopes=frozenset(token_scopes) if token_scopes is not None else None,
                   ip=ip)

    @property
    def actor(self) -> Actor:
        label = self.user.email if self.smart is None else f"{self.user.email} {self.smart.label}"
        return Actor(user_id=self.user.id, label=label, ip=self.ip)

    def has_role(self, *roles: Role | str) -> bool:
        wanted = {str(r) for r in roles}  # a Role is a StrEnum: str() is its value
        return any(g.role in wanted for g in self.grants)

    def grants_for(self, *roles: Role) -> list[Grant]:
        wanted = {r.value for r in roles}
        return [g for g in self.grants if g.role in wanted]


class Establishmentish:
    """What a rule needs to know of an establishment (duck-typed)."""

    finess: str
    region_code: str


def covers(grant: Grant, *, finess: str | None = None, region: str | None = None) -> bool:
    """Whether a grant's scope reaches an establishment (finess + region) or a region."""
    if grant.scope_kind == ScopeKind.NATION:
        return True
    if grant.scope_kind == ScopeKind.REGION:
        return region is not None and grant.scope_ref == region
    if grant.scope_kind == ScopeKind.ESTABLISHMENT:
        return finess is not None and grant.scope_ref == finess
    return False


Rule = Callable[[Principal, Any], bool]


@dataclass(frozen=True)
class Permission:
    name: str
    write: bool
    check: Rule
    label_fr: str


_REGISTRY: dict[str, Permission] = {}


def rule(name: str, *, write: bool, label_fr: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        if name in _REGISTRY:
            raise RuntimeError(f"permission {name} registered twice")
        _REGISTRY[name] = Permission(name, write, fn, label_fr)
        return fn

    return register


def permissions() -> dict[str, Permission]:
    return dict(_REGISTRY)


def can(principal: Principal | None, permission: str, target: Any = None) -> bool:
    perm = _REGISTRY[permission]  # unknown names are programming errors: KeyError
    if principal is None or not principal.user.is_active:
        return False
    if principal.token_scopes is not None:
        needed = "write" if perm.write else "read"
        if needed not in principal.token_scopes:
            return False
    return perm.check(principal, target)


def authorize(principal: Principal | None, permission: str, target: Any = None) -> None:
    if not can(principal, permission, target):
        label = _REGISTRY[permission].label_fr
        raise Forbidden(f"accès refusé : {label}", f"access denied: {permission}",
                        code="forbidden", permission=permission)


# --- the foundation's own permissions ---------------------------------------------------

ANY_STAFF = (Role.SECURITY_OFFICER, Role.DIRECTOR, Role.REGIONAL_OFFICER, Role.CYBER_ANALYST,
             Role.ADMIN)


@rule("organisation.read", write=False, label_fr="consulter l'annuaire des organisations")
def _org_read(p: Principal, _t: Any) -> bool:
    return True  # the FINESS directory is public information; login is still required


@rule("organisation.create", write=True, label_fr="créer un établissement")
def _org_create(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("establishment.update", write=True, label_fr="modifier la fiche de l'établissement")
def _est_update(p: Principal, est: Establishmentish) -> bool:
    return p.has_role(Role.ADMIN) or any(
        covers(g, finess=est.finess) for g in p.grants_for(Role.DIRECTOR))


@rule("establishment.staff.read", write=False,
      label_fr="voir les responsables d'un établissement")
def _est_staff(p: Principal, est: Establishmentish) -> bool:
    return any(covers(g, finess=est.finess, region=est.region_code)
               for g in p.grants_for(*ANY_STAFF))


@rule("user.manage", write=True, label_fr="gérer les comptes")
def _user_manage(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("user.list", write=False, label_fr="consulter la liste des comptes")
def _user_list(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("user.read", write=False, label_fr="consulter un compte")
def _user_read(p: Principal, user: User) -> bool:
    return p.user.id == user.id or p.has_role(Role.ADMIN)


@rule("audit.read", write=False, label_fr="consulter la piste d'audit de la plateforme")
def _audit_read(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN)


@rule("notification.send", write=True, label_fr="envoyer une notification")
def _notify(p: Principal, _t: Any) -> bool:
    return p.has_role(Role.ADMIN, Role.CYBER_ANALYST)


@rule("self.manage", write=True, label_fr="gérer son propre compte")
def _self_manage(p: Principal, _t: Any) -> bool:
    return True


@rule("self.read", write=False, label_fr="consulter son propre compte")
def _self_read(p: Principal, _t: Any) -> bool:
    return True
