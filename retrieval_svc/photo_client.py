"""Photo queries: the retrieval service asks EncoderService over gRPC (it never loads torch)."""

from __future__ import annotations

import grpc
import numpy as np

from fashionrec.errors import FailedPrecondition, FashionrecError, InvalidArgument
from fashionrec.index import CatalogIndex, VectorQuery
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc
from fashionrec_grpc.status import error_from_rpc


class RemotePhotoEncoder:
    """Encodes photos with EncoderService in another process.

    Args:
        channel: to the encoder.
        index: for the live model version.
        default_timeout_s: when the caller set no deadline.
        token: this service's own bearer token for the encoder; empty: forward the caller's credentials.
    """

    def __init__(self, channel: grpc.Channel, index: CatalogIndex, default_timeout_s: float = 5.0,
                 token: str = "") -> None:
        self._stub = encoder_pb2_grpc.EncoderServiceStub(channel)
        self._index = index
        self._default_timeout_s = default_timeout_s
        self._token = token

    def __call__(self, image: bytes, timeout_s: float | None, credentials: str | None = None) -> VectorQuery:
        authorization = f"Bearer {self._token}" if self._token else credentials
        try:
            response = self._stub.Encode(
                encoder_pb2.EncodeRequest(images=[image]), timeout=timeout_s or self._default_timeout_s,
                metadata=[("authorization", authorization)] if authorization else None,
            )
        except grpc.RpcError as exc:
            raise _from_encoder(exc) from None
        live = self._index.live_version()
        if response.model_version != live:
            raise FailedPrecondition(
                f"the encoder runs model {response.model_version!r} but the live index is {live!r}; retry shortly"
            )
        [embedding] = response.embeddings
        return VectorQuery(
            whole=np.asarray(embedding.whole, dtype=np.float32),
            labels={p.attribute: p.value for p in embedding.predictions},
            log_probs=np.asarray(embedding.log_probs, dtype=np.float32) if embedding.log_probs else None,
            outfit=np.asarray(embedding.outfit, dtype=np.float32) if embedding.outfit else None,
        )


def _from_encoder(exc: grpc.RpcError) -> FashionrecError:
    """The encoder's status, passed on faithfully: the caller's mistake stays the caller's."""
    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument.for_field("item.image", (exc.details() or "").removeprefix("images[0]: "))
    return error_from_rpc(exc, "EncoderService")
