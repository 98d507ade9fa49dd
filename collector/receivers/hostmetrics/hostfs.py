"""Every read the host metrics scrapers make, rooted at `root_path`.

psutil reads /proc through one process-wide global (psutil.PROCFS_PATH) and cannot be pointed
at /hostfs per receiver, so the scrapers read the few kernel files they need themselves,
through this object. Tests build one on a fixture tree (tests/fixtures/hostmetrics/...) and
inject the two OS calls that cannot come from files: statvfs and the wall clock.
"""
from __future__ import annotations

import os
import time
from typing import Callable


class HostFS:
    """The host's filesystem seen from root_path ("" or "/" means this machine's own root)."""

    def __init__(self, root_path: str = "", statvfs: Callable[[str], os.statvfs_result] = os.statvfs,
                 clock: Callable[[], float] = time.time, clock_ticks: int | None = None,
                 page_size: int | None = None) -> None:
        self.root = os.path.abspath(root_path) if root_path and root_path != "/" else ""
        self.statvfs = statvfs
        self.clock = clock
        # USER_HZ and the page size are ABI constants of the running kernel; the fixture tests
        # pin them so expected values do not depend on the machine running the tests.
        self.clock_ticks = clock_ticks or os.sysconf("SC_CLK_TCK")
        self.page_size = page_size or os.sysconf("SC_PAGE_SIZE")

    @property
    def is_rooted(self) -> bool:
        return bool(self.root)

    def path(self, *parts: str) -> str:
        """Absolute host path (e.g. ("proc", "stat")) translated below root_path."""
        rel = os.path.join(*parts).lstrip("/")
        return os.path.join(self.root or "/", rel)

    def proc(self, *parts: str) -> str:
        return self.path("proc", *parts)

    def sys(self, *parts: str) -> str:
        return self.path("sys", *parts)

    def read(self, path: str) -> str:
        return self.read_bytes(path).decode("utf-8", "replace")

    def read_proc(self, *parts: str) -> str:
        return self.read(self.proc(*parts))

    def read_bytes(self, path: str) -> bytes:
        # Raw os.read: a Python file object costs more than the read itself for the small
        # /proc files read per process. procfs may return a file in several reads: loop to EOF.
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def readlink(self, path: str) -> str:
        return os.readlink(path)

    def mount_path(self, mountpoint: str) -> str:
        """Where a host mount point is visible from here (`/var` -> `/hostfs/var`)."""
        return self.path(mountpoint) if self.root else mountpoint

    def boot_time(self) -> float:
        """Seconds since the epoch at boot: the `btime` line of /proc/stat."""
        for line in self.read_proc("stat").splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
        raise ValueError(f"no btime line in {self.proc('stat')}")

    def now(self) -> float:
        return self.clock()
