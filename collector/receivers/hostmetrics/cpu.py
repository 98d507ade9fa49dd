"""cpu scraper: /proc/stat per-CPU times; sysfs topology and cpufreq (or /proc/cpuinfo) for
the optional counts and frequency."""
from __future__ import annotations

import glob

from .procfs import parse_cpuinfo, parse_stat_cpus
from .scraper import Scraper, to_ns

# Collector state attribute -> /proc/stat column (cpuscraper cpu_scraper_linux.go).
STATES = (("user", "user"), ("system", "system"), ("idle", "idle"), ("interrupt", "irq"),
          ("nice", "nice"), ("softirq", "softirq"), ("steal", "steal"), ("wait", "iowait"))


def busy_total(times: dict[str, float]) -> float:
    # As upstream's ucal totalCPU (a copy of gopsutil's TimesStat.Total): the eight states
    # plus guest and guest_nice. The kernel already counts guest inside user, so on a host
    # running VMs the states sum to less than 1; that is the collector's contract.
    return sum(times[col] for _, col in STATES) + times["guest"] + times["guest_nice"]


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
        if mb.enabled("system.cpu.physical.count"):
            try:
                mb.record("system.cpu.physical.count", ts, self.physical_count())
            except (OSError, ValueError) as e:
                errors.append(f"failed to count physical CPUs: {e}")
        if mb.enabled("system.cpu.frequency"):
            try:
                for cpu, hz in self.frequencies(len(cpus)):
                    mb.record("system.cpu.frequency", ts, hz, cpu)
            except (OSError, ValueError) as e:
                errors.append(f"failed to read CPU frequency: {e}")

    def physical_count(self) -> int:
        """Distinct core sibling lists in sysfs topology; /proc/cpuinfo (physical id, core id)
        pairs where sysfs has none (the order gopsutil and psutil use)."""
        for leaf in ("core_cpus_list", "thread_siblings_list"):
            lists = set()
            for path in glob.glob(self.fs.sys("devices/system/cpu/cpu[0-9]*/topology", leaf)):
                try:
                    lines = self.fs.read(path).splitlines()
                except OSError:
                    continue
                if len(lines) == 1:
                    lists.add(lines[0])
            if lists:
                return len(lists)
        info = parse_cpuinfo(self.fs.read_proc("cpuinfo"))
        return len({(b.get("physical id", ""), b.get("core id", "")) for b in info if "core id" in b})

    def frequencies(self, ncpu: int) -> list[tuple[str, float]]:
        """Current Hz per CPU: cpufreq's scaling_cur_freq (kHz) where the kernel has cpufreq,
        else the "cpu MHz" of /proc/cpuinfo (virtual machines often lack cpufreq)."""
        out = []
        for i in range(ncpu):
            try:
                khz = self.fs.read(self.fs.sys(f"devices/system/cpu/cpu{i}/cpufreq/scaling_cur_freq"))
            except OSError:
                break
            out.append((f"cpu{i}", int(khz.strip()) * 1000.0))
        if len(out) == ncpu:
            return out
        return [(f"cpu{b['processor']}", float(b["cpu MHz"]) * 1e6)
                for b in parse_cpuinfo(self.fs.read_proc("cpuinfo"))
                if "cpu MHz" in b and "processor" in b]

    def _utilization(self, ts: int, cpus) -> None:
        # No point on the first scrape: utilization needs two readings (as upstream's ucal).
        if self._prev is None:
            return
        for cpu, times in cpus.items():
            prev = self._prev.get(cpu)
            if prev is None:
                continue
            elapsed = busy_total(times) - busy_total(prev)
            for state, col in STATES:
                # No CPU time passed (two reads within one tick): zeros, as upstream's ucal.
                value = (times[col] - prev[col]) / elapsed if elapsed > 0 else 0.0
                self.mb.record("system.cpu.utilization", ts, value, cpu, state)
