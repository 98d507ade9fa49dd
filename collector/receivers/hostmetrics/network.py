"""network scraper: interface counters from net/dev, TCP states from net/tcp{,6}.

/proc/net is a link to /proc/self/net, the *reader's* network namespace. With a root_path
(the host's / mounted in a container) we read <root>/proc/1/net/...: pid 1's namespace is the
host's, so a pod without hostNetwork still reports the node's interfaces. Without root_path
this machine's own /proc/net is read, as node_exporter does.
"""
from __future__ import annotations

import os

from . import filterset
from .metadata import ALL_TCP_STATES
from .procfs import count_tcp_states, parse_net_dev
from .scraper import Scraper, to_ns


class NetworkScraper(Scraper):
    name = "network"

    def __init__(self, config, fs, logger=None) -> None:
        super().__init__(config, fs, logger)
        self._inc = filterset.build(config.include.interfaces, config.include.match_type)
        self._exc = filterset.build(config.exclude.interfaces, config.exclude.match_type)
        self._net_dir: str | None = None

    def net_path(self, name: str) -> str:
        if self._net_dir is None:
            host_ns = self.fs.proc("1", "net")
            self._net_dir = host_ns if self.fs.is_rooted and os.path.isdir(host_ns) else self.fs.proc("net")
        return f"{self._net_dir}/{name}"

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        devs_ok = True
        if mb.any_enabled("system.network.io", "system.network.packets", "system.network.errors",
                          "system.network.dropped"):
            try:
                devs = parse_net_dev(self.fs.read(self.net_path("dev")))
            except OSError as e:
                devs_ok = False
                errors.append(f"failed to read network IO stats: {e}")
                devs = []
            for d in devs:
                if not filterset.include_exclude(d.name, self._inc, self._exc):
                    continue
                mb.record("system.network.io", ts, d.rx_bytes, d.name, "receive")
                mb.record("system.network.io", ts, d.tx_bytes, d.name, "transmit")
                mb.record("system.network.packets", ts, d.rx_packets, d.name, "receive")
                mb.record("system.network.packets", ts, d.tx_packets, d.name, "transmit")
                mb.record("system.network.errors", ts, d.rx_errs, d.name, "receive")
                mb.record("system.network.errors", ts, d.tx_errs, d.name, "transmit")
                mb.record("system.network.dropped", ts, d.rx_drop, d.name, "receive")
                mb.record("system.network.dropped", ts, d.tx_drop, d.name, "transmit")
        if mb.enabled("system.network.connections"):
            counts = dict.fromkeys(ALL_TCP_STATES, 0)
            read_any = False
            for table in ("tcp", "tcp6"):
                try:
                    count_tcp_states(self.fs.read(self.net_path(table)), counts)
                    read_any = True
                except OSError as e:
                    # A kernel without IPv6 has no tcp6 table: that is not an error.
                    if table == "tcp":
                        errors.append(f"failed to read TCP connections: {e}")
            if read_any:
                for state, n in counts.items():
                    mb.record("system.network.connections", ts, n, "tcp", state)
            elif not devs_ok:
                raise OSError(f"cannot read {self.net_path('dev')} nor {self.net_path('tcp')}")
        for metric, fname in (("system.network.conntrack.count", "nf_conntrack_count"),
                              ("system.network.conntrack.max", "nf_conntrack_max")):
            if mb.enabled(metric):
                try:
                    value = int(self.fs.read_proc("sys/net/netfilter", fname).strip())
                except (OSError, ValueError) as e:
                    errors.append(f"failed to read conntrack info: {e}")
                    continue
                mb.record(metric, ts, value)
