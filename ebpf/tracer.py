"""Runs the compiled BPF program: polls its ring buffers on a thread, hands decoded events to
handlers, and gives user space's decisions (which pids to trace) back to the kernel.

BCC objects are not thread-safe; only the poll thread touches ring buffers, and map reads or
writes from other threads go through `self.lock`.
"""
from __future__ import annotations

import ctypes
import logging
import os
import threading
from typing import Callable

from . import bpf_program, headers

log = logging.getLogger(__name__)

TRACK_AUTO, TRACK_ON, TRACK_OFF = 1, 2, 3
# The kernel's lost-event counters (the `drops` array of apm_common.h), by index.
DROP_REASONS = ("tcp_ring_full", "http_ring_full", "pid_table_full", "http_request_missed_at_attach")


class BpfTracer:
    def __init__(self, opts: bpf_program.ProgramOptions, header_search: list[str],
                 headers_cache_dir: str, on_tcp: Callable, on_http: Callable | None = None,
                 logger: logging.Logger | None = None,
                 count_drop: Callable[[str, int], None] | None = None) -> None:
        self.opts = opts
        self.header_search = header_search
        self.headers_cache_dir = headers_cache_dir
        self.on_tcp = on_tcp
        self.on_http = on_http
        self.log = logger or log
        self.bpf = None
        self.features: bpf_program.Features | None = None
        self.tree: headers.HeaderTree | None = None
        self.lock = threading.RLock()  # handlers called under it may update maps
        self.tls_libraries: list[str] = []
        self.tls_attached: list[str] = []
        self._tls_inodes: set[tuple[int, int]] = set()
        self.handler_errors = 0
        self._count_drop = count_drop or (lambda reason, n: None)
        self.poll_interval = 0.05  # seconds between ring buffer drains
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def load(self) -> None:
        """Compiles and attaches; raises bpf_program.ApmUnavailable with the fix in the message."""
        bpf_program.check_prerequisites()
        tracefs = bpf_program.ensure_tracefs()
        if tracefs is None:
            raise bpf_program.ApmUnavailable(
                "tracefs is not mounted and cannot be mounted (needs CAP_SYS_ADMIN); mount "
                "/sys/kernel/debug or /sys/kernel/tracing into the apm agent pod, or disable the "
                "agent with apmAgent.enabled=false")
        self.features = f = bpf_program.probe_features(tracefs)
        if not f.tracepoints:
            raise bpf_program.ApmUnavailable(
                "the kernel has no sock:inet_sock_set_state tracepoint (needs Linux >= 4.16); "
                "disable the agent with apmAgent.enabled=false")
        if self.opts.http and not f.syscall_tracepoints:
            self.opts.http = False
        trees = headers.candidate_trees(cache_dir=self.headers_cache_dir,
                                        generic_search=self.header_search)
        source = bpf_program.build_source(self.opts)
        self.bpf, self.tree = bpf_program.compile_program(
            source, bpf_program.build_cflags(self.opts, f), trees)
        self.set_pid(os.getpid(), TRACK_OFF)  # never trace ourselves
        self.bpf["tcp_events"].open_ring_buffer(self._tcp_cb)
        if self.opts.http:
            # the request scan runs as a tail-called program (see http_exchange.c)
            from bcc import BPF
            fn = self.bpf.load_func("scan_request", BPF.TRACEPOINT)
            self.bpf["scan_progs"][ctypes.c_int(0)] = ctypes.c_int(fn.fd)
            if self.opts.tls:
                self._attach_tls()
            if self.on_http:
                self.bpf["http_events"].open_ring_buffer(self._http_cb)
        degraded = f.degraded() + ([] if self.opts.http else ["HTTP capture off"])
        if self.opts.http and not (self.opts.tls and self.tls_attached):
            degraded.append("no HTTPS plaintext (no OpenSSL uprobes)")
        self.log.info("apm: eBPF tracer loaded; degraded features: %s",
                      "; ".join(degraded) if degraded else "none")

    def _attach_tls(self) -> None:
        """OpenSSL uprobes (tls_tracer.c) on every library of ebpf.tls_libraries found here."""
        from bcc import BPF
        fn = self.bpf.load_func("scan_request_uprobe", BPF.KPROBE)
        self.bpf["scan_progs_tls"][ctypes.c_int(0)] = ctypes.c_int(fn.fd)
        for path in resolve_libraries(self.tls_libraries):
            self._attach_ssl_library(path)
        if self.tls_attached:
            self.log.info("apm: HTTPS plaintext captured through OpenSSL uprobes on %s",
                          ", ".join(self.tls_attached))

    def _attach_ssl_library(self, path: str) -> bool:
        """Uprobes on one libssl file. A uprobe belongs to the file (inode), so every process
        mapping that file is covered; files already probed are skipped."""
        try:
            st = os.stat(path)
        except OSError:
            return False
        inode = (st.st_dev, st.st_ino)
        if inode in self._tls_inodes or len(self._tls_inodes) >= MAX_TLS_LIBRARIES:
            return False
        self._tls_inodes.add(inode)
        try:
            with self.lock:
                for sym, prog in (("SSL_set_fd", "tls_set_fd"), ("SSL_write", "tls_write"),
                                  ("SSL_write_ex", "tls_write"), ("SSL_read", "tls_read"),
                                  ("SSL_read_ex", "tls_read_ex")):
                    self.bpf.attach_uprobe(name=path, sym=sym, fn_name=prog)
                for sym in ("SSL_read", "SSL_read_ex"):
                    self.bpf.attach_uretprobe(name=path, sym=sym, fn_name="tls_read_ret")
        except Exception as e:  # an OpenSSL without the _ex calls, or no uprobes
            self.log.warning("apm: OpenSSL uprobes on %s failed: %s", path, e)
            return False
        self.tls_attached.append(path)
        return True

    def attach_tls_for_process(self, pid: int, proc: str = "/proc") -> list[str]:
        """Probes the libssl a discovered process has mapped, through /proc/<pid>/root so that
        a container's own copy is found. Returns the newly probed paths."""
        if self.bpf is None or not self.opts.tls:
            return []
        try:
            with open(f"{proc}/{pid}/maps") as f:
                mapped = {line.split(None, 5)[5].strip() for line in f
                          if "libssl.so" in line and len(line.split(None, 5)) == 6}
        except OSError:
            return []
        added = []
        for lib in sorted(mapped):
            path = f"{proc}/{pid}/root{lib}"
            if self._attach_ssl_library(path):
                added.append(path)
                self.log.info("apm: OpenSSL uprobes on %s (mapped by pid %d)", lib, pid)
        return added

    def _handler_failed(self, what: str) -> None:
        """A handler bug must not kill the poll thread: the event is lost, counted."""
        self.handler_errors += 1
        self._count_drop("handler_error", 1)
        if self.handler_errors <= 3:
            self.log.exception("apm: %s failed", what)

    def _tcp_cb(self, _ctx, data, _size) -> int:
        try:
            self.on_tcp(self.bpf["tcp_events"].event(data))
        except Exception:
            self._handler_failed("tcp event handler")
        return 0

    def _http_cb(self, _ctx, data, size) -> int:
        try:
            self.on_http(self.bpf["http_events"].event(data), size)
        except Exception:
            self._handler_failed("http event handler")
        return 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="apm-bpf-poll", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The kernel side submits with BPF_RB_NO_WAKEUP (one wakeup per event would cost more
        # than the event), so we consume on a short timer instead of blocking in epoll.
        while not self._stop.wait(self.poll_interval):
            try:
                with self.lock:
                    self.bpf.ring_buffer_consume()
            except Exception:
                self._handler_failed("ring buffer poll")

    def poll_now(self) -> None:
        """Drains pending events on the caller's thread (tests; final flush at shutdown)."""
        with self.lock:
            self.bpf.ring_buffer_consume()

    def set_pid(self, pid: int, state: int) -> None:
        if self.bpf is None or pid <= 0:
            return
        table = self.bpf["tracked_pids"]
        with self.lock:
            try:
                table[table.Key(pid)] = table.Leaf(state)
            except Exception:  # table full: the kernel side counts it as well
                pass

    def live_sockets(self) -> dict[int, tuple[int, int, int, int]]:
        """sk -> (pid, sent, recv, retrans) for every tracked socket (live byte counts)."""
        out = {}
        with self.lock:
            for k, v in self.bpf["socks"].items():
                out[k.value] = (v.pid, v.sent, v.recv, v.retrans)
        return out

    def drops(self) -> dict[int, int]:
        with self.lock:
            return {k.value: v.value for k, v in self.bpf["drops"].items()}

    def table(self, name: str):
        return self.bpf[name]

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout)
        if self.bpf is not None:
            with self.lock:
                try:
                    self.bpf.cleanup()
                except Exception:
                    pass
            self.bpf = None


MAX_TLS_LIBRARIES = 64  # distinct libssl files probed; bounds the number of uprobes
LIBRARY_DIRS = ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
                "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib")


def resolve_libraries(names: list[str]) -> list[str]:
    """Absolute paths of the shared libraries named (BCC resolves symbols only by path here)."""
    out = []
    for name in names:
        candidates = [name] if os.path.isabs(name) else [os.path.join(d, name) for d in LIBRARY_DIRS]
        for path in candidates:
            real = os.path.realpath(path)
            if os.path.isfile(real) and real not in out:
                out.append(real)
                break
    return out
