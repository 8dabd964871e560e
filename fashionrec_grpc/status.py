"""The one place where the project's errors meet gRPC status codes, both ways.

Server side: a `FashionrecError` becomes a status with its kind's code, its message and,
for a bad request, a BadRequest detail listing the field violations. Client side: a
dependency's status becomes the error this service raises in turn.
"""

from __future__ import annotations

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from fashionrec.errors import (
    Cancelled, DeadlineExceeded, ErrorKind, FailedPrecondition, FashionrecError, InvalidArgument, NotFound,
    Unauthenticated, Unavailable, UpstreamError,
)

__all__ = ["grpc_status", "rich_status", "field_violations", "error_from_rpc"]

# The kinds are named after the canonical codes, so the mapping is by name; a kind without
# a code of that name would fail here, at import, not on the first error served.
_CODE_BY_KIND: dict[ErrorKind, grpc.StatusCode] = {kind: grpc.StatusCode[kind.name] for kind in ErrorKind}
_ERROR_BY_CODE: dict[grpc.StatusCode, type[FashionrecError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.CANCELLED: Cancelled,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
}
_PASSED_ON = (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED)


def grpc_status(exc: BaseException) -> grpc.StatusCode:
    """The gRPC status code for an exception raised while serving a call (INTERNAL if not ours)."""
    if isinstance(exc, FashionrecError):
        return _CODE_BY_KIND[exc.kind]
    return grpc.StatusCode.INTERNAL


def rich_status(exc: FashionrecError) -> grpc.Status:
    """The status for exc, with field violations attached for a bad request."""
    detail: list[any_pb2.Any] = []
    if isinstance(exc, InvalidArgument) and exc.violations:
        bad_request = error_details_pb2.BadRequest(field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
            for v in exc.violations
        ])
        packed = any_pb2.Any()
        packed.Pack(bad_request)
        detail.append(packed)
    code = grpc_status(exc)
    return rpc_status.to_status(status_pb2.Status(code=code.value[0], message=str(exc), details=detail))


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """(field, description) pairs from a client-side error's BadRequest detail, if any."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    out: list[tuple[str, str]] = []
    for detail in status.details if status else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            out += [(v.field, v.description) for v in bad_request.field_violations]
    return out


def error_from_rpc(exc: grpc.RpcError, dependency: str) -> FashionrecError:
    """A dependency's failed call as this service's error, its status passed on faithfully.

    Args:
        exc: the client-side error.
        dependency: the service called, named in the message ("EncoderService").

    Returns:
        The error to raise. INVALID_ARGUMENT is left to the caller, which knows which of its
        own request's fields it forwarded; INTERNAL, UNKNOWN and the rest become UNAVAILABLE:
        the dependency's fault, not the caller's, and retrying elsewhere may help.
    """
    code, details = exc.code(), exc.details() or ""
    message = f"{dependency}: {details}"
    if code in _ERROR_BY_CODE:
        return _ERROR_BY_CODE[code](message)
    if code in _PASSED_ON:
        return UpstreamError(message, ErrorKind[code.name])
    return Unavailable(f"{dependency} failed: {code.name}: {details}")
