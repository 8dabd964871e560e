"""Photo queries answered in-process, for `fashionrec dev` where the encoder runs beside retrieval."""

from __future__ import annotations

from fashionrec.data.images import BoundedDecoder
from fashionrec.errors import InvalidArgument
from fashionrec.index import VectorQuery
from fashionrec.model.inference import Encoder


class LocalPhotoEncoder:
    def __init__(self, encoder: Encoder, decode_image: BoundedDecoder) -> None:
        self._encoder = encoder
        self._decode_image = decode_image

    def __call__(self, image: bytes, timeout_s: float | None, credentials: str | None = None) -> VectorQuery:
        """Encodes the photo in this process (credentials were checked by this process's interceptor)."""
        try:
            pixels = self._decode_image(image, self._encoder.spec.image_size, timeout_s)
        except InvalidArgument as exc:
            raise exc.at("item.image") from None
        encoded = self._encoder.encode(pixels[None])
        vocabulary = self._encoder.spec.vocabulary
        return VectorQuery(
            whole=encoded.whole[0],
            labels={a.name: a.values[int(v)] for a, v in zip(vocabulary.attributes, encoded.labels[0])},
            log_probs=encoded.log_probs[0],
            outfit=encoded.outfit[0],
        )
