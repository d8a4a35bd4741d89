"""Every mapped table, imported in one place so the metadata (and Alembic) sees them all."""

from service.auth.models import RefreshToken
from service.db import Base
from service.ledger.models import Currency, LedgerAccount, Transfer
from service.organisation.models import Branch, Department, Pairing
from service.people.models import RoleGrant, User
from service.places.models import Place

__all__ = [
    "Base",
    "Branch",
    "Currency",
    "Department",
    "LedgerAccount",
    "Pairing",
    "Place",
    "RefreshToken",
    "RoleGrant",
    "Transfer",
    "User",
]
