"""TCP ports on this machine: pick a free one, or refuse early when a configured one is taken.

Checked before binding because the libraries that bind report a taken port
badly: gRPC writes a C-level log line and raises a bare RuntimeError, and Tansu
exits with code 0, after which another broker on that port would answer.
"""

from __future__ import annotations

import errno
import socket

__all__ = ["PortInUse", "Unreachable", "free_port", "port_is_free", "require_free_port", "require_reachable"]


class PortInUse(OSError):
    """A port the process was told to listen on is taken; the message says which setting moves it."""

    def __init__(self, message: str) -> None:
        super().__init__(errno.EADDRINUSE, message)

    def __str__(self) -> str:
        return str(self.strerror)


class Unreachable(ConnectionError):
    """No address of a dependency accepts a TCP connection; the message says which setting points at it."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on host right now.

    Args:
        host: the address to bind.

    Returns:
        The port number the kernel handed out.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether a listener could bind host:port now (port 0 is always free).

    Args:
        host: the address to bind.
        port: the TCP port.

    Returns:
        True when a bind succeeds.
    """
    if port == 0:
        return True
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # What servers set too: a port in TIME_WAIT after a restart is not "in use".
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def require_free_port(host: str, port: int, what: str, how_to_change: str) -> None:
    """Raises PortInUse, naming the setting that moves it, when host:port is taken.

    Args:
        host: the address to bind.
        port: the TCP port (0: pick a free one, never refused).
        what: what would listen there, e.g. "gRPC" or "/metrics".
        how_to_change: the option or variable that sets this port.

    Raises:
        PortInUse: the port is taken.
    """
    if not port_is_free(host, port):
        raise PortInUse(f"{what} port {host}:{port} is already in use: stop what holds it, "
                        f"or choose another with {how_to_change} (0 picks a free one)")


def require_reachable(addresses: str, what: str, how_to_change: str, timeout_s: float = 3.0) -> None:
    """Raises Unreachable unless one of the comma-separated host:port addresses accepts a connection.

    A TCP connect first, because client libraries retry for a long time and log every
    refused attempt (kafka-python: an error line per try for ~40 s).

    Args:
        addresses: "host:port[,host:port...]", e.g. Kafka's bootstrap servers.
        what: the dependency, e.g. "Kafka broker".
        how_to_change: the variable that points at it.
        timeout_s: the connect timeout per address.

    Raises:
        Unreachable: none answered.
    """
    for address in filter(None, (a.strip() for a in addresses.split(","))):
        host, _, port = address.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
                return
        except (OSError, ValueError):
            continue
    raise Unreachable(f"no {what} answered at {addresses}: start it, or point {how_to_change} at it")
