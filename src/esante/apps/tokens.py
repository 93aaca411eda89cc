"""SMART access tokens at the FHIR API: a JWT we signed, checked against its record (so
that revocation and an app's suspension take effect at once), turned into a Principal whose
``smart`` context narrows what the FHIR layer allows."""

from __future__ import annotations

from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session

from esante.apps import keys
from esante.apps import scopes as smart
from esante.apps.models import App, AppGrant, IssuedToken
from esante.core.accounts.models import User
from esante.core.db import utcnow
from esante.core.errors import Unauthenticated
from esante.core.policy import Principal


@dataclass(frozen=True)
class SmartContext:
    client_id: str
    scopes: tuple[smart.ResourceScope, ...]
    patient: str | None

    @property
    def label(self) -> str:
        return f"(app {self.client_id})"

    def allows(self, rtype: str, op: str, patient_fid: str | None) -> bool:
        """Whether a scope covers this interaction on a resource of this patient."""
        for s in self.scopes:
            if not s.covers(rtype, op):
                continue
            if s.context != "patient" or patient_fid is None or patient_fid == self.patient:
                return True
        return False

    def reach(self, op: str) -> list[tuple[str, str | None]]:
        """(resource type or ``*``, the one patient or None) pairs a search may return."""
        return [(s.rtype, self.patient if s.context == "patient" else None)
                for s in self.scopes if op in s.perms]


def _refuse(fr: str, en: str) -> Unauthenticated:
    return Unauthenticated(fr, en, code="invalid_token")


def principal_for(session: Session, raw: str, *, audience: str, issuer: str, ip: str) -> Principal:
    try:
        token = jwt.decode(raw, keys.verification_keyset(session), algorithms=[keys.ALG])
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer}, aud={"essential": True, "value": audience},
            exp={"essential": True}, jti={"essential": True}, leeway=30,
        ).validate(token.claims)
    except (JoseError, ValueError) as exc:
        raise _refuse("jeton d'accès invalide ou expiré", f"invalid or expired access token "
                      f"({type(exc).__name__})") from None
    row = session.scalar(select(IssuedToken).where(
        IssuedToken.jti == str(token.claims["jti"])[:64], IssuedToken.kind == "access"))
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        raise _refuse("jeton d'accès révoqué ou expiré", "access token revoked or expired")
    app = session.get_one(App, row.app_id)
    if app.status != "published":
        raise _refuse("application suspendue : ses jetons ne valent plus",
                      "the app is suspended: its tokens are void")
    if row.grant_id is not None:
        grant = session.get_one(AppGrant, row.grant_id)
        if grant.revoked_at is not None:
            raise _refuse("autorisation retirée par la personne", "grant revoked by its owner")
    user = session.get(User, row.user_id) if row.user_id else None
    if user is None or not user.is_active:
        raise _refuse("compte inactif", "inactive account")
    granted = smart.split(row.scope)
    p = Principal.of(user, token_scopes=smart.fhir_access_scopes(granted), ip=ip)
    p.smart = SmartContext(app.client_id, tuple(smart.resource_scopes(granted)), row.patient_fid)
    return p
