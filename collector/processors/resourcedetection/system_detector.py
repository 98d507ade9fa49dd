"""system detector: host.name, os.type and (opt-in) host.id, host.arch, os.description,
os.version, host.ip, host.mac and host.cpu.* of the machine the agent runs on.

host.id is the systemd machine id (/etc/machine-id, else /var/lib/dbus/machine-id). In a pod,
mount the host's /etc and set HOST_ETC to it (gopsutil's convention, as upstream DaemonSets do)
so the id is the node's, not the container image's; HOST_PROC likewise for /proc/cpuinfo.
"""
from __future__ import annotations

import os
import platform
import socket

from .config import SYSTEM_ATTRIBUTES, SystemConfig, enabled_attrs

# uname machine -> Go's GOARCH -> host.arch as the collector maps it (GOARCHtoHostArch:
# 386 -> x86, arm -> arm32, ppc64le -> ppc64; the other GOARCH names pass through).
GOARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64",
          "i386": "x86", "i686": "x86", "armv7l": "arm32", "armv6l": "arm32",
          "ppc64le": "ppc64", "ppc64": "ppc64", "s390x": "s390x", "riscv64": "riscv64",
          "mips64": "mips64"}


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


def _os_release_unescape(value: str) -> str:
    if len(value) >= 2 and value[0] in "\"'" and value[0] == value[-1]:
        value = value[1:-1]
    for esc, ch in (("\\$", "$"), ('\\"', '"'), ("\\'", "'"), ("\\\\", "\\"), ("\\`", "`")):
        value = value.replace(esc, ch)
    return value


def os_release(environ) -> dict[str, str]:
    """os-release(5) as {KEY: value}: $HOST_ETC/os-release, else usr/lib/os-release beside it
    (the files the OTel Go SDK reads, which the collector's os.description comes from)."""
    etc = host_etc(environ)
    root = os.path.dirname(etc.rstrip("/")) or "/"
    for path in (os.path.join(etc, "os-release"), os.path.join(root, "usr/lib/os-release")):
        try:
            with open(path) as f:
                text = f.read()
        except OSError:
            continue
        out = {}
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            k, _, v = line.partition("=")
            out[k.strip()] = _os_release_unescape(v.strip())
        return out
    return {}


def os_description(environ, uname) -> str:
    # The OTel Go SDK's osRelease: "NAME VERSION" (VERSION_ID when VERSION is absent), else
    # PRETTY_NAME; then the uname fields in parentheses.
    rel = os_release(environ)
    name, version = rel.get("NAME", ""), rel.get("VERSION") or rel.get("VERSION_ID", "")
    release = f"{name} {version}" if name and version else rel.get("PRETTY_NAME", "")
    kernel = f"{uname.system or 'Linux'} {uname.release} {uname.version} {uname.machine}".strip()
    return f"{release} ({kernel})" if release else kernel


def os_version(environ) -> str:
    """gopsutil's PlatformVersion: Debian's /etc/debian_version (12.5, finer than os-release),
    else os-release VERSION_ID (what gopsutil's distro-specific files agree with elsewhere)."""
    rel = os_release(environ)
    if rel.get("ID") == "debian":
        try:
            with open(os.path.join(host_etc(environ), "debian_version")) as f:
                value = f.read().strip()
            if value:
                return value
        except OSError:
            pass
    return rel.get("VERSION_ID", "")


def cpu_info(environ) -> dict[str, object]:
    with open(os.path.join(host_proc(environ), "cpuinfo")) as f:
        first: dict[str, str] = {}
        for line in f:
            if not line.strip():
                break
            k, _, v = line.partition(":")
            first[k.strip()] = v.strip()
    # As the collector's setHostCPUInfo over gopsutil's InfoStat: stepping is the int printed
    # with %d (0 when absent), the cache size an int (0 when absent), and model.id is left
    # out when blank.
    stepping = first.get("stepping", "")
    cache = first.get("cache size", "").split()
    out: dict[str, object] = {
        "host.cpu.vendor.id": first.get("vendor_id", ""),
        "host.cpu.family": first.get("cpu family", ""),
        "host.cpu.model.name": first.get("model name", ""),
        "host.cpu.stepping": str(int(stepping)) if stepping.isdigit() else "0",
        "host.cpu.cache.l2.size": int(cache[0]) if cache and cache[0].isdigit() else 0,
    }
    if first.get("model", ""):
        out["host.cpu.model.id"] = first["model"]
    return out


def addresses() -> tuple[list[str], list[str]]:
    """Non-loopback IPs and MACs of the host's interfaces (psutil reads them via netlink).
    Interfaces that are down or loopback are skipped, as the collector's HostIPs/HostMACs do."""
    import psutil

    stats = psutil.net_if_stats()
    ips, macs = [], []
    for name, addrs in psutil.net_if_addrs().items():
        st = stats.get(name)
        if st is not None and (not st.isup or "loopback" in getattr(st, "flags", "").split(",")):
            continue
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
    if "os.version" in on:
        out["os.version"] = os_version(environ)
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
