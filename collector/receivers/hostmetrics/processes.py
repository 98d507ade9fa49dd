"""processes scraper: process counts by status, and processes created since boot.

Counts per status come from each /proc/<pid>/stat state letter (mapped as gopsutil maps them);
running and blocked are then replaced by procs_running / procs_blocked from /proc/stat, one
read that does not race with processes coming and going (as the collector does).
"""
from __future__ import annotations

from .procfs import parse_stat_fields
from .scraper import Scraper, to_ns

# ps(1) state letters -> the collector's status attribute values.
STATUS_BY_LETTER = {
    "A": "daemon", "D": "blocked", "U": "blocked", "E": "detached", "I": "idle", "L": "locked",
    "O": "orphan", "R": "running", "S": "sleeping", "T": "stopped", "t": "stopped",
    "W": "paging", "Y": "system", "Z": "zombies",
}


def pids(fs) -> list[str]:
    return [p for p in fs.listdir(fs.proc()) if p.isdigit()]


def state_letter(stat_text: str) -> str:
    return stat_text[stat_text.rindex(")") + 2:][:1]


class ProcessesScraper(Scraper):
    name = "processes"

    def record(self, now: float, errors: list[str]) -> None:
        ts = to_ns(now)
        mb = self.mb
        fields = parse_stat_fields(self.fs.read_proc("stat"))
        if mb.enabled("system.processes.count"):
            counts: dict[str, int] = {}
            for pid in pids(self.fs):
                try:
                    letter = state_letter(self.fs.read_proc(pid, "stat"))
                except (OSError, ValueError):
                    continue  # the process exited between listdir and read
                status = STATUS_BY_LETTER.get(letter, "unknown")
                counts[status] = counts.get(status, 0) + 1
            if "procs_running" in fields:
                counts["running"] = fields["procs_running"]
            if "procs_blocked" in fields:
                counts["blocked"] = fields["procs_blocked"]
            for status, n in sorted(counts.items()):
                mb.record("system.processes.count", ts, n, status)
        if "processes" in fields:
            mb.record("system.processes.created", ts, fields["processes"])
        elif mb.enabled("system.processes.created"):
            errors.append(f"no processes line in {self.fs.proc('stat')}")
