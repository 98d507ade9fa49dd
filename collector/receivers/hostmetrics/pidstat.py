"""Parsers for one process's /proc/<pid> files (stat, status, io, cmdline)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PidStat:
    comm: str
    state: str
    ppid: int
    minflt: int
    majflt: int
    utime_ticks: int
    stime_ticks: int
    num_threads: int
    start_ticks: int       # since boot
    vsize: int             # bytes
    rss_pages: int
    blkio_ticks: int       # delayacct_blkio_ticks: time blocked on block I/O (iowait)


def parse_pid_stat(text: str) -> PidStat:
    # comm may contain spaces and parentheses: it runs from the first "(" to the *last* ")".
    open_, close = text.index("("), text.rindex(")")
    comm = text[open_ + 1:close]
    f = text[close + 2:].split()
    return PidStat(
        comm=comm, state=f[0], ppid=int(f[1]), minflt=int(f[7]), majflt=int(f[9]),
        utime_ticks=int(f[11]), stime_ticks=int(f[12]), num_threads=int(f[17]),
        start_ticks=int(f[19]), vsize=int(f[20]), rss_pages=int(f[21]),
        blkio_ticks=int(f[39]) if len(f) > 39 else 0)


def parse_status(text: str, keys=None) -> dict[str, str]:
    """/proc/<pid>/status as {key: value}; with keys, only those (found by str.find: the file
    has ~55 lines and the scraper needs two or three of them on every process)."""
    if keys is None:
        out = {}
        for line in text.splitlines():
            k, _, v = line.partition(":")
            out[k] = v.strip()
        return out
    out = {}
    text = "\n" + text
    for key in keys:
        i = text.find(f"\n{key}:")
        if i >= 0:
            start = i + len(key) + 2
            end = text.find("\n", start)
            out[key] = text[start:end if end >= 0 else len(text)].strip()
    return out


def parse_io(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        try:
            out[k] = int(v)
        except ValueError:
            continue
    return out


def parse_cmdline(data: bytes) -> list[str]:
    """NUL-separated argv; empty for kernel threads and zombies."""
    if not data:
        return []
    return data.rstrip(b"\0").decode("utf-8", "replace").split("\0")


def parse_passwd(text: str) -> dict[int, str]:
    users = {}
    for line in text.splitlines():
        f = line.split(":")
        if len(f) >= 3:
            try:
                users.setdefault(int(f[2]), f[0])
            except ValueError:
                continue
    return users
