"""Residents' text through WeChat's msg_sec_check before it is saved.

The check runs before the use case's transaction, never inside it: on SQLite a unit of
work holds the write lock from its first statement, and WeChat may take seconds. So a
use case screens first (a read of the author's openid, then the call), refuses risky
text with 422 ``content_risky`` before anything is written, and, in its transaction,
holds text WeChat sent to review (``hold_text``) until staff release it.

Text WeChat can't judge is held, never passed: an author with no openid (a console
account made by an admin, who signs in with a password) has nothing WeChat's v2 check
accepts; an openid WeChat no longer knows (not in the mini-program these two hours,
errcode 61010); or WeChat unreachable. The author's words are kept, and a person
decides, rather than losing them or publishing unchecked text.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, select, tuple_
from sqlalchemy.orm import Session

from points.content import ReviewStatus, Scene, Verdict, refuse_risky
from points.errors import DomainError
from service.moderation.models import ContentReview
from service.people.models import User
from service.wechat.security import ContentSecurity, TextCheck

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Screened:
    """What the check said of one text: pass, or held (risky never gets this far)."""

    check: TextCheck

    @property
    def held(self) -> bool:
        return self.check.verdict is not Verdict.PASS


PASSED = Screened(TextCheck(Verdict.PASS))


def screen_text(
    session: Session,
    checks: ContentSecurity,
    author_id: int,
    text: str,
    scene: Scene,
    field: str,
) -> Screened:
    """Check ``text`` as the author's; raise ContentRisky (422) if WeChat refuses it.
    Empty text is nobody's risk and is not sent."""
    if not text.strip():
        return PASSED
    openid = session.scalar(select(User.openid).where(User.id == author_id))
    try:
        check = checks.check_text(text, openid, scene)
    except DomainError as error:  # WeChat down or refusing us: a person decides instead
        log.warning("text check failed, holding the text for staff: %s", error)
        return Screened(TextCheck(Verdict.REVIEW, reason="check_unavailable"))
    refuse_risky(check.verdict, field)
    return Screened(check)


def hold_text(
    session: Session,
    screened: Screened,
    *,
    subject: str,
    subject_id: int,
    field: str,
    author_id: int,
    place_id: int,
    now: datetime,
) -> None:
    """Keep the text out of others' sight until staff release it, if it was held. A
    text written again (a rating's changed comment) replaces what was held of it."""
    session.execute(
        delete(ContentReview).where(
            ContentReview.subject == subject,
            ContentReview.subject_id == subject_id,
            ContentReview.field == field,
            ContentReview.status == ReviewStatus.HELD.value,
        )
    )
    if not screened.held:
        return
    session.add(
        ContentReview(
            subject=subject,
            subject_id=subject_id,
            field=field,
            author_id=author_id,
            place_id=place_id,
            status=ReviewStatus.HELD.value,
            label=screened.check.label,
            reason=screened.check.reason,
            created_at=now,
        )
    )


def held_of(session: Session, subjects: Sequence[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of these (subject, id) still have text held."""
    if not subjects:
        return set()
    rows = session.execute(
        select(ContentReview.subject, ContentReview.subject_id).where(
            tuple_(ContentReview.subject, ContentReview.subject_id).in_(subjects),
            ContentReview.status == ReviewStatus.HELD.value,
        )
    )
    return {(subject, subject_id) for subject, subject_id in rows}


def held_subjects(subject: str) -> Select[int]:
    """The ids of ``subject`` rows with text still held, for a NOT IN beside a list."""
    return select(ContentReview.subject_id).where(
        ContentReview.subject == subject, ContentReview.status == ReviewStatus.HELD.value
    )
