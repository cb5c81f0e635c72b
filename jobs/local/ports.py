"""Free loopback ports for services a test, drill or benchmark starts beside the main ones.

One rule, learned from a CI failure: pick ports *below* the kernel's ephemeral range (32768+ on Linux), and test them by
binding, not by connecting. A port taken from the ephemeral range can be handed to any outgoing connection between the
check and the service's bind (a private Kafka lost its controller port ``p + 1`` that way), and a connect test misses a
port that a client socket holds. Below the range only listeners take ports, and a bind sees those.
"""

from __future__ import annotations

import contextlib
import socket

EPHEMERAL_START = 32768  # Linux's default net.ipv4.ip_local_port_range starts here


def free_ports(start: int, count: int = 1) -> int:
    """The first port ``p >= start`` with ``p .. p + count - 1`` all free on 127.0.0.1 (Kafka's controller and MinIO's
    console take ``p + 1``). Raises if the run would reach the ephemeral range."""
    if start < 1024 or count < 1:
        raise ValueError(f"free_ports(start={start}, count={count}): start must be >= 1024 and count >= 1")
    for port in range(start, EPHEMERAL_START - count + 1, count):
        with contextlib.ExitStack() as stack:
            try:
                for candidate in range(port, port + count):
                    stack.enter_context(socket.socket()).bind(("127.0.0.1", candidate))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1 between {start} and {EPHEMERAL_START}")


class Ports:
    """Distinct free ports for a harness that starts several services before any of them binds (etcd, its peer port
    and the API server are chosen together): each ``take`` starts after the last port handed out, and wraps to
    ``start`` once the ephemeral range is reached."""

    def __init__(self, start: int) -> None:
        self.start = start
        self._next = start

    def take(self, count: int = 1) -> int:
        try:
            port = free_ports(self._next, count)
        except RuntimeError:
            port = free_ports(self.start, count)
        self._next = port + count
        return port
