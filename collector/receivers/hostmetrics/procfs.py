"""Parsers for the system-wide /proc files the scrapers read (pure functions on file text).

Formats are those of proc(5). Each parser tolerates a malformed line by skipping it (the line
is counted by the caller through the returned `bad` count where that matters) rather than
failing the whole file: one odd interface or disk must not hide all the others.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

# /proc/stat cpu columns, in kernel order (Documentation/filesystems/proc.rst).
CPU_COLUMNS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest",
               "guest_nice")


def parse_stat_cpus(text: str, ticks: int) -> dict[str, dict[str, float]]:
    """Per-CPU seconds by column ("cpu0" -> {"user": 12.3, ...}); the summary "cpu" is skipped."""
    cpus: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        fields = line.split()
        try:
            values = [int(v) / ticks for v in fields[1:]]
        except ValueError:
            continue
        if len(values) < 4:
            continue
        cpus[fields[0]] = dict(zip(CPU_COLUMNS, values + [0.0] * (len(CPU_COLUMNS) - len(values))))
    return cpus


def parse_stat_fields(text: str) -> dict[str, int]:
    """The single-number lines of /proc/stat: btime, processes, procs_running, procs_blocked..."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and not parts[0].startswith("cpu"):
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_kv_kb(text: str) -> dict[str, int]:
    """/proc/meminfo: "Name:  123 kB" -> {"Name": 125952} in bytes (lines without kB as is)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if not parts:
            continue
        try:
            value = int(parts[0])
        except ValueError:
            continue
        out[name.strip()] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return out


def parse_vmstat(text: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            try:
                out[parts[0]] = int(parts[1])
            except ValueError:
                continue
    return out


def parse_loadavg(text: str) -> tuple[float, float, float]:
    parts = text.split()
    return float(parts[0]), float(parts[1]), float(parts[2])


def parse_uptime(text: str) -> float:
    return float(text.split()[0])


@dataclass
class Mount:
    device: str
    mountpoint: str
    fstype: str
    options: list[str]


def _unescape_mount(field: str) -> str:
    # The kernel octal-escapes space, tab, newline and backslash in mount paths (\040 etc.).
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1:i + 4].isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """/proc/<pid>/mountinfo: mount options are the per-mount ones plus the superblock ones."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        lf, rf = left.split(), right.split()
        if len(lf) < 6 or len(rf) < 2:
            continue
        opts = lf[5].split(",") + (rf[2].split(",") if len(rf) > 2 else [])
        mounts.append(Mount(device=_unescape_mount(rf[1]), mountpoint=_unescape_mount(lf[4]),
                            fstype=rf[0], options=opts))
    return mounts


def parse_mounts(text: str) -> list[Mount]:
    """/proc/mounts (fstab format), used where mountinfo is unavailable."""
    mounts = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        mounts.append(Mount(device=_unescape_mount(f[0]), mountpoint=_unescape_mount(f[1]),
                            fstype=f[2], options=f[3].split(",")))
    return mounts


def parse_filesystems(text: str) -> set[str]:
    """Filesystem types backed by a device: /proc/filesystems lines not marked "nodev", plus
    zfs, which the kernel marks nodev but gopsutil (hence the collector) counts as physical."""
    out = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 1:
            out.add(parts[0])
        elif parts == ["nodev", "zfs"]:
            out.add("zfs")
    return out


@dataclass
class DiskStats:
    name: str
    reads: int
    reads_merged: int
    read_sectors: int
    read_ms: int
    writes: int
    writes_merged: int
    write_sectors: int
    write_ms: int
    in_flight: int
    io_ms: int
    weighted_ms: int


def parse_diskstats(text: str) -> list[DiskStats]:
    out = []
    for line in text.splitlines():
        f = line.split()
        if len(f) < 14:
            continue
        try:
            n = [int(v) for v in f[3:14]]
        except ValueError:
            continue
        out.append(DiskStats(f[2], *n))
    return out


@dataclass
class NetDev:
    name: str
    rx_bytes: int
    rx_packets: int
    rx_errs: int
    rx_drop: int
    tx_bytes: int
    tx_packets: int
    tx_errs: int
    tx_drop: int


def parse_net_dev(text: str) -> list[NetDev]:
    out = []
    for line in text.splitlines()[2:]:  # two header lines
        name, sep, rest = line.partition(":")
        if not sep:
            continue
        f = rest.split()
        if len(f) < 16:
            continue
        try:
            v = [int(x) for x in f[:16]]
        except ValueError:
            continue
        out.append(NetDev(name.strip(), v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11]))
    return out


# include/net/tcp_states.h, named as gopsutil names them (the collector reports these names).
TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
    "05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK",
    "0A": "LISTEN", "0B": "CLOSING",
}


# The state is the 4th column of every row ("sl local rem st ..."); one regex pass in C is
# several times cheaper than splitting thousands of rows (TIME_WAIT-heavy hosts have many).
_TCP_STATE_COLUMN = re.compile(r"^\s*\d+:\s+\S+\s+\S+\s+([0-9A-Fa-f]{2})\s", re.M)


def count_tcp_states(text: str, counts: dict[str, int]) -> None:
    """Add one /proc/net/tcp{,6} table's sockets to counts, keyed by state name."""
    for code, n in Counter(_TCP_STATE_COLUMN.findall(text)).items():
        state = TCP_STATES.get(code.upper())
        if state is not None:
            counts[state] = counts.get(state, 0) + n


@dataclass
class Swap:
    device: str
    size: int   # bytes
    used: int   # bytes


def parse_swaps(text: str) -> list[Swap]:
    lines = text.splitlines()
    if not lines or not lines[0].startswith("Filename"):
        raise ValueError("unexpected /proc/swaps header")
    out = []
    for line in lines[1:]:
        f = line.split()
        if len(f) < 4:
            continue
        try:
            out.append(Swap(_unescape_mount(f[0]), int(f[2]) * 1024, int(f[3]) * 1024))
        except ValueError:
            continue
    return out


def parse_cpuinfo(text: str) -> list[dict[str, str]]:
    """One dict per logical processor block."""
    blocks, cur = [], {}
    for line in text.splitlines():
        if not line.strip():
            if cur:
                blocks.append(cur)
                cur = {}
            continue
        k, _, v = line.partition(":")
        cur[k.strip()] = v.strip()
    if cur:
        blocks.append(cur)
    return blocks
