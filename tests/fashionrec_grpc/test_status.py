"""The project's errors carry a kind and a field, and the one mapping to gRPC status codes."""

from __future__ import annotations

import grpc
import pytest

from fashionrec.errors import ErrorKind, FashionrecError, InvalidArgument, NotFound, UpstreamError
from fashionrec.index.compose import Change, indicator
from fashionrec.index.synthetic_vectors import synthetic_artifact
from fashionrec_grpc.status import grpc_status


def test_a_relabelled_complaint_names_the_request_field_once() -> None:
    spec = synthetic_artifact("v1").spec
    with pytest.raises(InvalidArgument) as info:
        indicator(spec, [Change("colour", "red")], lambda _: None)
    assert str(info.value).startswith("changes[0].attribute: unknown attribute 'colour'; known: category, ")
    assert str(info.value).count("attribute:") == 1
    assert info.value.field == "changes[0].attribute"
    [violation] = info.value.violations
    assert violation.field == "changes[0].attribute" and violation.description.startswith("unknown attribute")


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_kind_has_its_grpc_code(kind: ErrorKind) -> None:
    assert grpc_status(UpstreamError("x", kind)) == grpc.StatusCode[kind.name]


def test_errors_that_are_not_ours_are_internal_and_ours_keep_their_kind() -> None:
    assert grpc_status(ValueError("bug")) == grpc.StatusCode.INTERNAL
    assert grpc_status(NotFound("sku 'x'")) == grpc.StatusCode.NOT_FOUND
    assert grpc_status(FashionrecError("?")) == grpc.StatusCode.INTERNAL
