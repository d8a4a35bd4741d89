"""What makes an event durable: a kind and a payload the outbox can keep as JSON."""

from __future__ import annotations

from typing import Any, ClassVar, Self


class Durable:
    """An event recorded on a unit of work that must outlive the process: it is
    written to the outbox in the recording transaction and handed to its handler after
    commit, at least once. Handlers must therefore be idempotent.

    A subclass names its kind once (``class MemberMoved(Durable, kind="...")``); the
    kind is stored with each message, so it must never change once messages exist."""

    __slots__ = ()
    kind: ClassVar[str]

    def __init_subclass__(cls, *, kind: str | None = None, **rest: Any) -> None:
        super().__init_subclass__(**rest)
        # None when a dataclass with slots remakes the class: it keeps the kind it had.
        if kind is not None:
            cls.kind = kind
        elif not hasattr(cls, "kind"):
            raise TypeError(
                f"{cls.__name__} must name its kind: class {cls.__name__}(Durable, kind=...)"
            )

    def to_payload(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        raise NotImplementedError
