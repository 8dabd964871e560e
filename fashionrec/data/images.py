"""Image bytes in and out: what the encoder service, the event publisher and the
data set readers use to turn pictures into the arrays the model reads.
"""

from __future__ import annotations

import io
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from fashionrec.errors import InvalidArgument

# Formats a caller may send; Pillow could open more, but these are what shops use.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")


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


def decode_image(data: bytes, size: int) -> np.ndarray:
    """uint8 (size, size, 3) RGB from JPEG, PNG or WebP bytes, resized to a square."""
    if size < 1:
        raise InvalidArgument.for_field("size", f"must be positive, got {size}")
    if not data:
        raise InvalidArgument.for_field("image", "empty image data")
    try:
        with warnings.catch_warnings():
            # A decompression bomb is refused below, not merely warned about.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as img:
                # JPEG can decode at a reduced scale directly, much faster for big photos.
                img.draft("RGB", (size, size))
                rgb = img.convert("RGB")
    except Image.UnidentifiedImageError:
        raise InvalidArgument.for_field(
            "image", f"{len(data)} bytes that are not a JPEG, PNG or WebP image "
                     f"(starts with {data[:8]!r})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidArgument.for_field("image", f"image too large: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidArgument.for_field(
            "image", f"corrupt or truncated image ({len(data)} bytes): {exc}") from None
    if rgb.size != (size, size):
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(rgb, dtype=np.uint8).copy()


def load_image_files(files: list[Path], size: int, sources: list[tuple[Path, int]],
                     progress: bool = False, threads: int = 4) -> np.ndarray:
    """uint8 (n, size, size, 3) from image files; sources[i] is the (listing file, line)
    that named files[i], so that a missing or broken picture is reported where it was listed."""
    from fashionrec.data.formats.lines import MalformedFile

    images = np.empty((len(files), size, size, 3), np.uint8)

    def one(i: int) -> None:
        listing, line = sources[i]
        try:
            data = files[i].read_bytes()
        except OSError as exc:
            raise MalformedFile(listing, line, f"cannot read image {files[i]}: "
                                               f"{exc.strerror or exc}") from None
        try:
            images[i] = decode_image(data, size)
        except InvalidArgument as exc:
            raise MalformedFile(listing, line, f"image {files[i]}: {exc}") from None

    with ThreadPoolExecutor(threads) as pool, \
            tqdm(total=len(files), unit="image", desc="reading images", disable=not progress) as bar:
        for _ in pool.map(one, range(len(files))):
            bar.update()
    return images
