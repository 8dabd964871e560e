from __future__ import annotations

from pathlib import Path

import pytest

from fashionrec.data.formats.lines import MalformedFile, read_int_rows, read_json_records


def test_int_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.txt"
    path.write_text("1 2 3\n4 5 6\n\n")
    assert read_int_rows(path).tolist() == [[1, 2, 3], [4, 5, 6]]
    path.write_text("1 2 3\n\n4 5 6\n")
    with pytest.raises(MalformedFile, match=r"rows.txt, line 2: empty line"):
        read_int_rows(path)


def test_json_records_carry_their_line(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text('[\n {"a": 1},\n {"b": [1,\n 2]},\n 3\n]\n')
    assert read_json_records(path) == [(2, None, {"a": 1}), (3, None, {"b": [1, 2]}), (5, None, 3)]
    path.write_text('{"k": {"a": 1},\n "m": 2}')
    assert read_json_records(path) == [(1, "k", {"a": 1}), (2, "m", 2)]


@pytest.mark.parametrize("text, line, message", [
    ('[\n {"a": 1}\n {"b": 2}]', 3, "expected ',' or ']'"),
    ("[1,\n2,\n", 3, "unterminated"),
    ('{"x":\n tru}', 2, "invalid JSON"),
    ("\n\n42", 3, "expected a JSON array or object"),
])
def test_json_errors(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(MalformedFile, match=message) as err:
        read_json_records(path)
    assert err.value.line == line
