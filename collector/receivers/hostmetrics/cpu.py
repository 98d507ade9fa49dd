"""cpu scraper: /proc/stat per-CPU times, and /proc/cpuinfo for counts and frequency."""
from __future__ import annotations

from .procfs import parse_cpuinfo, parse_stat_cpus
from .scraper import Scraper, to_ns

# Collector state attribute -> /proc/stat column (cpuscraper cpu_scraper_linux.go).
STATES = (("user", "user"), ("system", "system"), ("idle", "idle"), ("interrupt", "irq"),
          ("nice", "nice"), ("softirq", "softirq"), ("steal", "steal"), ("wait", "iowait"))


def busy_total(times: dict[str, float]) -> float:
    # guest time is already inside user (and guest_nice inside nice): not added twice.
    return sum(times[col] for _, col in STATES)


class CPUScraper(Scraper):
    name = "cpu"

    def __init__(self, config, fs, logger=None) -> None:
        super().__init__(config, fs, logger)
        self._prev: dict[str, dict[str, float]] | None = None

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        cpus = parse_stat_cpus(self.fs.read_proc("stat"), self.fs.clock_ticks)
        if not cpus:
            raise ValueError(f"no per-CPU lines in {self.fs.proc('stat')}")
        if mb.enabled("system.cpu.time"):
            for cpu, times in cpus.items():
                for state, col in STATES:
                    mb.record("system.cpu.time", ts, times[col], cpu, state)
        if mb.enabled("system.cpu.utilization"):
            self._utilization(ts, cpus)
        self._prev = cpus
        if mb.enabled("system.cpu.logical.count"):
            mb.record("system.cpu.logical.count", ts, len(cpus))
        if mb.any_enabled("system.cpu.physical.count", "system.cpu.frequency"):
            try:
                info = parse_cpuinfo(self.fs.read_proc("cpuinfo"))
            except OSError as e:
                errors.append(f"failed to read cpuinfo: {e}")
                return
            if mb.enabled("system.cpu.physical.count"):
                cores = {(b.get("physical id", ""), b.get("core id", b.get("processor")))
                         for b in info if "processor" in b}
                mb.record("system.cpu.physical.count", ts, len(cores))
            if mb.enabled("system.cpu.frequency"):
                for b in info:
                    if "cpu MHz" in b and "processor" in b:
                        try:
                            mb.record("system.cpu.frequency", ts, float(b["cpu MHz"]) * 1e6,
                                      f"cpu{b['processor']}")
                        except ValueError:
                            errors.append(f"bad cpu MHz {b['cpu MHz']!r}")

    def _utilization(self, ts: int, cpus) -> None:
        # No point on the first scrape: utilization needs two readings (as upstream's ucal).
        if self._prev is None:
            return
        for cpu, times in cpus.items():
            prev = self._prev.get(cpu)
            if prev is None:
                continue
            elapsed = busy_total(times) - busy_total(prev)
            if elapsed <= 0:
                continue
            for state, col in STATES:
                self.mb.record("system.cpu.utilization", ts, (times[col] - prev[col]) / elapsed,
                               cpu, state)
