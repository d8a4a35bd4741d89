"""Members whose boards change as a whole: moved (residence, branch), hidden or shown
again. Noticed at flush, whichever use case changed them, and redone after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from sqlalchemy import inspect

from points.leaderboard import Scope, ScopeKind
from service.leaderboards.members import members
from service.outbox.events import Durable
from service.people.models import User
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class MemberMoved(Durable, kind="leaderboard.member_moved"):
    """Something that decides a member's boards changed (residence, branch, hidden):
    after commit they leave the boards they were on and join their boards now. Kept in
    the outbox: a Redis that is down then retries it, instead of boards staying wrong
    until the nightly reconcile."""

    user_id: int
    scopes_before: tuple[Scope, ...]

    def to_payload(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "scopes_before": [[scope.kind.value, scope.id] for scope in self.scopes_before],
        }

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        scopes = tuple(Scope(ScopeKind(kind), int(id)) for kind, id in payload["scopes_before"])
        return cls(int(payload["user_id"]), scopes)


# What decides which boards a member is on.
_BOARD_DECIDING = (
    "residence_place_id",
    "home_branch_id",
    "leaderboard_opt_out",
    "leaderboard_banned",
)


def notice_moved_members(uow: UnitOfWork) -> None:
    """Record a MemberMoved for each member whose boards the coming flush changes,
    whichever use case changed them, with the boards the database still has."""
    session = uow.session
    changed = [
        user.id
        for user in session.dirty
        if isinstance(user, User)
        and user.id is not None
        and any(
            getattr(inspect(user).attrs, name).history.has_changes() for name in _BOARD_DECIDING
        )
    ]
    if not changed:
        return
    known = {event.user_id for event in uow.recorded(MemberMoved)}
    fresh = [user_id for user_id in changed if user_id not in known]
    if not fresh:
        return
    before = members(session, fresh)
    for user_id in fresh:
        member = before.get(user_id)
        uow.record(MemberMoved(user_id, member.scopes if member else ()))
