"""Which boards a member counts on: every place from their residence up, their party
branch, and that branch's department. Resolved when an event is applied (not when it
was written), so a hidden member is never put back by a late event."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from points.leaderboard import Member, scopes_of
from service.organisation.models import Branch
from service.people.models import User
from service.places.models import Place


def members(session: Session, user_ids: Iterable[int] | None = None) -> dict[int, Member]:
    """Every member (or the given ones) with their scopes; None for ids means everyone."""
    query = (
        select(
            User.id,
            User.name,
            Place.path,
            User.home_branch_id,
            Branch.department_id,
            User.leaderboard_opt_out,
            User.leaderboard_banned,
        )
        .outerjoin(Place, Place.id == User.residence_place_id)
        .outerjoin(Branch, Branch.id == User.home_branch_id)
    )
    if user_ids is not None:
        query = query.where(User.id.in_(sorted(set(user_ids))))
    return {
        user_id: Member(
            user_id, name, tuple(scopes_of(path, branch_id, department_id)), opt_out or banned
        )
        for user_id, name, path, branch_id, department_id, opt_out, banned in session.execute(query)
    }
