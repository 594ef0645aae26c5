"""The per-client rate limit: a token bucket per client, one table for all of a server's workers."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.archive.embed import Embedder
from app.rate_limit import RateLimiter, client_key
from tests.servers import Server, kill_leftovers, make_archive, start_server


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    assert limiter.take("a") == 0 and limiter.take("a") == 0
    assert limiter.take("a") == pytest.approx(1.0)
    assert limiter.take("b") == 0, "clients are counted apart"
    clock.now = 1.0
    assert limiter.take("a") == 0


def test_an_ipv6_client_is_its_64_and_a_mapped_ipv4_client_its_address() -> None:
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9")
    assert client_key("2001:db8:1:2::1") != client_key("2001:db8:1:3::1")
    assert client_key("::ffff:192.0.2.7") == client_key("192.0.2.7") == b"192.0.2.7"
    assert client_key("testclient") == b"testclient"
    limiter = RateLimiter(per_minute=1, burst=1, clock=Clock())
    assert limiter.take("2001:db8:1:2::1") == 0
    assert limiter.take("2001:db8:1:2::abcd") > 0, "a new address in the same /64 waits too"


def test_limiters_on_one_table_file_count_a_client_together(tmp_path: Path) -> None:
    clock = Clock()
    one, other = (
        RateLimiter(per_minute=1, burst=3, path=tmp_path / "table", clock=clock) for _ in "ab"
    )
    assert [one.take("a"), other.take("a"), one.take("a")] == [0, 0, 0]
    assert other.take("a") > 0 and one.take("a") > 0
    one.close()
    other.close()


def test_the_table_does_not_grow_with_100k_ipv6_clients_and_keeps_the_throttled(
    tmp_path: Path,
) -> None:
    limiter = RateLimiter(
        per_minute=1, burst=5, clients=1024, path=tmp_path / "table", clock=Clock()
    )
    size = limiter.table_bytes
    while limiter.take("2001:db8::1") == 0:
        pass
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for n in range(100_000):
            limiter.take(f"2001:db8:{n >> 16:x}:{n & 0xFFFF:x}::1")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert limiter.table_bytes == size == (tmp_path / "table").stat().st_size < 32 * 1024
    assert grown < 16 * 1024, f"{grown} bytes kept for 100k clients"
    # Each newcomer displaced the least throttled in its set: never the client that was limited.
    assert limiter.take("2001:db8::1") > 0
    limiter.close()


def test_a_check_costs_microseconds(tmp_path: Path) -> None:
    """On /ask's way: a lock, a hash and a few dozen bytes of the shared table."""
    limiter = RateLimiter(per_minute=600, burst=600, path=tmp_path / "table")
    clients = [f"10.0.{n // 256}.{n % 256}" for n in range(1000)]
    began = time.perf_counter()
    for n in range(20_000):
        limiter.take(clients[n % 1000])
    per_check_us = (time.perf_counter() - began) / 20_000 * 1e6
    limiter.close()
    assert per_check_us < 50, f"{per_check_us:.1f} µs a check"


# --- across real worker processes -----------------------------------------------------------

BURST = 5
ASK = ("/ask", {"q": "Who pays Kosovo?"})


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[Server]:
    """`serve --workers 2` with a burst of 5 and one more a minute (no refill within these
    tests); each test calls from an address of its own."""
    limits = {"NEWSROOM_RATE_LIMIT_PER_MINUTE": "1", "NEWSROOM_RATE_LIMIT_BURST": str(BURST)}
    index_dir = make_archive(tmp_path_factory.mktemp("limit"), embedder)
    server = start_server(index_dir, workers=2, **limits)
    yield server
    assert server.stop_cleanly()
    kill_leftovers()


def _from(address: str, url: str) -> httpx.Client:
    """A client calling from `address` (any 127.x address reaches the server on 127.0.0.1)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=url, transport=transport, timeout=60)


def test_a_keep_alive_client_gets_the_whole_limit_from_two_workers(two_workers: Server) -> None:
    # One connection stays on one worker: before, that worker allowed its half of the burst.
    with _from("127.0.0.2", two_workers.url) as client:
        statuses = [client.get(ASK[0], params=ASK[1]).status_code for _ in range(BURST + 3)]
    assert statuses == [200] * BURST + [429] * 3


def test_many_connections_from_one_client_together_get_the_limit(two_workers: Server) -> None:
    statuses = []
    for _ in range(3 * BURST):  # each a new connection, to whichever worker the kernel picks
        with _from("127.0.0.3", two_workers.url) as client:
            statuses.append(client.get(ASK[0], params=ASK[1]).status_code)
    assert statuses == [200] * BURST + [429] * (2 * BURST)
    with _from("127.0.0.4", two_workers.url) as other:
        assert other.get(ASK[0], params=ASK[1]).status_code == 200, "another client is apart"
