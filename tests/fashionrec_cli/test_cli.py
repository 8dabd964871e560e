import os
import subprocess
import sys
from pathlib import Path


def _fashionrec(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fashionrec_cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_help_lists_subcommands() -> None:
    result = _fashionrec("--help")
    assert result.returncode == 0
    assert "dev" in result.stdout


def test_dev_once_starts_the_embedded_stack_and_reports_ready(tmp_path: Path, model_dir: Path) -> None:
    result = _fashionrec("dev", "--once", "--grpc-port", "0", "--metrics-port", "0", "--model", str(model_dir),
                         "--data-dir", str(tmp_path / "dev"), timeout=180)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "fashionrec dev: ready"
    assert any(line.startswith("kafka    127.0.0.1:") for line in lines)
    assert any(line.startswith("grpc     127.0.0.1:") and "RetrievalService" in line for line in lines)


def test_bad_environment_is_rejected_at_start_up(tmp_path: Path) -> None:
    import os

    env = {**os.environ, "FASHIONREC_GRPC_PORT": "not-a-port"}
    result = subprocess.run([sys.executable, "-m", "fashionrec_cli", "dev", "--once", "--data-dir", str(tmp_path)],
                            capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode != 0
    assert "FASHIONREC_GRPC_PORT='not-a-port': must be an integer" in result.stderr


def test_demo_once_writes_a_picture_per_query(tmp_path: Path, model_dir: Path) -> None:
    out = tmp_path / "demo-output"
    result = _fashionrec("demo", "--once", "--items", "150", "--grpc-port", "0", "--metrics-port", "0",
                         "--model", str(model_dir), "--data-dir", str(tmp_path / "dev"), "--out", str(out),
                         timeout=300, env={**os.environ, "FASHIONREC_PROGRESS": "1"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert "indexed 150 items" in result.stdout
    assert "indexing: 100%" in result.stderr and "150/150" in result.stderr  # the progress bar, forced on
    assert sorted(p.name for p in out.glob("*.png")) == [
        "1-manipulate-color-red.png", "2-similar-pattern.png", "3-complete-outfit.png"]
