"""Chat platforms deliver the same message more than once; remember what was already handled."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

from app.config import Settings

V = TypeVar("V")


class Recent(Generic[V]):
    """A bounded map that forgets each key `ttl` seconds after it was first seen; thread-safe."""

    def __init__(
        self, *, ttl: float, size: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.size = size
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, key: str, make: Callable[[], V]) -> tuple[V, bool]:
        """(the value kept for key, True if it was made just now)."""
        with self._lock:
            now = self.clock()
            self._forget(now)
            if key in self._items:
                return self._items[key][1], False
            value = make()
            self._items[key] = (now + self.ttl, value)
            return value, True

    def __len__(self) -> int:
        return len(self._items)

    def _forget(self, now: float) -> None:
        # Insertion order is expiry order, so expired keys are all at the front.
        while self._items and next(iter(self._items.values()))[0] <= now:
            self._items.popitem(last=False)
        while len(self._items) >= self.size:
            self._items.popitem(last=False)


class Claims:
    """Keys handled once across processes (the server's workers each get some of a platform's
    deliveries): a key is claimed by creating its file, O_EXCL, in a folder they share.
    Claims are forgotten `ttl` seconds after they were made."""

    SWEEP_EVERY = 60.0  # seconds between clear-outs of expired claims

    def __init__(self, folder: Path, *, ttl: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.ttl = ttl
        self._swept = 0.0

    def claim(self, key: str) -> bool:
        """True for the first caller, in any process, to claim `key` within `ttl`."""
        self._sweep()
        path = self.folder / hashlib.sha256(key.encode()).hexdigest()
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        except FileExistsError:
            return False
        return True

    def _sweep(self) -> None:
        now = time.time()
        if now - self._swept < self.SWEEP_EVERY:
            return
        self._swept = now
        for entry in os.scandir(self.folder):
            try:
                if now - entry.stat().st_mtime > self.ttl:
                    os.unlink(entry.path)
            except FileNotFoundError:  # another worker swept it first
                pass


@contextmanager
def runtime_folder(settings: Settings, name: str) -> Iterator[Path]:
    """A folder the server's workers share (serve sets runtime_dir), or one of this process's
    own, removed when it stops."""
    if settings.runtime_dir is not None:
        yield settings.runtime_dir / name
        return
    with tempfile.TemporaryDirectory(prefix=f"newsroom-{name}-") as own:
        yield Path(own)
