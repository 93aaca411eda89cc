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
from esante.cyber.awareness.models import (
    AwarenessCampaign,
    AwarenessEnrolment,
    AwarenessModule,
    AwarenessResult,
    PhishingSimulation,
    SimulationRecipient,
)
from esante.cyber.incidents.models import (
    Incident,
    IncidentAttachment,
    IncidentEvent,
    IncidentReport,
    IncidentTask,
    ReminderSent,
    SecurityProfile,
)
from esante.cyber.lessons.models import Lesson, LessonCategory, LessonTag
from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment
from esante.cyber.mutualaid.models import AidEvent, AidMatch, AidPost
from esante.cyber.passwords.models import BreachedHash
from esante.fhir.bulk_models import ExportJob
from esante.fhir.models import (
    CareRelationship,
    ConsentRule,
    FhirDateIndex,
    FhirRefIndex,
    FhirResource,
    FhirStringIndex,
    FhirTokenIndex,
    FhirVersion,
    PatientLink,
)

__all__ = [
    "AidEvent",
    "AidMatch",
    "AidPost",
    "ApiToken",
    "AuditEvent",
    "AwarenessCampaign",
    "AwarenessEnrolment",
    "AwarenessModule",
    "AwarenessResult",
    "Base",
    "BreachedHash",
    "CareRelationship",
    "ConsentRule",
    "DataKey",
    "Establishment",
    "ExportJob",
    "FhirDateIndex",
    "FhirRefIndex",
    "FhirResource",
    "FhirStringIndex",
    "FhirTokenIndex",
    "FhirVersion",
    "Ght",
    "Incident",
    "IncidentAttachment",
    "IncidentEvent",
    "IncidentReport",
    "IncidentTask",
    "Lesson",
    "LessonCategory",
    "LessonTag",
    "LoginAttempt",
    "MaturityAnswer",
    "MaturityAssessment",
    "Notification",
    "OutboundMail",
    "PatientLink",
    "PhishingSimulation",
    "RecoveryCode",
    "Region",
    "ReminderSent",
    "RoleAssignment",
    "SecurityProfile",
    "SimulationRecipient",
    "User",
    "WebSession",
]
