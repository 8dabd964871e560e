"""EncoderService: images in, per-attribute embeddings and predicted labels out;
previews of an item with changes (encoder_svc.preview).

Work stops between stages (each image's decode, the encode, the render) once the
call's deadline passed or the client cancelled.
"""

from __future__ import annotations

import grpc
import numpy as np

from fashionrec.data.images import BoundedDecoder
from fashionrec_grpc.deadlines import check_call
from fashionrec.errors import FieldViolation, InvalidArgument
from fashionrec.index import CatalogIndex, Change
from fashionrec.model.inference import Encoder
from fashionrec.v1 import encoder_pb2, encoder_pb2_grpc
from encoder_svc.preview import PreviewRenderer


class EncoderServicer(encoder_pb2_grpc.EncoderServiceServicer):
    def __init__(self, encoder: Encoder, decode_image: BoundedDecoder, max_images: int, max_image_bytes: int,
                 index: CatalogIndex | None = None) -> None:
        """index: where Preview looks SKUs up (the one this encoder ingests into); None: SKU previews are
        FAILED_PRECONDITION."""
        self._encoder = encoder
        self._decode_image = decode_image
        self._max_images = max_images
        self._max_image_bytes = max_image_bytes
        self._preview = PreviewRenderer(encoder, decode_image, index, max_image_bytes)

    def Encode(self, request: encoder_pb2.EncodeRequest, context: grpc.ServicerContext) -> encoder_pb2.EncodeResponse:
        images = self._decode_all(request.images, context)
        check_call(context, "encoding")
        encoded = self._encoder.encode(images)
        check_call(context, "answering")
        spec = self._encoder.spec
        response = encoder_pb2.EncodeResponse(model_version=spec.version)
        for row in range(len(images)):
            embedding = response.embeddings.add(whole=encoded.whole[row].tolist(), outfit=encoded.outfit[row].tolist(),
                                                 log_probs=encoded.log_probs[row].tolist())
            for position, attribute in enumerate(spec.vocabulary.attributes):
                embedding.attributes.add(attribute=attribute.name, vector=encoded.attributes[row, position].tolist())
                embedding.predictions.add(
                    attribute=attribute.name,
                    value=attribute.values[int(encoded.labels[row, position])],
                    confidence=float(encoded.confidences[row, position]),
                )
        return response

    def Preview(self, request: encoder_pb2.PreviewRequest, context: grpc.ServicerContext) -> encoder_pb2.PreviewResponse:
        changes = [Change(c.attribute, c.value) for c in request.changes]
        preview = self._preview(request.item, changes, context.time_remaining(),
                                check=lambda stage: check_call(context, stage))
        check_call(context, "answering")
        return encoder_pb2.PreviewResponse(
            png=preview.png, model_version=preview.model_version,
            read_back=[encoder_pb2.LabelPrediction(attribute=a, value=v, confidence=c) for a, v, c in preview.read_back],
        )

    def GetModel(self, request: encoder_pb2.GetModelRequest, context: grpc.ServicerContext) -> encoder_pb2.ModelInfo:
        spec = self._encoder.spec
        return encoder_pb2.ModelInfo(
            model_version=spec.version,
            attributes=[encoder_pb2.Attribute(name=a.name, values=a.values) for a in spec.vocabulary.attributes],
            attribute_dim=spec.attribute_dim,
            whole_dim=spec.whole_dim,
            outfit_dim=spec.outfit_dim,
            image_size=spec.image_size,
        )

    def _decode_all(self, blobs: list[bytes], context: grpc.ServicerContext) -> np.ndarray:
        if not blobs:
            raise InvalidArgument.for_field("images", "at least one image is needed")
        if len(blobs) > self._max_images:
            raise InvalidArgument.for_field("images", f"at most {self._max_images} images per call, got {len(blobs)}")
        size = self._encoder.spec.image_size
        decoded, violations = [], []
        for i, blob in enumerate(blobs):
            if len(blob) > self._max_image_bytes:
                violations.append(FieldViolation(f"images[{i}]", f"is {len(blob)} bytes; the limit is {self._max_image_bytes}"))
                continue
            check_call(context, f"decoding images[{i}]")
            try:
                decoded.append(self._decode_image(blob, size, context.time_remaining()))
            except InvalidArgument as exc:
                violations.append(FieldViolation(f"images[{i}]", str(exc)))
        if violations:
            summary = "; ".join(f"{v.field}: {v.description}" for v in violations)
            raise InvalidArgument(summary, violations)
        return np.stack(decoded)
