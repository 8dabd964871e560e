from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fashionrec.data.images import decode_image, encode_jpeg, encode_png
from fashionrec.errors import InvalidArgument


@pytest.fixture
def picture() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)


def test_png_round_trip_is_lossless(picture: np.ndarray) -> None:
    square = picture[:, :24]
    assert np.array_equal(decode_image(encode_png(square), 24), square)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_decode_resizes_to_a_square(picture: np.ndarray, fmt: str) -> None:
    out = io.BytesIO()
    Image.fromarray(picture).convert("RGBA" if fmt == "PNG" else "RGB").save(out, format=fmt)
    image = decode_image(out.getvalue(), 16)
    assert image.shape == (16, 16, 3) and image.dtype == np.uint8


def test_jpeg_is_close(picture: np.ndarray) -> None:
    smooth = np.full((32, 32, 3), 120, np.uint8)
    assert np.abs(decode_image(encode_jpeg(smooth), 32).astype(int) - 120).max() <= 2


@pytest.mark.parametrize("data, message", [
    (b"", "empty image data"),
    (b"hello, world", "not a JPEG, PNG or WebP image"),
])
def test_bad_bytes_are_invalid_arguments(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message) as err:
        decode_image(data, 16)
    assert err.value.violations[0].field == "image"


def test_truncated_and_unaccepted_formats(picture: np.ndarray) -> None:
    with pytest.raises(InvalidArgument, match="corrupt or truncated"):
        decode_image(encode_png(picture)[:60], 16)
    gif = io.BytesIO()
    Image.fromarray(picture).save(gif, format="GIF")
    with pytest.raises(InvalidArgument, match="not a JPEG, PNG or WebP"):
        decode_image(gif.getvalue(), 16)


def test_encode_refuses_wrong_arrays() -> None:
    with pytest.raises(InvalidArgument, match="uint8"):
        encode_png(np.zeros((4, 4), np.float32))
