"""filesystem scraper: mounts of the host, their usage through statvfs.

The mount table is read from <root>/proc/1/mountinfo: pid 1's mount namespace is the host's,
so in a container with the host's / at root_path this lists the *host's* mount points, not
the container's (gopsutil reads the same file). Usage comes from statvfs on
<root_path>/<mountpoint>, and the mountpoint attribute is the host path.
"""
from __future__ import annotations

import os

from . import filterset
from .procfs import Mount, parse_filesystems, parse_mountinfo, parse_mounts
from .scraper import Scraper, to_ns


def mount_mode(options: list[str]) -> str:
    if "rw" in options:
        return "rw"
    if "ro" in options:
        return "ro"
    return "unknown"


class FilesystemScraper(Scraper):
    name = "filesystem"

    def __init__(self, config, fs, logger=None) -> None:
        super().__init__(config, fs, logger)
        c = config
        self._filters = [
            ("device", filterset.build(c.include_devices.devices, c.include_devices.match_type),
             filterset.build(c.exclude_devices.devices, c.exclude_devices.match_type)),
            ("fstype", filterset.build(c.include_fs_types.fs_types, c.include_fs_types.match_type),
             filterset.build(c.exclude_fs_types.fs_types, c.exclude_fs_types.match_type)),
            ("mountpoint",
             filterset.build(c.include_mount_points.mount_points, c.include_mount_points.match_type),
             filterset.build(c.exclude_mount_points.mount_points, c.exclude_mount_points.match_type)),
        ]

    def partitions(self) -> list[Mount]:
        mounts = None
        for rel in ("1/mountinfo", "self/mountinfo"):
            try:
                mounts = parse_mountinfo(self.fs.read_proc(rel))
                break
            except OSError:
                continue
        if mounts is None:
            mounts = parse_mounts(self.fs.read_proc("self/mounts"))
        if self.config.include_virtual_filesystems:
            return mounts
        # As gopsutil's Partitions(all=false): only device-backed types (no "nodev" in
        # /proc/filesystems) and not the placeholder device "none".
        physical = parse_filesystems(self.fs.read_proc("filesystems"))
        return [m for m in mounts if m.device != "none" and m.fstype in physical]

    def included(self, m: Mount) -> bool:
        values = {"device": m.device, "fstype": m.fstype, "mountpoint": m.mountpoint}
        return all(filterset.include_exclude(values[k], inc, exc) for k, inc, exc in self._filters)

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        seen = set()
        for m in self.partitions():
            if (m.device, m.mountpoint) in seen or not self.included(m):
                continue
            seen.add((m.device, m.mountpoint))
            path = self.fs.mount_path(m.mountpoint)
            try:
                st = self.fs.statvfs(path)
            except OSError as e:
                errors.append(f"failed to read usage at {path}: {e}")
                continue
            frsize = st.f_frsize or st.f_bsize
            total = st.f_blocks * frsize
            free = st.f_bavail * frsize          # available to unprivileged users
            used = (st.f_blocks - st.f_bfree) * frsize
            reserved = total - used - free        # root-reserved blocks
            attrs = (m.device, mount_mode(m.options), m.mountpoint, m.fstype)
            mb.record("system.filesystem.usage", ts, used, *attrs, "used")
            mb.record("system.filesystem.usage", ts, free, *attrs, "free")
            mb.record("system.filesystem.usage", ts, reserved, *attrs, "reserved")
            mb.record("system.filesystem.inodes.usage", ts, st.f_files - st.f_ffree, *attrs, "used")
            mb.record("system.filesystem.inodes.usage", ts, st.f_ffree, *attrs, "free")
            # gopsutil's UsedPercent is 0 for an empty filesystem; upstream still records it.
            mb.record("system.filesystem.utilization", ts,
                      used / (used + free) if used + free else 0.0, *attrs)


def statvfs_result(blocks, bfree, bavail, files, ffree, frsize=4096) -> os.statvfs_result:
    """A statvfs result with chosen numbers, for callers that inject statvfs (tests, benches)."""
    return os.statvfs_result((frsize, frsize, blocks, bfree, bavail, files, ffree, ffree, 0, 255))
