"""The test processes' port blocks: a server a test starts must never meet another test's server on its port.

CI once saw a spawned server's readiness check answered by a sibling xdist worker's server that had been given
the same number by the kernel (bind port 0, close, hand out): the test then subscribed to the wrong server."""

from __future__ import annotations

import socket

import pytest

from tests.support.live import _ephemeral_low, _PortBlock


def block(monkeypatch: pytest.MonkeyPatch, index: int, workers: int) -> _PortBlock:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", str(workers))
    monkeypatch.setenv("PYTEST_XDIST_WORKER", f"gw{index}")
    return _PortBlock()


@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_each_worker_owns_a_block_below_the_ephemeral_range(monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    blocks = [block(monkeypatch, index, workers) for index in range(workers)]
    spans = [range(b.start, b.start + b.size) for b in blocks]
    for first, second in zip(spans, spans[1:], strict=False):
        assert first.stop <= second.start  # disjoint, in order
    assert spans[0].start >= _PortBlock.FIRST
    assert spans[-1].stop <= _ephemeral_low()  # never a number an outgoing connection could be given


def test_ports_handed_out_are_distinct_free_and_in_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = block(monkeypatch, 1, 3)
    taken = [ports.take() for _ in range(200)]
    assert len(set(taken)) == len(taken)
    assert all(ports.start <= port < ports.start + ports.size for port in taken)


def test_a_port_in_use_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    ports = block(monkeypatch, 0, 1)
    with socket.socket() as held:
        held.bind(("127.0.0.1", ports.start + ports.next))
        held.listen()
        assert ports.take() != held.getsockname()[1]
