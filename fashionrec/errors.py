"""The project's exceptions: what went wrong (a kind) and, for a bad input, which field.

Library code (index, events, model, data) raises these and knows nothing of gRPC; the
services' edge (fashionrec_grpc.status) is the one place that turns a kind into a gRPC
status code and the field violations into a BadRequest detail. Anything else that
escapes a handler is a bug and becomes INTERNAL there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "ErrorKind", "FieldViolation", "FashionrecError", "InvalidArgument", "NotFound", "Unavailable",
    "DeadlineExceeded", "Cancelled", "Unauthenticated", "FailedPrecondition", "UpstreamError",
]


class ErrorKind(enum.Enum):
    """What kind of failure, in the canonical error space (the names gRPC's status codes use)."""

    INVALID_ARGUMENT = "invalid_argument"
    NOT_FOUND = "not_found"
    FAILED_PRECONDITION = "failed_precondition"
    UNAVAILABLE = "unavailable"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    CANCELLED = "cancelled"
    UNAUTHENTICATED = "unauthenticated"
    PERMISSION_DENIED = "permission_denied"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    INTERNAL = "internal"


@dataclass(frozen=True)
class FieldViolation:
    """One bad input field: where it is (`changes[0].attribute`) and what to fix."""

    field: str
    description: str


class FashionrecError(Exception):
    """Base of every error the services know how to report.

    Args:
        message: what happened and, where there is one, what to do about it.
        field: the input field at fault, if one is.
    """

    kind: ErrorKind = ErrorKind.INTERNAL

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidArgument(FashionrecError):
    """The input is wrong; the violations say which fields and how to fix them."""

    kind = ErrorKind.INVALID_ARGUMENT

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        self.violations = violations or []
        super().__init__(message, self.violations[0].field if self.violations else None)

    @classmethod
    def for_field(cls, field: str, description: str) -> "InvalidArgument":
        """One bad field; the message is "field: description"."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)])

    def at(self, field: str) -> "InvalidArgument":
        """The same complaint about the field where the caller put the value (the description is kept).

        A helper that checks one value names it by what it is ("attribute"); the request's
        path ("changes[0].attribute") is known only to its caller, which re-raises with this.
        """
        description = self.violations[0].description if len(self.violations) == 1 else str(self)
        return InvalidArgument.for_field(field, description)


class NotFound(FashionrecError):
    """A named thing (SKU, collection, model version) does not exist."""

    kind = ErrorKind.NOT_FOUND


class Unavailable(FashionrecError):
    """A dependency (Qdrant, the broker, the encoder) cannot be reached; retrying may help."""

    kind = ErrorKind.UNAVAILABLE


class DeadlineExceeded(FashionrecError):
    """The caller's deadline passed before the work was done; the rest of it was skipped."""

    kind = ErrorKind.DEADLINE_EXCEEDED


class Cancelled(FashionrecError):
    """The caller cancelled the call; the rest of the work was skipped."""

    kind = ErrorKind.CANCELLED


class Unauthenticated(FashionrecError):
    """The call carries no valid credentials (or a dependency refused the ones forwarded)."""

    kind = ErrorKind.UNAUTHENTICATED


class FailedPrecondition(FashionrecError):
    """The system is not in a state to serve this (e.g. no live index yet)."""

    kind = ErrorKind.FAILED_PRECONDITION


class UpstreamError(FashionrecError):
    """A dependency failed with a kind that is passed on as is (PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...)."""

    def __init__(self, message: str, kind: ErrorKind) -> None:
        super().__init__(message)
        self.kind = kind
