"""paging scraper: swap devices from /proc/swaps, paging activity from /proc/vmstat.

system.paging.operations and .faults are counts of operations, as the unit says. (gopsutil
multiplies the /proc/vmstat counters by 4096 before the collector reads them, so otelcol's
values are 4096 times these; we report the kernel's counts, which node_exporter also does.)
"""
from __future__ import annotations

from .procfs import parse_swaps, parse_vmstat
from .scraper import Scraper, to_ns


class PagingScraper(Scraper):
    name = "paging"

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        first_error = None
        if mb.any_enabled("system.paging.usage", "system.paging.utilization"):
            try:
                for swap in parse_swaps(self.fs.read_proc("swaps")):
                    free = swap.size - swap.used
                    mb.record("system.paging.usage", ts, swap.used, swap.device, "used")
                    mb.record("system.paging.usage", ts, free, swap.device, "free")
                    if swap.size:
                        mb.record("system.paging.utilization", ts, swap.used / swap.size,
                                  swap.device, "used")
                        mb.record("system.paging.utilization", ts, free / swap.size,
                                  swap.device, "free")
            except (OSError, ValueError) as e:
                first_error = e
                errors.append(f"failed to read page file stats: {e}")
        if mb.any_enabled("system.paging.operations", "system.paging.faults"):
            try:
                vm = parse_vmstat(self.fs.read_proc("vmstat"))
            except OSError as e:
                if first_error is not None:
                    raise  # nothing of this scraper could be read
                errors.append(f"failed to read swap info: {e}")
                return
            mb.record("system.paging.operations", ts, vm.get("pswpin", 0), "page_in", "major")
            mb.record("system.paging.operations", ts, vm.get("pswpout", 0), "page_out", "major")
            mb.record("system.paging.operations", ts, vm.get("pgpgin", 0), "page_in", "minor")
            mb.record("system.paging.operations", ts, vm.get("pgpgout", 0), "page_out", "minor")
            major = vm.get("pgmajfault", 0)
            mb.record("system.paging.faults", ts, major, "major")
            mb.record("system.paging.faults", ts, vm.get("pgfault", 0) - major, "minor")
