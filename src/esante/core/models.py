"""Every table of the platform, imported once so that Alembic and backups see them all."""

from esante.apps import models as apps_models
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
from esante.cyber.indicators.models import Indicator, IocEvent, IocEventRecipient, Sighting
from esante.cyber.lessons.models import Lesson, LessonCategory, LessonTag
from esante.cyber.maturity.models import MaturityAnswer, MaturityAssessment
from esante.cyber.mutualaid.models import AidEvent, AidMatch, AidPost
from esante.cyber.passwords.models import BreachedHash
from esante.cyber.phishing.models import PhishingReport
from esante.cyber.threatwatch.models import (
    Advisory,
    AffectedProduct,
    Alert,
    AlertEvent,
    InstalledProduct,
)
from esante.datahub.models import (
    Dataset,
    DatasetColumn,
    OptOut,
    Project,
    ProjectColumn,
    ProjectEvent,
)
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
from esante.identity.models import (
    FormerMatricule,
    IdentityEvent,
    LocalIdentity,
    ReferencePerson,
    VigilancePair,
)
from esante.messaging.models import (
    Delivery,
    Mailbox,
    MailboxMember,
    Message,
    OperatorDomain,
    OutboundItem,
    Receipt,
    Thread,
)
from esante.space.models import Space

__all__ = [
    "Advisory",
    "AffectedProduct",
    "AidEvent",
    "AidMatch",
    "AidPost",
    "Alert",
    "AlertEvent",
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
    "Dataset",
    "DatasetColumn",
    # messaging
    "Delivery",
    "Establishment",
    "ExportJob",
    "FhirDateIndex",
    "FhirRefIndex",
    "FhirResource",
    "FhirStringIndex",
    "FhirTokenIndex",
    "FhirVersion",
    "FormerMatricule",
    "Ght",
    "IdentityEvent",
    "Incident",
    "IncidentAttachment",
    "IncidentEvent",
    "IncidentReport",
    "IncidentTask",
    "Indicator",
    "InstalledProduct",
    "IocEvent",
    "IocEventRecipient",
    "Lesson",
    "LessonCategory",
    "LessonTag",
    "LocalIdentity",
    "LoginAttempt",
    "Mailbox",
    "MailboxMember",
    "MaturityAnswer",
    "MaturityAssessment",
    "Message",
    "Notification",
    "OperatorDomain",
    "OptOut",
    "OutboundItem",
    "OutboundMail",
    "PatientLink",
    "PhishingReport",
    "PhishingSimulation",
    "Project",
    "ProjectColumn",
    "ProjectEvent",
    "Receipt",
    "RecoveryCode",
    "ReferencePerson",
    "Region",
    "ReminderSent",
    "RoleAssignment",
    "SecurityProfile",
    "Sighting",
    "SimulationRecipient",
    "Space",
    "Thread",
    "User",
    "VigilancePair",
    "WebSession",
    "apps_models",
]
