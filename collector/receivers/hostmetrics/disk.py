"""disk scraper: /proc/diskstats. Sectors are always 512 bytes in this file, whatever the
device's real sector size (kernel Documentation/admin-guide/iostats.rst)."""
from __future__ import annotations

from . import filterset
from .procfs import parse_diskstats
from .scraper import Scraper, to_ns

SECTOR = 512


class DiskScraper(Scraper):
    name = "disk"

    def __init__(self, config, fs, logger=None) -> None:
        super().__init__(config, fs, logger)
        self._inc = filterset.build(config.include.devices, config.include.match_type)
        self._exc = filterset.build(config.exclude.devices, config.exclude.match_type)

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        for d in parse_diskstats(self.fs.read_proc("diskstats")):
            if not filterset.include_exclude(d.name, self._inc, self._exc):
                continue
            mb.record("system.disk.io", ts, d.read_sectors * SECTOR, d.name, "read")
            mb.record("system.disk.io", ts, d.write_sectors * SECTOR, d.name, "write")
            mb.record("system.disk.operations", ts, d.reads, d.name, "read")
            mb.record("system.disk.operations", ts, d.writes, d.name, "write")
            mb.record("system.disk.io_time", ts, d.io_ms / 1000, d.name)
            mb.record("system.disk.operation_time", ts, d.read_ms / 1000, d.name, "read")
            mb.record("system.disk.operation_time", ts, d.write_ms / 1000, d.name, "write")
            mb.record("system.disk.weighted_io_time", ts, d.weighted_ms / 1000, d.name)
            mb.record("system.disk.pending_operations", ts, d.in_flight, d.name)
            mb.record("system.disk.merged", ts, d.reads_merged, d.name, "read")
            mb.record("system.disk.merged", ts, d.writes_merged, d.name, "write")
