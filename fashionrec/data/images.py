"""Image bytes in and out: what the encoder service, the event publisher and the
data set readers use to turn pictures into the arrays the model reads.

Light on purpose (numpy and Pillow; torch only inside `resize_uint8`): the encoder imports it
for every request and ingest batch.
"""

from __future__ import annotations

import io
import threading
import warnings
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from fashionrec.errors import DeadlineExceeded, InvalidArgument

if TYPE_CHECKING:
    import torch

__all__ = [
    "ACCEPTED_FORMATS", "BoundedDecoder", "DEFAULT_MAX_PIXELS", "decode_image", "encode_jpeg", "encode_png",
    "resize_uint8",
]

# Formats a caller may send; Pillow could open more, but these are what shops use.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
# Pillow's own bomb guard allows ~89 Mpx: a 1-bit 9,400² PNG of 11 KB is a few hundred MB once
# converted to RGB. The model reads 32-64 px, so a few megapixels is plenty for any real photo.
DEFAULT_MAX_PIXELS = 4_000_000


def encode_png(image: np.ndarray) -> bytes:
    """Lossless PNG bytes of a uint8 (H, W, 3) image."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgument.for_field(
            "image", f"expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
    out = io.BytesIO()
    # Fixed settings: the same pixels always give the same bytes.
    Image.fromarray(image, "RGB").save(out, format="PNG", compress_level=6)
    return out.getvalue()


def encode_jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    """JPEG bytes of a uint8 (H, W, 3) image (the format Polyvore ships)."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidArgument.for_field(
            "image", f"expected uint8 (H, W, 3), got {image.dtype} {image.shape}")
    out = io.BytesIO()
    Image.fromarray(image, "RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def decode_image(data: bytes, size: int, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """uint8 (size, size, 3) RGB from JPEG, PNG or WebP bytes: the model's input pixels.

    The pixel count is read from the header and checked before anything is decoded; the
    resize is `resize_uint8`, the one resize of training, evaluation
    and serving.

    Args:
        data: the encoded image.
        size: the model's input size (its config's image_size).
        max_pixels: the largest width × height decoded.

    Returns:
        uint8 (size, size, 3).

    Raises:
        InvalidArgument: not an accepted image, corrupt, truncated, or over max_pixels. The
            message never quotes the data (it may be a server file's contents).
    """
    if size < 1:
        raise InvalidArgument.for_field("size", f"must be positive, got {size}")
    if not data:
        raise InvalidArgument.for_field("image", "empty image data")
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as img:
                width, height = img.size  # from the header: nothing is decoded yet
                if width * height > max_pixels:
                    raise InvalidArgument.for_field(
                        "image", f"{width}×{height} pixels is over the limit of {max_pixels:,} pixels")
                # JPEG can decode at a reduced scale directly, much faster for big photos.
                img.draft("RGB", (size, size))
                rgb = np.array(img.convert("RGB"), dtype=np.uint8)  # writable: torch reads it without a copy warning
    except Image.UnidentifiedImageError:
        raise InvalidArgument.for_field(
            "image", f"{len(data)} bytes that are not a JPEG, PNG or WebP image") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidArgument.for_field("image", f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise InvalidArgument.for_field(
            "image", f"corrupt or truncated image ({len(data)} bytes): {type(exc).__name__}") from None
    if rgb.shape[:2] == (size, size):
        return rgb.copy()
    return resize_uint8(rgb[None], size)[0].permute(1, 2, 0).numpy().copy()


class BoundedDecoder:
    """`decode_image` with a pixel cap and at most max_concurrent decodes at a time in the process.

    One per process, shared by the Encode RPC, photo queries and ingest, so a burst of large
    images cannot multiply the decode memory by the number of threads.

    Args:
        max_pixels: the largest width × height decoded.
        max_concurrent: decodes running at once; more wait.
    """

    def __init__(self, max_pixels: int = DEFAULT_MAX_PIXELS, max_concurrent: int = 2) -> None:
        self.max_pixels = max_pixels
        self._slots = threading.BoundedSemaphore(max_concurrent)

    def __call__(self, data: bytes, size: int, timeout_s: float | None = None) -> np.ndarray:
        """Decodes like decode_image once a slot is free.

        Args:
            data: the encoded image.
            size: the model's input size.
            timeout_s: how long to wait for a slot (None: as long as it takes).

        Returns:
            uint8 (size, size, 3).

        Raises:
            InvalidArgument: as decode_image.
            DeadlineExceeded: no slot freed within timeout_s.
        """
        if not self._slots.acquire(timeout=None if timeout_s is None else max(0.0, timeout_s)):
            raise DeadlineExceeded("the deadline passed while waiting to decode the image")
        try:
            return decode_image(data, size, self.max_pixels)
        finally:
            self._slots.release()


def resize_uint8(images: "np.ndarray | torch.Tensor", size: int) -> "torch.Tensor":
    """uint8 (N, H, W, 3) of any H, W → uint8 (N, 3, size, size), antialiased bilinear.

    The one resize of training, evaluation, serving and the data set readers (torch, imported
    here so that only callers that resize load it).
    """
    import torch
    import torch.nn.functional as F

    x = torch.as_tensor(images)
    if x.dim() != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (N, H, W, 3), got shape {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2)
    if x.shape[-2:] == (size, size):
        return x.contiguous()
    resized = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    # interpolate keeps the NHWC strides of the permuted view (channels_last); on CPU, conv
    # backward on such inputs crashed torch 2.13 (segfault at backbone width 8), so return NCHW.
    return resized.round_().clamp_(0, 255).to(torch.uint8).contiguous()
