"""How often a client may ask: one token bucket per client, in a table the workers share.

The kernel pins a connection to one worker, so a limit kept per worker would give a keep-alive
client a share of it and a client with many connections all of it. The workers of one server
(app/serve.py) instead share one table: a file in the server's runtime folder, mapped into each
worker's memory and changed under an exclusive lock (flock, which the kernel releases if a
worker dies holding it). Outside `serve` the table is this process's own memory.

The table has a fixed number of slots, grouped in sets of WAYS; a client hashes (keyed, so
nobody can aim at a set) to one set and keeps a slot there while its bucket is not full. A
newcomer to a set whose slots are all taken displaces the client with the most tokens left:
the one forgetting costs least (at most `burst` minus its tokens, a request or so for a
client seen once), and a throttled client is the last to be forgotten.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

WAYS = 8  # slots per set: a newcomer displaces someone only when all 8 are busy
MAGIC = b"NRLIMIT1"
HEADER = struct.Struct("<8sQ16s")  # magic, sets, hash key
SLOT = struct.Struct("<Qdd")  # client fingerprint (0 = free), tokens, when last counted
SET = struct.Struct("<" + "Qdd" * WAYS)
FULL_WARNING_EVERY = 60.0  # seconds between warnings that the table is too small

_IPV4_MAPPED = b"\0" * 10 + b"\xff\xff"


def client_key(host: str) -> bytes:
    """Who a client is, for the limit: its IPv4 address, or its IPv6 /64 (one subscriber's
    network, so an attacker cannot mint a fresh client per address); other names as given."""
    if ":" not in host:
        return host.encode()
    try:
        packed = socket.inet_pton(socket.AF_INET6, host)
    except OSError:  # a zone id (fe80::1%eth0) or not an address at all
        return host.encode()
    if packed.startswith(_IPV4_MAPPED):
        return socket.inet_ntoa(packed[12:]).encode()
    return b"/64 " + packed[:8]  # marked, so that no name's bytes can be the same key


class RateLimiter:
    """A token bucket per client: `burst` requests at once, refilled at `per_minute`, counted
    across every process that opens the same table file (`path`; None: this process alone)."""

    def __init__(
        self,
        per_minute: int,
        burst: int,
        *,
        clients: int = 65_536,
        path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        # CLOCK_MONOTONIC is one clock for every process on the machine, so stamps written
        # by one worker mean the same to the others.
        self.clock = clock
        self.sets = max(1, clients // WAYS)
        self._thread_lock = threading.Lock()  # flock does not exclude threads of one process
        self._fd, self._table = _open_table(path, self.sets)
        self._key = HEADER.unpack_from(self._table, 0)[2]
        self._warned = -FULL_WARNING_EVERY

    @property
    def table_bytes(self) -> int:
        return len(self._table)

    def close(self) -> None:
        self._table.close()
        if self._fd is not None:
            os.close(self._fd)

    def take(self, client: str) -> float:
        """0 if the client may go ahead now, else the seconds until it may."""
        digest = hashlib.blake2b(client_key(client), digest_size=8, key=self._key).digest()
        fingerprint = int.from_bytes(digest, "little") | 1  # never 0, the free mark
        offset = HEADER.size + (fingerprint % self.sets) * SET.size
        self._lock()
        try:
            now = self.clock()
            way, tokens = self._slot(SET.unpack_from(self._table, offset), fingerprint, now)
            if tokens >= 1:
                tokens, wait = tokens - 1, 0.0
            else:
                wait = (1 - tokens) / self.rate
            SLOT.pack_into(self._table, offset + way * SLOT.size, fingerprint, tokens, now)
        finally:
            self._unlock()
        return wait

    def _slot(self, fields: tuple[Any, ...], fingerprint: int, now: float) -> tuple[int, float]:
        """The client's slot in its set and its tokens now; a newcomer's starts full."""
        owners = fields[0::3]
        if fingerprint in owners:
            way = owners.index(fingerprint)
            return way, self._refilled(fields[3 * way + 1], now - fields[3 * way + 2])
        levels = [
            self._refilled(fields[3 * way + 1], now - fields[3 * way + 2]) if owner else self.burst
            for way, owner in enumerate(owners)
        ]
        most = max(levels)
        if most < self.burst:
            self._warn_full(now)
        return levels.index(most), self.burst

    def _refilled(self, tokens: float, elapsed: float) -> float:
        return min(self.burst, tokens + max(elapsed, 0.0) * self.rate)

    def _warn_full(self, now: float) -> None:
        if now - self._warned >= FULL_WARNING_EVERY:
            self._warned = now
            logger.warning(
                "the rate-limit table is full (%d clients): raise NEWSROOM_RATE_LIMIT_CLIENTS",
                self.sets * WAYS,
            )

    # Explicit calls, not a context manager: this runs on every limited request.
    def _lock(self) -> None:
        self._thread_lock.acquire()
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def _unlock(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


@contextmanager
def _flocked(fd: int) -> Iterator[None]:
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _open_table(path: Path | None, sets: int) -> tuple[int | None, mmap.mmap]:
    """The table mapped into memory: the shared file at `path` (made by whichever worker comes
    first), or this process's own anonymous memory."""
    size = HEADER.size + sets * SET.size
    if path is None:
        table = mmap.mmap(-1, size)
        HEADER.pack_into(table, 0, MAGIC, sets, secrets.token_bytes(16))
        return None, table
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        with _flocked(fd):
            _make_or_check(fd, path, sets, size)
        return fd, mmap.mmap(fd, size)
    except BaseException:
        os.close(fd)
        raise


def _make_or_check(fd: int, path: Path, sets: int, size: int) -> None:
    if os.fstat(fd).st_size == 0:
        os.ftruncate(fd, size)  # zeros: every slot free
        os.pwrite(fd, HEADER.pack(MAGIC, sets, secrets.token_bytes(16)), 0)
    magic, made_for, _ = HEADER.unpack(os.pread(fd, HEADER.size, 0))
    if magic != MAGIC or made_for != sets or os.fstat(fd).st_size != size:
        raise ValueError(f"{path} is not a rate-limit table of {sets * WAYS} clients")
