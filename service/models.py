"""Every mapped table, imported in one place so the metadata (and Alembic) sees them all."""

from service.db import Base
from service.people.models import RoleGrant, User
from service.places.models import Place

__all__ = ["Base", "Place", "RoleGrant", "User"]
