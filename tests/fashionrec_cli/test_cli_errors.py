"""A newcomer's mistakes, run as a user would (the CLI as a subprocess): one line naming what to
fix and the right exit code; `fashionrec dev` from another directory; no broker left behind."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fashionrec_cli import build_parser
from fashionrec.ports import free_port, port_is_free
from tests.helpers import wait_for


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FASHIONREC_")}
    return {**env, "XDG_STATE_HOME": str(tmp_path / "state"), **extra}


def _fashionrec(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "fashionrec_cli", *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env=env)


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port something else listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _mistakes(tmp: Path, taken: int) -> list[tuple[list[str], dict[str, str], int, str]]:
    """(arguments, extra environment, exit code, text the one line must contain)."""
    free = str(free_port())
    ports = ["--grpc-port", "0", "--metrics-port", "0"]
    return [
        (["catalog", "generate", "--items", "5", "--out", str(tmp / "c")], {}, 2, "--items 5: at least 40"),
        (["eval", "--model", str(tmp / "m"), "--data", str(tmp / "missing")], {}, 1,
         f"{tmp / 'missing'}: no such data set directory"),
        (["dev", "--once", "--model", "/nonexistent", *ports], {}, 1, "no model at /nonexistent"),
        (["query", "similar", "--sku", "X", "--weight", "pattern=abc"], {}, 2, "--weight pattern=abc"),
        (["query", "manipulate", "--sku", "X", "--change", "color=red", "--address", f"127.0.0.1:{free}"], {}, 1,
         "UNAVAILABLE: failed to connect to all addresses"),
        (["query", "manipulate", "--sku", "X", "--change", "color=red", "--chnage", "x"], {}, 2,
         "unrecognized arguments: --chnage"),
        (["dev", "--once", "--grpc-port", "0", "--metrics-port", str(taken)], {}, 1,
         f"/metrics port 127.0.0.1:{taken} is already in use"),
        (["dev", "--once", "--grpc-port", str(taken), "--metrics-port", "0"], {}, 1,
         f"gRPC port 127.0.0.1:{taken} is already in use"),
        (["dev", "--once", "--broker-port", str(taken), *ports], {}, 1,
         f"broker port 127.0.0.1:{taken} is already in use"),
        (["reindex", "--model", str(tmp / "m")], {"FASHIONREC_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free}"}, 1,
         f"no Kafka broker answered at 127.0.0.1:{free}"),
        (["dev", "--once", *ports], {"FASHIONREC_GRPC_PORT": "fifty"}, 1, "FASHIONREC_GRPC_PORT='fifty'"),
        (["dev", "--once", *ports], {"FASHIONREC_LOG_LEVEL": "LOUD"}, 2, "FASHIONREC_LOG_LEVEL='LOUD'"),
    ]


def test_every_mistake_is_one_line_and_an_exit_code(tmp_path: Path, taken_port: int, model_dir: Path) -> None:
    import shutil

    shutil.copytree(model_dir, tmp_path / "m")  # a real model where one is needed
    for args, extra, code, text in _mistakes(tmp_path, taken_port):
        result = _fashionrec(*args, cwd=tmp_path, env=_env(tmp_path, **extra))
        lines = result.stderr.splitlines()
        assert (result.returncode, len(lines)) == (code, 1), (args, result.returncode, result.stderr[-3000:])
        assert text in lines[0] and "Traceback" not in lines[0], (args, lines[0])


def test_every_subcommand_has_a_description_an_example_and_its_defaults() -> None:
    def walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield sub
                    yield from walk(sub)

    subcommands = list(walk(build_parser()))
    assert len(subcommands) >= 13
    for sub in subcommands:
        text = sub.format_help()
        assert sub.description, sub.prog
        assert "example:\n  " in text and f"{sub.prog} " in text.split("example:")[1], sub.prog
    train = subprocess.run([sys.executable, "-m", "fashionrec_cli", "train", "--help"], capture_output=True, text=True)
    assert "--seed SEED           seed of every random choice (default: 0)" in train.stdout  # 0 is shown


def test_dev_from_another_directory_finds_the_shipped_model_and_keeps_state_in_the_state_dir(
        tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    broker_port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fashionrec_cli", "dev", "--grpc-port", "0", "--metrics-port", "0",
         "--broker-port", str(broker_port)],
        cwd=elsewhere, env=_env(tmp_path, FASHIONREC_LOG_LEVEL="INFO"), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line.rstrip())
            if line.startswith("fashionrec dev: ready"):
                break
        assert lines and lines[-1] == "fashionrec dev: ready", lines
        assert f"kafka    127.0.0.1:{broker_port}" in lines[0]
        assert f"embedded engine at {tmp_path / 'state' / 'fashionrec' / 'dev' / 'qdrant'}" in lines[1]
        assert not port_is_free("127.0.0.1", broker_port)
        # A supervisor's SIGKILL: no handler runs, yet the broker must not outlive the process.
        os.kill(process.pid, signal.SIGKILL)
        process.wait(30)
        wait_for(lambda: port_is_free("127.0.0.1", broker_port), 30, "the broker to die with its parent")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(30)
    stderr = process.stderr.read()  # type: ignore[union-attr]
    assert " INFO " in stderr, "FASHIONREC_LOG_LEVEL=INFO reaches the log"
    assert not (elsewhere / ".fashionrec").exists() and not list(elsewhere.iterdir())
