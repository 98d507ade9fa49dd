"""Reads what service discovery needs from /proc: TCP sockets, their owners, containers.

`proc` is a parameter so tests run against fixture trees and a pod reads the host's /proc
mounted at /hostfs/proc. Every reader tolerates processes vanishing mid-scan (they do).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import struct

TCP_ESTABLISHED = 1
TCP_LISTEN = 10


@dataclasses.dataclass(frozen=True)
class TcpSocket:
    inode: int
    local_addr: str
    local_port: int
    remote_addr: str
    remote_port: int
    state: int


def _hex_addr(text: str) -> str:
    """/proc/net/tcp prints addresses as host-order 32-bit words in hex."""
    raw = bytes.fromhex(text)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    if len(raw) == 16:
        words = struct.unpack(">4I", raw)
        packed = struct.pack("<4I", *words)
        addr = ipaddress.IPv6Address(packed)
        return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)
    raise ValueError(f"bad address {text!r}")


def parse_net_tcp(text: str) -> list[TcpSocket]:
    """Parses /proc/<pid>/net/tcp or tcp6; malformed lines are skipped (counted by the caller
    through the shorter result, never fatal)."""
    out = []
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 10:
            continue
        try:
            laddr, lport = parts[1].split(":")
            raddr, rport = parts[2].split(":")
            out.append(TcpSocket(int(parts[9]), _hex_addr(laddr), int(lport, 16),
                                 _hex_addr(raddr), int(rport, 16), int(parts[3], 16)))
        except (ValueError, IndexError):
            continue
    return out


def _read(path: str, mode: str = "r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def list_pids(proc: str) -> list[int]:
    try:
        return sorted(int(n) for n in os.listdir(proc) if n.isdigit())
    except OSError:
        return []


def socket_inodes(proc: str, pid: int) -> dict[int, int]:
    """inode -> fd for every socket fd of pid."""
    base = f"{proc}/{pid}/fd"
    out: dict[int, int] = {}
    try:
        fds = os.listdir(base)
    except OSError:
        return out
    for fd in fds:
        try:
            target = os.readlink(f"{base}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            try:
                out[int(target[8:-1])] = int(fd)
            except ValueError:
                continue
    return out


def net_tcp(proc: str, pid: int) -> list[TcpSocket]:
    """The TCP sockets of pid's network namespace."""
    out: list[TcpSocket] = []
    for name in ("tcp", "tcp6"):
        text = _read(f"{proc}/{pid}/net/{name}")
        if text:
            out.extend(parse_net_tcp(text))
    return out


def netns(proc: str, pid: int) -> str:
    try:
        return os.readlink(f"{proc}/{pid}/ns/net")
    except OSError:
        return ""


def environ_value(proc: str, pid: int, name: str) -> str | None:
    data = _read(f"{proc}/{pid}/environ", "rb")
    if not data:
        return None
    prefix = name.encode() + b"="
    for item in data.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix):].decode("utf-8", "replace")
    return None


def exe_path(proc: str, pid: int) -> str:
    try:
        return os.readlink(f"{proc}/{pid}/exe")
    except OSError:
        return ""


def comm(proc: str, pid: int) -> str:
    return (_read(f"{proc}/{pid}/comm") or "").strip()


def cmdline(proc: str, pid: int) -> list[str]:
    data = _read(f"{proc}/{pid}/cmdline", "rb") or b""
    return [p.decode("utf-8", "replace") for p in data.split(b"\0") if p]


# Container ids are 64 hex chars in every runtime's cgroup path:
#   cgroup v2 + systemd driver: .../kubepods-burstable-pod<uid>.slice/cri-containerd-<id>.scope
#   CRI-O:                       .../crio-<id>.scope
#   docker (systemd driver):     .../docker-<id>.scope
#   cgroupfs driver, v1 or v2:   /kubepods/burstable/pod<uid>/<id>
#   docker cgroupfs:             /docker/<id>
_CONTAINER_ID = re.compile(r"(?:^|[/-])([0-9a-f]{64})(?:\.scope)?$")
_POD_UID = re.compile(r"pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})")


def container_id_from_cgroup(text: str) -> str | None:
    """The container id in the contents of /proc/<pid>/cgroup (v1: several hierarchy lines,
    v2: one `0::` line), or None for a process outside containers."""
    for line in text.splitlines():
        path = line.split(":", 2)[-1].strip()
        for segment in reversed(path.split("/")):
            m = _CONTAINER_ID.search(segment)
            if m:
                return m.group(1)
    return None


def pod_uid_from_cgroup(text: str) -> str | None:
    m = _POD_UID.search(text)
    return m.group(1).replace("_", "-") if m else None


def container_id(proc: str, pid: int) -> str | None:
    text = _read(f"{proc}/{pid}/cgroup")
    return container_id_from_cgroup(text) if text else None
