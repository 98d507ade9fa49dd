"""memory scraper: /proc/meminfo with gopsutil's arithmetic, which the collector reports.

gopsutil counts reclaimable slab as cache (Cached += SReclaimable) and derives
used = MemTotal - MemFree - Buffers - Cached; the states therefore sum to MemTotal, except
slab_reclaimable, which is also inside cached (as upstream reports it).
"""
from __future__ import annotations

from .procfs import parse_kv_kb
from .scraper import Scraper, to_ns


def memory_states(mi: dict[str, int]) -> dict[str, int]:
    total, free, buffers = mi["MemTotal"], mi["MemFree"], mi.get("Buffers", 0)
    cached = mi.get("Cached", 0) + mi.get("SReclaimable", 0)
    return {
        "used": total - free - buffers - cached,
        "free": free,
        "buffered": buffers,
        "cached": cached,
        "slab_reclaimable": mi.get("SReclaimable", 0),
        "slab_unreclaimable": mi.get("SUnreclaim", 0),
    }


class MemoryScraper(Scraper):
    name = "memory"

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        mi = parse_kv_kb(self.fs.read_proc("meminfo"))
        if "MemTotal" not in mi or "MemFree" not in mi:
            raise ValueError(f"MemTotal/MemFree missing from {self.fs.proc('meminfo')}")
        total = mi["MemTotal"]
        states = memory_states(mi)
        for state, value in states.items():
            mb.record("system.memory.usage", ts, value, state)
            if total:
                mb.record("system.memory.utilization", ts, value / total, state)
        mb.record("system.memory.limit", ts, total)
        # Kernels before 3.14 have no MemAvailable: gopsutil's fallback is cached + free.
        mb.record("system.linux.memory.available", ts,
                  mi.get("MemAvailable", states["cached"] + states["free"]))
        mb.record("system.linux.memory.dirty", ts, mi.get("Dirty", 0))
        mb.record("system.memory.linux.shared", ts, mi.get("Shmem", 0))
        mb.record("system.memory.page_size", ts, self.fs.page_size)
