"""Shared fixtures: a HostFS on the fake node tree, and a way to run one scraper on it.

The tree under tests/fixtures/hostmetrics/node is a trimmed copy of a real node's /proc, /sys
and /etc, with numbers chosen so every expected value below can be worked out by hand.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.config import decode
from collector.receivers.hostmetrics.config import SCRAPER_CONFIGS
from collector.receivers.hostmetrics.filesystem import statvfs_result
from collector.receivers.hostmetrics.hostfs import HostFS
from collector.receivers.hostmetrics.receiver import SCRAPER_CLASSES

NODE = Path(__file__).resolve().parents[2] / "fixtures" / "hostmetrics" / "node"
BOOT = 1_700_000_000          # btime in proc/stat
NOW = BOOT + 86_400.5         # the fake wall clock
TICKS = 100                   # USER_HZ of the fixture
PAGE = 4096

# statvfs per mount point as the scraper asks for it (<root>/<mountpoint>).
STATVFS = {
    "/": statvfs_result(blocks=1000, bfree=400, bavail=350, files=500, ffree=100),
    "/boot": statvfs_result(blocks=100, bfree=100, bavail=95, files=50, ffree=50),
    "/var/lib/my data": statvfs_result(blocks=10_000, bfree=2_000, bavail=2_000, files=0, ffree=0),
    "/run": statvfs_result(blocks=200_000, bfree=199_000, bavail=199_000, files=1000, ffree=900),
}


def fake_statvfs(root: Path):
    def statvfs(path: str):
        rel = "/" + os.path.relpath(path, root).lstrip(".")
        rel = "/" if rel in ("/", "//") else rel.rstrip("/")
        if rel not in STATVFS:
            raise FileNotFoundError(2, "No such file or directory", path)
        return STATVFS[rel]
    return statvfs


class Clock:
    def __init__(self, t: float = NOW) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def node_fs(clock):
    return HostFS(str(NODE), statvfs=fake_statvfs(NODE), clock=clock, clock_ticks=TICKS,
                  page_size=PAGE)


def make_scraper(name: str, fs: HostFS, raw: dict | None = None):
    cfg = decode(SCRAPER_CONFIGS[name], raw or {}, f"scrapers.{name}")
    return SCRAPER_CLASSES[name](cfg, fs)


def flatten(resource_metrics) -> dict[str, list[dict]]:
    """metric name -> points as dicts (attrs, value, start, time, plus the metric's shape)."""
    out: dict[str, list[dict]] = {}
    for rm in resource_metrics:
        res = {kv.key: _any(kv.value) for kv in rm.resource.attributes}
        for sm in rm.scope_metrics:
            for m in sm.metrics:
                kind = m.WhichOneof("data")
                data = getattr(m, kind)
                for dp in data.data_points:
                    out.setdefault(m.name, []).append({
                        "attrs": {kv.key: _any(kv.value) for kv in dp.attributes},
                        "value": dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double,
                        "value_kind": dp.WhichOneof("value"),
                        "start": dp.start_time_unix_nano, "time": dp.time_unix_nano,
                        "kind": kind, "unit": m.unit, "description": m.description,
                        "monotonic": getattr(data, "is_monotonic", None),
                        "temporality": getattr(data, "aggregation_temporality", None),
                        "resource": res, "scope": sm.scope.name,
                    })
    return out


def _any(v):
    return getattr(v, v.WhichOneof("value")) if v.WhichOneof("value") else None


def by_attrs(points: list[dict], *keys: str) -> dict:
    """{(attr values...): value} for quick equality checks."""
    return {tuple(p["attrs"][k] for k in keys): p["value"] for p in points}


@pytest.fixture
def scrape(node_fs):
    """scrape(name, raw_config=None, fs=None) -> (points by metric, partial errors)."""
    def run(name: str, raw: dict | None = None, fs: HostFS | None = None):
        s = make_scraper(name, fs or node_fs, raw)
        rms, errors = s.scrape()
        return flatten(rms), errors
    return run


@pytest.fixture
def make():
    return make_scraper


@pytest.fixture
def attrs_of():
    return by_attrs


@pytest.fixture
def node_copy(tmp_path, clock):
    """A writable copy of the node tree (symlinks kept) and a HostFS on it."""
    import shutil

    root = tmp_path / "node"
    shutil.copytree(NODE, root, symlinks=True)
    return root, HostFS(str(root), statvfs=fake_statvfs(root), clock=clock, clock_ticks=TICKS,
                        page_size=PAGE)
