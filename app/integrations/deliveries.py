"""Chat platforms deliver the same message more than once; remember what was already handled."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

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
