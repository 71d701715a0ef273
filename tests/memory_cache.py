"""An in-process response cache for tests: the `ResponseCache` protocol over a dict."""

from __future__ import annotations

import threading
from collections import OrderedDict


class MemoryCache:
    """An in-process LRU cache."""

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    async def get(self, key: str) -> str | None:
        """The value under `key`, marking it recently used."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    async def put(self, key: str, value: str) -> None:
        """Store `value`, evicting the least recently used entry when full."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)
