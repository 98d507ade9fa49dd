"""system detector: host.name, os.type and (opt-in) host.id, host.arch, os.description,
host.ip, host.mac and host.cpu.* of the machine the agent runs on.

host.id is the systemd machine id (/etc/machine-id, else /var/lib/dbus/machine-id). In a pod,
mount the host's /etc and set HOST_ETC to it (gopsutil's convention, as upstream DaemonSets do)
so the id is the node's, not the container image's; HOST_PROC likewise for /proc/cpuinfo.
"""
from __future__ import annotations

import os
import platform
import socket

from .config import SYSTEM_ATTRIBUTES, SystemConfig, enabled_attrs

# Go's GOARCH names, which the collector reports as host.arch.
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "i386": "386", "i686": "386", "armv7l": "arm", "armv6l": "arm", "ppc64le": "ppc64le",
          "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64", "mips64": "mips64"}


def host_etc(environ) -> str:
    return environ.get("HOST_ETC") or "/etc"


def host_proc(environ) -> str:
    return environ.get("HOST_PROC") or "/proc"


def machine_id(environ) -> str:
    etc = host_etc(environ)
    # /var/lib/dbus sits beside etc/ under the same host root when HOST_ETC is set.
    root = os.path.dirname(etc.rstrip("/")) or "/"
    for path in (os.path.join(etc, "machine-id"), os.path.join(root, "var/lib/dbus/machine-id")):
        try:
            with open(path) as f:
                value = f.read().strip()
        except OSError:
            continue
        if value:
            return value
    raise OSError("no machine id in /etc/machine-id or /var/lib/dbus/machine-id")


def _fqdn(hostname: str) -> str:
    infos = socket.getaddrinfo(hostname, None, 0, socket.SOCK_STREAM, 0, socket.AI_CANONNAME)
    canon = infos[0][3] if infos else ""
    if not canon:
        raise OSError(f"no canonical name for {hostname!r}")
    return canon.rstrip(".")


def _lookup(hostname: str) -> str:
    for info in socket.getaddrinfo(hostname, None, 0, socket.SOCK_STREAM):
        try:
            return socket.gethostbyaddr(info[4][0])[0].rstrip(".")
        except OSError:
            continue
    raise OSError(f"no reverse lookup for {hostname!r}")


def hostname_from(sources: list[str], os_hostname: str) -> str:
    """The first source that answers, in the configured order."""
    errors = []
    for source in sources:
        try:
            if source == "os":
                return os_hostname
            if source in ("dns", "cname"):
                return _fqdn(os_hostname)
            if source == "lookup":
                return _lookup(os_hostname)
        except OSError as e:
            errors.append(f"{source}: {e}")
    raise OSError("failed to get host name from any source: " + "; ".join(errors))


def os_description(environ, uname) -> str:
    pretty = ""
    try:
        with open(os.path.join(host_etc(environ), "os-release")) as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    kernel = f"Linux {uname.release} {uname.version} {uname.machine}".strip()
    return f"{pretty} ({kernel})" if pretty else kernel


def cpu_info(environ) -> dict[str, object]:
    with open(os.path.join(host_proc(environ), "cpuinfo")) as f:
        first: dict[str, str] = {}
        for line in f:
            if not line.strip():
                break
            k, _, v = line.partition(":")
            first[k.strip()] = v.strip()
    out: dict[str, object] = {
        "host.cpu.vendor.id": first.get("vendor_id", ""),
        "host.cpu.family": first.get("cpu family", ""),
        "host.cpu.model.id": first.get("model", ""),
        "host.cpu.model.name": first.get("model name", ""),
        "host.cpu.stepping": first.get("stepping", ""),
    }
    cache = first.get("cache size", "").split()
    if cache and cache[0].isdigit():
        out["host.cpu.cache.l2.size"] = int(cache[0])
    return out


def addresses() -> tuple[list[str], list[str]]:
    """Non-loopback IPs and MACs of the host's interfaces (psutil reads them via netlink)."""
    import psutil

    ips, macs = [], []
    for name, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.family in (socket.AF_INET, socket.AF_INET6):
                ip = a.address.split("%")[0]
                if not (ip.startswith("127.") or ip == "::1"):
                    ips.append(ip)
            elif a.family == psutil.AF_LINK and a.address and a.address != "00:00:00:00:00:00":
                macs.append(a.address.replace(":", "-").upper())
    return ips, sorted(set(macs))


def detect(config: SystemConfig, environ, log, uname=None, os_hostname=None) -> dict[str, object]:
    on = enabled_attrs(config.resource_attributes, SYSTEM_ATTRIBUTES)
    uname = uname or platform.uname()
    out: dict[str, object] = {}
    if "host.name" in on:
        out["host.name"] = hostname_from(config.hostname_sources, os_hostname or socket.gethostname())
    if "os.type" in on:
        out["os.type"] = uname.system.lower() or "linux"
    if "host.arch" in on:
        out["host.arch"] = GOARCH.get(uname.machine, uname.machine)
    if "os.description" in on:
        out["os.description"] = os_description(environ, uname)
    if "host.id" in on:
        try:
            out["host.id"] = machine_id(environ)
        except OSError as e:
            log.warning("system detector: host.id not set: %s", e)
    if on & {"host.ip", "host.mac"}:
        ips, macs = addresses()
        if "host.ip" in on:
            out["host.ip"] = ips
        if "host.mac" in on:
            out["host.mac"] = macs
    cpu_keys = {k for k in on if k.startswith("host.cpu.")}
    if cpu_keys:
        try:
            info = cpu_info(environ)
            out.update({k: v for k, v in info.items() if k in cpu_keys})
        except OSError as e:
            log.warning("system detector: host.cpu.* not set: %s", e)
    return out
