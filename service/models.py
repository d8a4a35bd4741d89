"""Every mapped table, imported in one place so the metadata (and Alembic) sees them all."""

from service.audit.models import AuditEntry
from service.auth.models import RefreshToken
from service.db import Base
from service.leaderboards.models import LeaderboardEvent
from service.ledger.models import (
    Adjustment,
    Currency,
    LedgerAccount,
    LotUse,
    PointLot,
    Transfer,
)
from service.organisation.models import Branch, Department, Pairing
from service.people.models import RoleGrant, User
from service.places.models import Place
from service.rules.models import RuleSetVersion
from service.tasks.models import Participation, Task

__all__ = [
    "Adjustment",
    "AuditEntry",
    "Base",
    "Branch",
    "Currency",
    "Department",
    "LeaderboardEvent",
    "LedgerAccount",
    "LotUse",
    "Pairing",
    "Participation",
    "Place",
    "PointLot",
    "RefreshToken",
    "RoleGrant",
    "RuleSetVersion",
    "Task",
    "Transfer",
    "User",
]
