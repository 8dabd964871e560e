"""Reading the published data set files with errors that say where the problem is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from fashionrec.errors import InvalidArgument, NotFound


class MalformedFile(InvalidArgument):
    """A data set file that does not follow its format; names the file and the line."""

    def __init__(self, path: Path, line: int | None, problem: str) -> None:
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")
        self.path = Path(path)
        self.line = line
        self.problem = problem


def require(path: Path) -> Path:
    if not path.is_file():
        raise NotFound(f"{path}: missing (the data set format needs this file)")
    return path


def read_lines(path: Path) -> list[str]:
    """Non-empty lines, stripped; blank lines are allowed only at the end."""
    lines = require(path).read_text(encoding="utf-8").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            raise MalformedFile(path, number, "empty line")
    return [line.strip() for line in lines]


def read_int_rows(path: Path, width: int | None = None,
                  allowed: tuple[int, ...] | None = None) -> np.ndarray:
    """int64 (n, width) from whitespace-separated integers, one row per line."""
    rows = []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split()
        try:
            row = [int(f) for f in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_int(f))
            raise MalformedFile(path, number, f"{bad!r} is not an integer") from None
        expected = width if width is not None else (len(rows[0]) if rows else len(row))
        if len(row) != expected:
            raise MalformedFile(path, number, f"{len(row)} values, expected {expected}")
        if allowed is not None and any(x not in allowed for x in row):
            bad_value = next(x for x in row if x not in allowed)
            raise MalformedFile(path, number, f"value {bad_value} not in {list(allowed)}")
        rows.append(row)
    return np.asarray(rows, np.int64).reshape(len(rows), width or (len(rows[0]) if rows else 0))


def write_int_rows(path: Path, rows: np.ndarray) -> None:
    rows = np.asarray(rows, np.int64)
    if rows.ndim == 1:
        rows = rows[:, None]
    path.write_text("".join(" ".join(str(x) for x in row) + "\n" for row in rows.tolist()),
                    encoding="utf-8")


def read_json(path: Path) -> Any:
    try:
        return json.loads(require(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise MalformedFile(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})"
                            ) from None


def read_json_records(path: Path) -> list[tuple[int, str | None, Any]]:
    """The entries of a top-level JSON array or object, each with the line it starts on.

    (line, None, value) for an array, (line, key, value) for an object: so that a reader
    can name the line of an entry that is valid JSON but not a valid record.
    """
    text = require(path).read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    records: list[tuple[int, str | None, Any]] = []
    line, counted = 1, 0

    def skip(i: int) -> int:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        return i

    def line_at(i: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, i)
        counted = i
        return line

    def fail(i: int, problem: str) -> MalformedFile:
        return MalformedFile(path, line_at(i), problem)

    i = skip(0)
    if i >= len(text) or text[i] not in "[{":
        raise fail(i, "expected a JSON array or object")
    is_object, close = text[i] == "{", "}" if text[i] == "{" else "]"
    i = skip(i + 1)
    try:
        while i < len(text) and text[i] != close:
            start, key = i, None
            if is_object:
                key, i = decoder.raw_decode(text, i)
                if not isinstance(key, str):
                    raise fail(start, "expected a string key")
                i = skip(i)
                if text[i:i + 1] != ":":
                    raise fail(i, "expected ':'")
                i = skip(i + 1)
            value, i = decoder.raw_decode(text, i)
            records.append((line_at(start), key, value))
            i = skip(i)
            if text[i:i + 1] == ",":
                i = skip(i + 1)
            elif text[i:i + 1] != close:
                raise fail(i, f"expected ',' or '{close}'")
    except json.JSONDecodeError as exc:
        raise MalformedFile(path, exc.lineno, f"invalid JSON: {exc.msg} (column {exc.colno})"
                            ) from None
    if i >= len(text):
        raise fail(i, f"unterminated JSON, expected '{close}'")
    return records


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _is_int(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True
