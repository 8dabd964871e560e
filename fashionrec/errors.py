"""The project's exceptions and the one place that maps them to gRPC status codes.

Library code (index, model, events) raises these; the services' error
interceptor turns them into a status and a message the caller can act on.
Anything else that escapes a handler is a bug and becomes INTERNAL.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: where it is and what to fix."""

    field: str
    description: str


class FashionrecError(Exception):
    """Base of every error the services know how to report."""

    status: grpc.StatusCode = grpc.StatusCode.INTERNAL


class InvalidArgument(FashionrecError):
    """The request is wrong; the violations say which fields and how to fix them."""

    status = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, message: str, violations: list[FieldViolation] | None = None) -> None:
        super().__init__(message)
        self.violations = violations or []

    @classmethod
    def for_field(cls, field: str, description: str) -> "InvalidArgument":
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class NotFound(FashionrecError):
    """A named thing (SKU, collection, model version) does not exist."""

    status = grpc.StatusCode.NOT_FOUND


class Unavailable(FashionrecError):
    """A dependency (Qdrant, the broker, the encoder) cannot be reached; retrying may help."""

    status = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(FashionrecError):
    """The caller's deadline passed before the work was done; the rest of it was skipped."""

    status = grpc.StatusCode.DEADLINE_EXCEEDED


class Cancelled(FashionrecError):
    """The caller cancelled the call; the rest of the work was skipped."""

    status = grpc.StatusCode.CANCELLED


class Unauthenticated(FashionrecError):
    """The call carries no valid credentials (or a dependency refused the ones forwarded)."""

    status = grpc.StatusCode.UNAUTHENTICATED


class UpstreamError(FashionrecError):
    """A dependency answered with a status that is passed on as is (PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...)."""

    def __init__(self, message: str, status: grpc.StatusCode) -> None:
        super().__init__(message)
        self.status = status


class FailedPrecondition(FashionrecError):
    """The system is not in a state to serve this (e.g. no live index yet)."""

    status = grpc.StatusCode.FAILED_PRECONDITION


def grpc_status(exc: BaseException) -> grpc.StatusCode:
    """The gRPC status code for an exception raised while serving a call."""
    if isinstance(exc, FashionrecError):
        return exc.status
    return grpc.StatusCode.INTERNAL
