"""process scraper: one resource per process, with the collector's process.* resource
attributes and metrics, read from <root>/proc/<pid>/{stat,status,cmdline,exe,io,fd}.

Error handling follows processscraper: a process whose name cannot be read is skipped; an
unreadable executable path, owner or I/O counters is reported (unless muted by the matching
mute_process_*_error key) and the process is still emitted without that piece. A process that
exits while being read is skipped silently: that is normal churn, not an error.
"""
from __future__ import annotations

import os

from . import filterset
from .pidstat import parse_cmdline, parse_io, parse_passwd, parse_pid_stat, parse_status
from .procfs import parse_kv_kb, parse_stat_cpus
from .processes import pids
from .scraper import Scraper, to_ns

_GONE = (FileNotFoundError, ProcessLookupError)


class ProcessScraper(Scraper):
    name = "process"
    start_at_boot = False

    def __init__(self, config, fs, logger=None) -> None:
        super().__init__(config, fs, logger)
        self._inc = filterset.build(config.include.names, config.include.match_type)
        self._exc = filterset.build(config.exclude.names, config.exclude.match_type)
        self._res_on = config.resource_attribute_enabled()
        self._status_keys = ["Uid", "SigQ", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"]
        self._users: dict[int, str] | None = None
        # (pid, start ticks) -> (wall time, user, system, wait): a reused pid is a new process.
        self._prev_cpu: dict[tuple[int, int], tuple[float, float, float, float]] = {}

    def _username(self, uid: int) -> str | None:
        if self._users is None:
            try:
                self._users = parse_passwd(self.fs.read(self.fs.path("etc", "passwd")))
            except OSError:
                self._users = {}
        return self._users.get(uid)

    def scrape(self):
        self._users = None  # re-read /etc/passwd each scrape: users come and go
        return super().scrape()

    def record(self, now: float, errors: list[str]) -> None:
        fs, mb = self.fs, self.mb
        boot = fs.boot_time()
        ticks = fs.clock_ticks
        mem_total = ncpu = 0
        if mb.enabled("process.memory.utilization"):
            mem_total = parse_kv_kb(fs.read_proc("meminfo")).get("MemTotal", 0)
        if mb.enabled("process.cpu.utilization"):
            ncpu = len(parse_stat_cpus(fs.read_proc("stat"), ticks)) or 1
        live = set()
        for pid_s in pids(fs):
            pid = int(pid_s)
            try:
                self._one(pid, pid_s, now, boot, ticks, mem_total, ncpu, errors, live)
            except _GONE:
                self.mb.discard()  # exited while being read: drop its half-recorded points
            except (OSError, ValueError, IndexError) as e:
                self.mb.discard()
                errors.append(f"error reading process {pid}: {e}")
        for key in list(self._prev_cpu):
            if key not in live:
                del self._prev_cpu[key]

    def _one(self, pid, pid_s, now, boot, ticks, mem_total, ncpu, errors, live) -> None:
        fs, mb, cfg = self.fs, self.mb, self.config
        base = fs.proc(pid_s)
        try:
            st = parse_pid_stat(fs.read(base + "/stat"))
        except _GONE:
            raise
        except (OSError, ValueError, IndexError) as e:
            if not cfg.muted("name"):
                errors.append(f"error reading process name for pid {pid}: {e}")
            return
        try:
            exe = fs.readlink(base + "/exe")
        except _GONE as e:
            # Kernel threads have no executable: gopsutil reports that as an error too.
            if not os.path.exists(base):
                raise
            exe = ""
            if not cfg.muted("exe"):
                errors.append(f"error reading process executable for pid {pid}: {e}")
        except OSError as e:
            exe = ""
            if not cfg.muted("exe"):
                errors.append(f"error reading process executable for pid {pid}: {e}")
        try:
            argv = parse_cmdline(fs.read_bytes(base + "/cmdline"))
        except _GONE:
            raise
        except OSError as e:
            argv = []
            errors.append(f"error reading command for process {st.comm!r} (pid {pid}): {e}")
        name = st.comm
        # The kernel truncates comm to 15 bytes; gopsutil restores it from argv[0].
        if len(name) >= 15 and argv:
            base0 = os.path.basename(argv[0])
            if base0.startswith(name):
                name = base0
        if not filterset.include_exclude(name, self._inc, self._exc):
            return
        create = boot + st.start_ticks / ticks
        if cfg.scrape_process_delay and now - create < cfg.scrape_process_delay:
            return
        try:
            status = parse_status(fs.read(base + "/status"), self._status_keys)
        except _GONE:
            raise
        except OSError as e:
            status = {}
            errors.append(f"error reading status for process {name!r} (pid {pid}): {e}")
        owner = ""
        if self._res_on.get("process.owner"):
            uids = status.get("Uid", "").split()
            user = self._username(int(uids[0])) if uids else None
            if user is None:
                if not cfg.muted("user"):
                    errors.append(f"error reading username for process {name!r} (pid {pid}): "
                                  f"unknown userid {uids[0] if uids else '?'}")
            else:
                owner = user
        ts = to_ns(now)
        self._record_metrics(pid, pid_s, name, st, status, now, ts, create, ticks, mem_total, ncpu,
                             errors, live)
        res = {"process.pid": pid, "process.parent_pid": st.ppid,
               "process.executable.name": name, "process.executable.path": exe,
               "process.command": argv[0] if argv else "",
               "process.command_line": " ".join(argv), "process.owner": owner}
        if self._res_on.get("process.cgroup"):
            try:
                res["process.cgroup"] = fs.read(base + "/cgroup").strip()
            except OSError as e:
                if not cfg.muted("cgroup"):
                    errors.append(f"error reading process cgroup for pid {pid}: {e}")
        res = {k: v for k, v in res.items() if self._res_on.get(k)}
        mb.emit_for_resource(res, start_time_ns=to_ns(create))

    def _record_metrics(self, pid, pid_s, name, st, status, now, ts, create, ticks, mem_total,
                        ncpu, errors, live) -> None:
        fs, mb, cfg = self.fs, self.mb, self.config
        user, system, wait = st.utime_ticks / ticks, st.stime_ticks / ticks, st.blkio_ticks / ticks
        mb.record("process.cpu.time", ts, user, "user")
        mb.record("process.cpu.time", ts, system, "system")
        mb.record("process.cpu.time", ts, wait, "wait")
        if ncpu:
            key = (pid, st.start_ticks)
            live.add(key)
            prev = self._prev_cpu.get(key)
            self._prev_cpu[key] = (now, user, system, wait)
            if prev is not None and now > prev[0]:
                span = (now - prev[0]) * ncpu
                for state, cur, old in (("user", user, prev[1]), ("system", system, prev[2]),
                                        ("wait", wait, prev[3])):
                    mb.record("process.cpu.utilization", ts, (cur - old) / span, state)
        rss = st.rss_pages * fs.page_size
        mb.record("process.memory.usage", ts, rss)
        mb.record("process.memory.virtual", ts, st.vsize)
        if mem_total:
            # A percentage (0-100), as upstream records gopsutil's MemoryPercent despite unit "1".
            mb.record("process.memory.utilization", ts, 100.0 * rss / mem_total)
        if mb.any_enabled("process.disk.io", "process.disk.operations"):
            try:
                io = parse_io(fs.read(fs.proc(pid_s, "io")))
                mb.record("process.disk.io", ts, io.get("read_bytes", 0), "read")
                mb.record("process.disk.io", ts, io.get("write_bytes", 0), "write")
                mb.record("process.disk.operations", ts, io.get("syscr", 0), "read")
                mb.record("process.disk.operations", ts, io.get("syscw", 0), "write")
            except OSError as e:
                if isinstance(e, _GONE) and not os.path.exists(fs.proc(pid_s)):
                    raise
                if not cfg.muted("io"):
                    errors.append(f"error reading disk usage for process {name!r} (pid {pid}): {e}")
        mb.record("process.paging.faults", ts, st.majflt, "major")
        mb.record("process.paging.faults", ts, st.minflt, "minor")
        mb.record("process.threads", ts, st.num_threads)
        if mb.enabled("process.context_switches"):
            mb.record("process.context_switches", ts,
                      int(status.get("nonvoluntary_ctxt_switches", 0)), "involuntary")
            mb.record("process.context_switches", ts,
                      int(status.get("voluntary_ctxt_switches", 0)), "voluntary")
        if mb.enabled("process.signals_pending") and "SigQ" in status:
            mb.record("process.signals_pending", ts, int(status["SigQ"].split("/")[0]))
        if mb.enabled("process.open_file_descriptors"):
            try:
                mb.record("process.open_file_descriptors", ts, len(fs.listdir(fs.proc(pid_s, "fd"))))
            except OSError as e:
                if isinstance(e, _GONE) and not os.path.exists(fs.proc(pid_s)):
                    raise
                errors.append(f"error reading open file descriptor count for process {name!r} "
                              f"(pid {pid}): {e}")
        mb.record("process.uptime", ts, max(0.0, now - create))
