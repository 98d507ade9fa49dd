"""load scraper: /proc/loadavg, optionally divided by the logical CPU count (cpu_average)."""
from __future__ import annotations

from .procfs import parse_loadavg, parse_stat_cpus
from .scraper import Scraper, to_ns


class LoadScraper(Scraper):
    name = "load"

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        one, five, fifteen = parse_loadavg(self.fs.read_proc("loadavg"))
        if self.config.cpu_average:
            ncpu = len(parse_stat_cpus(self.fs.read_proc("stat"), self.fs.clock_ticks)) or 1
            one, five, fifteen = one / ncpu, five / ncpu, fifteen / ncpu
        self.mb.record("system.cpu.load_average.1m", ts, one)
        self.mb.record("system.cpu.load_average.5m", ts, five)
        self.mb.record("system.cpu.load_average.15m", ts, fifteen)
