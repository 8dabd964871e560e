"""Previews: an item with the changes asked, rendered by the model's preview decoder.

    r' = r + M·i        (i from fashionrec.index.compose.indicator; M the prototype memory)
    png = decode(r'),   read_back = the model's classifiers on the decoded image

r and the item's current labels come from the index for a SKU (the encoder's own model
version: M and the decoder belong to it), or from encoding an uploaded photo (its
predicted labels). No changes at all is a plain reconstruction, decode(r): what the
decoder makes of the item, the baseline a manipulated preview is read against.

`PreviewRenderer` is used by EncoderService.Preview and, in `fashionrec dev`, directly
by the retrieval service in the same process (`LocalPreview`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fashionrec.data.images import BoundedDecoder, encode_png
from fashionrec.errors import DeadlineExceeded, FailedPrecondition, InvalidArgument
from fashionrec.index import CatalogIndex, Change
from fashionrec.index.compose import indicator
from fashionrec.index.schema import check_sku
from fashionrec.model.inference import Encoder
from fashionrec.v1 import common_pb2

__all__ = ["LocalPreview", "Preview", "PreviewRenderer"]

# Called between stages with what runs next; raises to stop the work (fashionrec_grpc.deadlines.check_call).
StageCheck = Callable[[str], None]


@dataclass(frozen=True)
class Preview:
    png: bytes
    model_version: str
    read_back: list[tuple[str, str, float]]  # (attribute, predicted value, confidence), model order


class PreviewRenderer:
    """Renders previews with one encoder.

    Args:
        encoder: the loaded model; `Encoder.render` raises FailedPrecondition without a decoder.
        decode_image: the process's bounded image decoder (photos).
        index: where SKUs are looked up (the index this encoder ingests into); None: SKU previews
            are FAILED_PRECONDITION.
        max_image_bytes: the largest photo accepted.
    """

    def __init__(self, encoder: Encoder, decode_image: BoundedDecoder, index: CatalogIndex | None,
                 max_image_bytes: int) -> None:
        self._encoder = encoder
        self._decode_image = decode_image
        self._index = index
        self._max_image_bytes = max_image_bytes
        self._memory: np.ndarray | None = None  # M: (n·d, S), read from the model on first use

    @property
    def model_version(self) -> str:
        return self._encoder.spec.version

    def __call__(self, item: common_pb2.ItemRef, changes: Sequence[Change], timeout_s: float | None = None,
                 check: StageCheck | None = None) -> Preview:
        """The preview of item with changes; check runs between stages (default: the timeout alone).

        Raises:
            InvalidArgument: naming `item`, `item.image`, `changes[j].attribute` or `changes[j].value`.
            NotFound: an unknown SKU.
            FailedPrecondition: no decoder in the model, or no index for a SKU.
            DeadlineExceeded, Cancelled: from check.
        """
        check = check or _deadline_check(timeout_s)
        self.check_ready()
        spec = self._encoder.spec
        if changes:  # the request's own mistakes first, before any decode or lookup
            indicator(spec, changes, lambda attribute: None)
        whole, current_value = self._representation(item, timeout_s, check)
        i = indicator(spec, changes, current_value) if changes else np.zeros(spec.vocabulary.total_values,
                                                                              np.float32)
        if self._memory is None:
            self._memory = self._encoder.model.memory.weight.detach().float().cpu().numpy()
        moved = (whole + self._memory @ i).astype(np.float32)
        check("rendering")
        [image] = self._encoder.render(moved[None])
        check("reading the preview back")
        encoded = self._encoder.encode(image[None])
        read_back = [(a.name, a.values[int(encoded.labels[0, p])], float(encoded.confidences[0, p]))
                     for p, a in enumerate(spec.vocabulary.attributes)]
        return Preview(encode_png(image), spec.version, read_back)

    def _representation(self, item: common_pb2.ItemRef, timeout_s: float | None,
                        check: StageCheck) -> tuple[np.ndarray, Callable[[str], str | None]]:
        which = item.WhichOneof("ref")
        if which == "sku" and item.sku:
            if self._index is None:
                raise FailedPrecondition("this encoder has no index to look SKUs up in; "
                                         "send the photo as item.image")
            check("looking the SKU up")
            check_sku(item.sku, "item.sku")
            [entry] = self._index.get_items([item.sku], version=self._encoder.spec.version)
            return entry.whole, entry.item.current_value
        if which == "image" and item.image:
            if len(item.image) > self._max_image_bytes:
                raise InvalidArgument.for_field(
                    "item.image", f"is {len(item.image)} bytes; the limit is {self._max_image_bytes}")
            check("decoding item.image")
            try:
                pixels = self._decode_image(item.image, self._encoder.spec.image_size, timeout_s)
            except InvalidArgument as exc:
                raise exc.at("item.image") from None
            check("encoding item.image")
            encoded = self._encoder.encode(pixels[None])
            vocabulary = self._encoder.spec.vocabulary
            labels = {a.name: a.values[int(v)] for a, v in zip(vocabulary.attributes, encoded.labels[0])}
            return encoded.whole[0], labels.get
        raise InvalidArgument.for_field("item", "set item.sku to a catalog SKU or item.image to an encoded photo")

    def check_ready(self) -> None:
        """Raises FailedPrecondition when the model has no preview decoder (before any other work)."""
        if self._encoder.decoder is None:
            self._encoder.render(np.zeros((0, self._encoder.spec.whole_dim), np.float32))


def _deadline_check(timeout_s: float | None) -> StageCheck:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s

    def check(stage: str) -> None:
        if deadline is not None and time.monotonic() >= deadline:
            raise DeadlineExceeded(f"the deadline passed before {stage}")

    return check


class LocalPreview:
    """Previews for the retrieval service in the same process (`fashionrec dev`): no second hop.

    Credentials were checked by this process's interceptor.
    """

    def __init__(self, renderer: PreviewRenderer) -> None:
        self._renderer = renderer

    def __call__(self, item: common_pb2.ItemRef, changes: Sequence[Change], timeout_s: float | None,
                 credentials: str | None = None) -> tuple[bytes, str]:
        """(png, model_version), as retrieval_svc.preview_client.PreviewSource."""
        preview = self._renderer(item, changes, timeout_s)
        return preview.png, preview.model_version
