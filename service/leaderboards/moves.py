"""Members whose boards change as a whole: moved (residence, branch), hidden or shown
again. Noticed at flush, whichever use case changed them, and redone after commit."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect

from points.leaderboard import Scope
from service.leaderboards.members import members
from service.people.models import User
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True, slots=True)
class MemberMoved:
    """Something that decides a member's boards changed (residence, branch, hidden):
    after commit they leave the boards they were on and join their boards now."""

    user_id: int
    scopes_before: tuple[Scope, ...]


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
