"""Memory readings: the process's resident set size and the memory available to it (cgroup)."""
from __future__ import annotations

import os

_MIB = 1 << 20
# cgroup v1 reports "no limit" as a huge page-aligned number.
_UNLIMITED = 1 << 60


def rss_bytes(proc: str = "/proc") -> int:
    with open(f"{proc}/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def cgroup_limit_bytes(root: str = "/sys/fs/cgroup") -> int | None:
    """The memory limit of our cgroup (v2 memory.max, else v1 memory.limit_in_bytes)."""
    for path in (f"{root}/memory.max", f"{root}/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
        except OSError:
            continue
        if text == "max":
            return None
        try:
            value = int(text)
        except ValueError:
            continue
        return None if value >= _UNLIMITED else value
    return None


def total_memory_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def limits(config, available: int | None = None) -> tuple[int, int]:
    """(hard, soft) limits in bytes, as otelcol's memorylimiter derives them."""
    if config.limit_mib:
        hard = config.limit_mib * _MIB
        spike = (config.spike_limit_mib * _MIB) if config.spike_limit_mib else hard // 5
    else:
        total = available if available is not None else (cgroup_limit_bytes() or total_memory_bytes())
        hard = total * config.limit_percentage // 100
        spike = total * (config.spike_limit_percentage or config.limit_percentage // 5) // 100
    return hard, hard - spike
