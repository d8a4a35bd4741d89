"""Who an import runs for, and so which rows it may write.

At the console (``lianxin import``) nobody is named and the whole tree is open. Over
HTTP the uploader is the actor: without the right anywhere the upload is refused
whole (403); with it, each row is judged where it lands, and a row naming a place
outside the uploader's subtree is that row's error (the good rows still land).
"""

from __future__ import annotations

from dataclasses import dataclass

from points.access import SERVICE_ROLES, Action, Actor, Role, Target, allows, can
from points.errors import Forbidden, InvalidInput


@dataclass(frozen=True)
class ImportScope:
    actor: Actor | None = None  # None: the console

    @property
    def actor_id(self) -> int | None:
        return self.actor.user_id if self.actor is not None else None

    def require_right(self, action: Action, what: str) -> None:
        """403 unless the actor may ``action`` somewhere (the console always may)."""
        if self.actor is not None and not any(
            allows(grant.role, action) for grant in self.actor.grants
        ):
            raise Forbidden(f"your roles do not include importing {what}")

    def allows(self, action: Action, target: Target) -> bool:
        return self.actor is None or can(self.actor, action, target)

    def may_grant(self, role: Role, target: Target) -> bool:
        """As granting a role by hand: anyone who manages people there, or for the
        service roles (member, volunteer, resident) staff who may hand those out."""
        return self.allows(Action.MANAGE_PEOPLE, target) or (
            role in SERVICE_ROLES and self.allows(Action.GRANT_SERVICE_ROLES, target)
        )

    def check(self, allowed: bool, shown: str, column: str) -> None:
        if not allowed:
            raise InvalidInput(
                f"{shown} is outside the places you may import into",
                errors={column: ["outside your scope"]},
            )


CONSOLE = ImportScope()
