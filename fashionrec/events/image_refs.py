"""Reading an upsert's `image_uri`: only regular files under an allowed root, bounded in size and time.

An event's `image_uri` is chosen by whoever can publish to the catalog topic,
so it is treated as hostile: without a root (the default) no reference is
read at all; with one, the path is resolved (symlinks included) and must stay
under it, the file must be a regular file (a FIFO or device would block or
never end), at most `max_bytes` long, and read within `timeout_s`. Errors
name the path and the rule, never the file's contents: they end up in the
dead-letter topic.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from urllib.parse import unquote, urlparse

from fashionrec.errors import InvalidArgument

__all__ = ["ImageReader"]

_CHUNK_BYTES = 256 * 1024


class ImageReader:
    """Reads image references for ingest.

    Args:
        root: the only directory references may point into; None refuses every reference.
        max_bytes: the largest file read.
        timeout_s: the time a read may take (checked between chunks).
    """

    def __init__(self, root: Path | None, max_bytes: int, timeout_s: float = 5.0) -> None:
        self._root = Path(os.path.realpath(root)) if root is not None else None
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s

    def read(self, uri: str) -> bytes:
        """The bytes behind uri: `file://` or a plain path, relative paths taken from the root.

        Args:
            uri: the event's image_uri.

        Returns:
            The file's bytes.

        Raises:
            InvalidArgument: the reference is refused or cannot be read (field `image_uri`).
        """
        if self._root is None:
            raise InvalidArgument.for_field(
                "image_uri", "image references are disabled on this encoder (FASHIONREC_IMAGE_ROOT is unset); "
                             "send image_bytes")
        path = self._resolve(uri)
        deadline = time.monotonic() + self._timeout_s
        try:
            # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise InvalidArgument.for_field("image_uri", f"cannot open {path}: {exc.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise InvalidArgument.for_field("image_uri", f"{path} is not a regular file")
            if info.st_size > self._max_bytes:
                raise InvalidArgument.for_field(
                    "image_uri", f"{path} is {info.st_size} bytes; the limit is {self._max_bytes}")
            return self._read_bounded(fd, path, deadline)
        finally:
            os.close(fd)

    def _resolve(self, uri: str) -> Path:
        assert self._root is not None
        parsed = urlparse(uri)
        if parsed.scheme not in ("", "file") or parsed.netloc not in ("", "localhost"):
            raise InvalidArgument.for_field("image_uri", f"scheme {parsed.scheme!r} is not supported; use file://")
        raw = unquote(parsed.path) if parsed.scheme else uri
        if "\x00" in raw:
            raise InvalidArgument.for_field("image_uri", "contains a NUL character")
        candidate = Path(raw)
        if not candidate.is_absolute():
            candidate = self._root / candidate
        # realpath follows every symlink, so a link inside the root cannot point out of it.
        resolved = Path(os.path.realpath(candidate))
        if not resolved.is_relative_to(self._root):
            raise InvalidArgument.for_field("image_uri", f"{raw[:200]} is outside the allowed image root")
        return resolved

    def _read_bounded(self, fd: int, path: Path, deadline: float) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            if time.monotonic() > deadline:
                raise InvalidArgument.for_field("image_uri", f"reading {path} took over {self._timeout_s:g} s")
            chunk = os.read(fd, _CHUNK_BYTES)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > self._max_bytes:  # the file grew after fstat
                raise InvalidArgument.for_field("image_uri", f"{path} is over {self._max_bytes} bytes")
            chunks.append(chunk)
