"""Domain errors. Each has a stable ``code`` slug that clients can branch on.

The HTTP edge maps each class to a status code in one table; nothing here knows
about HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    code = "domain_error"

    def __init__(self, message: str, *, errors: Mapping[str, object] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors: dict[str, object] = dict(errors or {})


class InvalidInput(DomainError):
    """The request is well-formed but its content breaks a domain rule."""

    code = "invalid_input"


class NotFound(DomainError):
    """The object does not exist, or lies outside the actor's scope."""

    code = "not_found"


class Forbidden(DomainError):
    """The actor may see the object but not do this to it."""

    code = "forbidden"


class Conflict(DomainError):
    """The object's current state does not allow the action."""

    code = "conflict"


class Unauthenticated(DomainError):
    """The caller's identity could not be established (bad or expired credentials)."""

    code = "unauthenticated"


class RateLimited(DomainError):
    """Someone upstream (or our own limits) asks the caller to slow down."""

    code = "rate_limited"


class Unavailable(DomainError):
    """A service we depend on is down or busy; trying again later may work."""

    code = "unavailable"


class TooLarge(DomainError):
    """The request carries more than the service accepts (a photo over the size limit)."""

    code = "too_large"
