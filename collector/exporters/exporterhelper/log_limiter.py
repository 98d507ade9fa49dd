"""Rate-limited warnings: a gateway that is down for an hour must not write a line per retry."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable


class LogLimiter:
    """Logs the first message of a kind at once, then at most one per `interval` seconds,
    telling how many similar ones were suppressed in between."""

    def __init__(self, logger: logging.Logger, interval: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._log = logger
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def log(self, level: int, kind: str, msg: str, *args) -> bool:
        now = self._clock()
        with self._lock:
            last = self._last.get(kind)
            if last is not None and now - last < self._interval:
                self._suppressed[kind] = self._suppressed.get(kind, 0) + 1
                return False
            self._last[kind] = now
            suppressed = self._suppressed.pop(kind, 0)
        if suppressed:
            msg += " (%d similar messages suppressed)"
            args = (*args, suppressed)
        self._log.log(level, msg, *args)
        return True

    def reset(self) -> None:
        """After a recovery, the next failure is news again and is logged at once."""
        with self._lock:
            self._last.clear()
            self._suppressed.clear()
