"""jobs.local.ports: ports for private services come from below the ephemeral range and are free by a bind test."""

from __future__ import annotations

import socket

import pytest

from jobs.local.ports import EPHEMERAL_START, Ports, free_ports

pytestmark = pytest.mark.unit


def _listen(port: int) -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", port))
    sock.listen()
    return sock


def test_a_pair_skips_a_port_held_by_a_listener() -> None:
    start = free_ports(21500, 2)
    with _listen(start + 1):  # the second port of the first candidate is taken: the next pair is handed out
        port = free_ports(start, 2)
    assert port >= start + 2
    assert port + 1 < EPHEMERAL_START


def test_a_port_held_by_a_client_connection_is_skipped() -> None:
    """The CI failure: a connect test sees only listeners; a bind test also sees a client socket's local port."""
    server = _listen(0)
    local = free_ports(21600)
    client = socket.socket()
    client.bind(("127.0.0.1", local))
    client.connect(server.getsockname())
    with server, client:
        assert free_ports(local) != local


def test_no_run_reaches_the_ephemeral_range() -> None:
    with pytest.raises(RuntimeError, match="no 2 consecutive free ports"):
        free_ports(EPHEMERAL_START - 1, 2)
    with pytest.raises(ValueError, match="start must be >= 1024"):
        free_ports(80)


def test_an_allocator_never_hands_out_a_port_twice() -> None:
    ports = Ports(21700)
    taken = [ports.take() for _ in range(5)] + [ports.take(2) for _ in range(2)]
    singles, pairs = taken[:5], taken[5:]
    used = singles + [p + i for p in pairs for i in (0, 1)]
    assert len(used) == len(set(used)) == 9
