"""Every table of the platform, imported once so that Alembic and backups see them all."""

from esante.core.accounts.models import (
    ApiToken,
    LoginAttempt,
    RecoveryCode,
    RoleAssignment,
    User,
    WebSession,
)
from esante.core.audit import AuditEvent
from esante.core.crypto import DataKey
from esante.core.db import Base
from esante.core.notifications.models import Notification, OutboundMail
from esante.core.orgs.models import Establishment, Ght, Region

__all__ = [
    "ApiToken", "AuditEvent", "Base", "DataKey", "Establishment", "Ght", "LoginAttempt",
    "Notification", "OutboundMail", "RecoveryCode", "Region", "RoleAssignment", "User",
    "WebSession",
]
