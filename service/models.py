"""Every mapped table, imported in one place so the metadata (and Alembic) sees them all."""

from service.audit.models import AuditEntry
from service.auth.models import ConsoleSession, RefreshToken
from service.certificates.models import Certificate, CertificateService
from service.db import Base
from service.demands.models import (
    Demand,
    DemandEvent,
    DemandLimit,
    DemandOverdue,
    DemandRating,
    DemandWhistle,
)
from service.households.models import (
    Household,
    HouseholdPairing,
    HouseholdResident,
    HouseholdVisit,
    ParticipationHousehold,
)
from service.idempotency.models import IdempotencyRecord
from service.ledger.models import (
    Adjustment,
    Currency,
    EarningEvent,
    LedgerAccount,
    LotUse,
    PointLot,
    Transfer,
)
from service.moderation.models import ContentReview
from service.notifications.models import (
    Notification,
    NotificationSetting,
    SubscriptionQuota,
    WechatMessage,
)
from service.organisation.models import Branch, Department, Pairing, Station
from service.outbox.models import OutboxMessage
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.proxies.models import ProxyAct, ProxyLink
from service.rules.models import RuleSetVersion
from service.stations.models import CatalogueItem, Redemption, StockMovement
from service.tasks.models import (
    Participation,
    ParticipationRating,
    SeriesSignup,
    Task,
    TaskChange,
    TaskSeries,
)
from service.uploads.models import ParticipationPhoto, Upload

__all__ = [
    "Adjustment",
    "AuditEntry",
    "Base",
    "Branch",
    "CatalogueItem",
    "Certificate",
    "CertificateService",
    "ConsoleSession",
    "ContentReview",
    "Currency",
    "Demand",
    "DemandEvent",
    "DemandLimit",
    "DemandOverdue",
    "DemandRating",
    "DemandWhistle",
    "Department",
    "EarningEvent",
    "Household",
    "HouseholdPairing",
    "HouseholdResident",
    "HouseholdVisit",
    "IdempotencyRecord",
    "LedgerAccount",
    "LotUse",
    "Notification",
    "NotificationSetting",
    "OutboxMessage",
    "Pairing",
    "Participation",
    "ParticipationHousehold",
    "ParticipationPhoto",
    "ParticipationRating",
    "Place",
    "PointLot",
    "ProxyAct",
    "ProxyLink",
    "Redemption",
    "RefreshToken",
    "RoleGrant",
    "RuleSetVersion",
    "SeriesSignup",
    "Station",
    "StockMovement",
    "SubscriptionQuota",
    "Task",
    "TaskChange",
    "TaskSeries",
    "Transfer",
    "Upload",
    "User",
    "WechatMessage",
]
