import shutil
from pathlib import Path

from fashionrec import protogen


def test_committed_generated_code_is_fresh() -> None:
    assert protogen.stale_files() == [], "run `make protos` and commit the result"


def test_check_fails_when_a_proto_changes_without_regeneration(tmp_path: Path) -> None:
    protos = tmp_path / "protos"
    shutil.copytree(protogen.PROTO_ROOT, protos)
    out = tmp_path / "out"
    protogen.generate(protos, out)
    assert protogen.stale_files(protos, out) == []

    outfit = protos / "fashionrec" / "v1" / "outfit.proto"
    outfit.write_text(outfit.read_text().replace("string target_category = 2;", "string target_category = 2;\n  bool explain = 5;"))
    stale = protogen.stale_files(protos, out)
    assert "fashionrec/v1/outfit_pb2.py" in stale
    assert all("outfit" in name for name in stale)


def test_check_reports_missing_generated_files(tmp_path: Path) -> None:
    assert "fashionrec/v1/common_pb2.py" in protogen.stale_files(protogen.PROTO_ROOT, tmp_path)
