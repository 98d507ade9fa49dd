"""Builds, checks prerequisites for, and loads the apm receiver's BPF programs with BCC.

C sources: ebpf/bpf/apm_common.h, tcp_tracer.c, http_exchange.c, http_tracer.c, tls_tracer.c. They are
concatenated into ONE program (one ~2-5 s compile) so that they share the pid filter map.

`python -m ebpf.bpf_program [--http]` prints the final C source and compiler flags, like BCC
tools' --ebpf option.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import subprocess
import sys
import threading

from . import btf, headers

log = logging.getLogger(__name__)

BPF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bpf")
MIN_KERNEL = (5, 8)  # BPF ring buffer and bpf_probe_read_user/kernel

# Capabilities (linux/capability.h bit numbers) the agent needs.
CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_PERFMON, CAP_BPF = 19, 21, 38, 39

_compile_lock = threading.Lock()  # BCC_KERNEL_SOURCE is process-wide


class ApmUnavailable(Exception):
    """BPF cannot run here; the message names the fix."""


@dataclasses.dataclass
class Features:
    """What the running kernel offers, probed at start (see `probe_features`)."""
    tracepoints: bool = False
    syscall_tracepoints: bool = False
    sock_length_tracepoints: bool = False  # sock:sock_send_length / sock_recv_length (>= 6.5)
    retransmit_tracepoint: bool = False
    kprobes: bool = False
    fentry: bool = False
    btf: bool = False

    def degraded(self) -> list[str]:
        """Human-readable list of what we run without, for the start-up log line."""
        out = []
        if not self.kprobes:
            out.append("no kprobes (tracepoints used instead)")
        if not self.fentry:
            out.append("no fentry (tracepoints used instead)")
        if not self.sock_length_tracepoints:
            out.append("bytes counted at connection close only (no sock:sock_*_length)")
        if not self.btf:
            out.append("no BTF: RTT and close-time byte counts off")
        if not self.retransmit_tracepoint:
            out.append("no retransmit counts (no tcp:tcp_retransmit_skb)")
        if not self.syscall_tracepoints:
            out.append("no HTTP capture (no syscall tracepoints)")
        return out


def tracefs_root() -> str | None:
    for path in ("/sys/kernel/debug/tracing", "/sys/kernel/tracing"):
        if os.path.isdir(os.path.join(path, "events")):
            return path
    return None


def ensure_tracefs() -> str | None:
    """BCC 0.26 reads tracepoint formats from /sys/kernel/debug/tracing. Pods often start with
    neither debugfs nor tracefs mounted; mounting them needs CAP_SYS_ADMIN, which we need anyway."""
    root = tracefs_root()
    if root:
        return root
    for fstype, target in (("debugfs", "/sys/kernel/debug"), ("tracefs", "/sys/kernel/tracing")):
        try:
            subprocess.run(["mount", "-t", fstype, "nodev", target], check=False,
                           capture_output=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as e:
            log.debug("mount %s failed: %s", fstype, e)
    root = tracefs_root()
    if root:
        log.info("apm: mounted tracefs for tracepoint formats at %s", root)
    return root


def probe_features(tracefs: str | None) -> Features:
    f = Features()
    if tracefs:
        events = os.path.join(tracefs, "events")
        f.tracepoints = os.path.isdir(os.path.join(events, "sock", "inet_sock_set_state"))
        f.syscall_tracepoints = os.path.isdir(os.path.join(events, "syscalls", "sys_enter_read"))
        f.sock_length_tracepoints = (os.path.isdir(os.path.join(events, "sock", "sock_send_length"))
                                     and os.path.isdir(os.path.join(events, "sock", "sock_recv_length")))
        f.retransmit_tracepoint = os.path.isdir(os.path.join(events, "tcp", "tcp_retransmit_skb"))
        f.kprobes = os.path.exists(os.path.join(tracefs, "kprobe_events"))
    f.btf = os.path.exists("/sys/kernel/btf/vmlinux")
    # fentry: BCC's support_kfunc() says yes on kernels that then refuse the attach with EPERM
    # (seen on our test machines), and we have tracepoints for everything we hook, so we do not
    # use fentry; it is reported only when kprobes exist as well (production kernels).
    f.fentry = f.btf and f.kprobes
    return f


def kernel_version(release: str | None = None) -> tuple[int, int]:
    release = release or os.uname().release
    parts = release.split(".")
    try:
        return int(parts[0]), int("".join(ch for ch in parts[1] if ch.isdigit()) or 0)
    except (IndexError, ValueError):
        return (0, 0)


def effective_caps(status_path: str = "/proc/self/status") -> int:
    try:
        with open(status_path) as f:
            for line in f:
                if line.startswith("CapEff:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return 0


def check_prerequisites(release: str | None = None, caps: int | None = None) -> None:
    """Raises ApmUnavailable with one clear message naming the fix."""
    version = kernel_version(release)
    if version < MIN_KERNEL:
        raise ApmUnavailable(
            f"kernel {release or os.uname().release} is older than 5.8, which the eBPF APM agent "
            "needs (BPF ring buffer); upgrade the node kernel or disable the agent with "
            "apmAgent.enabled=false")
    caps = effective_caps() if caps is None else caps
    has = lambda bit: bool(caps >> bit & 1)  # noqa: E731
    if not (has(CAP_BPF) or has(CAP_SYS_ADMIN)):
        raise ApmUnavailable(
            "missing capability CAP_BPF (or CAP_SYS_ADMIN) to load eBPF programs; add it to the "
            "apm agent's securityContext (privileged: true) or disable the agent with "
            "apmAgent.enabled=false")
    if not (has(CAP_PERFMON) or has(CAP_SYS_ADMIN)):
        raise ApmUnavailable(
            "missing capability CAP_PERFMON (or CAP_SYS_ADMIN) to attach tracepoints; add it to "
            "the apm agent's securityContext or disable the agent with apmAgent.enabled=false")
    if not has(CAP_SYS_PTRACE):
        log.warning("apm: CAP_SYS_PTRACE missing: OTEL_SERVICE_NAME of other users' processes "
                    "cannot be read; service names fall back to the executable name")


@dataclasses.dataclass
class ProgramOptions:
    http: bool = False
    max_socks: int = 65536
    max_pids: int = 16384
    max_conns: int = 65536
    tcp_ring_pages: int = 64      # 256 KiB
    http_ring_pages: int = 512    # 2 MiB
    capture_bytes: int = 512      # first bytes of each HTTP message sent to user space
    max_agg: int = 10240          # kernel-side HTTP aggregates (pid, route, status...)
    fast_path: bool = True        # HTTP exchanges measured in the kernel (see http_exchange.c)
    tls: bool = False             # OpenSSL uprobes (tls_tracer.c)


def build_source(opts: ProgramOptions) -> str:
    parts = ["apm_common.h", "tcp_tracer.c"]
    if opts.http:
        parts += ["http_exchange.c", "http_tracer.c"] + (["tls_tracer.c"] if opts.tls else [])
    out = []
    for name in parts:
        with open(os.path.join(BPF_DIR, name)) as f:
            out.append(f"/* ---- {name} ---- */\n" + f.read())
    return "\n".join(out)


TCP_SOCK_MEMBERS = {"OFF_SRTT_US": "srtt_us", "OFF_BYTES_SENT": "bytes_sent",
                    "OFF_BYTES_RETRANS": "bytes_retrans", "OFF_BYTES_RECEIVED": "bytes_received"}


def build_cflags(opts: ProgramOptions, features: Features) -> list[str]:
    offsets: dict[str, int] = {}
    if features.btf:
        try:
            offsets = btf.kernel_struct_offsets("tcp_sock", list(TCP_SOCK_MEMBERS.values()))
        except (OSError, btf.BTFError) as e:
            log.warning("apm: BTF unreadable (%s): RTT and close-time bytes disabled", e)
    flags = [
        f"-DMAX_SOCKS={opts.max_socks}", f"-DMAX_PIDS={opts.max_pids}",
        f"-DMAX_CONNS={opts.max_conns}", f"-DMAX_AGG={opts.max_agg}",
        f"-DTCP_RING_PAGES={opts.tcp_ring_pages}",
        f"-DHTTP_RING_PAGES={opts.http_ring_pages}", f"-DCAPTURE_BYTES={opts.capture_bytes}",
        f"-DHAVE_SOCK_LENGTH={1 if features.sock_length_tracepoints else 0}",
        f"-DFAST_PATH={1 if opts.fast_path else 0}",
        "-Wno-macro-redefined",
    ]
    for macro, member in TCP_SOCK_MEMBERS.items():
        flags.append(f"-D{macro}={offsets.get(member, -1)}")
    return flags


def compile_program(source: str, cflags: list[str], trees: list[headers.HeaderTree]):
    """Compiles against the first header tree that works; logs one line naming it."""
    from bcc import BPF  # heavy import, only when we really load

    errors = []
    candidates: list[headers.HeaderTree | None] = list(trees) or [None]
    for tree in candidates:
        with _compile_lock:
            saved = os.environ.get("BCC_KERNEL_SOURCE")
            if tree is not None:
                os.environ["BCC_KERNEL_SOURCE"] = tree.path
            try:
                bpf = BPF(text=source, cflags=cflags)
            except Exception as e:  # BCC raises bare Exception on compile/load failures
                errors.append(f"{tree.describe() if tree else 'default headers'}: {e}")
                log.warning("apm: compiling against %s failed: %s",
                            tree.describe() if tree else "BCC's default headers", e)
                continue
            finally:
                if saved is None:
                    os.environ.pop("BCC_KERNEL_SOURCE", None)
                else:
                    os.environ["BCC_KERNEL_SOURCE"] = saved
        log.info("apm: eBPF programs compiled against %s",
                 tree.describe() if tree else "BCC's default kernel headers")
        return bpf, tree
    raise ApmUnavailable("cannot compile the eBPF programs with any kernel headers tree ("
                         + "; ".join(errors) + "); mount the host's /lib/modules and /usr/src "
                         "into the apm agent pod")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="print the apm receiver's final BPF C source")
    p.add_argument("--http", action="store_true", help="include HTTP capture")
    p.add_argument("--tls", action="store_true", help="include the OpenSSL uprobes (with --http)")
    args = p.parse_args(argv)
    opts = ProgramOptions(http=args.http, tls=args.tls)
    feats = probe_features(tracefs_root())
    print("// cflags: " + " ".join(build_cflags(opts, feats)))
    print(build_source(opts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
