"""Tables of the apps domain: app files and their reviews, the citizen's grants
(connections), authorisation codes, tokens, signing keys, and the technical doctrine."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from esante.core.db import Base, utcnow


class App(Base):
    """An app file: what the publisher declares, and the client the server knows."""

    __tablename__ = "apps_apps"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    # public: a patient-facing app (authorisation code + PKCE, no secret);
    # backend: an establishment's system (client credentials, private_key_jwt).
    client_kind: Mapped[str] = mapped_column(String(12), default="public")
    name: Mapped[str] = mapped_column(String(120))
    publisher_name: Mapped[str] = mapped_column(String(200), default="")
    siret: Mapped[str] = mapped_column(String(14), default="")
    purpose: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[str] = mapped_column(String(40), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    privacy_url: Mapped[str] = mapped_column(String(300), default="")
    hosting_certificate: Mapped[str] = mapped_column(String(100), default="")
    logo_url: Mapped[str] = mapped_column(String(300), default="")
    support_email: Mapped[str] = mapped_column(String(254), default="")
    # [{"scope": "patient/Observation.rs", "reason": "..."}]
    scopes: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    redirect_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    launch_url: Mapped[str] = mapped_column(String(300), default="")  # EHR launch: where to go
    pkce: Mapped[bool] = mapped_column(default=True)
    # {"question id": "yes" | "no" | "n/a"}
    self_assessment: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    jwks: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # backend: public keys
    service_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # draft -> submitted -> published | rejected; published -> suspended -> published
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    review_due_on: Mapped[date | None]
    # The due date whose re-review reminder went out (one reminder per due date).
    review_reminded_on: Mapped[date | None]


class AppReview(Base):
    """A reviewer's decision on an app file, with reasons."""

    __tablename__ = "apps_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(12))  # publish, reject, suspend, reinstate
    reasons: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AppGrant(Base):
    """A person's consent to an app (a "connection"): the scopes and patient it covers."""

    __tablename__ = "apps_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    patient_fid: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class AuthorizationCode(Base):
    __tablename__ = "apps_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("apps_grants.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(300))
    scope: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128), default="")
    code_challenge_method: Mapped[str] = mapped_column(String(10), default="")
    nonce: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class IssuedToken(Base):
    """Every token issued: access tokens by their JWT id (a JWT is checked against this
    row, so revocation and suspension take effect at once), refresh tokens by their hash."""

    __tablename__ = "apps_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # access | refresh
    jti: Mapped[str] = mapped_column(String(64), unique=True)  # refresh: SHA-256 of the value
    app_id: Mapped[int] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE"), index=True)
    grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("apps_grants.id", ondelete="CASCADE"), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("apps_codes.id", ondelete="SET NULL"),
                                                index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(2000))
    patient_fid: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    rotated_at: Mapped[datetime | None]  # refresh: exchanged for a new one
    last_used_at: Mapped[datetime | None]


class SigningKey(Base):
    """The server's token signing keys; the private half encrypted at rest. The newest
    active key signs; retired keys stay in the JWKS until their tokens have expired."""

    __tablename__ = "apps_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_enc: Mapped[str] = mapped_column(Text)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class ClientAssertion(Base):
    """JWT ids of the client assertions already used (private_key_jwt replay guard)."""

    __tablename__ = "apps_client_assertions"

    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class DoctrineVersion(Base):
    __tablename__ = "apps_doctrine_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # consultation -> published; a published version is the one checks cite
    status: Mapped[str] = mapped_column(String(12), default="consultation")
    consultation_ends_on: Mapped[date | None]
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Requirement(Base):
    __tablename__ = "apps_requirements"
    __table_args__ = (UniqueConstraint("version_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(
        ForeignKey("apps_doctrine_versions.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(20))  # e.g. SEC-01
    theme: Mapped[str] = mapped_column(String(20))  # security, interop, ethics, accessibility
    text: Mapped[str] = mapped_column(Text)
    check: Mapped[str] = mapped_column(Text)  # how compliance is proven
    automatic: Mapped[bool] = mapped_column(default=False)


class RequirementComment(Base):
    __tablename__ = "apps_requirement_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    requirement_id: Mapped[int] = mapped_column(
        ForeignKey("apps_requirements.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_label: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    answered_at: Mapped[datetime | None]


class PendingAuthorization(Base):
    """An authorisation request waiting for its person to sign in (the login page keeps
    only a short local path as where to go next)."""

    __tablename__ = "apps_pending_authorizations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    query: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LaunchContext(Base):
    """An EHR launch: a professional opened an app from a patient's record; the app's
    authorisation request names this context with ``launch`` and gets that patient."""

    __tablename__ = "apps_launch_contexts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps_apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    patient_fid: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class OAuthCall(Base):
    """A call to an OAuth endpoint, for its rate limits (``esante.apps.limits``): the
    source address always, the client once the call succeeded. No token, no person."""

    __tablename__ = "apps_oauth_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(12))
    ip: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
