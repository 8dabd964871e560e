"""Photo queries: the retrieval service asks EncoderService over gRPC (it never loads torch)."""

from __future__ import annotations

import grpc
import numpy as np

from fashionrec.errors import FailedPrecondition, InvalidArgument, Unavailable
from fashionrec.index import CatalogIndex, VectorQuery
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc


class RemotePhotoEncoder:
    def __init__(self, channel: grpc.Channel, index: CatalogIndex, default_timeout_s: float = 5.0) -> None:
        self._stub = encoder_pb2_grpc.EncoderServiceStub(channel)
        self._index = index
        self._default_timeout_s = default_timeout_s

    def __call__(self, image: bytes, timeout_s: float | None) -> VectorQuery:
        try:
            response = self._stub.Encode(
                encoder_pb2.EncodeRequest(images=[image]), timeout=timeout_s or self._default_timeout_s
            )
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument.for_field("item.image", exc.details().removeprefix("images[0]: ")) from None
            raise Unavailable(f"EncoderService failed on the photo: {exc.code().name}: {exc.details()}") from None
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
        )
