"""Manipulate's preview image: the retrieval service asks EncoderService.Preview (it never loads torch).

In `fashionrec dev` the encoder runs in the same process and encoder_svc.preview.LocalPreview
answers instead; both are a `PreviewSource`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import grpc

from fashionrec.errors import FashionrecError, FieldViolation, InvalidArgument
from fashionrec.index import Change
from fashionrec_grpc.status import error_from_rpc, field_violations
from fashionrec.v1 import common_pb2, encoder_pb2, encoder_pb2_grpc

__all__ = ["PreviewSource", "RemotePreview"]

# (item, changes, timeout in seconds or None, the caller's `authorization` metadata or None)
#   -> (PNG bytes, model version that rendered it)
PreviewSource = Callable[[common_pb2.ItemRef, Sequence[Change], float | None, str | None], tuple[bytes, str]]


class RemotePreview:
    """Previews rendered by EncoderService in another process, on the channel photo queries use.

    Args:
        channel: to the encoder.
        default_timeout_s: when the caller set no deadline.
        token: this service's own bearer token for the encoder; empty: forward the caller's credentials.
    """

    def __init__(self, channel: grpc.Channel, default_timeout_s: float = 5.0, token: str = "") -> None:
        self._stub = encoder_pb2_grpc.EncoderServiceStub(channel)
        self._default_timeout_s = default_timeout_s
        self._token = token

    def __call__(self, item: common_pb2.ItemRef, changes: Sequence[Change], timeout_s: float | None,
                 credentials: str | None = None) -> tuple[bytes, str]:
        authorization = f"Bearer {self._token}" if self._token else credentials
        request = encoder_pb2.PreviewRequest(
            item=item, changes=[common_pb2.AttributeChange(attribute=c.attribute, value=c.value) for c in changes])
        try:
            response = self._stub.Preview(request, timeout=timeout_s or self._default_timeout_s,
                                          metadata=[("authorization", authorization)] if authorization else None)
        except grpc.RpcError as exc:
            raise _from_preview(exc) from None
        return response.png, response.model_version


def _from_preview(exc: grpc.RpcError) -> FashionrecError:
    """The encoder's status, passed on faithfully. PreviewRequest's fields (item, item.image,
    changes[j].attribute) are named as in ManipulateRequest, so its violations carry over as they are."""
    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
        violations = [FieldViolation(f, d) for f, d in field_violations(exc)]
        return InvalidArgument(exc.details() or "", violations)
    return error_from_rpc(exc, "EncoderService")
