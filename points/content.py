"""内容安全: what WeChat's content checks say about a resident's text or photo, and what
that verdict means for who may see it. Pure: the calls themselves are service/wechat's.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

from points.errors import InvalidInput


class Verdict(StrEnum):
    """WeChat's ``result.suggest``."""

    PASS = "pass"  # noqa: S105 - WeChat's word, not a secret
    REVIEW = "review"  # WeChat is unsure: a person decides
    RISKY = "risky"


class Scene(IntEnum):
    """msg_sec_check / media_check_async ``scene``: which kind of writing it is, so
    WeChat judges it by that kind's norms."""

    PROFILE = 1  # 资料
    COMMENT = 2  # 评论: a rating's comment on work done for the resident
    FORUM = 3  # 论坛: a demand, a post to the community's staff and, once handled, its list
    SOCIAL_LOG = 4  # 社交日志: a log of one's own work (a submission's note, a visit's note)


class ReviewStatus(StrEnum):
    """One checked text or photo (table content_review)."""

    PENDING = "pending"  # a photo whose asynchronous check has not answered yet
    PASSED = "passed"
    HELD = "held"  # WeChat said review (or could not judge): hidden until staff release it
    QUARANTINED = "quarantined"  # a risky photo: served to nobody, its work flagged
    RELEASED = "released"  # held, then let through by staff


# Shown only to the author and staff of the place until it is PASSED or RELEASED.
PRIVATE = frozenset({ReviewStatus.PENDING, ReviewStatus.HELD, ReviewStatus.QUARANTINED})


class ContentRisky(InvalidInput):
    code = "content_risky"


def verdict_of(suggest: object) -> Verdict:
    """An answer we don't know is a person's to judge, never a pass."""
    try:
        return Verdict(str(suggest))
    except ValueError:
        return Verdict.REVIEW


def status_for(verdict: Verdict) -> ReviewStatus:
    return {
        Verdict.PASS: ReviewStatus.PASSED,
        Verdict.REVIEW: ReviewStatus.HELD,
        Verdict.RISKY: ReviewStatus.QUARANTINED,
    }[verdict]


def refuse_risky(verdict: Verdict, field: str) -> None:
    """Risky text is refused outright: nothing is saved, the author may rewrite it."""
    if verdict is Verdict.RISKY:
        raise ContentRisky(
            "WeChat's content check refused this text; please rewrite it",
            errors={field: ["refused by the content check"]},
        )
