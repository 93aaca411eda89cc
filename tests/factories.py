"""Named personas of the test suite: a citizen, her doctor, another doctor, the security
officers of establishments A (Paris, region 11) and B (Lyon, region 84), a regional
officer of region 11, a national analyst, an administrator and an outsider (an account
with no role). Each has an API token with read and write scopes."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from unittest import mock

import pyotp
from sqlalchemy.orm import Session

from esante.core.accounts import service as accounts
from esante.core.accounts.models import User
from esante.core.audit import Actor
from esante.core.identifiers import finess_key
from esante.core.orgs import service as orgs
from esante.core.orgs.models import Establishment

PASSWORD = "correct-horse-battery-staple-42"


def finess(head: str) -> str:
    return head + finess_key(head)


FINESS_A = finess("75000001")
FINESS_B = finess("69000001")
FINESS_C = finess("13000001")  # region 93, nobody's


@dataclass
class Personas:
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    totp: dict[str, str] = field(default_factory=dict)
    est: dict[str, Establishment] = field(default_factory=dict)

    def auth(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}

    def otp(self, name: str) -> str:
        return pyotp.TOTP(self.totp[name]).now()


SPECS: dict[str, tuple[str, str, str]] = {
    # name: (role, scope kind, scope ref or establishment key)
    "citizen": ("citizen", "self", ""),
    "doctor": ("professional", "establishment", "A"),
    "other_doctor": ("professional", "establishment", "B"),
    "rssi_a": ("security_officer", "establishment", "A"),
    "rssi_b": ("security_officer", "establishment", "B"),
    "director_a": ("director", "establishment", "A"),
    "regional": ("regional_officer", "region", "11"),
    "analyst": ("cyber_analyst", "nation", ""),
    "clerk_a": ("identity_clerk", "establishment", "A"),
    "idv_a": ("identity_vigilance", "establishment", "A"),
    "researcher": ("researcher", "nation", ""),
    "hub_reviewer": ("datahub_reviewer", "nation", ""),
    "ttp": ("trusted_third_party", "nation", ""),
    "publisher": ("app_publisher", "nation", ""),
    "app_reviewer": ("app_reviewer", "nation", ""),
    "admin": ("admin", "nation", ""),
    "outsider": ("", "", ""),
}


@cache
def _password_hash() -> str:
    """PASSWORD's argon2id hash, computed once per run: the personas are made for every
    test, and fifteen hashes (with the policy's strength estimate) cost more than the test."""
    from esante.core.accounts.passwords import hash_password

    return hash_password(PASSWORD)


def make_personas(session: Session) -> Personas:
    with mock.patch.object(accounts, "check_policy", return_value=None), \
            mock.patch.object(accounts, "hash_password", return_value=_password_hash()):
        return _make_personas(session)


def _make_personas(session: Session) -> Personas:
    actor = Actor.system("tests")
    orgs.ensure_regions(session)
    out = Personas()
    for key, fin, dept, name in (("A", FINESS_A, "75", "CHU de Paris-Test"),
                                 ("B", FINESS_B, "69", "CH de Lyon-Test"),
                                 ("C", FINESS_C, "13", "Clinique de Marseille-Test")):
        out.est[key] = orgs.create_establishment(
            session, actor=actor, finess=fin, name=name, category="CH", department=dept,
            town=name.split()[-1])
    for i, (name, (role, kind, ref)) in enumerate(SPECS.items()):
        rpps = None
        if role == "professional":
            rpps = f"100000000{i}"
        user = accounts.create_user(session, actor=actor, email=f"{name}@test.esante.fr",
                                    password=PASSWORD, display_name=name.title(),
                                    rpps=_rpps(rpps))
        if role:
            scope_ref = out.est[ref].finess if ref in out.est else ref
            accounts.grant_role(session, actor=actor, user=user, role=role, scope_kind=kind,
                                scope_ref=scope_ref)
        if role not in ("citizen", ""):
            secret = accounts.start_totp_setup(session, user=user)
            user.totp_confirmed = True
            out.totp[name] = secret
        _, raw = accounts.create_token(session, actor=actor, user=user,
                                       scopes=["read", "write"])
        out.users[name] = user
        out.tokens[name] = raw
    session.flush()
    return out


def _rpps(prefix: str | None) -> str | None:
    from esante.core.identifiers import rpps_key

    if prefix is None:
        return None
    return prefix[:10] + rpps_key(prefix[:10])
