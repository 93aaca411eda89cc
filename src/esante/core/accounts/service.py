"""Account rules: creation, roles, login with second factor, lockout, tokens, sessions.

Plain keyword-only functions taking a session and an actor; they flush, never commit.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import pyotp
from cryptography.exceptions import InvalidTag
from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session, joinedload

from esante.core import audit
from esante.core.accounts.models import (
    ApiToken,
    LoginAttempt,
    RecoveryCode,
    Role,
    RoleAssignment,
    ScopeKind,
    User,
    WebSession,
)
from esante.core.accounts.passwords import (
    check_policy,
    hash_password,
    needs_rehash,
    verify_password,
)
from esante.core.audit import Actor
from esante.core.crypto import Vault
from esante.core.db import utcnow
from esante.core.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from esante.core.identifiers import validate_rpps
from esante.core.settings import get_settings

TOKEN_PREFIX = "esk_"  # noqa: S105 - a public prefix, not a secret
TOKEN_SCOPES = ("read", "write")
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{2,}$")

# Which scope each role takes: a role outside its kind is refused.
ROLE_SCOPES: dict[Role, tuple[ScopeKind, ...]] = {
    Role.CITIZEN: (ScopeKind.SELF,),
    Role.PROFESSIONAL: (ScopeKind.ESTABLISHMENT, ScopeKind.NATION),
    Role.SECURITY_OFFICER: (ScopeKind.ESTABLISHMENT,),
    Role.DIRECTOR: (ScopeKind.ESTABLISHMENT,),
    Role.REGIONAL_OFFICER: (ScopeKind.REGION,),
    Role.CYBER_ANALYST: (ScopeKind.NATION,),
    Role.IDENTITY_CLERK: (ScopeKind.ESTABLISHMENT,),
    Role.IDENTITY_VIGILANCE: (ScopeKind.ESTABLISHMENT,),
    Role.RESEARCHER: (ScopeKind.NATION,),
    Role.DATAHUB_REVIEWER: (ScopeKind.NATION,),
    Role.TRUSTED_THIRD_PARTY: (ScopeKind.NATION,),
    Role.APP_PUBLISHER: (ScopeKind.NATION,),
    Role.APP_REVIEWER: (ScopeKind.NATION,),
    Role.ADMIN: (ScopeKind.NATION,),
}

ROLE_LABELS_FR: dict[str, str] = {
    "citizen": "Usager",
    "professional": "Professionnel de santé",
    "security_officer": "Responsable de la sécurité (RSSI)",
    "director": "Directeur d'établissement",
    "regional_officer": "Agent de l'ARS",
    "cyber_analyst": "Analyste de la cellule nationale cyber",
    "identity_clerk": "Agent d'accueil (identités)",
    "identity_vigilance": "Cellule d'identitovigilance",
    "researcher": "Chercheur",
    "datahub_reviewer": "Évaluateur de l'entrepôt de données",
    "trusted_third_party": "Tiers de confiance (pseudonymisation)",
    "app_publisher": "Éditeur d'application",
    "app_reviewer": "Évaluateur du référencement",
    "admin": "Administrateur de la plateforme",
}


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL_RE.match(email):
        raise Invalid("adresse électronique invalide", "invalid e-mail address", code="email")
    return email


def needs_second_factor(user: User) -> bool:
    """Every role but citizen must use TOTP; a citizen who set it up uses it too."""
    return user.totp_confirmed or any(r.role != Role.CITIZEN for r in user.roles)


# --- users and roles -------------------------------------------------------------------

def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == email.strip().lower()))


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("compte introuvable", "account not found")
    return user


def create_user(
    session: Session,
    *,
    actor: Actor,
    email: str,
    password: str,
    display_name: str,
    rpps: str | None = None,
) -> User:
    email = normalise_email(email)
    if len(display_name.strip()) == 0 or len(display_name) > 200:
        raise Invalid("nom affiché requis (200 caractères au plus)", "display name required")
    check_policy(password, user_inputs=[email, display_name], session=session)
    if rpps is not None:
        rpps = validate_rpps(rpps)
    if get_user_by_email(session, email):
        raise Conflict("un compte existe déjà avec cette adresse",
                       "an account already exists with this e-mail", code="email-taken")
    user = User(email=email, display_name=display_name.strip(), rpps=rpps,
                password_hash=hash_password(password))
    session.add(user)
    session.flush()
    audit.record(session, actor=actor, action="user.create", object_type="user",
                 object_id=user.id, subject_user_id=user.id)
    return user


def grant_role(
    session: Session, *, actor: Actor, user: User, role: str, scope_kind: str, scope_ref: str = ""
) -> RoleAssignment:
    from esante.core.orgs import service as orgs  # orgs depends on nothing here

    try:
        role_ = Role(role)
        kind = ScopeKind(scope_kind)
    except ValueError:
        raise Invalid(f"rôle ou portée inconnus : {role}/{scope_kind}",
                      f"unknown role or scope: {role}/{scope_kind}", code="role") from None
    if kind not in ROLE_SCOPES[role_]:
        allowed = ", ".join(k.value for k in ROLE_SCOPES[role_])
        raise Invalid(f"le rôle {role} prend une portée parmi : {allowed}",
                      f"role {role} takes a scope among: {allowed}", code="role-scope")
    if kind == ScopeKind.ESTABLISHMENT:
        scope_ref = orgs.get_establishment(session, scope_ref).finess
    elif kind == ScopeKind.REGION:
        scope_ref = orgs.get_region(session, scope_ref).code
    else:
        scope_ref = ""
    existing = session.scalar(select(RoleAssignment).where(
        RoleAssignment.user_id == user.id, RoleAssignment.role == role_.value,
        RoleAssignment.scope_kind == kind.value, RoleAssignment.scope_ref == scope_ref))
    if existing:
        return existing
    grant = RoleAssignment(user_id=user.id, role=role_.value, scope_kind=kind.value,
                           scope_ref=scope_ref)
    # Appended only (the cascade adds it): adding it first would let the collection's lazy
    # load autoflush it, and the append would then list it twice.
    user.roles.append(grant)
    session.flush()
    audit.record(session, actor=actor, action="user.role.grant", object_type="user",
                 object_id=user.id, subject_user_id=user.id,
                 details={"role": role_.value, "scope": f"{kind.value}:{scope_ref}"})
    return grant


def change_password(session: Session, *, actor: Actor, user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise Invalid("mot de passe actuel incorrect", "current password is wrong",
                      code="password-wrong")
    check_policy(new, user_inputs=[user.email, user.display_name], session=session)
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    # Other sessions of this user end: a stolen session does not survive the change.
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    session.flush()
    audit.record(session, actor=actor, action="user.password.change", object_type="user",
                 object_id=user.id, subject_user_id=user.id)


# --- login -----------------------------------------------------------------------------

def _throttle_ip(session: Session, ip: str) -> None:
    s = get_settings()
    since = utcnow() - timedelta(minutes=15)
    count = session.scalar(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.ip == ip, LoginAttempt.at >= since)) or 0
    if count >= s.login_ip_limit_per_15min:
        raise TooManyRequests(
            "trop de tentatives depuis cette adresse : réessayez dans quelques minutes",
            "too many attempts from this address: try again in a few minutes",
        )


def _fail(session: Session, *, actor: Actor, user: User | None, reason: str) -> None:
    s = get_settings()
    session.add(LoginAttempt(ip=actor.ip or "?"))
    if user is not None:
        user.failed_logins += 1
        if user.failed_logins >= s.login_max_failures:
            user.locked_until = utcnow() + timedelta(minutes=s.login_lockout_minutes)
            user.failed_logins = 0
    session.flush()
    audit.record(session, actor=actor, action="auth.login.failure", object_type="user",
                 object_id=user.id if user else "-", subject_user_id=user.id if user else None,
                 outcome="failure", details={"reason": reason})


def _check_unlocked(user: User) -> None:
    if user.locked_until and user.locked_until > utcnow():
        minutes = max(1, int((user.locked_until - utcnow()).total_seconds() // 60) + 1)
        raise TooManyRequests(
            f"compte verrouillé temporairement après plusieurs échecs : réessayez dans {minutes} min",
            f"account temporarily locked after repeated failures: retry in {minutes} min",
            code="locked",
        )


def check_password(session: Session, *, actor: Actor, email: str, password: str) -> User:
    """First login step. Raises Unauthenticated with one message for every failure, so
    that the answer does not tell whether an account exists."""
    _throttle_ip(session, actor.ip or "?")
    user = get_user_by_email(session, email)
    if user is None or not user.is_active:
        verify_password(_DUMMY_HASH(), password)  # same time whether the account exists
        _fail(session, actor=actor, user=None, reason="unknown-or-inactive")
        raise Unauthenticated("identifiant ou mot de passe incorrect",
                              "wrong login or password", code="bad-credentials")
    _check_unlocked(user)
    if not verify_password(user.password_hash, password):
        _fail(session, actor=actor, user=user, reason="password")
        raise Unauthenticated("identifiant ou mot de passe incorrect",
                              "wrong login or password", code="bad-credentials")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


_dummy: list[str] = []


def _DUMMY_HASH() -> str:  # noqa: N802 - a lazily built constant
    if not _dummy:
        _dummy.append(hash_password(secrets.token_hex(16)))
    return _dummy[0]


def check_second_factor(session: Session, *, actor: Actor, user: User, code: str) -> None:
    _check_unlocked(user)
    code = code.strip().replace(" ", "")
    if _totp_ok(session, user, code) or _use_recovery_code(session, user, code):
        return
    _fail(session, actor=actor, user=user, reason="second-factor")
    raise Unauthenticated("code de vérification incorrect", "wrong verification code",
                          code="bad-otp")


def login_succeeded(session: Session, *, actor: Actor, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = utcnow()
    session.flush()
    audit.record(session, actor=actor, action="auth.login.success", object_type="user",
                 object_id=user.id, subject_user_id=user.id)


# --- TOTP and recovery codes -------------------------------------------------------------

def _totp_secret(session: Session, user: User) -> str | None:
    if not user.totp_secret_enc:
        return None
    return Vault(session).decrypt_text(user.totp_secret_enc, context=f"totp:{user.id}")


def _totp_ok(session: Session, user: User, code: str) -> bool:
    secret = _totp_secret(session, user)
    if not (secret and user.totp_confirmed and code.isdigit() and len(code) == 6):
        return False
    return pyotp.TOTP(secret).verify(code, valid_window=1)


def _use_recovery_code(session: Session, user: User, code: str) -> bool:
    row = session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _sha256(code.upper()),
        RecoveryCode.used_at.is_(None)))
    if row is None:
        return False
    row.used_at = utcnow()
    session.flush()
    return True


def start_totp_setup(session: Session, *, user: User, secret: str | None = None) -> str:
    """Store a new, unconfirmed secret (encrypted) and return it for the QR code."""
    secret = secret or pyotp.random_base32()
    user.totp_secret_enc = Vault(session).encrypt_text(
        secret, purpose="totp", context=f"totp:{user.id}")
    user.totp_confirmed = False
    session.flush()
    return secret


def seal_totp_setup(session: Session, *, user: User) -> tuple[str, str]:
    """A new secret (for the QR code) and its sealed copy, carried by the setup form:
    the second factor in use changes only once a code of the new one is confirmed."""
    secret = pyotp.random_base32()
    return secret, Vault(session).encrypt_text(secret, purpose="totp",
                                               context=f"totp-pending:{user.id}")


def unseal_totp_setup(session: Session, *, user: User, sealed: str) -> str | None:
    try:
        return Vault(session).decrypt_text(sealed, context=f"totp-pending:{user.id}")
    except (DomainError, ValueError, InvalidTag):
        return None


def totp_uri(session: Session, user: User, secret: str | None = None) -> str:
    secret = secret or _totp_secret(session, user)
    if not secret:
        raise Invalid("aucune configuration en cours", "no TOTP setup in progress")
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="esante")


def confirm_totp(session: Session, *, actor: Actor, user: User, code: str,
                 sealed: str | None = None) -> list[str]:
    if sealed is not None:
        secret = unseal_totp_setup(session, user=user, sealed=sealed)
    else:
        secret = _totp_secret(session, user)
    if not secret or not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
        raise Invalid("code incorrect : vérifiez l'heure de votre téléphone",
                      "wrong code", code="bad-otp")
    if sealed is not None:
        user.totp_secret_enc = Vault(session).encrypt_text(
            secret, purpose="totp", context=f"totp:{user.id}")
    user.totp_confirmed = True
    codes = new_recovery_codes(session, user=user)
    audit.record(session, actor=actor, action="user.totp.enable", object_type="user",
                 object_id=user.id, subject_user_id=user.id)
    return codes


def new_recovery_codes(session: Session, *, user: User, count: int = 10) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [secrets.token_hex(5).upper() for _ in range(count)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_sha256(c)) for c in codes)
    session.flush()
    return codes


# --- API tokens --------------------------------------------------------------------------

def create_token(
    session: Session,
    *,
    actor: Actor,
    user: User,
    name: str = "api",
    scopes: list[str] | None = None,
    days: int | None = None,
) -> tuple[ApiToken, str]:
    scopes = sorted(set(scopes or ["read"]))
    unknown = set(scopes) - set(TOKEN_SCOPES)
    if unknown:
        raise Invalid(f"portée de jeton inconnue : {', '.join(sorted(unknown))} "
                      f"(attendu : {', '.join(TOKEN_SCOPES)})",
                      f"unknown token scope: {', '.join(sorted(unknown))}", code="token-scope")
    days = days or get_settings().token_default_days
    if not 1 <= days <= 365:
        raise Invalid("durée de validité entre 1 et 365 jours", "validity between 1 and 365 days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:100], prefix=raw[:10],
                     token_hash=_sha256(raw), scopes=scopes,
                     expires_at=utcnow() + timedelta(days=days))
    session.add(token)
    session.flush()
    audit.record(session, actor=actor, action="token.create", object_type="api_token",
                 object_id=token.id, subject_user_id=user.id, details={"scopes": scopes})
    return token, raw


# Built once (a statement built per call, even a cached lambda one, cost more CPU than the
# query itself on the API's hottest path).
_TOKEN_WITH_USER = (select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                    .options(joinedload(User.roles))
                    .where(ApiToken.token_hash == bindparam("digest")))


def authenticate_token(session: Session, raw: str) -> tuple[User, ApiToken]:
    # One round trip: the token, its user and the user's roles (every API call starts here).
    found = session.execute(_TOKEN_WITH_USER, {"digest": _sha256(raw)}).unique().first()
    token, user = (found[0], found[1]) if found else (None, None)
    now = utcnow()
    if token is None or user is None:
        raise Unauthenticated("jeton inconnu", "unknown token", code="token-unknown")
    if token.revoked_at is not None:
        raise Unauthenticated("jeton révoqué", "token revoked", code="token-revoked")
    if token.expires_at <= now:
        raise Unauthenticated("jeton expiré", "token expired", code="token-expired")
    if not user.is_active:
        raise Unauthenticated("compte désactivé", "account disabled", code="inactive")
    # A minute's precision is enough, and spares every request a write on the token row
    # (clients sharing a token would otherwise queue on it).
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return user, token


def list_tokens(session: Session, *, user: User) -> list[ApiToken]:
    return list(session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)))


def revoke_token(session: Session, *, actor: Actor, user: User, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound("jeton introuvable", "token not found")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, actor=actor, action="token.revoke", object_type="api_token",
                     object_id=token.id, subject_user_id=user.id)
    return token


# --- web sessions ------------------------------------------------------------------------

def new_web_session(session: Session) -> tuple[WebSession, str]:
    raw = secrets.token_urlsafe(32)
    ws = WebSession(id=_sha256(raw), csrf_token=secrets.token_urlsafe(32),
                    expires_at=utcnow() + timedelta(minutes=get_settings().session_minutes))
    session.add(ws)
    session.flush()
    return ws, raw


def load_web_session(session: Session, raw: str | None) -> WebSession | None:
    if not raw or len(raw) > 100:
        return None
    ws = session.get(WebSession, _sha256(raw))
    if ws is None:
        return None
    now = utcnow()
    if ws.expires_at <= now:
        session.delete(ws)
        return None
    # Sliding expiry, written at most once a minute.
    fresh = now + timedelta(minutes=get_settings().session_minutes)
    if fresh - ws.expires_at > timedelta(minutes=1):
        ws.expires_at = fresh
    return ws


def rotate_web_session(session: Session, old: WebSession | None) -> tuple[WebSession, str]:
    """A new session id at each privilege change (no session fixation)."""
    ws, raw = new_web_session(session)
    if old is not None:
        ws.user_id, ws.stage = old.user_id, old.stage
        session.delete(old)
        session.flush()
    return ws, raw


def purge_expired(session: Session, now: datetime | None = None) -> int:
    now = now or utcnow()
    n = getattr(session.execute(delete(WebSession).where(WebSession.expires_at <= now)), "rowcount", 0)
    session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - timedelta(days=1)))
    return int(n or 0)
