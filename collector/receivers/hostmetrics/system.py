"""system scraper: system.uptime from /proc/uptime (seconds since boot, sub-second)."""
from __future__ import annotations

from .procfs import parse_uptime
from .scraper import Scraper, to_ns


class SystemScraper(Scraper):
    name = "system"

    def record(self, now: float, errors: list[str]) -> None:
        self.mb.record("system.uptime", to_ns(now), parse_uptime(self.fs.read_proc("uptime")))
