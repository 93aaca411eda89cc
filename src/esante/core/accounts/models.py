"""Accounts: users, their scoped roles, second factor, API tokens and web sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from esante.core.db import Base, utcnow


class Role(StrEnum):
    CITIZEN = "citizen"
    PROFESSIONAL = "professional"
    SECURITY_OFFICER = "security_officer"
    DIRECTOR = "director"
    REGIONAL_OFFICER = "regional_officer"
    CYBER_ANALYST = "cyber_analyst"
    IDENTITY_CLERK = "identity_clerk"
    IDENTITY_VIGILANCE = "identity_vigilance"
    RESEARCHER = "researcher"
    DATAHUB_REVIEWER = "datahub_reviewer"
    TRUSTED_THIRD_PARTY = "trusted_third_party"
    APP_PUBLISHER = "app_publisher"
    APP_REVIEWER = "app_reviewer"
    ADMIN = "admin"


class ScopeKind(StrEnum):
    SELF = "self"
    ESTABLISHMENT = "establishment"
    REGION = "region"
    NATION = "nation"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    rpps: Mapped[str | None] = mapped_column(String(11), unique=True)
    totp_secret_enc: Mapped[str | None] = mapped_column(String(400))
    totp_confirmed: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin")


class RoleAssignment(Base):
    __tablename__ = "role_assignments"
    __table_args__ = (UniqueConstraint("user_id", "role", "scope_kind", "scope_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(40))
    scope_kind: Mapped[str] = mapped_column(String(20))
    # FINESS number, region code, or "" for the nation / the person themself.
    scope_ref: Mapped[str] = mapped_column(String(20), default="")

    user: Mapped[User] = relationship(back_populates="roles")


class RecoveryCode(Base):
    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]


class WebSession(Base):
    """Server-side session of a browser; the cookie holds a random value whose SHA-256
    is the key here, so a database leak gives no usable cookie."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # anonymous -> password_ok (awaiting second factor) -> authenticated
    stage: Mapped[str] = mapped_column(String(20), default="anonymous")
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginAttempt(Base):
    """Failed logins per source address, for throttling. Nothing else about the person."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
