"""Time-ordered decimal identifiers, like ZITADEL's.

An id is ``milliseconds since 2020-01-01`` shifted left by 22 bits plus a
per-process counter and a random node part, printed in decimal (18-19 digits).
Imports nothing of Keyhook.
"""

from __future__ import annotations

import secrets
import threading
import time

_EPOCH_MS = 1_577_836_800_000  # 2020-01-01T00:00:00Z
_SEQ_BITS = 12
_NODE_BITS = 10


class IdGenerator:
    """Produces strictly increasing ids within one process."""

    def __init__(self, node: int | None = None) -> None:
        self._node = (secrets.randbits(_NODE_BITS) if node is None else node) & (
            (1 << _NODE_BITS) - 1
        )
        self._lock = threading.Lock()
        self._last_ms = 0
        self._seq = 0

    def new(self) -> str:
        with self._lock:
            now = int(time.time() * 1000) - _EPOCH_MS
            if now <= self._last_ms:
                self._seq += 1
                if self._seq >= 1 << _SEQ_BITS:
                    self._last_ms += 1
                    self._seq = 0
                now = self._last_ms
            else:
                self._seq = 0
            self._last_ms = now
            value = (now << (_SEQ_BITS + _NODE_BITS)) | (self._seq << _NODE_BITS) | self._node
        return str(value)
