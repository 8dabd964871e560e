"""A real Prometheus server for the deploy tests: started on 127.0.0.1, queried over its HTTP API.

The binaries come from Debian's package (deploy/install-prometheus.sh, run by
`make test`); tests fail with that hint when they are missing.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
INSTALL_HINT = "run deploy/install-prometheus.sh (Debian's prometheus package provides prometheus and promtool)"


def find_binary(name: str) -> str:
    """The path of prometheus or promtool: on PATH, else /usr/bin; raises with the install hint."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin")
    if not found:
        raise FileNotFoundError(f"{name} not found on PATH or in /usr/bin: {INSTALL_HINT}")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _epoch(rfc3339: str) -> float:
    """Seconds since the epoch of a Go RFC 3339 timestamp (nanoseconds cut to what Python parses)."""
    return datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", rfc3339).replace("Z", "+00:00")).timestamp()


@dataclass
class PrometheusServer:
    process: subprocess.Popen
    url: str
    log: Path

    @classmethod
    def start(cls, config_file: Path, data_dir: Path, timeout_s: float = 30.0) -> "PrometheusServer":
        port = free_port()
        log = data_dir.parent / "prometheus.log"
        process = subprocess.Popen(
            [find_binary("prometheus"), f"--config.file={config_file}", f"--storage.tsdb.path={data_dir}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=log.open("wb"),
        )
        server = cls(process, f"http://127.0.0.1:{port}", log)
        server._wait_ready(timeout_s)
        return server

    def _wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as reply:
                    if reply.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise TimeoutError(f"prometheus not ready after {timeout_s}s:\n{self.log.read_text()}")

    def api(self, path: str, **params: str) -> Any:
        """GET /api/v1/<path>; returns `data`, raising on an error status (a PromQL parse error, ...)."""
        query = urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as reply:
                body = json.load(reply)
        except urllib.error.HTTPError as exc:
            body = json.load(exc)
        if body.get("status") != "success":
            raise AssertionError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector of expr now (an empty list when it has no data)."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", f"{expr} gives a {data['resultType']}"
        return data["result"]

    def wait_for_rule_evaluation(self, timeout_s: float = 30.0) -> None:
        """Waits until a scrape and every rule group's evaluation happened after this call."""
        since = time.time()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            groups = self.api("rules")["groups"]
            scrapes = self.api("targets", state="active")["activeTargets"]
            stamps = [g["lastEvaluation"] for g in groups] + [t["lastScrape"] for t in scrapes]
            if groups and all(_epoch(s) > since for s in stamps):
                return
            time.sleep(0.25)
        raise TimeoutError("prometheus did not scrape and evaluate its rules in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
