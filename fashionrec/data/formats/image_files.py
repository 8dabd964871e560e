"""Reading a data set's picture files into the catalog's image array, with errors that name the listing line."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from fashionrec.data.formats.lines import MalformedFile
from fashionrec.data.images import decode_image
from fashionrec.errors import InvalidArgument

__all__ = ["load_image_files"]


def load_image_files(files: list[Path], size: int, sources: list[tuple[Path, int]],
                     progress: bool = False, threads: int = 4) -> np.ndarray:
    """uint8 (n, size, size, 3) from image files; sources[i] is the (listing file, line)
    that named files[i], so that a missing or broken picture is reported where it was listed."""
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
